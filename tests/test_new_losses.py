"""The losses and training aids scikit-learn's MLP lacks: robust and quantile
regression, gamma, label smoothing, gradient clipping, the plateau schedule,
and early stopping that waits for the schedule's peak."""

import itertools
import math
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

from skmlp import DivergenceWarning, MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# --- robust regression ------------------------------------------------------------
def _with_outliers(seed, n=600):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, size=(n, 3))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] + 0.1 * rng.normal(size=n)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=seed)
    gross = rng.rand(len(y_train)) < 0.1  # 10% of the training targets
    y_train = y_train.copy()
    y_train[gross] += 50.0 * y.std() * rng.choice([-1.0, 1.0], size=gross.sum())
    return X_train, X_test, y_train, y_test


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_huber_and_absolute_error_resist_gross_outliers(seed):
    X_train, X_test, y_train, y_test = _with_outliers(seed)
    errors = {}
    for loss in ("squared_error", "huber", "absolute_error"):
        model = MLPRegressor(
            hidden_layer_sizes=(32,),
            loss=loss,
            learning_rate_init=0.01,
            max_iter=300,
            random_state=seed,
        ).fit(X_train, y_train)
        errors[loss] = np.median(np.abs(model.predict(X_test) - y_test))
    assert errors["huber"] < errors["squared_error"], errors
    assert errors["absolute_error"] < errors["squared_error"], errors


# --- quantiles ------------------------------------------------------------------------
def test_a_5_to_95_percent_band_covers_about_90_percent_of_held_out_targets():
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 5, size=(3000, 1))
    y = np.sin(X[:, 0]) + (0.1 + 0.3 * X[:, 0]) * rng.normal(size=3000)  # noise grows with x
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
    bands = {}
    for q in (0.05, 0.95):
        model = make_pipeline(
            StandardScaler(),
            MLPRegressor(
                hidden_layer_sizes=(32,),
                loss="quantile",
                quantile=q,
                learning_rate_init=0.01,
                max_iter=200,
                random_state=0,
            ),
        ).fit(X_train, y_train)
        bands[q] = model.predict(X_test)
    inside = (bands[0.05] <= y_test) & (y_test <= bands[0.95])
    assert 0.85 <= inside.mean() <= 0.95, inside.mean()
    # the band widens with the noise
    narrow, wide = X_test[:, 0] < 1.5, X_test[:, 0] > 3.5
    width = bands[0.95] - bands[0.05]
    assert width[wide].mean() > 1.5 * width[narrow].mean()


@pytest.mark.parametrize(
    "loss, baseline",
    [("absolute_error", np.median), ("quantile", None), ("gamma", np.mean)],
)
def test_a_fresh_output_bias_starts_at_the_best_constant(loss, baseline):
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(101, 2)), rng.gamma(2.0, 3.0, size=101) + 0.5
    # one lbfgs iteration is enough to read the start off the first evaluation
    model = MLPRegressor(
        hidden_layer_sizes=(4,), loss=loss, quantile=0.8, solver="lbfgs", random_state=0
    )
    model.set_params(max_iter=1)
    start = model._copy()
    problem = start._prepare(X, y, None, False)
    output_bias = problem.net.views(problem.params)[1][-1][0]
    expected = np.quantile(y, 0.8, method="inverted_cdf") if baseline is None else baseline(y)
    if loss == "gamma":
        expected = math.log(expected)
    assert output_bias == pytest.approx(expected, rel=1e-12)
    check_is_fitted(model.fit(X, y))


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_scikit_learns_losses_keep_the_initializers_bias(loss):
    # the draw does not depend on y, so fits stay identical to scikit-learn's
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(50, 2)), rng.poisson(3.0, size=50).astype(float)
    biases = []
    for shift in (0.0, 100.0):
        est = MLPRegressor(hidden_layer_sizes=(4,), loss=loss, random_state=0)
        problem = est._prepare(X, y + shift, None, False)
        biases.append(problem.net.views(problem.params)[1][-1].copy())
    np.testing.assert_array_equal(*biases)


# --- gamma -----------------------------------------------------------------------------
def test_gamma_fits_skewed_positive_targets_with_a_log_link():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(500, 3))
    mean = np.exp(0.5 + 0.6 * X[:, 0])
    y = rng.gamma(shape=4.0, scale=mean / 4.0)
    model = MLPRegressor(
        hidden_layer_sizes=(16,), loss="gamma", solver="lbfgs", max_iter=300, random_state=0
    )
    model.fit(X, y)
    assert model.out_activation_ == "exp"
    pred = model.predict(X)
    assert np.all(pred > 0)
    assert np.corrcoef(np.log(pred), np.log(mean))[0, 1] > 0.95


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_gamma_needs_positive_targets(bad):
    X = np.random.RandomState(0).normal(size=(20, 2))
    y = np.ones(20)
    y[3] = bad
    with pytest.raises(ValueError, match="loss='gamma' requires y > 0"):
        MLPRegressor(loss="gamma").fit(X, y)


