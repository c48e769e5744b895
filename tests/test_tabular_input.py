"""TabularEncoder: the tabular estimators' input encoding, against its definition.

Each encoding is checked against an independent reading of the rules (the
issue's scaling formula, the level counts that choose binary, one-hot or
embedding), pandas and polars input against the same table as a numpy object
array, and the bad inputs against the errors that must name them.
"""

import pickle
import subprocess
import sys
from dataclasses import FrozenInstanceError

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import _check_categorical_features

from skmlp._tabular_input import InputLayout, TabularEncoder


@parametrize_with_checks(
    [
        TabularEncoder(),
        TabularEncoder(categorical_features=None, dtype="float32"),
        TabularEncoder(max_one_hot=2, max_categories=5000),
    ]
)
def test_sklearn_compatible_transformer(estimator, check):
    check(estimator)


def _scaled(column, x):
    """The issue's numeric definition for one column, NaN ignored in the statistics."""
    column = column[~np.isnan(column)]
    q25, median, q75 = np.percentile(column, [25, 50, 75])
    if q75 > q25:
        s = 1.0 / (q75 - q25)
    elif column.max() > column.min():
        s = 2.0 / (column.max() - column.min())
    else:
        s = 0.0
    z = s * (x - median)
    return z / np.sqrt(1.0 + (z / 3.0) ** 2)


def _mixed_table(n=60, seed=0):
    """A numpy object table: numeric with NaN, numeric, 2/3/12-level categoricals."""
    rng = np.random.default_rng(seed)
    heavy = rng.standard_t(2, n) * 10
    heavy[rng.choice(n, 5, replace=False)] = np.nan
    X = np.empty((n, 6), dtype=object)
    X[:, 0] = heavy
    X[:, 1] = rng.normal(size=n)
    X[:, 2] = rng.choice(["no", "yes"], n)
    X[:, 3] = rng.choice(["red", "green", "blue"], n)
    X[:, 4] = [f"id{k}" for k in rng.integers(0, 12, n)]
    X[:, 5] = rng.choice(["a", "b"], n)
    X[:3, 4] = [f"id{k}" for k in range(3)]  # every id level present
    X[3:15, 4] = [f"id{k}" for k in range(12)]
    X[rng.choice(n, 4, replace=False), 5] = None  # a's, b's and missing: 3 levels
    return X


# --- the encodings ------------------------------------------------------------


def test_numeric_columns_follow_the_definition_and_missing_values_get_indicators():
    X = _mixed_table()
    enc = TabularEncoder().fit(X)
    Xt = enc.transform(X)
    layout = enc.layout_
    assert layout.n_numeric == 2 and layout.n_indicators == 1
    for k in (0, 1):
        column = X[:, k].astype(float)
        want = np.where(np.isnan(column), 0.0, _scaled(column, column))
        np.testing.assert_allclose(Xt[:, k], want, rtol=1e-12, atol=1e-15)
    indicator = Xt[:, layout.indicators]
    np.testing.assert_array_equal(indicator[:, 0], np.isnan(X[:, 0].astype(float)))
    assert enc.indicator_features_.tolist() == [0]


def _signed_log(x):
    return np.sign(x) * np.log1p(np.abs(x))


def test_long_right_tails_are_log_compressed_before_the_definition():
    rng = np.random.default_rng(1)
    n = 400
    counts = rng.lognormal(3.0, 1.5, n).round()  # far tail: max >> q75 + 5 IQR
    rare = np.where(rng.random(n) < 0.1, rng.lognormal(2.0, 2.0, n).round() + 1, 0.0)  # IQR 0
    bounded = rng.uniform(0.0, 10.0, n)  # no tail
    signed = rng.standard_t(2, n) * 10  # heavy, but negative values: left alone
    X = np.column_stack([counts, rare, bounded, signed])
    X[::17, 0] = np.nan
    enc = TabularEncoder().fit(X)
    assert enc.log_features_.tolist() == [0, 1]
    Xt = enc.transform(X)
    for k in (0, 1):
        column = _signed_log(X[:, k])
        want = np.where(np.isnan(column), 0.0, _scaled(column, column))
        np.testing.assert_allclose(Xt[:, k], want, rtol=1e-12, atol=1e-15)
    for k in (2, 3):
        np.testing.assert_allclose(Xt[:, k], _scaled(X[:, k], X[:, k]), rtol=1e-12, atol=1e-15)
    # without the log, scaling by the range of the rare column (its IQR is
    # 0) squeezes its typical nonzero values into a sliver next to 0
    plain = TabularEncoder(log_skewed=False).fit(X)
    assert plain.log_features_.tolist() == []
    nonzero = X[:, 1][X[:, 1] > 0]
    low = (X[:, 1] > 0) & (X[:, 1] <= np.median(nonzero))
    spread_log, spread_plain = (np.ptp(e.transform(X)[low, 1]) for e in (enc, plain))
    assert spread_log > 10 * spread_plain
    # values unseen in fit, negative included, stay finite and ordered
    later = enc.transform([[-5.0, -1.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0], [1e9, 1e9, 1.0, 1.0]])
    assert np.isfinite(later).all()
    assert np.all(np.diff(later[:, :2], axis=0) > 0)


