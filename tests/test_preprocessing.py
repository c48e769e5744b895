"""RobustScaleSmoothClip and smooth_clip against their definitions."""

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skmlp.preprocessing import RobustScaleSmoothClip, smooth_clip


@parametrize_with_checks([RobustScaleSmoothClip()])
def test_sklearn_compatible_transformer(estimator, check):
    check(estimator)


def _expected(column, x, clip=3.0):
    """The issue's definition, written out for one column."""
    column = column[~np.isnan(column)]
    median = np.median(column)
    q25, q75 = np.percentile(column, [25, 75])
    if q75 > q25:
        s = 1.0 / (q75 - q25)
    elif column.max() > column.min():
        s = 2.0 / (column.max() - column.min())
    else:
        s = 0.0
    z = s * (x - median)
    return z / np.sqrt(1.0 + (z / clip) ** 2)


def test_matches_the_definition_column_by_column():
    rng = np.random.default_rng(0)
    X = np.column_stack(
        [
            rng.standard_t(2, 300) * 50 + 7,  # heavy tails
            rng.exponential(3.0, 300),
            np.r_[np.zeros(280), rng.normal(size=20)],  # IQR 0: range fallback
            np.full(300, 4.2),  # constant
        ]
    )
    X[rng.choice(300, 15, replace=False), 1] = np.nan
    Xt = RobustScaleSmoothClip().fit(X).transform(X)
    for j in range(X.shape[1]):
        np.testing.assert_allclose(Xt[:, j], _expected(X[:, j], X[:, j]), rtol=1e-12, atol=1e-15)
    assert np.isnan(Xt[:, 1]).sum() == 15  # NaN passes through
    assert np.all(Xt[:, 3] == 0.0)


def test_range_fallback_scale():
    x = np.r_[np.zeros(10), -1.0, 3.0]
    est = RobustScaleSmoothClip().fit(x[:, None])
    assert est.scale_[0] == pytest.approx(2.0 / 4.0)


def test_all_nan_column_is_centred_at_zero_with_zero_scale():
    X = np.column_stack([np.arange(6.0), np.full(6, np.nan)])
    est = RobustScaleSmoothClip().fit(X)
    assert est.center_[1] == 0.0 and est.scale_[1] == 0.0
    Xt = est.transform(np.array([[1.0, 5.0], [2.0, np.nan]]))
    assert Xt[0, 1] == 0.0 and np.isnan(Xt[1, 1])


def test_outputs_bounded_monotone_and_invertible():
    rng = np.random.default_rng(1)
    X = rng.lognormal(0, 3, size=(500, 3))
    est = RobustScaleSmoothClip(clip=2.5).fit(X)
    Xt = est.transform(X)
    assert np.all(np.abs(Xt) <= 2.5)
    for j in range(3):
        order = np.argsort(X[:, j])
        assert np.all(np.diff(Xt[order, j]) >= 0)
    inner = np.abs(Xt) < 2.4  # far enough from the bound to invert accurately
    back = est.inverse_transform(Xt)
    np.testing.assert_allclose(back[inner], X[inner], rtol=1e-8)


def test_huge_values_do_not_overflow():
    X = np.array([[0.0], [1.0], [2.0], [1e308], [-1e308]])
    Xt = RobustScaleSmoothClip().fit_transform(X)
    assert np.all(np.isfinite(Xt))
    assert Xt[3, 0] == pytest.approx(3.0) and Xt[4, 0] == pytest.approx(-3.0)


def test_float32_in_float32_out():
    X = np.random.default_rng(2).normal(size=(50, 2)).astype(np.float32)
    assert RobustScaleSmoothClip().fit_transform(X).dtype == np.float32


@pytest.mark.parametrize("bad", [(75.0, 25.0), (-1.0, 50.0), (10.0, 101.0), (5.0, 5.0)])
def test_bad_quantile_range(bad):
    with pytest.raises(ValueError, match="quantile_range"):
        RobustScaleSmoothClip(quantile_range=bad).fit(np.ones((4, 1)))


def test_keeps_dataframe_column_names():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 10.0], "b": [0.0, 1.0, 0.0, 1.0]})
    out = RobustScaleSmoothClip().set_output(transform="pandas").fit_transform(df)
    assert list(out.columns) == ["a", "b"]


def test_smooth_clip_is_odd_and_near_identity_at_zero():
    z = np.linspace(-5, 5, 101)
    np.testing.assert_allclose(smooth_clip(-z), -smooth_clip(z))
    assert smooth_clip(np.array([1e-4]))[0] == pytest.approx(1e-4, rel=1e-8)
