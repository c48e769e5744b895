"""Elastic net, dropout, class weights, early stopping on any metric, history, Ctrl-C.

The network-level tests compare ``Network.loss_and_grad`` with central
differences of its own values and with the documented objective written here
in plain numpy. The estimator-level tests check behaviour that must hold
whatever the exact numbers: exact zeros from L1, less over-fitting with
dropout or early stopping, class weights as sample weights, one history entry
per epoch, the restored weights scoring the best validation score.
"""

import math
import re

import numpy as np
import pytest
from scipy.special import expit, softmax, xlogy
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer, log_loss, recall_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.estimator_checks import (
    check_sample_weight_equivalence_on_dense_data,
    parametrize_with_checks,
)

from skmlp import MLPClassifier, MLPRegressor
from skmlp.network import Network

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

HISTORY_KEYS = ("epoch", "train_loss", "val_loss", "val_score", "learning_rate", "time")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X[:600]), y[:600]


def _small(est_cls, **kw):
    params = dict(hidden_layer_sizes=(12,), max_iter=30, random_state=0)
    params.update(kw)
    return est_cls(**params)


def _params_equal(a, b):
    return all(
        np.array_equal(p, q) for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_)
    )


def _replay_validation_split(X, y, hidden, loss, seed, validation_fraction=0.1, stratify=True):
    """The estimator's validation rows: weight init draws first, then the split."""
    rng = np.random.RandomState(seed)
    n_out = 1 if loss in ("squared_error", "binary_log_loss") else len(np.unique(y))
    Network([X.shape[1], *hidden, n_out], "relu", loss).init_params(rng, "sklearn", np.float64)
    _, X_val, _, y_val = train_test_split(
        X, y, random_state=rng, test_size=validation_fraction, stratify=y if stratify else None
    )
    return X_val, y_val


# --- network: elastic-net and dropout gradients ---------------------------------
STEP = 1e-6
UNITS = (4, 5, 3)  # input width, then two hidden layers
N_ROWS = 9
HIDDEN_ORACLES = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0)}


def _targets(loss, rng):
    if loss == "squared_error":
        return rng.normal(size=(N_ROWS, 2))
    if loss == "log_loss":
        return np.eye(3, dtype=bool)[rng.randint(3, size=N_ROWS)]
    Y = rng.rand(N_ROWS, 1) < 0.5
    Y[:2, 0] = [True, False]
    return Y


def _problem(activation, loss, dropout, weighted, seed=0):
    """A two-hidden-layer network, its workspace with masks drawn once, and data."""
    rng = np.random.RandomState(seed)
    Y = _targets(loss, rng)
    X = rng.normal(size=(N_ROWS, UNITS[0]))
    sample_weight = rng.uniform(0.5, 2.0, N_ROWS) if weighted else None
    net = Network((*UNITS, Y.shape[1]), activation, loss, dropout=dropout)
    params = net.init_params(np.random.RandomState(seed), "sklearn", np.float64)
    # |w| has a kink at 0: keep every weight well away from it so that the
    # central difference never straddles it
    weights = params[: net.n_coef]
    small = np.abs(weights) < 0.05
    weights[small] = np.where(weights[small] < 0, -0.05, 0.05)
    ws = net.workspace(N_ROWS, params)
    net.draw_dropout_masks(ws, N_ROWS, np.random.default_rng(0))
    return net, ws, X, Y, sample_weight


def _masks(net, ws):
    """The masks the training pass applies, ones where a layer has no dropout."""
    widths = net.layer_units[1:-1]
    return [
        np.ones((N_ROWS, w)) if mask is None else mask[:N_ROWS].copy()
        for w, mask in zip(widths, ws.masks)
    ]


