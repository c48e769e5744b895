"""skmlp: scikit-learn compatible multi-layer perceptrons on a fast numpy engine."""

from .compiled import show_versions
from .estimators import DivergenceWarning, MLPClassifier, MLPRegressor
from .lr_finder import LRRangeTestResult
from .tabular import TabularMLPClassifier, TabularMLPRegressor
from .tuning import learning_rate_schedule, lr_range_test

__all__ = [
    "DivergenceWarning",
    "LRRangeTestResult",
    "MLPClassifier",
    "MLPRegressor",
    "TabularMLPClassifier",
    "TabularMLPRegressor",
    "learning_rate_schedule",
    "lr_range_test",
    "show_versions",
]
__version__ = "0.1.0"
