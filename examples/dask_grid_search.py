"""Grid search on a Dask cluster: the same GridSearchCV, with its fits spread over workers.

A ``Pipeline(StandardScaler, MLPClassifier)`` is searched over
``learning_rate_init`` x ``alpha`` on the digits data with 3-fold
cross-validation. Inside ``with joblib.parallel_backend("dask"):`` scikit-learn
sends every (setting, fold) fit to the Dask cluster that the current
``Client`` is connected to instead of to local processes; nothing else in
the search changes.

By default the script starts its own ``LocalCluster`` of two single-threaded
worker processes on 127.0.0.1. ``--scheduler ADDRESS`` (for example
``tcp://10.0.0.5:8786``) connects to a scheduler that is already running
instead; its workers need skmlp installed. ``--quick`` (used by the test
suite) searches a smaller grid for fewer epochs. Needs ``pip install "skmlp[dask]"``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import joblib
from dask.distributed import Client, LocalCluster
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skmlp import MLPClassifier


def search(client: Client, quick: bool) -> None:
    X, y = load_digits(return_X_y=True)
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            (
                "mlp",
                MLPClassifier(
                    hidden_layer_sizes=(32,) if quick else (64,),
                    max_iter=10 if quick else 200,
                    random_state=0,
                ),
            ),
        ]
    )
    if quick:
        grid = {"mlp__learning_rate_init": [1e-3, 1e-2], "mlp__alpha": [1e-4, 1e-1]}
    else:
        grid = {"mlp__learning_rate_init": [1e-3, 1e-2, 1e-1], "mlp__alpha": [1e-4, 1e-2, 1.0]}
    n_workers = len(client.scheduler_info(n_workers=-1)["workers"])
    print(f"cluster: {client.scheduler.address} with {n_workers} workers")

    start = time.perf_counter()
    with warnings.catch_warnings():
        # the slow rates stop at max_iter; scikit-learn hands this filter to the workers
        warnings.simplefilter("ignore", ConvergenceWarning)
        with joblib.parallel_backend("dask"):
            result = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    elapsed = time.perf_counter() - start

    n_fits = len(result.cv_results_["params"]) * 3
    print(f"{n_fits} fits in {elapsed:.1f} s")
    best = {k.removeprefix("mlp__"): v for k, v in result.best_params_.items()}
    print(f"best parameters: {best}")
    print(f"best mean CV accuracy: {result.best_score_:.4f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="connect to this running scheduler, e.g. tcp://10.0.0.5:8786, "
        "instead of starting a LocalCluster",
    )
    parser.add_argument("--quick", action="store_true", help="smaller grid, fewer epochs")
    args = parser.parse_args(argv)

    # the context managers shut the client (and our own cluster) down on any exit
    if args.scheduler:
        with Client(args.scheduler, timeout="30s") as client:
            search(client, args.quick)
    else:
        with (
            LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as client,
        ):
            search(client, args.quick)


if __name__ == "__main__":  # needed: the worker processes re-import this file
    main()
