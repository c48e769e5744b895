"""Pick a learning rate with the range test, then train with it.

``skmlp.lr_range_test`` trains a fresh copy of the estimator for a short
while, raising the learning rate exponentially after every mini-batch, and
records the loss. The loss first barely moves (the rate is too small), then
falls, then shoots up (the rate is too large). The suggested rate lies on the
falling part. The test leaves the estimator itself untouched.

This script runs the test on the standardized digits data, saves the curve to
``lr_range_test.png`` in the current directory and prints the suggestions.
It then trains ``MLPClassifier`` three times and prints each model's accuracy
on held-out rows: with scikit-learn's default rate, with the suggested rate,
and with ``learning_rate_init='auto'``, which runs the same test inside
``fit``. Pass ``--quick`` for a shorter run (used by the test suite).
"""

import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write a file, never open a window
import matplotlib.pyplot as plt
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skmlp import MLPClassifier, lr_range_test


def main(quick: bool = False) -> Path:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    # the range test takes an estimator, not a pipeline: scale beforehand
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

    num_iter = 50 if quick else 100
    max_iter = 20 if quick else 200
    estimator = MLPClassifier(hidden_layer_sizes=(100,), max_iter=max_iter, random_state=0)

    result = lr_range_test(estimator, X_train, y_train, num_iter=num_iter)
    print(
        f"range test: {len(result.learning_rates)} updates, rates "
        f"{result.learning_rates[0]:.1e} to {result.learning_rates[-1]:.1e}"
    )
    for rule, rate in result.suggestions.items():
        print(f"  {rule:8s} {rate:.2e}")

    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    result.plot(ax=ax)
    ax.set_title(f"Range test, solver='adam', scaled digits ({num_iter} updates)")
    path = Path("lr_range_test.png").resolve()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"saved {path}")

    candidates = [
        ("default", 0.001),
        ("suggested", result.suggestion),
        ("'auto'", "auto"),
    ]
    with warnings.catch_warnings():
        if quick:  # 20 epochs are too few to converge; that is expected here
            warnings.simplefilter("ignore", ConvergenceWarning)
        for label, rate in candidates:
            model = clone(estimator).set_params(learning_rate_init=rate).fit(X_train, y_train)
            print(
                f"{label:10s} learning_rate_init_={model.learning_rate_init_:.2e}  "
                f"epochs={model.n_iter_:3d}  "
                f"held-out accuracy={model.score(X_test, y_test):.4f}"
            )
    return path


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
