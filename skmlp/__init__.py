"""skmlp: scikit-learn compatible multi-layer perceptrons on a fast numpy engine."""

from .estimators import DivergenceWarning, MLPClassifier, MLPRegressor

__all__ = ["DivergenceWarning", "MLPClassifier", "MLPRegressor"]
__version__ = "0.1.0"
