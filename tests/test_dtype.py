"""The ``dtype`` parameter: float32 training, its choice under 'auto', its accuracy."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmlp import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_float32_training_matches_float64_accuracy_on_digits(solver):
    X, y = load_digits(return_X_y=True)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    scores = {}
    for dtype in ("float32", "float64"):
        est = MLPClassifier(solver=solver, dtype=dtype, random_state=0)
        scores[dtype] = cross_val_score(make_pipeline(StandardScaler(), est), X, y, cv=cv).mean()
    print(scores)
    assert abs(scores["float32"] - scores["float64"]) <= 0.01


def _fit_dtype(n_samples, X_dtype=np.float64, **params):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n_samples, 3)).astype(X_dtype)
    y = (X[:, 0] > 0).astype(int)
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=1, random_state=0, **params)
    clf.fit(X, y)
    return clf, X


def test_auto_dtype_rules():
    assert _fit_dtype(500)[0].coefs_[0].dtype == np.float64
    assert _fit_dtype(500, np.float32)[0].coefs_[0].dtype == np.float32
    assert _fit_dtype(12_000)[0].coefs_[0].dtype == np.float32
    assert _fit_dtype(12_000, solver="lbfgs")[0].coefs_[0].dtype == np.float64
    assert _fit_dtype(500, dtype="float32")[0].coefs_[0].dtype == np.float32
    assert _fit_dtype(12_000, dtype="float64")[0].coefs_[0].dtype == np.float64


def test_predictions_come_back_in_the_dtype_of_X():
    clf, X = _fit_dtype(500, dtype="float32")
    assert clf.predict_proba(X).dtype == np.float64
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(
        clf.predict_proba(X), clf.predict_proba(X.astype(np.float32)), rtol=1e-6
    )


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_float32_sample_weight_equivalence_at_float32_precision(solver):
    """scikit-learn's check at float64 precision (rtol 1e-7) cannot hold for
    float32 arithmetic; the property itself holds at float32 precision."""
    rng = np.random.RandomState(42)
    X = rng.rand(15, 30)
    y = rng.rand(15)
    sw = rng.randint(0, 5, size=15)
    kw = dict(solver=solver, dtype="float32", max_iter=100, random_state=0)
    repeated = MLPRegressor(**kw).fit(X.repeat(sw, axis=0), y.repeat(sw))
    weighted = MLPRegressor(**kw).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(repeated.predict(X), weighted.predict(X), rtol=1e-4, atol=1e-5)