def test_log_skewed_false_is_the_plain_definition():
    X = np.column_stack([np.arange(100.0) ** 3, np.r_[np.zeros(90), np.arange(1.0, 11.0) * 1e3]])
    Xt = TabularEncoder(log_skewed=False).fit_transform(X)
    for k in (0, 1):
        np.testing.assert_allclose(Xt[:, k], _scaled(X[:, k], X[:, k]), rtol=1e-12, atol=1e-15)


def test_missing_value_unseen_in_fit_is_zero_without_indicator():
    X = np.array([[1.0, 5.0], [2.0, 6.0], [3.0, np.nan]])
    enc = TabularEncoder().fit(X)
    out = enc.transform([[np.nan, np.nan]])
    assert out.tolist() == [[0.0, 0.0, 1.0]]  # column 0 had no NaN in fit: no indicator
    assert enc.get_feature_names_out().tolist() == ["x0", "x1", "missingindicator_x1"]


def test_all_missing_and_constant_numeric_columns():
    X = np.column_stack([np.full(5, np.nan), np.full(5, 7.0), np.arange(5.0)])
    enc = TabularEncoder().fit(X)
    Xt = enc.transform(X)
    assert np.all(Xt[:, 0] == 0.0) and np.all(Xt[:, 1] == 0.0)
    assert np.all(Xt[:, enc.layout_.indicators] == 1.0)  # one indicator, constant in fit
    later = enc.transform([[3.0, 100.0, 2.0]])
    assert later[0, 0] == 0.0 and later[0, 1] == 0.0 and later[0, 3] == 0.0


def test_binary_one_hot_and_embedding_choices():
    X = _mixed_table()
    enc = TabularEncoder().fit(X)
    Xt = enc.transform(X)
    layout = enc.layout_
    # columns 2 (2 levels) and 5 ('a', 'b', missing) are dense; 3 levels of
    # column 3 one-hot, 12 of column 4 embedded
    assert layout.n_onehot == 1 + 3 + 3
    assert layout.embedding_levels == (13,)
    onehot = Xt[:, layout.onehot]
    np.testing.assert_array_equal(onehot[:, 0], np.where(X[:, 2] == "yes", 1.0, -1.0))
    colours = onehot[:, 1:4]
    np.testing.assert_array_equal(colours.sum(axis=1), 1.0)
    assert colours[X[:, 3] == "blue", 0].all()  # levels sorted: blue, green, red
    ab = onehot[:, 4:7]
    np.testing.assert_array_equal(ab[:, 2], [v is None for v in X[:, 5]])  # missing last
    codes = Xt[:, layout.embedding][:, 0]
    levels = enc.categories_[2]
    assert [levels[int(c) - 1] for c in codes] == X[:, 4].tolist()


@pytest.mark.parametrize("n_levels", [1, 2, 3, 9, 10])
def test_the_level_count_chooses_the_encoding(n_levels):
    column = np.array([f"v{k}" for k in range(n_levels)] * 3, dtype=object)[:, None]
    enc = TabularEncoder(max_one_hot=9).fit(column)
    if n_levels == 2:
        assert enc.layout_ == InputLayout(0, 0, 1, ())
    elif n_levels <= 9:
        assert enc.layout_ == InputLayout(0, 0, n_levels, ())
    else:
        assert enc.layout_ == InputLayout(0, 0, 0, (n_levels + 1,))


