"""Bad inputs, weights and settings: a clear error naming the culprit, never a
silent no-op or an error from deep inside numpy."""

import math
import time
import warnings

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from skmlp import MLPClassifier, MLPRegressor, learning_rate_schedule, lr_range_test

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _problem(n=60, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4))
    return X, (X[:, 0] > 0).astype(int), np.abs(X[:, 1]) + 0.5


# --- sample weights ---------------------------------------------------------------
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("est_cls", [MLPClassifier, MLPRegressor])
def test_a_negative_sample_weight_is_an_error_naming_sample_weight(solver, est_cls):
    X, y, target = _problem()
    sw = np.ones(len(X))
    sw[3] = -1000.0
    est = est_cls(hidden_layer_sizes=(4,), solver=solver, max_iter=5)
    with pytest.raises(ValueError, match="sample_weight"):
        est.fit(X, y if est_cls is MLPClassifier else target, sample_weight=sw)
    assert not hasattr(est, "coefs_")


def test_all_zero_sample_weights_are_an_error():
    X, y, _ = _problem()
    with pytest.raises(ValueError, match=r"[Ss]ample weights"):
        MLPClassifier((4,), max_iter=5).fit(X, y, sample_weight=np.zeros(len(X)))


# --- class weights ----------------------------------------------------------------
@pytest.mark.parametrize(
    "class_weight, match",
    [
        ({0: math.nan}, r"class_weight\[0\] is nan"),
        ({0: math.inf}, r"class_weight\[0\] is inf"),
        ({0: -1.0}, r"class_weight\[0\] is -1.0"),
        ({0: None}, r"class_weight\[0\] is None"),
        ({0: "heavy"}, r"class_weight\[0\] is 'heavy'"),
        ({0: 0.0, 1: 0.0}, "class_weight=.*every sample of y weight 0"),
        ({0: 1.0, 7: 2.0}, "class_weight has the key 7, which is not a class"),
    ],
)
def test_bad_class_weight_values_are_errors_naming_class_weight(class_weight, match):
    X, y, _ = _problem()
    est = MLPClassifier((4,), max_iter=5, class_weight=class_weight)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)
    assert not hasattr(est, "coefs_")


def test_class_weight_zero_on_one_class_still_trains():
    X, y, _ = _problem()
    est = MLPClassifier((4,), max_iter=5, random_state=0, class_weight={0: 0.0}).fit(X, y)
    assert np.isfinite(est.loss_)


