"""The input encoder of the tabular estimators: a raw table to one numeric matrix.

:class:`TabularEncoder` learns, in ``fit``, which columns are categorical and
how each column is encoded, and ``transform`` writes every row into one dense
matrix laid out as ``[numeric | missing indicators | binary and one-hot |
embedding codes]``; :class:`InputLayout` is that layout as plain data, for the
network that reads the matrix. Numeric columns go through
:class:`~skmlp.preprocessing.RobustScaleSmoothClip`. The module reads numpy
arrays, pandas and polars DataFrames column by column, and imports pandas or
polars only when it is handed one of their frames.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names,
    _check_feature_names_in,
    _check_n_features,
    _get_feature_names,
    check_array,
    check_is_fitted,
)

from .preprocessing import RobustScaleSmoothClip

__all__ = ["InputLayout", "TabularEncoder"]

_BINARY, _ONE_HOT, _EMBEDDING = "binary", "one-hot", "embedding"


@dataclass(frozen=True)
class InputLayout:
    """Where each kind of feature sits in the encoded matrix.

    The columns are, in this order: ``n_numeric`` scaled numeric columns,
    ``n_indicators`` missingness indicators (0 or 1), ``n_onehot`` binary
    (-1, 0 or +1) and one-hot (0 or 1) columns, then one integer code column
    per embedded categorical column.

    Attributes
    ----------
    n_numeric : int
        Number of numeric columns.
    n_indicators : int
        Number of missingness indicators (one per numeric column that had a
        missing value in ``fit``).
    n_onehot : int
        Number of binary and one-hot columns together.
    embedding_levels : tuple of int
        For each code column, the number of codes it can hold, the reserved
        code 0 (an unknown category) included: an embedding table for it
        needs this many rows.
    """

    n_numeric: int
    n_indicators: int
    n_onehot: int
    embedding_levels: tuple[int, ...]

    @property
    def n_embedding(self) -> int:
        """Number of integer code columns."""
        return len(self.embedding_levels)

    @property
    def n_dense(self) -> int:
        """Number of columns before the codes (numeric, indicators, one-hot)."""
        return self.n_numeric + self.n_indicators + self.n_onehot

    @property
    def n_features_out(self) -> int:
        """Number of columns of the encoded matrix."""
        return self.n_dense + self.n_embedding

    @property
    def numeric(self) -> slice:
        """The numeric columns."""
        return slice(0, self.n_numeric)

    @property
    def indicators(self) -> slice:
        """The missingness indicators."""
        return slice(self.n_numeric, self.n_numeric + self.n_indicators)

    @property
    def onehot(self) -> slice:
        """The binary and one-hot columns."""
        return slice(self.n_numeric + self.n_indicators, self.n_dense)

    @property
    def embedding(self) -> slice:
        """The integer code columns."""
        return slice(self.n_dense, self.n_features_out)


@dataclass(frozen=True)
class _Categorical:
    """One categorical input column: its levels in code order and its encoding."""

    index: int  # the column's position in the input
    levels: tuple  # the non-missing levels, sorted
    has_missing: bool  # a missing value was seen in fit: its level comes last
    kind: str  # _BINARY, _ONE_HOT or _EMBEDDING
    offset: int  # its first column in the encoded matrix

    @property
    def n_levels(self) -> int:
        return len(self.levels) + self.has_missing

    def codes(self, column: np.ndarray, label: str) -> np.ndarray:
        """Each value's level, 0 to ``n_levels - 1``; -1 for a level unseen in fit."""
        lookup = {level: code for code, level in enumerate(self.levels)}
        missing = _missing(column)
        try:
            codes = np.fromiter(
                (lookup.get(v, -1) for v in column.tolist()), dtype=np.intp, count=len(column)
            )
        except TypeError as exc:  # an unhashable value cannot be a category
            raise TypeError(
                f"Column {label} holds an unhashable value ({exc}); the argument must be "
                "a string or a number in every cell."
            ) from None
        codes[missing] = len(self.levels) if self.has_missing else -1
        return codes

    def write(self, out: np.ndarray, codes: np.ndarray) -> None:
        """Write the encoded column(s) into ``out``, whose unknown entries stay 0."""
        if self.kind == _BINARY:
            out[:, self.offset] = np.where(codes < 0, 0.0, 2.0 * codes - 1.0)
        elif self.kind == _ONE_HOT:
            rows = np.flatnonzero(codes >= 0)
            out[rows, self.offset + codes[rows]] = 1.0
        else:
            out[:, self.offset] = codes + 1  # code 0 is the unknown category

    def names(self, name: str) -> list[str]:
        """The names of the encoded column(s)."""
        if self.kind == _EMBEDDING:
            return [name]
        texts = [str(v) for v in self.levels] + ["nan"] * self.has_missing
        if self.kind == _BINARY:
            return [f"{name}_{texts[1]}"]  # +1 marks the second level
        return [f"{name}_{text}" for text in texts]


