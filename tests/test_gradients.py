"""Derivatives of the engine against finite differences and plain-numpy oracles.

Only public objects are used (``ACTIVATIONS``, ``LOSSES``, ``Network``).
Analytic gradients are compared with central differences of the values the
same objects return, so a value and its gradient must describe one function;
the values themselves are compared with textbook formulas written here,
independently of skmlp.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _helpers import STEP, gradient_and_central_difference
from scipy.special import expit, softmax, xlogy

from skmlp.activations import ACTIVATIONS
from skmlp.losses import LOSSES, make_loss
from skmlp.network import Network

HIDDEN_UNITS = (4, 5, 3)  # input width, then two hidden layers
N_SAMPLES = 7

# f(z) from the definitions, sharing no code with skmlp.  Valid for |z| <= 700,
# beyond which exp(z) overflows.
FORWARD_ORACLES = {
    "identity": lambda z: z,
    "logistic": expit,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))),
    "gelu": lambda z: 0.5 * z * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (z + 0.044715 * z**3))),
    "softplus": lambda z: np.log1p(np.exp(z)),
    # Klambauer et al. 2017, eq. 14's constants; Misra 2019
    "selu": lambda z: (
        1.0507009873554805 * np.where(z > 0, z, 1.6732632423543772 * np.expm1(np.minimum(z, 0.0)))
    ),
    "mish": lambda z: z * np.tanh(np.logaddexp(0.0, z)),
}

# Far in the tails every activation is exactly one of its asymptotes:
# (f(z) for z -> -inf, f'(-inf), f(z) for z -> +inf, f'(+inf)).
TAILS = {
    "identity": (lambda z: z, 1.0, lambda z: z, 1.0),
    "logistic": (np.zeros_like, 0.0, np.ones_like, 0.0),
    "tanh": (lambda z: -np.ones_like(z), 0.0, np.ones_like, 0.0),
    "relu": (np.zeros_like, 0.0, lambda z: z, 1.0),
    "leaky_relu": (lambda z: 0.01 * z, 0.01, lambda z: z, 1.0),
    "elu": (lambda z: -np.ones_like(z), 0.0, lambda z: z, 1.0),
    "gelu": (np.zeros_like, 0.0, lambda z: z, 1.0),
    "softplus": (np.zeros_like, 0.0, lambda z: z, 1.0),
    "selu": (
        lambda z: np.full_like(z, -1.0507009873554805 * 1.6732632423543772),
        0.0,
        lambda z: 1.0507009873554805 * z,
        1.0507009873554805,
    ),
    "mish": (np.zeros_like, 0.0, lambda z: z, 1.0),
}

TAIL_MAGNITUDES = {
    np.float64: [1e3, 1e10, 1e100, 1e200, 1e300, np.finfo(np.float64).max],
    np.float32: [1e3, 1e10, 1e20, 1e30, np.finfo(np.float32).max],
}


def _target_squared_error(rng, n):
    return rng.normal(size=(n, 2))  # several outputs on purpose


def _target_poisson(rng, n):
    Y = rng.poisson(1.5, size=(n, 2)).astype(np.float64)
    Y[0] = 0.0  # the y == 0 branch, where y log y is taken as 0
    return Y


def _target_one_hot(rng, n):
    return np.eye(3, dtype=bool)[rng.randint(3, size=n)]


def _target_class_probabilities(rng, n):
    return rng.dirichlet(np.ones(3), size=n)


def _target_binary(rng, n):
    Y = rng.rand(n, 1) < 0.5
    Y[:2, 0] = [True, False]  # both classes present
    return Y


def _target_multilabel(rng, n):
    return rng.rand(n, 3) < 0.5


def _target_soft_labels(rng, n):
    return rng.uniform(size=(n, 3))


def _target_positive(rng, n):
    return rng.gamma(2.0, size=(n, 2)) + 0.1


# case -> (loss, target maker); the output width is the targets' width. The
# non-smooth losses are checked away from their kinks: with continuous targets
# no residual comes within the central difference's step of 0.
TARGETS = {
    "absolute_error": ("absolute_error", _target_squared_error),
    "huber": ("huber", _target_squared_error),
    "huber_narrow": (make_loss("huber", huber_delta=0.3), _target_squared_error),
    "quantile": ("quantile", _target_squared_error),
    "quantile_low": (make_loss("quantile", quantile=0.1), _target_squared_error),
    "gamma": ("gamma", _target_positive),
    "squared_error": ("squared_error", _target_squared_error),
    "poisson": ("poisson", _target_poisson),
    "log_loss_one_hot": ("log_loss", _target_one_hot),
    "log_loss_probabilities": ("log_loss", _target_class_probabilities),
    "binary_log_loss": ("binary_log_loss", _target_binary),
    "binary_log_loss_multilabel": ("binary_log_loss", _target_multilabel),
    "binary_log_loss_soft": ("binary_log_loss", _target_soft_labels),
}


def _problem(activation, case, dtype=np.float64, seed=0):
    """A small network with its parameters, inputs and targets for ``case``."""
    rng = np.random.RandomState(seed)
    loss, make_targets = TARGETS[case]
    Y = make_targets(rng, N_SAMPLES)
    X = rng.normal(size=(N_SAMPLES, HIDDEN_UNITS[0]))
    net = Network((*HIDDEN_UNITS, Y.shape[1]), activation, loss)
    params = net.init_params(np.random.RandomState(seed), "sklearn", dtype)
    return net, params, X.astype(dtype), Y


def _sample_weight(weighted):
    if not weighted:
        return None
    sample_weight = np.random.RandomState(1).uniform(0.5, 2.0, N_SAMPLES)
    sample_weight[1] = 0.0  # a sample that must not count
    return sample_weight


def _analytic_and_numeric(net, params, X, Y, sample_weight, alpha, batch_size=None):
    """The gradient in ``ws.grad`` and a central difference of the returned loss."""
    ws = net.workspace(batch_size or X.shape[0], params)
    return gradient_and_central_difference(net, ws, X, Y, sample_weight, alpha)


def _reference_loss(net, params, X, Y, sample_weight, alpha):
    """The documented loss, forward pass included, in plain numpy."""
    hidden = FORWARD_ORACLES[net.activation.name]
    coefs, intercepts = net.views(params)
    a = X
    for W, b in zip(coefs[:-1], intercepts[:-1]):
        a = hidden(a @ W + b)
    z = a @ coefs[-1] + intercepts[-1]
    Y = Y.astype(np.float64)
    if net.loss.name == "squared_error":
        per_sample = 0.5 * np.sum((z - Y) ** 2, axis=1)
    elif net.loss.name == "poisson":
        pred = np.exp(z)
        per_sample = np.sum(xlogy(Y, Y) - xlogy(Y, pred) - Y + pred, axis=1)
    elif net.loss.name == "log_loss":
        per_sample = -np.sum(xlogy(Y, softmax(z, axis=1)), axis=1)
    elif net.loss.name == "absolute_error":
        per_sample = np.sum(np.abs(z - Y), axis=1)
    elif net.loss.name == "huber":
        r, delta = np.abs(z - Y), net.loss.setting
        per_sample = np.sum(np.where(r <= delta, r**2 / 2, delta * r - delta**2 / 2), axis=1)
    elif net.loss.name == "quantile":
        u, q = Y - z, net.loss.setting  # the pinball loss of the residual y - pred
        per_sample = np.sum(np.where(u >= 0, q * u, (q - 1) * u), axis=1)
    elif net.loss.name == "gamma":
        pred = np.exp(z)
        per_sample = np.sum(np.log(pred / Y) + Y / pred - 1, axis=1)
    else:
        pred = expit(z)
        per_sample = -np.sum(xlogy(Y, pred) + xlogy(1.0 - Y, 1.0 - pred), axis=1)
    weights = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    penalty = 0.5 * alpha * sum(np.sum(W**2) for W in coefs) / np.sum(weights)
    return np.average(per_sample, weights=weights) + penalty


# --- activations -----------------------------------------------------------


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_gradient_matches_central_difference(name):
    act = ACTIVATIONS[name]
    z = np.random.RandomState(0).uniform(-6.0, 6.0, 400)
    z = z[np.abs(z) > 1e-3]  # away from the kinks of relu and leaky_relu at 0
    up, down = z + STEP, z - STEP
    numeric = (act(up) - act(down)) / (up - down)
    np.testing.assert_allclose(act.gradient(z), numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_matches_textbook_formula(name):
    rng = np.random.RandomState(0)
    z = np.concatenate([rng.uniform(-30.0, 30.0, 200), [-700.0, -100.0, 0.0, 100.0, 700.0]])
    np.testing.assert_allclose(ACTIVATIONS[name](z), FORWARD_ORACLES[name](z), rtol=1e-12)


def test_leaky_relu_slope_is_one_hundredth():
    act = ACTIVATIONS["leaky_relu"]
    z = np.array([-3.0, -1e-3, 2.0])
    np.testing.assert_allclose(act(z), [-0.03, -1e-5, 2.0], rtol=1e-15)
    np.testing.assert_allclose(act.gradient(z), [0.01, 0.01, 1.0], rtol=1e-15)


def test_every_activation_has_oracles():
    assert set(FORWARD_ORACLES) == set(ACTIVATIONS) == set(TAILS)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_far_tails_are_exact_without_warnings(name, dtype):
    act = ACTIVATIONS[name]
    f_neg, df_neg, f_pos, df_pos = TAILS[name]
    magnitudes = np.array(TAIL_MAGNITUDES[dtype], dtype=dtype)
    # an activation steeper than the identity (selu) cannot be finite at the
    # dtype's largest values: its tails are exact up to where it overflows
    magnitudes = magnitudes[magnitudes <= np.finfo(dtype).max / act.bound_slope]
    z = np.concatenate([-magnitudes, magnitudes])
    negative = z < 0
    expected = np.where(negative, f_neg(z), f_pos(z))
    expected_gradient = np.where(negative, df_neg, df_pos)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # overflow or invalid value in the numerics
        value, gradient = act(z), act.gradient(z)
    assert value.dtype == gradient.dtype == dtype
    rtol = 4 * np.finfo(dtype).eps
    np.testing.assert_allclose(value, expected, rtol=rtol, atol=0)
    np.testing.assert_allclose(gradient, expected_gradient, rtol=rtol, atol=0)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_in_place_contract(name):
    # The network relies on it: forward may write into z itself unless the
    # activation needs its input, and derivative must leave the output alone.
    act = ACTIVATIONS[name]
    z = np.random.RandomState(0).uniform(-4.0, 4.0, (6, 5))
    expected_value, expected_gradient = act(z), act.gradient(z)
    a = np.empty_like(z)
    act.forward(z.copy(), a, np.empty_like(z))
    np.testing.assert_array_equal(a, expected_value)
    if not act.needs_input:
        in_place = z.copy()
        act.forward(in_place, in_place, np.empty_like(z))
        np.testing.assert_array_equal(in_place, expected_value)
    delta = np.full_like(z, 3.0)
    act.derivative(z.copy(), a, delta, np.empty_like(z))
    np.testing.assert_array_equal(a, expected_value)
    np.testing.assert_allclose(delta, 3.0 * expected_gradient, rtol=1e-15)


# --- network loss and gradient ------------------------------------------------


def test_every_loss_has_gradient_cases():
    assert {getattr(loss, "name", loss) for loss, _ in TARGETS.values()} == set(LOSSES)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("case", TARGETS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_loss_gradient_matches_central_difference(activation, case, alpha, weighted):
    net, params, X, Y = _problem(activation, case)
    analytic, numeric = _analytic_and_numeric(net, params, X, Y, _sample_weight(weighted), alpha)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("case", TARGETS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_loss_value_matches_plain_numpy(activation, case, alpha, weighted):
    net, params, X, Y = _problem(activation, case)
    sample_weight = _sample_weight(weighted)
    ws = net.workspace(N_SAMPLES, params)
    loss = net.loss_and_grad(ws, X, Y, sample_weight, alpha)
    expected = _reference_loss(net, params, X, Y, sample_weight, alpha)
    np.testing.assert_allclose(loss, expected, rtol=1e-10)


def test_multi_output_squared_error_value_and_gradient_agree():
    # scikit-learn averages the squared error over outputs but differentiates
    # the sum, so its gradient is n_outputs times the slope of its loss.  Here
    # the returned value and ws.grad must describe the same function.
    rng = np.random.RandomState(0)
    X, Y = rng.normal(size=(N_SAMPLES, 4)), rng.normal(size=(N_SAMPLES, 3))
    net = Network((*HIDDEN_UNITS, 3), "tanh", "squared_error")
    params = net.init_params(np.random.RandomState(0), "sklearn", np.float64)
    analytic, numeric = _analytic_and_numeric(net, params, X, Y, None, 0.0)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)
    # and the value is the sum over outputs, averaged over samples
    ws = net.workspace(N_SAMPLES, params)
    pred = net.predict(params, X)
    expected = 0.5 * np.sum((pred - Y) ** 2) / N_SAMPLES
    np.testing.assert_allclose(net.loss_and_grad(ws, X, Y), expected, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_poisson_zero_counts_at_underflowed_prediction(dtype):
    # exp(z) underflows to 0 for z below about -745 (float64) or -104
    # (float32); with y == 0 the loss there is exactly 0, not a warning
    net = Network((2, 3, 1), "relu", "poisson")
    params = net.init_params(np.random.RandomState(0), "sklearn", dtype)
    params[-1] = -800.0  # the output bias
    ws = net.workspace(2, params)
    X, Y = np.ones((2, 2), dtype=dtype), np.zeros((2, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = net.loss_and_grad(ws, X, Y)
    assert loss == 0.0
    np.testing.assert_array_equal(ws.grad, 0.0)


@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_gradient_with_sparse_input(activation):
    net, params, X, Y = _problem(activation, "log_loss_one_hot")
    X[np.random.RandomState(2).rand(*X.shape) < 0.5] = 0.0
    X_sparse = sp.csr_matrix(X)
    sample_weight = _sample_weight(True)
    analytic, numeric = _analytic_and_numeric(net, params, X_sparse, Y, sample_weight, 0.3)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)
    dense, _ = _analytic_and_numeric(net, params, X, Y, sample_weight, 0.3)
    np.testing.assert_allclose(analytic, dense, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("activation", ["tanh", "gelu"])
def test_gradient_with_workspace_larger_than_batch(activation):
    # workspaces are sized for the largest batch and sliced for the last one
    net, params, X, Y = _problem(activation, "squared_error")
    analytic, numeric = _analytic_and_numeric(net, params, X, Y, None, 0.3, batch_size=20)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("case", TARGETS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_float32_gradient_close_to_float64(activation, case):
    sample_weight = _sample_weight(True)
    grads, losses = {}, {}
    for dtype in (np.float64, np.float32):
        net, params, X, Y = _problem(activation, case, dtype)
        ws = net.workspace(N_SAMPLES, params)
        losses[dtype] = net.loss_and_grad(ws, X, Y, sample_weight, 0.3)
        assert ws.grad.dtype == dtype
        grads[dtype] = ws.grad.copy()
    scale = np.max(np.abs(grads[np.float64]))
    np.testing.assert_allclose(grads[np.float32], grads[np.float64], rtol=1e-3, atol=1e-4 * scale)
    np.testing.assert_allclose(losses[np.float32], losses[np.float64], rtol=1e-4)


# --- prediction ----------------------------------------------------------


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("chunk_rows", [1, 3, 9])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_predict_in_chunks_equals_one_forward_pass(activation, loss, chunk_rows, sparse):
    n = 10  # not a multiple of 3 or 9: the last chunk is short
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, HIDDEN_UNITS[0]))
    if sparse:
        X[rng.rand(*X.shape) < 0.5] = 0.0
        X = sp.csr_matrix(X)
    net = Network((*HIDDEN_UNITS, 3), activation, loss)
    params = net.init_params(np.random.RandomState(0), "sklearn", np.float64)
    saved = params.copy()
    whole = net.forward(net.workspace(n, params.copy()), X).copy()
    chunked = net.predict(params, X, chunk_rows=chunk_rows)
    assert chunked.shape == (n, 3)
    np.testing.assert_allclose(chunked, whole, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(params, saved)  # prediction never writes to params


# --- the non-smooth losses at their kinks ---------------------------------------------
@pytest.mark.parametrize(
    "loss, expected",
    [
        (make_loss("absolute_error"), 0.0),  # sign(0)
        (make_loss("quantile", quantile=0.3), -0.3),  # -q, HistGradientBoosting's choice
        (make_loss("huber", huber_delta=0.5), 0.0),  # smooth there
    ],
    ids=["absolute_error", "quantile", "huber"],
)
def test_the_subgradient_at_the_kink_is_the_documented_one(loss, expected):
    delta = np.zeros((4, 2))  # pred == y
    loss.gradient(delta, np.ones((4, 2)))
    np.testing.assert_array_equal(delta, expected)


@pytest.mark.parametrize("q", [0.1, 0.5, 0.9])
def test_the_quantile_gradient_on_each_side_of_the_kink(q):
    delta = np.array([[-2.0], [-1e-12], [1e-12], [3.0]])  # pred - y
    make_loss("quantile", quantile=q).gradient(delta, np.ones_like(delta))
    np.testing.assert_allclose(delta.ravel(), [-q, -q, 1 - q, 1 - q])
