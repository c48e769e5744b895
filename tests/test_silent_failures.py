"""Fits that used to end silently wrong: each now warns, refuses or keeps the
right state (issue 18's "silent wrong results")."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_regression
from sklearn.preprocessing import StandardScaler

from skmlp import DivergenceWarning, MLPClassifier, MLPRegressor
from skmlp.trainer import LOSS_RISE_FACTOR

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _poisson_at_scale_100():
    rng = np.random.RandomState(0)
    return rng.randn(200, 5) * 100, rng.poisson(2, 200).astype(float)


def test_lbfgs_that_stops_right_after_a_non_finite_loss_warns():
    """scipy ends this run just after an overflowing evaluation and calls it
    converged; the fit says it diverged, and keeps the best finite weights."""
    X, y = _poisson_at_scale_100()
    est = MLPRegressor(hidden_layer_sizes=(10,), loss="poisson", solver="lbfgs", random_state=0)
    with pytest.warns(DivergenceWarning, match="L-BFGS stopped right after a non-finite loss"):
        est.fit(X, y)
    assert np.isfinite(est.predict(X)).all()


def test_lbfgs_on_scaled_data_gives_no_divergence_warning(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)
        MLPClassifier((8,), solver="lbfgs", max_iter=300, random_state=0).fit(X, y)


@pytest.mark.parametrize("solver", ["adam", "rmsprop", "adagrad", "nadam"])
def test_an_optimizer_state_that_overflows_is_rolled_back_with_a_warning(solver):
    """One row of huge values overflows the squared gradients (Adam's v
    becomes inf) while the weights and the loss stay finite; such a state
    would never move those weights again, so the fit rolls back."""
    X, y = load_digits(return_X_y=True)
    X = X / 16
    X[0] = 1e160
    est = MLPClassifier((32,), solver=solver, max_iter=5, random_state=0)
    with pytest.warns(DivergenceWarning, match="optimizer's state became non-finite"):
        est.fit(X, y)
    for value in est._train_state["optimizer"].values():
        assert np.isfinite(value).all()


def test_a_loss_that_explodes_but_stays_finite_warns():
    """sgd at rate 1 with momentum on inputs scaled x20: in 8 epochs the loss
    climbs from ~1e16 to ~1e199, every epoch's weights finite."""
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X) * 20
    est = MLPClassifier(
        solver="sgd", learning_rate_init=1.0, momentum=0.9, max_iter=8, random_state=0
    )
    with pytest.warns(DivergenceWarning, match="training loss rose from"):
        est.fit(X, y)
    assert est.loss_ > LOSS_RISE_FACTOR * est.loss_curve_[0]


def test_a_sound_fit_gives_no_loss_rise_warning(digits):
    X, y = digits
    for solver in ["sgd", "adam"]:
        with warnings.catch_warnings():
            warnings.simplefilter("error", DivergenceWarning)
            MLPClassifier((16,), solver=solver, max_iter=30, random_state=0).fit(X, y)


@pytest.mark.parametrize(
    "make, first, second",
    [
        (MLPRegressor, dict(loss="quantile", quantile=0.9), dict(quantile=0.1)),
        (MLPRegressor, dict(loss="huber", huber_delta=0.05), dict(huber_delta=5.0)),
        (MLPRegressor, dict(alpha=1e-5), dict(alpha=1.0)),
        (MLPClassifier, dict(), dict(label_smoothing=0.5)),
        (MLPClassifier, dict(), dict(class_weight={0: 10.0})),
    ],
)
def test_a_warm_start_under_another_objective_forgets_the_old_best_loss(make, first, second):
    """The stopping memory (best loss, patience) described the old objective:
    under the new one it starts afresh, so the fit is not stopped at once."""
    if make is MLPRegressor:
        X, y = make_regression(n_samples=300, n_features=5, noise=20.0, random_state=0)
        y = y / y.std()
    else:
        X, y = load_digits(return_X_y=True)
        X, y = StandardScaler().fit_transform(X[:400]), y[:400]
    settings = dict(
        hidden_layer_sizes=(16,), max_iter=300, tol=1e-3, random_state=0, warm_start=True
    )
    est = make(**settings, **first).fit(X, y)
    assert est.n_iter_ < 300  # converged: the patience ran out
    n_before = len(est.loss_curve_)
    est.set_params(**second).fit(X, y)
    new_losses = est.loss_curve_[n_before:]
    assert est.best_loss_ == min(new_losses)
    assert est.n_iter_ > est.n_iter_no_change  # a full patience under the new objective


def _loaded(est):
    return pickle.loads(pickle.dumps(est))


def _fitted(make=MLPClassifier, **params):
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X[:200])
    if make is MLPRegressor:
        y = y[:200].astype(float)
    else:
        y = y[:200]
    return make(hidden_layer_sizes=(6,), max_iter=3, random_state=0, **params).fit(X, y[:200])


def _tamper_optimizer(key, value):
    def tamper(est):
        est._train_state["optimizer"][key] = value(est._train_state["optimizer"][key])

    return tamper


def _set(attribute, value):
    return lambda est: setattr(est, attribute, value(getattr(est, attribute)))


@pytest.mark.parametrize(
    "tamper, named",
    [
        (_set("intercepts_", lambda b: [b[0].astype(np.int64), *b[1:]]), r"intercepts_\[0\]"),
        (_set("intercepts_", lambda b: [b[0].astype(complex), *b[1:]]), r"intercepts_\[0\]"),
        (_set("coefs_", lambda W: [W[0].astype(np.float16), *W[1:]]), r"coefs_\[0\]"),
        (_set("coefs_", lambda W: [W[0], W[1].astype(np.float32)]), r"coefs_\[1\]"),
        (_tamper_optimizer("v", lambda v: np.where(np.arange(v.size) == 0, np.inf, v)), "'v'"),
        (_tamper_optimizer("v", lambda v: -1.0 - v), "negative moments"),
        (_tamper_optimizer("m", lambda m: m.astype(np.float32)), "'m'"),
        (_tamper_optimizer("t", lambda t: t + 0.5), "'t'"),
    ],
)
def test_a_loaded_state_that_would_break_later_is_refused_by_name(tamper, named):
    est = _fitted()
    tamper(est)
    with pytest.raises(ValueError, match=f"The loaded MLPClassifier state: .*{named}"):
        _loaded(est)


def test_a_loaded_plateau_scale_of_zero_is_refused():
    est = _fitted()
    est._train_state["rate_scale"] = 0.0  # the plateau rule's reductions
    with pytest.raises(ValueError, match="rate_scale"):
        _loaded(est)


def test_a_loaded_output_activation_must_match_the_loss():
    est = _fitted(MLPRegressor)
    est.out_activation_ = "exp"  # a Poisson model's link, with loss='squared_error'
    with pytest.raises(ValueError, match="out_activation_ is 'exp' but loss='squared_error'"):
        _loaded(est)


@pytest.mark.parametrize("make", [MLPClassifier, MLPRegressor])
def test_sound_saved_models_still_load(make):
    est = _fitted(make, warm_start=True)
    loaded = _loaded(est)
    for a, b in zip(loaded.coefs_, est.coefs_):
        np.testing.assert_array_equal(a, b)
