"""Checks of a restored estimator's state, and of a model being continued.

A pickled or skops-loaded estimator is checked when its state is restored
(``__setstate__``): wrong shapes, missing arrays or a mangled training state
would otherwise give a model that predicts garbage, or fails later with an
obscure error. Each check reads the restored estimator and raises a
``ValueError`` naming the class and the faulty attribute.
:func:`check_continuable` refuses a warm start or ``partial_fit`` under
settings the model was not trained with.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np

from .activations import ACTIVATIONS
from .optimizers import OPTIMIZERS
from .state import HISTORY_KEYS, TrainingState

__all__ = [
    "check_classifier_state",
    "check_continuable",
    "check_fitted_state",
    "is_fitted_state",
]

# the dtypes a network trains and predicts in
MODEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

# what every fitted model holds (a loaded state lacking any is refused)
FITTED_ATTRIBUTES = (
    "coefs_",
    "intercepts_",
    "n_outputs_",
    "n_layers_",
    "n_features_in_",
    "out_activation_",
)


def is_fitted_state(state: dict) -> bool:
    """Whether ``state`` holds any fitted attribute; then it must be a whole
    fitted model."""
    return any(k.endswith("_") and not k.startswith("_") for k in state)


def check_fitted_state(est) -> None:
    """Refuse a loaded state that does not describe a network of this class.

    Called when a pickled or skops-loaded estimator is restored: wrong
    shapes or missing arrays would otherwise give a model that predicts
    garbage, or fails later with an obscure error.
    """
    name = type(est).__name__
    missing = [a for a in FITTED_ATTRIBUTES if a not in vars(est)]
    if missing:
        raise ValueError(
            f"The loaded {name} state lacks {missing}; the file is not a fitted {name}."
        )
    coefs, intercepts = est.coefs_, est.intercepts_
    if (
        not (isinstance(coefs, list) and isinstance(intercepts, list))
        or len(coefs) != len(intercepts)
        or not coefs
    ):
        raise ValueError(
            f"The loaded {name} state has {len(coefs)} weight matrices and "
            f"{len(intercepts)} bias vectors; they must be non-empty lists of equal length."
        )
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        if not (isinstance(W, np.ndarray) and W.ndim == 2 and W.dtype.kind == "f"):
            raise ValueError(f"The loaded {name} state: coefs_[{i}] is not a 2-d float array.")
        if not (isinstance(b, np.ndarray) and b.shape == (W.shape[1],)):
            raise ValueError(
                f"The loaded {name} state: intercepts_[{i}] has shape "
                f"{getattr(b, 'shape', None)}, expected {(W.shape[1],)}."
            )
        # the network trains and predicts in one dtype: float32 or float64
        if W.dtype not in MODEL_DTYPES or W.dtype != coefs[0].dtype or b.dtype != W.dtype:
            good = W.dtype in MODEL_DTYPES and W.dtype == coefs[0].dtype
            wrong, dtype = (f"intercepts_[{i}]", b.dtype) if good else (f"coefs_[{i}]", W.dtype)
            raise ValueError(
                f"The loaded {name} state: {wrong} is {dtype}; every array of coefs_ "
                "and intercepts_ must be float32 or float64, all of one dtype "
                f"(coefs_[0] is {coefs[0].dtype})."
            )
        if i and W.shape[0] != coefs[i - 1].shape[1]:
            raise ValueError(
                f"The loaded {name} state: coefs_[{i}] has {W.shape[0]} rows but layer "
                f"{i} has {coefs[i - 1].shape[1]} units."
            )
    if getattr(est, "n_features_in_", coefs[0].shape[0]) != coefs[0].shape[0]:
        raise ValueError(
            f"The loaded {name} state: n_features_in_={est.n_features_in_} but "
            f"coefs_[0] has {coefs[0].shape[0]} rows."
        )
    if est.out_activation_ not in est._output_links:
        raise ValueError(
            f"The loaded {name} state: out_activation_={est.out_activation_!r} is not "
            f"an output of {name} (one of {sorted(est._output_links)})."
        )
    if est.n_outputs_ != coefs[-1].shape[1]:
        raise ValueError(
            f"The loaded {name} state: n_outputs_={est.n_outputs_} and "
            f"out_activation_={est.out_activation_!r} do not match the output layer "
            f"({coefs[-1].shape[1]} units)."
        )
    _check_details(est, name)


def _check_details(est, name: str) -> None:
    """Types, names, finiteness and record lengths of a loaded state."""

    def fail(attribute, problem):
        raise ValueError(f"The loaded {name} state: {attribute} {problem}.")

    for attribute in ("n_outputs_", "n_layers_", "n_features_in_"):
        value = getattr(est, attribute)
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
            fail(attribute, f"is {value!r}, not a positive integer")
    if est.n_layers_ != len(est.coefs_) + 1:
        fail("n_layers_", f"is {est.n_layers_} but coefs_ holds {len(est.coefs_)} layers")
    for kind, arrays in (("coefs_", est.coefs_), ("intercepts_", est.intercepts_)):
        for i, array in enumerate(arrays):
            if not np.isfinite(array).all():
                fail(f"{kind}[{i}]", "holds non-finite values")
    if est.activation not in ACTIVATIONS:
        fail("activation", f"{est.activation!r} is not one of {sorted(ACTIVATIONS)}")
    allowed_losses = est._parameter_constraints.get("loss")
    if allowed_losses is not None and not allowed_losses[0].is_satisfied_by(est.loss):
        fail("loss", f"{est.loss!r} is not a loss of {name}")
    link = est._out_activation_of_loss()
    if link is not None and est.out_activation_ != link:
        fail(
            "out_activation_",
            f"is {est.out_activation_!r} but loss={est.loss!r} uses {link!r}",
        )
    names = vars(est).get("feature_names_in_")
    if names is not None and (
        not isinstance(names, np.ndarray) or names.ndim != 1 or len(names) != est.n_features_in_
    ):
        fail("feature_names_in_", f"does not hold one name per feature ({est.n_features_in_})")
    history = vars(est).get("history_")
    if history is not None:
        lengths = {k: len(v) for k, v in history.items()} if isinstance(history, dict) else {}
        if set(lengths) != set(HISTORY_KEYS) or len(set(lengths.values())) != 1:
            fail("history_", f"does not hold lists of equal length for {list(HISTORY_KEYS)}")
        if len(vars(est).get("loss_curve_", history["train_loss"])) != lengths["epoch"]:
            fail("loss_curve_", "and history_ have different lengths")
    if vars(est).get("_train_state") is not None:
        _check_training_state(est, fail)


def _check_training_state(est, fail) -> None:
    try:
        state = TrainingState.from_dict(est._train_state)
    except (TypeError, KeyError, ValueError) as exc:
        fail("_train_state", f"is not a training state ({exc!r})")
    n_params = sum(W.size + b.size for W, b in zip(est.coefs_, est.intercepts_))
    if state.n_params != n_params:
        fail("_train_state", f"is for {state.n_params} parameters, the network has {n_params}")
    for key, value in state.optimizer.items():
        if isinstance(value, np.ndarray) and value.shape != (n_params,):
            fail(
                f"_train_state optimizer[{key!r}]",
                f"has shape {value.shape}, not ({n_params},)",
            )
    best = state.best_params
    if best is not None and np.shape(best) != (n_params,):
        fail("_train_state best_params", f"has shape {np.shape(best)}")
    if best is not None and not (best.dtype == est.coefs_[0].dtype and np.isfinite(best).all()):
        fail("_train_state best_params", f"is not a finite {est.coefs_[0].dtype} array")
    history = vars(est).get("history_")
    if history is not None and len(state.records) != len(history["epoch"]):
        fail("_train_state", "records and history_ have different lengths")
    for clock in ("step", "schedule_start", "t"):
        value = getattr(state, clock)
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
            fail(f"_train_state {clock}", f"is {value!r}, not a non-negative integer")
    scale = state.rate_scale
    if isinstance(scale, bool) or not isinstance(scale, Real) or not 0 < scale < math.inf:
        fail("_train_state rate_scale", f"is {scale!r}, not a positive finite number")
    _check_optimizer_state(est, state, fail)


def _check_optimizer_state(est, state: TrainingState, fail) -> None:
    """The optimizer's saved state has the entries its ``init`` gives,
    finite values of the model's dtype, and takes a finite step."""
    if state.solver not in OPTIMIZERS:
        fail("_train_state solver", f"is {state.solver!r}, not one of {sorted(OPTIMIZERS)}")
    cls = OPTIMIZERS[state.solver]
    optimizer = cls(**{name: getattr(est, name) for name in cls.hyperparameters})
    dtype = est.coefs_[0].dtype
    params = np.zeros(state.n_params, dtype)
    fresh = optimizer.init(params)
    expected = fresh.to_dict()
    saved = state.optimizer if isinstance(state.optimizer, dict) else {}
    own = {k: v for k, v in saved.items() if not isinstance(v, dict)}  # transforms': dicts
    if own.keys() != expected.keys():
        fail("_train_state optimizer", f"does not hold the entries {sorted(expected)}")
    for key, value in own.items():
        what, like = f"_train_state optimizer[{key!r}]", expected[key]
        if isinstance(like, np.ndarray):
            if not (isinstance(value, np.ndarray) and value.dtype == dtype):
                fail(what, f"is not a {dtype} array like coefs_")
            if not np.isfinite(value).all():
                fail(what, "holds non-finite values")
        elif isinstance(like, Integral):
            if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
                fail(what, f"is {value!r}, not a non-negative integer (a step count)")
        elif isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value):
            fail(what, f"is {value!r}, not a finite number")
    # negative second moments (a square root of them) show in the step
    fresh.load(own)
    with np.errstate(all="ignore"):
        optimizer.update(np.zeros_like(params), fresh, params, 1e-3)
    if not np.isfinite(params).all():
        fail(
            "_train_state optimizer",
            "holds values that give a non-finite step (negative moments)",
        )


