"""scikit-learn's callback API and validation data (``X_val``, ``y_val``)."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.datasets import make_regression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skmlp import MLPClassifier, MLPRegressor

callback = pytest.importorskip("sklearn.callback")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


class Recorder:
    """Records every hook call; optionally stops at one epoch."""

    max_propagation_depth = None  # auto-propagated from meta-estimators

    def __init__(self, stop_at=None, probe=None):
        self.events, self.stop_at, self.probe = [], stop_at, probe

    def setup(self, estimator, context):
        self.events.append(("setup", type(estimator).__name__))

    def teardown(self, estimator, context):
        self.events.append(("teardown", type(estimator).__name__))

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None, metadata=None):
        self.events.append(("begin", context.estimator_name, context.task_name, context.task_id))

    def on_fit_task_end(self, estimator, context, *, X=None, fitted_estimator=None):
        predicted = None
        if fitted_estimator is not None and self.probe is not None:
            predicted = fitted_estimator.predict(self.probe)
        self.events.append(
            ("end", context.estimator_name, context.task_name, context.task_id, predicted)
        )
        return context.task_name in ("epoch", "lbfgs-iter") and context.task_id == self.stop_at

    def ends(self, task_name):
        return [e for e in self.events if e[0] == "end" and e[2] == task_name]


@pytest.fixture(scope="module")
def regression_data():
    X, y = make_regression(n_samples=300, n_features=8, random_state=0)
    return StandardScaler().fit_transform(X), y / y.std()


def _data(est_cls, digits, regression_data):
    return digits if est_cls is MLPClassifier else regression_data


CASES = [
    (MLPClassifier, dict(solver="adam")),
    (MLPClassifier, dict(solver="sgd", early_stopping=True)),
    (MLPClassifier, dict(solver="lbfgs")),
    (MLPRegressor, dict(solver="adam")),
    (MLPRegressor, dict(solver="lbfgs")),
]


def _est(est_cls, **params):
    settings = dict(hidden_layer_sizes=(8,), max_iter=4, n_iter_no_change=100, random_state=0)
    return est_cls(**{**settings, **params})


@pytest.mark.parametrize("est_cls, params", CASES)
def test_the_task_tree_has_one_subtask_per_epoch_or_iteration(
    digits, regression_data, est_cls, params
):
    X, y = _data(est_cls, digits, regression_data)
    recorder = Recorder()
    est = _est(est_cls, **params).set_callbacks(recorder).fit(X, y)
    name = est_cls.__name__
    sub = "lbfgs-iter" if params["solver"] == "lbfgs" else "epoch"
    begins = [e[1:] for e in recorder.events if e[0] == "begin"]
    # the root, then one subtask per epoch (lbfgs: per iteration, plus the
    # extra one scipy's callback opens after the last iteration, ended empty)
    n_sub = est.n_iter_ + (1 if sub == "lbfgs-iter" else 0)
    assert begins == [(name, "fit", 0)] + [(name, sub, i) for i in range(n_sub)]
    assert [e[3] for e in recorder.ends(sub)] == list(range(n_sub))
    assert recorder.events[0] == ("setup", name)
    assert recorder.events[-2][:4] == ("end", name, "fit", 0)
    assert recorder.events[-1] == ("teardown", name)
    assert not hasattr(est, "_callback_fit_ctx")


@pytest.mark.parametrize("est_cls, params", CASES)
def test_each_fitted_estimator_predicts_as_a_fit_stopped_at_that_epoch(
    digits, regression_data, est_cls, params
):
    X, y = _data(est_cls, digits, regression_data)
    probe = X[:50]
    recorder = Recorder(probe=probe)
    est = _est(est_cls, **params).set_callbacks(recorder).fit(X, y)
    sub = "lbfgs-iter" if params["solver"] == "lbfgs" else "epoch"
    ends = recorder.ends(sub)
    assert len(ends) >= est.n_iter_
    for k in range(1, est.n_iter_ + 1):
        stopped = _est(est_cls, **{**params, "max_iter": k}).fit(X, y)
        np.testing.assert_array_equal(ends[k - 1][4], stopped.predict(probe))
    np.testing.assert_array_equal(recorder.ends("fit")[0][4], est.predict(probe))


@pytest.mark.parametrize("est_cls, params", CASES)
def test_a_callback_returning_true_stops_after_that_epoch(digits, regression_data, est_cls, params):
    X, y = _data(est_cls, digits, regression_data)
    est = _est(est_cls, **params, max_iter=20).set_callbacks(Recorder(stop_at=2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning: the stop was asked for
        est.fit(X, y)
    assert est.n_iter_ == 3
    reference = _est(est_cls, **params, max_iter=3).fit(X, y)
    for a, b in zip(est.coefs_, reference.coefs_):
        np.testing.assert_array_equal(a, b)


def test_scoring_monitor_logs_one_training_score_per_epoch(digits):
    X, y = digits
    monitor = callback.ScoringMonitor(scoring="accuracy")
    est = _est(MLPClassifier).set_callbacks(monitor).fit(X, y)
    log = monitor.get_logs().data_as_pandas
    epochs = log[log["task_name"] == "epoch"].sort_values("task_id")
    assert len(epochs) == est.n_iter_ == 4
    for k, score in enumerate(epochs["accuracy"], start=1):
        assert score == _est(MLPClassifier, max_iter=k).fit(X, y).score(X, y)


def test_a_recorder_in_a_pipeline_sees_the_epochs_under_the_pipeline_step(digits):
    X, y = digits
    recorder = Recorder()
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", _est(MLPClassifier))])
    pipe.set_callbacks(recorder).fit(X, y)
    epochs = [e for e in recorder.events if e[0] == "begin" and e[2] == "epoch"]
    assert [e[1:] for e in epochs] == [("MLPClassifier", "epoch", i) for i in range(4)]
    assert ("setup", "Pipeline") in recorder.events


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_scoring_monitor_on_the_network_inside_a_grid_search(digits, n_jobs):
    X, y = digits
    monitor = callback.ScoringMonitor(scoring="accuracy")
    mlp = _est(MLPClassifier, max_iter=3).set_callbacks(monitor)
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", mlp)])
    GridSearchCV(pipe, {"mlp__alpha": [1e-4, 1e-2]}, cv=2, n_jobs=n_jobs).fit(X, y)
    log = monitor.get_logs(select="all")[0].data_as_pandas
    fits = log[log["task_name"] == "fit"]
    epochs = log[log["task_name"] == "epoch"]
    assert len(fits) == 5  # 2 candidates x 2 folds, and the refit
    assert len(epochs) == 5 * 3
    # every epoch hangs under one of the fits
    assert set(epochs["parent_task_id_path"]) == set(fits["task_id_path"])


def test_progress_bar_runs_under_a_grid_search_in_workers(digits):
    pytest.importorskip("rich")
    X, y = digits
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", _est(MLPClassifier, max_iter=2))])
    search = GridSearchCV(pipe, {"mlp__alpha": [1e-4, 1e-2]}, cv=2, n_jobs=2)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*does not support callbacks")
        search.set_callbacks(callback.ProgressBar(max_propagation_depth=None)).fit(X, y)
    assert search.best_estimator_[-1].n_iter_ == 2


def test_callbacks_survive_clone_and_pickle(digits):
    X, y = digits
    monitor = callback.ScoringMonitor(scoring="accuracy")
    est = _est(MLPClassifier).set_callbacks(monitor)
    assert clone(est)._skl_callbacks == [monitor]
    fitted = est.fit(X, y)
    restored = pickle.loads(pickle.dumps(fitted))
    assert type(restored._skl_callbacks[0]) is callback.ScoringMonitor
    np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))
    restored.fit(X, y)  # the restored callback still works


def test_callbacks_survive_skops(digits, tmp_path):
    sio = pytest.importorskip("skops.io")
    X, y = digits
    est = _est(MLPClassifier).set_callbacks(Recorder()).fit(X, y)
    path = tmp_path / "model.skops"
    sio.dump(est, path)
    untrusted = sio.get_untrusted_types(file=path)
    loaded = sio.load(path, trusted=untrusted)
    assert type(loaded._skl_callbacks[0]).__name__ == "Recorder"
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_a_callback_that_raises_leaves_the_estimator_unchanged(digits):
    X, y = digits
    est = _est(MLPClassifier).fit(X, y)
    before = [c.copy() for c in est.coefs_]

    class Boom(Recorder):
        def on_fit_task_end(self, estimator, context, **kwargs):
            if context.task_name == "epoch" and context.task_id == 1:
                raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        est.set_params(max_iter=6).set_callbacks(Boom()).fit(X, y)
    for a, b in zip(before, est.coefs_):
        np.testing.assert_array_equal(a, b)
    assert est.n_iter_ == 4 and not hasattr(est, "_callback_fit_ctx")


def test_set_callbacks_refuses_what_is_not_a_callback():
    with pytest.raises(TypeError, match="callbacks must be"):
        MLPClassifier().set_callbacks("progress")


def test_without_sklearn_callback_set_callbacks_names_the_version():
    # scikit-learn's own modules import sklearn.callback: load them first, then
    # hide it from skmlp, as an older scikit-learn would
    code = (
        "import sys, sklearn.datasets, sklearn.metrics, sklearn.model_selection\n"
        "import sklearn.pipeline, sklearn.preprocessing\n"
        "sys.modules['sklearn.callback'] = None\n"
        "from skmlp import MLPClassifier\n"
        "try:\n"
        "    MLPClassifier().set_callbacks(object())\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
        "from sklearn.datasets import load_iris\n"
        "X, y = load_iris(return_X_y=True)\n"
        "MLPClassifier(max_iter=500, random_state=0).fit(X, y)\n"
        "print('fits')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "scikit-learn 1.9" in out.stdout and "sklearn.callback" in out.stdout
    assert out.stdout.strip().endswith("fits")


# --- validation data -------------------------------------------------------------
@pytest.mark.parametrize("est_cls", [MLPClassifier, MLPRegressor])
def test_x_val_gives_the_fit_whose_split_is_that_set(digits, regression_data, est_cls):
    from sklearn.model_selection import train_test_split

    from skmlp.network import Network

    X, y = _data(est_cls, digits, regression_data)
    params = dict(hidden_layer_sizes=(8,), max_iter=15, random_state=0, shuffle=False)
    split = est_cls(**params, early_stopping=True, n_iter_no_change=3).fit(X, y)
    # replay the fit's draws: the initial weights, then the split
    rng = np.random.RandomState(0)
    n_out = len(np.unique(y)) if est_cls is MLPClassifier else 1
    loss = "log_loss" if est_cls is MLPClassifier else "squared_error"
    Network([X.shape[1], 8, n_out], "relu", loss).init_params(rng, "sklearn", np.float64)
    stratify = y if est_cls is MLPClassifier else None
    X_tr, X_val, y_tr, y_val = train_test_split(
        X, y, random_state=rng, test_size=0.1, stratify=stratify
    )
    given = est_cls(**params, early_stopping=True, n_iter_no_change=3)
    given.fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    assert given.best_epoch_ == split.best_epoch_
    assert given.history_["val_score"] == split.history_["val_score"]
    for a, b in zip(given.coefs_ + given.intercepts_, split.coefs_ + split.intercepts_):
        np.testing.assert_array_equal(a, b)


def test_x_val_goes_through_a_pipeline_and_a_grid_search(digits):
    X, y = digits
    X_tr, y_tr, X_val, y_val = X[:450], y[:450], X[450:], y[450:]
    with sklearn.config_context(enable_metadata_routing=True):
        mlp = _est(MLPClassifier, early_stopping=True, max_iter=5)
        mlp.set_fit_request(X_val=True, y_val=True)
        scaled = Pipeline([("scale", StandardScaler()), ("mlp", mlp)], transform_input=["X_val"])
        scaled.fit(X_tr * 10, y_tr, X_val=X_val * 10, y_val=y_val)
        # the validation rows went through the fitted scaler, as X did
        direct = _est(MLPClassifier, early_stopping=True, max_iter=5)
        scaler = StandardScaler().fit(X_tr * 10)
        direct.fit(
            scaler.transform(X_tr * 10), y_tr, X_val=scaler.transform(X_val * 10), y_val=y_val
        )
        assert scaled[-1].history_["val_score"] == direct.history_["val_score"]

        search = GridSearchCV(scaled, {"mlp__alpha": [1e-4, 1e-2]}, cv=2)
        search.fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    best = search.best_estimator_[-1]
    # the refit's validation scores describe the given set
    expected = best.predict(search.best_estimator_[0].transform(X_val)) == y_val
    assert best.history_["val_score"][best.best_epoch_ - 1] == pytest.approx(
        max(best.history_["val_score"])
    )
    assert 0 < expected.mean() <= 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(X_val="X"), "X_val and y_val must be given together"),
        (dict(y_val="y"), "X_val and y_val must be given together"),
        (dict(sample_weight_val="w"), "sample_weight_val is given without"),
    ],
)
def test_incomplete_validation_data_is_an_error(digits, kwargs, match):
    X, y = digits
    kwargs = {k: {"X": X[:50], "y": y[:50], "w": np.ones(50)}[v] for k, v in kwargs.items()}
    with pytest.raises(ValueError, match=match):
        _est(MLPClassifier, early_stopping=True).fit(X, y, **kwargs)


def test_x_val_needs_early_stopping_and_a_stochastic_solver(digits):
    X, y = digits
    with pytest.raises(ValueError, match="early_stopping=False"):
        _est(MLPClassifier).fit(X, y, X_val=X[:50], y_val=y[:50])
    with pytest.raises(ValueError, match="solver='lbfgs' does not stop early"):
        _est(MLPClassifier, solver="lbfgs", early_stopping=True).fit(
            X, y, X_val=X[:50], y_val=y[:50]
        )


def test_partial_fit_refuses_validation_data(digits):
    X, y = digits
    with pytest.raises(ValueError, match="partial_fit does not take X_val"):
        MLPClassifier((4,)).partial_fit(X, y, classes=np.unique(y), X_val=X, y_val=y)


def test_validation_rows_are_validated_like_the_training_rows(digits):
    pd = pytest.importorskip("pandas")
    X, y = digits
    est = _est(MLPClassifier, early_stopping=True)
    with pytest.raises(ValueError, match="features"):
        est.fit(X, y, X_val=X[:50, :10], y_val=y[:50])
    with pytest.raises(ValueError, match="y_val holds labels that are not classes of y"):
        est.fit(X, y, X_val=X[:2], y_val=np.array([1, "eleven"], dtype=object))
    with pytest.raises(ValueError, match=r"y_val has labels \[11\]"):
        est.fit(X, y, X_val=X[:2], y_val=[1, 11])
    columns = [f"f{i}" for i in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=columns)
    renamed = pd.DataFrame(X[:50], columns=[c.upper() for c in columns])
    with pytest.raises(ValueError, match="feature names"):
        est.fit(frame, y, X_val=renamed, y_val=y[:50])
    assert not hasattr(est, "coefs_")


def test_regressor_validation_targets_are_checked(regression_data):
    X, y = regression_data
    est = _est(MLPRegressor, early_stopping=True)
    with pytest.raises(ValueError, match="y_val must hold numbers"):
        est.fit(X, y, X_val=X[:2], y_val=["a", "b"])
    with pytest.raises(ValueError, match="y_val >= 0"):
        est.set_params(loss="poisson").fit(X, np.abs(y), X_val=X[:2], y_val=[-1.0, 1.0])
