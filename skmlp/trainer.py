"""The training loops: mini-batch epochs for the stochastic solvers, and L-BFGS.

Both loops drive one :class:`Step` (loss and gradient, then the update chain:
the optimizer's step and its transforms), which the learning-rate range test
shares.
The mini-batch loop owns shuffling, batching and the epoch's bookkeeping;
everything a fit needs is handed to it in one :class:`TrainingConfig`, and
everything that persists between calls lives in the typed
:class:`~skmlp.state.TrainingState`.

At the end of each epoch every participant (validation, stopping rule,
history, reporters) is an :class:`~skmlp.hooks.EpochHook` called with the
same :class:`~skmlp.hooks.EpochEnd`, in the order :func:`epoch_hooks`
declares. An epoch either completes or leaves no trace: its record, clocks,
stopping memory, rate scale, optimizer state and parameters are committed
together to a :class:`Checkpoint`, and an interrupt or a divergence rolls
back to the last one. Parameters are handed back only once verified: their
predictions and loss on the training data are finite.

How a fit ends is reported, never raised: ``Outcome.stop_reason`` is one of
``'converged'``, ``'max_iter'``, ``'diverged'``, ``'interrupted'``,
``'callback'`` (a reporter asked to stop) or ``'incremental'`` (one epoch of
``partial_fit``). A ``KeyboardInterrupt``
before the first completed epoch (or L-BFGS iteration) has nothing to keep
and propagates.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.optimize
import scipy.sparse as sp

from .hooks import EpochEnd, EpochHook
from .network import Network, Workspace
from .optimizers import Chain, ChainState, GradientClip
from .state import EpochRecord, TrainingState, copy_into, plain_copy
from .stopping import REDUCE, STOP

__all__ = [
    "Batches",
    "Checkpoint",
    "History",
    "Outcome",
    "Progress",
    "Step",
    "TrainingConfig",
    "TrainingData",
    "Validation",
    "VerboseLine",
    "epoch_hooks",
    "finite_on",
    "param_groups",
    "run_lbfgs",
    "run_stochastic",
]

INTERRUPTED = "Training interrupted by user."


@dataclass
class Outcome:
    """How a call of a training loop ended, and its final training loss."""

    n_iter: int
    loss: float
    stop_reason: str
    message: str = ""
    unstable: str = ""  # why the kept weights are suspect though finite (a warning)


@dataclass
class Progress:
    """What a training call has made so far, for an interrupt that lands
    outside the loop's own handling (while the result is verified, recorded
    or committed).

    The loops fill it in as they start: ``net``, ``params`` (the vector
    trained in place) and ``state`` (``None`` for L-BFGS); ``keep()`` then
    puts the last whole epoch (or the best L-BFGS iterate) back into
    ``params`` and ``state`` and returns its :class:`Outcome`, or ``None``
    when the call has completed nothing yet. It may be called again if
    interrupted itself.
    """

    net: Network | None = None
    params: np.ndarray | None = None
    state: TrainingState | None = None
    keep: Callable[[], Outcome | None] = lambda: None

    def salvage(self) -> Outcome | None:
        """The :class:`Outcome` of the last whole epoch, kept; ``None`` if none."""
        return self.keep()


@dataclass
class TrainingData:
    """The rows training runs on (the validation rows are elsewhere).

    ``out_dtype``, when narrower than the network's, is the dtype predictions
    for these rows come back in (float32 input to a float64 model): kept
    weights must give predictions that fit in it.
    """

    X: object
    Y: np.ndarray
    sample_weight: np.ndarray | None = None
    out_dtype: object = None

    @functools.cached_property
    def x_max(self) -> float:
        """The largest ``|x|`` (implicit zeros of sparse input included)."""
        X = self.X
        return max(abs(float(X.max())), abs(float(X.min()))) if X.shape[0] else 0.0

    @functools.cached_property
    def y_max(self) -> float:
        """The largest ``|y|``."""
        return float(np.max(np.abs(self.Y))) if self.Y.size else 0.0


@dataclass
class Step:
    """One training step: loss and gradient, then the update ``chain``
    (:func:`skmlp.optimizers.make_chain`: the optimizer's step and the
    transforms around it).

    ``ws`` binds the parameter vector and the gradient; ``dropout_rng``
    (give it only where the network drops units) draws each batch's masks.
    ``compiled``, when set (see :mod:`skmlp.compiled`), runs the loss and
    gradient in a compiled kernel with the same arithmetic; whether the
    optimizer's step runs compiled is the chain's choice. L-BFGS takes the
    loss and gradient only, and has no chain.
    """

    net: Network
    ws: Workspace
    chain: Chain | None = None
    alpha: float = 0.0
    l1_ratio: float = 0.0
    dropout_rng: np.random.Generator | None = None
    compiled: object = field(default=None, init=False)

    def loss_and_grad(self, X, Y, sample_weight) -> float:
        """The penalized batch loss; the gradient goes to ``ws.grad``."""
        fast = self.compiled
        if self.dropout_rng is not None:  # given only where the network drops units
            if fast is not None:
                fast.draw_dropout_masks(X.shape[0], self.dropout_rng)
            else:
                self.net.draw_dropout_masks(self.ws, X.shape[0], self.dropout_rng)
        if fast is not None:
            return fast.loss_and_grad(X, Y, sample_weight, self.alpha, self.l1_ratio)
        return self.net.loss_and_grad(self.ws, X, Y, sample_weight, self.alpha, self.l1_ratio)

    def update(self, optimizer_state: ChainState, rate: float) -> None:
        """Move the parameters one step against the current gradient."""
        self.chain.update(self.ws.grad, optimizer_state, self.ws.params, rate)

    def take_clipped(self, optimizer_state: ChainState) -> int:
        """Steps whose gradient a clipping transform rescaled since the last call."""
        return self.chain.take_clipped(optimizer_state)

    def compiled_epoch(self, batches: Batches):
        """The compiled kernel that runs a whole epoch of these steps over
        ``batches`` (:class:`skmlp.compiled.CompiledEpoch`), or None where
        a batch needs Python: the batch kernel is not attached, units drop,
        the chain has a link the epoch kernel lacks, or this step's
        per-batch methods are not :class:`Step`'s own (a subclass, or
        instrumentation wrapping them, must see every batch)."""
        if self.compiled is None or self.chain is None:
            return None
        if any(getattr(type(self), name) is not own for name, own in _PER_BATCH.items()):
            return None
        return self.compiled.epoch(self, batches)

    def __call__(self, X, Y, sample_weight, optimizer_state: ChainState, rate: float) -> float:
        """One step on a batch; a non-finite loss is returned, not applied."""
        loss = self.loss_and_grad(X, Y, sample_weight)
        if math.isfinite(loss):
            self.update(optimizer_state, rate)
        return loss


# what a compiled epoch does in place of each batch's calls: Step's own methods
_PER_BATCH = {name: Step.__dict__[name] for name in ("__call__", "loss_and_grad", "update")}


def param_groups(net: Network) -> list[tuple[slice, bool, float]]:
    """The parameter groups of ``net`` as the update chain takes them:
    ``(slice, decayed, learning-rate factor)`` for each block of the flat
    vector (:func:`skmlp.optimizers.make_chain`)."""
    return [(where, g.decay, g.lr_factor) for g in net.groups for where in g.slices]


@dataclass
class Validation(EpochHook):
    """The first epoch-end hook: loss and score of the epoch's parameters on
    held-out rows, filled into its record.

    ``score(pred, params)`` turns the network's predictions (or, for a
    scikit-learn scorer, a snapshot of ``params``) into a score; ``None``
    scores by the negated validation loss.
    """

    net: Network
    data: TrainingData
    score: Callable[[np.ndarray, np.ndarray], float] | None = None
    name: str = "the validation data"  # in messages

    def on_epoch_end(self, epoch: EpochEnd) -> None:
        val_loss, val_score = self(epoch.params)
        epoch.record = epoch.record._replace(val_loss=val_loss, val_score=val_score)

    def __call__(self, params: np.ndarray) -> tuple[float, float]:
        """The validation loss and score of ``params``."""
        X, Y, sw = self.data.X, self.data.Y, self.data.sample_weight
        pred = self.net.predict(params, X)
        if not np.isfinite(pred).all():
            return math.nan, math.nan
        loss = float(self.net.loss.value(Y, pred, pred - Y, sw))
        score = -loss if self.score is None else self.score(pred, params)
        return loss, float(score)


class History(EpochHook):
    """The history hook: stamps the epoch's time (validation included) and
    appends its record to the training state, so it is committed with it."""

    def __init__(self):
        self.started = math.nan

    def on_epoch_begin(self) -> None:
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: EpochEnd) -> None:
        epoch.record = epoch.record._replace(time=time.perf_counter() - self.started)
        epoch.state.records.append(epoch.record)


class VerboseLine(EpochHook):
    """The ``verbose`` reporter: scikit-learn's lines, exactly as its MLP
    prints them."""

    def __init__(self, validation: bool):
        self.validation = validation

    def on_epoch_end(self, epoch: EpochEnd) -> None:
        print(f"Iteration {epoch.n_iter}, loss = {epoch.record.train_loss:.8f}")
        if self.validation:
            print(f"Validation score: {epoch.record.val_score:f}")
        verdict = epoch.verdict
        action = None if verdict is None else verdict.action  # None: an L-BFGS iteration
        if action == STOP:
            print(f"{verdict.message} Stopping.")
        elif action == REDUCE:
            print(verdict.message)


@dataclass
class TrainingConfig:
    """Everything the mini-batch loop needs, built once by the estimator.

    ``schedule(step, t)`` gives the rate of each update before the plateau
    rule's scale (:meth:`TrainingState.rate`); ``stopping`` is a rule of
    :mod:`skmlp.stopping`; ``validation`` (or ``None``) scores each epoch;
    ``reporters`` hear of each committed epoch. All three are epoch hooks,
    called in the order :func:`epoch_hooks` declares; the caller closes the
    reporters. ``incremental`` runs one epoch (``partial_fit``).
    """

    step: Step
    schedule: Callable[[int, int], float]
    stopping: object
    batch_size: int
    max_iter: int
    shuffle: bool = True
    incremental: bool = False
    validation: Validation | None = None
    reporters: Sequence = ()


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

    @property
    def n_batches(self) -> int:
        return -(-self.X.shape[0] // self.batch_size)

    def epoch(self, rng):
        """Draw the epoch's row order, then yield its batches."""
        self.draw(rng)
        yield from self.batches()

    def draw(self, rng) -> None:
        """The epoch's row order (when shuffling): scikit-learn's draw, so
        equal seeds give equal batches."""
        if self.shuffle:
            perm = np.arange(self.X.shape[0])
            rng.shuffle(perm)
            self.order = self.order[perm]

    def batches(self):
        """The batches of the order drawn last."""
        n = self.X.shape[0]
        sw = self.sample_weight
        for start in range(0, n, self.batch_size):
            stop = min(start + self.batch_size, n)
            if self.shuffle:
                idx = self.order[start:stop]
                yield (
                    _rows(self.X, idx, self.X_buf),
                    _rows(self.Y, idx, self.Y_buf),
                    None if sw is None else _rows(sw, idx, self.sw_buf),
                )
            else:
                yield (
                    self.X[start:stop],
                    self.Y[start:stop],
                    None if sw is None else sw[start:stop],
                )


