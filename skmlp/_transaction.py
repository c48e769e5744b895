"""The fit transaction's glue: one lock per estimator, the commit, the
warnings of how a call ended.

A fit trains a private copy of the estimator (see ``_BaseMLP._fit``); this
module owns what surrounds that: :func:`serialized` makes two ``fit`` or
``partial_fit`` calls on one estimator run one after the other,
:func:`commit` takes the copy's fitted state in one assignment, and
:func:`warn_outcome` turns the trainer's :class:`~skmlp.trainer.Outcome`
into the user's warnings.
"""

from __future__ import annotations

import functools
import threading
import weakref

from sklearn.exceptions import ConvergenceWarning

from ._warn import warn

__all__ = ["commit", "fit_lock", "serialized", "warn_outcome"]

# One lock per estimator serializes its fit and partial_fit calls. It lives
# here, not on the instance, so clone, copy, pickle and the private copy a fit
# trains never carry it.
_FIT_LOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_FIT_LOCKS_GUARD = threading.RLock()


def fit_lock(estimator) -> threading.RLock:
    """The lock of ``estimator``'s fits, made on first use."""
    with _FIT_LOCKS_GUARD:
        lock = _FIT_LOCKS.get(estimator)
        if lock is None:
            lock = _FIT_LOCKS[estimator] = threading.RLock()
    return lock


def serialized(method):
    """Run ``method`` (``fit`` or ``partial_fit``) holding the estimator's fit
    lock: two calls on one estimator from two threads run one after the other,
    so neither loses the other's epochs."""

    @functools.wraps(method)
    def serialized(self, *args, **kwargs):
        with fit_lock(self):
            return method(self, *args, **kwargs)

    return serialized


def commit(target, work) -> None:
    """Give ``target`` ``work``'s fitted state in one assignment, keeping the
    parameters as they are now: a ``set_params`` made while the fit ran
    stays (the model was trained under the old values, as after any
    ``set_params`` on a fitted estimator)."""
    old = target.__dict__
    params = {k: old[k] for k in target._get_param_names() if k in old}
    new = {**work.__dict__, **params}
    target.__dict__ = new
    # a set_params in another thread may have written into the old
    # dictionary after it was read (each setattr is atomic; none reaches
    # the old one after the assignment): carry those values over. No lock:
    # an interrupt at the end of a `with lock:` block would leave it held.
    for k, v in params.items():
        if old[k] is not v and new[k] is v:
            new[k] = old[k]


def warn_outcome(outcome, divergence: type[Warning]) -> None:
    """The warnings of a call that ended as ``outcome`` (``divergence``: the
    category of a divergence), at the user's line."""
    if outcome.stop_reason == "diverged":
        warn(outcome.message, divergence)
    elif outcome.stop_reason == "interrupted":
        warn(outcome.message)
    elif outcome.stop_reason == "max_iter":
        warn(outcome.message, ConvergenceWarning)
    if outcome.unstable:
        warn(outcome.unstable, divergence)
