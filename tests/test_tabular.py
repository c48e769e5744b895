"""TabularMLPClassifier / TabularMLPRegressor: the recipe's pieces (ensemble
loss, annealing, calibration, target scaling, best epoch) and the estimator
contract."""

import math
import pickle
import warnings

import numpy as np
import pytest
from _helpers import gradient_and_central_difference
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from skmlp import TabularMLPClassifier, TabularMLPRegressor
from skmlp._tabular_net import (
    Anneal,
    TabularSpec,
    build_layers,
    fit_temperature,
    mean_of_members,
    with_temperature,
)
from skmlp.layers import DenseNTP, EnsembleHead, EnsembleInput, Shared
from skmlp.losses import LOSSES, ensemble_loss
from skmlp.network import Network
from skmlp.optimizers import OPTIMIZERS, DecoupledWeightDecay, make_chain
from skmlp.schedules import flat_cos
from skmlp.stopping import ValidationScoreRule
from skmlp.trainer import param_groups
from skmlp.tuning import learning_rate_schedule

FAST = dict(max_iter=6, hidden_layer_sizes=(16, 16), batch_size=32, random_state=0)


def _clf(**kw):
    return TabularMLPClassifier(**{**FAST, **kw})


def _reg(**kw):
    return TabularMLPRegressor(**{**FAST, **kw})


@pytest.fixture(scope="module")
def binary():
    return make_classification(300, 6, n_informative=4, random_state=0)


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(300, 5, noise=5.0, random_state=0)
    return X, y


# --- the pieces ------------------------------------------------------------
@pytest.mark.parametrize("name", ["log_loss", "binary_log_loss", "squared_error", "huber"])
def test_ensemble_loss_is_the_mean_of_the_members_losses(name):
    rng = np.random.default_rng(0)
    loss = LOSSES.get(name) or __import__("skmlp.losses").losses.make_loss(name)
    k, m, c = 3, 7, 1 if name != "log_loss" else 4
    raw = rng.normal(size=(m, k * c))
    if name == "log_loss":
        Y = np.eye(c)[rng.integers(0, c, m)]
    elif name == "binary_log_loss":
        Y = rng.integers(0, 2, (m, 1)).astype(float)
    else:
        Y = rng.normal(size=(m, 1))
    sw = rng.uniform(0.5, 2.0, m)
    members = []
    for j in range(k):
        pred = raw[:, j * c : (j + 1) * c].copy()
        loss.link(pred)
        members.append(loss.value(Y, pred, pred - Y, sw))
    wrapped = ensemble_loss(loss, k)
    pred = raw.copy()
    wrapped.link(pred)
    tiled = np.tile(Y, (1, k))
    assert math.isclose(wrapped.value(tiled, pred, pred - tiled, sw), np.mean(members))


@pytest.mark.parametrize("loss", ["log_loss", "squared_error"])
def test_ensemble_network_gradient_matches_central_differences(loss):
    rng = np.random.RandomState(0)
    k, n_in, c = 3, 4, 3 if loss == "log_loss" else 1
    layers = [
        EnsembleInput(n_in, k),
        Shared(DenseNTP(n_in, 5, "tanh"), k),
        EnsembleHead(5, c, k),
    ]
    net = Network.from_layers(layers, ensemble_loss(LOSSES[loss], k))
    X = rng.normal(size=(8, n_in))
    Y = np.eye(c)[rng.randint(0, c, 8)] if loss == "log_loss" else rng.normal(size=(8, 1))
    params = net.init_params(rng, "sklearn", np.float64, X)
    ws = net.workspace(8, params)
    sw = rng.uniform(0.5, 2.0, 8)
    analytic, numeric = gradient_and_central_difference(net, ws, X, np.tile(Y, (1, k)), sw, 0.0)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)


def test_flat_cos_is_flat_then_a_half_cosine_to_zero():
    assert [flat_cos(t) for t in (0.0, 0.25, 0.5)] == [1.0, 1.0, 1.0]
    assert math.isclose(flat_cos(0.75), 0.5)
    assert flat_cos(1.0) == pytest.approx(0.0, abs=1e-15)
    t = np.linspace(0.5, 1.0, 50)
    assert np.all(np.diff([flat_cos(x) for x in t]) < 0)