class Checkpoint:
    """What one epoch end commits: parameters, optimizer state, clocks,
    stopping memory, rate scale and the number of records, copied into
    reused buffers."""

    def __init__(self, params: np.ndarray, state: TrainingState):
        self.params = np.empty_like(params)
        # the optimizer state's plain form: every field but scratch
        self.optimizer = plain_copy(state.optimizer.to_dict())
        self.valid = False
        self.save(params, state)

    def save(self, params: np.ndarray, state: TrainingState) -> None:
        self.valid = False  # until every part is copied
        np.copyto(self.params, params)
        copy_into(self.optimizer, state.optimizer.to_dict())
        self.stopping = copy.copy(state.stopping)  # its arrays are never written into
        self.rate_scale = state.rate_scale
        self.step, self.t, self.n_records = state.step, state.t, len(state.records)
        self.valid = True

    def restore(self, params: np.ndarray, state: TrainingState) -> None:
        np.copyto(params, self.params)
        state.optimizer.load(self.optimizer)
        state.stopping = copy.copy(self.stopping)
        state.rate_scale = self.rate_scale
        state.step, state.t = self.step, self.t
        del state.records[self.n_records :]


class _Checkpoints:
    """The start of the call and the two latest epoch ends."""

    def __init__(self, params: np.ndarray, state: TrainingState):
        self.start = self.last = Checkpoint(params, state)
        self.previous = None
        self.commits = 0  # epochs committed in this call
        self.kept = None  # the older checkpoint verification fell back to

    def commit(self, params: np.ndarray, state: TrainingState) -> None:
        spare = self.previous
        if spare is None or spare is self.start:
            spare = Checkpoint(params, state)
        else:
            spare.save(params, state)
        # an interrupt between these two leaves `last` at the older, whole
        # checkpoint: the epoch is then rolled back, never half kept
        self.previous = self.last
        self.last = spare
        self.commits += 1

    def fallbacks(self):
        """Checkpoints to fall back to, newest first."""
        seen = set()
        for ckpt in (self.last, self.previous, self.start):
            if ckpt is not None and ckpt.valid and ckpt.n_records not in seen:
                seen.add(ckpt.n_records)
                yield ckpt