def test_unseen_categories_are_encoded_as_zero():
    X = _mixed_table()
    enc = TabularEncoder().fit(X)
    row = np.array([[1.0, 1.0, "maybe", "purple", "id99", "c"]], dtype=object)
    out = enc.transform(row)[0]
    layout = enc.layout_
    assert np.all(out[layout.onehot] == 0.0)
    assert np.all(out[layout.embedding] == 0.0)
    # a missing value where fit saw none is unknown as well
    row[0, 2:5] = None
    out = enc.transform(row)[0]
    assert np.all(out[layout.onehot][:4] == 0.0) and out[layout.embedding][0] == 0.0


@settings(max_examples=40, deadline=None)
@given(
    n_levels=st.integers(1, 14),
    max_one_hot=st.integers(2, 12),
    with_missing=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_every_training_value_decodes_back(n_levels, max_one_hot, with_missing, seed):
    rng = np.random.default_rng(seed)
    values = np.array([*range(n_levels), *rng.integers(0, n_levels, 20)], dtype=object)
    if with_missing:
        values[rng.integers(0, len(values))] = None
    enc = TabularEncoder(max_one_hot=max_one_hot).fit(values.astype(str)[:, None])
    Xt = enc.transform(values.astype(str)[:, None])
    total = len(set(values.astype(str)))
    layout = enc.layout_
    levels = enc.categories_[0]
    assert len(levels) == total
    if total == 2:
        decoded = levels[((Xt[:, 0] + 1) / 2).astype(int)]
    elif total <= max_one_hot:
        assert np.all(Xt.sum(axis=1) == 1.0)
        decoded = levels[Xt.argmax(axis=1)]
    else:
        assert layout.embedding_levels == (total + 1,)
        decoded = levels[Xt[:, 0].astype(int) - 1]
    assert decoded.tolist() == values.astype(str).tolist()


def test_missing_category_is_its_own_level():
    X = np.array([["a"], [None], ["b"], ["a"]], dtype=object)
    enc = TabularEncoder().fit(X)
    assert enc.categories_[0].tolist() == ["a", "b", None]
    assert enc.get_feature_names_out().tolist() == ["x0_a", "x0_b", "x0_nan"]
    np.testing.assert_array_equal(enc.transform([[np.nan]]), [[0.0, 0.0, 1.0]])


def test_every_missing_marker_is_missing():
    pd = pytest.importorskip("pandas")
    X = np.array([["a"], [None], ["b"], [np.nan], [pd.NA], [pd.NaT], [np.float32("nan")]])
    enc = TabularEncoder().fit(X.astype(object))
    assert enc.categories_[0].tolist() == ["a", "b", None]
    assert enc.transform(X.astype(object))[:, 2].tolist() == [0, 1, 0, 1, 1, 1, 1]


def test_layout_slices_partition_the_output():
    enc = TabularEncoder().fit(_mixed_table())
    layout = enc.layout_
    parts = [layout.numeric, layout.indicators, layout.onehot, layout.embedding]
    covered = np.concatenate([np.arange(layout.n_features_out)[p] for p in parts])
    np.testing.assert_array_equal(covered, np.arange(layout.n_features_out))
    assert layout.n_features_out == len(enc.get_feature_names_out())
    with pytest.raises(FrozenInstanceError):
        layout.n_numeric = 3


def test_feature_names_out():
    enc = TabularEncoder().fit(_mixed_table())
    names = enc.get_feature_names_out(["n1", "n2", "yes", "colour", "id", "ab"])
    assert names.tolist() == [
        "n1",
        "n2",
        "missingindicator_n1",
        "yes_yes",
        "colour_blue",
        "colour_green",
        "colour_red",
        "ab_a",
        "ab_b",
        "ab_nan",
        "id",
    ]


def test_float32_output_and_exact_codes():
    X = _mixed_table()
    out64 = TabularEncoder().fit_transform(X)
    out32 = TabularEncoder(dtype="float32").fit_transform(X)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, rtol=1e-6, atol=1e-7)


def test_clone_and_pickle_round_trip():
    X = _mixed_table()
    enc = TabularEncoder(max_one_hot=4, max_categories=50).fit(X)
    assert clone(enc).get_params() == enc.get_params()
    back = pickle.loads(pickle.dumps(enc))
    np.testing.assert_array_equal(back.transform(X), enc.transform(X))
    assert back.layout_ == enc.layout_


