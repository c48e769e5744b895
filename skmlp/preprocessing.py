"""Transformers for tabular inputs, usable before any estimator.

:class:`RobustScaleSmoothClip` is the numeric preprocessing of RealMLP
(Holzmüller et al. 2024, "Better by Default"): centre each column at its
median, scale it by its interquartile range, and squash outliers smoothly
into ``(-3, 3)`` instead of cutting them off.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["RobustScaleSmoothClip", "smooth_clip"]


def smooth_clip(z: np.ndarray, bound: float = 3.0) -> np.ndarray:
    """Squash ``z`` smoothly into ``(-bound, bound)``: ``z / sqrt(1 + (z / bound)^2)``.

    Nearly the identity for ``|z|`` well below ``bound``, odd and strictly
    increasing, so the order of values is kept while outliers lose their
    leverage. Overflow-free: very large ``|z|`` map to ``+-bound``.

    Parameters
    ----------
    z : ndarray
        Values to squash (NaN stays NaN).
    bound : float, default=3.0
        The asymptote.

    Returns
    -------
    ndarray
        The squashed values, a new array of ``z``'s floating dtype.

    Examples
    --------
    >>> from skmlp.preprocessing import smooth_clip
    >>> smooth_clip([0.0, 3.0, 1e300]).round(4).tolist()
    [0.0, 2.1213, 3.0]
    """
    z = np.asarray(z)
    z = z.astype(np.result_type(z.dtype, np.float16), copy=False)
    r = z / bound
    # z / sqrt(1 + r^2) == bound * r / hypot(1, r): hypot never overflows,
    # and an infinite z lands on the asymptote
    with np.errstate(invalid="ignore"):
        out = bound * r / np.hypot(1.0, r)
    return np.where(np.isinf(r), np.sign(r) * bound, out).astype(z.dtype, copy=False)


class RobustScaleSmoothClip(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Robust scaling followed by a smooth clip, column by column.

    Each column ``x`` becomes ``f(s * (x - median))`` with
    ``f(z) = z / sqrt(1 + (z / clip)^2)`` (:func:`smooth_clip`) and
    ``s = 1 / (q75 - q25)``. Where a column's interquartile range is zero,
    ``s = 2 / (max - min)``; where that is zero too (a constant column),
    ``s = 0`` and the column becomes all zeros. Statistics ignore NaN, and
    NaN passes through ``transform`` unchanged, as in scikit-learn's
    :class:`~sklearn.preprocessing.RobustScaler`; a column that is all NaN
    in ``fit`` is centred at 0 with ``s = 0``.

    Parameters
    ----------
    quantile_range : tuple of (float, float), default=(25.0, 75.0)
        The percentiles whose distance scales each column.

    clip : float, default=3.0
        Bound of the smooth clip: every finite output lies in
        ``(-clip, clip)``.

    Attributes
    ----------
    center_ : ndarray of shape (n_features,)
        Each column's median (0 for an all-NaN column).

    scale_ : ndarray of shape (n_features,)
        Each column's multiplier ``s``.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.

    See Also
    --------
    sklearn.preprocessing.RobustScaler : The same centring and scaling,
        without the clip and without the range fallback.

    References
    ----------
    .. [1] D. Holzmüller, L. Grinsztajn and I. Steinwart, "Better by Default:
       Strong Pre-Tuned MLPs and Boosted Trees on Tabular Data", NeurIPS 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from skmlp.preprocessing import RobustScaleSmoothClip
    >>> X = np.array([[1.0], [2.0], [3.0], [4.0], [1000.0]])
    >>> RobustScaleSmoothClip().fit_transform(X).ravel().round(3).tolist()
    [-0.949, -0.493, 0.0, 0.493, 3.0]
    """

    _parameter_constraints: dict = {
        "quantile_range": [tuple],
        "clip": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, quantile_range: tuple = (25.0, 75.0), clip: float = 3.0):
        self.quantile_range = quantile_range
        self.clip = clip

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None) -> RobustScaleSmoothClip:
        """Learn each column's median and scale.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric training data; NaN marks a missing value.
        y : None
            Ignored.

        Returns
        -------
        self : RobustScaleSmoothClip
            The fitted transformer.
        """
        low, high = self._quantiles()
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan")
        X64 = X.astype(np.float64, copy=False)
        seen = ~np.isnan(X64).all(axis=0)
        self.center_ = np.zeros(X.shape[1])
        self.scale_ = np.zeros(X.shape[1])
        if seen.any():
            cols = X64[:, seen]
            q_low, median, q_high = np.nanpercentile(cols, [low, 50.0, high], axis=0)
            # halves first: the distance between two huge values must not overflow
            half_spread = q_high / 2 - q_low / 2
            half_width = np.nanmax(cols, axis=0) / 2 - np.nanmin(cols, axis=0) / 2
            with np.errstate(divide="ignore"):
                scale = np.where(
                    half_spread > 0,
                    0.5 / half_spread,
                    np.where(half_width > 0, 1.0 / half_width, 0.0),
                )
            self.center_[seen] = median
            self.scale_[seen] = np.where(np.isfinite(scale), scale, 0.0)
        return self

    def transform(self, X) -> np.ndarray:
        """Scale and smoothly clip ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric data; NaN passes through.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            The transformed data, in ``X``'s floating dtype (float64 for
            integer input).
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan", reset=False
        )
        with np.errstate(over="ignore"):  # an overflow saturates the clip
            z = (X.astype(np.float64, copy=False) - self.center_) * self.scale_
        return smooth_clip(z, float(self.clip)).astype(X.dtype, copy=False)

    def inverse_transform(self, X) -> np.ndarray:
        """Undo :meth:`transform` where it is invertible.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Transformed data, with ``|x| < clip``.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            The data in original units. Columns with ``scale_ == 0`` map back
            to their centre; values at or beyond the clip bound to +-inf.
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan", reset=False
        )
        r = X.astype(np.float64, copy=False) / float(self.clip)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = float(self.clip) * r / np.sqrt(1.0 - r * r)
            z = np.where(np.abs(r) >= 1.0, np.sign(r) * np.inf, z)
            safe = np.where(self.scale_ > 0, self.scale_, 1.0)
            x = np.where(self.scale_ > 0, z / safe, 0.0) + self.center_
        return x.astype(X.dtype, copy=False)

    def _quantiles(self) -> tuple[float, float]:
        low, high = (float(q) for q in self.quantile_range)
        if not 0.0 <= low < high <= 100.0:
            raise ValueError(
                f"quantile_range must be (low, high) with 0 <= low < high <= 100; "
                f"got {self.quantile_range!r}."
            )
        return low, high

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
