"""The learning curve from ``history_``: training and validation loss per epoch.

``MLPClassifier(early_stopping=True, scoring='loss')`` holds out
``validation_fraction`` of the training rows and, after every epoch, records
the validation loss next to the training loss in ``history_`` (a dict of
equal-length lists, one entry per epoch). Training stops once the validation
loss has not improved for ``n_iter_no_change`` epochs, and the weights of the
best epoch, ``best_epoch_``, are restored. Dropout in the hidden layer keeps
the wide network from memorizing the training rows too quickly.

The training loss includes the L2 penalty and is measured with dropout, as
the optimizer sees it; the validation loss is the plain log-loss of the full
network, as at prediction. That is why the training curve can lie above the
validation curve.

This script fits the standardized digits data, saves the curves to
``history.png`` in the current directory, and prints the path with a short
summary. ``--quick`` (used by the test suite) trains for fewer epochs.
"""

import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write a file, never open a window
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skmlp import MLPClassifier


def main(quick: bool = False) -> Path:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

    clf = MLPClassifier(
        hidden_layer_sizes=(256,),
        dropout=0.3,
        early_stopping=True,
        scoring="loss",
        validation_fraction=0.2,
        n_iter_no_change=10,
        max_iter=25 if quick else 300,
        random_state=0,
    )
    with warnings.catch_warnings():
        # --quick may end at max_iter before the validation loss turns up
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)

    history = clf.history_
    epochs = history["epoch"]
    best = clf.best_epoch_
    best_val_loss = history["val_loss"][best - 1]

    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    ax.plot(epochs, history["train_loss"], label="training loss (with dropout and penalty)")
    ax.plot(epochs, history["val_loss"], label="validation loss")
    ax.axvline(best, color="grey", ls="--", lw=1)
    ax.plot([best], [best_val_loss], "o", color="C1", label=f"best epoch ({best}), restored")
    ax.set_xlabel("epoch")
    ax.set_ylabel("log-loss")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(
        "MLPClassifier(hidden_layer_sizes=(256,), dropout=0.3,\n"
        "early_stopping=True, scoring='loss') on digits"
    )
    path = Path("history.png").resolve()
    fig.savefig(path, dpi=100)
    plt.close(fig)

    print(
        f"{clf.n_iter_} epochs; best epoch {best} with validation loss "
        f"{best_val_loss:.4f} (best_validation_score_ = {clf.best_validation_score_:.4f})"
    )
    print(f"test accuracy of the restored weights: {clf.score(X_test, y_test):.4f}")
    print(f"saved {path}")
    return path


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
