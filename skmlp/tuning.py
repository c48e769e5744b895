"""Tools that look at an estimator's learning rate without fitting it.

:func:`lr_range_test` runs Smith's learning-rate range test on a copy of an
estimator; :func:`learning_rate_schedule` previews the rate of every step
that ``fit`` would use, or, for a fitted estimator, shows the rates its last
schedule's updates used, plateau reductions included.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.utils._param_validation import Interval, InvalidParameterError, validate_params

from .lr_finder import LRRangeTestResult
from .state import TrainingState

__all__ = ["learning_rate_schedule", "lr_range_test"]


@validate_params(
    {
        "estimator": "no_validation",  # checked below, with a hint for pipelines
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "sample_weight": ["array-like", None],
        "start_lr": [Interval(Real, 0, np.inf, closed="neither")],
        "end_lr": [Interval(Real, 0, np.inf, closed="neither")],
        "num_iter": [Interval(Integral, 2, None, closed="left")],
        "beta": [Interval(Real, 0, 1, closed="neither")],
        "diverge": [Interval(Real, 1, np.inf, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
def lr_range_test(
    estimator,
    X,
    y,
    sample_weight=None,
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_iter: int = 100,
    beta: float = 0.98,
    diverge: float = 4.0,
) -> LRRangeTestResult:
    """Smith's learning-rate range test on a copy of ``estimator``.

    The rate grows exponentially per mini-batch from ``start_lr`` to
    ``end_lr`` over ``num_iter`` updates of a freshly initialized network with
    the estimator's solver, batch size and data handling, training the same
    objective as ``fit`` (``alpha``, ``l1_ratio``, ``dropout`` and
    ``weight_decay`` included); the loss
    is smoothed with a debiased moving average (``beta``), and the test stops
    at a non-finite loss or once the smoothed loss exceeds ``diverge`` times
    its minimum. Data smaller than ``num_iter`` batches is cycled through
    again. ``estimator`` itself is not modified.

    Parameters
    ----------
    estimator : MLPClassifier or MLPRegressor
        The estimator whose settings to test (solver must be stochastic).
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Training data, as for ``fit``.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets, as for ``fit``.
    sample_weight : array-like of shape (n_samples,), default=None
        Per-sample weights.
    start_lr : float, default=1e-7
        The first rate, finite and > 0.
    end_lr : float, default=10.0
        The last rate, if the test gets that far: finite and > ``start_lr``.
    num_iter : int, default=100
        Number of updates (and rates), at least 2.
    beta : float, default=0.98
        Smoothing factor of the moving average, in (0, 1).
    diverge : float, default=4.0
        Stop once the smoothed loss exceeds this multiple of its minimum;
        finite and > 1.

    Returns
    -------
    result : LRRangeTestResult
        Rates, raw and smoothed losses, ``suggestion`` and ``suggestions``,
        and a ``plot`` method.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skmlp import MLPClassifier, lr_range_test
    >>> X, y = load_digits(return_X_y=True)
    >>> result = lr_range_test(MLPClassifier(random_state=0), X / 16, y, num_iter=50)
    >>> 1e-7 < result.suggestion < 10
    True
    """
    if not start_lr < end_lr:
        raise InvalidParameterError(
            f"The 'end_lr' parameter of lr_range_test must be greater than start_lr="
            f"{start_lr!r}; got {end_lr!r}."
        )
    if not hasattr(estimator, "_range_test"):
        raise TypeError(
            "lr_range_test takes an skmlp MLPClassifier or MLPRegressor, got "
            f"{type(estimator).__name__}; for a Pipeline, transform X with its "
            "preprocessing steps first (pipeline[:-1].fit_transform(X)) and pass "
            "pipeline[-1]."
        )
    est = clone(estimator)
    est._validate_params()
    if est.solver == "lbfgs":
        raise ValueError(
            "The range test needs a stochastic solver (mini-batch updates); "
            "solver='lbfgs' has none."
        )
    return est._range_test(
        X,
        y,
        sample_weight,
        start_lr=start_lr,
        end_lr=end_lr,
        num_iter=int(num_iter),
        beta=beta,
        diverge=diverge,
    )


def learning_rate_schedule(estimator, n_samples: int) -> np.ndarray:
    """The learning rate of every update that ``fit`` would make, or made.

    For an unfitted estimator, previews its ``learning_rate`` schedule with
    all its settings (warm-up included) for a training set of ``n_samples``
    rows, without training: one rate per mini-batch update over ``max_iter``
    epochs, as if no stopping rule ended training early. ``'adaptive'`` and
    ``'plateau'`` show their starting rate (they react to the loss only
    during training).

    For an estimator fitted by a stochastic solver, returns the rates its
    updates actually used since its schedule last started (the last
    ``fit``, and any ``partial_fit`` calls after it), the reductions of
    ``'adaptive'`` and ``'plateau'`` included: one rate per update of each
    epoch it ran. Their mean over each epoch is ``history_['learning_rate']``.

    Parameters
    ----------
    estimator : MLPClassifier or MLPRegressor
        The estimator whose schedule to show (stochastic solver; unfitted, a
        numeric ``learning_rate_init``).
    n_samples : int
        Number of training samples (after any validation split). For a
        fitted estimator, the number it was trained on.

    Returns
    -------
    rates : ndarray of shape (n_epochs * ceil(n_samples / batch_size),)
        The rate of each update; ``n_epochs`` is ``max_iter`` for a preview,
        the number of epochs run for a fitted estimator.

    Raises
    ------
    ValueError
        For ``solver='lbfgs'``; for an unfitted ``learning_rate_init='auto'``;
        for a fitted estimator, when ``n_samples`` or the settings do not
        give the updates it made, or when it was saved by an skmlp that did
        not record the reductions.

    Examples
    --------
    >>> from skmlp import MLPClassifier, learning_rate_schedule
    >>> est = MLPClassifier(learning_rate="cosine", max_iter=10, batch_size=100)
    >>> rates = learning_rate_schedule(est, n_samples=1000)
    >>> rates.shape, float(rates[0])
    ((100,), 0.001)
    """
    est = clone(estimator)
    est._validate_params()
    if est.solver == "lbfgs":
        raise ValueError("solver='lbfgs' has no learning-rate schedule.")
    saved = vars(estimator).get("_train_state")
    if saved is not None:  # fitted by a stochastic solver
        return _rates_used(est, TrainingState.from_dict(saved), n_samples)
    if est.learning_rate_init == "auto":
        raise ValueError("learning_rate_init='auto' is chosen during fit; preview a number.")
    batch_size = est._batch_size(n_samples)
    steps_per_epoch = math.ceil(n_samples / batch_size)
    schedule = est._schedule(float(est.learning_rate_init), n_samples, batch_size)
    steps = range(est._epochs(n_samples) * steps_per_epoch)
    return np.array([schedule(s, (s // steps_per_epoch) * n_samples) for s in steps])


def _rates_used(est, state: TrainingState, n_samples: int) -> np.ndarray:
    """The rate of each update since ``state``'s schedule started: the
    schedule's rate times the plateau scale its epoch used
    (:meth:`TrainingState.rate`, replayed)."""
    batch_size = est._batch_size(n_samples)
    steps_per_epoch = math.ceil(n_samples / batch_size)
    n_epochs, rest = divmod(state.step - state.schedule_start, steps_per_epoch)
    records = state.records[len(state.records) - n_epochs :] if n_epochs else []
    mismatch = (
        f"The fitted estimator's last schedule made {state.step - state.schedule_start} "
        f"updates, which are not whole epochs of {n_samples} samples in batches of "
        f"{batch_size} with its current settings; pass the number of rows it trained on "
        "(after any validation split)."
    )
    if rest or n_epochs > len(state.records):
        raise ValueError(mismatch)
    scales = [record.rate_scale for record in records]
    if not all(math.isfinite(scale) for scale in scales):
        raise ValueError(
            "This estimator was fitted by an skmlp before 0.2, which did not record the "
            "rate reductions of each epoch; fit it again to see the rates it uses."
        )
    schedule = est._schedule(state.learning_rate_init, n_samples, batch_size, incremental=True)
    t_start = state.t - n_epochs * n_samples
    rates = np.array(
        [
            schedule(s, t_start + epoch * n_samples) * scales[epoch]
            for epoch in range(n_epochs)
            for s in range(epoch * steps_per_epoch, (epoch + 1) * steps_per_epoch)
        ]
    )
    means = rates.reshape(n_epochs, steps_per_epoch).mean(axis=1)
    if not np.allclose(means, [record.learning_rate for record in records], rtol=1e-9, atol=0):
        raise ValueError(mismatch)
    return rates
