"""Interrupts at random points of ``fit``: a fit is kept whole or not at all.

A line tracer (``sys.settrace``) counts the Python lines a fit runs and
raises ``KeyboardInterrupt`` at one chosen line. The lines are drawn with a
fixed seed from an uninterrupted run's count, half of them after the first
completed epoch (or L-BFGS iteration), where nothing may be lost. After each
interrupt the estimator must hold either exactly the model it had before, or
a consistent model of whole epochs: for the stochastic solvers, the very
model an uninterrupted fit of that many epochs gives.
"""

import copy
import math
import os
import sys
import warnings

import numpy as np
import pytest

from skmlp import MLPClassifier
from skmlp.optimizers import OPTIMIZERS
from skmlp.state import TrainingState
from skmlp.trainer import _Checkpoints

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

N_POINTS = 8  # interrupt points per configuration


# Frames that hold a lock and run no training. CPython runs a `with` block's
# `__exit__` after a line event of the `with` line, so an interrupt there
# leaves the lock held (bpo-29988): no Python code can prevent it.
_LOCK_HOLDERS = {"serialized", "fit_lock"}


def _ours(code) -> bool:
    """skmlp's own lines, but for its lock holders. Elsewhere an interrupt can
    break what skmlp cannot mend: inside importlib's or threading's lock
    handling it leaves a lock held (later tests hang), and between the two
    attributes scikit-learn's ``_init_callback_context`` sets, its teardown
    fails with an AttributeError."""
    return f"{os.sep}skmlp{os.sep}" in code.co_filename and code.co_name not in _LOCK_HOLDERS


class _Tracer:
    """Counts the lines of skmlp a call runs, raises
    KeyboardInterrupt at line ``at``, and remembers the line count when the
    first epoch was complete."""

    def __init__(self, at=None):
        self.lines, self.at, self.first_epoch = 0, at, None
        self._commit = _Checkpoints.commit.__code__

    def __call__(self, frame, event, arg):
        if event == "call" and not _ours(frame.f_code):
            return None
        if event == "line":
            self.lines += 1
            if self.lines == self.at:
                raise KeyboardInterrupt
        elif event == "return" and self.first_epoch is None and self._completes(frame):
            self.first_epoch = self.lines
        return self

    def _completes(self, frame) -> bool:
        code = frame.f_code
        if code is self._commit:
            return True  # a stochastic epoch is committed
        # an L-BFGS iteration is counted in run_lbfgs's callback
        return code.co_name == "callback" and code.co_filename.endswith("trainer.py")


def _traced(tracer, call, *args):
    before = sys.gettrace()
    sys.settrace(tracer)
    try:
        return call(*args)
    finally:
        sys.settrace(before)


def _estimator(solver, **params):
    settings = dict(
        hidden_layer_sizes=(6,),
        solver=solver,
        max_iter=3,
        batch_size=100,
        random_state=0,
        warm_start=True,
        n_iter_no_change=1000,
    )
    return MLPClassifier(**{**settings, **params})


def _call(est, X, y, incremental):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if incremental:
            return est.partial_fit(X, y, classes=np.unique(y))
        return est.fit(X, y)


def _vars_equal(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = a[key], b[key]
        if key in ("coefs_", "intercepts_"):
            if not all(np.array_equal(u, v) for u, v in zip(x, y)):
                return False
        elif key in ("loss_curve_", "n_iter_", "t_", "loss_") and not (
            x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y))
        ):
            return False
    return True


def _snapshot(est) -> dict:
    state = {k: v for k, v in vars(est).items()}
    for key in ("coefs_", "intercepts_"):
        state[key] = [a.copy() for a in state[key]]
    if "loss_curve_" in state:
        state["loss_curve_"] = list(state["loss_curve_"])
    return state


