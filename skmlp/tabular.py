"""TabularMLPClassifier and TabularMLPRegressor: RealMLP-TD's recipe on raw tables.

scikit-learn glue only: the estimators encode a raw table
(:class:`skmlp._tabular_input.TabularEncoder`), build the network of
:mod:`skmlp._tabular_net` and train it with the same transactional loop as
:class:`~skmlp.MLPClassifier`, whose hyperparameters they share.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

from . import _docs, _params
from ._inputs import check_target_domain, numeric_targets
from ._tabular_input import TabularEncoder
from ._tabular_net import (
    Anneal,
    TabularSpec,
    build_layers,
    fit_temperature,
    mean_of_members,
    with_temperature,
)
from .estimators import _LINK_TO_LOSS, _PREDICTION_ATTRIBUTES, MLPClassifier, MLPRegressor
from .losses import Loss, ensemble_loss, make_loss
from .network import Network

__all__ = ["TabularMLPClassifier", "TabularMLPRegressor"]

# rows the data-dependent initialization looks at (a random subset beyond)
_INIT_ROWS = 4096
# max_iter='auto': the training rows a fit aims to see, and its epoch bounds
_AUTO_ROWS, _AUTO_MIN_EPOCHS, _AUTO_MAX_EPOCHS = 2**16, 64, 128


def _no_partial_fit(est) -> bool:
    raise AttributeError(
        f"{type(est).__name__} has no partial_fit: its encoding, data-dependent "
        "initialization and schedules are learned over one whole fit. Use fit "
        "(warm_start=True continues a fitted model)."
    )


class _TabularMLP:
    """What the tabular estimators change in the MLP estimators' fit."""

    _best_of_ties = "last"
    _prediction_attributes = (
        *_PREDICTION_ATTRIBUTES,
        "encoder_",
        "_spec",
        "temperature_",
        "_y_center",
        "_y_scale",
        "_y_bounds",
    )

    # --- the encoded table ----------------------------------------------
    def _encoded(self, X, reset: bool) -> np.ndarray:
        """``X`` encoded for the network; learned first where ``reset``."""
        if reset:
            encoder = TabularEncoder(
                categorical_features=self.categorical_features,
                numeric_scaling=self.numeric_scaling,
                log_skewed=self.log_skewed,
            )
            encoded = encoder.fit_transform(X)
            self.encoder_ = encoder
            self.n_features_in_ = encoder.n_features_in_
            if hasattr(encoder, "feature_names_in_"):
                self.feature_names_in_ = encoder.feature_names_in_
            else:
                self.__dict__.pop("feature_names_in_", None)
            return encoded
        return self.encoder_.transform(X)

    def _held_out_rows(self, X_val):
        try:
            return self.encoder_.transform(X_val)
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"X_val: {exc}") from None

    def _prediction_inputs(self, X):
        """As the base's, with the parameters in float64 whatever the training
        dtype: in float32 a row's prediction moved with the rows predicted
        beside it (BLAS picks its kernel by the row count), by up to 1e-5 of
        a target after the standardisation is undone; in float64 it stays
        within scikit-learn's 1e-7 (``check_methods_subset_invariance``)."""
        if not self.__dict__.get("_pre_encoded", False):
            X = self.encoder_.transform(X)
        net = self._network()
        return net, net.pack(self.coefs_, self.intercepts_, np.float64), X

    def _standin(self, net: Network, params: np.ndarray):
        other = super()._standin(net, params)
        other._pre_encoded = True  # a scorer hands it encoded rows
        return other

    # --- the network ------------------------------------------------------
    def _member_loss(self, loss: Loss) -> Loss:
        return loss if self.n_ensemble == 1 else ensemble_loss(loss, self.n_ensemble)

    def _new_network(self, n_features: int, hidden: list, Y: np.ndarray, dropout) -> Network:
        layout = self.encoder_.layout_
        rates = tuple(dropout) if np.iterable(dropout) else (float(dropout),) * len(hidden)
        spec = TabularSpec(
            n_numeric=layout.n_numeric,
            n_passthrough=layout.n_indicators + layout.n_onehot,
            embedding_levels=tuple(layout.embedding_levels),
            n_outputs=Y.shape[1],
            hidden=tuple(hidden),
            activation=self.activation,
            parametric=bool(self.parametric_activation),
            dropout=rates,
            numeric_embedding=self.numeric_embedding,
            n_ensemble=int(self.n_ensemble),
        )
        self._previous_spec, self._spec = getattr(self, "_spec", None), spec
        return Network.from_layers(build_layers(spec), self._member_loss(self._make_loss(Y)))

    def _network(self) -> Network:
        loss = make_loss(_LINK_TO_LOSS[self.out_activation_])  # its link is all predict needs
        return Network.from_layers(build_layers(self._spec), self._member_loss(loss))

    def _initial_params(self, net: Network, rng, dtype, X) -> np.ndarray:
        n = X.shape[0]
        rows = np.sort(rng.permutation(n)[:_INIT_ROWS]) if n > _INIT_ROWS else slice(None)
        return net.init_params(rng, "sklearn", dtype, X[rows])

    def _check_same_network(self, hidden: list) -> None:
        old, new = self.__dict__.pop("_previous_spec", None), self._spec
        if old is not None and old != new:
            changed = [f for f in new.__dataclass_fields__ if getattr(old, f) != getattr(new, f)]
            raise ValueError(
                f"warm_start continues the same network, but {', '.join(changed)} "
                "changed since it was fitted. Set warm_start=False to train anew."
            )

    def _training_targets(self, Y: np.ndarray, dtype) -> np.ndarray:
        Y = super()._training_targets(Y, dtype)
        return Y if self.n_ensemble == 1 else np.tile(Y, (1, self.n_ensemble))

    # --- training -----------------------------------------------------------
    def _batch_size(self, n: int) -> int:
        return min(256, n) if self.batch_size == "auto" else super()._batch_size(n)

    def _epochs(self, n_samples: int) -> int:
        if self.max_iter != "auto":
            return self.max_iter
        wanted = math.ceil(_AUTO_ROWS / max(n_samples, 1))
        return min(_AUTO_MAX_EPOCHS, max(_AUTO_MIN_EPOCHS, wanted))

    def _max_subtasks(self, incremental: bool) -> int | None:
        # 'auto' depends on the training rows, unknown before the data is read
        return None if self.max_iter == "auto" else super()._max_subtasks(incremental)

    def _training_config(self, p, state, data, batch_size, optimizer, validation, incremental):
        config = super()._training_config(
            p, state, data, batch_size, optimizer, validation, incremental
        )
        epochs = self._epochs(data.X.shape[0])
        anneal = Anneal(p.net.layers, config.step.chain, epochs, len(state.records))
        config.reporters = [anneal, *config.reporters]
        self._held_out = validation  # for the calibration, once trained
        return config

    def _train(self, call, context, owner, progress):
        outcome = super()._train(call, context, owner, progress)
        if outcome.stop_reason == "max_iter" and self.n_iter_no_change == np.inf:
            # no stopping criterion: max_iter epochs are the plan, not a failure
            outcome.stop_reason, outcome.message = "completed", ""
        return outcome

    def _set_fitted(self, progress, outcome) -> None:
        super()._set_fitted(progress, outcome)
        self._calibrate(self.__dict__.get("_held_out"), progress)
        self.__dict__.pop("_held_out", None)  # it holds the network and the rows

    def _calibrate(self, held, progress) -> None:
        """What the validation rows tune once trained (the classifier's temperature)."""

    def __setstate__(self, state):
        if "log_skewed" not in state:  # saved before it existed: encoded without it
            state = {**state, "log_skewed": False}
        super().__setstate__(state)

    def _check_fitted_state(self) -> None:
        _check_tabular_state(self)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        return tags


