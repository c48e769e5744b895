"""The training loops: mini-batch epochs for the stochastic solvers, and L-BFGS.

The stochastic loop owns shuffling, batching, the per-epoch learning rate,
the stopping rule and divergence handling; the network supplies loss and
gradient, the optimizer the update.  Everything that must survive between
calls (``partial_fit``, ``warm_start``) lives in a plain ``state`` dict of
numbers, lists and arrays, which the estimator keeps.

How a fit ends is reported, never raised: ``Outcome.stop_reason`` is one of
``'converged'``, ``'max_iter'``, ``'diverged'``, ``'interrupted'`` or
``'incremental'`` (one epoch of ``partial_fit``).  The estimator turns it into
the matching warning.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.optimize
import scipy.sparse as sp

from .network import Network

__all__ = ["Batches", "Outcome", "new_state", "run_lbfgs", "run_stochastic"]

# the smallest rate 'adaptive' may reach before it gives up, as scikit-learn
_ADAPTIVE_MIN_RATE = 1e-6


@dataclass
class Outcome:
    """How a call of a training loop ended."""

    n_iter: int
    loss: float
    stop_reason: str
    message: str = ""


def new_state(learning_rate: float, early_stopping: bool, optimizer_state: dict) -> dict:
    """Fresh persistent state for :func:`run_stochastic`."""
    return {
        "t": 0,
        "step": 0,
        "schedule_start": 0,
        "loss_curve": [],
        "best_loss": None if early_stopping else math.inf,
        "validation_scores": [] if early_stopping else None,
        "best_validation_score": -math.inf if early_stopping else None,
        "no_improvement_count": 0,
        "learning_rate": float(learning_rate),
        "rate_scale": 1.0,
        "optimizer": optimizer_state,
        "best_params": None,
        "best_epoch": None,
        "history": {
            "epoch": [],
            "train_loss": [],
            "val_loss": [],
            "val_score": [],
            "learning_rate": [],
            "time": [],
        },
    }


def _rows(X, idx, out):
    if out is None:  # sparse
        return X[idx]
    # mode="clip" (indices are valid anyway) lets take write straight into out
    return X.take(idx, axis=0, out=out[: len(idx)], mode="clip")


@dataclass
class Batches:
    """Shuffled mini-batches of (X, Y, sample_weight) through reused buffers."""

    X: object
    Y: np.ndarray
    sample_weight: np.ndarray | None
    batch_size: int
    shuffle: bool

    def __post_init__(self):
        n, bs = self.X.shape[0], self.batch_size
        dense = not sp.issparse(self.X)
        self.X_buf = np.empty((bs, self.X.shape[1]), self.X.dtype) if dense else None
        self.Y_buf = np.empty((bs, self.Y.shape[1]), self.Y.dtype)
        sw = self.sample_weight
        self.sw_buf = None if sw is None else np.empty(bs, sw.dtype)
        self.order = np.arange(n)

    def epoch(self, rng):
        n = self.X.shape[0]
        if self.shuffle:
            # scikit-learn's draw, so equal seeds give equal batches
            perm = np.arange(n)
            rng.shuffle(perm)
            self.order = self.order[perm]
        for start in range(0, n, self.batch_size):
            stop = min(start + self.batch_size, n)
            if self.shuffle:
                idx = self.order[start:stop]
                sw = self.sample_weight
                yield (
                    _rows(self.X, idx, self.X_buf),
                    _rows(self.Y, idx, self.Y_buf),
                    None if sw is None else _rows(sw, idx, self.sw_buf),
                )
            else:
                sw = self.sample_weight
                yield (
                    self.X[start:stop],
                    self.Y[start:stop],
                    None if sw is None else sw[start:stop],
                )


def run_stochastic(
    net: Network,
    params: np.ndarray,
    X,
    Y: np.ndarray,
    sample_weight: np.ndarray | None,
    *,
    optimizer,
    state: dict,
    schedule: Callable[[int, int], float],
    alpha: float,
    batch_size: int,
    max_iter: int,
    shuffle: bool,
    rng: np.random.RandomState,
    tol: float,
    n_iter_no_change: float,
    adaptive: bool = False,
    weight_decay: float = 0.0,
    l1_ratio: float = 0.0,
    dropout_rng: np.random.Generator | None = None,
    validation_score: Callable[[], dict] | None = None,
    incremental: bool = False,
    verbose: int = 0,
    progress=None,
) -> Outcome:
    """Train ``params`` in place by mini-batch epochs.

    Each step's rate is ``schedule(step, t)`` times ``state['rate_scale']``,
    where ``step`` counts from ``state['schedule_start']``
    (which ``adaptive`` divides by 5 on a plateau). With ``weight_decay > 0``
    the weights (not the biases) shrink by ``rate * weight_decay`` of
    themselves before each optimizer step: decoupled weight decay. With an
    L1 part in the penalty (``l1_ratio > 0``) a weight that the update
    carries across zero is clipped to exactly zero (the truncated-gradient
    rule of Tsuruoka et al. 2009), so L1 yields real zeros with any
    optimizer. ``dropout_rng`` draws new dropout masks for every batch.
    ``validation_score()``, when given, returns ``{'score', 'loss'}`` of the
    current parameters on held-out data after every epoch; the best-scoring
    parameters are restored at the end, as scikit-learn's ``early_stopping``
    does. ``progress``, when given, is told about every epoch.
    """
    n = X.shape[0]
    ws = net.workspace(batch_size, params)
    grad = ws.grad
    weights = params[: net.n_coef]
    batches = Batches(X, Y, sample_weight, batch_size, shuffle)
    snapshot = np.empty_like(params)
    clip_l1 = l1_ratio > 0.0 and alpha > 0.0
    before = np.empty_like(weights) if clip_l1 else None
    crossed = np.empty(weights.shape, dtype=bool) if clip_l1 else None
    grad_w = grad[: net.n_coef]
    dropout = dropout_rng is not None and any(r > 0 for r in net.dropout)
    history = state["history"]
    n_iter, epoch_loss = 0, math.nan
    stop_reason, message = ("incremental" if incremental else "max_iter"), ""

    # non-finite values are detected and reported as divergence below, so
    # numpy's overflow warnings on the way there are noise
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            for _ in range(max_iter):
                started = time.perf_counter()
                np.copyto(snapshot, params)
                total, rate_sum, n_steps, diverged = 0.0, 0.0, 0, False
                for Xb, Yb, swb in batches.epoch(rng):
                    clock = state["step"] - state["schedule_start"]
                    rate = schedule(clock, state["t"]) * state["rate_scale"]
                    if dropout:
                        net.draw_dropout_masks(ws, Xb.shape[0], dropout_rng)
                    batch_loss = net.loss_and_grad(ws, Xb, Yb, swb, alpha, l1_ratio)
                    if not math.isfinite(batch_loss):
                        diverged = True
                        break
                    total += batch_loss * Xb.shape[0]
                    if weight_decay:
                        weights *= 1.0 - rate * weight_decay
                    if clip_l1:
                        np.copyto(before, weights)
                    optimizer.update(params, grad, state["optimizer"], rate)
                    if clip_l1:
                        # zero a weight the step carried across zero, and one
                        # that sat at zero with a zero pseudo-gradient (the
                        # optimizer's momentum must not revive it)
                        np.equal(before, 0.0, out=crossed)
                        crossed &= grad_w == 0.0
                        np.copyto(weights, 0.0, where=crossed)
                        before *= weights
                        np.less(before, 0.0, out=crossed)
                        np.copyto(weights, 0.0, where=crossed)
                    state["step"] += 1
                    rate_sum += rate
                    n_steps += 1
                if diverged or not np.isfinite(params).all():
                    np.copyto(params, snapshot)
                    state["optimizer"] = optimizer.init(params)
                    stop_reason = "diverged"
                    message = (
                        f"Training diverged in epoch {n_iter + 1} (the loss became "
                        f"non-finite at learning rate {rate:g}); the weights from the "
                        "end of the previous epoch were kept. Use a smaller "
                        "learning_rate_init, or standardize the inputs."
                    )
                    break

                epoch_loss = total / n
                # validate first: an interrupt in it leaves every record of
                # this epoch out, not some of them
                validation = validation_score() if validation_score else None
                n_iter += 1
                state["t"] += n
                state["learning_rate"] = rate
                state["loss_curve"].append(epoch_loss)
                mean_rate = rate_sum / max(n_steps, 1)
                if verbose == 1:
                    line = f"Iteration {n_iter}, loss = {epoch_loss:.8f}"
                    if validation:
                        line += f", val_loss = {validation['loss']:.8f}"
                    print(f"{line}, learning_rate = {mean_rate:.3g}")

                worse = _no_improvement(state, epoch_loss, params, tol, validation, verbose == 1)
                history["epoch"].append(len(history["epoch"]) + 1)
                history["train_loss"].append(epoch_loss)
                history["val_loss"].append(validation["loss"] if validation else math.nan)
                history["val_score"].append(validation["score"] if validation else math.nan)
                history["learning_rate"].append(mean_rate)
                history["time"].append(time.perf_counter() - started)
                if progress is not None:
                    progress.update(n_iter, epoch_loss, validation)

                if worse and state["no_improvement_count"] > n_iter_no_change:
                    msg = (
                        f"{'Validation score' if validation_score else 'Training loss'} "
                        f"did not improve more than tol={tol:f} for "
                        f"{n_iter_no_change} consecutive epochs."
                    )
                    if adaptive and rate > _ADAPTIVE_MIN_RATE:
                        state["rate_scale"] /= 5.0
                        state["no_improvement_count"] = 0
                        if verbose == 1:  # (verbose=2 shows a bar, not lines)
                            print(f"{msg} Setting learning rate to {rate / 5.0:f}")
                    else:
                        stop_reason, message = "converged", msg
                        if verbose == 1:
                            print(f"{msg} Stopping.")
                        break
                if incremental:
                    break
        except KeyboardInterrupt:
            stop_reason, message = "interrupted", "Training interrupted by user."

    if validation_score is not None and state["best_params"] is not None:
        np.copyto(params, state["best_params"])
    return Outcome(n_iter, epoch_loss, stop_reason, message)


def _no_improvement(state, epoch_loss, params, tol, validation, verbose) -> bool:
    """Update the no-improvement count (scikit-learn's rule); True if it grew."""
    if validation is not None:
        score = float(validation["score"])
        state["validation_scores"].append(score)
        if verbose:
            print(f"Validation score: {score:f}")
        best = state["best_validation_score"]
        worse = not score >= best + tol  # a NaN score counts as no improvement
        if score > best:
            state["best_validation_score"] = score
            state["best_epoch"] = len(state["history"]["epoch"]) + 1
            if state["best_params"] is None:
                state["best_params"] = params.copy()
            else:
                np.copyto(state["best_params"], params)
    else:
        best = state["best_loss"]
        worse = epoch_loss > best - tol
        if epoch_loss < best:
            state["best_loss"] = epoch_loss
    state["no_improvement_count"] = state["no_improvement_count"] + 1 if worse else 0
    return worse


def run_lbfgs(
    net: Network,
    params: np.ndarray,
    X,
    Y: np.ndarray,
    sample_weight: np.ndarray | None,
    *,
    alpha: float,
    max_iter: int,
    max_fun: int,
    tol: float,
    l1_ratio: float = 0.0,
    verbose: bool = False,
) -> tuple[Outcome, scipy.optimize.OptimizeResult]:
    """Minimize the full-batch loss with scipy's L-BFGS-B, in place.

    scipy iterates in float64; the network is evaluated in ``params.dtype``, so
    a float32 model stays float32.  If the loss ever becomes non-finite the
    last parameters with a finite loss are kept.
    """
    ws = net.workspace(X.shape[0], params)
    best = {"loss": math.inf, "params": params.copy()}

    def fun(x):
        params[...] = x
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            loss = net.loss_and_grad(ws, X, Y, sample_weight, alpha, l1_ratio)
        if math.isfinite(loss) and loss <= best["loss"]:
            best["loss"] = loss
            np.copyto(best["params"], params)
        return loss, ws.grad.astype(np.float64)

    def callback(intermediate_result):
        if verbose:
            print(f"Iteration {callback.n}, loss = {intermediate_result.fun:.8f}")
        callback.n += 1

    callback.n = 1
    result = scipy.optimize.minimize(
        fun,
        params.astype(np.float64),
        method="L-BFGS-B",
        jac=True,
        callback=callback,
        options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol},
    )
    params[...] = result.x
    loss = float(result.fun)
    if not (math.isfinite(loss) and np.isfinite(params).all()):
        np.copyto(params, best["params"])
        kept = (
            "the parameters with the lowest finite loss were kept"
            if math.isfinite(best["loss"])
            else "no evaluation had a finite loss, so the initial parameters were kept"
        )
        outcome = Outcome(
            int(result.nit),
            best["loss"],
            "diverged",
            f"L-BFGS produced a non-finite loss; {kept}. Standardize the inputs or increase alpha.",
        )
    else:
        stop = "converged" if result.status == 0 else "max_iter"
        outcome = Outcome(int(result.nit), loss, stop, str(result.message))
    return outcome, result