class _Commit(EpochHook):
    """The epoch-end hook after which an epoch is kept whole: it checkpoints
    the parameters and the state (records, memory, rate scale, clocks)."""

    def __init__(self, checkpoints: _Checkpoints):
        self.checkpoints = checkpoints

    def on_epoch_end(self, epoch: EpochEnd) -> None:
        self.checkpoints.commit(epoch.params, epoch.state)


def finite_on(net: Network, params: np.ndarray, data: TrainingData) -> bool:
    """Whether ``params`` give finite predictions and loss on ``data``.

    A bound from the weights alone settles most cases without touching the
    data (:meth:`Network.raw_output_bound`); only parameters it cannot
    certify pay for a forward pass over every row.
    """
    n = data.X.shape[0]
    out = params.dtype
    if data.out_dtype is not None and np.dtype(data.out_dtype).itemsize < out.itemsize:
        out = np.dtype(data.out_dtype)
    safe = net.loss.safe_raw_bound(out, max(n, 1), data.y_max)
    if net.raw_output_bound(params, data.x_max) <= safe:
        return True
    try:
        # an overflow anywhere in the forward pass counts, even where a
        # saturating activation or link would hide it from the predictions
        with np.errstate(over="raise", invalid="raise", divide="ignore", under="ignore"):
            pred = net.predict(params, data.X, out_dtype=out)
    except FloatingPointError:
        return False
    if not np.isfinite(pred).all():
        return False
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return math.isfinite(net.loss.value(data.Y, pred, pred - data.Y, data.sample_weight))


