"""scikit-learn glue: parameter constraints, input validation, label encoding.

The estimators validate their input, build a :class:`~skmlp.network.Network`,
an optimizer and a schedule from the registries, hand them to the training
loop in :mod:`skmlp.trainer`, and store the fitted attributes.  No numerics
live here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

from . import _docs, _labels, _loading, _params, _validation, compiled, schedules
from ._callbacks import CallbackSupportMixin, FitTasks, with_callbacks
from ._inputs import check_target_domain, check_weight_sum, in_training_dtype, numeric_targets
from ._transaction import commit, serialized, warn_outcome
from ._warn import warn
from .losses import Loss, make_loss
from .lr_finder import LRRangeTestResult, run_range_test
from .network import Network
from .optimizers import OPTIMIZERS, make_chain
from .state import StoppingState, TrainingState
from .stopping import make_stopping_rule
from .trainer import (
    Batches,
    Outcome,
    Progress,
    Step,
    TrainingConfig,
    TrainingData,
    VerboseLine,
    param_groups,
    run_lbfgs,
    run_stochastic,
)

__all__ = ["DivergenceWarning", "MLPClassifier", "MLPRegressor"]

# where the HTML repr's documentation links point (see docs/api.rst); a
# self-hosted build of docs/ can set this before estimators are displayed
DOCS_URL = "https://skmlp.readthedocs.io/en/stable/"

_LINK_TO_LOSS = {
    "identity": "squared_error",
    "exp": "poisson",
    "softmax": "log_loss",
    "logistic": "binary_log_loss",
}


# what a stochastic fit records and an L-BFGS fit does not (nor keeps stale)
_STOCHASTIC_ATTRIBUTES = (
    "loss_curve_",
    "history_",
    "validation_scores_",
    "best_validation_score_",
    "best_loss_",
    "best_epoch_",
    "learning_rate_init_",
)


# the attributes a copy of the estimator needs to predict (besides the weights)
_PREDICTION_ATTRIBUTES = (
    "n_features_in_",
    "feature_names_in_",
    "n_outputs_",
    "n_layers_",
    "out_activation_",
    "classes_",
    "_target_type",
    "_multilabel",
    "_fitted_with",
)


class _FitCall(NamedTuple):
    """One call of ``fit`` or ``partial_fit``, as given."""

    X: object
    y: object
    sample_weight: object = None
    incremental: bool = False
    classes: object = None
    X_val: object = None
    y_val: object = None
    sample_weight_val: object = None


class _Problem(NamedTuple):
    """What a fit trains: the network, its parameters, the rows, the RNG."""

    net: Network
    params: np.ndarray
    data: TrainingData
    rng: np.random.RandomState


# with dtype='auto', stochastic fits of float64 data this large train in
# float32 (see docs/performance.md)
_FLOAT32_MIN_SAMPLES = 10_000


class DivergenceWarning(ConvergenceWarning):
    """Training produced a non-finite loss and was stopped.

    The estimator keeps the last weights with a finite loss; the message
    names the fix (usually a smaller ``learning_rate_init``).
    """


def _stochastic(est) -> bool:
    if est.solver == "lbfgs":
        raise AttributeError(
            "partial_fit is only available for the stochastic solvers "
            f"{sorted(OPTIMIZERS)}; solver='lbfgs' trains on the full batch."
        )
    return True


class _BaseMLP(CallbackSupportMixin, BaseEstimator):
    _output_links = frozenset(_LINK_TO_LOSS)
    # the HTML repr's links, as scikit-learn's (_HTMLDocumentationLinkMixin)
    _doc_link_module = "skmlp"

    @property
    def _doc_link_template(self) -> str:
        return self.__dict__.get("_doc_link", DOCS_URL + "generated/skmlp.{estimator_name}.html")

    @_doc_link_template.setter
    def _doc_link_template(self, value: str) -> None:
        self.__dict__["_doc_link"] = value

    _parameter_constraints: dict = _params.constraints(_params.SHARED)
    # which of epochs tying for the best validation score early stopping keeps
    _best_of_ties = "first"
    # what a copy of the estimator needs to predict, besides the weights
    _prediction_attributes = _PREDICTION_ATTRIBUTES

    # subclasses supply these
    def _validate_input(self, X, y, incremental, reset):  # pragma: no cover
        raise NotImplementedError

    def _loss_name(self, Y) -> str:  # pragma: no cover
        raise NotImplementedError

    def _make_loss(self, Y) -> Loss:
        return make_loss(self._loss_name(Y))

    def _training_targets(self, Y: np.ndarray, dtype) -> np.ndarray:
        """The targets the loss trains on (the classifier smooths them)."""
        return Y

    def _score_on(self, X, y, sample_weight) -> float:  # pragma: no cover
        raise NotImplementedError

    def _weigh_classes(self, Y, sample_weight, dtype):
        return sample_weight

    # --- helpers ------------------------------------------------------
    def _network(self) -> Network:
        units = [self.coefs_[0].shape[0]] + [c.shape[1] for c in self.coefs_]
        return Network(units, self.activation, _LINK_TO_LOSS[self.out_activation_])

    # --- the committed model and its stand-ins --------------------------
    def _copy(self, **attributes):
        """A private shallow copy of the estimator, with ``attributes`` set.

        Copying the instance dictionary is one C-level operation, so a copy
        never holds half of a concurrent fit's commit. ``predict`` works on
        such a copy, and a fit trains one and commits it whole.
        """
        other = object.__new__(type(self))
        other.__dict__ = {**self.__dict__, **attributes}
        return other

    def __copy__(self):
        # scikit-learn's callbacks copy the estimator to reconstruct a fitted
        # one mid-fit; that copy must not run the load-time state check
        return self._copy()

    def _standin(self, net: Network, params: np.ndarray):
        """A frozen fitted copy that predicts with ``params`` (for scorers
        during training). Feature names are left out: it is handed
        validated arrays."""
        coefs, intercepts = net.views(params)
        other = self._copy(coefs_=coefs, intercepts_=intercepts)
        other.__dict__.pop("feature_names_in_", None)
        other.__dict__.pop("_train_state", None)
        return other

    def _raw_predict(self, X) -> np.ndarray:
        """Network output (after the link), in the floating dtype of ``X``.

        The network computes in its own dtype; rows are converted chunk by
        chunk, so a float64 ``X`` on a float32 model costs no full copy.
        """
        net, params, X = self._prediction_inputs(X)
        return net.predict(params, X, out_dtype=X.dtype)

    def _prediction_inputs(self, X):
        """``(network, parameters, X validated)`` for a prediction."""
        X = validate_data(
            self, X, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32), reset=False
        )
        net = self._network()
        return net, net.pack(self.coefs_, self.intercepts_, self.coefs_[0].dtype), X

    def _training_dtype(self, X) -> np.dtype:
        """The dtype the network trains in, by the ``dtype`` parameter."""
        if self.dtype != "auto":
            return np.dtype(self.dtype)
        if X.dtype == np.float32:
            return np.dtype(np.float32)
        if self.solver != "lbfgs" and X.shape[0] >= _FLOAT32_MIN_SAMPLES:
            return np.dtype(np.float32)
        return np.dtype(np.float64)

    # --- fitting: a transaction -----------------------------------------
    def _fit(self, call: _FitCall):
        """Train a private copy, then commit every fitted attribute at once.

        Validation, encoding and training all happen on the copy; an error
        or an interrupt before the commit leaves this estimator as it was.
        The callback context lives on this estimator (its teardown must find
        it whatever happens); the hooks are told about this estimator too.
        """
        compiled.warn_if_missing()
        context = self._init_callback_context(
            task_name="partial_fit" if call.incremental else "fit",
            max_subtasks=self._max_subtasks(call.incremental),
        )
        work, progress = self._copy(), Progress()
        try:
            outcome = work._train(call, context, self, progress)
            commit(self, work)
        except KeyboardInterrupt:
            # past the loop's own handling (verifying, recording, committing):
            # keep the last whole epoch all the same, if there is one
            outcome = work._salvage(progress)
            if outcome is None:
                raise
            commit(self, work)
        warn_outcome(outcome, DivergenceWarning)
        return self

    def _max_subtasks(self, incremental: bool) -> int:
        if self.solver == "lbfgs":
            return self.max_iter + 1  # scipy's callback opens one iteration too many
        return 1 if incremental else self.max_iter

    def _train(self, call: _FitCall, context, owner, progress: Progress):
        _validation.check_arguments(self, call)
        problem = self._prepare(call.X, call.y, call.sample_weight, call.incremental, call.classes)
        hooks = FitTasks(context, owner, self._reconstruction(problem.net))
        hooks.begin(problem.data, self._decode(problem.data.Y) if hooks.active else None)
        if self.solver == "lbfgs":
            outcome = self._train_lbfgs(problem, hooks, progress)
        else:
            outcome = self._train_stochastic(problem, call, hooks, progress)
        self._set_fitted(progress, outcome)
        hooks.end(problem.params, outcome.n_iter)
        return outcome

    def _set_fitted(self, progress: Progress, outcome: Outcome) -> None:
        """The fitted attributes of what training kept (run again if interrupted)."""
        state = progress.state
        if state is None:
            # L-BFGS: a later stochastic warm start begins afresh, and the
            # records of an earlier stochastic fit no longer describe this model
            self._train_state = None
            for name in _STOCHASTIC_ATTRIBUTES:
                self.__dict__.pop(name, None)
        else:
            self._train_state = state.to_dict()
            for name, value in state.fitted_attributes().items():
                setattr(self, name, value)
        self.coefs_, self.intercepts_ = progress.net.views(progress.params)
        self.n_iter_, self.loss_ = outcome.n_iter, outcome.loss

    def _salvage(self, progress: Progress) -> Outcome | None:
        """After an interrupt: the last whole epoch, kept and recorded in the
        fitted attributes; ``None`` if the call completed none. A further
        interrupt starts it over."""
        while True:
            try:
                outcome = progress.salvage()
                if outcome is not None:
                    self._set_fitted(progress, outcome)
                return outcome
            except KeyboardInterrupt:
                continue

    def _reconstruction(self, net: Network):
        """``fitted(params, n_iter) -> dict``: what makes a copy of the estimator
        predict with ``params`` (the callbacks' ``fitted_estimator``)."""

        def fitted(params: np.ndarray, n_iter: int) -> dict:
            coefs, intercepts = net.views(params)
            kept = {k: v for k, v in vars(self).items() if k in self._prediction_attributes}
            return {**kept, "coefs_": coefs, "intercepts_": intercepts, "n_iter_": n_iter}

        return fitted

    def _start_partial_fit(self, y, classes) -> None:
        """Learn what a first ``partial_fit`` call must be told (classes)."""

    def _held_out_rows(self, X_val):
        """``X_val`` checked like ``X``, by errors that name it."""
        return _validation.held_out_rows(self, X_val)

    def _prepare(self, X, y, sample_weight, incremental, classes=None) -> _Problem:
        """Validate the data; build the network and its parameter vector."""
        hidden = _params.hidden_sizes(self.hidden_layer_sizes)
        if incremental:
            self._start_partial_fit(y, classes)
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        if not first_pass:
            _loading.check_continuable(
                getattr(self, "_fitted_with", None),
                self._continuity_key(),
                self.solver,
                self.dtype,
                self.coefs_[0].dtype,
            )
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        input_dtype = X.dtype  # predictions for these rows come back in it
        dtype = self._training_dtype(X) if first_pass else self.coefs_[0].dtype
        weighted = sample_weight is not None
        X, Y, sample_weight = in_training_dtype(X, Y, sample_weight, dtype, self.dtype)
        if not first_pass and Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} outputs but the model was fitted with "
                f"{self.n_outputs_}; fit it anew (warm_start=False) to change."
            )

        rng = check_random_state(self.random_state)
        dropout = _params.dropout_rates(self.dropout, len(hidden), type(self).__name__)
        if self.solver == "lbfgs":
            dropout = 0.0  # documented: L-BFGS trains without dropout
        net = self._new_network(X.shape[1], hidden, Y, dropout)
        sample_weight = self._weigh_classes(Y, sample_weight, dtype)
        if sample_weight is not None:
            check_weight_sum(
                sample_weight, weighted, getattr(self, "class_weight", None) is not None
            )

        if first_pass:
            params = self._initial_params(net, rng, dtype, X)
            net.start_output_bias(params, self._training_targets(Y, dtype), sample_weight)
            self._fitted_with = self._continuity_key()
            self.n_outputs_ = Y.shape[1]
            self.n_layers_ = len(hidden) + 2
            self.out_activation_ = net.loss.out_activation
            self.t_ = 0
            self._train_state = None
        else:
            self._check_same_network(hidden)
            params = net.pack(self.coefs_, self.intercepts_, dtype)
        return _Problem(net, params, TrainingData(X, Y, sample_weight, input_dtype), rng)

    def _new_network(self, n_features: int, hidden: list, Y: np.ndarray, dropout) -> Network:
        """The network this fit trains, for ``n_features`` input columns."""
        units = [n_features, *hidden, Y.shape[1]]
        return Network(units, self.activation, self._make_loss(Y), dropout)

    def _initial_params(self, net: Network, rng, dtype, X) -> np.ndarray:
        """A fresh parameter vector for ``net`` (``X``: the training rows)."""
        return net.init_params(rng, self.weight_init, dtype)

    def _check_same_network(self, hidden: list) -> None:
        """Refuse a warm start or ``partial_fit`` that changes the network."""
        old_hidden = [c.shape[1] for c in self.coefs_[:-1]]
        if old_hidden != hidden:
            raise ValueError(
                f"hidden_layer_sizes is {tuple(hidden)} but the fitted network has "
                f"hidden layers {tuple(old_hidden)}; warm_start and partial_fit "
                "continue the same network. Set warm_start=False to train anew."
            )

    def _continuity_key(self) -> dict:
        """The settings a warm start or ``partial_fit`` must not change."""
        return {
            "loss": self._loss_family(),
            "activation": self.activation,
            "solver": "lbfgs" if self.solver == "lbfgs" else "stochastic",
        }

    def _loss_family(self) -> str:
        return self.loss

    def _objective(self) -> dict:
        """The settings that define the training loss's values: a warm start
        that changes any starts the stopping memory afresh (builtins only, as
        the training state persists them)."""
        return {
            "loss": self._loss_family(),
            "alpha": float(self.alpha),
            "l1_ratio": float(self.l1_ratio),
        }

    def _out_activation_of_loss(self) -> str | None:
        """The output activation ``loss`` implies (``None``: the targets decide)."""
        return None

    def _optimizer(self):
        cls = OPTIMIZERS[self.solver]
        return cls(**{name: getattr(self, name) for name in cls.hyperparameters})

    def _step(self, net, params, batch_size, optimizer, dropout_rng, X=None) -> Step:
        """The training step of this configuration, bound to ``params``, on
        the compiled kernels where they train on ``X``."""
        kernels = compiled.kernels_for(X)
        chain = make_chain(
            optimizer,
            param_groups(net),
            weight_decay=self.weight_decay,
            l1=self.alpha > 0.0 and self.l1_ratio > 0.0,
            max_grad_norm=self.max_grad_norm,
            kernels=kernels,
        )
        ws = net.workspace(batch_size, params)
        step = Step(net, ws, chain, self.alpha, self.l1_ratio, dropout_rng)
        compiled.attach(step, X, batch_size)
        return step

    def _batch_size(self, n: int) -> int:
        if self.batch_size == "auto":
            return min(200, n)
        if self.batch_size > n:
            warn(
                f"Got batch_size={self.batch_size} larger than the "
                f"{n} training samples; it is clipped to {n}."
            )
        return min(self.batch_size, n)

    def _train_lbfgs(self, p: _Problem, hooks: FitTasks, progress: Progress) -> Outcome:
        step = Step(
            p.net, p.net.workspace(p.data.X.shape[0], p.params), None, self.alpha, self.l1_ratio
        )
        reporters = [VerboseLine(validation=False)] if self.verbose else []
        reporters += hooks.bridge(p.data, "lbfgs-iter", hooks.y)
        targets = self._training_targets(p.data.Y, p.data.X.dtype)
        data = replace(p.data, Y=targets)
        try:
            with compiled.blas_threads_for(p.net, data.X.shape[0]):
                outcome = run_lbfgs(
                    step,
                    p.params,
                    data,
                    max_iter=self._epochs(p.data.X.shape[0]),
                    max_fun=self.max_fun,
                    tol=self.tol,
                    reporters=reporters,
                    progress=progress,
                )
        finally:
            for reporter in reporters:
                reporter.close()
        return outcome

    def _train_stochastic(
        self, p: _Problem, call: _FitCall, hooks: FitTasks, progress: Progress
    ) -> Outcome:
        incremental = call.incremental
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True.")
        data, validation = p.data, None
        if call.X_val is not None:
            validation = _validation.given(self, p, call)
        elif self.early_stopping:
            data, validation = _validation.split(self, p)
        y_train = None
        if hooks.active:
            y_train = hooks.y if data is p.data else self._decode(data.Y)
        targets = self._training_targets(data.Y, data.X.dtype)
        data = compiled.prepare(replace(data, Y=targets))
        batch_size = self._batch_size(data.X.shape[0])
        optimizer = self._optimizer()
        state = self._resumed_state(p, data, batch_size, incremental)
        config = self._training_config(
            p, state, data, batch_size, optimizer, validation, incremental
        )
        state.optimizer = config.step.chain.restore(state.optimizer, p.params)
        config.reporters = [*config.reporters, *hooks.bridge(data, "epoch", y_train)]
        try:
            with compiled.blas_threads_for(p.net, batch_size):
                outcome = run_stochastic(config, state, p.params, data, p.rng, progress)
        finally:
            for reporter in config.reporters:
                reporter.close()
        return outcome

    def _resumed_state(self, p, data, batch_size, incremental) -> TrainingState:
        """The training state this fit continues, or a fresh one."""
        saved = getattr(self, "_train_state", None)
        state = None if saved is None else TrainingState.from_dict(saved)
        fresh = state is None or not state.continues(
            self.solver, p.params.size, self.early_stopping
        )
        if self.learning_rate_init == "auto":
            if fresh or not hasattr(self, "learning_rate_init_"):
                self.learning_rate_init_ = self._auto_learning_rate(p, data, batch_size)
        else:
            self.learning_rate_init_ = float(self.learning_rate_init)
        if fresh:
            state = TrainingState(
                solver=self.solver,
                n_params=p.params.size,
                early_stopping=self.early_stopping,
                learning_rate_init=self.learning_rate_init_,
                optimizer={},  # the update chain's plain state: nothing saved yet
                stopping=StoppingState.new(self.early_stopping),
                t=getattr(self, "t_", 0),
            )
        state.restart(self.learning_rate_init_, incremental)
        state.new_objective(self._objective())
        return state

    def _training_config(self, p, state, data, batch_size, optimizer, validation, incremental):
        schedule = self._schedule(
            state.learning_rate_init, data.X.shape[0], batch_size, incremental
        )
        dropout_rng = None
        if any(p.net.dropout):  # drawn only then, so other fits keep sklearn's stream
            dropout_rng = np.random.default_rng(p.rng.randint(np.iinfo(np.int32).max))
        rule = make_stopping_rule(
            validation=validation is not None,
            tol=self.tol,
            patience=self.n_iter_no_change,
            epochs_done=len(state.records),
            # a rising schedule is not judged before its first peak
            peak_epoch=0 if incremental else self._peak_epoch(data.X.shape[0]),
            learning_rate=self.learning_rate,
            solver=self.solver,
            plateau_factor=self.plateau_factor,
            # below 1e-12 a rate moves nothing: the rule stops there at the latest
            plateau_min_rate=max(self.learning_rate_min, schedules.VANISHING_RATE),
            last_tie=self._best_of_ties == "last",
        )
        reporters = [VerboseLine(validation is not None)] if self.verbose else []
        return TrainingConfig(
            step=self._step(p.net, p.params, batch_size, optimizer, dropout_rng, data.X),
            schedule=schedule,
            stopping=rule,
            batch_size=batch_size,
            max_iter=self._epochs(data.X.shape[0]),
            shuffle=self.shuffle,
            incremental=incremental,
            validation=validation,
            reporters=reporters,
        )

    def _epochs(self, n_samples: int) -> int:
        """The epochs (L-BFGS: iterations) a fit on ``n_samples`` training rows plans."""
        return self.max_iter

    def _schedule_settings(self, n_samples: int) -> dict:
        settings = {name: getattr(self, name) for name in schedules.SETTINGS}
        return {**settings, "max_iter": self._epochs(n_samples)}

    def _peak_epoch(self, n_samples: int) -> float:
        """The epoch at which the schedule's rate first peaks (0: it starts there)."""
        return schedules.peak_epoch(self.learning_rate, self._schedule_settings(n_samples))

    def _schedule(self, lr_init: float, n_samples: int, batch_size: int, incremental=False):
        """The rate of every step, from ``learning_rate`` and its settings."""
        name = schedules.schedule_name(self.learning_rate, self.solver)
        settings = self._schedule_settings(n_samples)
        try:
            return schedules.fit_schedule(
                name, settings, lr_init, n_samples, batch_size, incremental
            )
        except schedules.SettingError as exc:
            raise InvalidParameterError(
                f"The {exc.setting!r} parameter of {type(self).__name__} {exc.problem}"
            ) from None

    def _auto_learning_rate(self, p: _Problem, data: TrainingData, batch_size: int) -> float:
        """``learning_rate_init='auto'``: the range test's suggestion."""
        rng = np.random.RandomState(p.rng.randint(np.iinfo(np.int32).max))
        result = self._run_range_test(p.net, p.params.copy(), data, batch_size, rng)
        return float(result.suggestion)

    def _range_test(self, X, y, sample_weight, **settings) -> LRRangeTestResult:
        """The learning-rate range test on a fresh network (``lr_range_test``)."""
        p = self._prepare(X, y, sample_weight, incremental=False)
        batch_size = self._batch_size(p.data.X.shape[0])
        targets = self._training_targets(p.data.Y, p.data.X.dtype)
        data = replace(p.data, Y=targets)
        return self._run_range_test(p.net, p.params, data, batch_size, p.rng, **settings)

    def _run_range_test(self, net, params, data, batch_size, rng, **settings):
        # the step fit would take: penalty, transforms and dropout included
        dropout_rng = None
        if any(net.dropout):
            dropout_rng = np.random.default_rng(rng.randint(np.iinfo(np.int32).max))
        data = compiled.prepare(data)
        step = self._step(net, params, batch_size, self._optimizer(), dropout_rng, data.X)
        batches = Batches(data.X, data.Y, data.sample_weight, batch_size, shuffle=True)
        return run_range_test(step, batches, rng, **settings)

    def __setstate__(self, state):
        super().__setstate__(state)
        if _loading.is_fitted_state(state):
            self._check_fitted_state()

    def _check_fitted_state(self) -> None:
        """Refuse a loaded state that does not describe a network of this class."""
        _loading.check_fitted_state(self)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class MLPClassifier(ClassifierMixin, _BaseMLP):
    __doc__ = _docs.CLASSIFIER_DOC  # built from the declarations in _params

    _parameter_constraints: dict = _params.constraints(_params.CLASSIFIER)
    _output_links = frozenset({"softmax", "logistic"})

    def _check_fitted_state(self) -> None:
        super()._check_fitted_state()
        _loading.check_classifier_state(self)

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        weight_init="sklearn",
        dtype="auto",
        weight_decay=0.0,
        rho=0.9,
        learning_rate_min=0.0,
        learning_rate_max=None,
        decay_rate=0.5,
        decay_epochs=10,
        restart_epochs=10,
        restart_mult=2,
        half_cycle_epochs=4,
        cyclic_mode="triangular",
        peak_fraction=0.3,
        warmup_epochs=0,
        l1_ratio=0.0,
        dropout=0.0,
        scoring=None,
        max_grad_norm=None,
        plateau_factor=5.0,
        class_weight=None,
        label_smoothing=0.0,
    ):
        _params.store(self, _params.CLASSIFIER, locals())

    def _validate_input(self, X, y, incremental, reset):
        X, y = self._checked_rows(X, y, reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        _labels.check_sortable(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._set_classes(y)
        else:
            _labels.check_known(y, self.classes_, same=self.warm_start and not incremental)
        return X, self._encode(y)

    def _checked_rows(self, X, y, reset):
        """``X`` and ``y`` as the network takes them, checked."""
        return validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )

    def _set_classes(self, y) -> None:
        """Learn the classes and the target type from ``y`` (or from the
        ``classes`` argument of a first ``partial_fit``)."""
        self.classes_, self._target_type = _labels.learn(y)
        self._multilabel = self._target_type == "multilabel-indicator"

    def _encode_held_out(self, y_val) -> np.ndarray:
        """Validation labels encoded like ``y``; a label ``y`` lacks is an error."""
        return self._encode(_labels.check_held_out(y_val, self.classes_, self._multilabel))

    def _encode(self, y) -> np.ndarray:
        return _labels.encode(y, self.classes_, self._target_type)

    def _weigh_classes(self, Y, sample_weight, dtype):
        """Fold ``class_weight`` into the sample weights (multiplicatively)."""
        if self.class_weight is None:
            return sample_weight
        weights = _labels.class_weights(
            self.class_weight, self.classes_, self._target_type, Y, dtype
        )
        return weights if sample_weight is None else weights * sample_weight

    def _loss_family(self) -> str:
        return "log_loss"  # softmax or logistic, by the targets

    def _loss_name(self, Y) -> str:
        if self._target_type == "multiclass":
            return "log_loss"
        return "binary_log_loss"

    def _objective(self) -> dict:
        return {
            **super()._objective(),
            "label_smoothing": float(self.label_smoothing),
            # its repr: the keys are labels, which a saved state keeps as text
            "class_weight": repr(self.class_weight),
        }

    def _training_targets(self, Y: np.ndarray, dtype) -> np.ndarray:
        return _labels.smooth(Y, float(self.label_smoothing), self._target_type, dtype)

    def _decode(self, Y):
        return _labels.decode(Y, self.classes_, self._target_type)

    def _score_on(self, pred, y, sample_weight) -> float:
        return accuracy_score(y, self._decode(pred), sample_weight=sample_weight)

    @serialized
    @with_callbacks
    @_fit_context(prefer_skip_nested_validation=True)
    @_docs.documented(_docs.fit_doc("MLPClassifier", classifier=True))
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None):
        return self._fit(
            _FitCall(X, y, sample_weight, False, None, X_val, y_val, sample_weight_val)
        )

    @available_if(_stochastic)
    @serialized
    @with_callbacks
    @_fit_context(prefer_skip_nested_validation=True)
    @_docs.documented(_docs.partial_fit_doc("MLPClassifier", classifier=True))
    def partial_fit(
        self,
        X,
        y,
        sample_weight=None,
        classes=None,
        *,
        X_val=None,
        y_val=None,
        sample_weight_val=None,
    ):
        return self._fit(
            _FitCall(X, y, sample_weight, True, classes, X_val, y_val, sample_weight_val)
        )

    def _start_partial_fit(self, y, classes) -> None:
        if _check_partial_fit_first_call(self, classes):
            self._set_classes(y if type_of_target(y).startswith("multilabel") else classes)

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted labels.
        """
        model = self._copy()  # the last committed model, whatever fit runs meanwhile
        check_is_fitted(model)
        # decoded chunk by chunk: the probabilities of all rows are never held
        net, params, X = model._prediction_inputs(X)
        labels = None
        for rows, pred in net.predict_chunks(params, X):
            chunk = model._decode(pred.astype(X.dtype, copy=False))
            if labels is None:
                labels = np.empty((X.shape[0], *chunk.shape[1:]), chunk.dtype)
            labels[rows] = chunk
        return labels

    def predict_proba(self, X):
        """Probability of each class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities, columns ordered as ``classes_``.
        """
        model = self._copy()  # the last committed model, whatever fit runs meanwhile
        check_is_fitted(model)
        proba = model._raw_predict(X)
        if model.n_outputs_ == 1 and not model._multilabel:
            proba = proba.ravel()
            return np.vstack([1 - proba, proba]).T
        return proba

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log class probabilities, columns ordered as ``classes_``.
        """
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba, out=proba)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = _docs.REGRESSOR_DOC  # built from the declarations in _params

    _parameter_constraints: dict = _params.constraints(_params.REGRESSOR)
    _output_links = frozenset({"identity", "exp"})

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        weight_init="sklearn",
        dtype="auto",
        weight_decay=0.0,
        rho=0.9,
        learning_rate_min=0.0,
        learning_rate_max=None,
        decay_rate=0.5,
        decay_epochs=10,
        restart_epochs=10,
        restart_mult=2,
        half_cycle_epochs=4,
        cyclic_mode="triangular",
        peak_fraction=0.3,
        warmup_epochs=0,
        l1_ratio=0.0,
        dropout=0.0,
        scoring=None,
        max_grad_norm=None,
        plateau_factor=5.0,
        huber_delta=1.0,
        quantile=0.5,
    ):
        _params.store(self, _params.REGRESSOR, locals())

    def _validate_input(self, X, y, incremental, reset):
        y = numeric_targets(y)
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_target_domain(self.loss, y, "y")
        return X, y

    def _loss_name(self, Y) -> str:
        return self.loss

    def _make_loss(self, Y) -> Loss:
        return make_loss(self.loss, huber_delta=self.huber_delta, quantile=self.quantile)

    def _out_activation_of_loss(self) -> str | None:
        return self._make_loss(None).out_activation

    def _objective(self) -> dict:
        setting = {"huber": "huber_delta", "quantile": "quantile"}.get(self.loss)
        extra = {} if setting is None else {setting: float(getattr(self, setting))}
        return {**super()._objective(), **extra}

    def _encode_held_out(self, y_val) -> np.ndarray:
        """Validation targets as floats, checked like ``y``."""
        y_val = check_array(
            numeric_targets(y_val, "y_val"), ensure_2d=False, dtype=np.float64, input_name="y_val"
        )
        check_target_domain(self.loss, y_val, "y_val")
        return y_val

    def _decode(self, Y):
        return Y.ravel() if Y.shape[1] == 1 else Y

    def _score_on(self, pred, y, sample_weight) -> float:
        return r2_score(y, self._decode(pred), sample_weight=sample_weight)

    @serialized
    @with_callbacks
    @_fit_context(prefer_skip_nested_validation=True)
    @_docs.documented(_docs.fit_doc("MLPRegressor", classifier=False))
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None):
        return self._fit(
            _FitCall(X, y, sample_weight, False, None, X_val, y_val, sample_weight_val)
        )

    @available_if(_stochastic)
    @serialized
    @with_callbacks
    @_fit_context(prefer_skip_nested_validation=True)
    @_docs.documented(_docs.partial_fit_doc("MLPRegressor", classifier=False))
    def partial_fit(
        self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None
    ):
        return self._fit(_FitCall(X, y, sample_weight, True, None, X_val, y_val, sample_weight_val))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # the log-link losses need positive targets in scikit-learn's checks too
        tags.target_tags.positive_only = self.loss in ("poisson", "gamma")
        return tags

    def predict(self, X):
        """Predict targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted values.
        """
        model = self._copy()  # the last committed model, whatever fit runs meanwhile
        check_is_fitted(model)
        return model._decode(model._raw_predict(X))
