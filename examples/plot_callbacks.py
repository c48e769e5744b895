"""Monitoring training with scikit-learn's callbacks.

skmlp's estimators speak scikit-learn's callback API (``sklearn.callback``,
scikit-learn 1.9 or later): every epoch is a task that callbacks hear about,
with a ``fitted_estimator`` that predicts as if training had stopped there.
This script:

1. fits a ``Pipeline(StandardScaler, MLPClassifier)`` with early stopping on a
   held-out validation set passed as ``X_val``/``y_val`` (routed through the
   scaler with ``transform_input``), and a ``ScoringMonitor`` that logs the
   training accuracy of every epoch;
2. plots the monitor's per-epoch scores next to ``history_``'s validation
   score;
3. stops a second fit from a small custom callback when a wall-clock budget
   runs out;
4. shows scikit-learn's ``ProgressBar`` (needs ``rich``) under a GridSearchCV.

It saves the figure to ``callbacks.png`` in the current directory and prints
a summary. ``--quick`` (used by the test suite) trains for fewer epochs.
"""

import sys
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write a file, never open a window
import matplotlib.pyplot as plt
import sklearn
from sklearn.callback import ProgressBar, ScoringMonitor
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skmlp import MLPClassifier


class TimeBudget:
    """Stop training once ``seconds`` have passed since the fit began."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def setup(self, estimator, context):
        self.started = time.perf_counter()

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        # True ends training after this epoch, with the weights it reached
        return context.task_name == "epoch" and time.perf_counter() - self.started > self.seconds


def main(quick: bool = False) -> Path:
    X, y = load_digits(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    max_iter = 15 if quick else 150

    # 1. ScoringMonitor on the network, the held-out set for early stopping
    monitor = ScoringMonitor(scoring="accuracy")
    mlp = MLPClassifier(
        hidden_layer_sizes=(64,),
        early_stopping=True,
        n_iter_no_change=10,
        max_iter=max_iter,
        random_state=0,
    ).set_callbacks(monitor)
    with sklearn.config_context(enable_metadata_routing=True), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # --quick ends at max_iter
        mlp.set_fit_request(X_val=True, y_val=True)
        pipe = Pipeline([("scale", StandardScaler()), ("mlp", mlp)], transform_input=["X_val"])
        pipe.fit(X_train, y_train, X_val=X_val, y_val=y_val)
    fitted = pipe[-1]
    log = monitor.get_logs().data_as_pandas
    epochs = log[log["task_name"] == "epoch"].sort_values("task_id")

    # 2. the monitor's training scores next to history_'s validation scores
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.plot(epochs["task_id"] + 1, epochs["accuracy"], label="training accuracy (ScoringMonitor)")
    ax.plot(fitted.history_["epoch"], fitted.history_["val_score"], label="validation (history_)")
    ax.axvline(fitted.best_epoch_, color="0.6", ls="--", label=f"best epoch {fitted.best_epoch_}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_title("Per-epoch scores from a callback and from history_")
    ax.legend(loc="lower right")
    fig.tight_layout()
    path = Path("callbacks.png").resolve()
    fig.savefig(path, dpi=120)
    plt.close(fig)

    # 3. a custom callback that stops training when its time is up
    budget = 0.05 if quick else 0.5
    stopped = MLPClassifier(hidden_layer_sizes=(64,), max_iter=10_000, random_state=0)
    stopped.set_callbacks(TimeBudget(budget)).fit(StandardScaler().fit_transform(X_train), y_train)

    # 4. scikit-learn's progress bar under a grid search (printed to the terminal)
    search = GridSearchCV(
        Pipeline(
            [("scale", StandardScaler()), ("mlp", MLPClassifier(max_iter=5 if quick else 30))]
        ),
        {"mlp__alpha": [1e-4, 1e-2]},
        cv=2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.set_callbacks(ProgressBar()).fit(X_train, y_train)

    print(f"saved {path}")
    print(f"ScoringMonitor logged {len(epochs)} epochs; best epoch {fitted.best_epoch_}")
    print(f"the {budget:g} s budget stopped a fit after {stopped.n_iter_} epochs")
    print(f"grid search best alpha: {search.best_params_['mlp__alpha']}")
    return path


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