# --- label smoothing -------------------------------------------------------------------
def test_label_smoothing_trains_the_smoothed_objective(digits):
    X, y = digits
    eps, alpha = 0.2, 1e-3
    model = MLPClassifier(
        (8,), label_smoothing=eps, alpha=alpha, solver="lbfgs", max_iter=30, random_state=0
    ).fit(X, y)
    proba = model.predict_proba(X)
    targets = (1 - eps) * (y[:, None] == model.classes_) + eps / len(model.classes_)
    penalty = 0.5 * alpha * sum(np.sum(W**2) for W in model.coefs_) / len(X)
    smoothed = -np.mean(np.sum(targets * np.log(proba), axis=1)) + penalty
    assert model.loss_ == pytest.approx(smoothed, rel=1e-9)
    # smoothing keeps the probabilities away from 0 and 1
    plain = MLPClassifier((8,), alpha=alpha, solver="lbfgs", max_iter=30, random_state=0)
    assert proba.max() < plain.fit(X, y).predict_proba(X).max()


def test_label_smoothing_binary_and_the_scorer_sees_true_labels(digits):
    X, y = digits
    labels = np.where(y % 2, "odd", "even")
    seen = []

    def scorer(estimator, X_val, y_val):
        seen.append(np.unique(y_val))
        return float(np.mean(estimator.predict(X_val) == y_val))

    model = MLPClassifier(
        (8,),
        label_smoothing=0.3,
        early_stopping=True,
        scoring=scorer,
        max_iter=30,
        learning_rate_init=0.01,
        random_state=0,
    ).fit(X, labels)
    assert len(seen) == model.n_iter_
    assert all(list(s) == ["even", "odd"] for s in seen)
    assert max(model.validation_scores_) > 0.8  # accuracy against the true labels


def test_label_smoothing_must_be_below_one(digits):
    X, y = digits
    for bad in (1.0, -0.1):
        with pytest.raises(InvalidParameterError, match="label_smoothing"):
            MLPClassifier(label_smoothing=bad).fit(X, y)


