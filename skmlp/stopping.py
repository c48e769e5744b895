"""Stopping rules: after each epoch, continue, reduce the rate, or stop.

A rule is a small immutable object holding its settings, and an epoch-end
hook (:class:`~skmlp.hooks.EpochHook`): it judges each epoch from the
:class:`~skmlp.hooks.EpochEnd` and leaves a :class:`Verdict` there for the
loop to read. Each rule owns the type of its memory (:class:`LossMemory`,
:class:`ScoreMemory`); the memory itself lives in the training state, so it
persists across warm starts.

- :class:`TrainingLossRule`: scikit-learn's rule without early stopping,
  stop when the training loss has not fallen by ``tol`` for more than
  ``patience`` epochs;
- :class:`ValidationScoreRule`: the same on the validation score, keeping the
  best-scoring parameters for the trainer to restore;
- :class:`ReduceOnPlateau`: wraps either; where the inner rule would stop, it
  divides the rate by ``factor`` instead, until the rate falls to
  ``min_rate``. scikit-learn's ``learning_rate='adaptive'`` (factor 5, down
  to 1e-6, sgd only) and skmlp's ``'plateau'`` (``plateau_factor``, down to
  ``learning_rate_min``, every solver) are its two settings. The reductions
  are the training state's ``rate_scale``, not the rule's memory: the rate
  every update uses is ``TrainingState.rate``.

With ``restart=True``, epochs up to ``start_from`` (counted over all
records) are ignored by the patience, as Keras's
``EarlyStopping(start_from_epoch=...)`` ignores them: a schedule that first
raises the rate (warm-up, ``one_cycle``, ``cyclic``) is not cut short before
its peak, and after the peak the patience measures improvement against the
epochs since, not against a best reached while the rate was still rising.
The best epoch (whose weights are restored) is still searched over every
epoch.

:func:`make_stopping_rule` composes the rule of a fit from plain settings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from .hooks import EpochEnd, EpochHook

__all__ = [
    "CONTINUE",
    "REDUCE",
    "STOP",
    "LossMemory",
    "ReduceOnPlateau",
    "ScoreMemory",
    "TrainingLossRule",
    "ValidationScoreRule",
    "Verdict",
    "make_stopping_rule",
]

CONTINUE, REDUCE, STOP = "continue", "reduce", "stop"


@dataclass(frozen=True)
class Verdict:
    """A rule's decision after an epoch, with the reason to report.

    With ``REDUCE``, ``factor`` is what the rate is divided by.
    """

    action: str = CONTINUE
    message: str = ""
    factor: float = 1.0


# --- memories ------------------------------------------------------------------
@dataclass
class _PatienceMemory:
    """What the patience counts: epochs without improvement, and (after the
    schedule's peak, with ``restart``) the value improvement is measured against."""

    no_improvement_count: int = 0
    reference: float | None = None

    def to_dict(self) -> dict:
        """The memory as builtins and numpy arrays (for pickle and skops)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict):
        """Rebuild the memory from :meth:`to_dict`'s output."""
        return cls(**data)


@dataclass
class LossMemory(_PatienceMemory):
    """The memory of :class:`TrainingLossRule`: the best training loss."""

    best_loss: float = math.inf


@dataclass
class ScoreMemory(_PatienceMemory):
    """The memory of :class:`ValidationScoreRule`: the best validation score,
    its epoch and its parameters.

    ``best_params`` is replaced by a new array when a better epoch comes,
    never written into, so a shallow copy is a true snapshot.
    """

    best_score: float = -math.inf
    best_epoch: int | None = None
    best_params: np.ndarray | None = None

    @classmethod
    def from_dict(cls, data: dict) -> ScoreMemory:
        """Rebuild the memory from :meth:`to_dict`'s output, copying the array."""
        memory = cls(**data)
        if memory.best_params is not None:
            memory.best_params = np.array(memory.best_params)
        return memory


# --- rules ---------------------------------------------------------------------
class _Rule(EpochHook):
    """The hook every rule shares: judge the epoch, leave the verdict, and
    apply a reduction to the rate's plateau scale."""

    def on_epoch_end(self, epoch: EpochEnd) -> None:
        state = epoch.state
        epoch.verdict = self.update(state.stopping, epoch.record, epoch.params, epoch.rate)
        if epoch.verdict.action == REDUCE:
            state.rate_scale /= epoch.verdict.factor


def _no_improvement_message(what: str, tol: float, patience: float) -> str:
    return f"{what} did not improve more than tol={tol:f} for {patience} consecutive epochs."


@dataclass(frozen=True)
class TrainingLossRule(_Rule):
    """Stop when the training loss has not improved by ``tol`` for more than
    ``patience`` consecutive epochs (scikit-learn's rule)."""

    tol: float
    patience: float
    start_from: int = 0
    restart: bool = False
    memory_type: ClassVar[type] = LossMemory

    def update(self, memory: LossMemory, record, params: np.ndarray, rate: float) -> Verdict:
        """Judge the epoch of ``record``, updating ``memory``."""
        loss = record.train_loss
        best = memory.best_loss
        if loss < memory.best_loss:
            memory.best_loss = loss
        # patience compares with the best so far, or with the best since the peak
        return _patience(self, memory, record, -loss, -best, "Training loss")


@dataclass(frozen=True)
class ValidationScoreRule(_Rule):
    """Stop when the validation score has not improved by ``tol`` for more
    than ``patience`` consecutive epochs; remember the best epoch's
    parameters (a NaN score never improves). Of epochs that tie for the
    best score the first is kept (scikit-learn's choice), or the last with
    ``last_tie`` (RealMLP's: later epochs have trained at smaller rates)."""

    tol: float
    patience: float
    start_from: int = 0
    restart: bool = False
    last_tie: bool = False
    memory_type: ClassVar[type] = ScoreMemory

    def update(self, memory: ScoreMemory, record, params: np.ndarray, rate: float) -> Verdict:
        """Judge the epoch of ``record``, updating ``memory``."""
        score = record.val_score
        best = memory.best_score
        if score > best or (self.last_tie and score == best):
            memory.best_score = score
            memory.best_epoch = record.epoch
            memory.best_params = params.copy()  # a new array: snapshots stay valid
        return _patience(self, memory, record, score, best, "Validation score")


def _patience(rule, memory: _PatienceMemory, record, value, best, what) -> Verdict:
    """Count an epoch that fails to beat the reference (higher is better) by tol."""
    if record.epoch <= rule.start_from:  # the schedule is still rising
        return Verdict()
    if rule.restart:
        if record.epoch == rule.start_from + 1:
            memory.reference, memory.no_improvement_count = None, 0
        reference = memory.reference
        if reference is None:
            if value == value:  # the first finite value after the peak sets it
                memory.reference = value
                return Verdict()
            return _count(memory, True, rule.patience, what, rule.tol)  # NaN: no improvement
        worse = not value >= reference + rule.tol
        if value > reference:
            memory.reference = value
    else:
        worse = not value >= best + rule.tol
    return _count(memory, worse, rule.patience, what, rule.tol)


def _count(memory: _PatienceMemory, worse: bool, patience: float, what: str, tol: float):
    memory.no_improvement_count = memory.no_improvement_count + 1 if worse else 0
    if worse and memory.no_improvement_count > patience:
        return Verdict(STOP, _no_improvement_message(what, tol, patience))
    return Verdict()


@dataclass(frozen=True)
class ReduceOnPlateau(_Rule):
    """Where ``rule`` would stop, divide the rate by ``factor`` instead, as
    long as the current rate is above ``min_rate``.

    Its memory is its inner rule's (a reduction restarts that rule's
    patience); what it divides is the training state's ``rate_scale``.
    """

    rule: TrainingLossRule | ValidationScoreRule
    factor: float = 5.0
    min_rate: float = 1e-6

    @property
    def memory_type(self) -> type:
        return self.rule.memory_type

    def update(self, memory, record, params: np.ndarray, rate: float) -> Verdict:
        """The inner rule's verdict, with a stop turned into a reduction
        while ``rate`` (the epoch's last) is above ``min_rate``."""
        verdict = self.rule.update(memory, record, params, rate)
        if verdict.action == STOP and rate > self.min_rate:
            memory.no_improvement_count = 0
            message = f"{verdict.message} Setting learning rate to {rate / self.factor:f}"
            return Verdict(REDUCE, message, self.factor)
        return verdict


def make_stopping_rule(
    *,
    validation: bool,
    tol: float,
    patience: float,
    epochs_done: int = 0,
    peak_epoch: float = 0.0,
    learning_rate: str = "constant",
    solver: str = "adam",
    plateau_factor: float = 5.0,
    plateau_min_rate: float = 1e-6,
    last_tie: bool = False,
) -> TrainingLossRule | ValidationScoreRule | ReduceOnPlateau:
    """The stopping rule of one fit, from the estimator's settings.

    Parameters
    ----------
    validation : bool
        Whether epochs are scored on held-out rows (:class:`ValidationScoreRule`)
        or judged by the training loss (:class:`TrainingLossRule`).
    tol, patience : float
        ``tol`` and ``n_iter_no_change``.
    epochs_done : int, default=0
        Epochs recorded before this fit (warm starts count on).
    peak_epoch : float, default=0.0
        The epoch at which this fit's schedule first peaks (0: it starts
        there); the patience ignores the epochs up to it and then restarts.
    learning_rate, solver : str
        ``'plateau'`` (every solver) and ``'adaptive'`` (``sgd`` only, as
        scikit-learn) wrap the rule in :class:`ReduceOnPlateau`.
    plateau_factor, plateau_min_rate : float
        ``'plateau'``'s divisor, and the rate at which it stops reducing.
        ``'adaptive'`` always divides by 5 down to 1e-6, as scikit-learn.
    last_tie : bool, default=False
        Whether the validation rule keeps the last of epochs that tie for
        the best score (the first otherwise).
    """
    peak = math.ceil(peak_epoch)
    if validation:
        rule = ValidationScoreRule(
            tol, patience, epochs_done + peak, restart=peak > 0, last_tie=last_tie
        )
    else:
        rule = TrainingLossRule(tol, patience, epochs_done + peak, restart=peak > 0)
    if learning_rate == "plateau":
        return ReduceOnPlateau(rule, plateau_factor, plateau_min_rate)
    if learning_rate == "adaptive" and solver == "sgd":
        return ReduceOnPlateau(rule)  # scikit-learn's factor 5, down to 1e-6
    return rule
