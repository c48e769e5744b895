"""Behaviour of MLPClassifier / MLPRegressor beyond scikit-learn's checks."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from _helpers import small
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

from skmlp import DivergenceWarning, MLPClassifier, MLPRegressor
from skmlp.network import Network
from skmlp.state import TrainingState

SOLVERS = ["adam", "sgd", "lbfgs"]
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# --- reproducibility and persistence --------------------------------------
@pytest.mark.parametrize("solver", SOLVERS)
def test_same_random_state_gives_bit_identical_coefs(digits, solver):
    X, y = digits
    a = small(MLPClassifier, solver=solver).fit(X, y)
    b = small(MLPClassifier, solver=solver).fit(X, y)
    for ca, cb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert np.array_equal(ca, cb)
    c = small(MLPClassifier, solver=solver, random_state=1).fit(X, y)
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


@pytest.mark.parametrize("est_cls", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("solver", SOLVERS)
def test_pickle_round_trip_keeps_predictions(digits, est_cls, solver):
    X, y = digits
    est = small(est_cls, solver=solver).fit(X, y.astype(float) if est_cls is MLPRegressor else y)
    restored = pickle.loads(pickle.dumps(est))
    assert np.array_equal(est.predict(X), restored.predict(X))
    if est_cls is MLPClassifier:
        assert np.array_equal(est.predict_proba(X), restored.predict_proba(X))


def test_weight_init_sklearn_reproduces_sklearn_draws(digits):
    from sklearn.neural_network import MLPClassifier as SkMLP

    X, y = digits
    ours = small(MLPClassifier, max_iter=1, activation="logistic").fit(X, y)
    theirs = SkMLP(hidden_layer_sizes=(12,), max_iter=1, activation="logistic", random_state=0)
    theirs.fit(X, y)
    for a, b in zip(ours.coefs_, theirs.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "method", ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_normal"]
)
def test_weight_init_scales(method):
    fan_in, fan_out = 400, 300
    X = np.random.RandomState(0).normal(size=(10, fan_in))
    y = np.arange(10) % 2
    est = MLPClassifier(hidden_layer_sizes=(fan_out,), weight_init=method, max_iter=1)
    est.set_params(random_state=0, learning_rate_init=1e-12).fit(X, y)
    w = est.coefs_[0]
    std = {
        "glorot_uniform": np.sqrt(6 / (fan_in + fan_out)) / np.sqrt(3),
        "glorot_normal": np.sqrt(2 / (fan_in + fan_out)),
        "he_uniform": np.sqrt(6 / fan_in) / np.sqrt(3),
        "he_normal": np.sqrt(2 / fan_in),
        "lecun_normal": np.sqrt(1 / fan_in),
    }[method]
    assert abs(w.std() / std - 1) < 0.02
    assert np.abs(est.intercepts_[0]).max() < 1e-9


# --- solvers, batches, dtypes -----------------------------------------------
def test_partial_fit_absent_for_lbfgs_on_both_estimators():
    for est_cls in (MLPClassifier, MLPRegressor):
        assert not hasattr(est_cls(solver="lbfgs"), "partial_fit")
        assert hasattr(est_cls(solver="sgd"), "partial_fit")
        assert hasattr(est_cls(solver="adam"), "partial_fit")


def test_partial_fit_classifier_needs_classes_then_learns(digits):
    X, y = digits
    clf = small(MLPClassifier)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X[:50], y[:50])
    clf.partial_fit(X[:100], y[:100], classes=np.unique(y))
    first = clf.score(X, y)
    for _ in range(20):
        clf.partial_fit(X, y)
    assert clf.score(X, y) > first
    assert clf.n_iter_ == 1
    assert clf.t_ == 100 + 20 * len(X)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("est_cls", [MLPClassifier, MLPRegressor])
def test_float32_input_trains_and_predicts_in_float32(digits, solver, est_cls):
    X, y = digits
    X32 = X.astype(np.float32)
    target = y if est_cls is MLPClassifier else (y / 9.0).astype(np.float32)
    est = small(est_cls, solver=solver).fit(X32, target)
    assert all(c.dtype == np.float32 for c in est.coefs_ + est.intercepts_)
    out = est.predict_proba(X32) if est_cls is MLPClassifier else est.predict(X32)
    assert out.dtype == np.float32
    est64 = small(est_cls, solver=solver).fit(X, target.astype(np.float64))
    assert abs(est.score(X, target) - est64.score(X, target)) < 0.05


def test_full_batch_sgd_epoch_is_one_gradient_step(digits):
    X, y = digits
    X = X[:150]
    y = y[:150]
    est = small(
        MLPClassifier, solver="sgd", batch_size=len(X), max_iter=1, momentum=0.0, alpha=0.01
    )
    est.set_params(learning_rate_init=0.1, shuffle=False)
    est.fit(X, y)
    # redo the single step by hand from the same initial weights
    start = small(MLPClassifier, max_iter=1, learning_rate_init=1e-300, solver="sgd")
    start.set_params(momentum=0.0, shuffle=False, batch_size=len(X)).fit(X, y)
    net = Network([X.shape[1], 12, 10], "relu", "log_loss")
    params = net.pack(start.coefs_, start.intercepts_, np.float64)
    ws = net.workspace(len(X), params)
    Y = (y[:, None] == np.arange(10)).astype(bool)
    net.loss_and_grad(ws, X, Y, None, 0.01)
    expected = params - 0.1 * ws.grad
    got = net.pack(est.coefs_, est.intercepts_, np.float64)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("batch_size", [1, 7, "auto", 10_000])
def test_batch_sizes_online_to_full_batch(digits, batch_size):
    X, y = digits
    est = small(MLPClassifier, batch_size=batch_size, max_iter=3, n_iter_no_change=100)
    if batch_size == 10_000:
        with pytest.warns(UserWarning, match="batch_size"):
            est.fit(X, y)
    else:
        est.fit(X, y)
    assert est.t_ == 3 * len(X)
    n_batches = -(-len(X) // min(200 if batch_size == "auto" else batch_size, len(X)))
    assert TrainingState.from_dict(est._train_state).optimizer["t"] == 3 * n_batches


def test_sparse_input_matches_dense(digits):
    X, y = digits
    dense = small(MLPClassifier).fit(X, y)
    for fmt in (sp.csr_matrix, sp.csc_matrix):
        sparse = small(MLPClassifier).fit(fmt(X), y)
        np.testing.assert_allclose(sparse.coefs_[0], dense.coefs_[0], rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(sparse.predict_proba(fmt(X)), dense.predict_proba(X), atol=1e-7)


def test_multilabel_classification():
    X, Y = make_classification(n_samples=300, n_features=10, random_state=0), None
    X = X[0]
    rng = np.random.RandomState(0)
    Y = (X[:, :3] + 0.1 * rng.normal(size=(300, 3)) > 0).astype(int)
    clf = MLPClassifier(hidden_layer_sizes=(20,), max_iter=300, random_state=0).fit(X, Y)
    assert clf.out_activation_ == "logistic"
    assert clf.predict(X).shape == Y.shape
    proba = clf.predict_proba(X)
    assert proba.shape == Y.shape and np.all((proba > 0) & (proba < 1))
    assert clf.score(X, Y) > 0.8


def test_string_labels_and_pandas_feature_names(digits):
    pd = pytest.importorskip("pandas")
    X, y = digits
    df = pd.DataFrame(X, columns=[f"px{i}" for i in range(X.shape[1])])
    labels = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
    clf = small(MLPClassifier, learning_rate_init=0.01, max_iter=100).fit(df, labels[y])
    assert list(clf.feature_names_in_) == list(df.columns)
    assert set(clf.predict(df)) <= set(labels)
    assert clf.score(df, labels[y]) > 0.9
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)


def test_predict_proba_and_log_proba_are_consistent(digits):
    X, y = digits
    clf = small(MLPClassifier).fit(X, y)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-12)
    assert np.array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    binary = small(MLPClassifier).fit(X, y % 2)
    p = binary.predict_proba(X)
    assert p.shape == (len(X), 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_poisson_regressor_and_negative_targets():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 4))
    y = rng.poisson(np.exp(0.5 * X[:, 0]))
    reg = MLPRegressor(loss="poisson", hidden_layer_sizes=(8,), max_iter=200, random_state=0)
    reg.fit(X, y)
    assert reg.out_activation_ == "exp"
    assert np.all(reg.predict(X) > 0)
    assert np.corrcoef(reg.predict(X), np.exp(0.5 * X[:, 0]))[0, 1] > 0.8
    with pytest.raises(ValueError, match="y >= 0"):
        MLPRegressor(loss="poisson").fit(X, y - 5)


def test_multioutput_squared_error_loss_matches_its_gradient(regression):
    """loss_ is the function the solver minimizes: sum over outputs, mean over rows."""
    X, Y = regression
    alpha = 0.1
    reg = MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", alpha=alpha, random_state=0)
    reg.set_params(max_iter=50).fit(X, Y)
    resid = reg.predict(X) - Y
    penalty = 0.5 * alpha * sum(np.sum(w**2) for w in reg.coefs_) / len(X)
    expected = 0.5 * np.mean(np.sum(resid**2, axis=1)) + penalty
    np.testing.assert_allclose(reg.loss_, expected, rtol=1e-9)


def test_lbfgs_keeps_float32_and_its_loss_is_float32_exact(regression):
    X, Y = regression
    reg = MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0, max_iter=100)
    reg.fit(X.astype(np.float32), Y.astype(np.float32))
    assert reg.coefs_[0].dtype == np.float32
    assert reg.score(X, Y) > 0.9


# --- warm start --------------------------------------------------------------
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_warm_start_continues_one_run(digits, solver):
    X, y = digits
    kw = dict(solver=solver, shuffle=False, n_iter_no_change=np.inf, learning_rate="invscaling")
    one = small(MLPClassifier, max_iter=10, **kw).fit(X, y)
    two = small(MLPClassifier, max_iter=5, warm_start=True, **kw).fit(X, y)
    two.fit(X, y)
    assert two.t_ == one.t_
    assert two.loss_curve_ == one.loss_curve_
    for a, b in zip(one.coefs_ + one.intercepts_, two.coefs_ + two.intercepts_):
        np.testing.assert_array_equal(a, b)


def test_warm_start_rejects_new_classes(digits):
    X, y = digits
    clf = small(MLPClassifier, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X[y < 5], y[y < 5])


def test_without_warm_start_refit_starts_over(digits):
    X, y = digits
    clf = small(MLPClassifier)
    first = clone(clf).fit(X, y)
    clf.fit(X, y)
    clf.fit(X, y)
    assert np.array_equal(clf.coefs_[0], first.coefs_[0])


# --- early stopping -----------------------------------------------------------
def test_early_stopping_restores_the_best_weights(digits):
    X, y = digits
    clf = small(MLPClassifier, early_stopping=True, max_iter=200, n_iter_no_change=5)
    clf.fit(X, y)
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None
    # the restored weights score the best validation score on the same split
    from sklearn.model_selection import train_test_split

    rng = np.random.RandomState(0)
    # replay the rng: weight init draws first, then the split
    net = Network([X.shape[1], 12, 10], "relu", "log_loss")
    net.init_params(rng, "sklearn", np.float64)
    _, X_val, _, y_val = train_test_split(X, y, random_state=rng, test_size=0.1, stratify=y)
    assert clf.score(X_val, y_val) == pytest.approx(clf.best_validation_score_)


def test_partial_fit_refuses_early_stopping(digits):
    X, y = digits
    with pytest.raises(ValueError, match="early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=np.unique(y))


def test_verbose_prints_one_line_per_epoch(digits, capsys):
    X, y = digits
    small(MLPClassifier, verbose=True, max_iter=4).fit(X, y)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("Iteration")]
    assert len(lines) == 4


# --- bad input ---------------------------------------------------------------
@pytest.mark.parametrize("est_cls", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize(
    "bad, match",
    [
        (lambda X, y: (np.where(X == X[0, 0], np.nan, X), y), "NaN"),
        (lambda X, y: (np.where(X == X[0, 0], np.inf, X), y), "infinity"),
        (lambda X, y: (X[:0], y[:0]), "0 sample"),
        (lambda X, y: (np.where(X == X[0, 0], "a", X.astype(object)), y), "convert|string"),
    ],
)
def test_bad_X_raises_clear_value_error(digits, est_cls, bad, match):
    X, y = digits
    X, y = bad(X.copy(), y.astype(float))
    with pytest.raises(ValueError, match=match):
        est_cls().fit(X, y)


def test_nan_in_y_raises(digits):
    X, y = digits
    y = y.astype(float)
    y[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MLPRegressor().fit(X, y)


def test_single_class_raises(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="at least 2 classes"):
        MLPClassifier().fit(X, np.zeros(len(X)))


def test_wrong_n_features_at_predict(digits):
    X, y = digits
    clf = small(MLPClassifier).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :10])


@pytest.mark.parametrize(
    "params",
    [
        {"solver": "newton"},
        {"activation": "swish"},
        {"alpha": -1.0},
        {"learning_rate_init": 0.0},
        {"batch_size": 0},
        {"weight_init": "zeros"},
        {"momentum": 1.5},
    ],
)
def test_invalid_hyperparameters_raise_invalid_parameter_error(digits, params):
    X, y = digits
    with pytest.raises(InvalidParameterError, match=next(iter(params))):
        MLPClassifier(**params).fit(X, y)


def test_non_positive_hidden_layer_size_raises(digits):
    X, y = digits
    with pytest.raises((ValueError, InvalidParameterError), match="hidden_layer_sizes"):
        MLPClassifier(hidden_layer_sizes=(10, 0)).fit(X, y)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_divergence_warns_and_keeps_finite_weights(solver):
    rng = np.random.RandomState(0)
    X = rng.normal(scale=30, size=(200, 5))
    # a Poisson target through the exp link overflows once the rate is absurd
    y = rng.poisson(3.0, size=200)
    reg = MLPRegressor(loss="poisson", solver=solver, learning_rate_init=50.0, random_state=0)
    reg.set_params(max_iter=50)
    # numpy's overflow RuntimeWarnings (errors in this suite) must not leak
    with pytest.warns(DivergenceWarning, match="learning_rate_init"):
        reg.fit(X, y)
    pred = reg.predict(X)
    assert all(np.isfinite(c).all() for c in reg.coefs_ + reg.intercepts_)
    assert np.isfinite(pred).all()
    assert reg.n_iter_ < 50
    assert issubclass(DivergenceWarning, ConvergenceWarning)


def test_partial_fit_lbfgs_error_says_why():
    with pytest.raises(AttributeError, match="partial_fit") as info:
        MLPRegressor(solver="lbfgs").partial_fit
    assert "stochastic solvers" in str(info.value.__cause__)


def test_partial_fit_single_class_raises(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="at least 2 classes"):
        MLPClassifier().partial_fit(X, np.zeros(len(X)), classes=[0])


def test_warm_start_with_other_hidden_sizes_raises(digits):
    X, y = digits
    clf = small(MLPClassifier, warm_start=True).fit(X, y)
    clf.set_params(hidden_layer_sizes=(13,))
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        clf.fit(X, y)


def test_another_stochastic_solver_between_warm_starts_resets_the_optimizer(digits):
    X, y = digits
    clf = small(MLPClassifier, warm_start=True, max_iter=3).fit(X, y)
    clf.set_params(solver="sgd").fit(X, y)
    clf.set_params(solver="adam").fit(X, y)
    # a fresh Adam state counts only this fit's steps
    assert TrainingState.from_dict(clf._train_state).optimizer["t"] == 3 * -(-len(X) // 200)


def test_early_stopping_with_rare_classes_still_trains():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(100, 3)), rng.randint(0, 10, 100)
    clf = MLPClassifier(early_stopping=True, validation_fraction=0.05, max_iter=5)
    clf.set_params(random_state=0).fit(X, y)
    assert len(clf.validation_scores_) == clf.n_iter_


def test_zero_weight_batches_are_skipped_quietly():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(60, 3)), rng.normal(size=60)
    sw = np.ones(60)
    sw[:10] = 0.0
    reg = MLPRegressor(batch_size=10, shuffle=False, max_iter=5, random_state=0)
    reg.fit(X, y, sample_weight=sw)  # a RuntimeWarning would fail this suite
    assert np.isfinite(reg.loss_)


def test_each_warm_fit_runs_its_schedule_from_the_start(digits):
    X, y = digits
    clf = small(MLPClassifier, learning_rate="one_cycle", max_iter=5, warm_start=True)
    clf.set_params(n_iter_no_change=np.inf).fit(X, y)
    first = list(clf.history_["learning_rate"])
    clf.fit(X, y)
    second = clf.history_["learning_rate"][len(first) :]
    np.testing.assert_allclose(second, first)  # not stuck at the annealed end


@pytest.mark.parametrize("solver", SOLVERS)
def test_hidden_layers_narrower_than_the_output(digits, solver):
    X, y = digits  # 10 classes through 5 hidden units
    clf = MLPClassifier(hidden_layer_sizes=(5,), solver=solver, max_iter=20, random_state=0)
    clf.fit(X, y)
    assert clf.predict_proba(X).shape == (len(X), 10)


@pytest.mark.parametrize(
    "tamper, match",
    [
        (lambda s: s.pop("intercepts_"), "lacks"),
        (
            lambda s: s.__setitem__("coefs_", [s["coefs_"][0][:, :3], *s["coefs_"][1:]]),
            "shape|rows",
        ),
        (lambda s: s.__setitem__("n_outputs_", 3), "n_outputs_"),
        (lambda s: s.__setitem__("n_features_in_", 7), "n_features_in_"),
    ],
)
def test_loading_a_mismatched_state_raises(digits, tamper, match):
    X, y = digits
    clf = small(MLPClassifier).fit(X, y)
    state = clf.__getstate__()
    tamper(state)
    restored = MLPClassifier.__new__(MLPClassifier)
    with pytest.raises(ValueError, match=match):
        restored.__setstate__(state)


def _only_arrays_and_builtins(value) -> bool:
    if isinstance(value, np.ndarray):
        return value.dtype != object
    if isinstance(value, dict):
        return all(isinstance(k, str) and _only_arrays_and_builtins(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_only_arrays_and_builtins(v) for v in value)
    return value is None or type(value) in (bool, int, float, str)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("target", ["binary", "multiclass", "multilabel", "regression"])
def test_fitted_state_is_only_arrays_and_builtins(digits, solver, target):
    X, y = digits
    if target == "regression":
        est, t = small(MLPRegressor, solver=solver), y / 9.0
    else:
        est = small(MLPClassifier, solver=solver, early_stopping=solver != "lbfgs")
        t = {"binary": y % 2, "multiclass": y, "multilabel": np.c_[y % 2, y > 4]}[target]
    state = est.fit(X, t).__getstate__()
    bad = {k: type(v).__name__ for k, v in state.items() if not _only_arrays_and_builtins(v)}
    assert not bad, f"not plain arrays/builtins: {bad}"
