"""The compiled epoch (skmlp.compiled.CompiledEpoch) against the batch loop.

Where nothing of a batch needs Python, the epoch kernel runs a whole epoch
in one call; it must leave exactly what ``trainer._train_epoch``'s loop over
``Step`` leaves: the losses, the parameters, the optimizer's state, the
clocks and the clip count, bit for bit, for every optimizer of the registry
and every link of the chain the kernel covers (``_kernels.EPOCH_LINKS``).
Everywhere else the loop must run.
"""

import math
import signal
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import skmlp.compiled as compiled
from skmlp import MLPClassifier, MLPRegressor
from skmlp.network import Network
from skmlp.optimizers import OPTIMIZERS, make_chain
from skmlp.state import TrainingState
from skmlp.stopping import LossMemory
from skmlp.trainer import Batches, Step, TrainingConfig, _train_epoch, param_groups

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.skipif(compiled._kernels is None, reason="compiled kernels not built"),
]

# make_chain's settings that put each transform the kernel covers into the
# chain (group_rates: the biases at half the rate); the test below asserts
# that these cover EPOCH_LINKS, so a link added to the kernel needs a case
LINK_SETTINGS = {
    "gradient_clip": {"max_grad_norm": 0.05},
    "weight_decay": {"weight_decay": 0.1},
    "group_rates": {"bias_factor": 0.5},
    "l1_zero_clip": {"l1": True},
}
OPTIMIZER_SETTINGS = {"sgd": {"momentum": 0.9}}  # else each class's defaults
LINK_CASES = [(), *[(name,) for name in LINK_SETTINGS], tuple(LINK_SETTINGS)]


def _chain(solver, links, net, kernels):
    settings = {}
    for name in links:
        settings.update(LINK_SETTINGS[name])
    factor = settings.pop("bias_factor", 1.0)
    groups = [(where, decay, 1.0 if decay else factor) for where, decay, _ in param_groups(net)]
    optimizer = OPTIMIZERS[solver](**OPTIMIZER_SETTINGS.get(solver, {}))
    return make_chain(optimizer, groups, kernels=kernels, **settings)


