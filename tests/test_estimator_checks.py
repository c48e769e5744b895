"""scikit-learn's estimator checks, for both estimators and every solver."""

import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from skmlp import MLPClassifier, MLPRegressor
from skmlp.optimizers import OPTIMIZERS


def _instances():
    for solver in ["lbfgs", *OPTIMIZERS]:
        yield MLPClassifier(solver=solver, max_iter=100, random_state=0)
        yield MLPRegressor(solver=solver, max_iter=100, random_state=0)
    for est in (MLPClassifier, MLPRegressor):
        yield est(learning_rate="one_cycle", max_iter=100, random_state=0)
        yield est(learning_rate="plateau", max_iter=100, random_state=0)
        yield est(max_grad_norm=1.0, max_iter=100, random_state=0)
    yield MLPClassifier(label_smoothing=0.1, max_iter=100, random_state=0)
    # gamma declares positive targets, so the checks draw y > 0 for it
    for loss in ("huber", "quantile", "absolute_error", "gamma"):
        yield MLPRegressor(loss=loss, max_iter=100, random_state=0)


@pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)
@parametrize_with_checks(list(_instances()))
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
