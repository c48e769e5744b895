"""Output losses, each paired with its canonical link.

Every loss here is written against the network's raw output ``z`` (the output
layer's pre-activation) through its canonical inverse link ``pred = link(z)``:

==================  ===============  ======================================
loss                link (output)    per-sample value, summed over outputs
==================  ===============  ======================================
``squared_error``   identity         ``(pred - y)**2 / 2``
``poisson``         exp              ``y log(y / pred) - y + pred``
``log_loss``        softmax          ``-sum_k y_k log pred_k``
``binary_log_loss`` logistic         ``-y log pred - (1 - y) log(1 - pred)``
==================  ===============  ======================================

For each of these pairs the gradient of the per-sample value with respect to
``z`` is exactly ``pred - y``, which is why the network never calls a separate
gradient function.  ``value`` averages the per-sample values over samples
(weighted by ``sample_weight``) and *sums* over outputs, so that the value and
the gradient ``(pred - y) / n`` always describe the same function, also with
several outputs (scikit-learn averages the squared error over outputs but
differentiates the sum; see ``docs/deviations.md``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._math import sigmoid

__all__ = ["LOSSES", "Loss"]

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
    are certainly finite in ``dtype`` (with a wide margin for rounding).
    """

    name: str
    out_activation: str
    link: Callable[[np.ndarray], None]
    value: Callable[..., float]
    safe_raw_bound: Callable[[np.dtype, int, float], float]


def _identity_link(z):
    pass


def _squared_error_bound(dtype, n_rows, y_max):
    # n rows of (pred - y)**2 must stay far below the largest float
    return math.sqrt(float(np.finfo(dtype).max) / (16.0 * n_rows)) - y_max


def _bounded_link_bound(dtype, n_rows, y_max):
    # softmax and logistic are computed stably for any finite raw output
    return float(np.finfo(dtype).max) / 16.0


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


def _binary_log_loss(y, pred, diff, sample_weight=None):
    if y.dtype == bool:
        per_sample = np.add.reduce(_clipped_log(np.where(y, pred, 1.0 - pred)), axis=1)
    else:
        per_sample = np.add.reduce(
            y * _clipped_log(pred) + (1 - y) * _clipped_log(1.0 - pred), axis=1
        )
    return -_average(per_sample, sample_weight)


LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in (
        Loss("squared_error", "identity", _identity_link, _squared_error, _squared_error_bound),
        Loss("poisson", "exp", _exp_link, _poisson, _poisson_bound),
        Loss("log_loss", "softmax", _softmax_link, _log_loss, _bounded_link_bound),
        Loss(
            "binary_log_loss",
            "logistic",
            _logistic_link,
            _binary_log_loss,
            _bounded_link_bound,
        ),
    )
}
