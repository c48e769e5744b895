"""Searches on a real Dask cluster give exactly the scores of a serial search.

The fits run in two worker processes of a ``LocalCluster`` on 127.0.0.1,
reached through joblib's ``"dask"`` backend. A fixed ``random_state`` makes
every fit deterministic, so the cross-validated scores must match the serial
(``n_jobs=1``) run bit for bit, in the same order.
"""

import threading

import joblib
import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmlp import MLPClassifier

distributed = pytest.importorskip("distributed")

# max_iter is small on purpose. scikit-learn copies the caller's warning
# filters into each worker, so without this mark pytest's "error" filter would
# turn the warning into a failed fit on the workers as well.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TIMEOUT = 60  # seconds for one search; a hung cluster fails the test, not the run


@pytest.fixture
def client(dask_client):
    return dask_client  # the session's LocalCluster (tests/conftest.py)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600], y[:600]


def _pipeline():
    return make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(16,), max_iter=15, random_state=0),
    )


def _fit_bounded(search, X, y, backend=None):
    """Fit ``search`` in a daemon thread (under ``backend``) and wait at most TIMEOUT s."""
    outcome = {}

    def target():
        try:
            if backend is None:
                search.fit(X, y)
            else:
                with joblib.parallel_backend(backend):
                    search.fit(X, y)
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(TIMEOUT)
    if thread.is_alive():
        pytest.fail(f"{type(search).__name__}.fit did not finish within {TIMEOUT} s")
    if "error" in outcome:
        raise outcome["error"]
    return search


def _assert_same_scores(serial, on_dask):
    assert on_dask.cv_results_["params"] == serial.cv_results_["params"]
    keys = [k for k in serial.cv_results_ if k.endswith("test_score") and k != "rank_test_score"]
    assert "mean_test_score" in keys and "split2_test_score" in keys
    for key in keys:
        np.testing.assert_array_equal(on_dask.cv_results_[key], serial.cv_results_[key], key)
    np.testing.assert_array_equal(
        on_dask.cv_results_["rank_test_score"], serial.cv_results_["rank_test_score"]
    )
    assert on_dask.best_params_ == serial.best_params_


def test_grid_search_on_dask_matches_serial(client, digits):
    grid = {
        "mlpclassifier__learning_rate_init": [1e-3, 1e-2],
        "mlpclassifier__alpha": [1e-4, 1e-1],
    }

    def search(n_jobs):
        return GridSearchCV(_pipeline(), grid, cv=3, n_jobs=n_jobs, error_score="raise")

    serial = _fit_bounded(search(1), *digits)
    with distributed.get_task_stream(client) as stream:
        on_dask = _fit_bounded(search(-1), *digits, backend="dask")
    assert stream.data, "no task ran on the cluster"
    _assert_same_scores(serial, on_dask)


def test_randomized_search_on_dask_matches_serial(client, digits):
    distributions = {
        "mlpclassifier__learning_rate_init": loguniform(1e-4, 1e-1),
        "mlpclassifier__alpha": loguniform(1e-5, 1e0),
    }

    def search(n_jobs):
        return RandomizedSearchCV(
            _pipeline(),
            distributions,
            n_iter=4,
            cv=3,
            random_state=0,
            n_jobs=n_jobs,
            error_score="raise",
        )

    serial = _fit_bounded(search(1), *digits)
    with distributed.get_task_stream(client) as stream:
        on_dask = _fit_bounded(search(-1), *digits, backend="dask")
    assert stream.data, "no task ran on the cluster"
    _assert_same_scores(serial, on_dask)