def run_stochastic(
    config: TrainingConfig,
    state: TrainingState,
    params: np.ndarray,
    data: TrainingData,
    rng,
    progress: Progress | None = None,
) -> Outcome:
    """Train ``params`` (the vector ``config.step`` is bound to) in place by
    mini-batch epochs, advancing ``state``.

    With ``config.validation`` the best-scoring parameters are restored at
    the end, as scikit-learn's ``early_stopping`` does. ``progress``, if
    given, can keep the last whole epoch after an interrupt that lands
    anywhere once this call has begun (see :class:`Progress`).
    """
    batches = Batches(data.X, data.Y, data.sample_weight, config.batch_size, config.shuffle)
    checkpoints = _Checkpoints(params, state)
    hooks = epoch_hooks(config, checkpoints)
    fast = config.step.compiled_epoch(batches)
    if progress is not None:
        progress.net, progress.params, progress.state = config.step.net, params, state
        progress.keep = functools.partial(_keep_last, config, state, params, data, checkpoints)
    reason, message = "incremental" if config.incremental else "max_iter", ""
    # non-finite values are detected and reported as divergence, so numpy's
    # overflow warnings on the way there are noise
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            while checkpoints.commits < config.max_iter:
                for hook in hooks:
                    hook.on_epoch_begin()
                config.step.take_clipped(state.optimizer)  # count this epoch's steps only
                loss, mean_rate, rate = _train_epoch(config, state, batches, rng, fast)
                if not (math.isfinite(loss) and np.isfinite(params).all()):
                    reason, message = "diverged", _diverged(checkpoints.commits, rate)
                    break
                if not _all_finite(_saved(state.optimizer)):
                    # the weights are finite but the optimizer would never
                    # move those whose moments overflowed again
                    reason, message = "diverged", _state_overflowed(checkpoints.commits)
                    break
                epoch = EpochEnd(
                    checkpoints.commits + 1,
                    _record(config, state, loss, mean_rate),
                    params,
                    rate,
                    state,
                )
                for hook in hooks:
                    hook.on_epoch_end(epoch)
                if epoch.verdict.action == STOP:
                    reason, message = "converged", epoch.verdict.message
                    break
                if epoch.stop:
                    reason, message = "callback", "Training stopped by a callback."
                    break
                if config.incremental:
                    break
        except KeyboardInterrupt:
            if checkpoints.commits == 0:
                raise  # no epoch completed (past its commit, Progress keeps it)
            reason, message = "interrupted", INTERRUPTED
    if reason == "max_iter":
        message = (
            f"Stochastic Optimizer: Maximum iterations ({config.max_iter}) reached and "
            "the optimization hasn't converged yet."
        )
    if reason in ("diverged", "interrupted"):
        checkpoints.last.restore(params, state)
    outcome = _settle(config, state, params, data, checkpoints, reason, message)
    if outcome.stop_reason != "diverged":
        outcome.unstable = _loss_rise(state.records[checkpoints.start.n_records :])
    return outcome