def _spec(**kw):
    base = dict(
        n_numeric=3,
        n_passthrough=0,
        embedding_levels=(),
        n_outputs=1,
        hidden=(8, 8),
        activation="selu",
        parametric=True,
        dropout=(0.2, 0.4),
        numeric_embedding=None,
        n_ensemble=1,
    )
    return TabularSpec(**{**base, **kw})


def test_anneal_follows_flat_cos_and_close_restores():
    net = Network.from_layers(build_layers(_spec()), "squared_error")
    chain = make_chain(OPTIMIZERS["adamw"](), param_groups(net), weight_decay=0.1)
    decay = next(link for link in chain.before if isinstance(link, DecoupledWeightDecay))
    anneal = Anneal(net.layers, chain, max_iter=8)
    dropped = [layer for layer in net.layers if layer.dropout]
    assert [layer.dropout for layer in dropped] == [0.2, 0.4]
    for epoch in range(8):
        anneal.on_epoch_begin()
        factor = flat_cos(epoch / 8)
        assert decay.scale == factor
        assert [layer.dropout for layer in dropped] == [0.2 * factor, 0.4 * factor]
        anneal.on_epoch_end(None)
    anneal.close()
    assert decay.scale == 1.0
    assert [layer.dropout for layer in dropped] == [0.2, 0.4]


def test_decoupled_decay_scale_scales_the_shrinkage():
    params = np.full(4, 2.0)
    link = DecoupledWeightDecay([(slice(0, 4), 0.5)])
    link.scale = 0.25
    link.update(None, link.init(params), params, rate=0.1)
    np.testing.assert_allclose(params, 2.0 * (1.0 - 0.1 * 0.5 * 0.25))


def test_anneal_reaches_shared_members_dropout():
    net = Network.from_layers(build_layers(_spec(n_ensemble=2)), "squared_error")
    chain = make_chain(OPTIMIZERS["adam"](), param_groups(net))
    anneal = Anneal(net.layers, chain, max_iter=4, epochs_done=3)
    anneal.on_epoch_begin()
    shared = [layer for layer in net.layers if isinstance(layer, Shared) and layer.dropout]
    assert shared and all(s.layer.dropout == s.dropout for s in shared)
    assert shared[0].dropout == pytest.approx(0.2 * flat_cos(3 / 4))


@pytest.mark.parametrize("n_classes", [2, 4])
def test_fit_temperature_recovers_the_temperature_of_the_labels(n_classes):
    rng = np.random.default_rng(0)
    n, true_t = 20000, 2.5
    logits = rng.normal(scale=3.0, size=(n, n_classes))
    if n_classes == 2:
        logits = logits[:, :1]
        labels = (rng.random(n) < 1.0 / (1.0 + np.exp(-logits[:, 0] / true_t))).astype(np.intp)
        proba = 1.0 / (1.0 + np.exp(-logits))
    else:
        p = np.exp(logits / true_t)
        p /= p.sum(axis=1, keepdims=True)
        labels = np.array([rng.choice(n_classes, p=row) for row in p])
        proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert fit_temperature(proba, labels) == pytest.approx(true_t, rel=0.08)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_fit_temperature_stays_finite_on_separable_labels(n_classes):
    rng = np.random.default_rng(2)
    labels = rng.integers(0, n_classes, 90)
    # smoothed-label outputs: every row on the right side, none confident
    if n_classes == 2:
        proba = np.where(labels == 1, 0.9, 0.1)[:, None]
    else:
        proba = np.full((90, n_classes), 0.1 / (n_classes - 1))
        proba[np.arange(90), labels] = 0.9
    t = fit_temperature(proba, labels)
    assert 0.05 * 1.01 < t < 1.0  # sharper than trained, but not at the search's bound
    # a new row on the wrong side keeps a probability worth a bounded log-loss
    p_true = with_temperature(proba[:1], t)[0, 0 if n_classes == 2 else labels[0]]
    p_other = 1.0 - p_true
    assert min(p_true, p_other) > 1e-3


def test_with_temperature_keeps_the_argmax_and_inverts():
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(5), size=40)
    hot = with_temperature(p, 0.5)
    np.testing.assert_array_equal(hot.argmax(axis=1), p.argmax(axis=1))
    np.testing.assert_allclose(with_temperature(hot, 2.0), p, rtol=1e-9)
    np.testing.assert_allclose(hot.sum(axis=1), 1.0)


def test_mean_of_members_averages_side_by_side_blocks():
    pred = np.array([[1.0, 2.0, 3.0, 4.0]])  # two members of two outputs
    np.testing.assert_array_equal(mean_of_members(pred, 2), [[2.0, 3.0]])


