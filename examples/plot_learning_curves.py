"""cross_val_score and a learning curve for skmlp.MLPClassifier.

Cross-validates a scaled MLP on the digits data with ``cross_val_score``,
then draws scikit-learn's learning curve (training and validation accuracy
against the number of training samples) and saves learning_curve.png.
``--quick`` uses fewer sizes and epochs.
"""

import sys
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score, learning_curve
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmlp import MLPClassifier


def main(quick: bool = False) -> None:
    X, y = load_digits(return_X_y=True)
    model = make_pipeline(
        StandardScaler(),
        MLPClassifier((64,), max_iter=30 if quick else 200, random_state=0),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(model, X, y, cv=5, n_jobs=2)
        sizes, train, valid = learning_curve(
            model,
            X,
            y,
            cv=5,
            n_jobs=2,
            train_sizes=np.linspace(0.1, 1.0, 3 if quick else 6),
        )
    print(f"cross_val_score: {scores.mean():.4f} +- {scores.std():.4f} over 5 folds")

    fig, ax = plt.subplots(figsize=(6, 4))
    for values, label in ((train, "training"), (valid, "cross-validation")):
        mean, std = values.mean(axis=1), values.std(axis=1)
        ax.plot(sizes, mean, "o-", label=label)
        ax.fill_between(sizes, mean - std, mean + std, alpha=0.2)
    ax.set_xlabel("training samples")
    ax.set_ylabel("accuracy")
    ax.set_title("Learning curve of MLPClassifier((64,)) on digits")
    ax.legend()
    fig.tight_layout()
    fig.savefig("learning_curve.png", dpi=100)
    print("saved learning_curve.png")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