# A training loss this many times the first epoch's at the end of a call is
# reported (DivergenceWarning): the first epoch's average includes the
# untrained start, so a sound run ends well below it (docs/deviations.md).
LOSS_RISE_FACTOR = 10.0


def _loss_rise(records: Sequence[EpochRecord]) -> str:
    """Why the call's final training loss is suspect, or ``""``."""
    if len(records) < 2:
        return ""
    first, last = records[0], records[-1]
    if not last.train_loss > LOSS_RISE_FACTOR * first.train_loss:
        return ""
    return (
        f"The training loss rose from {first.train_loss:.4g} in epoch {first.epoch} to "
        f"{last.train_loss:.4g} in epoch {last.epoch}, more than {LOSS_RISE_FACTOR:g} "
        "times: training is unstable and the final weights are likely poor. Use a "
        "smaller learning_rate_init, or standardize the inputs."
    )


def _saved(optimizer_state):
    """What of the optimizer's state persists (its scratch buffers hold
    anything)."""
    return optimizer_state.to_dict() if hasattr(optimizer_state, "to_dict") else optimizer_state


def _all_finite(tree) -> bool:
    """Whether every number in an optimizer's state is finite (arrays and
    numbers, in dicts, lists, tuples or dataclasses, however it is laid out)."""
    if isinstance(tree, np.ndarray):
        return tree.dtype.kind not in "fc" or bool(np.isfinite(tree).all())
    if isinstance(tree, dict):
        return all(_all_finite(v) for v in tree.values())
    if isinstance(tree, list | tuple):
        return all(_all_finite(v) for v in tree)
    if dataclasses.is_dataclass(tree):
        return all(_all_finite(getattr(tree, f.name)) for f in dataclasses.fields(tree))
    if isinstance(tree, float | np.floating):
        return math.isfinite(tree)
    return True


def _keep_last(config, state, params, data, checkpoints) -> Outcome | None:
    """Roll back to the last whole epoch (or to the older one verification
    fell back to) and settle it; ``None`` if this call completed none."""
    ckpt = checkpoints.kept or checkpoints.last
    if ckpt.n_records == checkpoints.start.n_records:
        return None
    ckpt.restore(params, state)
    return _settle(config, state, params, data, checkpoints, "interrupted", INTERRUPTED)


