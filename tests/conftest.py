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
