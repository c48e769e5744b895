"""The compiled kernels of :class:`skmlp.layers.ParametricActivation` against
its numpy lines, their reference.

For every activation of the registry, float32 and float64, with and without
a dropout mask: the layer's output, ``alpha``'s gradient and the gradient
with respect to its input must agree between the engines within the
dtype's rounding; the network's gradient through the kernels must match
central differences; and a tabular fit must trace the numpy engine's.
"""

import types

import numpy as np
import pytest
from _helpers import gradient_and_central_difference

import skmlp.compiled as compiled
from skmlp import TabularMLPRegressor
from skmlp.activations import ACTIVATIONS
from skmlp.layers import DenseNTP, ParametricActivation, Shared
from skmlp.network import Network

pytestmark = pytest.mark.skipif(compiled._kernels is None, reason="compiled kernels not built")

DTYPES = [np.float32, np.float64]
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}
M, N = 11, 6


@pytest.fixture
def kernel_calls(monkeypatch):
    """How often each parametric kernel ran (counted around the real ones)."""
    calls = {"parametric_forward": 0, "parametric_backward": 0}
    for name in calls:
        kernel = getattr(compiled._kernels, name)

        def counted(*args, _kernel=kernel, _name=name):
            calls[_name] += 1
            return _kernel(*args)

        monkeypatch.setattr(compiled._kernels, name, counted)
    return calls


def _layer_pass(activation, dtype, dropout, with_d_in, engine, scale=3.0, special=False):
    """The layer's output, alpha's gradient and d_in (None where not asked
    for) for one batch, on ``engine``."""
    rng = np.random.default_rng(0)
    layer = ParametricActivation(N, activation, dropout=dropout)
    buffers = layer.buffers(M, dtype, training=True)
    buffers["out"] = np.empty((M, N), dtype)
    buffers["delta"] = np.empty((M, N), dtype)
    plan = layer.plan(buffers, M, np.empty(M * N, dtype))
    if "kept" in buffers:  # what a stale read would find
        buffers["kept"][...] = 7.0
    if dropout:
        buffers["mask"][...] = (rng.random((M, N)) >= dropout) / (1.0 - dropout)
    alpha = rng.uniform(-0.5, 1.5, N).astype(dtype)
    x = (scale * rng.normal(size=(M, N))).astype(dtype)
    if special:  # the edges: signed zeros, the clip, far tails, infinities
        x.flat[:8] = [0.0, -0.0, 20.0, np.nextafter(20.0, 21.0), -90.0, 90.0, np.inf, -np.inf]
    alpha_grad = np.empty(N, dtype)
    d_in = np.empty((M, N), dtype) if with_d_in else None
    forward_engine, backward_engine = engine if isinstance(engine, tuple) else (engine, engine)
    with compiled.engine(forward_engine):
        out = layer.forward((alpha,), plan, x, True).copy()
    f = buffers["f"].copy()
    buffers["delta"][...] = rng.normal(size=(M, N))
    with compiled.engine(backward_engine):
        layer.backward((alpha,), (alpha_grad,), plan, x, d_in)
    return out, alpha_grad, d_in, f


