"""Every learning-rate schedule, side by side.

Each panel is one ``learning_rate`` setting of ``skmlp.MLPClassifier``,
previewed with ``skmlp.learning_rate_schedule``: the rate of every mini-batch
update that ``fit`` would make, if no stopping rule ended the training early.
The setting is 1000 training rows in batches of 100 (10 updates per epoch),
``max_iter=40`` epochs and ``learning_rate_init=0.01``; everything else is the
default. Nothing is trained, so ``--quick`` (used by the test suite) runs
the same thing.

The figure goes to ``schedules.png`` in the current directory.
"""

import sys
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")  # write a file, never open a window
import matplotlib.pyplot as plt

from skmlp import MLPClassifier, learning_rate_schedule

N_SAMPLES = 1000
COMMON = dict(learning_rate_init=0.01, batch_size=100, max_iter=40)

# (panel title, estimator settings, log-scale rate axis)
PANELS = [
    ("constant", dict(learning_rate="constant"), False),
    (
        "invscaling, solver='sgd'\n(log axis; t_ counts rows)",
        dict(learning_rate="invscaling", solver="sgd"),
        True,
    ),
    ("step\n(x0.5 every 10 epochs)", dict(learning_rate="step"), False),
    ("exponential\n(x0.5 per 10 epochs)", dict(learning_rate="exponential"), False),
    ("cosine", dict(learning_rate="cosine"), False),
    ("cosine_restarts\n(periods 10, 20, 40 epochs)", dict(learning_rate="cosine_restarts"), False),
    ("cyclic, triangular", dict(learning_rate="cyclic"), False),
    ("cyclic, triangular2", dict(learning_rate="cyclic", cyclic_mode="triangular2"), False),
    ("cyclic, exp_range", dict(learning_rate="cyclic", cyclic_mode="exp_range"), False),
    ("one_cycle", dict(learning_rate="one_cycle"), False),
    ("cosine, warmup_epochs=5", dict(learning_rate="cosine", warmup_epochs=5), False),
    (
        "invscaling, solver='adam'\n(sklearn's schedules are sgd's)",
        dict(learning_rate="invscaling", solver="adam"),
        False,
    ),
]


def main(quick: bool = False) -> Path:
    # quick and full are the same: previews cost no training
    fig, axes = plt.subplots(4, 3, figsize=(12, 12), sharex=True, layout="constrained")
    for ax, (title, settings, log_axis) in zip(axes.flat, PANELS):
        estimator = MLPClassifier(**COMMON, **settings)
        rates = learning_rate_schedule(estimator, N_SAMPLES)
        steps_per_epoch = len(rates) // estimator.max_iter
        epochs = np.arange(len(rates)) / steps_per_epoch
        ax.plot(epochs, rates, lw=1.5)
        ax.set_title(title, fontsize=10)
        if log_axis:
            ax.set_yscale("log")
        else:
            ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        print(
            f"{title.splitlines()[0]:28s} first {rates[0]:.2e}  "
            f"max {rates.max():.2e}  last {rates[-1]:.2e}"
        )
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    for ax in axes[:, 0]:
        ax.set_ylabel("learning rate")
    fig.suptitle(
        f"Learning rate of every update: {N_SAMPLES} rows, batch_size=100, "
        "max_iter=40, learning_rate_init=0.01"
    )
    path = Path("schedules.png").resolve()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"saved {path}")
    return path


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