def test_row_order_does_not_matter():
    X = _mixed_table()
    perm = np.random.default_rng(3).permutation(len(X))
    enc = TabularEncoder().fit(X)
    np.testing.assert_array_equal(enc.transform(X[perm]), enc.transform(X)[perm])
    np.testing.assert_allclose(TabularEncoder().fit(X[perm]).transform(X), enc.transform(X))


def test_mixed_type_levels_are_sorted_deterministically():
    X = np.array([["b"], [1], ["a"], [2.5], [1]], dtype=object)
    enc = TabularEncoder().fit(X)
    assert enc.categories_[0].tolist() == [2.5, 1, "a", "b"]  # by type name, then text
    assert enc.transform(X).argmax(axis=1).tolist() == [3, 1, 2, 0, 1]


# --- categorical_features -----------------------------------------------------


def _frame():
    pd = pytest.importorskip("pandas")
    X = _mixed_table()
    return pd.DataFrame(
        {
            "heavy": X[:, 0].astype(float),
            "normal": X[:, 1].astype(float),
            "yes": pd.Categorical(X[:, 2]),
            "colour": pd.Series(X[:, 3], dtype="string"),
            "id": X[:, 4],  # object
            "ab": pd.Series(X[:, 5], dtype=object),
        }
    )


@pytest.mark.parametrize(
    "spec",
    [[2, 3, 4, 5], ["yes", "colour", "id", "ab"], [False, False, True, True, True, True]],
)
def test_categorical_features_forms_agree_with_histgradientboosting(spec):
    df = _frame()
    enc = TabularEncoder(categorical_features=spec).fit(df)
    np.testing.assert_array_equal(enc.is_categorical_, _check_categorical_features(df, spec))
    np.testing.assert_array_equal(enc.transform(df), TabularEncoder().fit_transform(df))


def test_from_dtype_reads_category_string_and_object_columns():
    df = _frame()
    enc = TabularEncoder().fit(df)
    assert enc.is_categorical_.tolist() == [False, False, True, True, True, True]
    numbers_as_objects = df.assign(normal=df["normal"].astype(object))
    assert not TabularEncoder().fit(numbers_as_objects).is_categorical_[1]


def test_none_declares_nothing_categorical():
    X = np.arange(12.0).reshape(6, 2)
    assert not TabularEncoder(categorical_features=None).fit(X).is_categorical_.any()
    assert not TabularEncoder(categorical_features=[]).fit(X).is_categorical_.any()


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        (["yes", "height"], r"\['height'\]"),
        ([1, 6], r"\[6\]"),
        ([-1], r"\[-1\]"),
        ([True, False], r"boolean mask.*\(6,\)"),
        ([0.5], "bool, int or str"),
        (np.array(["yes", 3], dtype=object), "bool, int or str"),
    ],
)
def test_bad_categorical_features_name_the_problem(spec, match):
    with pytest.raises(ValueError, match=match):
        TabularEncoder(categorical_features=spec).fit(_frame())


def test_names_need_feature_names():
    with pytest.raises(ValueError, match="no feature names"):
        TabularEncoder(categorical_features=["a"]).fit(np.zeros((3, 2)))


def test_float_column_declared_categorical():
    X = np.column_stack([[0.0, 1.0, 2.0, 1.0], [0.5, 1.0, 1.5, 2.0]])
    with pytest.raises(ValueError, match=r"Column 1 .*non-integer value 0\.5"):
        TabularEncoder(categorical_features=[0, 1]).fit(X)
    with pytest.raises(ValueError, match=r"Column 1 .*non-integer value inf"):
        TabularEncoder(categorical_features=[1]).fit(np.column_stack([X[:, 0], [1, 2, np.inf, 1]]))
    # integer-valued floats are categories, encoded as their text would be
    as_floats = TabularEncoder(categorical_features=[0]).fit(X)
    as_text = X.astype(object)
    as_text[:, 0] = X[:, 0].astype(int).astype(str)
    assert as_floats.categories_[0].tolist() == [0, 1, 2]
    np.testing.assert_array_equal(as_floats.transform(X), TabularEncoder().fit_transform(as_text))


def test_too_many_categories_names_column_count_and_limit():
    X = np.array([[f"u{k}"] for k in range(30)] + [[None]], dtype=object)
    with pytest.raises(ValueError, match=r"Column 0 has 31 categories.*max_categories=30"):
        TabularEncoder(max_categories=30).fit(X)
    assert TabularEncoder(max_categories=31).fit(X).layout_.embedding_levels == (32,)


