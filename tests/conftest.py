"""Fixtures shared by the test modules.

Plain helper functions live in ``_helpers.py`` beside this file; pytest's
``--import-mode=importlib`` (pyproject.toml) does not put this directory on
``sys.path``, so it is added here for ``from _helpers import ...``.
"""

import sys
from pathlib import Path

import pytest
from sklearn.datasets import load_digits, make_regression
from sklearn.preprocessing import StandardScaler

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


@pytest.fixture(scope="session")
def digits():
    """600 standardized digits: a small multiclass problem every solver fits."""
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X[:600]), y[:600]


@pytest.fixture(scope="session")
def regression():
    """A two-output regression with unit-scale targets."""
    X, y = make_regression(n_samples=200, n_features=6, n_targets=2, random_state=0)
    return X, y / y.std()


@pytest.fixture(scope="session")
def dask_client():
    """A client of a real two-process Dask LocalCluster on 127.0.0.1, closed
    (with its workers and scheduler) at the end, even when a test fails."""
    distributed = pytest.importorskip("distributed")  # the dask extra
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster, timeout="30s") as client,
    ):
        client.wait_for_workers(2, timeout=30)
        yield client
