"""The validation rows of early stopping, and the hook that scores them.

Either ``validation_fraction`` of the training rows is split off (stratified
for single-label classification, as scikit-learn) or ``X_val``/``y_val`` are
checked like the training rows; either way the held-out rows become a
:class:`~skmlp.trainer.Validation` hook whose score follows ``scoring``. A
scikit-learn scorer is handed a frozen stand-in of the estimator, never the
estimator being trained. Glue: each function takes the estimator.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import replace
from numbers import Real

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import get_scorer
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import _check_feature_names, check_array

from ._inputs import check_representable
from ._warn import warn
from .network import Network
from .trainer import TrainingData, Validation, finite_on

__all__ = ["check_arguments", "given", "split"]


def _takes_sample_weight(scorer) -> bool:
    """Whether ``scorer`` accepts ``sample_weight=`` (scikit-learn's scorers do;
    a plain ``scorer(estimator, X, y)`` does not, and is called without it)."""
    try:
        parameters = inspect.signature(scorer).parameters.values()
    except (TypeError, ValueError):  # no signature to read: assume scikit-learn's
        return True
    return any(p.name == "sample_weight" or p.kind == p.VAR_KEYWORD for p in parameters)


def _held_out_weights(sample_weight_val, n_val: int, dtype) -> np.ndarray:
    """``sample_weight_val`` as one finite weight >= 0 per validation row,
    not all 0, or a ValueError that names it."""
    if np.ndim(sample_weight_val) == 0:
        sample_weight_val = np.full(n_val, sample_weight_val)
    weights = check_array(
        sample_weight_val, ensure_2d=False, dtype=dtype, input_name="sample_weight_val"
    )
    if weights.shape != (n_val,):
        raise ValueError(
            f"sample_weight_val has shape {weights.shape}; it needs one weight per row "
            f"of X_val, shape ({n_val},)."
        )
    if np.any(weights < 0):
        raise ValueError("sample_weight_val has negative values; weights must be >= 0.")
    if not np.any(weights > 0):
        raise ValueError("sample_weight_val is 0 for every validation row.")
    return weights


def check_arguments(est, call) -> None:
    """``X_val``, ``y_val`` and ``sample_weight_val`` of one call: given
    together, and only where early stopping uses them."""
    if (call.X_val is None) != (call.y_val is None):
        raise ValueError("X_val and y_val must be given together, or not at all.")
    if call.X_val is None:
        if call.sample_weight_val is not None:
            raise ValueError("sample_weight_val is given without X_val and y_val.")
        return
    if call.incremental:
        raise ValueError(
            "partial_fit does not take X_val and y_val: they are for early stopping, "
            "which partial_fit does not do."
        )
    if est.solver == "lbfgs" or not est.early_stopping:
        raise ValueError(
            "X_val and y_val are only used for early stopping, but "
            + (
                "solver='lbfgs' does not stop early."
                if est.solver == "lbfgs"
                else "early_stopping=False. Set early_stopping=True, or leave them out."
            )
        )


def _warn_if_unscaled(X, X_val) -> None:
    """Warn when ``X_val`` looks untransformed: some column's median lies
    beyond the range of that column in ``X`` by more than the range's width.

    A random split never does this (a held-out median lies within the
    training range); a Pipeline that scales ``X`` but passes ``X_val`` on
    unscaled does, on any column whose scale or offset is not near 1 and 0.
    Dense input only; columns constant in ``X`` are skipped.
    """
    if hasattr(X, "tocoo") or hasattr(X_val, "tocoo") or not (X.shape[0] and X_val.shape[0]):
        return
    with np.errstate(over="ignore", invalid="ignore"):
        low, high = X.min(axis=0), X.max(axis=0)
        width = high - low
        median = np.median(X_val, axis=0)
        far = np.flatnonzero((width > 0) & ((median < low - width) | (median > high + width)))
    if far.size:
        warn(
            f"X_val looks unlike X: in {far.size} of its {X.shape[1]} columns (first: "
            f"{far[:5].tolist()}) the median lies beyond X's range by more than the width "
            "of that range. Was X_val transformed as X was? In a Pipeline, route it "
            "through the transformers with transform_input=['X_val'].",
            UserWarning,
        )


def split(est, p) -> tuple[TrainingData, Validation]:
    """Split the validation rows off; the hook that scores them."""
    X, Y, sample_weight = p.data.X, p.data.Y, p.data.sample_weight
    # stratify every single-label classification (scikit-learn skips
    # multiclass targets here); multilabel rows are too varied to stratify
    stratify = None
    if isinstance(est, ClassifierMixin) and not est._multilabel:
        labels = Y.argmax(axis=1) if Y.shape[1] > 1 else Y.ravel()
        counts = np.bincount(labels.astype(np.intp))
        n_val = math.ceil(est.validation_fraction * len(labels))
        # stratification needs two samples of every class and room for
        # each class in both parts; otherwise split at random (as sklearn)
        if counts[counts > 0].min() >= 2 and len(counts) <= min(n_val, len(labels) - n_val):
            stratify = labels
    arrays = [X, Y] if sample_weight is None else [X, Y, sample_weight]
    parts = train_test_split(
        *arrays, random_state=p.rng, test_size=est.validation_fraction, stratify=stratify
    )
    X_train, X_val, Y_train, Y_val = parts[:4]
    sw_train, sw_val = (parts[4], parts[5]) if sample_weight is not None else (None, None)
    if X_val.shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' "
            "or the size of your dataset."
        )
    for part, weights in (("training", sw_train), ("validation", sw_val)):
        if weights is not None and not np.any(weights > 0):
            raise ValueError(
                f"The sample weights of every row in the {part} part of the "
                f"early-stopping split are 0 (validation_fraction="
                f"{est.validation_fraction}); give more rows positive weights, or "
                "pass a validation set with X_val and y_val."
            )
    held_out = TrainingData(X_val, Y_val, sw_val, p.data.out_dtype)
    training = TrainingData(X_train, Y_train, sw_train, p.data.out_dtype)
    return training, _hook(est, p.net, held_out)


def given(est, p, call) -> Validation:
    """``X_val``, ``y_val`` and ``sample_weight_val``, validated like the
    training rows, as the validation hook."""
    X_val = given_X = est._held_out_rows(call.X_val)
    dtype, val_dtype = p.params.dtype, X_val.dtype
    Y_val = given_y = est._encode_held_out(call.y_val)
    with np.errstate(over="ignore"):  # an overflow is reported below, by name
        if X_val.dtype != dtype:
            X_val = X_val.astype(dtype)
        if Y_val.ndim == 1:
            Y_val = Y_val.reshape(-1, 1)
        if Y_val.dtype != bool:
            Y_val = np.ascontiguousarray(Y_val, dtype=dtype)
    if Y_val.shape[0] != X_val.shape[0]:
        raise ValueError(f"X_val has {X_val.shape[0]} rows but y_val has {Y_val.shape[0]}.")
    if Y_val.shape[1] != p.data.Y.shape[1]:
        raise ValueError(f"y_val has {Y_val.shape[1]} outputs but y has {p.data.Y.shape[1]}.")
    sw_val = call.sample_weight_val
    if sw_val is not None:
        sw_val = _held_out_weights(sw_val, X_val.shape[0], np.float64)
    if dtype.itemsize < np.dtype(np.float64).itemsize:
        given = {"X_val": given_X, "y_val": given_y, "sample_weight_val": sw_val}
        if sw_val is not None:
            with np.errstate(over="ignore"):
                sw_val = sw_val.astype(dtype)
        cast = {"X_val": X_val, "y_val": Y_val, "sample_weight_val": sw_val}
        check_representable(given, cast, est.dtype)
    _warn_if_unscaled(p.data.X, X_val)
    held_out = TrainingData(X_val, Y_val, sw_val, val_dtype)
    validation = replace(_hook(est, p.net, held_out), name="X_val")
    if not finite_on(p.net, p.params, validation.data):
        # training could not fix this: the loop would find every epoch's
        # weights wanting on X_val, and blame the training data at the end
        raise ValueError(
            "X_val gives non-finite predictions or loss even with the weights this fit "
            f"starts from (its largest |value| is {validation.data.x_max:.3g}). Scale "
            "X_val as X is scaled; in a Pipeline, route it with "
            "transform_input=['X_val']."
        )
    return validation


def held_out_rows(est, X_val):
    """``X_val`` checked like ``X``, by errors that name it."""
    _check_feature_names(est, X_val, reset=False)
    X_val = check_array(
        X_val,
        accept_sparse=["csr", "csc"],
        dtype=(np.float64, np.float32),
        input_name="X_val",
        estimator=est,
    )
    if X_val.shape[1] != est.n_features_in_:
        raise ValueError(
            f"X_val has {X_val.shape[1]} features, but X has {est.n_features_in_}; "
            "the validation rows need the training data's columns."
        )
    return X_val


def _hook(est, net: Network, held_out: TrainingData) -> Validation:
    """Score ``held_out`` on the true labels; its loss on the trained targets."""
    score = _score_function(est, net, held_out)
    targets = est._training_targets(held_out.Y, held_out.X.dtype)
    return Validation(net, replace(held_out, Y=targets), score)


def _score_function(est, net: Network, held_out: TrainingData):
    """``score(pred, params)`` for the validation hook, by ``scoring``.

    It closes over a frozen copy of this estimator as it is now; a
    scikit-learn scorer is handed a stand-in holding a snapshot of the
    parameters, never the estimator being trained.
    """
    if est.scoring == "loss":
        return None
    model = est._copy()
    y_val, sw_val = est._decode(held_out.Y), held_out.sample_weight
    if est.scoring is None:
        return lambda pred, params: model._score_on(pred, y_val, sw_val)
    scorer = _scorer(est)
    kwargs = {} if sw_val is None or not _takes_sample_weight(scorer) else {"sample_weight": sw_val}
    warned = False

    def score(pred, params):
        nonlocal warned
        standin = model._standin(net, params.copy())
        value = scorer(standin, held_out.X, y_val, **kwargs)
        if isinstance(value, bool) or not isinstance(value, Real):
            raise TypeError(
                f"The 'scoring' of {type(est).__name__} must give a real number; "
                f"{est.scoring!r} returned {value!r} ({type(value).__name__})."
            )
        if math.isnan(value) and not warned:
            warned = True
            warn(
                f"The 'scoring' of {type(est).__name__} ({est.scoring!r}) returned "
                "NaN on the validation set; such epochs count as no improvement."
            )
        return value

    return score


def _scorer(est):
    if est.scoring is None or est.scoring == "loss":
        return None
    if callable(est.scoring):
        return est.scoring
    name = type(est).__name__
    try:
        scorer = get_scorer(est.scoring)
    except ValueError as exc:
        raise InvalidParameterError(
            f"The 'scoring' parameter of {name} must be None, 'loss', "
            f"a scorer name of sklearn.metrics.get_scorer_names() or a callable; "
            f"got {est.scoring!r}."
        ) from exc
    # a scorer that needs predict_proba fails at the first epoch otherwise
    methods = getattr(scorer, "_response_method", "predict")
    methods = (methods,) if isinstance(methods, str) else tuple(methods)
    if not any(hasattr(est, method) for method in methods):
        raise InvalidParameterError(
            f"The 'scoring' parameter of {name} is {est.scoring!r}, which scores "
            f"{' or '.join(methods)}; {name} has no such method. Choose a scorer "
            f"for a {'classifier' if isinstance(est, ClassifierMixin) else 'regressor'}."
        )
    return scorer
