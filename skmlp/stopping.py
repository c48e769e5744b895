"""Stopping rules: after each epoch, continue, reduce the rate, or stop.

A rule is a small immutable object holding its settings; its memory lives in
the training state's :class:`~skmlp.state.StoppingState`, so it persists
across warm starts. ``update`` reads the epoch's record and returns a
:class:`Verdict`:

- :class:`TrainingLossRule`: scikit-learn's rule without early stopping,
  stop when the training loss has not fallen by ``tol`` for more than
  ``patience`` epochs;
- :class:`ValidationScoreRule`: the same on the validation score, keeping the
  best-scoring parameters for the trainer to restore;
- :class:`ReduceOnPlateau`: wraps either; where the inner rule would stop, it
  divides the rate by ``factor`` instead, until the rate falls to
  ``min_rate``. scikit-learn's ``learning_rate='adaptive'`` (factor 5, down
  to 1e-6, sgd only) and skmlp's ``'plateau'`` (``plateau_factor``, down to
  ``learning_rate_min``, every solver) are its two settings.

With ``restart=True``, epochs up to ``start_from`` (counted over all
records) are ignored by the patience, as Keras's
``EarlyStopping(start_from_epoch=...)`` ignores them: a schedule that first
raises the rate (warm-up, ``one_cycle``, ``cyclic``) is not cut short before
its peak, and after the peak the patience measures improvement against the
epochs since, not against a best reached while the rate was still rising.
The best epoch (whose weights are restored) is still searched over every
epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .state import EpochRecord, StoppingState

__all__ = [
    "CONTINUE",
    "REDUCE",
    "STOP",
    "ReduceOnPlateau",
    "TrainingLossRule",
    "ValidationScoreRule",
    "Verdict",
]

CONTINUE, REDUCE, STOP = "continue", "reduce", "stop"


@dataclass(frozen=True)
class Verdict:
    """A rule's decision after an epoch, with the reason to report."""

    action: str = CONTINUE
    message: str = ""


def _no_improvement_message(what: str, tol: float, patience: float) -> str:
    return f"{what} did not improve more than tol={tol:f} for {patience} consecutive epochs."


@dataclass(frozen=True)
class TrainingLossRule:
    """Stop when the training loss has not improved by ``tol`` for more than
    ``patience`` consecutive epochs (scikit-learn's rule)."""

    tol: float
    patience: float
    start_from: int = 0
    restart: bool = False
    validation = False

    def update(
        self, memory: StoppingState, record: EpochRecord, params: np.ndarray, rate: float
    ) -> Verdict:
        loss = record.train_loss
        best = memory.best_loss
        if loss < memory.best_loss:
            memory.best_loss = loss
        # patience compares with the best so far, or with the best since the peak
        return _patience(self, memory, record, -loss, -best, "Training loss")


@dataclass(frozen=True)
class ValidationScoreRule:
    """Stop when the validation score has not improved by ``tol`` for more
    than ``patience`` consecutive epochs; remember the best epoch's
    parameters (a NaN score never improves)."""

    tol: float
    patience: float
    start_from: int = 0
    restart: bool = False
    validation = True

    def update(
        self, memory: StoppingState, record: EpochRecord, params: np.ndarray, rate: float
    ) -> Verdict:
        score = record.val_score
        best = memory.best_score
        if score > memory.best_score:
            memory.best_score = score
            memory.best_epoch = record.epoch
            memory.best_params = params.copy()  # a new array: snapshots stay valid
        return _patience(self, memory, record, score, best, "Validation score")


def _patience(rule, memory: StoppingState, record: EpochRecord, value, best, what) -> Verdict:
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


def _count(memory: StoppingState, worse: bool, patience: float, what: str, tol: float) -> Verdict:
    memory.no_improvement_count = memory.no_improvement_count + 1 if worse else 0
    if worse and memory.no_improvement_count > patience:
        return Verdict(STOP, _no_improvement_message(what, tol, patience))
    return Verdict()


@dataclass(frozen=True)
class ReduceOnPlateau:
    """Where ``rule`` would stop, divide the rate by ``factor`` instead, as
    long as the current rate is above ``min_rate``."""

    rule: TrainingLossRule | ValidationScoreRule
    factor: float = 5.0
    min_rate: float = 1e-6

    @property
    def validation(self) -> bool:
        return self.rule.validation

    def update(
        self, memory: StoppingState, record: EpochRecord, params: np.ndarray, rate: float
    ) -> Verdict:
        verdict = self.rule.update(memory, record, params, rate)
        if verdict.action == STOP and rate > self.min_rate:
            memory.lr_scale /= self.factor
            memory.no_improvement_count = 0
            return Verdict(
                REDUCE, f"{verdict.message} Setting learning rate to {rate / self.factor:f}"
            )
        return verdict
