"""Each hyperparameter is declared once, in ``skmlp/_params.py``.

The estimators keep explicit ``__init__`` signatures (scikit-learn and IDEs
read them); these tests hold the signatures, ``_parameter_constraints`` and
the rendered Parameters sections to the declarations, so a hyperparameter
added in one place but not the other fails here.
"""

import ast
import inspect
import math

import pytest
from numpydoc.docscrape import ClassDoc

from skmlp import MLPClassifier, MLPRegressor, TabularMLPClassifier, TabularMLPRegressor, _params

DECLARED = [
    (MLPClassifier, _params.CLASSIFIER),
    (MLPRegressor, _params.REGRESSOR),
    (TabularMLPClassifier, _params.TABULAR_CLASSIFIER),
    (TabularMLPRegressor, _params.TABULAR_REGRESSOR),
]


@pytest.mark.parametrize("est_cls, declared", DECLARED)
def test_init_signature_has_the_declared_names_and_defaults(est_cls, declared):
    signature = inspect.signature(est_cls).parameters
    assert list(signature) == [p.name for p in declared]
    for p in declared:
        default = signature[p.name].default
        assert type(default) is type(p.default) and default == p.default, p.name


@pytest.mark.parametrize("est_cls, declared", DECLARED)
def test_init_stores_every_declared_parameter(est_cls, declared):
    values = {p.name: object() for p in declared}
    est = est_cls(**values)
    assert all(getattr(est, name) is value for name, value in values.items())


@pytest.mark.parametrize("est_cls, declared", DECLARED)
def test_constraints_are_the_declared_ones(est_cls, declared):
    constraints = est_cls._parameter_constraints
    assert list(constraints) == [p.name for p in declared]
    for p in declared:
        assert constraints[p.name] == list(p.constraints), p.name


@pytest.mark.parametrize("est_cls, declared", DECLARED)
def test_docstring_documents_the_declared_parameters_and_defaults(est_cls, declared):
    documented = ClassDoc(est_cls, config={"show_class_members": False})["Parameters"]
    assert [entry.name for entry in documented] == [p.name for p in declared]
    for entry, p in zip(documented, declared):
        kind, _, shown = entry.type.rpartition(", default=")
        assert kind == p.kind, p.name
        assert (math.inf if shown == "inf" else ast.literal_eval(shown)) == p.default, p.name
        assert entry.desc, f"{p.name} has no description"


@pytest.mark.parametrize("est_cls, declared", DECLARED)
def test_every_declared_default_satisfies_its_constraints(est_cls, declared):
    est_cls(**{p.name: p.default for p in declared})._validate_params()


def test_shared_parameters_are_declared_once():
    names = [p.name for declared in (_params.CLASSIFIER, _params.REGRESSOR) for p in declared]
    shared = {p.name for p in _params.SHARED}
    assert all(names.count(name) == 2 for name in shared)
    assert all(names.count(name) == 1 for name in set(names) - shared)