# --- reading a table column by column ---------------------------------------


@dataclass(frozen=True)
class _Table:
    """A table as 1-D columns: float64 (NaN missing) or object (None missing)."""

    columns: list
    by_dtype: np.ndarray  # categorical under categorical_features='from_dtype'

    @property
    def n_rows(self) -> int:
        return len(self.columns[0])


def _frame_module(X, module: str):
    """The module ``module`` if ``X`` is one of its DataFrames, else None."""
    lib = sys.modules.get(module)  # never imported here: X would come from it
    if lib is not None and isinstance(X, lib.DataFrame):
        return lib
    return None


def _missing_markers() -> tuple:
    pd = sys.modules.get("pandas")
    return (None,) if pd is None else (None, pd.NA, pd.NaT)


def _missing(column: np.ndarray) -> np.ndarray:
    """Where a column holds no value: NaN in a float column, None in an object one."""
    if column.dtype != object:
        return np.isnan(column)
    return np.fromiter((v is None for v in column), dtype=bool, count=len(column))


def _is_missing(value, markers: tuple) -> bool:
    if any(value is m for m in markers):
        return True
    return isinstance(value, (float, np.floating)) and value != value


def _missing_objects(values: np.ndarray) -> np.ndarray:
    """Where an object array holds None, NaN (or pandas' NA and NaT)."""
    try:  # vectorized: None == None, and NaN and NaT differ from themselves
        with np.errstate(invalid="ignore"):
            return np.equal(values, None) | np.not_equal(values, values)
    except (TypeError, ValueError):  # pandas' NA has no truth value
        markers = _missing_markers()
        return np.fromiter((_is_missing(v, markers) for v in values), bool, len(values))


def _is_number(value) -> bool:
    return isinstance(value, (Real, np.bool_)) and not isinstance(value, str)


def _object_column(
    values: np.ndarray, textual: bool, missing: np.ndarray | None = None
) -> tuple[np.ndarray, bool]:
    """An object column with None for missing, or float64 when it holds only numbers.

    Returns the column and whether it stays an object column. A column of a
    string or categorical dtype (``textual``) always stays one. ``missing``,
    when the caller knows it, saves looking for the missing values.
    """
    if missing is None:
        missing = _missing_objects(values)
    present = values[~missing]
    if not textual and all(_is_number(v) for v in present):
        out = np.full(len(values), np.nan)
        out[~missing] = present.astype(np.float64)
        return out, False
    out = values.astype(object, copy=True)
    out[missing] = None
    return out, True


def _table(reads: list) -> _Table:
    return _Table([c for c, _ in reads], np.array([o for _, o in reads], dtype=bool))


def _read_array(X) -> _Table:
    if not hasattr(X, "__array__") and not hasattr(X, "shape"):
        # a list mixing numbers and strings would otherwise become all strings
        if np.asarray(X).dtype.kind in "US":
            X = np.asarray(X, dtype=object)
    X = check_array(X, dtype=None, ensure_all_finite=False, estimator="TabularEncoder")
    kind = X.dtype.kind
    if kind in "biuf":
        return _table([(X[:, j].astype(np.float64), False) for j in range(X.shape[1])])
    if kind not in "OUS":
        raise TypeError(f"TabularEncoder cannot encode an array of dtype {X.dtype}.")
    return _table([_object_column(X[:, j].astype(object), kind != "O") for j in range(X.shape[1])])