def check_classifier_state(est) -> None:
    """The classifier's labels against its output layer (after
    :func:`check_fitted_state`)."""
    missing = [a for a in ("classes_", "_target_type", "_multilabel") if a not in vars(est)]
    if missing:
        raise ValueError(
            f"The loaded MLPClassifier state lacks {missing}; the file is not a "
            "fitted MLPClassifier."
        )
    classes = est.classes_
    if not isinstance(classes, np.ndarray) or classes.ndim != 1 or classes.dtype == object:
        raise ValueError(
            "The loaded MLPClassifier state: classes_ is not a 1-d array of labels "
            f"(got {type(classes).__name__})."
        )
    if len(classes) > 1 and not (classes[1:] > classes[:-1]).all():
        raise ValueError(
            f"The loaded MLPClassifier state: classes_ {classes.tolist()} is not sorted "
            "and unique; predictions would map to the wrong labels."
        )
    if est._target_type not in ("binary", "multiclass", "multilabel-indicator") or not (
        isinstance(est._multilabel, bool)
    ):
        raise ValueError(
            f"The loaded MLPClassifier state: _target_type={est._target_type!r} and "
            f"_multilabel={est._multilabel!r} do not describe a classification."
        )
    n_classes = len(classes)
    binary = est.out_activation_ == "logistic" and not est._multilabel
    if (
        est.n_outputs_ != (1 if binary else n_classes)
        or (binary and n_classes != 2)
        or (est._multilabel and est.out_activation_ != "logistic")
        or est._multilabel != (est._target_type == "multilabel-indicator")
        or binary != (est._target_type == "binary")
    ):
        raise ValueError(
            f"The loaded MLPClassifier state: classes_ {est.classes_.tolist()} "
            f"(multilabel={est._multilabel}) do not match the output layer "
            f"({est.n_outputs_} units, out_activation_={est.out_activation_!r})."
        )


def check_continuable(
    fitted: dict | None, now: dict, solver: str, dtype: str, fitted_dtype
) -> None:
    """Refuse to continue a model under settings it was not trained with:
    ``fitted`` are the settings it recorded (``_fitted_with``), ``now`` the
    current ones; ``solver`` and ``dtype`` are the parameters, ``fitted_dtype``
    the weights' dtype."""
    if fitted is None:  # a model saved before skmlp recorded its settings
        return
    changed = [k for k in now if now[k] != fitted.get(k, now[k])]
    if dtype != "auto" and np.dtype(dtype) != fitted_dtype:
        changed.append("dtype")
    if not changed:
        return
    name = changed[0]
    if name == "dtype":
        before = f"dtype={fitted_dtype.name!r}"
        after = dtype
    elif name == "solver":
        before, after = f"a {fitted['solver']} solver", solver
    else:
        before, after = f"{name}={fitted[name]!r}", now[name]
    raise ValueError(
        f"The model was trained with {before} but {name} is now {after!r}; "
        "warm_start and partial_fit continue a model under the settings it was "
        "trained with. Fit it anew with warm_start=False."
    )