def epoch_hooks(config: TrainingConfig, checkpoints: _Checkpoints) -> list[EpochHook]:
    """Every epoch-end hook of the mini-batch loop, in the order it is called.

    1. the validation (if any) fills the record's validation loss and score;
    2. the stopping rule judges the epoch: its verdict, its memory, and a
       reduction of the rate's plateau scale;
    3. the history stamps the record's time and appends it to the state;
    4. the commit checkpoints the epoch: from here it is kept whole;
    5. the reporters (``verbose``, scikit-learn's callbacks) report it, and
       may ask to stop.

    The loop then reads the verdict and the stop flag.
    """
    validation = [] if config.validation is None else [config.validation]
    return [*validation, config.stopping, History(), _Commit(checkpoints), *config.reporters]


def _train_epoch(config: TrainingConfig, state: TrainingState, batches: Batches, rng, fast=None):
    """One pass over the batches: (mean loss, mean rate, last rate), or a
    non-finite loss at the first batch whose loss is not finite.

    ``fast`` (a compiled epoch, :meth:`Step.compiled_epoch`) runs every
    batch in one call: the rates are a function of the step, fixed before
    the epoch (its sample clock and the plateau scale move only between
    epochs), so they are all computed first, as the loop would.
    """
    batches.draw(rng)
    if fast is not None:
        rates = [state.rate(config.schedule, k) for k in range(batches.n_batches)]
        if all(type(rate) is float for rate in rates):  # numpy scalars would round otherwise
            return _tally(state, batches, *fast(state.optimizer, rates, batches.order), rates)
    total, rate_sum, n_steps, rate = 0.0, 0.0, 0, math.nan
    for Xb, Yb, swb in batches.batches():
        rate = state.rate(config.schedule)
        loss = config.step(Xb, Yb, swb, state.optimizer, rate)
        if not math.isfinite(loss):
            return loss, math.nan, rate
        total += loss * Xb.shape[0]
        state.step += 1
        rate_sum += rate
        n_steps += 1
    state.t += batches.X.shape[0]
    return total / batches.X.shape[0], rate_sum / max(n_steps, 1), rate


def _tally(state: TrainingState, batches: Batches, losses, clipped: int, rates):
    """``_train_epoch``'s result and clocks from a compiled epoch's losses,
    with the loop's arithmetic."""
    total, rate_sum, n_steps, rate = 0.0, 0.0, 0, math.nan
    clip = state.optimizer.transforms.get(GradientClip.name)
    if clip is not None:
        clip.clipped += clipped
    n, size = batches.X.shape[0], batches.batch_size
    for k, (loss, rate) in enumerate(zip(losses, rates)):
        if not math.isfinite(loss):
            return loss, math.nan, rate
        total += loss * (min(n, (k + 1) * size) - k * size)
        state.step += 1
        rate_sum += rate
        n_steps += 1
    state.t += n
    return total / n, rate_sum / max(n_steps, 1), rate


def _record(config: TrainingConfig, state: TrainingState, loss, mean_rate) -> EpochRecord:
    """The epoch's record as training leaves it (the hooks fill in the rest)."""
    nan = math.nan
    clipped = config.step.take_clipped(state.optimizer)
    return EpochRecord(
        len(state.records) + 1, loss, nan, nan, mean_rate, nan, clipped, state.rate_scale
    )


def _state_overflowed(n_iter: int) -> str:
    return (
        f"Training diverged in epoch {n_iter + 1} (the optimizer's state became "
        "non-finite: a gradient overflowed, as rows with huge values make it)"
    )


def _diverged(n_iter: int, rate: float) -> str:
    return (
        f"Training diverged in epoch {n_iter + 1} (the loss became non-finite at "
        f"learning rate {rate:g})"
    )