def _read_pandas_column(series, label: str) -> tuple[np.ndarray, bool]:
    import pandas as pd  # already imported: the caller was handed a pandas frame

    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan), False
    if isinstance(dtype, pd.CategoricalDtype):  # the categories keep their own type
        codes = series.cat.codes.to_numpy()  # -1 for missing: the None appended
        categories = np.append(series.cat.categories.to_numpy(dtype=object), None)
        return _object_column(categories[codes], True, codes < 0)
    is_object = pd.api.types.is_object_dtype(dtype)
    textual = not is_object and pd.api.types.is_string_dtype(dtype)
    if not textual and not is_object:
        raise TypeError(f"Column {label} has dtype {dtype}, which TabularEncoder cannot encode.")
    values = series.to_numpy(dtype=object, na_value=None)
    return _object_column(values, textual, series.isna().to_numpy())


def _read_polars_column(series, label: str) -> tuple[np.ndarray, bool]:
    import polars as pl  # already imported: the caller was handed a polars frame

    dtype = series.dtype
    if dtype.is_numeric() or dtype == pl.Boolean or dtype == pl.Null:
        return series.cast(pl.Float64).to_numpy(), False
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        values = np.asarray(series.cast(pl.String).to_list(), dtype=object)
        return _object_column(values, True, series.is_null().to_numpy())
    if dtype == pl.Object:
        return _object_column(np.asarray(series.to_list(), dtype=object), False)
    raise TypeError(f"Column {label} has dtype {dtype}, which TabularEncoder cannot encode.")


def _read_table(X) -> _Table:
    """Read ``X`` (array-like, pandas or polars DataFrame) column by column."""
    if _frame_module(X, "pandas") is not None:
        columns = [(X.iloc[:, j], X.columns[j]) for j in range(X.shape[1])]
        read = _read_pandas_column
    elif _frame_module(X, "polars") is not None:
        columns = [(X.to_series(j), X.columns[j]) for j in range(X.shape[1])]
        read = _read_polars_column
    else:
        return _read_array(X)
    n_rows, n_columns = X.shape
    if n_rows == 0 or n_columns == 0:
        raise ValueError(
            f"Found array with {n_rows} sample(s) and {n_columns} feature(s) while a "
            "minimum of 1 sample and 1 feature is required by TabularEncoder."
        )
    return _table([read(series, repr(name)) for series, name in columns])


# --- which columns are categorical, and their levels --------------------------


def _categorical_mask(spec, table: _Table, names) -> np.ndarray:
    """``categorical_features`` as a boolean mask over the columns.

    The same forms and checks as scikit-learn's HistGradientBoosting, except
    that ``'from_dtype'`` also reads string and object columns (``table.by_dtype``).
    """
    n_columns = len(table.columns)
    if spec is None:
        return np.zeros(n_columns, dtype=bool)
    if isinstance(spec, str) and spec == "from_dtype":
        return table.by_dtype.copy()
    spec = np.asarray(spec)
    if spec.size == 0:
        return np.zeros(n_columns, dtype=bool)
    if (
        spec.ndim != 1
        or spec.dtype.kind not in "iubUO"
        or (spec.dtype.kind == "O" and not all(isinstance(v, str) for v in spec))
    ):
        raise ValueError(
            "categorical_features must be 'from_dtype', None, or a 1-D array-like of "
            f"bool, int or str; got {spec!r}."
        )
    mask = np.zeros(n_columns, dtype=bool)
    if spec.dtype.kind in "UO":
        mask[_indices_of_names(spec, names)] = True
    elif spec.dtype.kind == "b":
        if spec.shape != (n_columns,):
            raise ValueError(
                "categorical_features set as a boolean mask must have shape "
                f"(n_features,) = ({n_columns},); got {spec.shape}."
            )
        mask[:] = spec
    else:
        bad = [int(i) for i in spec if not 0 <= i < n_columns]
        if bad:
            raise ValueError(
                f"categorical_features holds the indices {bad}, outside [0, {n_columns - 1}] "
                f"for X with {n_columns} features."
            )
        mask[spec] = True
    return mask


def _indices_of_names(spec: np.ndarray, names) -> list[int]:
    if names is None:
        raise ValueError(
            "categorical_features names columns, but X has no feature names: pass "
            "integer indices or a boolean mask, or a DataFrame with string column names."
        )
    position = {name: j for j, name in enumerate(names)}
    unknown = [str(v) for v in spec if v not in position]
    if unknown:
        raise ValueError(
            f"categorical_features names the columns {unknown}, which X does not have. "
            f"X's columns: {list(names)}."
        )
    return [position[v] for v in spec]


