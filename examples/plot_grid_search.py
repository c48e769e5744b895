"""Grid-search a Pipeline over learning_rate_init x alpha and plot the scores.

A ``Pipeline(StandardScaler, skmlp.MLPClassifier)`` on the digits data,
``GridSearchCV`` over ``learning_rate_init`` x ``alpha`` with 3-fold
cross-validation; the mean CV accuracy of every pair is drawn as a heat map
(grid_search.png). ``--quick`` uses a smaller grid and fewer epochs.
"""

import sys
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skmlp import MLPClassifier


def main(quick: bool = False) -> None:
    X, y = load_digits(return_X_y=True)
    rates = [1e-3, 1e-2, 1e-1] if quick else [1e-4, 1e-3, 1e-2, 1e-1]
    alphas = [1e-4, 1e-1, 10.0] if quick else [1e-5, 1e-3, 1e-1, 1.0, 10.0]
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("mlp", MLPClassifier((64,), max_iter=20 if quick else 200, random_state=0)),
        ]
    )
    grid = {"mlp__learning_rate_init": rates, "mlp__alpha": alphas}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X, y)

    scores = np.empty((len(alphas), len(rates)))
    for params, score in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"]):
        i = alphas.index(params["mlp__alpha"])
        j = rates.index(params["mlp__learning_rate_init"])
        scores[i, j] = score

    fig, ax = plt.subplots(figsize=(6, 4.5))
    image = ax.imshow(scores, cmap="viridis", origin="lower")
    ax.set_xticks(range(len(rates)), [f"{r:g}" for r in rates])
    ax.set_yticks(range(len(alphas)), [f"{a:g}" for a in alphas])
    ax.set_xlabel("learning_rate_init")
    ax.set_ylabel("alpha")
    for i in range(len(alphas)):
        for j in range(len(rates)):
            ax.text(j, i, f"{scores[i, j]:.3f}", ha="center", va="center", color="w")
    fig.colorbar(image, label="mean CV accuracy")
    ax.set_title("GridSearchCV on digits (3-fold)")
    fig.tight_layout()
    fig.savefig("grid_search.png", dpi=100)
    print(f"best: {search.best_params_} with CV accuracy {search.best_score_:.4f}")
    print("saved grid_search.png")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