def _settle(config, state, params, data, checkpoints, reason, message) -> Outcome:
    """Restore the best epoch, verify the parameters, say what was kept."""
    step = config.step
    if reason == "diverged":
        state.optimizer = step.chain.init(params)
    if config.validation is not None and state.best_params is not None:
        np.copyto(params, state.best_params)
    rows = {"the training data": data}
    if config.validation is not None:
        rows[config.validation.name] = config.validation.data

    def failing(params):  # where params give non-finite output first, or None
        return next(
            (name for name, part in rows.items() if not finite_on(step.net, params, part)), None
        )

    checked = " and ".join(rows)
    bad = failing(params)
    if bad is not None:
        if reason != "diverged":
            message = f"The final weights give a non-finite loss on {bad}"
        reason, kept = "diverged", None
        for ckpt in checkpoints.fallbacks():
            if np.array_equal(ckpt.params, params):
                continue  # these were just found wanting
            bad = failing(ckpt.params)
            if bad is None:
                # from here an interrupt must not go back to a newer
                # checkpoint: restoring this one truncates the records
                checkpoints.kept = kept = ckpt
                ckpt.restore(params, state)
                break
        if kept is None:
            raise ValueError(
                "Training diverged and even the weights this fit started from give "
                f"non-finite predictions or loss on {bad}. Standardize the "
                "inputs, or scale the targets."
            )
        state.optimizer = step.chain.init(params)
        message += f"; {_describe(kept, checkpoints.start)} were kept"
    elif reason == "diverged":
        message += f"; {_describe(checkpoints.last, checkpoints.start)} were kept"
    if reason == "diverged":
        message += (
            f" (checked finite on {checked}). Use a smaller learning_rate_init, "
            "or standardize the inputs."
        )
    n_iter = len(state.records) - checkpoints.start.n_records
    loss = state.records[-1].train_loss if state.records else math.nan
    return Outcome(n_iter, loss, reason, message)


def _describe(ckpt: Checkpoint, start: Checkpoint) -> str:
    if ckpt.n_records == start.n_records:
        return "the weights this fit started from"
    return f"the weights from the end of epoch {ckpt.n_records}"


class _Float64Objective:
    """The L-BFGS objective in float64, for the points where a narrower
    network's evaluation overflows.

    float32 overflows where float64 does not (``exp`` at 88.7 against 709.8):
    Poisson's log link on inputs of scale 100 already does at the initial
    weights. scipy then gets the float64 loss and gradient, which lead it
    back to where float32 is finite; the parameters kept are only ever ones
    whose float32 loss is finite. The float64 copy of the data is made at
    the first overflow, never on a run that has none.
    """

    def __init__(self, step: Step, data: TrainingData):
        self.narrow, self.data, self.wide = step, data, None

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        if self.wide is None:
            X, Y, sw = self.data.X, self.data.Y, self.data.sample_weight
            wide_X = X.astype(np.float64)
            wide_Y = Y if Y.dtype == bool else Y.astype(np.float64)
            wide_sw = None if sw is None else sw.astype(np.float64)
            narrow = self.narrow
            ws = narrow.net.workspace(X.shape[0], x.astype(np.float64))
            step = Step(narrow.net, ws, None, narrow.alpha, narrow.l1_ratio)
            self.wide = (step, wide_X, wide_Y, wide_sw)
        step, X, Y, sw = self.wide
        step.ws.params[...] = x
        return step.loss_and_grad(X, Y, sw), step.ws.grad


def run_lbfgs(
    step: Step,
    params: np.ndarray,
    data: TrainingData,
    *,
    max_iter: int,
    max_fun: int,
    tol: float,
    reporters: Sequence = (),
    progress: Progress | None = None,
) -> Outcome:
    """Minimize the full-batch objective with scipy's L-BFGS-B, in place.

    ``step`` supplies the objective (its ``loss_and_grad``, on a workspace
    for all rows). scipy iterates in float64; the network is evaluated in
    ``params.dtype``, so a float32 model stays float32. The parameters with
    the lowest finite loss evaluated so far are kept when the loss becomes
    non-finite or the user interrupts; a run that scipy ends right after a
    non-finite evaluation (with no lower loss since) is reported as
    diverged. ``reporters`` hear of each iteration as of an epoch (its
    record holds the iteration's loss only), and may stop it.
    ``progress``, if given, can keep the best iterate after an interrupt
    that lands anywhere once this call has begun (see :class:`Progress`).
    """
    run = _LbfgsRun(params)
    if progress is not None:
        progress.net, progress.params, progress.state = step.net, params, None
        progress.keep = run.keep_best
    wide = None if params.dtype == np.float64 else _Float64Objective(step, data)

    def fun(x):
        params[...] = x
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            loss = step.loss_and_grad(data.X, data.Y, data.sample_weight)
            grad = step.ws.grad
            run.evaluated(loss)  # the kept weights must be finite in their own dtype
            if wide is not None and not (math.isfinite(loss) and np.isfinite(grad).all()):
                loss, grad = wide(x)
        run.seen(loss)
        return loss, grad.astype(np.float64)

    def callback(intermediate_result):
        run.n_iter += 1
        n_iter = run.n_iter
        x = intermediate_result.x.astype(params.dtype)
        nan = math.nan
        epoch = EpochEnd(n_iter, EpochRecord(n_iter, float(intermediate_result.fun), *[nan] * 4), x)
        for reporter in reporters:
            reporter.on_epoch_end(epoch)
        if epoch.stop:
            raise StopIteration  # scipy ends the minimization, keeping x
        for reporter in reporters:
            reporter.on_epoch_begin()

    for reporter in reporters:
        reporter.on_epoch_begin()
    try:
        result = scipy.optimize.minimize(
            fun,
            params.astype(np.float64),
            method="L-BFGS-B",
            jac=True,
            callback=callback,
            options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol},
        )
    except KeyboardInterrupt:
        outcome = run.keep_best()
        if outcome is None:
            raise
        return outcome
    return _lbfgs_outcome(run, result, params)