def _sorted_levels(distinct: set) -> tuple:
    try:
        return tuple(sorted(distinct))
    except TypeError:  # levels of several types: order by type, then text
        return tuple(sorted(distinct, key=lambda v: (type(v).__name__, repr(v))))


def _learn_levels(column: np.ndarray, label: str) -> tuple[tuple, bool]:
    """The sorted non-missing levels of a categorical column, and whether one was missing."""
    missing = _missing(column)
    present = column[~missing]
    if column.dtype != object:
        bad = ~np.isfinite(present) | (present != np.round(present))
        if bad.any():
            raise ValueError(
                f"Column {label} is declared in categorical_features but holds the non-"
                f"integer value {float(present[bad][0])!r}: a float column is categorical only "
                "when every value is an integer."
            )
        return tuple(int(v) for v in np.unique(present)), bool(missing.any())
    try:
        distinct = set(present.tolist())
    except TypeError as exc:
        raise TypeError(
            f"Column {label} is categorical but holds an unhashable value ({exc}); the "
            "argument must be a string or a number in every cell."
        ) from None
    return _sorted_levels(distinct), bool(missing.any())


def _as_numeric(column: np.ndarray, label: str, when: str) -> np.ndarray:
    """A numeric column as float64; strings or infinities in it are errors."""
    if column.dtype == object:
        present = column[~_missing(column)]
        strange = [v for v in present if not _is_number(v)]
        if strange:
            raise ValueError(
                f"Column {label} {when} but holds the non-numeric value "
                f"{strange[0]!r}; declare it in categorical_features, or convert it."
            )
        column = np.where(_missing(column), np.nan, column).astype(np.float64)
    if np.isinf(column).any():
        raise ValueError(
            f"Input column {label} contains infinity; TabularEncoder accepts NaN as a "
            "missing value, but not infinite values."
        )
    return column


# how far above the upper quartile, in interquartile ranges, a column's
# maximum must lie for log_skewed to compress it
_TAIL_IQRS = 5.0


def _long_right_tail(X_num: np.ndarray) -> np.ndarray:
    """Which columns are non-negative with a maximum more than ``_TAIL_IQRS``
    interquartile ranges above the upper quartile (missing values ignored)."""
    out = np.zeros(X_num.shape[1], dtype=bool)
    for j, column in enumerate(X_num.T):
        values = column[~np.isnan(column)]
        if len(values) == 0 or values.min() < 0:
            continue
        q25, q75 = np.quantile(values, [0.25, 0.75])
        out[j] = values.max() - q75 > _TAIL_IQRS * (q75 - q25)
    return out


def _kind(n_levels: int, max_one_hot: int) -> str:
    if n_levels == 2:
        return _BINARY
    return _ONE_HOT if n_levels <= max_one_hot else _EMBEDDING


def _plan(
    learned: list, n_numeric: int, n_indicators: int, max_one_hot: int
) -> tuple[tuple[_Categorical, ...], InputLayout]:
    """Each categorical column's encoding and place, and the layout they make.

    ``learned`` holds ``(index, levels, has_missing)`` per categorical column,
    in input order; binary and one-hot columns follow the numeric columns and
    indicators, code columns come last, each part in input order.
    """
    kinds = [_kind(len(levels) + missing, max_one_hot) for _, levels, missing in learned]
    widths = [
        {_BINARY: 1, _ONE_HOT: len(levels) + missing, _EMBEDDING: 0}[kind]
        for (_, levels, missing), kind in zip(learned, kinds)
    ]
    dense_at = n_numeric + n_indicators
    code_at = dense_at + sum(widths)
    plan = []
    for (j, levels, has_missing), kind, width in zip(learned, kinds, widths):
        offset = code_at if kind == _EMBEDDING else dense_at
        plan.append(_Categorical(int(j), levels, has_missing, kind, offset))
        dense_at += width
        code_at += kind == _EMBEDDING
    layout = InputLayout(
        n_numeric=n_numeric,
        n_indicators=n_indicators,
        n_onehot=sum(widths),
        embedding_levels=tuple(c.n_levels + 1 for c in plan if c.kind == _EMBEDDING),
    )
    return tuple(plan), layout


# --- the transformer ----------------------------------------------------------


