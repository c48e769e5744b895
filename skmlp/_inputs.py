"""Checks of the data a fit is given, shared by the training and held-out rows.

The targets a loss can take, regression targets as numbers, and the cast to
the training dtype, which must not turn a finite value infinite. Each check
raises a ``ValueError`` that names the array and what to do.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.utils.validation import _check_sample_weight

__all__ = [
    "check_representable",
    "check_target_domain",
    "check_weight_sum",
    "in_training_dtype",
    "numeric_targets",
]


def check_target_domain(loss: str, y: np.ndarray, name: str) -> None:
    """The targets a loss with a log link can take: Poisson y >= 0, gamma y > 0."""
    if loss == "poisson" and np.any(y < 0):
        raise ValueError(f"loss='poisson' requires {name} >= 0; {name} has negative values.")
    if loss == "gamma" and not np.all(y > 0):
        raise ValueError(
            f"loss='gamma' requires {name} > 0; {name} has values <= 0 (the gamma "
            "deviance is undefined there)."
        )


def in_training_dtype(X, Y, sample_weight, dtype, dtype_param):
    """``X``, ``Y`` (2-d) and the checked ``sample_weight`` in the training
    ``dtype``; a value the cast makes infinite is an error."""
    given = {"X": X, "y": Y, "sample_weight": sample_weight}
    with np.errstate(over="ignore"):  # an overflow is reported below, by name
        if X.dtype != dtype:
            X = X.astype(dtype)
        if sample_weight is not None:
            # negative weights leave mini-batch losses unbounded below; checked
            # in float64, so that a weight float32 cannot hold is named below
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
            given["sample_weight"] = sample_weight
            sample_weight = sample_weight.astype(dtype, copy=False)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if Y.dtype != bool:
            Y = np.ascontiguousarray(Y, dtype=dtype)
    if dtype.itemsize < np.dtype(np.float64).itemsize:
        cast = {"X": X, "y": Y, "sample_weight": sample_weight}
        check_representable(given, cast, dtype_param)
    return X, Y, sample_weight


def check_representable(given: dict, cast: dict, dtype_param) -> None:
    """Refuse values that became infinite when cast to the training dtype
    (float64 beyond float32's range), naming the array, the entry and
    ``dtype``; training on them would diverge at the first batch."""
    for name, array in cast.items():
        if array is None or array.dtype == bool:
            continue
        sparse = hasattr(array, "tocoo")
        values = array.data if sparse else array
        if not values.size or (math.isfinite(values.max()) and math.isfinite(values.min())):
            continue
        if sparse:
            coo = array.tocoo()
            k = int(np.flatnonzero(~np.isfinite(coo.data))[0])
            index = (int(coo.row[k]), int(coo.col[k]))
        else:
            index = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        original = given[name]
        if np.ndim(original) == 1:
            index = index[:1]
        value = float(original[index]) if len(index) == 2 else float(np.ravel(original)[index[0]])
        position = f"row {index[0]}, column {index[1]}" if len(index) == 2 else f"row {index[0]}"
        raise ValueError(
            f"{name} holds {value:.6g} ({position}), beyond the range of {array.dtype.name}; "
            f"dtype={dtype_param!r} trains in {array.dtype.name}, where it becomes infinite. "
            f"Scale {name}, or set dtype='float64'."
        )


def numeric_targets(y, name: str = "y"):
    """Regression targets as floats, or a ValueError that names them."""
    if y is None or (hasattr(y, "dtype") and y.dtype.kind in "biuf"):
        return y
    try:
        array = np.asarray(y)
        return y if array.dtype.kind in "biuf" else array.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must hold numbers for a regression; converting it to float failed: {exc}"
        ) from exc


def check_weight_sum(weights: np.ndarray, given: bool, class_weighted: bool) -> None:
    """Refuse weights whose sum overflows: every loss and gradient divides
    by it, so training would diverge at once. ``given``: the user passed
    ``sample_weight``; ``class_weighted``: ``class_weight`` is set."""
    with np.errstate(over="ignore"):
        if math.isfinite(np.add.reduce(weights)):
            return
    named = (
        "sample_weight times class_weight"
        if given and class_weighted
        else ("sample_weight" if given else "class_weight")
    )
    raise ValueError(
        f"The sample weights ({named}) sum to more than {weights.dtype.name} can "
        f"hold ({len(weights)} rows, the largest {float(np.max(weights)):.3g}). Only "
        "their ratios matter: divide them by a common factor."
    )
