"""What a user meets first (issue 18's "Unclear errors" and "Usability"):
where warnings point, error messages that name the argument at fault (the
validation set, ``scoring``, ``dtype``, the weight sums), float32 L-BFGS
where float32 overflows, the HTML repr, predict's memory, and the README and
docs pages that describe them."""

import re
import subprocess
import sys
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skmlp import MLPClassifier, MLPRegressor


class _Silent:
    """The smallest scikit-learn callback: hears every hook, does nothing (set
    on the estimator itself, not propagated from a meta-estimator)."""

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None, metadata=None):
        pass

    def on_fit_task_end(self, estimator, context, *, X=None, fitted_estimator=None):
        return False


def _binary(n=60):
    rng = np.random.RandomState(0)
    X = rng.randn(n, 3)
    return X, (X[:, 0] > 0).astype(int)


def _caught(call):
    """The warnings ``call()`` raises, every one recorded."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return caught


@pytest.mark.parametrize("callbacks", [False, True])
@pytest.mark.parametrize(
    "method, pipeline", [("fit", False), ("fit", True), ("partial_fit", False)]
)
def test_warnings_point_at_the_callers_line(method, pipeline, callbacks):
    X, y = _binary()
    # fit: the ConvergenceWarning of max_iter; partial_fit: the clipped batch_size
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, batch_size=500, random_state=0)
    if callbacks:
        pytest.importorskip("sklearn.callback")
        est.set_callbacks(_Silent())
    model = make_pipeline(StandardScaler(), est) if pipeline else est
    kwargs = {"classes": [0, 1]} if method == "partial_fit" else {}
    caught = _caught(lambda: getattr(model, method)(X, y, **kwargs))
    expected = (ConvergenceWarning, UserWarning) if method == "fit" else (UserWarning,)
    ours = [w for w in caught if issubclass(w.category, expected)]
    assert ours, [str(w.message) for w in caught]
    assert all(w.filename == __file__ for w in ours), [(w.filename, w.lineno) for w in ours]


def test_warnings_can_be_filtered_by_the_callers_module():
    X, y = _binary()
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=ConvergenceWarning, module=__name__)
        est.fit(X, y)
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]


def _validation_fit(est_cls, X_val, y_val, sample_weight_val=None, y=None):
    X, y_binary = _binary()
    y = y_binary if y is None else y
    est = est_cls(hidden_layer_sizes=(4,), early_stopping=True, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y, X_val=X_val, y_val=y_val, sample_weight_val=sample_weight_val)


def test_validation_data_errors_name_x_val():
    X, y = _binary(10)
    with pytest.raises(ValueError, match=r"X_val has 4 features, but X has 3"):
        _validation_fit(MLPClassifier, np.hstack([X, X[:, :1]]), y)
    X_nan = X.copy()
    X_nan[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"Input X_val contains NaN"):
        _validation_fit(MLPClassifier, X_nan, y)
    with pytest.raises(ValueError, match=r"X_val has 10 rows but y_val has 9"):
        _validation_fit(MLPClassifier, X, y[:9])


@pytest.mark.parametrize(
    "weights, message",
    [
        (np.ones(9), r"sample_weight_val has shape \(9,\).*shape \(10,\)"),
        (-np.ones(10), r"sample_weight_val has negative values"),
        (np.full(10, np.nan), r"Input sample_weight_val contains NaN"),
        (np.zeros(10), r"sample_weight_val is 0 for every validation row"),
    ],
)
def test_validation_weight_errors_name_sample_weight_val(weights, message):
    X, y = _binary(10)
    with pytest.raises(ValueError, match=message):
        _validation_fit(MLPClassifier, X, y, weights)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_two_column_y_val_of_a_single_label_target_names_y_val(n_classes):
    X, _ = _binary()
    y = np.arange(len(X)) % n_classes
    with pytest.raises(ValueError, match=r"y_val must hold one label per row.*\(10, 2\)"):
        _validation_fit(MLPClassifier, X[:10], np.c_[y[:10], y[:10]], y=y)
    with pytest.raises(ValueError, match=r"y_val has 2 outputs but y has 1"):
        _validation_fit(MLPRegressor, X[:10], np.c_[X[:10, 0], X[:10, 0]], y=X[:, 0])


@pytest.mark.parametrize("scoring", ["neg_log_loss", "roc_auc"])
def test_a_scorer_the_regressor_cannot_serve_is_a_parameter_error_at_fit_start(scoring):
    X, _ = _binary()
    est = MLPRegressor(scoring=scoring, early_stopping=True, max_iter=2)
    with pytest.raises(InvalidParameterError, match=f"'scoring'.*{scoring}.*regressor"):
        est.fit(X, X[:, 0])
    assert not hasattr(est, "n_iter_")


@pytest.mark.parametrize("sparse", [False, True])
def test_values_beyond_float32_name_the_array_entry_and_dtype(sparse):
    from scipy import sparse as sp

    X, y = _binary()
    X_big = X.copy()
    X_big[5, 2] = 1e300
    est = MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, dtype="float32", random_state=0)
    with pytest.raises(ValueError, match=r"X holds 1e\+300 \(row 5, column 2\).*dtype='float32'"):
        est.fit(sp.csr_matrix(X_big) if sparse else X_big, X[:, 0])
    y_big = X[:, 0].copy()
    y_big[7] = -1e200
    with pytest.raises(ValueError, match=r"y holds -1e\+200 \(row 7\).*dtype='float32'"):
        est.fit(X, y_big)
    weights = np.ones(len(X))
    weights[3] = 1e100
    with pytest.raises(ValueError, match=r"sample_weight holds 1e\+100 \(row 3\)"):
        est.fit(X, y, sample_weight=weights)
    X_val = X[:10].copy()
    X_val[1, 0] = 1e300
    stopping = est.set_params(early_stopping=True)
    with pytest.raises(ValueError, match=r"X_val holds 1e\+300 \(row 1, column 0\)"):
        stopping.fit(X, X[:, 0], X_val=X_val, y_val=X[:10, 0])


def test_dtype_auto_is_named_when_its_float32_copy_overflows():
    rng = np.random.RandomState(0)
    X = rng.randn(20_000, 2)
    X[123, 1] = 1e300
    est = MLPRegressor(hidden_layer_sizes=(2,), max_iter=1, dtype="auto")
    with pytest.raises(ValueError, match=r"row 123, column 1.*dtype='auto' trains in float32"):
        est.fit(X, X[:, 0])


@pytest.mark.parametrize("through", ["sample_weight", "class_weight", "both"])
def test_weights_whose_sum_overflows_are_named_not_blamed_on_the_rate(through):
    X, y = _binary()
    kwargs, params = {}, {}
    if through in ("sample_weight", "both"):
        kwargs["sample_weight"] = np.full(len(X), 1e307)
    if through in ("class_weight", "both"):
        params["class_weight"] = {0: 1e307, 1: 1e307} if through == "class_weight" else {0: 1.0}
    named = {"both": "sample_weight times class_weight"}.get(through, through)
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0, **params)
    with pytest.raises(ValueError, match=rf"\({named}\) sum to more than float64 can hold"):
        est.fit(X, y, **kwargs)


def test_a_huge_x_val_row_is_named_at_fit_start():
    X, _ = _binary()
    X_val = X[:10].copy()
    X_val[4, 1] = 1e300
    est = MLPRegressor(hidden_layer_sizes=(4,), early_stopping=True, max_iter=2, random_state=0)
    with pytest.raises(ValueError, match=r"X_val gives non-finite.*1e\+300.*transform_input"):
        est.fit(X, X[:, 0], X_val=X_val, y_val=X[:10, 0])
    assert not hasattr(est, "n_iter_")


def _traced_peak(call):
    """``(result, peak bytes numpy and Python allocated during call())``."""
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_predict_decodes_chunk_by_chunk_without_the_probability_matrix():
    rng = np.random.RandomState(0)
    X = rng.randn(500, 5)
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, np.arange(500) % 100)  # 100 classes
    X_big = rng.randn(40_000, 5)  # several prediction chunks
    labels, peak = _traced_peak(lambda: est.predict(X_big))
    proba, proba_peak = _traced_peak(lambda: est.predict_proba(X_big))
    np.testing.assert_array_equal(labels, est.classes_[proba.argmax(axis=1)])
    # predict_proba needs its n x classes output; predict only its labels and
    # one chunk's activations, a fraction of that here
    assert proba_peak >= proba.nbytes
    assert peak < 0.5 * proba.nbytes, (peak, labels.nbytes, proba.nbytes)


@pytest.mark.parametrize("target", ["binary", "strings", "multilabel"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_chunked_predict_decodes_as_the_probabilities_do(target, dtype):
    rng = np.random.RandomState(1)
    X = rng.randn(300, 4)
    y = {
        "binary": (X[:, 0] > 0).astype(int),
        "strings": np.array(["ant", "bee", "cat"])[np.arange(300) % 3],
        "multilabel": (X[:, :3] > 0).astype(int),
    }[target]
    # 300 hidden units: chunks of about 1,700 rows (4 MiB), so many chunks
    est = MLPClassifier(hidden_layer_sizes=(300,), max_iter=5, dtype=dtype, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    X_new = rng.randn(20_000, 4)
    proba = est.predict_proba(X_new)
    if target == "multilabel":
        expected = (proba > 0.5).astype(int)
    elif target == "binary":
        expected = est.classes_[(proba[:, 1] > 0.5).astype(int)]
    else:
        expected = est.classes_[proba.argmax(axis=1)]
    np.testing.assert_array_equal(est.predict(X_new), expected)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_html_repr_links_to_the_docs_and_describes_every_parameter(cls):
    from skmlp.estimators import DOCS_URL

    est = cls(weight_init="he_uniform")
    html = est._repr_html_()
    page = f"{DOCS_URL}generated/skmlp.{cls.__name__}.html"
    assert f'href="{page}"' in html  # the estimator's "?" link
    # weight_init is skmlp's own: its name links into the page, and its
    # tooltip holds its docstring entry
    assert f'href="{page}#:~:text=weight_init,-' in html
    assert "Weight initialization. ``&#x27;sklearn&#x27;`` reproduces" in html
    assert html.count('class="param-doc-description"') == len(est.get_params())


ROOT = Path(__file__).resolve().parents[1]


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def test_readme_lists_what_skmlp_adds_with_figures_from_the_performance_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = _section(readme, "What skmlp adds")
    for topic in ("Solvers", "Schedules", "Losses", "Dropout", "float32", "Callbacks", "Compiled"):
        assert f"**{topic}" in section, topic
    performance = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    figures = re.findall(r"(\d[\d,]*\.?\d*)(?:x| ms| MiB)", section)
    assert len(figures) >= 8, figures
    for figure in figures:  # every number quoted is one the measurements record
        number = re.escape(figure.replace(",", ""))
        assert re.search(rf"(?<![\d.]){number}(?![\d])", performance.replace(",", "")), figure
    # the set-up commands stay as they are (CI runs the second verbatim)
    assert "```bash\npip install . && python -m skmlp\n```" in readme
    assert '```bash\npip install ".[test]" && python -m pytest\n```' in readme


def test_large_data_page_is_in_the_docs_and_its_memory_command_runs():
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    assert "\nlarge_data\n" in index  # in the toctree
    page = (ROOT / "docs" / "large_data.md").read_text(encoding="utf-8")
    for topic in ("partial_fit", "Incremental", "dtype='auto'", "ScoringMonitor", "refit"):
        assert topic in page, topic
    assert "python benchmarks/dtype_memory.py" in page
    script = ROOT / "benchmarks" / "dtype_memory.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--rows", "100000", "--features", "10"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    extra = float(re.search(r"dtype='auto' costs \+?(-?[\d.]+) MiB", proc.stdout).group(1))
    copy_mib = 100_000 * 10 * 4 / 2**20
    assert extra >= 0.9 * copy_mib, proc.stdout  # at least the float32 copy of X


def _poisson_at_scale_100():
    rng = np.random.RandomState(0)
    X = rng.randn(200, 5) * 100  # unscaled: the log link overflows float32 at once
    return X, rng.poisson(2, 200)


def test_float32_lbfgs_poisson_on_unscaled_inputs_trains_where_float32_overflows():
    X, y = _poisson_at_scale_100()
    params = dict(loss="poisson", solver="lbfgs", hidden_layer_sizes=(10,), random_state=0)
    est = MLPRegressor(dtype="float32", max_iter=50, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
        reference = MLPRegressor(dtype="float64", max_iter=50, **params).fit(X, y)
    assert est.coefs_[0].dtype == np.float32
    assert np.isfinite(est.loss_) and est.n_iter_ >= 1
    assert np.isfinite(est.predict(X)).all()
    # the same objective as the float64 fit, not a worse stopping point
    assert est.loss_ <= 2 * reference.loss_ + 1.0


def test_float32_lbfgs_starts_from_weights_whose_float32_loss_overflows():
    # the premise of the test above: float32 alone cannot evaluate the start
    from skmlp.losses import make_loss
    from skmlp.network import Network

    X, y = _poisson_at_scale_100()
    Y = y.reshape(-1, 1).astype(np.float64)
    net = Network([5, 10, 1], "relu", make_loss("poisson"))
    losses = {}
    for dtype in (np.float64, np.float32):
        params = net.init_params(np.random.RandomState(0), "sklearn", dtype)
        net.start_output_bias(params, Y)
        ws = net.workspace(len(X), params)
        with np.errstate(all="ignore"):
            losses[dtype] = net.loss_and_grad(ws, X.astype(dtype), Y.astype(dtype))
    assert np.isfinite(losses[np.float64]) and not np.isfinite(losses[np.float32])