def _assert_whole(est, start, X, y, incremental):
    """``est`` holds whole epochs: consistent records, and for the stochastic
    solvers the weights an uninterrupted run of those epochs gives."""
    assert np.isfinite(est.predict_proba(X)).all()
    if est.solver == "lbfgs":
        net = est._network()
        params = net.pack(est.coefs_, est.intercepts_, np.float64)
        Y = (y[:, None] == est.classes_).astype(np.float64)
        loss = net.loss_and_grad(net.workspace(len(X), params), X, Y, None, est.alpha)
        assert loss == pytest.approx(est.loss_, rel=1e-12)
        return
    n = len(est.loss_curve_)
    assert est.history_["train_loss"] == est.loss_curve_ and est.loss_ == est.loss_curve_[-1]
    state = TrainingState.from_dict(est._train_state)
    assert len(state.records) == n and state.t == est.t_
    reference = MLPClassifier()  # the estimator as it was before the call
    reference.__dict__.update(start)
    reference.set_params(max_iter=max(est.n_iter_, 1))
    _call(reference, X, y, incremental)
    assert reference.loss_curve_ == est.loss_curve_
    for a, b in zip(est.coefs_ + est.intercepts_, reference.coefs_ + reference.intercepts_):
        np.testing.assert_array_equal(a, b)


CASES = [(solver, {}) for solver in [*sorted(OPTIMIZERS), "lbfgs"]]
CASES += [("adam", {"early_stopping": True}), ("sgd", {"partial_fit": True})]


@pytest.mark.parametrize(
    "solver, extra", CASES, ids=[s + "".join(f"-{k}" for k in e) for s, e in CASES]
)
def test_an_interrupt_anywhere_in_fit_keeps_whole_epochs_or_the_previous_model(
    digits, solver, extra
):
    X, y = digits[0][:300], digits[1][:300]
    extra = dict(extra)
    incremental = extra.pop("partial_fit", False)
    est = _call(_estimator(solver, **extra), X, y, incremental)  # a previous model
    rng = np.random.default_rng(sum(map(ord, solver)) + len(extra))
    kept = 0
    for case in range(N_POINTS):
        counter = _Tracer()  # the lines of this very call, uninterrupted
        twin = copy.deepcopy(est)
        _traced(counter, _call, twin, X, y, incremental)
        assert counter.first_epoch is not None
        low = 1 if case % 2 else counter.first_epoch + 1  # half after the first epoch
        at = int(rng.integers(low, counter.lines + 1))
        start = _snapshot(est)
        tracer = _Tracer(at=at)
        try:
            _traced(tracer, _call, est, X, y, incremental)
        except KeyboardInterrupt:
            pass
        assert tracer.lines == at, "the interrupt was not raised"
        if _vars_equal(vars(est), start):
            # nothing kept: allowed only before the first epoch was complete
            assert tracer.first_epoch is None, (
                f"an interrupt at line {at}, after the first epoch (line "
                f"{counter.first_epoch}), lost the fit"
            )
            continue
        kept += 1
        assert tracer.first_epoch is not None
        _assert_whole(est, start, X, y, incremental)
    assert kept >= N_POINTS // 2


class _ObjectiveTracer:
    """Raises KeyboardInterrupt at the ``at``-th line run in skmlp's trainer
    while L-BFGS evaluates its objective for the ``call``-th time."""

    def __init__(self, call, at):
        self.call, self.at, self.calls, self.lines = call, at, 0, 0

    def __call__(self, frame, event, arg):
        code = frame.f_code
        if event == "call" and not _ours(code):
            return None
        if event == "call" and code.co_name == "fun" and code.co_filename.endswith("trainer.py"):
            self.calls += 1
        if event == "line" and self.calls == self.call and code.co_filename.endswith("trainer.py"):
            self.lines += 1
            if self.lines == self.at:
                raise KeyboardInterrupt
        return self


def test_an_lbfgs_interrupt_anywhere_in_an_evaluation_keeps_a_matching_loss(digits):
    """The best loss and its weights are replaced together: wherever an
    interrupt lands in an evaluation, ``loss_`` is the objective at the
    weights kept."""
    X, y = digits[0][:300], digits[1][:300]
    at = 0
    while True:
        at += 1
        est = _estimator("lbfgs", max_iter=30, warm_start=False)
        tracer = _ObjectiveTracer(call=10, at=at)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _traced(tracer, est.fit, X, y)
        if tracer.lines < at:
            break  # every line of the evaluation was tried
        assert any("interrupted" in str(w.message) for w in caught)
        _assert_whole(est, None, X, y, False)
    assert at > 5