def _require_y(est, y) -> None:
    if y is None:
        raise ValueError(f"{type(est).__name__} requires y to be passed, but the target y is None.")


def _check_tabular_state(est) -> None:
    """Refuse a loaded state whose parameters do not fit its network."""
    name = type(est).__name__
    missing = [a for a in ("coefs_", "intercepts_", "encoder_", "_spec") if a not in vars(est)]
    if missing:
        raise ValueError(f"The loaded {name} state lacks {missing}; it is not a fitted {name}.")
    net = est._network()
    expected = net.views(np.empty(net.n_params))
    dtype = np.asarray(est.coefs_[0]).dtype
    for label, arrays, views in zip(
        ("coefs_", "intercepts_"), (est.coefs_, est.intercepts_), expected
    ):
        shapes = [v.shape for v in views]
        if not isinstance(arrays, list) or [np.shape(a) for a in arrays] != shapes:
            raise ValueError(f"The loaded {name} state: {label} do not fit its network.")
        for a in arrays:
            if (
                a.dtype != dtype
                or dtype not in (np.float32, np.float64)
                or not np.isfinite(a).all()
            ):
                raise ValueError(
                    f"The loaded {name} state: {label} holds a non-finite or mistyped array."
                )


class TabularMLPClassifier(_TabularMLP, MLPClassifier):
    __doc__ = _docs.TABULAR_CLASSIFIER_DOC

    _parameter_constraints: dict = _params.constraints(_params.TABULAR_CLASSIFIER)

    def __init__(
        self,
        hidden_layer_sizes=(128, 128, 128),
        *,
        activation="selu",
        solver="adamw",
        alpha=0.0,
        batch_size="auto",
        learning_rate="coslog",
        learning_rate_init=0.04,
        power_t=0.5,
        max_iter="auto",
        shuffle=True,
        random_state=None,
        tol=0.0001,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=True,
        validation_fraction=0.2,
        beta_1=0.9,
        beta_2=0.95,
        epsilon=1e-08,
        n_iter_no_change=np.inf,
        max_fun=15000,
        dtype="float32",
        weight_decay=0.02,
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
        dropout=0.15,
        scoring=None,
        max_grad_norm=None,
        plateau_factor=5.0,
        class_weight=None,
        label_smoothing=0.05,
        numeric_embedding="pbld",
        numeric_scaling="robust_smooth_clip",
        log_skewed=True,
        categorical_features="from_dtype",
        parametric_activation=True,
        n_ensemble=4,
    ):
        _params.store(self, _params.TABULAR_CLASSIFIER, locals())

    def _checked_rows(self, X, y, reset):
        _require_y(self, y)
        X = self._encoded(X, reset)
        y = check_array(y, ensure_2d=False, dtype=None, ensure_all_finite=True, input_name="y")
        check_consistent_length(X, y)
        return X, y

    def _set_classes(self, y) -> None:
        super()._set_classes(y)
        if self._multilabel:
            raise ValueError(
                f"{type(self).__name__} takes one label per row; y is a multilabel indicator."
            )

    def _score_on(self, pred, y, sample_weight) -> float:
        return super()._score_on(mean_of_members(pred, self.n_ensemble), y, sample_weight)

    def _calibrate(self, held, progress) -> None:
        """Fit ``temperature_`` on the validation rows (1 without them)."""
        self.temperature_ = 1.0
        if held is not None:
            X, Y, sw = held.data.X, held.data.Y, held.data.sample_weight
            proba = mean_of_members(progress.net.predict(progress.params, X), self.n_ensemble)
            truth = Y[:, : proba.shape[1]]  # the first member's (smoothed) targets
            labels = (truth[:, 0] > 0.5) if truth.shape[1] == 1 else truth.argmax(axis=1)
            self.temperature_ = fit_temperature(proba, labels.astype(np.intp), sw)

    def _raw_predict(self, X) -> np.ndarray:
        net, params, X = self._prediction_inputs(X)
        proba = mean_of_members(net.predict(params, X), self.n_ensemble)
        return with_temperature(proba, self.temperature_)

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            The rows, as ``fit`` took them.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted labels.
        """
        model = self._copy()  # the last committed model, whatever fit runs meanwhile
        check_is_fitted(model)
        return model._decode(model._raw_predict(X))

    @available_if(_no_partial_fit)
    def partial_fit(self, X, y, sample_weight=None, classes=None):  # pragma: no cover
        """Not available (see the class's Notes)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        return tags


class TabularMLPRegressor(_TabularMLP, MLPRegressor):
    __doc__ = _docs.TABULAR_REGRESSOR_DOC

    _parameter_constraints: dict = _params.constraints(_params.TABULAR_REGRESSOR)

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(128, 128, 128),
        *,
        activation="mish",
        solver="adamw",
        alpha=0.0,
        batch_size="auto",
        learning_rate="coslog",
        learning_rate_init=0.2,
        power_t=0.5,
        max_iter="auto",
        shuffle=True,
        random_state=None,
        tol=0.0001,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=True,
        validation_fraction=0.2,
        beta_1=0.9,
        beta_2=0.95,
        epsilon=1e-08,
        n_iter_no_change=np.inf,
        max_fun=15000,
        dtype="float32",
        weight_decay=0.02,
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
        dropout=0.15,
        scoring=None,
        max_grad_norm=None,
        plateau_factor=5.0,
        huber_delta=1.0,
        quantile=0.5,
        numeric_embedding="pbld",
        numeric_scaling="robust_smooth_clip",
        log_skewed=True,
        categorical_features="from_dtype",
        parametric_activation=True,
        n_ensemble=4,
    ):
        _params.store(self, _params.TABULAR_REGRESSOR, locals())

    def _standardizes(self) -> bool:
        """Whether the targets are standardized (the identity-link losses)."""
        return make_loss(self.loss).out_activation == "identity"

    def _validate_input(self, X, y, incremental, reset):
        _require_y(self, y)
        X = self._encoded(X, reset)
        y = check_array(numeric_targets(y), ensure_2d=False, dtype=np.float64, input_name="y")
        check_consistent_length(X, y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_target_domain(self.loss, y, "y")
        if reset:
            self._learn_target_scale(y)
        return X, self._standardized(y)

    def _learn_target_scale(self, y) -> None:
        """The targets' center, scale and range (RealMLP-TD's
        ``normalize_output`` and ``clamp_output``)."""
        self._y_bounds = (np.min(y, axis=0), np.max(y, axis=0))
        if self._standardizes():
            scale = np.std(y, axis=0)
            self._y_center, self._y_scale = np.mean(y, axis=0), np.where(scale > 0, scale, 1.0)
        else:
            self._y_center, self._y_scale = np.zeros_like(y[0]), np.ones_like(y[0])

    def _standardized(self, y):
        return (y - self._y_center) / self._y_scale

    def _make_loss(self, Y) -> Loss:
        scale = float(np.max(getattr(self, "_y_scale", 1.0)))
        # huber's delta is in units of y; the network sees y / scale
        return make_loss(self.loss, huber_delta=self.huber_delta / scale, quantile=self.quantile)

    def _encode_held_out(self, y_val) -> np.ndarray:
        return self._standardized(super()._encode_held_out(y_val))

    def _decode(self, Y):
        values = np.clip(Y * self._y_scale + self._y_center, *self._y_bounds)
        return values.ravel() if values.shape[1] == 1 else values

    def _score_on(self, pred, y, sample_weight) -> float:
        return super()._score_on(mean_of_members(pred, self.n_ensemble), y, sample_weight)

    def predict(self, X, return_std: bool = False):
        """Predict targets: the members' mean, clipped to the training range.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            The rows, as ``fit`` took them.
        return_std : bool, default=False
            Also return the standard deviation of the members' predictions
            (0 with ``n_ensemble=1``), in units of ``y``.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted values.
        std : ndarray of the same shape
            The members' spread, with ``return_std=True``.
        """
        model = self._copy()  # the last committed model, whatever fit runs meanwhile
        check_is_fitted(model)
        net, params, X = model._prediction_inputs(X)
        pred = net.predict(params, X)
        k = model.n_ensemble
        members = pred.reshape(pred.shape[0], k, -1)
        y = model._decode(members.mean(axis=1))
        if not return_std:
            return y
        std = members.std(axis=1) * model._y_scale
        return y, std.ravel() if std.shape[1] == 1 else std

    @available_if(_no_partial_fit)
    def partial_fit(self, X, y, sample_weight=None):  # pragma: no cover
        """Not available (see the class's Notes)."""
