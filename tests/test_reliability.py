"""A fit is a transaction: interrupts, divergence and concurrent predictions.

Interrupts are injected deterministically: a wrapper raises KeyboardInterrupt
at the k-th call of an engine function, with k chosen from the number of
calls an uninterrupted fit makes. After each, the estimator must either be
exactly as it was (the interrupt propagates) or hold a complete, consistent
model that equals an uninterrupted fit of the epochs it kept.
"""

import builtins
import copy
import functools
import math
import re
import sys
import threading
import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

import skmlp.estimators
from skmlp import DivergenceWarning, MLPClassifier, MLPRegressor, lr_range_test
from skmlp.activations import ACTIVATIONS
from skmlp.network import Network
from skmlp.state import TrainingState
from skmlp.trainer import Checkpoint, Step, TrainingData, Validation, finite_on

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

CONFIGS = {
    "adam": dict(),
    "sgd_early_stopping": dict(solver="sgd", early_stopping=True, scoring="accuracy"),
    "lbfgs": dict(solver="lbfgs"),
    "partial_fit": dict(),
    "verbose_1": dict(verbose=1, early_stopping=True),
    "verbose_2": dict(verbose=2),
}

# (owner, attribute, raise before or after the original runs)
POINTS = {
    "validate_input": (skmlp.estimators, "validate_data", "before"),
    "weight_setup": (Network, "pack", "before"),
    # the step is the seam both engines (numpy and compiled) go through
    "mid_batch": (Step, "loss_and_grad", "after"),
    "after_update": (Step, "update", "after"),
    "validation": (Validation, "__call__", "before"),
    "commit": (Checkpoint, "save", "before"),
    "epoch_line": (builtins, "print", "before"),
}

APPLICABLE = {
    "adam": ["validate_input", "weight_setup", "mid_batch", "after_update", "commit"],
    "sgd_early_stopping": ["validate_input", "mid_batch", "after_update", "validation", "commit"],
    "lbfgs": ["validate_input", "weight_setup", "mid_batch"],  # mid_batch: the objective
    "partial_fit": ["validate_input", "weight_setup", "mid_batch", "after_update", "commit"],
    "verbose_1": ["mid_batch", "validation", "epoch_line"],
    "verbose_2": ["mid_batch", "epoch_line"],
}


class _Injector:
    """Counts the calls of one function and raises KeyboardInterrupt at call ``at``."""

    def __init__(self, monkeypatch, point, solver, at):
        owner, name, when = POINTS[point]
        original = getattr(owner, name)
        self.calls, self.at = 0, at

        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            self.calls += 1
            if when == "before" and self.calls == self.at:
                raise KeyboardInterrupt
            result = original(*args, **kwargs)
            if when == "after" and self.calls == self.at:
                raise KeyboardInterrupt
            return result

        monkeypatch.setattr(owner, name, wrapper)


def _estimator(config, **params):
    settings = dict(hidden_layer_sizes=(8,), max_iter=5, batch_size=150, random_state=0)
    settings.update(CONFIGS[config], **params)
    settings.pop("partial", None)
    return MLPClassifier(**settings)


def _call(est, config, X, y):
    if config == "partial_fit":
        return est.partial_fit(X, y, classes=np.unique(y))
    return est.fit(X, y)