class _LbfgsRun:
    """The evaluations of one L-BFGS run: the best finite one (its loss and
    a copy of its parameters, replaced together), whether a non-finite one
    came after the last improvement, and the iterations completed."""

    def __init__(self, params: np.ndarray):
        self.params = params
        self.best = (math.inf, params.copy())
        self.spare = np.empty_like(params)
        self.n_iter = 0
        self.non_finite_last = False  # a non-finite loss since the last improvement

    def evaluated(self, loss: float) -> None:
        """An evaluation of the parameters, in their dtype."""
        if math.isfinite(loss) and loss <= self.best[0]:
            if loss < self.best[0]:
                self.non_finite_last = False
            np.copyto(self.spare, self.params)
            # one assignment: an interrupt never pairs a loss with other weights
            self.best, self.spare = (loss, self.spare), self.best[1]

    def seen(self, loss: float) -> None:
        """The loss scipy is given for the evaluation."""
        if not math.isfinite(loss):
            self.non_finite_last = True

    def keep_best(self) -> Outcome | None:
        """Put the best iterate back into the parameters (after an interrupt);
        ``None`` if no iteration completed or no loss was finite."""
        loss, best = self.best
        if self.n_iter == 0 or not math.isfinite(loss):
            return None
        np.copyto(self.params, best)
        return Outcome(self.n_iter, float(loss), "interrupted", INTERRUPTED)


def _lbfgs_outcome(run: _LbfgsRun, result, params: np.ndarray) -> Outcome:
    """How scipy's run ended, with the parameters it leaves set."""
    params[...] = result.x
    loss = float(result.fun)
    best_loss, best = run.best
    finite = math.isfinite(loss) and np.isfinite(params).all()
    if not finite or (run.non_finite_last and result.status != 99):
        if math.isfinite(best_loss):
            np.copyto(params, best)
        elif finite:  # finite only in float64 so far (see _Float64Objective): scipy's x
            best_loss = loss
        else:
            raise ValueError(
                "L-BFGS found no parameters with a finite loss on the training data, "
                "not even the initial ones. Standardize the inputs, or scale the targets."
            )
        what = "produced" if not finite else "stopped right after"
        return Outcome(
            int(result.nit),
            best_loss,
            "diverged",
            f"L-BFGS {what} a non-finite loss; the parameters with the lowest finite "
            f"loss ({best_loss:.6g}) were kept. Standardize the inputs or increase alpha.",
        )
    if result.status == 99:  # a reporter raised StopIteration
        return Outcome(int(result.nit), loss, "callback", "Training stopped by a callback.")
    if result.status == 0:
        return Outcome(int(result.nit), loss, "converged", str(result.message))
    return Outcome(
        int(result.nit),
        loss,
        "max_iter",
        f"lbfgs failed to converge after {int(result.nit)} iteration(s) "
        f"(status={result.status}): {result.message}. Increase max_iter or max_fun, "
        "or scale the data.",
    )
