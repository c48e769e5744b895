"""Swap the import: the same pipeline and grid with scikit-learn's MLP and skmlp's.

Runs one GridSearchCV over ``learning_rate_init`` x ``alpha`` on the digits
data twice, once with ``sklearn.neural_network.MLPClassifier`` and once with
``skmlp.MLPClassifier``, unchanged otherwise, and prints both best scores and
wall times. Pass ``--quick`` for a smaller run (used by the test suite).
"""

import sys
import time
import warnings

from sklearn import neural_network
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skmlp


def search(module, X, y, max_iter):
    pipe = make_pipeline(
        StandardScaler(),
        module.MLPClassifier(hidden_layer_sizes=(64,), max_iter=max_iter, random_state=0),
    )
    grid = {
        "mlpclassifier__learning_rate_init": [1e-3, 1e-2],
        "mlpclassifier__alpha": [1e-4, 1e-1],
    }
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    return result, time.perf_counter() - start


def main(quick: bool = False) -> None:
    X, y = load_digits(return_X_y=True)
    max_iter = 20 if quick else 200
    for name, module in [("sklearn", neural_network), ("skmlp", skmlp)]:
        result, seconds = search(module, X, y, max_iter)
        print(
            f"{name:8s} best CV accuracy {result.best_score_:.4f} "
            f"with {result.best_params_} in {seconds:.1f} s"
        )


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