def _setup(solver, links, dtype, *, shuffle=True, sample_weight=True, n=203, batch_size=20):
    """A step, its training state and batches of a small regression network
    (n rows: the last batch is short), on the compiled kernels."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, 6)).astype(dtype)
    Y = rng.normal(size=(n, 2)).astype(dtype)
    sw = rng.uniform(0.2, 2.0, n).astype(dtype) if sample_weight else None
    net = Network([6, 9, 7, 2], "tanh", "squared_error")
    params = net.init_params(rng, "glorot_uniform", dtype)
    chain = _chain(solver, links, net, compiled._kernels)
    alpha, l1_ratio = (1e-3, 0.5) if "l1_zero_clip" in links else (1e-4, 0.0)
    step = Step(net, net.workspace(batch_size, params), chain, alpha, l1_ratio)
    step.compiled = compiled.CompiledStep(net, step.ws, batch_size)  # wherever it pays off
    state = TrainingState(solver, params.size, False, 0.01, chain.init(params), LossMemory())
    config = TrainingConfig(step, _rates, None, batch_size, max_iter=3, shuffle=shuffle)
    return config, state, Batches(X, Y, sw, batch_size, shuffle)


def _rates(step, t):
    """A schedule that moves every step (cyclic-like) and with t."""
    return 0.01 * (1.0 + 0.5 * math.sin(step / 3.0)) / (1.0 + t / 1000.0)


def _epochs(config, state, batches, fast, n_epochs=3, seed=0):
    rng = np.random.RandomState(seed)
    results = []
    for _ in range(n_epochs):
        loss, mean_rate, rate = _train_epoch(config, state, batches, rng, fast)
        results.append((loss, mean_rate, rate, state.step, state.t))
        results[-1] += (config.step.take_clipped(state.optimizer),)
    return results


def _assert_same_state(a, b):
    (config_a, state_a), (config_b, state_b) = a, b
    np.testing.assert_array_equal(config_a.step.ws.params, config_b.step.ws.params)
    saved_a, saved_b = state_a.optimizer.to_dict(), state_b.optimizer.to_dict()
    assert saved_a.keys() == saved_b.keys()
    for key, value in saved_a.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, saved_b[key])
        else:
            assert value == saved_b[key], key
    assert (state_a.step, state_a.t) == (state_b.step, state_b.t)


def test_the_cases_cover_every_link_the_kernel_runs():
    assert {*LINK_SETTINGS, "optimizer"} == set(compiled._kernels.EPOCH_LINKS)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("links", LINK_CASES, ids=lambda c: "+".join(c) or "plain")
@pytest.mark.parametrize("solver", OPTIMIZERS)
def test_the_compiled_epoch_trains_exactly_as_the_batch_loop(solver, links, dtype):
    config, state, batches = _setup(solver, links, dtype)
    chain = config.step.chain
    names = [link.name for link in (*chain.before, *chain.after)]
    expected = [n for n in links if n != "weight_decay" or OPTIMIZERS[solver].decoupled_decay]
    assert sorted(names) == sorted(expected)  # the settings make exactly these links
    twin = _setup(solver, links, dtype)
    fast = config.step.compiled_epoch(batches)
    assert fast is not None
    compiled_run = _epochs(config, state, batches, fast)
    loop_run = _epochs(*twin, fast=None)
    assert compiled_run == loop_run
    if "gradient_clip" in links:
        assert sum(r[-1] for r in compiled_run) > 0  # the clip did act
    _assert_same_state((config, state), twin[:2])


@pytest.mark.parametrize("shuffle, sample_weight", [(False, True), (True, False), (False, False)])
def test_unshuffled_and_unweighted_epochs_are_the_loops_too(shuffle, sample_weight):
    settings = dict(shuffle=shuffle, sample_weight=sample_weight)
    config, state, batches = _setup("adam", (), np.float64, **settings)
    twin = _setup("adam", (), np.float64, **settings)
    fast = config.step.compiled_epoch(batches)
    assert fast is not None
    assert _epochs(config, state, batches, fast) == _epochs(*twin, fast=None)
    _assert_same_state((config, state), twin[:2])


@pytest.mark.parametrize("solver", OPTIMIZERS)
def test_a_non_finite_loss_stops_the_compiled_epoch_as_it_stops_the_loop(solver):
    config, state, batches = _setup(solver, tuple(LINK_SETTINGS), np.float64)
    twin = _setup(solver, tuple(LINK_SETTINGS), np.float64)
    for rows in (batches, twin[2]):
        rows.X[117, 3] = np.nan  # one row's batch has a NaN loss, mid-epoch
    start = config.step.ws.params.copy()
    fast = config.step.compiled_epoch(batches)
    compiled_run = _epochs(config, state, batches, fast, n_epochs=1)
    loop_run = _epochs(*twin, fast=None, n_epochs=1)
    loss, mean_rate, rate, step, t, _ = compiled_run[0]
    assert math.isnan(loss) and math.isnan(mean_rate) and math.isfinite(rate)
    assert 0 < step < batches.n_batches and t == 0  # stopped mid-epoch, clock unmoved
    assert not np.array_equal(config.step.ws.params, start)  # the batches before it stepped
    assert np.isfinite(config.step.ws.params).all()  # its own step was not taken
    assert repr(compiled_run) == repr(loop_run)  # NaN == NaN as text
    _assert_same_state((config, state), twin[:2])


def test_rates_of_another_type_than_float_fall_back_to_the_loop():
    config, state, batches = _setup("adam", ("weight_decay",), np.float32)
    twin = _setup("adam", ("weight_decay",), np.float32)
    for c in (config, twin[0]):
        c.schedule = lambda step, t: np.float64(_rates(step, t))  # would round otherwise
    fast = config.step.compiled_epoch(batches)
    assert fast is not None

    def refuse(*args):
        raise AssertionError("the compiled epoch ran")

    assert _epochs(config, state, batches, refuse) == _epochs(*twin, fast=None)


def _fit_uses_compiled_epoch(est, X, y) -> bool:
    used = []
    build = compiled.CompiledEpoch.build

    def spy(fast, step, batches):
        epoch = build(fast, step, batches)
        used.append(epoch is not None)
        return epoch

    compiled.CompiledEpoch.build = spy
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)
    finally:
        compiled.CompiledEpoch.build = build
    return any(used)


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 5))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


@pytest.mark.parametrize(
    "params, used",
    [
        ({}, True),
        ({"solver": "sgd", "max_grad_norm": 1.0, "weight_decay": 0.1}, True),
        ({"alpha": 0.01, "l1_ratio": 0.5, "early_stopping": True}, True),
        ({"dropout": 0.2}, False),  # masks are numpy draws per batch
        ({"solver": "lbfgs"}, False),
    ],
)
def test_fits_use_the_compiled_epoch_only_where_no_batch_needs_python(data, params, used):
    X, y = data
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, batch_size=32, random_state=0)
    assert _fit_uses_compiled_epoch(est.set_params(**params), X, y) == used


def test_sparse_input_the_numpy_engine_and_the_switch_keep_the_loop(data):
    X, y = data
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, batch_size=32, random_state=0)
    assert not _fit_uses_compiled_epoch(est, sp.csr_matrix(X), y)
    with compiled.engine("numpy"):
        assert not _fit_uses_compiled_epoch(est, X, y)
    with compiled.compiled_epochs(False):
        assert not _fit_uses_compiled_epoch(est, X, y)
    assert _fit_uses_compiled_epoch(est, X, y)


def test_an_epoch_of_fewer_batches_than_pay_off_keeps_the_loop():
    config, _, batches = _setup("adam", (), np.float64, n=20 * compiled.MIN_EPOCH_BATCHES)
    assert config.step.compiled_epoch(batches) is not None
    config, _, batches = _setup("adam", (), np.float64, n=20 * compiled.MIN_EPOCH_BATCHES - 20)
    assert config.step.compiled_epoch(batches) is None


def test_kernels_built_without_the_epoch_kernel_keep_the_loop(monkeypatch):
    config, _, batches = _setup("adam", (), np.float64)

    class Older:  # an in-place build from before the epoch kernel
        def __getattr__(self, name):
            if name in ("Epoch", "EPOCH_LINKS", "OPTIMIZER_KERNELS"):
                raise AttributeError(name)
            return getattr(compiled._kernels, name)

    monkeypatch.setattr(compiled, "_kernels", Older())
    assert config.step.compiled_epoch(batches) is None


@pytest.mark.parametrize("method", ["__call__", "loss_and_grad", "update"])
def test_a_step_whose_batch_methods_are_wrapped_keeps_the_loop(monkeypatch, method):
    """Instrumentation (or a subclass) on a step's per-batch methods must see
    every batch, as the interrupt injection of test_reliability does."""
    config, _, batches = _setup("adam", (), np.float64)
    assert config.step.compiled_epoch(batches) is not None
    own = getattr(Step, method)
    monkeypatch.setattr(Step, method, lambda self, *args: own(self, *args))
    assert config.step.compiled_epoch(batches) is None


def test_a_chain_link_the_kernel_lacks_keeps_the_loop():
    config, _, batches = _setup("adam", (), np.float64)

    class Nudge:  # a transform the epoch kernel does not know
        name = "nudge"

    config.step.chain.after = (Nudge(),)
    assert config.step.compiled_epoch(batches) is None


@pytest.mark.parametrize("estimator", [MLPClassifier, MLPRegressor])
def test_fits_are_the_loops_fits(data, estimator):
    X, y = data
    params = dict(hidden_layer_sizes=(8, 4), max_iter=4, batch_size=25, random_state=0)
    params.update(alpha=0.01, l1_ratio=0.3, max_grad_norm=0.5, dtype="float32")
    fits = []
    for enabled in (True, False):
        with compiled.compiled_epochs(enabled), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits.append(estimator(**params).fit(X, y))
    a, b = fits
    assert a.loss_curve_ == b.loss_curve_ and a.t_ == b.t_
    for key in ("learning_rate", "clipped"):
        assert a.history_[key] == b.history_[key]
    for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(u, v)


class _InterruptInKernel:
    """Stands in for a fit's epoch kernel: in its ``at``-th call the kernel
    itself raises SIGINT in this thread after batch ``batch`` (its
    ``signal_after``, tests' fault injection), where it takes the GIL
    between batches to check for signals: a real signal through Python's
    handler, at a chosen batch rather than a time."""

    def __init__(self, kernel, at, batch):
        self.kernel, self.at, self.batch, self.calls = kernel, at, batch, 0
        self.losses = None

    def __getattr__(self, name):  # set_links, bind
        return getattr(self.kernel, name)

    def run(self, *args):
        self.calls += 1
        if self.calls < self.at:
            return self.kernel.run(*args)
        self.losses = args[3]
        self.losses[:] = np.nan
        return self.kernel.run(*args, signal_after=self.batch)


def _fit_interrupted_in_epoch_2(X, y, params, batch, context=""):
    """A fit whose second epoch's kernel call is interrupted after ``batch``;
    the estimator and that call's stand-in."""
    build = compiled.CompiledEpoch.build
    kernels = []

    def interrupted(fast, step, batches):
        epoch = build(fast, step, batches)
        epoch.kernel = _InterruptInKernel(epoch.kernel, at=2, batch=batch)
        kernels.append(epoch.kernel)
        return epoch

    compiled.CompiledEpoch.build = interrupted
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = MLPClassifier(max_iter=3, **params).fit(X, y)
    finally:
        compiled.CompiledEpoch.build = build
    assert kernels[0].calls == 2, context  # the interrupt ended the second epoch
    return est, kernels[0]


@pytest.fixture
def python_sigint():
    """SIGINT as a fresh interpreter has it: delivered (not blocked in this
    thread) to Python's handler, which raises KeyboardInterrupt. Once in a
    full suite run (not reproduced alone) an earlier test had left it
    otherwise and the injected interrupt had no effect."""
    unblocked = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        # what it found, for a failure's message
        yield f"SIGINT before: handler {handler!r}, blocked {signal.SIGINT in unblocked}"
    finally:
        signal.signal(signal.SIGINT, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, unblocked)


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="needs pthread_sigmask")
@pytest.mark.parametrize("batch", [0, 7])
def test_an_interrupt_during_the_epoch_kernel_keeps_the_whole_epochs_before(
    data, batch, python_sigint
):
    X, y = data
    params = dict(hidden_layer_sizes=(8,), batch_size=2, random_state=0, shuffle=False)
    est, kernel = _fit_interrupted_in_epoch_2(X, y, params, batch, python_sigint)
    # the kernel stopped right after the chosen batch: the later ones never ran
    assert np.isfinite(kernel.losses[: batch + 1]).all()
    assert np.isnan(kernel.losses[batch + 1 :]).all()
    assert est.n_iter_ == 1  # the first epoch, whole; the second's batches discarded
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = MLPClassifier(max_iter=1, **params).fit(X, y)
    assert est.loss_curve_ == reference.loss_curve_ and est.t_ == reference.t_
    for u, v in zip(est.coefs_ + est.intercepts_, reference.coefs_ + reference.intercepts_):
        np.testing.assert_array_equal(u, v)


def test_a_decay_rescaled_between_epochs_is_the_loops_too():
    """An epoch hook may rescale the decoupled decay (the tabular
    estimators anneal it): each compiled epoch takes the links as they
    stand."""
    runs = []
    for fast in (True, False):
        config, state, batches = _setup("lion", ("weight_decay",), np.float32)
        (decay,) = config.step.chain.before
        epoch = config.step.compiled_epoch(batches) if fast else None
        rng = np.random.RandomState(0)
        for scale in (1.0, 0.37, 0.0):
            decay.scale = scale
            _train_epoch(config, state, batches, rng, epoch)
        runs.append(config.step.ws.params.copy())
    np.testing.assert_array_equal(*runs)
