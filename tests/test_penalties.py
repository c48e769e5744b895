"""The elastic-net penalty: gradients, the documented objective, exact zeros from L1.

The network-level tests compare ``Network.loss_and_grad`` with central
differences of its own values and with the documented objective written here
in plain numpy, with and without dropout masks. The estimator-level tests check
behaviour that must hold whatever the exact numbers: ``l1_ratio=0`` is
scikit-learn's L2 fit, L1 gives exact zeros and never clips the biases, and
L-BFGS minimizes the penalized objective.
"""

import numpy as np
import pytest
from _helpers import gradient_and_central_difference, small
from scipy.special import expit, softmax, xlogy
from sklearn.datasets import make_classification
from sklearn.metrics import log_loss
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skmlp import MLPClassifier, MLPRegressor
from skmlp.network import Network

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# --- network: elastic-net and dropout gradients ---------------------------------
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
        # (the rate applied is the given one to 1/65536)
        for mask, rate in zip(masks, dropout):
            assert 0 < np.count_nonzero(mask == 0.0) < mask.size
            np.testing.assert_allclose(mask[mask != 0.0], 1.0 / (1.0 - rate), rtol=1e-4)
    analytic, numeric = gradient_and_central_difference(
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
    ours = small(MLPClassifier, solver=solver, alpha=0.5, l1_ratio=0.0, max_iter=10).fit(X, y)
    theirs = SkMLP((12,), solver=solver, alpha=0.5, max_iter=10, random_state=0).fit(X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)


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
