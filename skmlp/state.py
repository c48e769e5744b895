"""The training state: everything a stochastic fit carries to the next call.

One :class:`TrainingState` holds the clocks (update steps and samples seen),
the optimizer's state, the stopping rule's memory, the plateau rule's scale of
the rate (:meth:`TrainingState.rate` is the one place the rate of an update
is computed) and the per-epoch records.
The estimator keeps it between calls (``warm_start``, ``partial_fit``) in its
plain form, :meth:`TrainingState.to_dict`: numpy arrays and Python builtins
only, so pickle and skops files need to trust nothing but the estimator
classes. :meth:`TrainingState.from_dict` rebuilds the typed state with its
own copies of every array, so a fit that works on it never touches the state
the estimator holds until it commits.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .stopping import LossMemory, ScoreMemory

if TYPE_CHECKING:
    from .optimizers import ChainState

__all__ = [
    "HISTORY_KEYS",
    "EpochRecord",
    "StoppingState",
    "TrainingState",
    "copy_into",
    "plain_copy",
    "upgrade_history",
]


class EpochRecord(NamedTuple):
    """What one completed epoch adds to ``history_`` (NaN where not measured),
    and the scale of the rate its updates used."""

    epoch: int
    train_loss: float
    val_loss: float
    val_score: float
    learning_rate: float  # the mean rate of the epoch's updates, plateau scale included
    time: float
    clipped: int = 0  # steps whose gradient max_grad_norm rescaled
    # the plateau scale of the epoch's updates (NaN: saved by an skmlp that did
    # not record it); learning_rate_schedule shows the rates it gives
    rate_scale: float = math.nan


# the columns of ``history_``: every field of the record but its rate scale
HISTORY_KEYS = tuple(key for key in EpochRecord._fields if key != "rate_scale")


def _columns(records: list, keys) -> dict:
    return {key: [getattr(r, key) for r in records] for key in keys}


def upgrade_history(columns: dict) -> dict:
    """Record columns saved by an older skmlp, with the columns added since
    (``clipped``: 0 for every epoch; ``rate_scale``: NaN, not recorded)."""
    if isinstance(columns, dict) and "epoch" in columns:
        n = len(columns["epoch"])
        added = {"clipped": [0] * n, "rate_scale": [math.nan] * n}
        columns = {**{k: v for k, v in added.items() if k not in columns}, **columns}
    return columns


def plain_copy(data: dict) -> dict:
    """A copy of a plain state (nested dicts of arrays and numbers) with its
    own arrays."""
    return {
        k: plain_copy(v) if isinstance(v, dict) else np.array(v) if isinstance(v, np.ndarray) else v
        for k, v in data.items()
    }


def copy_into(buffers: dict, data: dict) -> None:
    """Copy a plain state into ``plain_copy``'s buffers of the same layout."""
    for k, v in data.items():
        if isinstance(v, dict):
            copy_into(buffers[k], v)
        elif isinstance(v, np.ndarray):
            np.copyto(buffers[k], v)
        else:
            buffers[k] = v


class StoppingState:
    """The stopping rule's memory: a :class:`~skmlp.stopping.LossMemory`
    without validation, a :class:`~skmlp.stopping.ScoreMemory` with it."""

    @staticmethod
    def new(validation: bool) -> LossMemory | ScoreMemory:
        """A fresh memory for the rule of this validation setting."""
        return ScoreMemory() if validation else LossMemory()

    @staticmethod
    def from_dict(data: dict, validation: bool) -> tuple[LossMemory | ScoreMemory, float | None]:
        """The memory saved as ``data``, and the rate scale an skmlp before
        the memories split kept in it (``lr_scale``; ``None`` otherwise)."""
        memory_type = ScoreMemory if validation else LossMemory
        if "lr_scale" not in data:
            return memory_type.from_dict(dict(data)), None
        # saved before the split: one dict held both rules' fields and the scale
        names = {f.name for f in fields(memory_type)}
        memory = memory_type.from_dict({k: v for k, v in data.items() if k in names})
        return memory, float(data["lr_scale"])