def _reference_loss(net, params, X, Y, sample_weight, alpha, l1_ratio, masks):
    """The documented objective, forward pass and dropout masks included, in numpy."""
    coefs, intercepts = net.views(params)
    hidden = HIDDEN_ORACLES[net.activation.name]
    a = X
    for W, b, mask in zip(coefs[:-1], intercepts[:-1], masks):
        a = hidden(a @ W + b) * mask
    z = a @ coefs[-1] + intercepts[-1]
    Y = Y.astype(np.float64)
    if net.loss.name == "squared_error":
        per_sample = 0.5 * np.sum((z - Y) ** 2, axis=1)
    elif net.loss.name == "log_loss":
        per_sample = -np.sum(xlogy(Y, softmax(z, axis=1)), axis=1)
    else:
        pred = expit(z)
        per_sample = -np.sum(xlogy(Y, pred) + xlogy(1.0 - Y, 1.0 - pred), axis=1)
    s = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    W = np.concatenate([c.ravel() for c in coefs])  # weights only, never biases
    penalty = alpha * ((1.0 - l1_ratio) / 2.0 * np.sum(W**2) + l1_ratio * np.sum(np.abs(W)))
    return np.sum(s * per_sample) / np.sum(s) + penalty / np.sum(s)


def _gradient_and_central_difference(net, ws, X, Y, sample_weight, alpha, l1_ratio):
    net.loss_and_grad(ws, X, Y, sample_weight, alpha, l1_ratio)
    analytic = ws.grad.copy()
    numeric = np.empty_like(analytic)
    for j in range(ws.params.size):
        saved = ws.params[j]
        up, down = saved + STEP, saved - STEP
        ws.params[j] = up
        loss_up = net.loss_and_grad(ws, X, Y, sample_weight, alpha, l1_ratio)
        ws.params[j] = down
        loss_down = net.loss_and_grad(ws, X, Y, sample_weight, alpha, l1_ratio)
        ws.params[j] = saved
        numeric[j] = (loss_up - loss_down) / (up - down)
    return analytic, numeric


PENALTIES = [(0.0, 0.0), (0.3, 0.0), (0.3, 0.5), (0.3, 1.0)]  # (alpha, l1_ratio)
DROPOUTS = [0.0, (0.3, 0.5)]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dropout", DROPOUTS, ids=["no_dropout", "dropout"])
@pytest.mark.parametrize("alpha, l1_ratio", PENALTIES)
@pytest.mark.parametrize("loss", ["squared_error", "log_loss", "binary_log_loss"])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_penalized_gradient_matches_central_difference(
    activation, loss, alpha, l1_ratio, dropout, weighted
):
    net, ws, X, Y, sample_weight = _problem(activation, loss, dropout, weighted)
    masks = _masks(net, ws)
    if dropout:
        # the masks really drop units, and scale the kept ones by 1 / (1 - rate)
        for mask, rate in zip(masks, dropout):
            assert 0 < np.count_nonzero(mask == 0.0) < mask.size
            np.testing.assert_array_equal(mask[mask != 0.0], 1.0 / (1.0 - rate))
    analytic, numeric = _gradient_and_central_difference(
        net, ws, X, Y, sample_weight, alpha, l1_ratio
    )
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)
    # loss_and_grad applies the masks, it never redraws them
    for before, after in zip(masks, _masks(net, ws)):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dropout", DROPOUTS, ids=["no_dropout", "dropout"])
@pytest.mark.parametrize("alpha, l1_ratio", PENALTIES)
@pytest.mark.parametrize("loss", ["squared_error", "log_loss", "binary_log_loss"])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_penalized_loss_matches_numpy_formula(activation, loss, alpha, l1_ratio, dropout, weighted):
    net, ws, X, Y, sample_weight = _problem(activation, loss, dropout, weighted)
    expected = _reference_loss(
        net, ws.params, X, Y, sample_weight, alpha, l1_ratio, _masks(net, ws)
    )
    got = net.loss_and_grad(ws, X, Y, sample_weight, alpha, l1_ratio)
    np.testing.assert_allclose(got, expected, rtol=1e-10)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_l1_ratio_zero_is_the_plain_l2_path(activation):
    net, ws, X, Y, sample_weight = _problem(activation, "log_loss", 0.0, weighted=True)
    plain = net.loss_and_grad(ws, X, Y, sample_weight, 0.3)
    plain_grad = ws.grad.copy()
    mixed = net.loss_and_grad(ws, X, Y, sample_weight, 0.3, 0.0)
    assert mixed == plain
    np.testing.assert_array_equal(ws.grad, plain_grad)
    # and any L1 share changes both
    assert net.loss_and_grad(ws, X, Y, sample_weight, 0.3, 0.25) != plain
    assert not np.array_equal(ws.grad, plain_grad)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_l1_ratio_zero_fits_as_scikit_learn(digits, solver):
    from sklearn.neural_network import MLPClassifier as SkMLP

    X, y = digits
    ours = _small(MLPClassifier, solver=solver, alpha=0.5, l1_ratio=0.0, max_iter=10).fit(X, y)
    theirs = SkMLP((12,), solver=solver, alpha=0.5, max_iter=10, random_state=0).fit(X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)