def test_best_epoch_rule_keeps_the_last_of_ties():
    from skmlp.stopping import ScoreMemory
    from skmlp.trainer import EpochRecord

    for last_tie, expected in ((False, 1), (True, 3)):
        rule = ValidationScoreRule(0.0, math.inf, last_tie=last_tie)
        memory = ScoreMemory()
        for epoch, score in enumerate([0.9, 0.8, 0.9], start=1):
            record = EpochRecord(epoch, 1.0, 1.0, score, 0.1, 0.0, 0, 1.0)
            rule.update(memory, record, np.full(2, float(epoch)), 0.1)
        assert memory.best_epoch == expected


# --- the estimators ---------------------------------------------------------
# Fitting with integer sample weights cannot equal fitting on repeated rows:
# the encoder's quantiles, the data-dependent initialization (unit-variance
# pre-activations, biases from random rows) and the validation split all see
# rows, not weights (HistGradientBoosting fails this check for the same kind
# of reason). docs/tabular.md says so; everything else passes.
_ROWS_NOT_WEIGHTS = {
    "check_sample_weight_equivalence_on_dense_data": "data-dependent encoding and "
    "initialization see rows, not weights (docs/tabular.md)"
}


@parametrize_with_checks(
    [
        TabularMLPClassifier(max_iter=30, hidden_layer_sizes=(16,), n_ensemble=2, random_state=0),
        TabularMLPRegressor(max_iter=30, hidden_layer_sizes=(16,), n_ensemble=2, random_state=0),
    ],
    expected_failed_checks=lambda est: _ROWS_NOT_WEIGHTS,
)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def test_defaults_train_without_convergence_warnings(binary):
    X, y = binary
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = TabularMLPClassifier(max_iter=5, random_state=0).fit(X, y)
    assert clf.n_iter_ == 5 and 1 <= clf.best_epoch_ <= 5


@pytest.mark.parametrize("n_rows", [60, 700, 1400])
def test_auto_max_iter_sees_65536_rows_within_64_to_128_epochs(n_rows):
    X, y = make_classification(n_rows, 4, random_state=0)
    est = _clf(max_iter="auto", hidden_layer_sizes=(4,), n_ensemble=1, batch_size="auto")
    est.fit(X, y)
    n_train = n_rows - math.ceil(0.2 * n_rows)  # the validation split's rows leave
    epochs = est.n_iter_
    assert len(est.loss_curve_) == epochs
    assert 64 <= epochs <= 128
    # the fewest epochs that see 2**16 rows, unless a bound holds it
    assert epochs * n_train >= 2**16 or epochs == 128
    assert (epochs - 1) * n_train < 2**16 or epochs == 64
    # the schedule is planned over the same epochs: coslog ends near 0, and
    # the preview before fitting is what the fit used
    planned = learning_rate_schedule(clone(est), n_train)
    assert len(planned) == epochs * math.ceil(n_train / min(256, n_train))
    assert planned[-1] < 1e-2 * planned.max()
    np.testing.assert_allclose(learning_rate_schedule(est, n_train), planned)


def test_no_partial_fit():
    assert not hasattr(TabularMLPClassifier(), "partial_fit")
    assert not hasattr(TabularMLPRegressor(), "partial_fit")


@pytest.mark.parametrize("kw", [dict(n_ensemble=0), dict(numeric_embedding="fourier")])
def test_bad_tabular_hyperparameters_are_invalid(binary, kw):
    with pytest.raises(InvalidParameterError, match=next(iter(kw))):
        _clf(**kw).fit(*binary)


