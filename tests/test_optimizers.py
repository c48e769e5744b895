"""Update rules against steps computed by hand, and one contract for every entry.

The hand computations are scalar Python written from the equations in the
optimizers' docstrings; they share no code with skmlp.
"""

import inspect
import math
import numbers
import pickle

import numpy as np
import pytest

from skmlp.optimizers import OPTIMIZERS

THETA0 = [1.0, -2.0, 0.5]
GRADS = [[0.5, -1.0, 0.0], [0.25, 3.0, -2.0]]
RATES = [0.1, 0.05]  # a different rate per step: the rate belongs to the step

# every registry entry, in each of its modes
CASES = {
    "sgd_nesterov": ("sgd", {"momentum": 0.9, "nesterovs_momentum": True}),
    "sgd_classical": ("sgd", {"momentum": 0.9, "nesterovs_momentum": False}),
    "sgd_no_momentum": ("sgd", {"momentum": 0.0}),
    "adam": ("adam", {}),
}


def _make(case):
    name, kwargs = CASES[case]
    return OPTIMIZERS[name](**kwargs)


def _two_steps(optimizer):
    params = np.array(THETA0)
    state = optimizer.init(params)
    for grad, rate in zip(GRADS, RATES):
        optimizer.update(params, np.array(grad), state, rate)
    return params


# --- hand-computed steps -------------------------------------------------------


@pytest.mark.parametrize("nesterov", [False, True], ids=["classical", "nesterov"])
def test_sgd_momentum_two_steps_by_hand(nesterov):
    mu = 0.9
    expected = []
    for j, theta in enumerate(THETA0):
        v = 0.0
        for grad, rate in zip(GRADS, RATES):
            g = grad[j]
            v = mu * v - rate * g
            theta = theta + mu * v - rate * g if nesterov else theta + v
        expected.append(theta)
    optimizer = OPTIMIZERS["sgd"](momentum=mu, nesterovs_momentum=nesterov)
    np.testing.assert_allclose(_two_steps(optimizer), expected, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("nesterov", [False, True], ids=["classical", "nesterov"])
def test_sgd_without_momentum_is_plain_gradient_descent(nesterov):
    expected = []
    for j, theta in enumerate(THETA0):
        for grad, rate in zip(GRADS, RATES):
            theta = theta - rate * grad[j]
        expected.append(theta)
    optimizer = OPTIMIZERS["sgd"](momentum=0.0, nesterovs_momentum=nesterov)
    np.testing.assert_allclose(_two_steps(optimizer), expected, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize(
    "beta_1, beta_2, epsilon",
    [(0.9, 0.999, 1e-8), (0.8, 0.95, 1e-2)],  # defaults; then an epsilon that matters
)
def test_adam_two_steps_by_hand(beta_1, beta_2, epsilon):
    expected = []
    for j, theta in enumerate(THETA0):
        m = v = 0.0
        for t, (grad, rate) in enumerate(zip(GRADS, RATES), start=1):
            g = grad[j]
            m = beta_1 * m + (1 - beta_1) * g
            v = beta_2 * v + (1 - beta_2) * g * g
            corrected_rate = rate * math.sqrt(1 - beta_2**t) / (1 - beta_1**t)
            theta = theta - corrected_rate * m / (math.sqrt(v) + epsilon)
        expected.append(theta)
    optimizer = OPTIMIZERS["adam"](beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
    np.testing.assert_allclose(_two_steps(optimizer), expected, rtol=1e-13, atol=1e-15)


# --- the contract every registry entry keeps -------------------------------------


def _check_optimizer_contract(make_optimizer, rate):
    rng = np.random.RandomState(0)

    # update moves the caller's array in place, through a view of a larger
    # vector (as the network's flat parameters), and leaves grad alone
    buffer = rng.normal(size=8)
    params = buffer[2:7]
    outside = np.concatenate([buffer[:2], buffer[7:]])
    grad = rng.normal(size=5)
    grad_before, params_before = grad.copy(), params.copy()
    optimizer = make_optimizer()
    state = optimizer.init(params)
    assert optimizer.update(params, grad, state, rate) is None
    assert np.shares_memory(params, buffer)
    assert not np.allclose(buffer[2:7], params_before)
    np.testing.assert_array_equal(np.concatenate([buffer[:2], buffer[7:]]), outside)
    np.testing.assert_array_equal(grad, grad_before)

    # the state is plain data: a dict of arrays shaped like params, and numbers
    for dtype in (np.float64, np.float32):
        params = np.ones(5, dtype=dtype)
        state = make_optimizer().init(params)
        assert isinstance(state, dict)
        for key, value in state.items():
            assert isinstance(key, str)
            if isinstance(value, np.ndarray):
                assert value.shape == params.shape
                assert value.dtype == dtype
                assert not np.shares_memory(value, params)
            else:
                assert isinstance(value, numbers.Number), (key, type(value))

    # ... so a pickled state continues exactly as the original
    params = rng.normal(size=5)
    optimizer = make_optimizer()
    state = optimizer.init(params)
    optimizer.update(params, rng.normal(size=5), state, rate)
    restored_params, restored_state = params.copy(), pickle.loads(pickle.dumps(state))
    grad = rng.normal(size=5)
    optimizer.update(params, grad, state, rate)
    make_optimizer().update(restored_params, grad, restored_state, rate)
    np.testing.assert_array_equal(restored_params, params)

    # a zero gradient from a fresh state is no step at all
    params = rng.normal(size=5)
    before = params.copy()
    optimizer = make_optimizer()
    state = optimizer.init(params)
    for _ in range(3):
        optimizer.update(params, np.zeros(5), state, rate)
    np.testing.assert_array_equal(params, before)

    # minimizing 0.5 ||x - c||^2 (gradient x - c) approaches c
    target = np.array([1.0, -2.0, 3.0, 0.5, -1.0])
    x = np.zeros(5)
    optimizer = make_optimizer()
    state = optimizer.init(x)
    for _ in range(1000):
        optimizer.update(x, x - target, state, rate)
    assert np.linalg.norm(x - target) < 1e-3 * np.linalg.norm(target)


@pytest.mark.parametrize("case", CASES)
def test_optimizer_contract(case):
    _check_optimizer_contract(lambda: _make(case), rate=0.05)


def test_every_registry_entry_has_a_contract_case():
    assert {name for name, _ in CASES.values()} == set(OPTIMIZERS)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_hyperparameters_are_the_constructor_arguments(name):
    # the estimator forwards exactly these names to the class
    cls = OPTIMIZERS[name]
    arguments = list(inspect.signature(cls).parameters)
    assert arguments == list(cls.hyperparameters)
    optimizer = cls()
    assert all(hasattr(optimizer, argument) for argument in arguments)
