"""Smith's learning-rate range test, as fastai implements it.

The rate grows exponentially from ``start_lr`` to ``end_lr`` over
``num_iter`` mini-batch updates of a fresh copy of the network, one update
per rate; the loss of each batch (before its update) is recorded and smoothed
with a debiased exponential moving average (``beta=0.98``). The test stops
early at a non-finite loss or once the smoothed loss exceeds 4 times its
minimum. Small data is cycled through as often as needed.

Smith, L. N. "Cyclical Learning Rates for Training Neural Networks."
WACV 2017, arXiv 1506.01186, section 3.3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .trainer import Batches, Step

__all__ = ["LRRangeTestResult", "run_range_test"]


@dataclass
class LRRangeTestResult:
    """What a learning-rate range test measured, and the rates it suggests.

    Attributes
    ----------
    learning_rates : ndarray
        The rate of each update, growing exponentially.
    losses : ndarray
        The raw mini-batch loss before each update.
    smoothed_losses : ndarray
        The debiased exponential moving average of ``losses``.
    suggestion : float
        The suggested ``learning_rate_init``: ``suggestions['valley']``.
    suggestions : dict
        Rates by rule: ``'valley'`` (fastai's default: a point inside the
        longest stretch of steadily decreasing loss), ``'steep'`` (the
        steepest descent of the smoothed loss against log rate) and
        ``'minimum'`` (the rate of the lowest smoothed loss, divided by 10).
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    smoothed_losses: np.ndarray
    suggestions: dict = field(default_factory=dict)

    @property
    def suggestion(self) -> float:
        """The suggested rate (the ``'valley'`` rule)."""
        return self.suggestions["valley"]

    def plot(self, ax=None):
        """Plot the smoothed loss against the rate (log axis), suggestion marked.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure's axes by default.

        Returns
        -------
        ax : matplotlib Axes
            The axes drawn on.
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:  # pragma: no cover - depends on the machine
            raise ImportError(
                "LRRangeTestResult.plot needs matplotlib: pip install matplotlib"
            ) from exc
        if ax is None:
            _, ax = plt.subplots()
        ax.plot(self.learning_rates, self.losses, color="0.8", lw=1, label="batch loss")
        ax.plot(self.learning_rates, self.smoothed_losses, lw=2, label="smoothed loss")
        for rule, marker in (("valley", "o"), ("steep", "^"), ("minimum", "s")):
            rate = self.suggestions[rule]
            idx = int(np.argmin(np.abs(np.log(self.learning_rates) - np.log(rate))))
            ax.plot(rate, self.smoothed_losses[idx], marker, ms=8, label=f"{rule}: {rate:.2g}")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        ax.set_title("learning-rate range test")
        ax.legend()
        return ax


def _valley(lrs: np.ndarray, losses: np.ndarray) -> float:
    """fastai's 'valley': the longest decreasing run of the loss, then a
    point about halfway into it."""
    n = len(losses)
    run = [1] * n
    best_start = best_end = 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and run[i] < run[j] + 1:
                run[i] = run[j] + 1
        if run[best_end] < run[i]:
            best_end = i
            best_start = max(0, best_end - run[best_end])
    third = (best_end - best_start) / 3
    return float(lrs[min(n - 1, best_start + int(third) + int(third / 2))])


def suggest(lrs: np.ndarray, smoothed: np.ndarray) -> dict:
    """The suggested rates by rule, from a (trimmed) smoothed loss curve."""
    # as fastai: leave out the first tenth (noise of a fresh network) and
    # the last few points (the blow-up)
    k = len(lrs)
    lo, hi = k // 10, max(k // 10 + 2, k - 5)
    lrs, smoothed = lrs[lo:hi], smoothed[lo:hi]
    slope = np.gradient(smoothed, np.log(lrs)) if len(lrs) > 1 else np.zeros(1)
    return {
        "valley": _valley(lrs, smoothed),
        "steep": float(lrs[int(np.argmin(slope))]),
        "minimum": float(lrs[int(np.argmin(smoothed))]) / 10.0,
    }


def run_range_test(
    step: Step,
    batches: Batches,
    rng: np.random.RandomState,
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_iter: int = 100,
    beta: float = 0.98,
    diverge: float = 4.0,
) -> LRRangeTestResult:
    """Run the range test with ``step`` (it moves the parameters it is bound
    to: bind it to a copy) over ``batches``.

    ``step`` is the same step ``fit`` takes, so the test trains the same
    objective: penalty, dropout and the update chain's transforms included.
    """
    optimizer_state = step.chain.init(step.ws.params)
    ratio = (end_lr / start_lr) ** (1.0 / max(num_iter - 1, 1))
    lrs, losses, smoothed = [], [], []
    avg, best = 0.0, math.inf
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        while len(lrs) < num_iter:
            for Xb, Yb, swb in batches.epoch(rng):
                i = len(lrs)
                rate = start_lr * ratio**i
                loss = step.loss_and_grad(Xb, Yb, swb)
                if not math.isfinite(loss):
                    break
                avg = beta * avg + (1 - beta) * loss
                smooth = avg / (1 - beta ** (i + 1))
                lrs.append(rate)
                losses.append(loss)
                smoothed.append(smooth)
                best = min(best, smooth)
                if smooth > diverge * best or len(lrs) >= num_iter:
                    break
                step.update(optimizer_state, rate)
            else:
                continue
            break
    lrs, losses, smoothed = np.array(lrs), np.array(losses), np.array(smoothed)
    if len(lrs) == 0:
        raise ValueError(
            f"The range test's first loss was not finite at start_lr={start_lr:g}; "
            "standardize the inputs."
        )
    return LRRangeTestResult(lrs, losses, smoothed, suggest(lrs, smoothed))