@pytest.mark.parametrize("with_d_in", [True, False], ids=["d_in", "first_layer"])
@pytest.mark.parametrize("dropout", [0.0, 0.3], ids=["no_mask", "mask"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_kernel_matches_the_numpy_lines(activation, dtype, dropout, with_d_in, kernel_calls):
    reference = _layer_pass(activation, dtype, dropout, with_d_in, "numpy")
    assert kernel_calls == {"parametric_forward": 0, "parametric_backward": 0}
    fast = _layer_pass(activation, dtype, dropout, with_d_in, "compiled")
    assert kernel_calls == {"parametric_forward": 1, "parametric_backward": 1}
    rtol = TOLERANCE[dtype]
    out, alpha_grad, d_in, _ = reference
    np.testing.assert_allclose(fast[0], out, rtol=rtol, atol=rtol * np.abs(out).max())
    # alpha's gradient is a sum over the rows, with cancellation: its scale is
    # the sum of the terms' magnitudes
    scale = np.abs(alpha_grad).max() + M * np.abs(out).max()
    np.testing.assert_allclose(fast[1], alpha_grad, rtol=rtol, atol=rtol * scale)
    if with_d_in:
        np.testing.assert_allclose(fast[2], d_in, rtol=rtol, atol=rtol * np.abs(d_in).max())
    if dropout:
        assert np.any(out == 0) and np.all((fast[0] == 0) == (out == 0))  # the same units dropped


@pytest.mark.parametrize("dropout", [0.0, 0.3], ids=["no_mask", "mask"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("activation", [a for a in ACTIVATIONS if ACTIVATIONS[a].keep])
def test_kept_activations_give_the_numpy_numbers_exactly(activation, dtype, dropout):
    # f (and mish's f') from numpy's transcendental pass and the kept forms:
    # the same operations in the same order as the numpy functions, so the
    # same bits, far tails and the clip included. (selu's f' is its inline
    # form, one product where numpy takes two: within rounding, above.)
    assert activation in compiled._kernels.PARAMETRIC_KEPT
    for special in (False, True):
        with np.errstate(invalid="ignore"):  # inf - inf: NaN, in either engine
            reference = _layer_pass(activation, dtype, dropout, True, "numpy", 12.0, special)
            fast = _layer_pass(activation, dtype, dropout, True, "compiled", 12.0, special)
        out, alpha_grad, d_in, f = zip(fast, reference)
        exact = [out, f] if special else [out, alpha_grad, f]  # inf - inf in alpha's gradient
        if ACTIVATIONS[activation].c_kept_derivative is not None and not special:
            exact.append(d_in)
        for got, expected in exact:
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("activation", [a for a in ACTIVATIONS if ACTIVATIONS[a].keep])
def test_the_backward_kernel_reads_kept_values_only_after_the_kernel_filled_them(activation):
    # forward on numpy, backward compiled (the engine switched between them):
    # the kept buffer holds nothing of this batch, and must not be read
    reference = _layer_pass(activation, np.float64, 0.3, True, "numpy")
    mixed = _layer_pass(activation, np.float64, 0.3, True, ("numpy", "compiled"))
    for got, expected in zip(mixed, reference):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_a_kept_form_must_be_plain_arithmetic(tmp_path):
    from dataclasses import replace

    from skmlp._codegen import cython, namespace

    mish = ACTIVATIONS["mish"]
    calling = replace(mish, c_kept_forward=cython("out = z * _tanh(s)"))
    with pytest.raises(ValueError, match="plain arithmetic"):
        namespace({"mish": calling}, {})
    with pytest.raises(ValueError, match="go together"):
        namespace({"mish": replace(mish, keep=None)}, {})
    with pytest.raises(ValueError, match="needs a c_kept_derivative"):
        namespace({"mish": replace(mish, c_kept_derivative=None)}, {})
    literal = replace(mish, c_kept_forward=cython("nn = s * (s + 2.0)", "out = z * nn"))
    with pytest.raises(ValueError, match="names its constants"):
        namespace({"mish": literal}, {})
    # a parenthesis after a keyword is no call
    grouped = cython("out = (zero if z < zero else (z * s))", zero=0.0)
    assert not grouped.calls() and not grouped.literals()
    namespace({"mish": replace(mish, c_kept_forward=grouped)}, {})


def _ensemble_network(activation, dropout):
    """DenseNTP then a parametric activation, both shared by 2 members, then
    a linear layer: the tabular estimators' hidden block."""
    k, width = 2, 3
    layers = [
        Shared(DenseNTP(4, width), k),
        Shared(ParametricActivation(width, activation, dropout=dropout), k),
        DenseNTP(k * width, 2),
    ]
    return Network.from_layers(layers, "squared_error")


@pytest.mark.parametrize("dropout", [0.0, 0.4], ids=["no_mask", "mask"])
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_gradient_through_the_kernels_matches_central_difference(activation, dropout, kernel_calls):
    rng = np.random.RandomState(0)
    net = _ensemble_network(activation, dropout)
    X = rng.normal(size=(7, 8))  # 4 columns per member
    Y = rng.normal(size=(7, 2))
    params = net.init_params(np.random.RandomState(1), "glorot_normal", np.float64, X)
    params += 0.2 * rng.normal(size=params.size)  # alpha away from its initial 1
    ws = net.workspace(9, params)
    net.draw_dropout_masks(ws, 7, np.random.default_rng(0))
    with compiled.engine("compiled"):
        analytic, numeric = gradient_and_central_difference(net, ws, X, Y, None, 0.0)
    assert kernel_calls["parametric_backward"] > 0
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("activation", ["mish", "selu"])
def test_a_tabular_fit_traces_the_numpy_engine(activation, kernel_calls):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 5))
    y = X @ rng.normal(size=5) + 0.1 * rng.normal(size=120)
    fits = []
    for engine in ("numpy", "compiled"):
        est = TabularMLPRegressor(
            hidden_layer_sizes=(16, 16),
            activation=activation,
            max_iter=3,
            n_ensemble=2,
            dtype="float64",
            random_state=0,
        )
        with compiled.engine(engine):
            fits.append(est.fit(X, y))
    assert kernel_calls["parametric_forward"] > 0
    numpy_fit, compiled_fit = fits
    np.testing.assert_allclose(compiled_fit.loss_curve_, numpy_fit.loss_curve_, rtol=1e-9)
    np.testing.assert_allclose(compiled_fit.predict(X), numpy_fit.predict(X), rtol=1e-9, atol=1e-9)


def test_the_kernels_run_only_on_arrays_they_take():
    x = np.zeros((3, 4), np.float32)
    with compiled.engine("compiled"):
        assert compiled.elementwise_kernels(x, x[0], None) is compiled._kernels
        assert compiled.elementwise_kernels(x, x.astype(np.float64)) is None  # two dtypes
        assert compiled.elementwise_kernels(x.astype(np.float16)) is None
        assert compiled.elementwise_kernels(x, x[:, :2]) is None  # not contiguous
        assert compiled.elementwise_kernels(x, np.asfortranarray(x[:, :2])) is None
        frozen = x.copy()
        frozen.flags.writeable = False
        assert compiled.elementwise_kernels(x, frozen) is None
        with compiled.compiled_elementwise(False):  # the benchmark's switch
            assert compiled.elementwise_kernels(x) is None
        assert compiled.elementwise_kernels(x) is compiled._kernels
    with compiled.engine("numpy"):
        assert compiled.elementwise_kernels(x) is None


def test_a_strided_input_takes_the_numpy_lines(kernel_calls):
    # a layer handed a view the kernel cannot take computes what numpy does
    layer = ParametricActivation(N, "selu")
    x = np.random.default_rng(0).normal(size=(M, 2 * N))[:, ::2]
    outputs = []
    for engine in ("numpy", "compiled"):
        buffers = {"out": np.empty((M, N)), **layer.buffers(M, np.float64, False)}
        plan = layer.plan({**buffers, "delta": None}, M, np.empty(M * N))
        with compiled.engine(engine):
            outputs.append(layer.forward((np.full(N, 0.5),), plan, x, False).copy())
    assert kernel_calls["parametric_forward"] == 0
    np.testing.assert_array_equal(outputs[1], outputs[0])


def test_kernels_built_without_the_parametric_kernels_are_stale():
    kernels = compiled._kernels
    names = {"ACTIVATIONS": kernels.ACTIVATIONS, "LOSSES": kernels.LOSSES}
    every = {name: getattr(kernels, name) for name in compiled.KERNEL_FUNCTIONS}
    assert compiled._built_from_these_registries(types.SimpleNamespace(**names, **every))
    for missing in compiled.KERNEL_FUNCTIONS:
        some = {name: f for name, f in every.items() if name != missing}
        assert not compiled._built_from_these_registries(types.SimpleNamespace(**names, **some))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_the_kernels_check_their_arrays(dtype):
    x = np.zeros((3, 4), dtype)
    alpha, grad = np.ones(4, dtype), np.empty(4, dtype)
    kernels = compiled._kernels
    relu = compiled.ACTIVATION_CODES["relu"]
    with pytest.raises(ValueError, match="alpha"):
        kernels.parametric_forward(x, x.copy(), np.ones(3, dtype), x.copy())
    with pytest.raises(ValueError, match="out has shape"):
        kernels.parametric_forward(x, x.copy(), alpha, np.zeros((2, 4), dtype))
    with pytest.raises(ValueError, match="go together"):
        kernels.parametric_forward(x, x.copy(), alpha, x.copy(), x.copy())
    with pytest.raises(ValueError, match="d_in has shape"):
        kernels.parametric_backward(relu, x, x, x.copy(), alpha, grad, None, x[:, :3].copy())
    other = x.astype(np.float64 if dtype == np.float32 else np.float32)
    with pytest.raises(ValueError, match="dtype"):  # one dtype for every array
        kernels.parametric_forward(x, other, alpha, x.copy())


def test_an_activation_whose_derivative_stays_numpy_needs_the_scratch():
    inline = set(compiled._kernels.PARAMETRIC_DERIVATIVES)
    assert "selu" in inline and "mish" not in inline  # mish's f' calls exp
    x, alpha, grad = np.zeros((3, 4)), np.ones(4), np.empty(4)
    for name, code in compiled.ACTIVATION_CODES.items():
        args = (code, x, x, x.copy(), alpha, grad, None, x.copy())
        if name in inline:
            assert compiled._kernels.parametric_backward(*args) is True  # d_in complete
        else:
            with pytest.raises(ValueError, match="scratch"):
                compiled._kernels.parametric_backward(*args)
            assert compiled._kernels.parametric_backward(*args, x.copy()) is False
