"""One estimator used from several threads: fits are serialized, and a
commit keeps parameters set meanwhile. (The process-wide BLAS limit is set
by fits in the main thread only; see test_compiled.py.)

Every interleaving is forced with events at chosen points, never with sleeps;
the timeouts only keep a broken build from hanging the suite.
"""

import pickle
import threading
import warnings

import numpy as np
import pytest
from sklearn.base import clone

import skmlp._transaction
import skmlp.estimators
from skmlp import MLPClassifier
from skmlp.estimators import _BaseMLP

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
WAIT = 120  # seconds; only a safety net against a hang


def _partial_fit(est, X, y):
    est.partial_fit(X, y, classes=np.unique(y))


def test_concurrent_partial_fits_on_one_estimator_keep_both_epochs(monkeypatch, digits):
    """Thread A trains; thread B calls partial_fit meanwhile. A goes on only
    once B has either started waiting for A (serialized) or taken its own copy
    of the estimator (not serialized: one epoch would be lost)."""
    X, y = digits
    est = MLPClassifier((8,), random_state=0)
    _partial_fit(est, X, y)
    a_training, b_arrived = threading.Event(), threading.Event()
    run = skmlp.estimators.run_stochastic

    def paused_run(*args, **kwargs):
        if threading.current_thread().name == "A":
            a_training.set()
            assert b_arrived.wait(WAIT)
        return run(*args, **kwargs)

    copy = _BaseMLP._copy

    def announcing_copy(self, **attributes):
        if threading.current_thread().name == "B":
            b_arrived.set()
        return copy(self, **attributes)

    class AnnouncingLock:
        def __init__(self, lock):
            self.lock = lock

        def __enter__(self):
            if threading.current_thread().name == "B":
                b_arrived.set()
            return self.lock.__enter__()

        def __exit__(self, *exc):
            return self.lock.__exit__(*exc)

    fit_lock = skmlp._transaction.fit_lock
    monkeypatch.setattr(skmlp.estimators, "run_stochastic", paused_run)
    monkeypatch.setattr(_BaseMLP, "_copy", announcing_copy)
    monkeypatch.setattr(skmlp._transaction, "fit_lock", lambda e: AnnouncingLock(fit_lock(e)))
    a = threading.Thread(target=_partial_fit, args=(est, X, y), name="A")
    b = threading.Thread(target=_partial_fit, args=(est, X, y), name="B")
    a.start()
    assert a_training.wait(WAIT)
    b.start()
    a.join(WAIT)
    b.join(WAIT)
    assert not (a.is_alive() or b.is_alive())
    assert len(est.loss_curve_) == 3 and est.t_ == 3 * len(X)


def test_a_commit_keeps_parameters_set_while_the_fit_ran(monkeypatch, digits):
    X, y = digits
    est = MLPClassifier((8,), max_iter=3, random_state=0)
    run = skmlp.estimators.run_stochastic

    def run_then_set(*args, **kwargs):
        est.set_params(alpha=0.5, max_iter=7)  # as another thread would, mid-fit
        return run(*args, **kwargs)

    monkeypatch.setattr(skmlp.estimators, "run_stochastic", run_then_set)
    est.fit(X, y)
    assert est.alpha == 0.5 and est.max_iter == 7
    assert est.n_iter_ == 3  # trained under the settings it started with


def test_the_fit_lock_survives_clone_copy_and_pickle(digits):
    X, y = digits
    est = MLPClassifier((4,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
        for other in (clone(est), pickle.loads(pickle.dumps(est)), est._copy()):
            assert "_fit_lock" not in vars(other)
            other.set_params(max_iter=1)
            other.fit(X, y)
