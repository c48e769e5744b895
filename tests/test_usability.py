"""What a user meets first: where warnings point, error messages that name the
argument at fault, the HTML repr, and predict's memory."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmlp import MLPClassifier, MLPRegressor


class _Silent:
    """The smallest scikit-learn callback: hears every hook, does nothing (set
    on the estimator itself, not propagated from a meta-estimator)."""

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None, metadata=None):
        pass

    def on_fit_task_end(self, estimator, context, *, X=None, fitted_estimator=None):
        return False


def _binary(n=60):
    rng = np.random.RandomState(0)
    X = rng.randn(n, 3)
    return X, (X[:, 0] > 0).astype(int)


def _caught(call):
    """The warnings ``call()`` raises, every one recorded."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return caught


@pytest.mark.parametrize("callbacks", [False, True])
@pytest.mark.parametrize(
    "method, pipeline", [("fit", False), ("fit", True), ("partial_fit", False)]
)
def test_warnings_point_at_the_callers_line(method, pipeline, callbacks):
    X, y = _binary()
    # fit: the ConvergenceWarning of max_iter; partial_fit: the clipped batch_size
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, batch_size=500, random_state=0)
    if callbacks:
        pytest.importorskip("sklearn.callback")
        est.set_callbacks(_Silent())
    model = make_pipeline(StandardScaler(), est) if pipeline else est
    kwargs = {"classes": [0, 1]} if method == "partial_fit" else {}
    caught = _caught(lambda: getattr(model, method)(X, y, **kwargs))
    expected = (ConvergenceWarning, UserWarning) if method == "fit" else (UserWarning,)
    ours = [w for w in caught if issubclass(w.category, expected)]
    assert ours, [str(w.message) for w in caught]
    assert all(w.filename == __file__ for w in ours), [(w.filename, w.lineno) for w in ours]


def test_warnings_can_be_filtered_by_the_callers_module():
    X, y = _binary()
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=ConvergenceWarning, module=__name__)
        est.fit(X, y)
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
