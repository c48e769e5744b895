"""Helpers shared by the test modules (``from _helpers import ...``).

``conftest.py`` puts this directory on ``sys.path``: pytest runs with
``--import-mode=importlib``, which does not.
"""

import numpy as np

STEP = 1e-6  # the central-difference step


def small(est_cls, **kw):
    """A quick estimator: 12 hidden units, 30 epochs, ``random_state=0``."""
    params = dict(hidden_layer_sizes=(12,), max_iter=30, random_state=0)
    params.update(kw)
    return est_cls(**params)


def params_equal(a, b):
    """Whether two fitted estimators have bit-identical weights and biases."""
    return all(
        np.array_equal(p, q) for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_)
    )


def gradient_and_central_difference(net, ws, X, Y, sample_weight, alpha, l1_ratio=0.0):
    """The gradient in ``ws.grad`` and a central difference of the returned loss.

    Every parameter of ``ws.params`` is moved by ``STEP`` either way and put
    back; whatever else ``ws`` holds (dropout masks) is used as it is.
    """
    net.loss_and_grad(ws, X, Y, sample_weight, alpha, l1_ratio)
    analytic = ws.grad.copy()
    numeric = np.empty_like(analytic)
    for j in range(ws.params.size):
        saved = ws.params[j]
        up, down = saved + STEP, saved - STEP
        ws.params[j] = up
        loss_up = net.loss_and_grad(ws, X, Y, sample_weight, alpha, l1_ratio)
        ws.params[j] = down
        loss_down = net.loss_and_grad(ws, X, Y, sample_weight, alpha, l1_ratio)
        ws.params[j] = saved
        numeric[j] = (loss_up - loss_down) / (up - down)
    return analytic, numeric
