"""``python -m skmlp``: grid-search an MLP pipeline on the digits data.

A real, small task on data that ships with scikit-learn: a
``Pipeline(StandardScaler, MLPClassifier)`` searched over
``learning_rate_init`` x ``alpha`` with 3-fold cross-validation, then scored
on a held-out quarter of the data.
"""

from __future__ import annotations

import argparse
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skmlp import MLPClassifier


def main(argv: list[str] | None = None) -> None:
    """Run the grid search and print its results table."""
    parser = argparse.ArgumentParser(prog="python -m skmlp", description=__doc__.split("\n")[0])
    parser.add_argument("--n-jobs", type=int, default=2, help="parallel fits (default 2)")
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("mlp", MLPClassifier(hidden_layer_sizes=(64,), max_iter=200, random_state=0)),
        ]
    )
    grid = {
        "mlp__learning_rate_init": [1e-3, 1e-2, 1e-1],
        "mlp__alpha": [1e-4, 1e-2, 1.0],
    }
    search = GridSearchCV(pipe, grid, cv=3, n_jobs=args.n_jobs)
    print(
        f"digits: {X_train.shape[0]} training and {X_test.shape[0]} held-out samples, "
        f"{X.shape[1]} features, 10 classes"
    )
    print("GridSearchCV(Pipeline(StandardScaler, MLPClassifier(hidden_layer_sizes=(64,))))")
    n_settings = len(grid["mlp__alpha"]) * len(grid["mlp__learning_rate_init"])
    print(f"searching {n_settings} settings x 3 folds ...\n")
    start = time.perf_counter()
    with warnings.catch_warnings():
        # the slow rates do not converge in max_iter epochs; the table shows it
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X_train, y_train)
    elapsed = time.perf_counter() - start

    res = search.cv_results_
    header = ("learning_rate_init", "alpha", "mean CV acc", "std", "fit s", "rank")
    print("{:>18} {:>8} {:>12} {:>7} {:>7} {:>5}".format(*header))
    for i in sorted(range(len(res["params"])), key=lambda i: res["rank_test_score"][i]):
        p = res["params"][i]
        print(
            f"{p['mlp__learning_rate_init']:>18g} {p['mlp__alpha']:>8g} "
            f"{res['mean_test_score'][i]:>12.4f} {res['std_test_score'][i]:>7.4f} "
            f"{res['mean_fit_time'][i]:>7.2f} {res['rank_test_score'][i]:>5d}"
        )
    best = {k.removeprefix("mlp__"): v for k, v in search.best_params_.items()}
    print(f"\nbest parameters: {best}")
    print(f"best mean CV accuracy: {search.best_score_:.4f}")
    print(f"held-out accuracy of the refitted best pipeline: {search.score(X_test, y_test):.4f}")
    print(f"search time: {elapsed:.1f} s")


if __name__ == "__main__":
    main()
