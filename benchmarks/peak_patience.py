"""Early stopping before and after patience waits for the schedule's peak.

With a schedule that first raises the rate (the end of a warm-up,
``one_cycle``'s peak at ``peak_fraction * max_iter``, ``cyclic``'s first
``half_cycle_epochs``; ``P`` that epoch, rounded up), skmlp's patience now
follows Keras's ``EarlyStopping(start_from_epoch=P)``: epochs 1 to ``P`` of a
fit are ignored, and at epoch ``P + 1`` the patience starts afresh (its
reference is that epoch's validation score, the no-improvement count 0), so
later epochs must beat the best score *since the peak* by ``tol``. The
restored weights (``best_epoch_``) are still the best of every epoch. Before
(commit 4b4b7ea), every epoch counted towards ``n_iter_no_change`` from the
first one on. (The first version of the rule, commit dd66d22, ignored epochs
1 to ``P`` but then compared with the best of all epochs, pre-peak ones
included, so runs stopped at epoch ``P + n_iter_no_change + 1``.) This
script measures what that changes on data that ship with scikit-learn (no
download), with the recipe of the issue that asked for it:
``solver='adamw'``, ``weight_decay=1e-2``, ``dropout=0.15``,
``learning_rate='one_cycle'`` peaking at epoch 60 of 200
(``peak_fraction=0.3, max_iter=200``) and ``early_stopping=True``, all other
settings at their defaults (``n_iter_no_change=10``, ``tol=1e-4``,
``validation_fraction=0.1``, ``learning_rate_init=0.001`` so a peak of 0.01,
``scoring=None``: accuracy or R²; ``--scoring loss`` monitors the validation
loss instead).

Datasets, each split 75/25 into training and held-out test rows (stratified
for classification), features standardized inside a pipeline:

- ``load_digits`` (1797 x 64, 10 classes): held-out accuracy;
- ``load_breast_cancer`` (569 x 30, 2 classes): held-out accuracy;
- ``load_diabetes`` (442 x 10): held-out R², the target standardized by a
  ``TransformedTargetRegressor`` (R² does not change with that scaling).

Each runs with 3 seeds (``--seeds N`` for more; the seed is both the
split's and the model's ``random_state``), once with the recipe and once, as
a reference, with ``n_iter_no_change=np.inf`` ("whole schedule": all 200
epochs, best epoch restored; the same before and after). For every fit the
script prints the epoch training stopped (``n_iter_``), the restored epoch
(``best_epoch_``) and the held-out score, then a Markdown table of the means
over the seeds.

"Before" is the code before the change, "after" the code with it; the same
script runs both. It puts the skmlp checkout named by its first argument
(default: the first ``PYTHONPATH`` entry, else this repository) at the front
of ``sys.path`` before importing skmlp, and prints which one it imported::

    git worktree add /tmp/skmlp-before 4b4b7ea    # any commit before the change
    python benchmarks/peak_patience.py /tmp/skmlp-before   # before
    python benchmarks/peak_patience.py .                   # after (this checkout)

(``PYTHONPATH=/tmp/skmlp-before python benchmarks/peak_patience.py`` is the
same as the first line.) Fits run with one BLAS thread; a run takes a few
seconds per checkout. It is not part of the test suite;
docs/regularization.md records a run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parents[1]


def skmlp_path(given: str | None) -> Path:
    """The skmlp checkout to benchmark: argument, else PYTHONPATH, else this repo."""
    if given:
        return Path(given).resolve()
    first = os.environ.get("PYTHONPATH", "").split(os.pathsep)[0]
    return Path(first).resolve() if first else REPO


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", nargs="?", help="the skmlp checkout to import skmlp from")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0 .. SEEDS-1 (default 3)")
    parser.add_argument(
        "--scoring", default=None, help="early stopping's scoring (default: accuracy or R²)"
    )
    args = parser.parse_args()
    path = skmlp_path(args.checkout)
    sys.path.insert(0, str(path))  # before anything imports skmlp
    import skmlp

    imported = Path(skmlp.__file__).resolve()
    if path not in imported.parents:
        raise SystemExit(f"asked for skmlp from {path} but imported {imported}")
    print(f"skmlp imported from {imported.parent}")

    recipe = dict(
        hidden_layer_sizes=(100,),
        solver="adamw",
        weight_decay=1e-2,
        dropout=0.15,
        learning_rate="one_cycle",
        peak_fraction=0.3,
        max_iter=200,
        early_stopping=True,
        scoring=args.scoring,
    )

    def classifier(seed, **settings):
        mlp = skmlp.MLPClassifier(random_state=seed, **{**recipe, **settings})
        return make_pipeline(StandardScaler(), mlp)

    def regressor(seed, **settings):
        mlp = skmlp.MLPRegressor(random_state=seed, **{**recipe, **settings})
        return TransformedTargetRegressor(
            regressor=make_pipeline(StandardScaler(), mlp),
            transformer=StandardScaler(),
        )

    datasets = [
        ("digits", load_digits, classifier, "accuracy", True),
        ("breast_cancer", load_breast_cancer, classifier, "accuracy", True),
        ("diabetes", load_diabetes, regressor, "R2", False),
    ]
    # the recipe, and as a reference the same fit with the patience off: it
    # runs the whole schedule and restores the best epoch (the same in both
    # checkouts, so it also shows that nothing else changed)
    variants = [("recipe", {}), ("whole schedule", {"n_iter_no_change": np.inf})]
    seeds = tuple(range(args.seeds))
    summary = []
    started = time.perf_counter()
    with threadpool_limits(limits=1):
        for name, load, make_model, metric, stratify in datasets:
            X, y = load(return_X_y=True)
            for variant, settings in variants:
                n_iters, best_epochs, scores = [], [], []
                for seed in seeds:
                    X_train, X_test, y_train, y_test = train_test_split(
                        X, y, test_size=0.25, random_state=seed, stratify=y if stratify else None
                    )
                    model = make_model(seed, **settings)
                    with warnings.catch_warnings():
                        # a run that reaches max_iter=200 warns; its numbers still count
                        warnings.simplefilter("ignore", ConvergenceWarning)
                        model.fit(X_train, y_train)
                    mlp = model.regressor_[-1] if hasattr(model, "regressor_") else model[-1]
                    score = model.score(X_test, y_test)
                    n_iters.append(mlp.n_iter_)
                    best_epochs.append(mlp.best_epoch_)
                    scores.append(score)
                    print(
                        f"{name:14s} {variant:15s} seed {seed}: stopped at epoch "
                        f"{mlp.n_iter_:3d}, best epoch {mlp.best_epoch_:3d}, "
                        f"held-out {metric} {score:.4f}"
                    )
                summary.append((name, metric, variant, n_iters, best_epochs, scores))

    print(
        f"\nmeans over seeds {seeds}, scoring={args.scoring!r} "
        f"({time.perf_counter() - started:.0f} s)"
    )
    print("| dataset | metric | fit | n_iter_ | best_epoch_ | held-out score (mean ± sd) |")
    print("|---|---|---|---|---|---|")
    for name, metric, variant, n_iters, best_epochs, scores in summary:
        print(
            f"| {name} | {metric} | {variant} | {np.mean(n_iters):.1f} | "
            f"{np.mean(best_epochs):.1f} | {np.mean(scores):.4f} ± {np.std(scores):.4f} |"
        )


if __name__ == "__main__":
    main()