def _started(config, X, y):
    """An estimator with one call behind it, set to continue (warm start)."""
    est = _estimator(config, warm_start=True, n_iter_no_change=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _call(est, config, X, y)
    return est


def _same(a, b) -> bool:
    """Deep equality of attribute values, NaN equal to NaN."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.shape == b.shape
            and a.dtype == b.dtype
            and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        )
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _assert_consistent(est, X, y):
    check_is_fitted(est)
    if est.solver != "lbfgs":
        n = len(est.loss_curve_)
        assert {k: len(v) for k, v in est.history_.items()} == dict.fromkeys(est.history_, n)
        assert est.history_["train_loss"] == est.loss_curve_
        if est.early_stopping:
            assert len(est.validation_scores_) == n
        state = TrainingState.from_dict(est._train_state)
        assert len(state.records) == n and state.t == est.t_
        assert est.loss_ == est.loss_curve_[-1]
    assert est.n_iter_ <= est.max_iter
    assert np.isfinite(est.predict_proba(X)).all()


def _calls_in_one_call(monkeypatch, config, point, X, y):
    est = _started(config, X, y)
    with monkeypatch.context() as m:
        counter = _Injector(m, point, est.solver, at=-1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _call(est, config, X, y)
    return counter.calls


@pytest.mark.parametrize(
    "config, point", [(c, p) for c, points in APPLICABLE.items() for p in points]
)
def test_an_interrupt_leaves_the_estimator_unchanged_or_consistent(
    monkeypatch, capsys, digits, config, point
):
    X, y = digits
    total = _calls_in_one_call(monkeypatch, config, point, X, y)
    assert total > 0, "the injection point is never reached"
    kept_some = propagated = 0
    for at in sorted({1, max(1, total // 2), total}):
        est = _started(config, X, y)
        start = copy.deepcopy(est)
        before = copy.deepcopy(vars(est))
        with monkeypatch.context() as m, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _Injector(m, point, est.solver, at)
            try:
                _call(est, config, X, y)
            except KeyboardInterrupt:
                propagated += 1
                assert _same(vars(est), before), "an interrupted call changed the estimator"
                continue
        assert any("interrupted" in str(w.message) for w in caught)
        kept_some += 1
        _assert_consistent(est, X, y)
        if est.solver != "lbfgs":
            # the kept model is exactly the uninterrupted fit of the epochs kept
            reference = start.set_params(max_iter=est.n_iter_)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _call(reference, config, X, y)
            for a, b in zip(est.coefs_ + est.intercepts_, reference.coefs_ + reference.intercepts_):
                np.testing.assert_array_equal(a, b)
            assert est.loss_curve_ == reference.loss_curve_
        # a warm start continues from what was kept
        n_records = len(getattr(est, "loss_curve_", []))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _call(est.set_params(max_iter=2), config, X, y)
        if est.solver != "lbfgs":
            assert len(est.loss_curve_) == n_records + est.n_iter_
        _assert_consistent(est, X, y)
    assert kept_some + propagated == len({1, max(1, total // 2), total})
    capsys.readouterr()


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_an_interrupt_before_anything_is_kept_leaves_a_fresh_estimator_unfitted(
    monkeypatch, digits, solver
):
    X, y = digits
    est = MLPClassifier((8,), solver=solver, max_iter=5, random_state=0)
    with monkeypatch.context() as m:
        _Injector(m, "mid_batch", solver, at=1)
        with pytest.raises(KeyboardInterrupt):
            est.fit(X, y)
    assert not hasattr(est, "coefs_") and not hasattr(est, "n_features_in_")
    with pytest.raises(NotFittedError):
        est.predict(X)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_an_interrupted_refit_on_other_data_keeps_the_old_model_whole(monkeypatch, digits, solver):
    X, y = digits
    est = MLPClassifier((8,), solver=solver, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    before = copy.deepcopy(vars(est))
    X_other, y_other = X[:, :20], y % 3  # other features, other classes
    with monkeypatch.context() as m:
        _Injector(m, "mid_batch", solver, at=1)
        with pytest.raises(KeyboardInterrupt):
            est.fit(X_other, y_other)
    assert _same(vars(est), before)
    assert est.n_features_in_ == X.shape[1] and len(est.classes_) == 10
    assert np.isfinite(est.predict_proba(X)).all()


def test_lbfgs_interrupt_keeps_the_best_iterate_and_a_warm_start_continues(monkeypatch, digits):
    X, y = digits
    est = MLPClassifier((8,), solver="lbfgs", max_iter=200, random_state=0, warm_start=True)
    with monkeypatch.context() as m:
        _Injector(m, "mid_batch", "lbfgs", at=30)
        with pytest.warns(UserWarning, match="interrupted"):
            est.fit(X, y)
    assert 0 < est.n_iter_ < 30
    kept_loss = est.loss_
    # loss_ is the objective at the kept weights: recomputed from them
    net = est._network()
    params = net.pack(est.coefs_, est.intercepts_, np.float64)
    ws = net.workspace(len(X), params)
    Y = (y[:, None] == est.classes_).astype(np.float64)
    assert net.loss_and_grad(ws, X, Y, None, est.alpha) == pytest.approx(kept_loss, rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.set_params(max_iter=20).fit(X, y)
    assert est.loss_ < kept_loss


# --- divergence keeps only verified weights ----------------------------------
_KEPT = re.compile(r"diverged in epoch (\d+).*; (the weights [^;]*?) were kept")


@pytest.mark.parametrize(
    "case",
    ["poisson_sgd_huge_targets", "momentum_0999_rate_05"],
)
def test_divergence_keeps_weights_verified_on_the_training_data(case):
    rng = np.random.RandomState(1)
    X = rng.normal(size=(200, 5))
    if case == "poisson_sgd_huge_targets":
        est = MLPRegressor(loss="poisson", solver="sgd", max_iter=50, random_state=0)
        y = np.full(200, 1e6)
    else:
        est = MLPRegressor(
            solver="sgd", momentum=0.999, learning_rate_init=0.5, max_iter=50, random_state=0
        )
        y = X @ rng.normal(size=5)
    with pytest.warns(DivergenceWarning) as record:
        est.fit(X, y)
    message = str(record[0].message)
    match = _KEPT.search(message)
    assert match, message
    failed_in, kept = int(match.group(1)), match.group(2)
    # the end of the epoch before the failing one was itself not finite on
    # the data, so an older verified model was kept, and the warning names it
    assert kept == "the weights this fit started from" or (
        int(re.search(r"epoch (\d+)", kept).group(1)) < failed_in - 1
    )
    assert est.n_iter_ == len(est.loss_curve_) < failed_in
    with np.errstate(all="raise"):
        assert np.isfinite(est.predict(X)).all()


def test_a_fit_whose_start_is_already_non_finite_raises_and_changes_nothing():
    X = np.full((50, 3), 1e200)
    est = MLPRegressor(hidden_layer_sizes=(4,), solver="sgd", max_iter=3, random_state=0)
    with pytest.raises(ValueError, match="non-finite"):
        est.fit(X, np.ones(50))
    assert not hasattr(est, "coefs_")


# --- concurrent predictions see committed models only -------------------------
# list input to a model fitted on a DataFrame warns about feature names, by design
@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_predictions_during_fits_use_a_committed_model(digits):
    pd = pytest.importorskip("pandas")
    X, y = digits
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    est = MLPClassifier(
        (16,),
        early_stopping=True,
        scoring="accuracy",
        warm_start=True,
        max_iter=2,
        n_iter_no_change=1000,
        random_state=0,
    ).fit(frame, y)
    probe = frame.iloc[:40]
    committed = [est.predict_proba(probe)]
    errors, seen = [], []
    done = threading.Event()

    def fit_repeatedly():
        try:
            while not done.is_set():
                est.fit(frame, y)
                committed.append(est.predict_proba(probe))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    fitter = threading.Thread(target=fit_repeatedly)
    fitter.start()
    try:
        for i in range(1000):
            try:
                data = probe if i % 2 else probe.values.tolist()
                seen.append(est.predict_proba(data))
            except Exception as exc:
                errors.append(exc)
    finally:
        done.set()
        fitter.join()
        sys.setswitchinterval(switch)
    assert not errors, errors[:3]
    assert len(committed) > 2, "no fit finished during the predictions"
    unmatched = [p for p in seen if not any(np.array_equal(p, c) for c in committed)]
    assert not unmatched


def test_a_scorer_gets_a_frozen_stand_in_not_the_estimator(digits):
    X, y = digits
    received = []

    def scorer(estimator, X_val, y_val):
        received.append(estimator)
        return float(np.mean(estimator.predict(X_val) == y_val))

    est = MLPClassifier((8,), early_stopping=True, scoring=scorer, max_iter=3, random_state=0)
    est.fit(X, y)
    assert len(received) == 3
    assert all(r is not est and type(r) is MLPClassifier for r in received)
    # each stand-in keeps the weights of its epoch: they differ
    assert not np.array_equal(received[0].coefs_[0], received[-1].coefs_[0])


# --- the range test trains fit's objective ------------------------------------
@pytest.mark.parametrize(
    "a, b", [({"l1_ratio": 0.0}, {"l1_ratio": 1.0}), ({"dropout": 0.0}, {"dropout": 0.5})]
)
def test_the_range_test_sees_every_regularizer(digits, a, b):
    X, y = digits
    base = dict(hidden_layer_sizes=(16,), alpha=1e-2, random_state=0)
    first = lr_range_test(MLPClassifier(**base, **a), X, y, num_iter=30)
    second = lr_range_test(MLPClassifier(**base, **b), X, y, num_iter=30)
    n = min(len(first.losses), len(second.losses))
    assert not np.allclose(first.losses[:n], second.losses[:n], rtol=1e-9, atol=0)


def test_the_range_test_sees_weight_decay(digits):
    X, y = digits
    base = dict(hidden_layer_sizes=(16,), solver="adamw", random_state=0)
    plain = lr_range_test(MLPClassifier(**base), X, y, num_iter=30)
    decayed = lr_range_test(MLPClassifier(**base, weight_decay=5.0), X, y, num_iter=30)
    n = min(len(plain.losses), len(decayed.losses))
    assert not np.allclose(plain.losses[:n], decayed.losses[:n], rtol=1e-9, atol=0)


# --- the finiteness certificate ------------------------------------------------
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_each_activation_stays_within_its_output_bound(name):
    activation = ACTIVATIONS[name]
    for bound in (0.0, 0.5, 3.0, 40.0):
        z = np.linspace(-bound, bound, 2001)
        assert np.abs(activation(z)).max() <= activation.output_bound(bound)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("scale", [0.1, 1.0, 5.0])
def test_the_raw_output_bound_dominates_every_raw_output(activation, scale):
    rng = np.random.RandomState(0)
    net = Network([6, 9, 7, 3], activation, "squared_error")  # identity link: raw = pred
    params = rng.normal(scale=scale, size=net.n_params)
    X = rng.uniform(-2.0, 2.0, size=(500, 6))
    X[0] = 2.0 * np.sign(params[:6])  # a corner that pushes the first unit up
    bound = net.raw_output_bound(params, x_max=2.0)
    raw = np.abs(net.predict(params, X)).max()
    assert raw <= bound
    assert bound < np.inf


@pytest.mark.parametrize("loss", ["squared_error", "poisson", "log_loss", "binary_log_loss"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_certified_model_is_finite_and_an_uncertified_one_is_checked(loss, dtype):
    rng = np.random.RandomState(0)
    n_out = 3 if loss == "log_loss" else 1
    net = Network([4, 5, n_out], "relu", loss)
    X = rng.normal(size=(300, 4)).astype(dtype)
    Y = rng.poisson(2.0, size=(300, n_out)).astype(dtype)
    if loss in ("log_loss", "binary_log_loss"):
        Y = Y > 1
    data = TrainingData(X, Y)
    safe = net.loss.safe_raw_bound(np.dtype(dtype), 300, data.y_max)
    for scale in (0.1, 1.0, 10.0, 1e3, 1e8, 1e20):
        params = (rng.normal(size=net.n_params) * scale).astype(dtype)
        certified = net.raw_output_bound(params, data.x_max) <= safe
        try:  # an overflow inside the network counts, even if saturation hides it
            with np.errstate(over="raise", invalid="raise", under="ignore", divide="ignore"):
                pred = net.predict(params, X)
        except FloatingPointError:
            actually_finite = False
        else:
            with np.errstate(all="ignore"):
                loss_value = net.loss.value(Y, pred, pred - Y, None)
            actually_finite = np.isfinite(pred).all() and np.isfinite(loss_value)
        if certified:
            assert actually_finite
        assert finite_on(net, params, data) == actually_finite
