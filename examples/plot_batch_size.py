"""Full-batch vs mini-batch vs online gradient descent.

Trains the same network on the scaled digits data with ``solver='sgd'`` and
three batch sizes: the whole training set (full-batch gradient descent, one
update per epoch), 32 (mini-batch SGD) and 1 (online SGD, one update per
sample). Plots the training loss against epochs and against wall time
(batch_size.png) and prints the held-out accuracy of each: larger batches
give smoother, cheaper epochs but fewer updates; batch size 1 makes the most
progress per epoch at the highest cost per epoch. ``--quick`` trains fewer
epochs.
"""

import math
import sys
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skmlp import MLPClassifier


def main(quick: bool = False) -> None:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    epochs = 5 if quick else 40
    settings = {
        "full batch": dict(batch_size=len(X_train), learning_rate_init=0.1),
        "mini-batch (32)": dict(batch_size=32, learning_rate_init=0.01),
        "online (1)": dict(batch_size=1, learning_rate_init=0.001),
    }
    fig, (ax_epoch, ax_time) = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for name, params in settings.items():
        est = MLPClassifier(
            (64,),
            solver="sgd",
            max_iter=epochs,
            n_iter_no_change=np.inf,
            random_state=0,
            **params,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X_train, y_train)
        history = est.history_
        ax_epoch.plot(history["epoch"], history["train_loss"], label=name)
        ax_time.plot(np.cumsum(history["time"]), history["train_loss"], label=name)
        print(
            f"{name:16s} {math.ceil(len(X_train) / params['batch_size']):>5} "
            f"updates/epoch, {sum(history['time']):6.2f} s, "
            f"held-out accuracy {est.score(X_test, y_test):.4f}"
        )
    ax_epoch.set_xlabel("epoch")
    ax_time.set_xlabel("seconds")
    ax_epoch.set_ylabel("training loss")
    for ax in (ax_epoch, ax_time):
        ax.set_yscale("log")
        ax.legend()
    fig.suptitle("SGD on digits: full batch vs mini-batch vs online")
    fig.tight_layout()
    fig.savefig("batch_size.png", dpi=100)
    print("saved batch_size.png")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
