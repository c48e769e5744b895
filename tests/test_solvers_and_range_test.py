"""New solvers against adam, and the learning-rate range test against a grid."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmlp import MLPClassifier, lr_range_test

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# each solver's documented setting (docs/optimization.md): the estimator
# defaults, except adagrad, whose shrinking steps want a 10x larger rate
DOCUMENTED = {
    "adamw": {},
    "rmsprop": {},
    "nadam": {},
    "adagrad": {"learning_rate_init": 0.01},
}


@pytest.fixture(scope="module")
def digits():
    return load_digits(return_X_y=True)


def _cv(X, y, **params):
    est = make_pipeline(StandardScaler(), MLPClassifier(random_state=0, **params))
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    return cross_val_score(est, X, y, cv=cv).mean()


@pytest.fixture(scope="module")
def adam_score(digits):
    return _cv(*digits, solver="adam")


@pytest.mark.parametrize("solver", list(DOCUMENTED))
def test_new_solver_within_two_points_of_adam(digits, adam_score, solver):
    score = _cv(*digits, solver=solver, **DOCUMENTED[solver])
    print(f"{solver}: {score:.4f}  adam: {adam_score:.4f}")
    assert score >= adam_score - 0.02


def test_range_test_suggestion_trains_as_well_as_the_best_of_six_rates(digits):
    X, y = digits
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    params = dict(hidden_layer_sizes=(64,), max_iter=60, random_state=0)

    def held_out(rate):
        est = MLPClassifier(learning_rate_init=rate, **params).fit(X_train, y_train)
        return est.score(X_test, y_test)

    result = lr_range_test(MLPClassifier(**params), X_train, y_train)
    grid = {rate: held_out(rate) for rate in np.logspace(-4, -1, 6)}
    suggested = held_out(result.suggestion)
    print(f"suggestion {result.suggestion:.3g}: {suggested:.4f}; grid {grid}")
    assert suggested >= max(grid.values()) - 0.02


def test_range_test_shape_and_stop_rule(digits):
    X, y = digits
    est = MLPClassifier(random_state=0)
    result = lr_range_test(est, X / 16, y, num_iter=80)
    lrs, smooth = result.learning_rates, result.smoothed_losses
    assert len(lrs) == len(result.losses) == len(smooth) <= 80
    ratios = lrs[1:] / lrs[:-1]
    np.testing.assert_allclose(ratios, (10.0 / 1e-7) ** (1 / 79))
    # it stopped early only because the smoothed loss blew up (or went non-finite)
    if len(lrs) < 80:
        assert smooth[-1] > 4 * smooth.min() or not np.isfinite(result.losses[-1])
    # debiased moving average of the raw losses
    avg, expected = 0.0, []
    for i, loss in enumerate(result.losses):
        avg = 0.98 * avg + 0.02 * loss
        expected.append(avg / (1 - 0.98 ** (i + 1)))
    np.testing.assert_allclose(smooth, expected)
    assert set(result.suggestions) == {"valley", "steep", "minimum"}
    assert lrs.min() <= result.suggestion <= lrs.max()
    assert not hasattr(est, "coefs_"), "the estimator passed in must not be fitted"


def test_range_test_cycles_through_small_data():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(30, 4)), rng.randint(0, 2, 30)
    result = lr_range_test(
        MLPClassifier(batch_size=10, random_state=0), X, y, num_iter=50, end_lr=1e-2
    )
    assert len(result.learning_rates) == 50  # 3 batches per pass, cycled


def test_learning_rate_init_auto_runs_the_range_test(digits):
    X, y = digits
    X = StandardScaler().fit_transform(X)
    est = MLPClassifier(learning_rate_init="auto", max_iter=30, random_state=0).fit(X, y)
    expected = lr_range_test(MLPClassifier(max_iter=30, random_state=0), X, y).suggestion
    assert 1e-7 < est.learning_rate_init_ < 10
    assert est.score(X, y) > 0.95
    # the same procedure (a different shuffle stream) suggests a similar rate
    assert abs(np.log10(est.learning_rate_init_) - np.log10(expected)) < 1.0


def test_range_test_plot(digits, tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    X, y = digits
    result = lr_range_test(MLPClassifier(random_state=0), X / 16, y, num_iter=40)
    ax = result.plot()
    assert ax.get_xscale() == "log"
    ax.figure.savefig(tmp_path / "range.png")
    assert (tmp_path / "range.png").stat().st_size > 0


def test_range_test_rejects_lbfgs_and_bad_bounds(digits):
    X, y = digits
    with pytest.raises(ValueError, match="stochastic"):
        lr_range_test(MLPClassifier(solver="lbfgs"), X, y)
    with pytest.raises(ValueError, match="start_lr"):
        lr_range_test(MLPClassifier(), X, y, start_lr=1.0, end_lr=0.1)


def test_range_test_on_a_pipeline_says_what_to_pass(digits):
    X, y = digits
    with pytest.raises(TypeError, match="Pipeline"):
        lr_range_test(make_pipeline(StandardScaler(), MLPClassifier()), X, y)