def test_dropout_masks_drop_the_given_fraction_and_rescale_the_rest():
    rates = (0.3, 0.0, 0.6)
    net = Network((3, 400, 50, 300, 2), "relu", "squared_error", dropout=rates)
    params = net.init_params(np.random.RandomState(0), "sklearn", np.float64)
    ws = net.workspace(250, params)
    assert ws.masks[1] is None  # a rate of 0 has no mask at all
    m = 200
    net.draw_dropout_masks(ws, m, np.random.default_rng(0))
    for mask, rate in zip(ws.masks, rates):
        if mask is None:
            continue
        drawn = mask[:m]
        assert set(np.unique(drawn)) == {0.0, 1.0 / (1.0 - rate)}
        dropped = np.mean(drawn == 0.0)
        sigma = math.sqrt(rate * (1 - rate) / drawn.size)
        assert abs(dropped - rate) < 5 * sigma
        assert abs(drawn.mean() - 1.0) < 5 * sigma / (1 - rate)  # inverted dropout
        np.testing.assert_array_equal(mask[m:], 1.0)  # rows past the batch untouched


def test_prediction_never_drops_units():
    X = np.random.RandomState(1).normal(size=(20, 3))
    dropping = Network((3, 30, 30, 2), "tanh", "squared_error", dropout=0.5)
    plain = Network((3, 30, 30, 2), "tanh", "squared_error")
    params = plain.init_params(np.random.RandomState(0), "sklearn", np.float64)
    ws = dropping.workspace(20, params.copy())
    dropping.draw_dropout_masks(ws, 20, np.random.default_rng(0))
    expected = plain.predict(params, X)
    np.testing.assert_array_equal(dropping.forward(ws, X).copy(), expected)
    np.testing.assert_array_equal(dropping.predict(params, X), expected)
    assert not np.allclose(dropping.forward(ws, X, training=True), expected)


def test_network_rejects_a_dropout_tuple_of_the_wrong_length():
    with pytest.raises(ValueError, match="dropout"):
        Network((3, 4, 5, 2), "relu", "squared_error", dropout=(0.1,))


# --- L1 gives exact zeros -------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_l1_zeroes_a_growing_share_of_first_layer_weights(seed):
    X, y = make_classification(
        n_samples=400, n_features=50, n_informative=3, n_redundant=0, random_state=seed
    )
    X = StandardScaler().fit_transform(X)
    net = Network([50, 32, 1], "relu", "binary_log_loss")
    _, initial_biases = net.views(net.init_params(np.random.RandomState(seed), "sklearn", float))
    shares, crossings = [], 0
    for alpha in (0.1, 1.0, 10.0):
        est = MLPClassifier((32,), alpha=alpha, l1_ratio=1.0, max_iter=100, random_state=seed)
        est.fit(X, y)
        shares.append(np.mean(est.coefs_[0] == 0.0))
        # biases are not penalized, so none is clipped to zero, although
        # some crossed zero in training
        for b, b0 in zip(est.intercepts_, initial_biases):
            assert np.all(b != 0.0)
            crossings += np.count_nonzero(np.sign(b) != np.sign(b0))
    print(f"seed {seed}: share of exact zeros in coefs_[0] for alpha 0.1, 1, 10: {shares}")
    assert crossings > 0
    assert shares[0] < shares[1] < shares[2]
    assert shares[2] > 0.05
    pure_l2 = MLPClassifier((32,), alpha=10.0, l1_ratio=0.0, max_iter=100, random_state=seed)
    pure_l2.fit(X, y)
    assert np.count_nonzero(pure_l2.coefs_[0] == 0.0) == 0