# --- gradient clipping -------------------------------------------------------------------
def test_max_grad_norm_keeps_a_too_fast_sgd_fit_finite():
    X, y = make_regression(n_samples=400, n_features=8, noise=1.0, random_state=0)
    y = y / y.std()
    settings = dict(hidden_layer_sizes=(32,), solver="sgd", learning_rate_init=1.0, max_iter=30)
    with pytest.warns(DivergenceWarning):
        MLPRegressor(**settings, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        clipped = MLPRegressor(**settings, max_grad_norm=1.0, random_state=0).fit(X, y)
    assert clipped.n_iter_ == 30 and np.isfinite(clipped.predict(X)).all()
    steps_per_epoch = math.ceil(len(X) / 200)
    assert all(0 <= c <= steps_per_epoch for c in clipped.history_["clipped"])
    assert sum(clipped.history_["clipped"]) > 0
    assert clipped.score(X, y) > 0.5


def test_without_max_grad_norm_nothing_is_clipped(digits):
    X, y = digits
    model = MLPClassifier((8,), max_iter=3, random_state=0).fit(X, y)
    assert model.history_["clipped"] == [0, 0, 0]


def test_lbfgs_ignores_max_grad_norm(digits):
    X, y = digits
    kwargs = dict(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=20, random_state=0)
    a = MLPClassifier(**kwargs).fit(X, y)
    b = MLPClassifier(**kwargs, max_grad_norm=1e-3).fit(X, y)
    for u, v in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(u, v)


# --- the plateau schedule ----------------------------------------------------------------
def test_plateau_lowers_the_rate_of_adam_and_history_shows_it():
    X, y = load_digits(return_X_y=True)
    model = MLPClassifier(
        (16,),
        learning_rate="plateau",
        learning_rate_init=0.01,
        n_iter_no_change=2,
        tol=1e-2,
        max_iter=40,
        random_state=0,
    ).fit(X / 16, y)
    rates = model.history_["learning_rate"]
    assert rates[0] == pytest.approx(0.01)
    drops = [b / a for a, b in itertools.pairwise(rates) if b < a]
    assert drops and all(d == pytest.approx(1 / 5) for d in drops)


def test_plateau_stops_once_the_rate_is_at_its_floor():
    X, y = load_digits(return_X_y=True)
    model = MLPClassifier(
        (16,),
        learning_rate="plateau",
        learning_rate_init=0.01,
        learning_rate_min=1e-3,
        plateau_factor=10,
        n_iter_no_change=1,
        tol=10.0,
        max_iter=100,
        random_state=0,
    ).fit(X / 16, y)
    # 0.01 -> 0.001 on the first plateau; at the floor the next one stops training
    assert sorted(set(model.history_["learning_rate"])) == pytest.approx([1e-3, 1e-2])
    assert model.n_iter_ < 100


def test_adaptive_keeps_scikit_learns_sgd_only_meaning(digits):
    X, y = digits
    model = MLPClassifier(
        (8,),
        solver="adam",
        learning_rate="adaptive",
        n_iter_no_change=1,
        tol=10.0,
        max_iter=30,
        random_state=0,
    ).fit(X, y)
    assert set(model.history_["learning_rate"]) == {0.001}  # no reduction for adam


# --- early stopping waits for the schedule's peak ---------------------------------------
def _noise(seed=0, n=400):
    rng = np.random.RandomState(seed)
    return rng.normal(size=(n, 5)), rng.randint(0, 2, n)  # nothing to learn


@pytest.mark.parametrize(
    "schedule, peak",
    [
        (dict(learning_rate="one_cycle", peak_fraction=0.3), 30),
        (dict(learning_rate="cyclic", half_cycle_epochs=25), 25),
        (dict(warmup_epochs=20), 20),
        (dict(learning_rate="coslog", max_iter=1000), 27),  # (sqrt(2) - 1) / 15 of max_iter
    ],
)
def test_early_stopping_trains_at_least_until_the_schedules_peak(schedule, peak):
    X, y = _noise()
    settings = dict(early_stopping=True, n_iter_no_change=5, max_iter=100, random_state=0)
    model = MLPClassifier((16,), **{**settings, **schedule}).fit(X, y)
    assert model.n_iter_ >= peak
    # the best epoch is still searched over every epoch, the rising ones included
    assert model.best_epoch_ == 1 + int(np.argmax(model.validation_scores_))


def test_a_constant_schedule_still_stops_as_scikit_learn_does():
    X, y = _noise()
    model = MLPClassifier(
        (16,), early_stopping=True, n_iter_no_change=5, max_iter=100, random_state=0
    ).fit(X, y)
    assert model.n_iter_ < 30


# --- bad settings -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "est_cls, params, name",
    [
        (MLPRegressor, dict(loss="quantile", quantile=0.0), "quantile"),
        (MLPRegressor, dict(loss="quantile", quantile=1.0), "quantile"),
        (MLPRegressor, dict(loss="huber", huber_delta=0.0), "huber_delta"),
        (MLPRegressor, dict(loss="huber", huber_delta=-1.0), "huber_delta"),
        (MLPClassifier, dict(max_grad_norm=0.0), "max_grad_norm"),
        (MLPRegressor, dict(max_grad_norm=-1.0), "max_grad_norm"),
        (MLPClassifier, dict(learning_rate="plateau", plateau_factor=1.0), "plateau_factor"),
        (MLPRegressor, dict(loss="hinge"), "loss"),
    ],
)
def test_bad_settings_name_the_parameter(est_cls, params, name):
    X = np.random.RandomState(0).normal(size=(30, 2))
    y = np.arange(30) % 2
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        est_cls(**params).fit(X, y)


# --- ONNX export -----------------------------------------------------------------------------
@pytest.mark.parametrize("loss", ["absolute_error", "huber", "quantile", "gamma"])
def test_onnx_exports_the_new_regression_losses(loss):
    skl2onnx = pytest.importorskip("skl2onnx")
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("skmlp.onnx")
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 4)).astype(np.float32)
    y = np.exp(0.5 * X[:, 0]) + 0.1
    model = MLPRegressor(
        hidden_layer_sizes=(8,), loss=loss, solver="lbfgs", max_iter=50, random_state=0
    )
    model.fit(X, y)
    onx = skl2onnx.to_onnx(model, X[:1])
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: X})[0].ravel()
    np.testing.assert_allclose(got, model.predict(X), rtol=1e-5, atol=1e-5)


def test_a_nan_score_right_after_the_peak_does_not_block_later_improvements():
    X, y = _noise()
    calls = []

    def rising(estimator, X_val, y_val):  # improves every epoch, NaN at epoch 6
        calls.append(1)
        return math.nan if len(calls) == 6 else float(len(calls))

    model = MLPClassifier(
        (4,),
        early_stopping=True,
        scoring=rising,
        warmup_epochs=5,
        n_iter_no_change=3,
        max_iter=40,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the NaN score's warning
        model.fit(X, y)
    assert model.n_iter_ == 40
