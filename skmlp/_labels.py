"""The classifier's labels: its classes, their encoding, their weights.

Labels are kept as plain arrays and strings (``classes_``, ``_target_type``),
not as a LabelBinarizer, so the fitted state is numpy arrays and builtins.
The network trains on a boolean indicator matrix, one column per output: one
column for a binary target (the second class), one per class otherwise.
Every function here takes that state explicitly.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import check_array, column_or_1d

__all__ = [
    "check_held_out",
    "check_known",
    "check_sortable",
    "class_weights",
    "decode",
    "encode",
    "learn",
    "smooth",
]


def learn(y) -> tuple[np.ndarray, str]:
    """``(classes, target_type)`` of ``y`` (or of the ``classes`` argument of
    a first ``partial_fit``)."""
    check_classification_targets(y)
    target_type = type_of_target(y)
    if target_type == "multilabel-indicator":
        return np.arange(np.shape(y)[1]), target_type
    if target_type not in ("binary", "multiclass"):
        raise ValueError(
            f"MLPClassifier supports binary, multiclass and multilabel-indicator "
            f"targets; y is {target_type}."
        )
    classes = unique_labels(y)
    if len(classes) < 2:
        raise ValueError(
            "MLPClassifier needs samples of at least 2 classes in y; got only "
            f"one class: {classes.tolist()[0]!r}."
        )
    return classes, "binary" if len(classes) <= 2 else "multiclass"


def check_sortable(y) -> None:
    """Labels must be comparable: ``classes_`` is kept sorted."""
    if y.dtype != object:
        return
    try:
        np.unique(y)
    except TypeError as exc:
        raise ValueError(
            f"y mixes labels that cannot be sorted together ({exc}); use labels of one type."
        ) from exc


def check_known(y, classes: np.ndarray, same: bool) -> None:
    """The labels of a continued fit: exactly ``classes`` for a warm start
    (``same``), a subset of them for ``partial_fit``."""
    new = unique_labels(y)
    if same:
        if set(new) != set(classes):
            raise ValueError(
                "warm_start can only be used where `y` has the same "
                f"classes as in the previous call to fit. Previously got "
                f"{classes}, `y` has {new}"
            )
    elif len(np.setdiff1d(new, classes, assume_unique=True)):
        raise ValueError(
            f"`y` has classes not in `self.classes_`. `self.classes_` has {classes}. 'y' has {new}."
        )


def check_held_out(y_val, classes: np.ndarray, multilabel: bool):
    """Validation labels shaped as ``y`` is; a label ``y`` lacks is an error."""
    y_val = check_array(y_val, ensure_2d=False, dtype=None, input_name="y_val")
    if y_val.ndim == 2 and y_val.shape[1] == 1 and not multilabel:
        y_val = column_or_1d(y_val)
    if y_val.ndim != 1 and not multilabel:
        raise ValueError(
            f"y_val must hold one label per row (1-d), as y does; got shape {y_val.shape}."
        )
    if multilabel:
        if y_val.ndim != 2 or y_val.shape[1] != len(classes):
            raise ValueError(
                f"y_val must be a label-indicator matrix with {len(classes)} "
                f"columns, as y is; got shape {y_val.shape}."
            )
        return y_val
    try:
        unseen = np.setdiff1d(np.unique(y_val), classes)
    except TypeError as exc:  # labels that cannot be sorted together
        raise ValueError(f"y_val holds labels that are not classes of y ({exc}).") from exc
    if len(unseen):
        raise ValueError(
            f"y_val has labels {unseen.tolist()} that are not in y; the classes "
            f"are {classes.tolist()}."
        )
    return y_val


def encode(y, classes: np.ndarray, target_type: str) -> np.ndarray:
    """Targets as a boolean indicator matrix, one column per output."""
    if target_type == "multilabel-indicator":
        return np.asarray(y).astype(bool)
    y = np.asarray(y)
    if target_type == "binary":
        return (y == classes[1]).reshape(-1, 1)
    return np.searchsorted(classes, y)[:, None] == np.arange(len(classes))


def decode(Y: np.ndarray, classes: np.ndarray, target_type: str):
    """Labels from network outputs: threshold 0.5 (binary, multilabel) or
    the most probable class."""
    if target_type == "multilabel-indicator":
        return (Y > 0.5).astype(int)
    if target_type == "binary":
        return classes[(Y.ravel() > 0.5).astype(np.intp)]
    return classes[Y.argmax(axis=1)]


def smooth(Y: np.ndarray, eps: float, target_type: str, dtype) -> np.ndarray:
    """``(1 - eps) * Y + eps / K`` (label smoothing): ``K`` classes under a
    softmax, 2 for each logistic output."""
    if eps == 0.0:
        return Y
    n_classes = Y.shape[1] if target_type == "multiclass" else 2
    return (Y * (1.0 - eps) + eps / n_classes).astype(dtype)


def class_weights(class_weight, classes: np.ndarray, target_type: str, Y, dtype) -> np.ndarray:
    """The weight of each row of the encoded targets ``Y`` by ``class_weight``
    (``'balanced'`` or a dict)."""
    if target_type == "multilabel-indicator":
        raise ValueError("class_weight is not supported for multilabel targets.")
    labels = Y.argmax(axis=1) if Y.shape[1] > 1 else Y.ravel().astype(np.intp)
    n_classes = len(classes)
    if isinstance(class_weight, str):  # 'balanced'
        counts = np.bincount(labels, minlength=n_classes).astype(float)
        per_class = np.where(counts > 0, len(labels) / (n_classes * np.maximum(counts, 1)), 0)
    else:
        per_class = np.array([float(w) for w in _class_weight_values(class_weight, classes)])
    if not (per_class[labels] > 0).any():
        raise ValueError(
            f"class_weight={class_weight!r} gives every sample of y weight 0; "
            "at least one class present in y needs a positive weight."
        )
    return per_class[labels].astype(dtype)


def _class_weight_values(class_weight: dict, classes: np.ndarray) -> list:
    """The dict ``class_weight`` checked, as one weight per class (1 if missing)."""
    classes = classes.tolist()
    for key, value in class_weight.items():
        if key not in classes:
            raise ValueError(
                f"class_weight has the key {key!r}, which is not a class; the classes "
                f"are {classes}."
            )
        if (
            not isinstance(value, Real)
            or isinstance(value, bool)
            or not math.isfinite(value)
            or value < 0
        ):
            raise ValueError(
                f"class_weight[{key!r}] is {value!r}; class weights must be finite numbers >= 0."
            )
    return [class_weight.get(c, 1.0) for c in classes]
