"""scikit-learn's callback API (``sklearn.callback``, scikit-learn >= 1.9), glued
to the trainer's epoch hooks.

The estimators inherit :class:`CallbackSupportMixin` and decorate ``fit`` and
``partial_fit`` with :func:`with_callbacks`. Each fit opens a root task; a
:class:`CallbackBridge` turns every epoch (or L-BFGS iteration) into one
subtask, whose ``fitted_estimator`` predicts with the parameters a fit stopped
there would keep; :class:`FitTasks` holds one fit's tasks. Where
``sklearn.callback`` does not exist, ``set_callbacks`` raises an ImportError
that names the version that brings it, and nothing else changes.
"""

from __future__ import annotations

import sklearn

from .hooks import EpochEnd, EpochHook

try:
    from sklearn.callback import CallbackSupportMixin, with_callbacks
except ImportError:  # scikit-learn < 1.9

    class CallbackSupportMixin:  # type: ignore[no-redef]
        """Stand-in for scikit-learn's mixin where ``sklearn.callback`` is absent."""

        def set_callbacks(self, *callbacks):
            """Set callbacks: needs scikit-learn's callback API (>= 1.9).

            Raises
            ------
            ImportError
                Always, with this version of scikit-learn.
            """
            raise ImportError(
                "set_callbacks needs scikit-learn's callback API (sklearn.callback), "
                f"which scikit-learn 1.9 brings; this is scikit-learn {sklearn.__version__}. "
                "Upgrade with: pip install 'scikit-learn>=1.9'."
            )

        def _init_callback_context(self, *args, **kwargs):
            return None

    def with_callbacks(method):  # type: ignore[no-redef]
        return method


__all__ = ["CallbackBridge", "CallbackSupportMixin", "FitTasks", "with_callbacks"]


class CallbackBridge(EpochHook):
    """The trainer's epoch hooks as scikit-learn callback subtasks.

    A callback that returns true from ``on_fit_task_end`` sets the epoch's
    stop flag: training stops after that epoch.

    Parameters
    ----------
    context : sklearn.callback.CallbackContext
        The fit's root task.
    estimator : MLPClassifier or MLPRegressor
        The estimator whose ``fit`` runs (the hooks' ``estimator``).
    fitted : callable
        ``fitted(params) -> dict``: the attributes that make a copy of
        ``estimator`` predict with ``params``.
    X, y, metadata
        The training data of every subtask, as scikit-learn's hooks take it.
    task_name : str
        The subtasks' name: ``'epoch'`` or ``'lbfgs-iter'``.
    """

    def __init__(self, context, estimator, fitted, X, y, metadata, task_name):
        self.context, self.estimator, self.fitted = context, estimator, fitted
        self.X, self.y, self.metadata, self.task_name = X, y, metadata, task_name
        self._open = None

    def _data(self) -> dict:
        return dict(estimator=self.estimator, X=self.X, y=self.y, metadata=self.metadata)

    def on_epoch_begin(self) -> None:
        self._open = self.context.subcontext(task_name=self.task_name)
        self._open.call_on_fit_task_begin(**self._data())

    def on_epoch_end(self, epoch: EpochEnd) -> None:
        task, self._open = self._open, None
        snapshot, n_iter = epoch.kept.copy(), epoch.n_iter  # the parameters go on changing
        if task.call_on_fit_task_end(
            **self._data(), reconstruction_attributes=lambda: self.fitted(snapshot, n_iter)
        ):
            epoch.stop = True

    def close(self) -> None:
        """End a subtask that was begun but never ran (rolled back, or the
        extra one after L-BFGS's last iteration) as an empty task."""
        if self._open is not None:
            task, self._open = self._open, None
            task.call_on_fit_task_end(estimator=self.estimator)


class FitTasks:
    """The scikit-learn callback tasks of one fit (nothing without callbacks):
    the root task's begin and end, and the bridges that open its subtasks.
    ``fitted(params, n_iter)`` gives the attributes of a fitted copy."""

    def __init__(self, context, owner, fitted):
        self.context, self.owner, self.fitted = context, owner, fitted
        self.active = context is not None and bool(getattr(owner, "_skl_callbacks", None))
        self.X = self.y = self.metadata = None

    def begin(self, data, y) -> None:
        if self.context is None:
            return
        self.X, self.y = data.X, y
        sw = data.sample_weight
        self.metadata = None if sw is None else {"sample_weight": sw}
        self.context.call_on_fit_task_begin(
            estimator=self.owner, X=self.X, y=self.y, metadata=self.metadata
        )

    def bridge(self, data, task_name: str, y) -> list:
        """The reporter that turns epochs into subtasks, on the training rows
        ``data`` (labelled ``y``)."""
        if not self.active:
            return []
        sw = data.sample_weight
        metadata = None if sw is None else {"sample_weight": sw}
        return [
            CallbackBridge(self.context, self.owner, self.fitted, data.X, y, metadata, task_name)
        ]

    def end(self, params, n_iter: int) -> None:
        if self.context is None:
            return
        self.context.call_on_fit_task_end(
            estimator=self.owner,
            X=self.X,
            y=self.y,
            metadata=self.metadata,
            reconstruction_attributes=lambda: self.fitted(params, n_iter),
        )