def test_nan_in_y_is_an_error(regression):
    X, y = regression
    y = y.copy()
    y[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        _reg().fit(X, y)


def test_regressor_is_equivariant_to_the_target_scale(regression):
    X, y = regression
    a = _reg().fit(X, y).predict(X)
    b = _reg().fit(X, 1000.0 * y + 7.0).predict(X)
    np.testing.assert_allclose(b, 1000.0 * a + 7.0, rtol=1e-4, atol=1e-3 * np.std(y) * 1000)


def test_regressor_predictions_stay_in_the_training_range(regression):
    X, y = regression
    reg = _reg(max_iter=2).fit(X, y)
    pred = reg.predict(10.0 * X)  # far outside the data
    assert pred.min() >= y.min() and pred.max() <= y.max()


@pytest.mark.parametrize("k", [1, 3])
def test_return_std_is_the_members_spread(regression, k):
    X, y = regression
    reg = _reg(n_ensemble=k).fit(X, y)
    mean, std = reg.predict(X[:20], return_std=True)
    np.testing.assert_array_equal(mean, reg.predict(X[:20]))
    assert std.shape == mean.shape
    assert (std == 0).all() if k == 1 else (std > 0).all()


def test_ensemble_predictions_average_the_members(binary):
    X, y = binary
    clf = _clf(n_ensemble=3).fit(X, y)
    net, params, Xe = clf._prediction_inputs(X[:10])
    members = net.predict(params, Xe).reshape(10, 3, 1)
    p = with_temperature(members.mean(axis=1), clf.temperature_)
    np.testing.assert_allclose(clf.predict_proba(X[:10])[:, 1], p[:, 0], rtol=1e-6)


def test_temperature_lowers_the_validation_log_loss():
    X, y = load_breast_cancer(return_X_y=True)
    X_val, y_val = X[:150], y[:150]
    clf = _clf(max_iter=15, label_smoothing=0.2).fit(X[150:], y[150:], X_val=X_val, y_val=y_val)
    calibrated = log_loss(y_val, clf.predict_proba(X_val))
    clf.temperature_ = 1.0
    assert calibrated <= log_loss(y_val, clf.predict_proba(X_val)) + 1e-12


def test_warm_start_refuses_a_changed_network(binary):
    clf = _clf(warm_start=True).fit(*binary)
    clf.set_params(numeric_embedding="periodic")
    with pytest.raises(ValueError, match="numeric_embedding"):
        clf.fit(*binary)


def test_a_model_saved_before_log_skewed_loads_and_predicts_as_saved():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.lognormal(2.0, 2.0, 200), rng.normal(size=200)])
    y = (X[:, 1] > 0).astype(int)
    clf = _clf(log_skewed=False).fit(X, y)
    state = dict(clf.__getstate__())  # copies: __getstate__ may return __dict__ itself
    del state["log_skewed"]  # what the previous version saved
    enc_state = dict(state["encoder_"].__getstate__())
    del enc_state["log_skewed"], enc_state["log_features_"]
    old_encoder = object.__new__(type(clf.encoder_))
    old_encoder.__dict__.update(enc_state)
    state["encoder_"] = old_encoder
    old = object.__new__(type(clf))
    old.__dict__.update(state)
    loaded = pickle.loads(pickle.dumps(old))
    assert loaded.get_params()["log_skewed"] is False
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    # the default would have compressed the first column: the loaded model must not
    assert _clf().fit(X, y).encoder_.log_features_.tolist() == [0]


def test_pickle_round_trip_and_tampered_state(binary):
    X, y = binary
    clf = _clf(numeric_embedding="pbld", n_ensemble=2).fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    state = clf.__getstate__()
    state["coefs_"] = [c[:1] for c in state["coefs_"]]
    with pytest.raises(ValueError, match="coefs_"):
        pickle.loads(pickle.dumps(clf)).__setstate__(state)


def test_grid_search_and_cross_validation_in_a_pipeline(binary):
    X, y = binary
    search = GridSearchCV(
        make_pipeline(_clf()), {"tabularmlpclassifier__learning_rate_init": [0.01, 0.04]}, cv=2
    ).fit(X, y)
    assert search.best_score_ > 0.5
    assert cross_val_score(clone(_reg()), *make_regression(120, 3, random_state=0), cv=2).shape == (
        2,
    )


def test_onnx_export_names_the_unsupported_layer(binary):
    skl2onnx = pytest.importorskip("skl2onnx")
    pytest.importorskip("skmlp.onnx")
    clf = _clf().fit(*binary)
    with pytest.raises(NotImplementedError, match=r"Scale|PBLD|Embedding|Columns"):
        skl2onnx.to_onnx(clf, binary[0][:1].astype(np.float32))


@pytest.mark.parametrize("est_cls", [TabularMLPClassifier, TabularMLPRegressor])
def test_skops_round_trip_trusts_only_skmlp_types(est_cls, binary, tmp_path):
    sio = pytest.importorskip("skops.io")
    X, y = binary
    est = est_cls(**{**FAST, "n_ensemble": 2}).fit(X, y)
    path = tmp_path / "model.skops"
    sio.dump(est, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert untrusted and all(name.startswith("skmlp.") for name in untrusted), untrusted
    loaded = sio.load(path, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