# --- regression targets ------------------------------------------------------------
@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_numeric_strings_as_targets_are_converted(loss):
    X, _, target = _problem()
    as_text = [f"{v:.6f}" for v in target]
    text_fit = MLPRegressor(hidden_layer_sizes=(4,), loss=loss, max_iter=5, random_state=0).fit(
        X, as_text
    )
    number_fit = MLPRegressor(hidden_layer_sizes=(4,), loss=loss, max_iter=5, random_state=0).fit(
        X, np.array(as_text, dtype=float)
    )
    np.testing.assert_array_equal(text_fit.predict(X), number_fit.predict(X))


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_targets_that_are_not_numbers_are_an_error_naming_y(loss):
    X, _, _ = _problem()
    y = ["heavy", "light"] * (len(X) // 2)
    with pytest.raises(ValueError, match="y must hold numbers"):
        MLPRegressor(hidden_layer_sizes=(4,), loss=loss, max_iter=5).fit(X, y)


def test_labels_of_mixed_types_are_an_error_naming_y():
    X, _, _ = _problem()
    y = np.array(["a", 1] * (len(X) // 2), dtype=object)
    with pytest.raises(ValueError, match="y mixes labels"):
        MLPClassifier((4,), max_iter=5).fit(X, y)


# --- scoring -----------------------------------------------------------------------
def test_a_scorer_that_returns_no_number_is_a_type_error_naming_scoring():
    X, y, _ = _problem()
    est = MLPClassifier((4,), max_iter=5, early_stopping=True, scoring=lambda est, X, y: "good")
    with pytest.raises(TypeError, match=r"'scoring'.*returned 'good' \(str\)"):
        est.fit(X, y)
    assert not hasattr(est, "coefs_")


def test_a_nan_score_warns_once_and_counts_as_no_improvement():
    X, y, _ = _problem(200)
    calls = []

    def scorer(est, X_val, y_val):
        calls.append(1)
        return math.nan

    est = MLPClassifier(
        (4,), max_iter=30, n_iter_no_change=3, early_stopping=True, scoring=scorer, random_state=0
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    nan_warnings = [w for w in caught if "NaN" in str(w.message)]
    assert len(nan_warnings) == 1 and "scoring" in str(nan_warnings[0].message)
    # no epoch improved: the rule stops after n_iter_no_change + 1 epochs
    assert est.n_iter_ == len(calls) == 4
    assert est.best_epoch_ == 4 and isinstance(est.best_epoch_, int)


def test_best_epoch_is_an_int_after_every_early_stopping_fit():
    X, y, _ = _problem(200)
    est = MLPClassifier((4,), max_iter=5, early_stopping=True, random_state=0).fit(X, y)
    assert isinstance(est.best_epoch_, int) and 1 <= est.best_epoch_ <= 5


# --- schedules -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "params, parameter, epoch",
    [
        (dict(solver="sgd", learning_rate="invscaling", power_t=1e6), "power_t", 2),
        (dict(learning_rate="step", decay_epochs=1e-300), "decay_rate", 2),
        (dict(learning_rate="step", decay_rate=1e-300), "decay_rate", 11),
        (dict(learning_rate="exponential", decay_rate=1e-300), "decay_rate", 2),
        (dict(learning_rate="exponential", decay_epochs=1e-300), "decay_rate", 2),
    ],
)
def test_settings_that_make_the_rate_vanish_are_refused(params, parameter, epoch):
    X, y, _ = _problem()
    est = MLPClassifier((4,), max_iter=50, **params)
    expected = f"'{parameter}'.*below 1e-12 at epoch {epoch} of"
    with pytest.raises(InvalidParameterError, match=expected):
        est.fit(X, y)
    with pytest.raises(InvalidParameterError, match=parameter):
        learning_rate_schedule(est, len(X))


def test_a_slow_decay_that_vanishes_late_names_the_epoch():
    # 0.001 * 0.5 ** k < 1e-12 first for k = 30, i.e. at epoch 31
    est = MLPClassifier((4,), learning_rate="step", decay_rate=0.5, decay_epochs=1, max_iter=40)
    with pytest.raises(InvalidParameterError, match="at epoch 31 of max_iter=40"):
        learning_rate_schedule(est, 100)
    rates = learning_rate_schedule(est.set_params(max_iter=30), 100)
    assert rates.min() >= 1e-12


def test_invscaling_never_raises_an_arithmetic_error():
    est = MLPClassifier(solver="sgd", learning_rate="invscaling", power_t=1e6, max_iter=1)
    rates = learning_rate_schedule(est, 100)  # one epoch: t = 0 throughout
    assert np.all(rates == 0.001)


def test_tiny_restart_periods_are_computed_in_closed_form():
    est = MLPClassifier(
        learning_rate="cosine_restarts", restart_epochs=1e-300, restart_mult=1, max_iter=50
    )
    started = time.perf_counter()
    rates = learning_rate_schedule(est, 1000)
    assert time.perf_counter() - started < 5  # a walk over 1e300 periods never ends
    assert np.isfinite(rates).all() and rates.max() <= 0.001


# --- lr_range_test arguments -------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        (dict(beta=1.0), "beta"),
        (dict(beta=-1.0), "beta"),
        (dict(beta=0.0), "beta"),
        (dict(end_lr=math.inf), "end_lr"),
        (dict(start_lr=0.0), "start_lr"),
        (dict(start_lr=1.0, end_lr=0.5), "end_lr"),
        (dict(diverge=0), "diverge"),
        (dict(diverge=1.0), "diverge"),
        (dict(num_iter=1), "num_iter"),
        (dict(num_iter=2.5), "num_iter"),
    ],
)
def test_lr_range_test_validates_its_arguments(kwargs, parameter):
    X, y, _ = _problem()
    with pytest.raises(InvalidParameterError, match=f"'{parameter}' parameter of lr_range_test"):
        lr_range_test(MLPClassifier((4,)), X, y, **kwargs)


# --- warm start and partial_fit keep the settings they were trained with ------------
@pytest.mark.parametrize(
    "est_cls, change, name",
    [
        (MLPRegressor, dict(loss="poisson"), "loss"),
        (MLPClassifier, dict(activation="tanh"), "activation"),
        (MLPClassifier, dict(dtype="float32"), "dtype"),
        (MLPClassifier, dict(solver="lbfgs"), "solver"),
        (MLPRegressor, dict(solver="lbfgs"), "solver"),
    ],
)
def test_warm_start_refuses_a_changed_setting(est_cls, change, name):
    X, y, target = _problem()
    y = y if est_cls is MLPClassifier else target
    est = est_cls(hidden_layer_sizes=(4,), max_iter=5, warm_start=True, random_state=0)
    est.fit(X, y)
    before = [c.copy() for c in est.coefs_]
    est.set_params(**change)
    with pytest.raises(ValueError, match=f"{name} is now .*warm_start=False"):
        est.fit(X, y)
    for a, b in zip(before, est.coefs_):
        np.testing.assert_array_equal(a, b)
    est.set_params(warm_start=False).fit(X, y)  # fitting anew is fine


def test_lbfgs_warm_start_refuses_a_stochastic_solver():
    X, y, _ = _problem()
    est = MLPClassifier((4,), solver="lbfgs", max_iter=5, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="a lbfgs solver but solver is now 'adam'"):
        est.set_params(solver="adam").fit(X, y)


def test_partial_fit_refuses_a_changed_activation():
    X, y, _ = _problem()
    est = MLPClassifier((4,)).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="activation is now 'tanh'"):
        est.set_params(activation="tanh").partial_fit(X, y)


def test_another_stochastic_solver_may_continue():
    X, y, _ = _problem()
    est = MLPClassifier((4,), max_iter=5, warm_start=True, random_state=0).fit(X, y)
    est.set_params(solver="sgd").fit(X, y)
    assert est.n_iter_ == 5