@dataclass
class TrainingState:
    """The persistent state of stochastic training.

    Attributes
    ----------
    solver, n_params, early_stopping : str, int, bool
        The configuration the state belongs to (see :meth:`continues`).
    learning_rate_init : float
        The initial rate the schedule was built from.
    optimizer : ChainState or dict
        The update chain's state (:meth:`skmlp.optimizers.Chain.init`); in
        a state just rebuilt by :meth:`from_dict`, its plain form, which
        :meth:`skmlp.optimizers.Chain.restore` turns back into one.
    stopping : LossMemory or ScoreMemory
        The stopping rule's memory (the rule's ``memory_type``).
    step : int
        Updates made since the state was created.
    schedule_start : int
        The step at which the current schedule started (each ``fit`` restarts
        its schedule; ``partial_fit`` calls continue one).
    t : int
        Training samples seen (scikit-learn's ``t_``).
    records : list of EpochRecord
        One record per completed epoch, over every call.
    rate_scale : float
        What the plateau rule's reductions multiply the schedule's rate by
        (see :meth:`rate`).
    objective : dict or None
        The settings that defined the training loss (see
        :meth:`new_objective`); ``None`` in states saved before it was kept.
    """

    solver: str
    n_params: int
    early_stopping: bool
    learning_rate_init: float
    optimizer: ChainState | dict
    stopping: LossMemory | ScoreMemory
    step: int = 0
    schedule_start: int = 0
    t: int = 0
    records: list = field(default_factory=list)
    rate_scale: float = 1.0
    objective: dict | None = None  # what the stopping memory's losses measured

    def rate(self, schedule: Callable[[int, int], float], ahead: int = 0) -> float:
        """The rate of the next update (or of the one ``ahead`` steps later
        in this epoch): the schedule's rate at that step, times the plateau
        rule's reductions. The one place it is computed."""
        return schedule(self.step + ahead - self.schedule_start, self.t) * self.rate_scale

    @property
    def best_params(self) -> np.ndarray | None:
        """The best validated parameters so far (``None`` without validation)."""
        return self.stopping.best_params if self.early_stopping else None

    def continues(self, solver: str, n_params: int, early_stopping: bool) -> bool:
        """Whether a fit with this configuration may continue this state.

        A different solver, network size or validation setting starts a
        fresh state (the parameters themselves still carry over).
        """
        return (
            self.solver == solver
            and self.n_params == n_params
            and self.early_stopping == early_stopping
        )

    def restart(self, learning_rate_init: float, incremental: bool) -> None:
        """Prepare for another call: each ``fit`` runs its schedule from the
        start (a warm restart), ``partial_fit`` calls continue one; a new
        initial rate undoes the plateau rule's reductions."""
        if learning_rate_init != self.learning_rate_init:
            self.rate_scale = 1.0
        self.learning_rate_init = learning_rate_init
        if not incremental:
            self.schedule_start = self.step

    def new_objective(self, objective: dict) -> None:
        """Train for ``objective`` (the settings that define the loss values)
        from now on. Where it differs from the one the stopping memory was
        kept for, the memory starts afresh: another objective's best loss,
        score or weights would stop the fit at once. The rate scale stays."""
        if self.objective is not None and objective != self.objective:
            self.stopping = StoppingState.new(self.early_stopping)
        self.objective = objective

    # --- the persisted form ----------------------------------------------
    def to_dict(self) -> dict:
        """The state as numpy arrays and builtins (for pickle and skops)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["stopping"] = self.stopping.to_dict()
        optimizer = self.optimizer
        out["optimizer"] = dict(optimizer) if isinstance(optimizer, dict) else optimizer.to_dict()
        out["records"] = _columns(self.records, EpochRecord._fields)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> TrainingState:
        """Rebuild the state from :meth:`to_dict`'s output, copying every array.

        A state saved by an older skmlp (one ``StoppingState`` holding both
        rules' fields and the rate scale) is converted.
        """
        data = dict(data)
        stopping, rate_scale = StoppingState.from_dict(data.pop("stopping"), data["early_stopping"])
        if rate_scale is not None:
            data["rate_scale"] = rate_scale
        optimizer = plain_copy(data.pop("optimizer"))
        columns = upgrade_history(data.pop("records"))
        records = [EpochRecord(*row) for row in zip(*(columns[k] for k in EpochRecord._fields))]
        return cls(optimizer=optimizer, stopping=stopping, records=records, **data)

    # --- what the estimator shows ----------------------------------------
    def _best_epoch(self) -> int | None:
        """The epoch whose weights early stopping kept: the best-scoring one,
        else (no score ever improved, e.g. all NaN) the last, 0 for none."""
        if not self.early_stopping:
            return None
        if self.stopping.best_epoch is not None:
            return self.stopping.best_epoch
        return len(self.records)

    def fitted_attributes(self) -> dict:
        """The estimator's fitted attributes that this state determines."""
        history = _columns(self.records, HISTORY_KEYS)
        loss_curve = list(history["train_loss"])
        return {
            "loss_curve_": loss_curve,
            "loss_": loss_curve[-1] if loss_curve else math.nan,
            "history_": history,
            "t_": self.t,
            "best_loss_": None if self.early_stopping else self.stopping.best_loss,
            "validation_scores_": list(history["val_score"]) if self.early_stopping else None,
            "best_validation_score_": self.stopping.best_score if self.early_stopping else None,
            "best_epoch_": self._best_epoch(),
        }
