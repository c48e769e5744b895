"""Persistence: pickle and skops round trips, the trusted types, tampered files."""

import io
import json
import pickle
import zipfile

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmlp import MLPClassifier, MLPRegressor

sio = pytest.importorskip("skops.io")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TRUSTED = {
    MLPClassifier: ["skmlp.estimators.MLPClassifier"],
    MLPRegressor: ["skmlp.estimators.MLPRegressor"],
}
SOLVERS = ["adam", "sgd", "lbfgs"]
TARGETS = ["binary", "multiclass", "multilabel", "regression", "multioutput"]


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=120, n_features=5, n_informative=4, n_redundant=0, n_classes=3, random_state=0
    )
    targets = {
        "binary": y > 0,
        "multiclass": y,
        "multilabel": np.c_[y == 0, y == 1, y != 1].astype(int),
        "strings": np.array(["cat", "dog", "emu"])[y],
        "regression": X[:, 0] - X[:, 1],
        "multioutput": np.c_[X[:, 0], X[:, 1] * X[:, 2]],
    }
    return X, targets


def _fitted(data, target, **params):
    X, targets = data
    est_cls = MLPRegressor if target in ("regression", "multioutput") else MLPClassifier
    params = {"hidden_layer_sizes": (6, 4), "max_iter": 8, "random_state": 0, **params}
    return est_cls(**params).fit(X, targets[target])