class TabularEncoder(TransformerMixin, BaseEstimator):
    """Encode a raw table (numeric, categorical, missing) as one numeric matrix.

    The input encoding of the tabular estimators, learned in ``fit``:

    - **Numeric columns** with a long right tail are first compressed by a
      logarithm (``log_skewed``), then every numeric column is robustly
      scaled and smoothly clipped
      (:class:`~skmlp.preprocessing.RobustScaleSmoothClip`):
      ``x' = f(s (x - median))`` with ``f(z) = z / sqrt(1 + (z / 3)^2)`` and
      ``s = 1 / IQR`` (``2 / (max - min)`` where the IQR is 0, else 0). A
      missing value (NaN) becomes 0 after scaling, and every numeric column
      that had a missing value in ``fit`` gets a missingness indicator (1
      where the value is missing, else 0). A constant column becomes 0; an
      all-missing column becomes 0 with an indicator that is 1 on every
      training row. Infinite values are an error.
    - **Categorical columns** get their levels in ``fit``; a missing value
      (NaN, None) is a level of its own when ``fit`` saw one. A column with
      exactly 2 levels becomes one feature, -1 for the first level and +1
      for the second; one with 1 level or 3 to ``max_one_hot`` levels is
      one-hot encoded; one with more levels becomes one integer code column
      (1 to ``n_levels``) for a learned embedding. A category that ``fit``
      did not see (or a missing value, when ``fit`` saw none) is encoded as 0,
      all zeros, or code 0: never an error.

    The encoded matrix is laid out as ``[numeric | missing indicators |
    binary and one-hot | embedding codes]``; ``layout_`` gives each part's
    width.

    Parameters
    ----------
    categorical_features : {'from_dtype'} or array-like of {bool, int, str} or None, \
default='from_dtype'
        Which columns are categorical, as in scikit-learn's
        :class:`~sklearn.ensemble.HistGradientBoostingClassifier`:

        - ``'from_dtype'``: the columns of a pandas ``category`` or polars
          ``Categorical``/``Enum`` dtype, and also the columns of a string
          dtype, and object columns that hold anything other than numbers
          (booleans count as numbers). HistGradientBoosting takes only the
          categorical dtypes and rejects strings; a neural network needs
          every column as numbers anyway, so strings are read as categories
          rather than refused. A numeric array has no categorical column.
        - ``None``: no column is categorical.
        - an array of integer indices, of column names (``X`` must have
          string column names), or a boolean mask of shape ``(n_features,)``.

        A float column can be declared categorical only when every value is
        an integer.

    numeric_scaling : {'robust_smooth_clip', 'standard'}, default='robust_smooth_clip'
        How numeric columns are scaled: as described above, or by
        scikit-learn's :class:`~sklearn.preprocessing.StandardScaler` (mean
        0, standard deviation 1; missing values ignored in ``fit``, then 0),
        the baseline of RealMLP's ablation.

    log_skewed : bool, default=True
        Whether to replace each numeric column with a long right tail by
        ``sign(x) log(1 + |x|)`` before scaling. A column has one when its
        values in ``fit`` are all non-negative and its maximum lies more than
        5 interquartile ranges above its upper quartile (counts, sizes,
        amounts; also a mostly-zero column with rare large values, whose
        interquartile range is 0). Smooth clipping alone squeezes such a
        tail into a few hundredths of the scaled range, where the network
        can hardly tell its values apart; a tree's thresholds can. The
        signed form keeps negative values seen only at prediction finite.

    max_one_hot : int, default=9
        The most levels (a missing level included) a column is one-hot
        encoded with; columns with more become embedding codes. 9 is
        RealMLP's ``max_one_hot_cat_size``.

    max_categories : int, default=1000
        The most levels (a missing level included) a categorical column may
        have: a column with more is an error, as it is more likely an
        identifier or a numeric column than a category, and its embedding
        table would grow with it. (scikit-learn's
        :class:`~sklearn.preprocessing.OneHotEncoder` uses the same name for a
        different thing: it groups the rarest categories into one.)

    dtype : {'float64', 'float32'}, default='float64'
        The dtype of the encoded matrix (codes are exact integers in both
        up to ``2**24``).

    Attributes
    ----------
    layout_ : InputLayout
        The widths of the four parts of the encoded matrix, and the number of
        codes of each embedding column (the reserved code 0 included).

    is_categorical_ : ndarray of shape (n_features_in_,), dtype=bool
        Which input columns are categorical.

    categories_ : list of ndarray
        For each categorical column, in input order, its levels in code
        order: the sorted levels seen in ``fit``, then ``None`` if a missing
        value was seen. Integer-valued float levels are stored as ``int``.

    numeric_features_ : ndarray of int
        The input positions of the numeric columns, in output order.

    indicator_features_ : ndarray of int
        The input positions of the numeric columns that have a missingness
        indicator, in output order.

    log_features_ : ndarray of int
        The input positions of the numeric columns that ``log_skewed``
        compresses, in output order.

    numeric_scaler_ : RobustScaleSmoothClip, StandardScaler or None
        The scaler of the numeric columns (None when there are none).

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.

    See Also
    --------
    skmlp.preprocessing.RobustScaleSmoothClip : The numeric columns' scaling.
    sklearn.ensemble.HistGradientBoostingClassifier : Where
        ``categorical_features`` comes from.

    Examples
    --------
    >>> import numpy as np
    >>> from skmlp._tabular_input import TabularEncoder
    >>> X = np.array([[1.0, "a"], [2.0, "b"], [np.nan, "a"], [4.0, "b"]], dtype=object)
    >>> enc = TabularEncoder().fit(X)
    >>> enc.get_feature_names_out().tolist()
    ['x0', 'missingindicator_x0', 'x1_b']
    >>> enc.transform([[2.0, "b"], [np.nan, "c"]]).tolist()
    [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """

    _parameter_constraints: dict = {
        "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
        "numeric_scaling": [StrOptions({"robust_smooth_clip", "standard"})],
        "log_skewed": ["boolean"],
        "max_one_hot": [Interval(Integral, 2, None, closed="left")],
        "max_categories": [Interval(Integral, 1, None, closed="left")],
        "dtype": [StrOptions({"float64", "float32"})],
    }

    def __init__(
        self,
        categorical_features="from_dtype",
        numeric_scaling: str = "robust_smooth_clip",
        log_skewed: bool = True,
        max_one_hot: int = 9,
        max_categories: int = 1000,
        dtype: str = "float64",
    ):
        self.categorical_features = categorical_features
        self.numeric_scaling = numeric_scaling
        self.log_skewed = log_skewed
        self.max_one_hot = max_one_hot
        self.max_categories = max_categories
        self.dtype = dtype

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None) -> TabularEncoder:
        """Learn which columns are categorical, their levels, and the scaling.

        Parameters
        ----------
        X : array-like, pandas DataFrame or polars DataFrame of shape \
(n_samples, n_features)
            The training table; NaN or None marks a missing value.
        y : None
            Ignored.

        Returns
        -------
        self : TabularEncoder
            The fitted encoder.
        """
        table = _read_table(X)
        _check_n_features(self, X, reset=True)
        _check_feature_names(self, X, reset=True)
        labels = self._labels()
        names = getattr(self, "feature_names_in_", None)
        mask = _categorical_mask(self.categorical_features, table, names)
        numeric = np.flatnonzero(~mask)
        X_num = self._numeric_block(table, numeric, "is not in categorical_features")
        had_nan = np.isnan(X_num).any(axis=0)
        self.is_categorical_ = mask
        self.numeric_features_ = numeric
        self.indicator_features_ = numeric[had_nan]
        self.log_features_ = numeric[_long_right_tail(X_num)] if self.log_skewed else numeric[:0]
        X_num = self._compressed(X_num)
        scaler = RobustScaleSmoothClip if self.numeric_scaling != "standard" else StandardScaler
        self.numeric_scaler_ = scaler().fit(X_num) if len(numeric) else None
        learned = [(j, *_learn_levels(table.columns[j], labels[j])) for j in np.flatnonzero(mask)]
        for j, levels, has_missing in learned:
            self._check_n_categories(len(levels) + has_missing, labels[j])
        self._categoricals, self.layout_ = _plan(
            learned, len(numeric), int(had_nan.sum()), self.max_one_hot
        )
        self.categories_ = [
            np.array([*c.levels, *[None] * c.has_missing], dtype=object) for c in self._categoricals
        ]
        return self

    def _check_n_categories(self, n_levels: int, label: str) -> None:
        if n_levels > self.max_categories:
            raise ValueError(
                f"Column {label} has {n_levels} categories, more than "
                f"max_categories={self.max_categories}; raise max_categories, or encode "
                "the column yourself."
            )

    def transform(self, X) -> np.ndarray:
        """Encode ``X`` with what ``fit`` learned.

        Parameters
        ----------
        X : array-like, pandas DataFrame or polars DataFrame of shape \
(n_samples, n_features)
            A table with the training table's columns, in the same order.

        Returns
        -------
        ndarray of shape (n_samples, layout_.n_features_out)
            The encoded matrix, ``[numeric | missing indicators | binary and
            one-hot | embedding codes]``.
        """
        check_is_fitted(self)
        self._check_columns(X)
        table = _read_table(X)
        if len(table.columns) != self.n_features_in_:
            raise ValueError(
                f"X has {len(table.columns)} features, but TabularEncoder is expecting "
                f"{self.n_features_in_} features as input."
            )
        layout, labels = self.layout_, self._labels()
        out = np.zeros((table.n_rows, layout.n_features_out), dtype=self.dtype)
        X_num = self._numeric_block(table, self.numeric_features_, "was numeric in fit")
        if self.numeric_scaler_ is not None:
            scaled = self.numeric_scaler_.transform(self._compressed(X_num))
            out[:, layout.numeric] = np.where(np.isnan(scaled), 0.0, scaled)
        with_indicator = np.isin(self.numeric_features_, self.indicator_features_)
        out[:, layout.indicators] = np.isnan(X_num[:, with_indicator])
        for column in self._categoricals:
            j = column.index
            column.write(out, column.codes(table.columns[j], labels[j]))
        return out

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the encoded columns, in the layout's order.

        Numeric columns keep their name; an indicator is
        ``missingindicator_<name>``; a binary column is ``<name>_<level>``,
        named after the level encoded +1; a one-hot column is
        ``<name>_<level>`` (``<name>_nan`` for the missing level); a code
        column keeps its name.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            The input column names; by default ``feature_names_in_``, or
            ``x0, x1, ...`` when ``fit`` saw none.

        Returns
        -------
        ndarray of str objects
            One name per column of the encoded matrix.
        """
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        out = [str(names[j]) for j in self.numeric_features_]
        out += [f"missingindicator_{names[j]}" for j in self.indicator_features_]
        for embedded in (False, True):
            for column in self._categoricals:
                if (column.kind == _EMBEDDING) == embedded:
                    out += column.names(str(names[column.index]))
        return np.asarray(out, dtype=object)

    def _labels(self) -> list[str]:
        """How error messages name each input column."""
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            return [str(j) for j in range(self.n_features_in_)]
        return [repr(str(name)) for name in names]

    def _numeric_block(self, table: _Table, numeric: np.ndarray, when: str) -> np.ndarray:
        labels = self._labels()
        block = np.empty((table.n_rows, len(numeric)))
        for k, j in enumerate(numeric):
            block[:, k] = _as_numeric(table.columns[j], labels[j], when)
        return block

    def _compressed(self, X_num: np.ndarray) -> np.ndarray:
        """``X_num`` with the ``log_features_`` columns signed-log compressed."""
        logged = np.isin(self.numeric_features_, self.log_features_)
        if not logged.any():
            return X_num
        X_num = X_num.copy()
        part = X_num[:, logged]
        X_num[:, logged] = np.sign(part) * np.log1p(np.abs(part))
        return X_num

    def _check_columns(self, X) -> None:
        """The frame's columns must be fit's, in fit's order; say which differ."""
        try:
            _check_feature_names(self, X, reset=False)
        except ValueError as exc:
            fitted, given = list(self.feature_names_in_), list(_get_feature_names(X))
            moved = [
                f"{name!r} at position {given.index(name)} (was {j} in fit)"
                for j, name in enumerate(fitted)
                if name in given and given.index(name) != j
            ]
            detail = f"Moved columns: {', '.join(moved)}." if moved else ""
            raise ValueError(f"{exc}{detail}") from None

    def __setstate__(self, state):
        if "log_skewed" not in state:  # saved before it existed: encoded without it
            state = {**state, "log_skewed": False}
            if "numeric_features_" in state:
                state["log_features_"] = state["numeric_features_"][:0]
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.transformer_tags.preserves_dtype = [self.dtype]
        return tags
