"""Update rules against steps computed by hand, and one contract for every entry.

The hand computations are scalar Python written from the equations in the
optimizers' docstrings; they share no code with skmlp. Decoupled weight decay
(``weight_decay``, a link of the update chain of 'sgd' and 'adamw') is checked
against gradients from :meth:`skmlp.network.Network.loss_and_grad`. The
contract runs every registry entry, in each of its modes, through one helper:
in-place steps, state as plain data that round-trips, nothing kept on the
optimizer, and the compiled step equal to the numpy one.
"""

import inspect
import itertools
import math
import numbers
import pickle

import numpy as np
import pytest

import skmlp.compiled as compiled
from skmlp import MLPRegressor
from skmlp.layers import Dense, Scale
from skmlp.network import Network
from skmlp.optimizers import OPTIMIZERS, SGD, Adam, make_chain
from skmlp.state import StoppingState, TrainingState
from skmlp.stopping import TrainingLossRule
from skmlp.trainer import (
    Checkpoint,
    Step,
    TrainingConfig,
    TrainingData,
    param_groups,
    run_stochastic,
)

THETA0 = [1.0, -2.0, 0.5]
GRADS = [[0.5, -1.0, 0.0], [0.25, 3.0, -2.0]]
RATES = [0.1, 0.05]  # a different rate per step: the rate belongs to the step
# one-epoch fits end at max_iter by design
ignore_convergence = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# every registry entry with its defaults, and the modes of those that have some
CASES = {name: (name, {}) for name in OPTIMIZERS} | {
    "sgd_nesterov": ("sgd", {"momentum": 0.9, "nesterovs_momentum": True}),
    "sgd_classical": ("sgd", {"momentum": 0.9, "nesterovs_momentum": False}),
    "sgd_no_momentum": ("sgd", {"momentum": 0.0}),
}

# Adagrad's accumulated G shrinks its steps like 1 / sqrt(t), so at 0.05 it
# needs far more than the contract's 1000 steps; its usual rates are larger
CONTRACT_RATES = {"adagrad": 0.5}


def _make(case):
    name, kwargs = CASES[case]
    return OPTIMIZERS[name](**kwargs)


def _two_steps(optimizer):
    params = np.array(THETA0)
    state = optimizer.init(params)
    for grad, rate in zip(GRADS, RATES):
        optimizer.update(np.array(grad), state, params, rate)
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


