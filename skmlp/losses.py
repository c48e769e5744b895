"""Output losses, each paired with its link.

Every loss here is written against the network's raw output ``z`` (the output
layer's pre-activation) through its inverse link ``pred = link(z)``:

===================  ========  ==============================================
loss                 link      per-sample value, summed over outputs
===================  ========  ==============================================
``squared_error``    identity  ``(pred - y)**2 / 2``
``poisson``          exp       ``y log(y / pred) - y + pred``
``log_loss``         softmax   ``-sum_k y_k log pred_k``
``binary_log_loss``  logistic  ``-y log pred - (1 - y) log(1 - pred)``
``absolute_error``   identity  ``|pred - y|``
``huber``            identity  ``r**2 / 2`` if ``|r| <= delta``, else
                               ``delta (|r| - delta / 2)``, ``r = pred - y``
``quantile``         identity  ``q (y - pred)`` if ``y >= pred``, else
                               ``(1 - q)(pred - y)`` (the pinball loss)
``gamma``            exp       ``log(pred / y) + y / pred - 1``
===================  ========  ==============================================

For the first four, canonical pairs, the gradient of the per-sample value
with respect to ``z`` is exactly ``pred - y``. The others carry a
``gradient(delta, pred)`` that turns ``delta = pred - y`` into that
derivative in place: ``sign(r)`` (absolute error), ``r`` clipped to
``[-delta, delta]`` (Huber), ``-q`` or ``1 - q`` (quantile) and ``r / pred``
(gamma, through its log link). At the kinks of the non-smooth ones
(``r = 0``) they take a subgradient: 0 for the absolute error (the one of
least magnitude, as ``sign``), ``-q`` for the quantile loss (a tie counts as
"prediction below the target", as scikit-learn's HistGradientBoosting).

``value`` averages the per-sample values over samples (weighted by
``sample_weight``) and *sums* over outputs, so that the value and the
gradient always describe the same function, also with several outputs
(scikit-learn averages the squared error over outputs but differentiates the
sum; see ``docs/deviations.md``). :func:`make_loss` builds the two losses
with a setting (``huber_delta``, ``quantile``); ``LOSSES`` holds every loss
at its default setting.

Each entry also carries its per-element arithmetic in Cython (``c_value``,
with ``c_value_factor``, and ``c_gradient``), from which
``skmlp/_kernels.pyx`` is generated (see :mod:`skmlp._codegen`); its
integer code in the kernels is its place in :data:`LOSSES`, and the
kernels' link is its ``out_activation``. Adding a loss is one entry here.

The four losses scikit-learn's MLP lacks also give a ``baseline``: the raw
output of the best constant model (the weighted median for the absolute
error and Huber, the ``q``-quantile, the log of the mean for gamma), where a
fresh network's output bias starts, as HistGradientBoosting starts from its
baseline prediction. Through a log link, or with a loss whose gradient is
bounded, a bias that starts far from the targets' scale takes many epochs to
get there. scikit-learn's own losses keep the initializer's draw, so their
fits stay identical to scikit-learn's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._codegen import CompiledForm, cython
from ._math import sigmoid

__all__ = ["LOSSES", "Loss", "ensemble_loss", "make_loss", "weighted_quantile"]

_EPS = {np.dtype(t): float(np.finfo(t).eps) for t in (np.float16, np.float32, np.float64)}


def _average(per_sample: np.ndarray, sample_weight: np.ndarray | None) -> float:
    # ufunc methods directly: this runs once per batch, where numpy's
    # Python-level wrappers (np.mean, np.sum) cost more than the arithmetic
    if sample_weight is None:
        return float(np.add.reduce(per_sample)) / per_sample.shape[0]
    return float(np.dot(per_sample, sample_weight)) / float(np.add.reduce(sample_weight))


@dataclass(frozen=True)
class Loss:
    """A loss with its canonical inverse link (the output activation).

    ``link(z)`` maps raw outputs to predictions in place;
    ``value(y, pred, diff, sample_weight)`` is the averaged loss, where
    ``diff = pred - y`` has already been computed by the caller;
    ``safe_raw_bound(dtype, n_rows, y_max)`` is a raw-output magnitude below
    which predictions and loss over ``n_rows`` rows with ``|y| <= y_max``
    are certainly finite in ``dtype`` (with a wide margin for rounding);
    ``gradient(delta, pred)``, where the link is not the loss's canonical
    one, turns ``delta = pred - y`` in place into the per-sample derivative
    with respect to the raw output (``None``: ``pred - y`` already is).
    """

    name: str
    out_activation: str
    link: Callable[[np.ndarray], None]
    value: Callable[..., float]
    safe_raw_bound: Callable[[np.dtype, int, float], float]
    gradient: Callable[[np.ndarray, np.ndarray], None] | None = None
    setting: float | None = None  # huber's delta, the quantile's q
    # baseline(Y, sample_weight): the raw output of the best constant model,
    # where a fresh network's output bias starts (None: the initializer's draw)
    baseline: Callable[[np.ndarray, np.ndarray | None], np.ndarray] | None = None
    # the compiled forms: c_value sums the per-sample value (times
    # c_value_factor, once summed); c_gradient is gradient's (None: pred - y)
    c_value: CompiledForm | None = None
    c_value_factor: float = 1.0
    c_gradient: CompiledForm | None = None


def _identity_link(z):
    pass


def _squared_error_bound(dtype, n_rows, y_max):
    # n rows of (pred - y)**2 must stay far below the largest float
    return math.sqrt(float(np.finfo(dtype).max) / (16.0 * n_rows)) - y_max


def _bounded_link_bound(dtype, n_rows, y_max):
    # softmax and logistic are computed stably for any finite raw output
    return float(np.finfo(dtype).max) / 16.0


_SQUARED_ERROR_C = cython("total += r * r")  # times 1/2


def _squared_error(y, pred, diff, sample_weight=None):
    if sample_weight is None:
        return 0.5 * float(np.vdot(diff, diff)) / diff.shape[0]
    return 0.5 * _average(np.einsum("ij,ij->i", diff, diff), sample_weight)


def _exp_link(z):
    np.exp(z, out=z)


def _poisson_bound(dtype, n_rows, y_max):
    # exp(z) neither overflows nor underflows to 0 (log(pred) must be finite),
    # and n rows of y log(y / pred) + pred stay far below the largest float
    info = np.finfo(dtype)
    room = float(info.max) / (32.0 * n_rows)
    return min(
        math.log(room),
        room / max(y_max, 1.0) - math.log1p(y_max) - 1.0,
        -math.log(float(info.tiny)) - 2.0,
    )


_POISSON_C = cython(
    "if y > 0:",
    "    total += y * (log(y) - log(pred))",
    "total += r",
)


def _poisson(y, pred, diff, sample_weight=None):
    # y log(y / pred) is taken as 0 where y == 0 (its limit).
    positive = y > 0
    y_safe = np.where(positive, y, 1.0)
    # an underflowed prediction (pred == 0) only matters where y > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(y_safe) - np.log(pred)
        per_sample = np.sum(np.where(positive, y * log_ratio, 0.0) + diff, axis=1)
    return _average(per_sample, sample_weight)


def _softmax_link(z):
    z -= np.maximum.reduce(z, axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= np.add.reduce(z, axis=1, keepdims=True)


def _clipped_log(p):
    # log of p clipped to [eps, 1 - eps], as scikit-learn's log-losses
    eps = _EPS[p.dtype]
    out = np.maximum(p, eps)
    np.minimum(out, 1.0 - eps, out=out)
    return np.log(out, out=out)


_LOG_LOSS_C = cython("total += y * _clipped_log(pred, eps)")  # times -1


def _log_loss(y, pred, diff, sample_weight=None):
    if y.dtype == bool and pred.shape[1] > 1:
        # one-hot targets: pick each row's true-class probability
        log_p = _clipped_log(pred[y])
        if log_p.shape[0] == pred.shape[0]:
            return -_average(log_p, sample_weight)
    per_sample = np.add.reduce(y * _clipped_log(pred), axis=1)
    return -_average(per_sample, sample_weight)


def _logistic_link(z):
    sigmoid(z, z, np.empty_like(z))


_BINARY_LOG_LOSS_C = cython(  # times -1
    "total += (y * _clipped_log(pred, eps) + (1 - y) * _clipped_log(1 - pred, eps))"
)


def _binary_log_loss(y, pred, diff, sample_weight=None):
    if y.dtype == bool:
        per_sample = np.add.reduce(_clipped_log(np.where(y, pred, 1.0 - pred)), axis=1)
    else:
        per_sample = np.add.reduce(
            y * _clipped_log(pred) + (1 - y) * _clipped_log(1.0 - pred), axis=1
        )
    return -_average(per_sample, sample_weight)


def weighted_quantile(Y: np.ndarray, sample_weight, q: float) -> np.ndarray:
    """The ``q``-quantile of each column of ``Y`` (the lower one where the
    cumulative weight reaches ``q`` exactly), weighted by ``sample_weight``."""
    weights = np.ones(Y.shape[0]) if sample_weight is None else np.asarray(sample_weight)
    out = np.empty(Y.shape[1])
    for j in range(Y.shape[1]):
        order = np.argsort(Y[:, j], kind="stable")
        cumulative = np.cumsum(weights[order])
        k = int(np.searchsorted(cumulative, q * cumulative[-1]))
        out[j] = Y[order[min(k, len(order) - 1)], j]
    return out


def _median_baseline(Y, sample_weight):
    return weighted_quantile(Y, sample_weight, 0.5)


_ABSOLUTE_ERROR_C = cython("total += fabs(r)")
_SIGN_C = cython("delta = 1 if delta > 0 else (-1 if delta < 0 else 0)")


def _absolute_error(y, pred, diff, sample_weight=None):
    return _average(np.add.reduce(np.abs(diff), axis=1), sample_weight)


def _sign(delta, pred):
    np.sign(delta, out=delta)  # the subgradient 0 at the kink


_HUBER_C = cython(
    "size_r = fabs(r)",
    "total += 0.5 * r * r if size_r <= setting else setting * (size_r - 0.5 * setting)",
)
_HUBER_GRADIENT_C = cython("delta = d if delta > d else (-d if delta < -d else delta)", d="setting")


def _huber(delta: float) -> Loss:
    def value(y, pred, diff, sample_weight=None):
        size = np.abs(diff)
        per = np.where(size <= delta, 0.5 * diff * diff, delta * (size - 0.5 * delta))
        return _average(np.add.reduce(per, axis=1), sample_weight)

    def gradient(residual, pred):
        np.clip(residual, -delta, delta, out=residual)

    return Loss(
        "huber",
        "identity",
        _identity_link,
        value,
        _squared_error_bound,
        gradient,
        delta,
        _median_baseline,
        c_value=_HUBER_C,
        c_gradient=_HUBER_GRADIENT_C,
    )


_QUANTILE_C = cython(
    "total += -setting * r if -setting * r > (1 - setting) * r else (1 - setting) * r"
)
_QUANTILE_GRADIENT_C = cython(
    "delta = low if delta <= 0 else high", low="-setting", high="1 - setting"
)


def _quantile(q: float) -> Loss:
    def value(y, pred, diff, sample_weight=None):
        # y - pred = -diff: q (y - pred) above the prediction, (1 - q)(pred - y) below
        per = np.maximum(-q * diff, (1.0 - q) * diff)
        return _average(np.add.reduce(per, axis=1), sample_weight)

    def gradient(residual, pred):
        below = residual <= 0.0  # y >= pred: a tie counts as below, as HistGradientBoosting
        residual.fill(1.0 - q)
        residual[below] = -q

    def baseline(Y, sample_weight):
        return weighted_quantile(Y, sample_weight, q)

    return Loss(
        "quantile",
        "identity",
        _identity_link,
        value,
        _squared_error_bound,
        gradient,
        q,
        baseline,
        c_value=_QUANTILE_C,
        c_gradient=_QUANTILE_GRADIENT_C,
    )


_GAMMA_C = cython("total += log(pred) - log(y) + y / pred - 1")
_GAMMA_GRADIENT_C = cython("delta = delta / pred")


def _gamma(y, pred, diff, sample_weight=None):
    with np.errstate(divide="ignore", invalid="ignore"):
        per = np.log(pred) - np.log(y) + y / pred - 1.0
    return _average(np.add.reduce(per, axis=1), sample_weight)


def _gamma_gradient(residual, pred):
    # d/dz [z - log y + y exp(-z)] = 1 - y / pred = (pred - y) / pred
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(residual, pred, out=residual)


def _gamma_baseline(Y, sample_weight):
    # the gamma deviance of a constant is smallest at the (weighted) mean
    return np.log(np.average(Y, axis=0, weights=sample_weight))


def _gamma_bound(dtype, n_rows, y_max):
    # pred = exp(z) and y / pred must stay finite and y / pred far from overflow
    info = np.finfo(dtype)
    room = float(info.max) / (32.0 * n_rows)
    return min(
        math.log(room) - math.log(max(y_max, 1.0)),
        -math.log(float(info.tiny)) - 2.0,
    )


# the registry: the order gives each loss its code in the kernels
LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in (
        Loss(
            "squared_error",
            "identity",
            _identity_link,
            _squared_error,
            _squared_error_bound,
            c_value=_SQUARED_ERROR_C,
            c_value_factor=0.5,
        ),
        Loss("poisson", "exp", _exp_link, _poisson, _poisson_bound, c_value=_POISSON_C),
        Loss(
            "log_loss",
            "softmax",
            _softmax_link,
            _log_loss,
            _bounded_link_bound,
            c_value=_LOG_LOSS_C,
            c_value_factor=-1.0,
        ),
        Loss(
            "binary_log_loss",
            "logistic",
            _logistic_link,
            _binary_log_loss,
            _bounded_link_bound,
            c_value=_BINARY_LOG_LOSS_C,
            c_value_factor=-1.0,
        ),
        Loss(
            "absolute_error",
            "identity",
            _identity_link,
            _absolute_error,
            _squared_error_bound,
            _sign,
            baseline=_median_baseline,
            c_value=_ABSOLUTE_ERROR_C,
            c_gradient=_SIGN_C,
        ),
        _huber(1.0),
        _quantile(0.5),
        Loss(
            "gamma",
            "exp",
            _exp_link,
            _gamma,
            _gamma_bound,
            _gamma_gradient,
            baseline=_gamma_baseline,
            c_value=_GAMMA_C,
            c_gradient=_GAMMA_GRADIENT_C,
        ),
    )
}


def make_loss(name: str, *, huber_delta: float = 1.0, quantile: float = 0.5) -> Loss:
    """The loss ``name``, with its setting where it has one.

    Parameters
    ----------
    name : str
        A key of :data:`LOSSES`.
    huber_delta : float, default=1.0
        Where ``'huber'`` turns from quadratic to linear, in units of ``y``.
    quantile : float, default=0.5
        The quantile ``'quantile'`` estimates, in (0, 1).

    Returns
    -------
    loss : Loss
    """
    if name == "huber":
        return _huber(float(huber_delta))
    if name == "quantile":
        return _quantile(float(quantile))
    return LOSSES[name]


def ensemble_loss(loss: Loss, n_members: int) -> Loss:
    """``loss`` on the outputs of ``n_members`` ensemble members side by side.

    The raw output has ``n_members * c`` columns, member ``j``'s ``c`` values
    in columns ``j * c`` to ``(j + 1) * c`` (the layout of
    :class:`skmlp.layers.EnsembleHead`); so do the targets it is given (each
    row's targets repeated once per member). The link applies to each
    member's outputs, and the value is the mean of the members' losses: the
    loss of the ``(m * n_members, c)`` view, with every sample weight
    repeated. Its gradient with respect to a member's raw outputs is that
    member's gradient divided by ``n_members``.

    Parameters
    ----------
    loss : Loss
        The loss of one member.
    n_members : int
        The number of members.

    Returns
    -------
    Loss
        No compiled forms: networks of ensembles train in numpy.
    """
    k = int(n_members)

    def rows(a):
        return a.reshape(a.shape[0] * k, -1)

    def link(z):
        loss.link(rows(z))

    def value(y, pred, diff, sample_weight=None):
        weights = None if sample_weight is None else np.repeat(sample_weight, k)
        return loss.value(rows(y), rows(pred), rows(diff), weights)

    def gradient(delta, pred):
        if loss.gradient is not None:
            loss.gradient(rows(delta), rows(pred))
        delta *= 1.0 / k

    def baseline(Y, sample_weight):
        return loss.baseline(rows(Y)[::k], sample_weight)

    return Loss(
        loss.name,
        loss.out_activation,
        link,
        value,
        loss.safe_raw_bound,
        gradient,
        loss.setting,
        None if loss.baseline is None else baseline,
    )