def _skops_round_trip(est, tmp_path):
    path = tmp_path / "model.skops"
    sio.dump(est, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert untrusted == TRUSTED[type(est)]
    return sio.load(path, trusted=TRUSTED[type(est)])


def _assert_same_predictions(a, b, X):
    assert type(a) is type(b)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    if isinstance(a, MLPClassifier):
        np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
        np.testing.assert_array_equal(a.classes_, b.classes_)


# --- round trips ---------------------------------------------------------------
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("solver", SOLVERS)
def test_skops_round_trip_trusts_only_the_estimator_class(data, tmp_path, solver, target):
    est = _fitted(data, target, solver=solver)
    loaded = _skops_round_trip(est, tmp_path)
    _assert_same_predictions(est, loaded, data[0])


@pytest.mark.parametrize(
    "target, params",
    [
        ("multiclass", {"dropout": 0.2, "l1_ratio": 0.5}),
        ("regression", {"dropout": (0.1, 0.3), "l1_ratio": 1.0, "solver": "sgd"}),
        ("multiclass", {"early_stopping": True, "scoring": "loss"}),
        ("strings", {"class_weight": "balanced"}),
        ("multioutput", {"learning_rate": "one_cycle", "learning_rate_init": "auto"}),
        ("binary", {"solver": "sgd", "learning_rate": "adaptive", "n_iter_no_change": 1}),
    ],
)
def test_skops_round_trip_of_other_settings(data, tmp_path, target, params):
    est = _fitted(data, target, **params)
    _assert_same_predictions(est, _skops_round_trip(est, tmp_path), data[0])


@pytest.mark.parametrize("target", ["multiclass", "multioutput"])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_skops_keeps_the_warm_start_state(data, tmp_path, solver, target):
    # the optimizer state, schedule clock and history survive: a warm-started
    # fit of the loaded model continues exactly as the original does
    X, targets = data
    est = _fitted(data, target, solver=solver, warm_start=True, dropout=0.1, l1_ratio=0.3)
    assert est._train_state is not None
    loaded = _skops_round_trip(est, tmp_path)
    est.fit(X, targets[target])
    loaded.fit(X, targets[target])
    for a, b in zip(est.coefs_ + est.intercepts_, loaded.coefs_ + loaded.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert est.history_["train_loss"] == loaded.history_["train_loss"]


def test_skops_keeps_partial_fit_state(data, tmp_path):
    X, targets = data
    y = targets["multiclass"]
    est = MLPClassifier((5,), random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    loaded = _skops_round_trip(est, tmp_path)
    est.partial_fit(X, y)
    loaded.partial_fit(X, y)
    _assert_same_predictions(est, loaded, X)


@pytest.mark.parametrize("saved_before_the_chain", [False, True])
def test_skops_keeps_the_update_chains_state(data, tmp_path, saved_before_the_chain):
    # the optimizer's fields, and each transform's under its name; skmlp
    # saved the optimizer's fields only before the update chain
    X, targets = data
    y = targets["multiclass"]
    settings = dict(solver="adamw", weight_decay=0.1, max_grad_norm=0.5, l1_ratio=0.5)
    est = _fitted(data, "multiclass", warm_start=True, **settings)
    saved = est._train_state["optimizer"]
    assert set(saved) == {"t", "m", "v", "gradient_clip"}
    if saved_before_the_chain:
        del saved["gradient_clip"]
    loaded = _skops_round_trip(est, tmp_path)
    est.fit(X, y)
    loaded.fit(X, y)
    for a, b in zip(est.coefs_ + est.intercepts_, loaded.coefs_ + loaded.intercepts_):
        np.testing.assert_array_equal(a, b)
    for key in ("train_loss", "learning_rate", "clipped"):
        assert est.history_[key] == loaded.history_[key]
    assert sum(est.history_["clipped"]) > 0


def test_skops_pipeline_needs_only_the_estimator_class(data, tmp_path):
    X, targets = data
    mlp = MLPClassifier((5,), max_iter=5, random_state=0)
    pipe = make_pipeline(StandardScaler(), mlp).fit(X, targets["strings"])
    path = tmp_path / "pipe.skops"
    sio.dump(pipe, path)
    assert sio.get_untrusted_types(file=path) == TRUSTED[MLPClassifier]
    loaded = sio.load(path, trusted=TRUSTED[MLPClassifier])
    np.testing.assert_array_equal(pipe.predict_proba(X), loaded.predict_proba(X))


@pytest.mark.parametrize("target", [*TARGETS, "strings"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_pickle_round_trip(data, solver, target):
    est = _fitted(data, target, solver=solver)
    _assert_same_predictions(est, pickle.loads(pickle.dumps(est)), data[0])


def _as_saved_before_the_memories_split(saved: dict) -> dict:
    """A training state as skmlp wrote it before each stopping rule owned its
    memory: one ``stopping`` dict with both rules' fields and the plateau
    scale (``lr_scale``), and no rate scale on the state or in the records."""
    old = {k: v for k, v in saved.items() if k != "rate_scale"}
    memory, validation = saved["stopping"], saved["early_stopping"]
    old["stopping"] = {
        "best_loss": None if validation else memory["best_loss"],
        "best_score": memory["best_score"] if validation else None,
        "no_improvement_count": memory["no_improvement_count"],
        "best_params": memory["best_params"] if validation else None,
        "best_epoch": memory["best_epoch"] if validation else None,
        "lr_scale": saved["rate_scale"],
        "reference": memory["reference"],
    }
    old["records"] = {k: v for k, v in saved["records"].items() if k != "rate_scale"}
    return old


@pytest.mark.parametrize("early_stopping", [False, True])
def test_a_state_saved_before_the_memories_split_continues_identically(data, early_stopping):
    # plateau reductions make the old lr_scale matter; a warm start of the
    # converted state must go on exactly as the original state does
    X, targets = data
    est = _fitted(
        data,
        "multiclass",
        solver="sgd",
        learning_rate="plateau",
        learning_rate_init=0.1,
        plateau_factor=2.0,
        n_iter_no_change=1,
        tol=0.05,
        warm_start=True,
        early_stopping=early_stopping,
    )
    assert est._train_state["rate_scale"] < 1
    old = pickle.loads(pickle.dumps(est))
    old._train_state = _as_saved_before_the_memories_split(old._train_state)
    old = pickle.loads(pickle.dumps(old))  # the load-time check reads the old shape
    for model in (est, old):
        model.set_params(max_iter=6).fit(X, targets["multiclass"])
    assert old.loss_curve_ == est.loss_curve_
    for key in set(est.history_) - {"time"}:
        np.testing.assert_array_equal(old.history_[key], est.history_[key], err_msg=key)
    assert (old.best_validation_score_, old.best_epoch_) == (
        est.best_validation_score_,
        est.best_epoch_,
    )
    for a, b in zip(est.coefs_ + est.intercepts_, old.coefs_ + old.intercepts_):
        np.testing.assert_array_equal(a, b)


def test_unfitted_estimator_round_trips(tmp_path):
    est = MLPClassifier((3,), dropout=0.1)
    loaded = _skops_round_trip(est, tmp_path)
    assert loaded.get_params() == est.get_params()


# --- mismatched files ------------------------------------------------------------
def _rewrite(path, schema=None, arrays=None):
    """Rewrite a skops file: ``schema(dict)`` edits schema.json in place,
    ``arrays`` maps a member file name to the array it should hold."""
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    if schema is not None:
        tree = json.loads(members["schema.json"])
        schema(tree)
        members["schema.json"] = json.dumps(tree).encode()
    for name, array in (arrays or {}).items():
        buffer = io.BytesIO()
        np.save(buffer, array)
        members[name] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as z:
        for name, content in members.items():
            z.writestr(name, content)


def _attrs(tree):
    return tree["content"]["content"]  # the estimator's attribute dict


def _dumped(est, tmp_path):
    path = tmp_path / "model.skops"
    sio.dump(est, path)
    return path


def _load(path, est_cls=MLPClassifier):
    return sio.load(path, trusted=TRUSTED[est_cls])


def test_skops_load_runs_the_state_check(data, tmp_path, monkeypatch):
    est = _fitted(data, "multiclass")
    path = _dumped(est, tmp_path)
    calls = []
    check = MLPClassifier._check_fitted_state
    monkeypatch.setattr(
        MLPClassifier, "_check_fitted_state", lambda self: calls.append(1) or check(self)
    )
    _load(path)
    assert calls == [1]


def test_file_with_a_wrong_shaped_array_raises(data, tmp_path):
    est = _fitted(data, "multiclass")
    path = _dumped(est, tmp_path)
    with zipfile.ZipFile(path) as z:
        tree = json.loads(z.read("schema.json"))
    first = _attrs(tree)["coefs_"]["content"][0]["file"]
    _rewrite(path, arrays={first: np.zeros((7, 6))})
    with pytest.raises(ValueError, match=r"The loaded MLPClassifier state.*n_features_in_"):
        _load(path)


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda a: a.pop("intercepts_"), r"lacks \['intercepts_'\]"),
        (lambda a: a.pop("out_activation_"), r"lacks \['out_activation_'\]"),
        (lambda a: a["coefs_"]["content"].pop(), "weight matrices"),
        (lambda a: a["intercepts_"]["content"].reverse(), r"intercepts_\[0\] has shape"),
        (
            lambda a: a["coefs_"]["content"].__setitem__(0, a["intercepts_"]["content"][0]),
            r"coefs_\[0\] is not a 2-d float array",
        ),
    ],
)
def test_file_with_missing_or_swapped_arrays_raises(data, tmp_path, edit, match):
    est = _fitted(data, "multiclass")
    path = _dumped(est, tmp_path)
    _rewrite(path, schema=lambda tree: edit(_attrs(tree)))
    with pytest.raises(ValueError, match=match):
        _load(path)


@pytest.mark.parametrize(
    "tamper, match",
    [
        (lambda s: s["coefs_"].__setitem__(1, np.zeros((3, 4))), r"coefs_\[1\] has 3 rows"),
        (lambda s: s["intercepts_"].__setitem__(1, s["intercepts_"][1][:2]), "shape"),
        (lambda s: s.__setitem__("n_features_in_", 9), "n_features_in_"),
        (lambda s: s.__setitem__("n_outputs_", 1), "n_outputs_"),
        (lambda s: s.__setitem__("out_activation_", "relu"), "out_activation_"),
        (lambda s: s.__setitem__("coefs_", tuple(s["coefs_"])), "lists"),
    ],
)
@pytest.mark.parametrize("via", ["skops", "pickle"])
def test_hand_built_mismatched_state_raises(data, tmp_path, tamper, match, via):
    # write the bad state straight into __dict__ (no __setstate__ on the way
    # out), so the file is what a tampered or foreign writer would produce
    est = _fitted(data, "multiclass")
    tamper(vars(est))
    with pytest.raises(ValueError, match=f"The loaded MLPClassifier state.*{match}"):
        if via == "skops":
            _load(_dumped(est, tmp_path))
        else:
            pickle.loads(pickle.dumps(est))


# Known gaps of the state check; each marks the behaviour we want.
def test_file_without_coefs_raises(data, tmp_path):
    path = _dumped(_fitted(data, "multiclass"), tmp_path)
    _rewrite(path, schema=lambda tree: _attrs(tree).pop("coefs_"))
    with pytest.raises(ValueError, match="coefs_"):
        _load(path)


def test_classifier_state_loaded_as_regressor_raises(data, tmp_path):
    path = _dumped(_fitted(data, "multiclass"), tmp_path)
    _rewrite(path, schema=lambda tree: tree.__setitem__("__class__", "MLPRegressor"))
    with pytest.raises(ValueError, match="MLPRegressor"):
        _load(path, MLPRegressor)


def test_regressor_state_loaded_as_classifier_raises(data, tmp_path):
    path = _dumped(_fitted(data, "multioutput"), tmp_path)
    _rewrite(path, schema=lambda tree: tree.__setitem__("__class__", "MLPClassifier"))
    with pytest.raises(ValueError, match="MLPClassifier"):
        _load(path)


def test_classes_that_do_not_match_the_output_layer_raise(data, tmp_path):
    est = _fitted(data, "multiclass")
    binary = _fitted(data, "binary")
    vars(est).update(classes_=binary.classes_, _target_type=binary._target_type)
    with pytest.raises(ValueError, match="classes_"):
        _load(_dumped(est, tmp_path))


# --- the load-time check of every fitted attribute ------------------------------
def _tampered(data, tmp_path, target="multiclass", *, schema=None, arrays=None, **params):
    est = _fitted(data, target, **params)
    path = _dumped(est, tmp_path)
    with zipfile.ZipFile(path) as z:
        tree = json.loads(z.read("schema.json"))
    _rewrite(path, schema=schema, arrays=arrays(tree) if arrays else None)
    return path


def _json(value):
    return {
        "__class__": type(value).__name__,
        "__module__": "builtins",
        "__loader__": "JsonNode",
        "content": json.dumps(value),
        "is_json": True,
    }


def test_file_with_unsorted_classes_raises(data, tmp_path):
    path = _tampered(
        data, tmp_path, arrays=lambda t: {_attrs(t)["classes_"]["file"]: np.array([2, 1, 0])}
    )
    with pytest.raises(ValueError, match=r"classes_.*not sorted"):
        _load(path)


def test_file_with_duplicated_classes_raises(data, tmp_path):
    path = _tampered(
        data, tmp_path, arrays=lambda t: {_attrs(t)["classes_"]["file"]: np.array([0, 1, 1])}
    )
    with pytest.raises(ValueError, match=r"classes_.*not sorted and unique"):
        _load(path)


def test_file_with_classes_as_a_list_raises(data, tmp_path):
    def to_list(tree):
        _attrs(tree)["classes_"] = {
            "__class__": "list",
            "__module__": "builtins",
            "__loader__": "ListNode",
            "content": [_json(0), _json(1), _json(2)],
        }

    path = _tampered(data, tmp_path, schema=to_list)
    with pytest.raises(ValueError, match="classes_ is not a 1-d array"):
        _load(path)


def test_file_with_nan_weights_raises(data, tmp_path):
    def nan_coefs(tree):
        node = _attrs(tree)["coefs_"]["content"][0]
        bad = np.full((5, 6), np.nan)
        return {node["file"]: bad}

    path = _tampered(data, tmp_path, arrays=nan_coefs)
    with pytest.raises(ValueError, match=r"coefs_\[0\] holds non-finite values"):
        _load(path)


def test_file_without_any_network_arrays_raises(data, tmp_path):
    def strip(tree):
        for key in ("coefs_", "intercepts_", "n_outputs_", "out_activation_"):
            _attrs(tree).pop(key)

    path = _tampered(data, tmp_path, schema=strip)
    with pytest.raises(ValueError, match=r"lacks.*coefs_"):
        _load(path)


@pytest.mark.parametrize(
    "key, value, match",
    [
        ("activation", "bogus", "activation 'bogus' is not one of"),
        ("out_activation_", "bogus", "out_activation_='bogus'"),
    ],
)
def test_file_with_unknown_names_raises(data, tmp_path, key, value, match):
    path = _tampered(data, tmp_path, schema=lambda t: _attrs(t).__setitem__(key, _json(value)))
    with pytest.raises(ValueError, match=match):
        _load(path)


def test_regressor_file_with_an_unknown_loss_raises(data, tmp_path):
    path = _tampered(
        data, tmp_path, "regression", schema=lambda t: _attrs(t).__setitem__("loss", _json("l7"))
    )
    with pytest.raises(ValueError, match="loss 'l7' is not a loss of MLPRegressor"):
        _load(path, MLPRegressor)


def test_file_with_a_wrong_shaped_optimizer_moment_raises(data, tmp_path):
    def bad_moment(tree):
        moment = _attrs(tree)["_train_state"]["content"]["optimizer"]["content"]["m"]
        return {moment["file"]: np.zeros(7)}

    path = _tampered(data, tmp_path, arrays=bad_moment)
    with pytest.raises(ValueError, match=r"optimizer\['m'\] has shape \(7,\)"):
        _load(path)


def test_file_with_history_lists_of_other_lengths_raises(data, tmp_path):
    path = _tampered(
        data,
        tmp_path,
        schema=lambda t: _attrs(t)["history_"]["content"]["time"]["content"].pop(),
    )
    with pytest.raises(ValueError, match="history_ does not hold lists of equal length"):
        _load(path)


def test_file_with_feature_names_of_another_length_raises(tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = make_classification(
        n_samples=60, n_features=4, n_informative=3, n_redundant=0, random_state=0
    )
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    est = MLPClassifier((3,), max_iter=3, random_state=0).fit(frame, y)
    path = _dumped(est, tmp_path)

    def drop_a_name(tree):
        node = _attrs(tree)["feature_names_in_"]  # an object array, kept as JSON
        node["content"].pop()
        node["shape"] = {**node["shape"], "content": [_json(3)]}

    _rewrite(path, schema=drop_a_name)
    with pytest.raises(ValueError, match="feature_names_in_"):
        _load(path)
