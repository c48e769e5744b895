"""ONNX export (skmlp.onnx): onnxruntime reproduces predict and predict_proba."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skmlp import MLPClassifier, MLPRegressor
from skmlp.activations import ACTIVATIONS

skl2onnx = pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("skmlp.onnx")  # registers the converters

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TOL = 1e-5


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=200, n_features=5, n_informative=4, n_redundant=0, n_classes=3, random_state=0
    )
    X = (3 * X).astype(np.float32)  # unscaled, so the pipeline's scaler matters
    return X[:150], y[:150], X[150:]


def _small(est_cls, **params):
    params = {
        "hidden_layer_sizes": (6, 4),
        "max_iter": 30,
        "learning_rate_init": 0.05,
        "random_state": 0,
        **params,
    }
    return est_cls(**params)


def _run(model, X_train, X_test, **kwargs):
    onx = skl2onnx.to_onnx(model, X_train[:1], **kwargs)
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X_test})


def _assert_labels_match(onnx_labels, est, X, proba):
    """Labels agree wherever the decision is not within float error of a tie."""
    expected = est.predict(X)
    if expected.ndim == 2:  # multilabel: each label against 0.5
        clear = np.abs(proba - 0.5) > TOL
    else:
        top2 = np.sort(proba, axis=1)[:, -2:]
        clear = top2[:, 1] - top2[:, 0] > TOL
    if expected.dtype.kind in "bf":
        expected = expected.astype(np.int64)
    np.testing.assert_array_equal(onnx_labels[clear], expected[clear])
    assert clear.mean() > 0.9


def _check_classifier(model, X_train, X_test, options=None):
    options = {"zipmap": False} if options is None else options
    label, proba = _run(model, X_train, X_test, options={id(_final(model)): options})
    np.testing.assert_allclose(proba, model.predict_proba(X_test), rtol=0, atol=TOL)
    _assert_labels_match(label, model, X_test, proba)


def _final(model):
    return model.steps[-1][1] if isinstance(model, Pipeline) else model


# --- every activation, classifier and regressor -----------------------------------
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_classifier_pipeline_every_activation(data, activation):
    X, y, X_test = data
    pipe = Pipeline(
        [("scale", StandardScaler()), ("mlp", _small(MLPClassifier, activation=activation))]
    ).fit(X, y)
    _check_classifier(pipe, X, X_test)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_regressor_pipeline_every_activation(data, activation):
    X, _, X_test = data
    y = X[:, 0] - 0.5 * X[:, 1] ** 2 / 9
    pipe = Pipeline(
        [("scale", StandardScaler()), ("mlp", _small(MLPRegressor, activation=activation))]
    ).fit(X, y)
    (pred,) = _run(pipe, X, X_test)
    assert pred.shape == (len(X_test), 1)
    np.testing.assert_allclose(pred.ravel(), pipe.predict(X_test), rtol=TOL, atol=TOL)


# --- output types --------------------------------------------------------------------
@pytest.mark.parametrize(
    "target",
    ["binary", "binary_bool", "multiclass", "strings", "binary_strings", "multilabel", "floats"],
)
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_classifier_outputs(data, target, solver):
    X, y, X_test = data
    y = {
        "binary": (y > 0).astype(int) * 7 - 2,  # labels -2 and 5
        "binary_bool": y > 0,
        "multiclass": y,
        "strings": np.array(["cat", "dog", "emu"])[y],
        "binary_strings": np.array(["no", "yes"])[(y == 1).astype(int)],
        "multilabel": np.c_[y == 0, y == 1, y != 1, X[:, 0] > 0].astype(int),
        "floats": y.astype(float),
    }[target]
    clf = _small(MLPClassifier, activation="tanh", solver=solver).fit(X, y)
    _check_classifier(clf, X, X_test)


@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_regressor_outputs(data, loss, n_outputs):
    X, _, X_test = data
    y = np.abs(np.c_[X[:, 0], X[:, 1] * X[:, 2] / 3, X[:, 3] - X[:, 4]][:, :n_outputs])
    reg = _small(MLPRegressor, loss=loss, activation="gelu").fit(X, y.squeeze())
    (pred,) = _run(reg, X, X_test)
    assert pred.shape == (len(X_test), n_outputs)
    expected = reg.predict(X_test).reshape(len(X_test), n_outputs)
    np.testing.assert_allclose(pred, expected, rtol=TOL, atol=TOL)


def test_float64_model_exports_in_float32(data):
    X, y, X_test = data
    clf = _small(MLPClassifier, activation="elu").fit(X.astype(np.float64), y)
    assert clf.coefs_[0].dtype == np.float64
    _check_classifier(clf, X, X_test)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_double_input_computes_in_double(data, activation):
    X, y, X_test = data
    X, X_test = X.astype(np.float64), X_test.astype(np.float64)
    clf = _small(MLPClassifier, activation=activation).fit(X, y)
    label, proba = _run(clf, X, X_test, options={"zipmap": False})
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba, clf.predict_proba(X_test), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(label, clf.predict(X_test))


def test_older_target_opset(data):
    X, y, X_test = data
    clf = _small(MLPClassifier, activation="gelu").fit(X, y)
    label, proba = _run(clf, X, X_test, options={"zipmap": False}, target_opset=13)
    np.testing.assert_allclose(proba, clf.predict_proba(X_test), rtol=0, atol=TOL)
    _assert_labels_match(label, clf, X_test, proba)


# --- classifier options ------------------------------------------------------------
@pytest.mark.parametrize("target", ["multiclass", "strings", "multilabel"])
def test_zipmap_default(data, target):
    X, y, X_test = data
    y = {
        "multiclass": y,
        "strings": np.array(["cat", "dog", "emu"])[y],
        "multilabel": np.c_[y == 0, y != 0].astype(int),
    }[target]
    clf = _small(MLPClassifier).fit(X, y)
    label, maps = _run(clf, X, X_test)  # probabilities: one {class: p} per row
    proba = np.array([[row[c] for c in clf.classes_.tolist()] for row in maps])
    np.testing.assert_allclose(proba, clf.predict_proba(X_test), rtol=0, atol=TOL)
    _assert_labels_match(label, clf, X_test, proba)


def test_zipmap_columns_and_class_labels(data):
    X, y, X_test = data
    clf = _small(MLPClassifier).fit(X, y)
    label, *columns = _run(clf, X, X_test, options={"zipmap": "columns"})
    proba = np.c_[tuple(columns)]
    np.testing.assert_allclose(proba, clf.predict_proba(X_test), rtol=0, atol=TOL)
    _assert_labels_match(label, clf, X_test, proba)
    _, _, classes = _run(clf, X, X_test, options={"zipmap": False, "output_class_labels": True})
    np.testing.assert_array_equal(classes, clf.classes_)


def test_nocl_gives_class_indices(data):
    X, y, X_test = data
    clf = _small(MLPClassifier).fit(X, np.array(["cat", "dog", "emu"])[y])
    label, proba = _run(clf, X, X_test, options={"zipmap": False, "nocl": True})
    assert label.dtype == np.int64
    np.testing.assert_allclose(proba, clf.predict_proba(X_test), rtol=0, atol=TOL)
    np.testing.assert_array_equal(clf.classes_[label], clf.predict(X_test))


# --- what is refused -------------------------------------------------------------------
def test_non_integer_float_labels_are_not_supported(data):
    X, y, _ = data
    clf = _small(MLPClassifier, max_iter=2).fit(X, y.astype(float))
    clf.classes_ = clf.classes_ / 2  # scikit-learn cannot fit these; a hand-made state
    with pytest.raises(NotImplementedError, match="non-integer float class labels"):
        skl2onnx.to_onnx(clf, X[:1], options={"zipmap": False})


def test_class_labels_output_needs_int_or_string_labels(data):
    X, y, _ = data
    clf = _small(MLPClassifier, max_iter=2).fit(X, y > 0)
    with pytest.raises(NotImplementedError, match="output_class_labels=True"):
        skl2onnx.to_onnx(clf, X[:1], options={"zipmap": False, "output_class_labels": True})


def test_unfitted_estimator_is_refused(data):
    X, _, _ = data
    with pytest.raises(NotFittedError):
        skl2onnx.to_onnx(MLPRegressor(), X[:1])