@pytest.mark.parametrize("rho, epsilon", [(0.9, 1e-8), (0.5, 1e-1)])
def test_rmsprop_two_steps_by_hand(rho, epsilon):
    expected = []
    for j, theta in enumerate(THETA0):
        v = 0.0
        for grad, rate in zip(GRADS, RATES):
            g = grad[j]
            v = rho * v + (1 - rho) * g * g
            theta = theta - rate * g / (math.sqrt(v) + epsilon)
        expected.append(theta)
    optimizer = OPTIMIZERS["rmsprop"](rho=rho, epsilon=epsilon)
    np.testing.assert_allclose(_two_steps(optimizer), expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("epsilon", [1e-8, 1e-1])
def test_adagrad_two_steps_by_hand(epsilon):
    expected = []
    for j, theta in enumerate(THETA0):
        G = 0.0
        for grad, rate in zip(GRADS, RATES):
            g = grad[j]
            G = G + g * g
            theta = theta - rate * g / (math.sqrt(G) + epsilon)
        expected.append(theta)
    optimizer = OPTIMIZERS["adagrad"](epsilon=epsilon)
    np.testing.assert_allclose(_two_steps(optimizer), expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("beta_1, beta_2, epsilon", [(0.9, 0.999, 1e-8), (0.8, 0.95, 1e-2)])
def test_nadam_two_steps_by_hand(beta_1, beta_2, epsilon):
    expected = []
    for j, theta in enumerate(THETA0):
        m = v = 0.0
        for t, (grad, rate) in enumerate(zip(GRADS, RATES), start=1):
            g = grad[j]
            m = beta_1 * m + (1 - beta_1) * g
            v = beta_2 * v + (1 - beta_2) * g * g
            m_hat = beta_1 * m / (1 - beta_1 ** (t + 1)) + (1 - beta_1) * g / (1 - beta_1**t)
            theta = theta - rate * m_hat / (math.sqrt(v / (1 - beta_2**t)) + epsilon)
        expected.append(theta)
    optimizer = OPTIMIZERS["nadam"](beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
    np.testing.assert_allclose(_two_steps(optimizer), expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("beta_1, beta_2", [(0.9, 0.99), (0.5, 0.999)])
def test_lion_two_steps_by_hand(beta_1, beta_2):
    # Chen et al. 2023, Algorithm 2, in its own (beta m + (1 - beta) g) form
    expected = []
    for j, theta in enumerate(THETA0):
        m = 0.0
        for grad, rate in zip(GRADS, RATES):
            c = beta_1 * m + (1 - beta_1) * grad[j]
            theta = theta - rate * float(np.sign(c))
            m = beta_2 * m + (1 - beta_2) * grad[j]
        expected.append(theta)
    optimizer = OPTIMIZERS["lion"](beta_1=beta_1, beta_2=beta_2)
    np.testing.assert_allclose(_two_steps(optimizer), expected, rtol=1e-13, atol=1e-15)


def test_lion_moves_every_coordinate_by_the_rate():
    rng = np.random.RandomState(0)
    params = rng.normal(size=50)
    before = params.copy()
    optimizer = OPTIMIZERS["lion"]()
    optimizer.update(
        rng.normal(size=50) * 10.0 ** rng.uniform(-6, 6, 50), optimizer.init(params), params, 0.01
    )
    np.testing.assert_allclose(np.abs(params - before), 0.01, rtol=1e-12)


def test_nadam_is_not_adam():
    # the look-ahead term makes a difference from the second step on
    nadam = _two_steps(OPTIMIZERS["nadam"]())
    adam = _two_steps(OPTIMIZERS["adam"]())
    assert np.abs(nadam - adam).max() > 1e-3


# --- the contract every registry entry keeps -------------------------------------


def _check_optimizer_contract(make_optimizer, rate):
    rng = np.random.RandomState(0)

    # update moves the caller's array in place, through a view of a larger
    # vector (as the network's flat parameters), leaves grad alone, and
    # returns the state it advanced
    buffer = rng.normal(size=8)
    params = buffer[2:7]
    outside = np.concatenate([buffer[:2], buffer[7:]])
    grad = rng.normal(size=5)
    grad_before, params_before = grad.copy(), params.copy()
    optimizer = make_optimizer()
    state = optimizer.init(params)
    assert optimizer.update(grad, state, params, rate) is state
    assert np.shares_memory(params, buffer)
    assert not np.allclose(buffer[2:7], params_before)
    np.testing.assert_array_equal(np.concatenate([buffer[:2], buffer[7:]]), outside)
    np.testing.assert_array_equal(grad, grad_before)

    # every piece of state is in the state: update keeps nothing on the optimizer
    optimizer = make_optimizer()
    attributes = dict(vars(optimizer))
    state = optimizer.init(params)
    for _ in range(2):
        optimizer.update(rng.normal(size=5), state, params, rate)
    assert vars(optimizer) == attributes

    # the state's plain form is a dict of arrays shaped like params, and numbers
    for dtype in (np.float64, np.float32):
        params = np.ones(5, dtype=dtype)
        state = make_optimizer().init(params)
        arrays = [v for v in vars(state).values() if isinstance(v, np.ndarray)]
        assert all(not np.shares_memory(a, b) for a, b in itertools.combinations(arrays, 2))
        saved = state.to_dict()
        assert isinstance(saved, dict)
        for key, value in saved.items():
            assert isinstance(key, str)
            if isinstance(value, np.ndarray):
                assert value.shape == params.shape
                assert value.dtype == dtype
                assert not np.shares_memory(value, params)
            else:
                assert isinstance(value, numbers.Number), (key, type(value))

    # ... so a pickled plain state, loaded into a fresh one, continues exactly
    # as the original (the scratch it leaves out carries nothing)
    params = rng.normal(size=5)
    optimizer = make_optimizer()
    state = optimizer.init(params)
    optimizer.update(rng.normal(size=5), state, params, rate)
    restored_params = params.copy()
    restored_state = optimizer.init(restored_params)
    restored_state.load(pickle.loads(pickle.dumps(state.to_dict())))
    for _ in range(2):
        grad = rng.normal(size=5)
        optimizer.update(grad, state, params, rate)
        make_optimizer().update(grad, restored_state, restored_params, rate)
    np.testing.assert_array_equal(restored_params, params)

    # a zero gradient from a fresh state is no step at all
    params = rng.normal(size=5)
    before = params.copy()
    optimizer = make_optimizer()
    state = optimizer.init(params)
    for _ in range(3):
        optimizer.update(np.zeros(5), state, params, rate)
    np.testing.assert_array_equal(params, before)

    # minimizing 0.5 ||x - c||^2 (gradient x - c) approaches c
    target = np.array([1.0, -2.0, 3.0, 0.5, -1.0])
    x = np.zeros(5)
    optimizer = make_optimizer()
    state = optimizer.init(x)
    for _ in range(1000):
        optimizer.update(x - target, state, x, rate)
    assert np.linalg.norm(x - target) < 1e-3 * np.linalg.norm(target)

    if compiled._kernels is not None:
        _check_compiled_update(make_optimizer, rate)


def _check_compiled_update(make_optimizer, rate):
    """The compiled step is the numpy step (within the kernels' tolerance),
    on the same state type, and keeps nothing on the optimizer either."""
    for dtype, tolerance in ((np.float64, 1e-12), (np.float32, 1e-5)):
        rng = np.random.RandomState(1)
        optimizer = make_optimizer()
        attributes = dict(vars(optimizer))
        update = optimizer.compiled_update(compiled._kernels)
        start = rng.normal(size=50).astype(dtype)
        a, b = start.copy(), start.copy()
        state_a, state_b = optimizer.init(a), optimizer.init(b)
        for scale in (1.0, 0.3, 2.0):
            grad = rng.normal(size=50).astype(dtype)
            optimizer.update(grad, state_a, a, rate * scale)
            assert update(grad, state_b, b, rate * scale) is state_b
        np.testing.assert_allclose(b, a, rtol=tolerance, atol=tolerance)
        saved_a, saved_b = state_a.to_dict(), state_b.to_dict()
        assert saved_a.keys() == saved_b.keys()
        for key in saved_a:
            np.testing.assert_allclose(saved_b[key], saved_a[key], rtol=tolerance)
        assert vars(optimizer) == attributes


@pytest.mark.parametrize("case", CASES)
def test_optimizer_contract(case):
    _check_optimizer_contract(lambda: _make(case), rate=CONTRACT_RATES.get(case, 0.05))


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


# --- decoupled weight decay (the trainer's step) ---------------------------------

N_SAMPLES, HIDDEN, SEED = 40, 5, 3


def _regression_data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(N_SAMPLES, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=N_SAMPLES)
    return X, y


def _initial_params_and_gradient(X, y):
    """The estimator's initial parameters, and the full-batch gradient there.

    ``init_params`` with a fresh ``RandomState(random_state)`` draws what the
    estimator draws (no validation split, so nothing is drawn before).
    """
    net = Network([X.shape[1], HIDDEN, 1], "relu", "squared_error")
    params = net.init_params(np.random.RandomState(SEED), "sklearn", np.float64)
    ws = net.workspace(X.shape[0], params.copy())
    net.loss_and_grad(ws, X, y.reshape(-1, 1), None, 0.0)
    return net, params, ws.grad.copy()


def _one_full_batch_step(**params):
    X, y = _regression_data()
    settings = dict(
        hidden_layer_sizes=(HIDDEN,),
        batch_size=N_SAMPLES,
        max_iter=1,
        shuffle=False,
        alpha=0.0,
        random_state=SEED,
    )
    settings.update(params)
    est = MLPRegressor(**settings).fit(X, y)
    return est.coefs_, est.intercepts_


@ignore_convergence
@pytest.mark.parametrize("weight_decay", [0.0, 0.3])
def test_sgd_weight_decay_shrinks_weights_not_biases(weight_decay):
    lr = 0.1
    coefs, intercepts = _one_full_batch_step(
        solver="sgd", momentum=0.0, learning_rate_init=lr, weight_decay=weight_decay
    )
    net, params0, grad = _initial_params_and_gradient(*_regression_data())
    W0, b0 = net.views(params0)
    gW, gb = net.views(grad)
    for got, w, g in zip(coefs, W0, gW):
        np.testing.assert_allclose(got, (1 - lr * weight_decay) * w - lr * g, rtol=1e-12)
    for got, b, g in zip(intercepts, b0, gb):
        np.testing.assert_allclose(got, b - lr * g, rtol=1e-12)
    if weight_decay:
        # the decay is large enough to be seen at the tolerance above
        shrink = lr * weight_decay * np.abs(W0[0]).max()
        assert shrink > 1e-3 * np.abs(coefs[0]).max()


@ignore_convergence
def test_adamw_is_adam_plus_decoupled_decay_of_the_weights():
    lr, weight_decay = 0.01, 0.5
    common = dict(learning_rate_init=lr, weight_decay=weight_decay)
    w_coefs, w_intercepts = _one_full_batch_step(solver="adamw", **common)
    a_coefs, a_intercepts = _one_full_batch_step(solver="adam", **common)
    net, params0, _ = _initial_params_and_gradient(*_regression_data())
    W0, _ = net.views(params0)
    # Adam's first step depends on the gradient only, which both take at W0
    for w_coef, a_coef, w in zip(w_coefs, a_coefs, W0):
        np.testing.assert_allclose(w_coef - a_coef, -lr * weight_decay * w, rtol=1e-9, atol=1e-15)
    for w_b, a_b in zip(w_intercepts, a_intercepts):
        np.testing.assert_array_equal(w_b, a_b)


@ignore_convergence
def test_lion_decays_the_weights_decoupled_and_not_the_biases():
    lr, weight_decay = 0.01, 0.5
    d_coefs, d_intercepts = _one_full_batch_step(
        solver="lion", learning_rate_init=lr, weight_decay=weight_decay
    )
    p_coefs, p_intercepts = _one_full_batch_step(solver="lion", learning_rate_init=lr)
    net, params0, _ = _initial_params_and_gradient(*_regression_data())
    W0, _ = net.views(params0)
    for d_coef, p_coef, w in zip(d_coefs, p_coefs, W0):
        np.testing.assert_allclose(d_coef - p_coef, -lr * weight_decay * w, rtol=1e-9, atol=1e-15)
    for d_b, p_b in zip(d_intercepts, p_intercepts):
        np.testing.assert_array_equal(d_b, p_b)


@ignore_convergence
@pytest.mark.parametrize(
    "solver", ["lbfgs", *sorted(n for n, c in OPTIMIZERS.items() if not c.decoupled_decay)]
)
def test_weight_decay_is_ignored_by_coupled_solvers(solver):
    # honoured only by the optimizers that declare decoupled_decay (sgd, adamw, lion)
    plain_coefs, plain_intercepts = _one_full_batch_step(solver=solver, learning_rate_init=0.01)
    decayed_coefs, decayed_intercepts = _one_full_batch_step(
        solver=solver, learning_rate_init=0.01, weight_decay=0.5
    )
    for plain, decayed in zip(plain_coefs + plain_intercepts, decayed_coefs + decayed_intercepts):
        np.testing.assert_array_equal(plain, decayed)


@ignore_convergence
@pytest.mark.parametrize("solver", sorted(OPTIMIZERS))
def test_estimator_step_is_the_optimizer_step_with_its_hyperparameters(solver):
    # non-default values, so a hyperparameter the estimator fails to forward shows
    hyper = dict(
        momentum=0.5, nesterovs_momentum=False, beta_1=0.8, beta_2=0.95, epsilon=1e-3, rho=0.5
    )
    lr = 0.05
    coefs, intercepts = _one_full_batch_step(solver=solver, learning_rate_init=lr, **hyper)
    net, params, grad = _initial_params_and_gradient(*_regression_data())
    cls = OPTIMIZERS[solver]
    optimizer = cls(**{name: hyper[name] for name in cls.hyperparameters})
    optimizer.update(grad, optimizer.init(params), params, lr)
    np.testing.assert_allclose(net.pack(coefs, intercepts, np.float64), params, rtol=1e-12)


def test_trainer_decays_by_each_steps_own_rate():
    # two half-batches with different scheduled rates; the decay of step s is
    # rate_s * weight_decay of the weights, before that step's gradient move
    X, y = _regression_data()
    Y = y.reshape(-1, 1)
    rates, weight_decay, half = [0.1, 0.04], 0.7, N_SAMPLES // 2
    net, params0, _ = _initial_params_and_gradient(X, y)

    expected = params0.copy()
    for s, rate in enumerate(rates):
        ws = net.workspace(half, expected.copy())
        rows = slice(s * half, (s + 1) * half)
        net.loss_and_grad(ws, X[rows], Y[rows], None, 0.0)
        expected[: net.n_coef] *= 1 - rate * weight_decay
        expected -= rate * ws.grad

    params = params0.copy()
    chain = make_chain(SGD(momentum=0.0), param_groups(net), weight_decay=weight_decay)
    step = Step(net, net.workspace(half, params), chain)
    state = TrainingState(
        "sgd", params.size, False, rates[0], chain.init(params), StoppingState.new(False)
    )
    config = TrainingConfig(
        step=step,
        schedule=lambda step, t: rates[step],
        stopping=TrainingLossRule(tol=0.0, patience=np.inf),
        batch_size=half,
        max_iter=1,
        shuffle=False,
    )
    outcome = run_stochastic(config, state, params, TrainingData(X, Y), np.random.RandomState(0))
    assert outcome.n_iter == 1 and state.step == 2
    np.testing.assert_allclose(params, expected, rtol=1e-12)
    assert state.fitted_attributes()["history_"]["learning_rate"] == [pytest.approx(np.mean(rates))]


# --- the update chain ------------------------------------------------------------

# a dense network's layout: decayed weights first, then the biases
DENSE = [(slice(0, 6), True, 1.0), (slice(6, 8), False, 1.0)]


def _steps(chain, params, n=3, seed=0, rate=0.05):
    rng = np.random.RandomState(seed)
    state = chain.init(params)
    for i in range(n):
        chain.update(rng.normal(size=params.size), state, params, rate * (1 + i))
    return state


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_a_chain_without_transforms_is_the_optimizer_step(name):
    # weight_decay is not a link for optimizers that do not take it decoupled
    decay = 0.0 if OPTIMIZERS[name].decoupled_decay else 0.3
    chain = make_chain(OPTIMIZERS[name](), DENSE, weight_decay=decay)
    assert chain.before == chain.after == ()
    start = np.random.RandomState(1).normal(size=8)
    chained, bare = start.copy(), start.copy()
    _steps(chain, chained)
    optimizer, rng = OPTIMIZERS[name](), np.random.RandomState(0)
    state = optimizer.init(bare)
    for i in range(3):
        optimizer.update(rng.normal(size=8), state, bare, 0.05 * (1 + i))
    np.testing.assert_array_equal(chained, bare)


@pytest.mark.parametrize(
    "settings, groups, before, after",
    [
        ({"max_grad_norm": 1.0}, DENSE, ["gradient_clip"], []),
        ({"weight_decay": 0.1}, DENSE, ["weight_decay"], []),
        ({"l1": True}, DENSE, [], ["l1_zero_clip"]),
        ({}, [(slice(0, 6), True, 1.0), (slice(6, 8), False, 0.5)], [], ["group_rates"]),
        (
            {"max_grad_norm": 1.0, "weight_decay": 0.1, "l1": True},
            [(slice(0, 6), True, 2.0), (slice(6, 8), False, 1.0)],
            ["gradient_clip", "weight_decay"],
            ["group_rates", "l1_zero_clip"],
        ),
    ],
)
def test_make_chain_declares_the_links_and_their_order(settings, groups, before, after):
    chain = make_chain(SGD(), groups, **settings)
    assert [link.name for link in chain.before] == before
    assert [link.name for link in chain.after] == after


@pytest.mark.parametrize("case", CASES)
def test_a_groups_rate_factor_gives_the_step_at_the_scaled_rate(case):
    # every optimizer's step is proportional to its rate, so a group with
    # factor f moves as the same optimizer run at f * rate would move it
    name, kwargs = CASES[case]
    groups = [(slice(0, 3), True, 0.25), (slice(3, 6), True, 1.0), (slice(6, 8), False, 3.0)]
    weight_decay = 0.2 if OPTIMIZERS[name].decoupled_decay else 0.0
    start = np.random.RandomState(1).normal(size=8)
    params = start.copy()
    _steps(make_chain(OPTIMIZERS[name](**kwargs), groups, weight_decay=weight_decay), params)
    for where, decay, factor in groups:
        alone = start.copy()
        whole = [(slice(0, 8), decay, 1.0)]
        chain = make_chain(OPTIMIZERS[name](**kwargs), whole, weight_decay=weight_decay)
        _steps(chain, alone, rate=0.05 * factor)
        np.testing.assert_allclose(params[where], alone[where], rtol=1e-12, atol=1e-15)


def test_decay_and_zero_clipping_leave_groups_without_decay_alone():
    groups = [(slice(0, 3), True, 1.0), (slice(3, 5), False, 1.0), (slice(5, 8), True, 1.0)]
    decayed = np.r_[0:3, 5:8]
    rate, weight_decay = 0.1, 0.5
    chain = make_chain(SGD(momentum=0.0), groups, weight_decay=weight_decay, l1=True)
    start = np.array([1.0, -1.0, 0.5, 2.0, -2.0, 0.25, -0.5, 1.5])
    # a zero gradient: only the decay moves the parameters
    params = start.copy()
    chain.update(np.zeros(8), chain.init(params), params, rate)
    expected = start.copy()
    expected[decayed] *= 1 - rate * weight_decay
    np.testing.assert_array_equal(params, expected)
    # a step that carries every parameter across zero clips the decayed ones only
    params = start.copy()
    chain.update(start * 2 / rate, chain.init(params), params, rate)
    assert (params[decayed] == 0).all()
    assert (np.sign(params[3:5]) == -np.sign(start[3:5])).all()


def test_the_clipped_count_lives_in_the_state_and_is_checkpointed():
    params = np.ones(8)
    chain = make_chain(Adam(), DENSE, max_grad_norm=0.1)
    clip = chain.before[0]
    attributes = dict(vars(clip))
    state = chain.init(params)
    for _ in range(2):
        chain.update(np.full(8, 10.0), state, params, 0.01)
    assert vars(clip) == attributes
    assert state.to_dict()["gradient_clip"] == {"clipped": 2}
    training = TrainingState("adam", 8, False, 0.01, state, StoppingState.new(False))
    checkpoint = Checkpoint(params, training)
    chain.update(np.full(8, 10.0), state, params, 0.01)
    checkpoint.restore(params, training)
    assert chain.take_clipped(state) == 2 and chain.take_clipped(state) == 0


def test_a_chain_restores_an_optimizer_state_saved_before_the_chain():
    # skmlp saved the optimizer's own fields as the whole optimizer state
    params = np.random.RandomState(0).normal(size=8)
    old = Adam()
    saved = old.init(params)
    for _ in range(2):
        old.update(np.ones(8), saved, params.copy(), 0.1)
    chain = make_chain(Adam(), DENSE, max_grad_norm=1.0, l1=True)
    state = chain.restore(pickle.loads(pickle.dumps(saved.to_dict())), params)
    assert state.optimizer.t == 2
    np.testing.assert_array_equal(state.optimizer.m, saved.m)
    assert state.transforms["gradient_clip"].clipped == 0
    # what it saves: the optimizer's fields as before, a transform's under its
    # name, and no scratch (zero-clipping keeps none but scratch)
    assert set(state.to_dict()) == {"t", "m", "v", "gradient_clip"}
    # a transform the chain no longer has is dropped
    plain = make_chain(Adam(), DENSE).restore(state.to_dict(), params)
    assert plain.transforms == {} and plain.optimizer.t == 2


def test_a_layered_networks_groups_reach_the_chain():
    # a scaling layer trained at 6x the rate and not decayed, dense weights
    # decayed, biases neither: one plain SGD step through the trainer's Step
    net = Network.from_layers(
        [Scale(3, lr_factor=6.0), Dense(3, 4, "relu"), Dense(4, 1, None)], "squared_error"
    )
    X, y = _regression_data()
    rate, weight_decay = 0.05, 0.4
    params = net.init_params(np.random.RandomState(0), "sklearn", np.float64, X)
    params += 0.1 * np.random.RandomState(1).normal(size=params.size)
    start = params.copy()
    chain = make_chain(SGD(momentum=0.0), param_groups(net), weight_decay=weight_decay)
    assert [link.name for link in chain.after] == ["group_rates"]
    step = Step(net, net.workspace(N_SAMPLES, params), chain)
    step.loss_and_grad(X, y.reshape(-1, 1), None)
    grad = step.ws.grad.copy()
    step.update(chain.init(params), rate)
    for group in net.groups:
        factor = group.lr_factor
        shrink = 1 - rate * factor * weight_decay if group.decay else 1.0
        for where in group.slices:
            expected = start[where] * shrink - rate * factor * grad[where]
            np.testing.assert_allclose(params[where], expected, rtol=1e-12, atol=1e-15)
    assert {(g.decay, g.lr_factor) for g in net.groups} == {(True, 1.0), (False, 1.0), (False, 6.0)}
