"""Prediction intervals from two quantile regressors.

The data are one feature ``x`` in [0, 10] and a target whose noise grows with
``x`` (heteroscedastic): ``y = 2 sin(x) + 0.3 x + (0.1 + 0.25 x) * e`` with
``e`` standard normal. A squared-error model would only give the conditional
mean; three ``MLPRegressor(loss='quantile')`` models, each in a pipeline
behind a ``StandardScaler``, estimate the 0.05, 0.5 and 0.95 conditional
quantiles instead. The two outer ones bound a 90% prediction interval that
is narrow where the noise is small and wide where it is large. The models
train with Adam and ``learning_rate='plateau'``, which lowers the rate each
time the loss stalls and stops once it reaches ``learning_rate_min``.

The figure (``quantile_regression.png`` in the current directory) draws the
training points, the estimated band and median, and the true quantiles of
the generating distribution (dashed). The script prints, on 1000 held-out
rows, the fraction of targets below each fitted quantile (ideally 0.05, 0.5
and 0.95) and the empirical coverage of the 90% interval (ideally 0.90).
``--quick`` trains at most 15 epochs per model (the test suite uses it), so
its band is rougher and its coverage further from 0.90.
"""

import sys
import time
import warnings
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")  # write a file, never open a window
import matplotlib.pyplot as plt
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmlp import MLPRegressor

QUANTILES = (0.05, 0.5, 0.95)
Z_95 = 1.6448536269514722  # the standard normal's 0.95 quantile


def mean(x):
    return 2.0 * np.sin(x) + 0.3 * x


def noise_scale(x):
    return 0.1 + 0.25 * x


def make_data(n: int, rng: np.random.Generator):
    x = rng.uniform(0.0, 10.0, n)
    y = mean(x) + noise_scale(x) * rng.standard_normal(n)
    return x.reshape(-1, 1), y


def main(quick: bool = False) -> Path:
    started = time.perf_counter()
    rng = np.random.default_rng(0)
    X_train, y_train = make_data(1500, rng)
    X_test, y_test = make_data(1000, rng)

    models = {}
    for q in QUANTILES:
        model = make_pipeline(
            StandardScaler(),
            MLPRegressor(
                loss="quantile",
                quantile=q,
                hidden_layer_sizes=(64, 64),
                learning_rate_init=0.01,
                batch_size=64,
                # divide the rate by 5 whenever the loss stalls for 6 epochs,
                # and stop once it is down to 1e-4: the pinball loss's
                # gradient never shrinks near the optimum, so a constant
                # rate would leave the quantiles jittering
                learning_rate="plateau",
                learning_rate_min=1e-4,
                n_iter_no_change=5,
                tol=1e-5,
                max_iter=15 if quick else 500,
                random_state=0,
            ),
        )
        with warnings.catch_warnings():
            # --quick stops at max_iter before the stopping rule fires
            if quick:
                warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_train, y_train)
        models[q] = model
        mlp = model[-1]
        below = np.mean(y_test < model.predict(X_test))
        print(
            f"quantile {q:.2f}: {mlp.n_iter_:3d} epochs, training loss {mlp.loss_:.4f}, "
            f"held-out fraction below {below:.3f}"
        )

    low, high = models[0.05].predict(X_test), models[0.95].predict(X_test)
    inside = (y_test >= low) & (y_test <= high)
    print(
        f"90% interval on {len(y_test)} held-out rows: coverage {inside.mean():.3f}, "
        f"mean width {np.mean(high - low):.2f} (true {2 * Z_95 * noise_scale(X_test).mean():.2f})"
    )

    grid = np.linspace(0.0, 10.0, 400).reshape(-1, 1)
    curves = {q: models[q].predict(grid) for q in QUANTILES}
    fig, ax = plt.subplots(figsize=(9, 6), layout="constrained")
    ax.scatter(X_train[:, 0], y_train, s=5, color="0.6", alpha=0.5, label="training data")
    ax.fill_between(
        grid[:, 0],
        curves[0.05],
        curves[0.95],
        color="tab:blue",
        alpha=0.25,
        label="fitted 90% interval (q = 0.05 to 0.95)",
    )
    ax.plot(grid[:, 0], curves[0.5], color="tab:blue", lw=2, label="fitted median (q = 0.5)")
    x = grid[:, 0]
    true_kw = dict(color="black", lw=1, ls="--")
    ax.plot(x, mean(x), label="true median and 0.05, 0.95 quantiles", **true_kw)
    ax.plot(x, mean(x) - Z_95 * noise_scale(x), **true_kw)
    ax.plot(x, mean(x) + Z_95 * noise_scale(x), **true_kw)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(
        "MLPRegressor(loss='quantile'): 90% prediction interval, "
        f"held-out coverage {inside.mean():.1%}" + (" (--quick)" if quick else "")
    )
    fig.legend(loc="outside lower center", ncols=2)
    path = Path("quantile_regression.png").resolve()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"saved {path} ({time.perf_counter() - started:.1f} s)")
    return path


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
