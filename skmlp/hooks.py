"""The epoch-end hook protocol: one record type, one set of methods.

Every participant at the end of an epoch (the validation, the stopping rule,
the history, the reporters ``verbose`` and scikit-learn's callbacks) is an
:class:`EpochHook` and receives the same :class:`EpochEnd`. The mini-batch
loop calls them in one declared order (:func:`skmlp.trainer.epoch_hooks`);
each reads what the earlier ones filled in. A hook asks to stop by setting a
flag the loop reads (``EpochEnd.stop``), never by raising, and reaches
nothing but the record: no hook calls back into the estimator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from .state import EpochRecord, TrainingState
    from .stopping import Verdict

__all__ = ["EpochEnd", "EpochHook"]


@dataclass
class EpochEnd:
    """What every epoch-end hook receives.

    Attributes
    ----------
    n_iter : int
        The epoch's number within this call of the loop (1-based).
    record : EpochRecord
        The epoch's numbers. The validation hook fills ``val_loss`` and
        ``val_score``; the history stamps ``time``; the record as the history
        appends it is what later hooks see.
    params : ndarray
        The parameters after the epoch. Hooks never write into them.
    rate : float
        The rate of the epoch's last update (NaN for an L-BFGS iteration).
    state : TrainingState or None
        The training state, where the stopping rule keeps its memory and the
        rate's plateau scale lives; ``None`` for an L-BFGS iteration.
    verdict : Verdict or None
        The stopping rule's decision; ``None`` where no rule judges (L-BFGS).
    stop : bool
        Set by a hook that asks training to stop after this epoch.
    """

    n_iter: int
    record: EpochRecord
    params: np.ndarray
    rate: float = float("nan")
    state: TrainingState | None = None
    verdict: Verdict | None = None
    stop: bool = False

    @property
    def kept(self) -> np.ndarray:
        """The parameters a fit stopped now would keep: the best validated
        ones with early stopping (once an epoch has scored), else ``params``."""
        best = None if self.state is None else self.state.best_params
        return self.params if best is None else best


class EpochHook:
    """The methods of every epoch-end participant; each defaults to nothing."""

    def on_epoch_begin(self) -> None:
        """An epoch (or L-BFGS iteration) begins."""

    def on_epoch_end(self, epoch: EpochEnd) -> None:
        """An epoch ended: read ``epoch``, fill in your part, or set ``epoch.stop``."""

    def close(self) -> None:
        """Training is over (whether it completed, stopped or failed)."""