# --- bad input ----------------------------------------------------------------


def test_strings_in_a_numeric_column():
    df = _frame()
    with pytest.raises(ValueError, match=r"Column 'colour' is not in categorical_features.*'"):
        TabularEncoder(categorical_features=["yes", "id", "ab"]).fit(df)
    enc = TabularEncoder().fit(df)
    bad = df.assign(normal=df["normal"].astype(object))
    bad.loc[3, "normal"] = "12,5"
    with pytest.raises(ValueError, match=r"Column 'normal' was numeric in fit.*'12,5'"):
        enc.transform(bad)


def test_infinity_is_an_error_naming_the_column():
    X = np.array([[1.0, 2.0], [3.0, np.inf], [5.0, 6.0]])
    with pytest.raises(ValueError, match="column 1 contains infinity"):
        TabularEncoder().fit(X)
    enc = TabularEncoder().fit(np.nan_to_num(X, posinf=0.0))
    with pytest.raises(ValueError, match="column 0 contains infinity"):
        enc.transform([[-np.inf, 0.0]])


def test_reordered_or_missing_frame_columns_are_named():
    df = _frame()
    enc = TabularEncoder().fit(df)
    swapped = df[["normal", "heavy", "yes", "colour", "id", "ab"]]
    with pytest.raises(ValueError, match=r"(?s)same order.*'heavy' at position 1 \(was 0 in fit\)"):
        enc.transform(swapped)
    with pytest.raises(ValueError, match=r"missing:\n- colour"):
        enc.transform(df.drop(columns="colour"))


def test_wrong_number_of_array_columns():
    enc = TabularEncoder().fit(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="X has 2 features, but TabularEncoder is expecting 3"):
        enc.transform(np.zeros((4, 2)))


def test_unhashable_category_and_unsupported_dtype():
    X = np.array([["a"], [["list"]], ["b"]], dtype=object)
    with pytest.raises(TypeError, match=r"Column 0 .*unhashable"):
        TabularEncoder().fit(X)
    pd = pytest.importorskip("pandas")
    when = pd.DataFrame({"when": pd.date_range("2026-01-01", periods=3)})
    with pytest.raises(TypeError, match="Column 'when' has dtype datetime64"):
        TabularEncoder().fit(when)


# --- pandas and polars against numpy -------------------------------------------


def test_pandas_matches_the_numpy_object_table():
    pd = pytest.importorskip("pandas")
    df = _frame()
    X = _mixed_table()
    from_frame = TabularEncoder().fit(df)
    from_array = TabularEncoder().fit(X)
    np.testing.assert_array_equal(from_frame.transform(df), from_array.transform(X))
    assert from_frame.get_feature_names_out().tolist() == (
        from_array.get_feature_names_out(df.columns).tolist()
    )
    assert from_frame.feature_names_in_.tolist() == df.columns.tolist()
    # nullable integers with pd.NA, booleans and category of integers
    extra = pd.DataFrame(
        {
            "count": pd.array([1, None, 3, 4], dtype="Int64"),
            "flag": [True, False, True, True],
            "grade": pd.Categorical([3, 1, None, 2]),  # integers, whatever the NaN
            "nothing": pd.Categorical([None] * 4),
        }
    )
    as_array = np.array(
        [
            [1.0, 1.0, 3, np.nan],
            [np.nan, 0.0, 1, np.nan],
            [3.0, 1.0, np.nan, np.nan],
            [4.0, 1.0, 2, np.nan],
        ]
    )
    np.testing.assert_array_equal(
        TabularEncoder().fit_transform(extra),
        TabularEncoder(categorical_features=[2, 3]).fit_transform(as_array),
    )
    assert TabularEncoder().fit(extra).categories_[0].tolist() == [1, 2, 3, None]


def test_pandas_output_through_set_output():
    pytest.importorskip("pandas")
    df = _frame()
    enc = TabularEncoder().set_output(transform="pandas").fit(df)
    out = enc.transform(df)
    assert out.columns.tolist() == enc.get_feature_names_out().tolist()


