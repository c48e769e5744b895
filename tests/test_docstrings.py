"""Every public parameter and fitted attribute is documented in the docstring."""

import inspect

import pytest

import skmlp
from skmlp import MLPClassifier, MLPRegressor


@pytest.mark.parametrize("est_cls", [MLPClassifier, MLPRegressor])
def test_every_parameter_is_documented(est_cls):
    doc = est_cls.__doc__
    for name in inspect.signature(est_cls).parameters:
        assert f"\n    {name} : " in doc, f"{est_cls.__name__} does not document {name}"
    assert "{{" not in doc and "}}" not in doc


@pytest.mark.parametrize("est_cls", [MLPClassifier, MLPRegressor])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_every_fitted_attribute_is_documented(est_cls):
    import numpy as np

    X = np.random.RandomState(0).normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    est = est_cls(hidden_layer_sizes=(4,), max_iter=2000, random_state=0).fit(X, y)
    public = [a for a in vars(est) if a.endswith("_") and not a.startswith("_")]
    for attr in public:
        assert f"\n    {attr} : " in est_cls.__doc__, f"{attr} is not documented"


def test_public_functions_have_numpydoc_sections():
    for name in skmlp.__all__:
        obj = getattr(skmlp, name)
        doc = inspect.getdoc(obj)
        assert doc, f"{name} has no docstring"
        if inspect.isfunction(obj):
            assert "Parameters\n----------" in doc and "Returns\n-------" in doc, name