def test_l1_clipping_rule_on_one_full_batch_sgd_step(digits):
    """One plain gradient step, then every weight it carried across zero is 0.

    A large rate makes the step overshoot zero for some weights and biases;
    the biases keep their value.
    """
    X, y = digits
    X, y = X[:150], y[:150]
    alpha, l1_ratio, rate = 2.0, 0.5, 2.0
    est = MLPClassifier((12,), solver="sgd", momentum=0.0, batch_size=len(X), max_iter=1)
    est.set_params(shuffle=False, alpha=alpha, l1_ratio=l1_ratio, learning_rate_init=rate)
    est.set_params(random_state=0).fit(X, y)

    net = Network([X.shape[1], 12, 10], "relu", "log_loss")
    start = net.init_params(np.random.RandomState(0), "sklearn", np.float64)
    ws = net.workspace(len(X), start.copy())
    net.loss_and_grad(ws, X, y[:, None] == np.arange(10), None, alpha, l1_ratio)
    stepped = start - rate * ws.grad
    crossed = start * stepped < 0
    crossed[net.n_coef :] = False  # biases are never clipped
    assert np.count_nonzero(crossed) > 0
    assert np.count_nonzero(start[net.n_coef :] * stepped[net.n_coef :] < 0) > 0
    expected = np.where(crossed, 0.0, stepped)

    got = net.pack(est.coefs_, est.intercepts_, np.float64)
    np.testing.assert_array_equal(got[crossed], 0.0)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "solver_params",
    [dict(solver="adam"), dict(solver="sgd", momentum=0.0, learning_rate_init=0.01)],
    ids=["adam", "plain_sgd"],
)
def test_weights_a_dominating_l1_penalty_kills_are_exactly_zero(solver_params):
    X, y = make_classification(
        n_samples=400, n_features=50, n_informative=3, n_redundant=0, random_state=0
    )
    X = StandardScaler().fit_transform(X)
    est = MLPClassifier((32,), alpha=30.0, l1_ratio=1.0, max_iter=300, random_state=0)
    est.set_params(**solver_params).fit(X, y)
    weights = np.concatenate([c.ravel() for c in est.coefs_])
    assert np.abs(weights).max() < 1e-2  # the penalty has killed every weight
    assert np.mean(weights == 0.0) > 0.9


def test_lbfgs_minimizes_the_elastic_net_objective():
    X, y = make_classification(n_samples=200, n_features=20, random_state=0)
    alpha = 1.0
    est = MLPClassifier((8,), solver="lbfgs", alpha=alpha, l1_ratio=1.0, max_iter=50)
    est.set_params(random_state=0).fit(X, y)
    penalty = alpha * sum(np.abs(w).sum() for w in est.coefs_) / len(X)
    expected = log_loss(y, est.predict_proba(X)) + penalty
    np.testing.assert_allclose(est.loss_, expected, rtol=1e-8)


# --- dropout and early stopping against over-fitting ---------------------------
OVERFIT_SEEDS = (0, 1, 2)


def test_dropout_and_early_stopping_each_reduce_overfitting():
    """A 512-unit network on 150 noisy rows of 100 features memorizes them.

    The held-out score is the log-loss on 2000 unseen rows, what
    ``scoring='loss'`` monitors. (Accuracy is printed too: early stopping
    trains on 10% fewer rows and stops within a few dozen epochs, which can
    cost accuracy while it sharply improves the probabilities.)
    """
    results = []
    for seed in OVERFIT_SEEDS:
        X, y = make_classification(
            n_samples=2150,
            n_features=100,
            n_informative=5,
            n_redundant=0,
            flip_y=0.1,
            random_state=seed,
        )
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, train_size=150, stratify=y, random_state=seed
        )
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        base = MLPClassifier((512,), batch_size=32, max_iter=200, random_state=seed)
        models = {
            "neither": clone(base).set_params(n_iter_no_change=np.inf),
            "dropout": clone(base).set_params(n_iter_no_change=np.inf, dropout=0.5),
            "early_stopping": clone(base).set_params(early_stopping=True, scoring="loss"),
        }
        scores = {}
        for name, model in models.items():
            model.fit(X_train, y_train)
            scores[name] = (
                log_loss(y_test, model.predict_proba(X_test)),
                model.score(X_test, y_test),
                model.n_iter_,
            )
        for name, (loss, acc, n_iter) in scores.items():
            print(
                f"seed {seed} {name:15s} log-loss {loss:.4f}  accuracy {acc:.4f}  epochs {n_iter}"
            )
        assert scores["neither"][2] == 200
        assert scores["early_stopping"][2] < 200
        results.append({name: s[0] for name, s in scores.items()})
    neither = np.mean([r["neither"] for r in results])
    for name in ("dropout", "early_stopping"):
        mean = np.mean([r[name] for r in results])
        print(f"mean held-out log-loss: {name} {mean:.4f}, neither {neither:.4f}")
        # an improvement on every seed, not only on average
        assert all(r[name] < r["neither"] for r in results), name


