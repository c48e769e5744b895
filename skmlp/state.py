"""The training state: everything a stochastic fit carries to the next call.

One :class:`TrainingState` holds the clocks (update steps and samples seen),
the optimizer's state, the stopping rule's state and the per-epoch records.
The estimator keeps it between calls (``warm_start``, ``partial_fit``) in its
plain form, :meth:`TrainingState.to_dict`: numpy arrays and Python builtins
only, so pickle and skops files need to trust nothing but the estimator
classes. :meth:`TrainingState.from_dict` rebuilds the typed state with its
own copies of every array, so a fit that works on it never touches the state
the estimator holds until it commits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import NamedTuple

import numpy as np

__all__ = ["HISTORY_KEYS", "EpochRecord", "StoppingState", "TrainingState", "upgrade_history"]


class EpochRecord(NamedTuple):
    """What one completed epoch adds to ``history_`` (NaN where not measured)."""

    epoch: int
    train_loss: float
    val_loss: float
    val_score: float
    learning_rate: float
    time: float
    clipped: int = 0  # steps whose gradient max_grad_norm rescaled


HISTORY_KEYS = EpochRecord._fields


def upgrade_history(columns: dict) -> dict:
    """History columns saved by an older skmlp, with the columns added since
    (``clipped``: 0 for every epoch)."""
    if isinstance(columns, dict) and "clipped" not in columns and "epoch" in columns:
        columns = {**columns, "clipped": [0] * len(columns["epoch"])}
    return columns


@dataclass
class StoppingState:
    """The stopping rule's memory (see :mod:`skmlp.stopping`).

    ``best_params`` is replaced by a new array when a better epoch comes,
    never written into, so a shallow copy is a true snapshot.
    """

    best_loss: float | None = None  # watched training loss (no validation)
    best_score: float | None = None  # best validation score (with validation)
    no_improvement_count: int = 0
    best_params: np.ndarray | None = None
    best_epoch: int | None = None
    lr_scale: float = 1.0  # the plateau rule's divisions of the rate
    reference: float | None = None  # what patience compares with, after a peak

    @classmethod
    def new(cls, validation: bool) -> StoppingState:
        return cls(
            best_loss=None if validation else math.inf, best_score=-math.inf if validation else None
        )


@dataclass
class TrainingState:
    """The persistent state of stochastic training.

    Attributes
    ----------
    solver, n_params, early_stopping : str, int, bool
        The configuration the state belongs to (see :meth:`continues`).
    learning_rate_init : float
        The initial rate the schedule was built from.
    optimizer : dict
        The optimizer's own state (``Optimizer.init``).
    stopping : StoppingState
        The stopping rule's memory.
    step : int
        Updates made since the state was created.
    schedule_start : int
        The step at which the current schedule started (each ``fit`` restarts
        its schedule; ``partial_fit`` calls continue one).
    t : int
        Training samples seen (scikit-learn's ``t_``).
    records : list of EpochRecord
        One record per completed epoch, over every call.
    """

    solver: str
    n_params: int
    early_stopping: bool
    learning_rate_init: float
    optimizer: dict
    stopping: StoppingState
    step: int = 0
    schedule_start: int = 0
    t: int = 0
    records: list = field(default_factory=list)

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
            self.stopping.lr_scale = 1.0
        self.learning_rate_init = learning_rate_init
        if not incremental:
            self.schedule_start = self.step

    # --- the persisted form ----------------------------------------------
    def to_dict(self) -> dict:
        """The state as numpy arrays and builtins (for pickle and skops)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["stopping"] = {f.name: getattr(self.stopping, f.name) for f in fields(StoppingState)}
        out["optimizer"] = dict(self.optimizer)
        out["records"] = {key: [r[i] for r in self.records] for i, key in enumerate(HISTORY_KEYS)}
        return out

    @classmethod
    def from_dict(cls, data: dict) -> TrainingState:
        """Rebuild the state from :meth:`to_dict`'s output, copying every array."""
        data = dict(data)
        stopping = dict(data.pop("stopping"))
        if stopping["best_params"] is not None:
            stopping["best_params"] = np.array(stopping["best_params"])
        optimizer = {
            k: np.array(v) if isinstance(v, np.ndarray) else v
            for k, v in data.pop("optimizer").items()
        }
        columns = upgrade_history(data.pop("records"))
        records = [EpochRecord(*row) for row in zip(*(columns[k] for k in HISTORY_KEYS))]
        return cls(optimizer=optimizer, stopping=StoppingState(**stopping), records=records, **data)

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
        history = {key: [r[i] for r in self.records] for i, key in enumerate(HISTORY_KEYS)}
        loss_curve = list(history["train_loss"])
        return {
            "loss_curve_": loss_curve,
            "loss_": loss_curve[-1] if loss_curve else math.nan,
            "history_": history,
            "t_": self.t,
            "best_loss_": self.stopping.best_loss,
            "validation_scores_": list(history["val_score"]) if self.early_stopping else None,
            "best_validation_score_": self.stopping.best_score,
            "best_epoch_": self._best_epoch(),
        }