def test_polars_matches_the_numpy_object_table():
    pl = pytest.importorskip("polars")
    X = _mixed_table()
    df = pl.DataFrame(
        {
            "heavy": X[:, 0].astype(float),
            "normal": X[:, 1].astype(float),
            "yes": pl.Series(X[:, 2].tolist(), dtype=pl.Categorical),
            "colour": pl.Series(X[:, 3].tolist(), dtype=pl.Enum(["blue", "green", "red"])),
            "id": X[:, 4].tolist(),
            "ab": X[:, 5].tolist(),
            "count": pl.Series([1, None, *range(len(X) - 2)], dtype=pl.Int32),
        }
    )
    X = np.column_stack([X, np.array([1, np.nan, *range(len(X) - 2)], dtype=object)])
    enc = TabularEncoder().fit(df)
    np.testing.assert_array_equal(enc.transform(df), TabularEncoder().fit(X).transform(X))
    assert enc.feature_names_in_.tolist() == df.columns
    with pytest.raises(ValueError, match="'heavy' at position 1"):
        enc.transform(df.select(["normal", "heavy", "yes", "colour", "id", "ab", "count"]))


def test_no_polars_import_for_other_input():
    code = (
        "import sys, numpy as np\n"
        "from skmlp._tabular_input import TabularEncoder\n"
        "TabularEncoder().fit_transform(np.array([[1.0, 'a'], [2.0, 'b']], dtype=object))\n"
        "assert 'polars' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


_LEVELS = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", None]


@st.composite
def _tables(draw):
    """A random table as (kinds, columns): floats with NaN, integers, and text with None."""
    n_rows = draw(st.integers(1, 25))
    kinds = draw(st.lists(st.sampled_from(["float", "int", "category", "string"]), min_size=1))
    columns = []
    for kind in kinds[:5]:
        if kind == "float":
            element = st.one_of(st.floats(-1e6, 1e6), st.just(np.nan))
        elif kind == "int":
            element = st.integers(-5, 5)
        else:
            element = st.sampled_from(_LEVELS[: draw(st.integers(1, len(_LEVELS)))])
        columns.append(draw(st.lists(element, min_size=n_rows, max_size=n_rows)))
    return kinds[:5], columns


@settings(max_examples=60, deadline=None)
@given(table=_tables(), max_one_hot=st.integers(2, 6))
def test_random_tables_pandas_agrees_with_numpy_and_outputs_are_bounded(table, max_one_hot):
    pd = pytest.importorskip("pandas")
    kinds, columns = table
    frame = pd.DataFrame(
        {
            f"c{k}": pd.Series(values, dtype={"category": "category", "string": "string"}.get(kind))
            for k, (kind, values) in enumerate(zip(kinds, columns))
        }
    )
    X = np.empty((len(columns[0]), len(columns)), dtype=object)
    for k, values in enumerate(columns):
        X[:, k] = values
    textual = [kind in ("category", "string") for kind in kinds]
    from_frame = TabularEncoder(max_one_hot=max_one_hot).fit(frame)
    from_array = TabularEncoder(categorical_features=textual, max_one_hot=max_one_hot).fit(X)
    out = from_frame.transform(frame)
    np.testing.assert_array_equal(out, from_array.transform(X))
    assert [c.tolist() for c in from_frame.categories_] == [
        c.tolist() for c in from_array.categories_
    ]
    layout = from_frame.layout_
    assert np.isfinite(out).all()
    assert np.all(np.abs(out[:, layout.numeric]) <= 3.0)
    assert np.isin(out[:, layout.indicators], [0.0, 1.0]).all()
    assert np.isin(out[:, layout.onehot], [-1.0, 0.0, 1.0]).all()
    codes = out[:, layout.embedding]
    assert np.all((codes >= 1) & (codes < np.array(layout.embedding_levels)))  # none unknown


def test_standard_numeric_scaling_centers_and_scales_ignoring_missing():
    rng = np.random.default_rng(0)
    X = rng.normal(3.0, 2.0, size=(200, 2))
    X[::9, 1] = np.nan
    out = TabularEncoder(numeric_scaling="standard").fit_transform(X)
    observed = ~np.isnan(X[:, 1])
    np.testing.assert_allclose(out[:, 0].mean(), 0.0, atol=1e-12)
    np.testing.assert_allclose(out[:, 0].std(), 1.0)
    np.testing.assert_allclose(out[observed, 1].std(), 1.0)
    assert (out[~observed, 1] == 0.0).all() and (out[:, 2] == ~observed).all()