# --- class weights --------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_balanced_class_weight_raises_minority_recall(seed):
    X, y = make_classification(
        n_samples=3000,
        n_features=10,
        n_informative=4,
        weights=[0.9, 0.1],
        flip_y=0.05,
        class_sep=0.8,
        random_state=seed,
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, train_size=500, stratify=y, random_state=seed
    )
    recall = {}
    for class_weight in (None, "balanced"):
        clf = MLPClassifier((16,), class_weight=class_weight, max_iter=200, random_state=seed)
        recall[class_weight] = recall_score(y_test, clf.fit(X_train, y_train).predict(X_test))
    print(f"seed {seed}: minority recall {recall}")
    assert recall["balanced"] > recall[None]


def test_dict_class_weight_equals_sample_weight_by_hand(digits):
    X, y = digits
    class_weight = {0: 3.0, 5: 0.5}  # the other classes weigh 1
    by_class = _small(MLPClassifier, class_weight=class_weight).fit(X, y)
    by_hand = _small(MLPClassifier).fit(X, y, sample_weight=[class_weight.get(c, 1.0) for c in y])
    assert _params_equal(by_class, by_hand)
    assert not _params_equal(by_class, _small(MLPClassifier).fit(X, y))


def test_class_weight_multiplies_sample_weight(digits):
    X, y = digits
    class_weight = {1: 2.5, 7: 0.25}
    sample_weight = np.random.RandomState(0).uniform(0.2, 3.0, len(y))
    both = _small(MLPClassifier, class_weight=class_weight).fit(X, y, sample_weight=sample_weight)
    product = sample_weight * np.array([class_weight.get(c, 1.0) for c in y])
    by_hand = _small(MLPClassifier).fit(X, y, sample_weight=product)
    assert _params_equal(both, by_hand)


def test_balanced_class_weight_is_scikit_learns(digits):
    X, y = digits
    X, y = X[y != 3][:-60], y[y != 3][:-60]  # drop a class and unbalance the rest
    per_class = compute_class_weight("balanced", classes=np.unique(y), y=y)
    index = np.searchsorted(np.unique(y), y)
    balanced = _small(MLPClassifier, class_weight="balanced").fit(X, y)
    by_hand = _small(MLPClassifier).fit(X, y, sample_weight=per_class[index])
    for a, b in zip(balanced.coefs_, by_hand.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_class_weight_with_binary_string_labels(digits):
    X, y = digits
    labels = np.where(y == 0, "zero", "other")
    weighted = _small(MLPClassifier, class_weight={"zero": 4.0}).fit(X, labels)
    by_hand = _small(MLPClassifier).fit(X, labels, sample_weight=np.where(y == 0, 4.0, 1.0))
    assert _params_equal(weighted, by_hand)


# --- history --------------------------------------------------------------------
def _history_fit(X, y, **kw):
    params = dict(dropout=0.2, early_stopping=True, max_iter=60, n_iter_no_change=5)
    params.update(kw)
    return _small(MLPClassifier, **params).fit(X, y)


def test_history_has_one_entry_per_epoch(digits):
    X, y = digits
    est = _history_fit(X, y)
    history = est.history_
    assert set(history) == set(HISTORY_KEYS)
    assert {len(v) for v in history.values()} == {est.n_iter_}
    assert history["epoch"] == list(range(1, est.n_iter_ + 1))
    assert history["train_loss"] == est.loss_curve_
    assert history["val_score"] == est.validation_scores_
    assert np.all(np.isfinite(history["val_loss"]))
    np.testing.assert_array_equal(history["learning_rate"], 0.001)  # the constant rate
    assert all(t > 0 for t in history["time"])


def test_history_without_early_stopping_has_nan_validation(digits):
    X, y = digits
    est = _small(MLPClassifier, max_iter=7, n_iter_no_change=np.inf).fit(X, y)
    assert {len(v) for v in est.history_.values()} == {7}
    assert np.all(np.isnan(est.history_["val_loss"]))
    assert np.all(np.isnan(est.history_["val_score"]))
    assert est.best_epoch_ is None


def test_history_is_reproducible_apart_from_time(digits):
    X, y = digits
    first, second = _history_fit(X, y), _history_fit(X, y)
    for key in HISTORY_KEYS:
        if key != "time":
            np.testing.assert_array_equal(first.history_[key], second.history_[key], err_msg=key)
    assert first.best_epoch_ == second.best_epoch_


def test_history_is_a_dataframe(digits):
    pd = pytest.importorskip("pandas")
    X, y = digits
    est = _history_fit(X, y, scoring="loss")
    frame = pd.DataFrame(est.history_)
    assert frame.shape == (est.n_iter_, len(HISTORY_KEYS))
    assert list(frame["epoch"]) == list(range(1, est.n_iter_ + 1))
    # with scoring='loss' the best epoch is the one of least validation loss
    assert frame["val_loss"].idxmin() + 1 == est.best_epoch_


def test_history_grows_across_warm_starts(digits):
    X, y = digits
    est = _small(MLPClassifier, warm_start=True, max_iter=4, n_iter_no_change=np.inf)
    est.fit(X, y).fit(X, y)
    assert est.history_["epoch"] == list(range(1, 9))
    assert est.history_["train_loss"] == est.loss_curve_


# --- scoring --------------------------------------------------------------------
def _neg_brier(estimator, X, y):
    proba = estimator.predict_proba(X)
    return -np.mean(np.sum((proba - (y[:, None] == estimator.classes_)) ** 2, axis=1))


def _loss_score(estimator, X, y):
    """Minus the mean log-loss, written out (the estimator's own loss)."""
    proba = estimator.predict_proba(X)
    index = np.searchsorted(estimator.classes_, y)
    return np.mean(np.log(proba[np.arange(len(y)), index]))


SCORINGS = {
    "None": (None, lambda est, X, y: est.score(X, y)),
    "loss": ("loss", _loss_score),
    "f1_macro": ("f1_macro", get_scorer("f1_macro")),
    "neg_log_loss": ("neg_log_loss", get_scorer("neg_log_loss")),
    "callable": (_neg_brier, _neg_brier),
}


@pytest.mark.parametrize("case", SCORINGS)
def test_scoring_restores_the_best_epoch(digits, case):
    X, y = digits
    scoring, oracle = SCORINGS[case]
    est = _small(MLPClassifier, early_stopping=True, scoring=scoring, max_iter=200)
    est.set_params(learning_rate_init=0.01, n_iter_no_change=5).fit(X, y)
    scores = est.validation_scores_
    assert len(scores) == est.n_iter_
    assert est.best_epoch_ == int(np.argmax(scores)) + 1
    assert est.best_validation_score_ == max(scores)
    assert est.best_epoch_ < est.n_iter_  # training went on past the best epoch
    # the restored weights score the best score on the held-out rows
    X_val, y_val = _replay_validation_split(X, y, (12,), "log_loss", seed=0)
    assert oracle(est, X_val, y_val) == pytest.approx(est.best_validation_score_, rel=1e-9)
    if scoring == "loss":
        np.testing.assert_array_equal(est.history_["val_loss"], -np.array(scores))
        val_loss = log_loss(y_val, est.predict_proba(X_val), labels=est.classes_)
        assert val_loss == pytest.approx(-est.best_validation_score_, rel=1e-9)


def test_scoring_callable_is_called_once_per_epoch_on_the_validation_rows(digits):
    X, y = digits
    calls = []

    def scorer(estimator, X_val, y_val):
        calls.append((X_val.shape, y_val.copy()))
        return _neg_brier(estimator, X_val, y_val)

    est = _small(MLPClassifier, early_stopping=True, scoring=scorer, max_iter=8)
    est.set_params(n_iter_no_change=np.inf).fit(X, y)
    assert len(calls) == est.n_iter_ == 8
    _, y_val = _replay_validation_split(X, y, (12,), "log_loss", seed=0)
    for shape, labels in calls:
        assert shape == (len(y_val), X.shape[1])
        np.testing.assert_array_equal(labels, y_val)


@pytest.mark.parametrize("scoring", [None, "loss", "neg_mean_absolute_error"])
def test_regressor_scoring_restores_the_best_epoch(scoring):
    X, y = make_regression(n_samples=300, n_features=8, noise=20.0, random_state=0)
    y = y / y.std()
    est = MLPRegressor(hidden_layer_sizes=(12,), early_stopping=True, scoring=scoring)
    est.set_params(max_iter=300, random_state=0)
    est.set_params(n_iter_no_change=5).fit(X, y)
    assert est.best_epoch_ == int(np.argmax(est.validation_scores_)) + 1
    X_val, y_val = _replay_validation_split(X, y, (12,), "squared_error", 0, stratify=False)
    residual = est.predict(X_val) - y_val
    expected = {
        None: 1 - np.sum(residual**2) / np.sum((y_val - y_val.mean()) ** 2),
        "loss": -0.5 * np.mean(residual**2),
        "neg_mean_absolute_error": -np.mean(np.abs(residual)),
    }[scoring]
    assert expected == pytest.approx(est.best_validation_score_, rel=1e-9)


# --- bad input ------------------------------------------------------------------
@pytest.mark.parametrize("est_cls", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize(
    "params, name",
    [
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
        ({"dropout": (0.2,), "hidden_layer_sizes": (6, 6)}, "dropout"),
        ({"dropout": (0.2, 0.2, 0.2), "hidden_layer_sizes": (6, 6)}, "dropout"),
        ({"dropout": (0.2, 1.0), "hidden_layer_sizes": (6, 6)}, "dropout"),
        ({"dropout": [0.2, -0.5], "hidden_layer_sizes": (6, 6)}, "dropout"),
        ({"l1_ratio": 1.5}, "l1_ratio"),
        ({"l1_ratio": -0.1}, "l1_ratio"),
        ({"scoring": "no_such_metric", "early_stopping": True}, "scoring"),
    ],
)
def test_invalid_regularization_parameters_raise(digits, est_cls, params, name):
    X, y = digits
    est = est_cls(max_iter=2, **params)
    with pytest.raises(InvalidParameterError, match=name):
        est.fit(X, y.astype(float) if est_cls is MLPRegressor else y)


def test_class_weight_key_that_is_not_a_class_raises(digits):
    X, y = digits
    with pytest.raises(ValueError, match=r"class_weight.*42"):
        MLPClassifier(class_weight={0: 2.0, 42: 3.0}, max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match=r"class_weight.*'cat'"):
        MLPClassifier(class_weight={"cat": 2.0}, max_iter=2).fit(X, np.where(y > 4, "a", "b"))


def test_class_weight_refuses_multilabel_targets(digits):
    X, y = digits
    Y = np.column_stack([y > 4, y % 2 == 0]).astype(int)
    with pytest.raises(ValueError, match="multilabel"):
        MLPClassifier(class_weight="balanced", max_iter=2).fit(X, Y)


# --- scikit-learn's estimator checks ----------------------------------------
def _expected_failures(estimator):
    if not estimator.dropout:
        return {}
    reason = (
        "dropout draws one mask per row, so a row of weight k gets one mask where k "
        "repeated rows get k independent ones: equal only in expectation"
    )
    return {
        "check_sample_weight_equivalence_on_dense_data": reason,
        "check_sample_weight_equivalence_on_sparse_data": reason,
    }


@pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)
@parametrize_with_checks(
    [
        MLPClassifier(dropout=0.2, l1_ratio=0.5, max_iter=100, random_state=0),
        MLPRegressor(dropout=0.2, l1_ratio=0.5, max_iter=100, random_state=0),
    ],
    expected_failed_checks=_expected_failures,
    xfail_strict=True,
)
def test_sklearn_compatible_with_dropout_and_elastic_net(estimator, check):
    check(estimator)


@pytest.mark.parametrize("est_cls", [MLPClassifier, MLPRegressor])
def test_elastic_net_keeps_sample_weight_equivalence(est_cls):
    # without dropout the one expected failure above must pass: the penalty is
    # divided by the weight sum, which equals the number of repeated rows
    est = est_cls(l1_ratio=0.5, alpha=0.1, max_iter=100, random_state=0)
    check_sample_weight_equivalence_on_dense_data(est_cls.__name__, est)


# --- Ctrl-C and progress reporting -------------------------------------------
class _InterruptAtThirdEpoch:
    """A validation scorer that prefers epoch 1, then raises KeyboardInterrupt."""

    def __init__(self):
        self.probas = []

    def __call__(self, estimator, X_val, y_val):
        if len(self.probas) == 2:
            raise KeyboardInterrupt
        self.probas.append(estimator.predict_proba(X_val).copy())
        self.X_val = X_val
        return [0.9, 0.5][len(self.probas) - 1]


def test_ctrl_c_stops_cleanly_and_restores_the_best_weights(digits):
    X, y = digits
    scorer = _InterruptAtThirdEpoch()
    est = _small(MLPClassifier, early_stopping=True, scoring=scorer, max_iter=50)
    with pytest.warns(UserWarning, match="interrupted"):
        est.fit(X, y)
    assert est.validation_scores_ == [0.9, 0.5]
    assert est.best_epoch_ == 1 and est.best_validation_score_ == 0.9
    proba = est.predict_proba(scorer.X_val)
    assert np.all(np.isfinite(proba))
    # the weights of epoch 1, not those of epoch 2 or of the interrupted epoch
    np.testing.assert_allclose(proba, scorer.probas[0], rtol=1e-12, atol=1e-15)
    assert not np.allclose(proba, scorer.probas[1], rtol=1e-6, atol=1e-9)
    assert np.all(np.isfinite(est.predict(X)))


def test_ctrl_c_leaves_history_and_loss_curve_consistent(digits):
    X, y = digits
    est = _small(MLPClassifier, early_stopping=True, scoring=_InterruptAtThirdEpoch())
    with pytest.warns(UserWarning, match="interrupted"):
        est.fit(X, y)
    assert len(est.history_["epoch"]) == est.n_iter_ == len(est.loss_curve_)
    assert est.history_["train_loss"] == est.loss_curve_


def test_verbose_two_draws_a_progress_bar_on_stderr(digits, capsys):
    X, y = digits
    est = _small(MLPClassifier, verbose=2, early_stopping=True, max_iter=6)
    est.set_params(n_iter_no_change=np.inf).fit(X, y)
    captured = capsys.readouterr()
    assert "6/6" in captured.err
    assert "val_loss" in captured.err
    assert captured.err.endswith("\n")
    assert "Iteration" not in captured.out  # the bar replaces the per-epoch lines


_LINE = re.compile(
    r"^Iteration (\d+), loss = ([\d.]+), val_loss = ([\d.]+), learning_rate = ([\d.e-]+)$"
)


def test_verbose_one_prints_every_epoch_with_its_validation_loss(digits, capsys):
    X, y = digits
    est = _small(MLPClassifier, verbose=1, early_stopping=True, max_iter=5)
    est.set_params(n_iter_no_change=np.inf).fit(X, y)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("Iteration")]
    assert len(lines) == est.n_iter_ == 5
    for i, line in enumerate(lines):
        match = _LINE.match(line)
        assert match, line
        epoch, loss, val_loss, rate = match.groups()
        assert int(epoch) == i + 1
        assert float(loss) == pytest.approx(est.history_["train_loss"][i], abs=1e-8)
        assert float(val_loss) == pytest.approx(est.history_["val_loss"][i], abs=1e-8)
        assert float(rate) == pytest.approx(0.001)


# --- reproducibility with dropout ----------------------------------------------
def test_dropout_fit_is_reproducible(digits):
    X, y = digits
    kw = dict(dropout=(0.3,), l1_ratio=0.5, alpha=0.01, max_iter=15)
    first = _small(MLPClassifier, **kw).fit(X, y)
    second = _small(MLPClassifier, **kw).fit(X, y)
    assert _params_equal(first, second)
    assert first.loss_curve_ == second.loss_curve_
    other_seed = _small(MLPClassifier, random_state=1, **kw).fit(X, y)
    assert not np.array_equal(first.coefs_[0], other_seed.coefs_[0])


def test_dropout_changes_the_fit_and_zero_dropout_changes_nothing(digits):
    X, y = digits
    plain = _small(MLPClassifier, max_iter=10).fit(X, y)
    assert _params_equal(plain, _small(MLPClassifier, max_iter=10, dropout=(0.0,)).fit(X, y))
    assert not _params_equal(plain, _small(MLPClassifier, max_iter=10, dropout=0.5).fit(X, y))
