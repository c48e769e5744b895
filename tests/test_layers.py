"""Layers: every kind in the registry against central differences, in every
position of a network, and the flat-vector layout the optimizers rely on.

``CASES`` holds each registered layer kind's configurations (a function of
the input width); adding a layer kind means adding its cases here, which
``test_every_layer_kind_has_cases`` enforces.
"""

from itertools import pairwise

import numpy as np
import pytest
import scipy.sparse as sp
from _helpers import gradient_and_central_difference

from skmlp.initializers import INITIALIZERS
from skmlp.layers import (
    LAYERS,
    CategoricalEmbedding,
    Columns,
    Dense,
    DenseNTP,
    EnsembleHead,
    EnsembleInput,
    ParametricActivation,
    PBLDEmbedding,
    PeriodicEmbedding,
    PiecewiseLinearEmbedding,
    Scale,
    Shared,
)
from skmlp.network import Network
from skmlp.optimizers import AdamW, make_chain
from skmlp.trainer import Step, param_groups

N_ROWS, N_IN, N_OUT = 9, 4, 5  # dense cases give N_OUT values


def _k(n):
    """A number of ensemble members that divides the width ``n``."""
    return next(k for k in range(2, n + 1) if n % k == 0)


def _levels(n):
    """Levels for ``n`` categorical columns: 2 or 3 codes each (all at most
    2, inside the boxes the bound tests draw from)."""
    return tuple(2 + j % 2 for j in range(n))


def _tabular_input(n):
    """A tabular network's input layer on ``n >= 4`` columns: numeric
    columns embedded, one passed through, two categorical codes."""
    return Columns(
        [
            (n - 3, PBLDEmbedding(n - 3, n_frequencies=3, width=2, sigma=1.0)),
            (1, None),
            (2, CategoricalEmbedding((3, 2), width=3)),
        ]
    )


CASES = {
    "dense": {
        "tanh": lambda n: Dense(n, N_OUT, "tanh"),
        "gelu": lambda n: Dense(n, N_OUT, "gelu"),  # keeps its pre-activation
        "linear": lambda n: Dense(n, N_OUT, None),
        "tanh_dropout": lambda n: Dense(n, N_OUT, "tanh", dropout=0.3),
        "gelu_dropout": lambda n: Dense(n, N_OUT, "gelu", dropout=0.5),
    },
    "scale": {
        "lr_factor": lambda n: Scale(n, lr_factor=6.0),
        "data_init": lambda n: Scale(n, data_init=True),
    },
    "dense_ntp": {
        "linear": lambda n: DenseNTP(n, N_OUT),
        "tanh_dropout": lambda n: DenseNTP(n, N_OUT, "tanh", dropout=0.3),
        "gelu": lambda n: DenseNTP(n, N_OUT, "gelu", bias_lr_factor=1.0),
    },
    "parametric_activation": {
        "selu": lambda n: ParametricActivation(n, "selu"),
        "mish": lambda n: ParametricActivation(n, "mish"),  # f' needs its input
        "tanh_dropout": lambda n: ParametricActivation(n, "tanh", dropout=0.3),
        "mish_dropout": lambda n: ParametricActivation(n, "mish", dropout=0.5),
    },
    "pbld_embedding": {
        "default": PBLDEmbedding,
        "small": lambda n: PBLDEmbedding(n, n_frequencies=3, width=2, sigma=1.0),
    },
    "periodic_embedding": {
        "default": PeriodicEmbedding,
        "wide": lambda n: PeriodicEmbedding(n, n_frequencies=2, sigma=1.0),
    },
    "piecewise_linear_embedding": {
        "quantiles": lambda n: PiecewiseLinearEmbedding(n, n_bins=4),
        "many_bins": lambda n: PiecewiseLinearEmbedding(n, n_bins=12),
    },
    "categorical_embedding": {
        "default": lambda n: CategoricalEmbedding(_levels(n)),
        "narrow_undecayed": lambda n: CategoricalEmbedding(
            _levels(n), width=2, lr_factor=0.5, decay=False
        ),
    },
    "columns": {
        "tabular_input": _tabular_input,
        "data_init": lambda n: Columns(
            [(2, Scale(2, data_init=True)), (n - 2, DenseNTP(n - 2, 3, "tanh"))]
        ),
        "passthrough": lambda n: Columns([(n, None)]),
    },
    "ensemble_input": {
        "random_signs": lambda n: EnsembleInput(n, 3),
        "normal": lambda n: EnsembleInput(n, 2, init="normal"),
    },
    "shared": {
        "dense": lambda n: Shared(Dense(n // _k(n), 3, "tanh"), _k(n)),
        "dense_ntp_dropout": lambda n: Shared(DenseNTP(n // _k(n), 3, "gelu", dropout=0.3), _k(n)),
        "parametric_mish_dropout": lambda n: Shared(
            ParametricActivation(n // _k(n), "mish", dropout=0.5), _k(n)
        ),
    },
    "ensemble_head": {
        "linear": lambda n: EnsembleHead(n // _k(n), 2, _k(n)),
    },
}
CASE_IDS = [(kind, name) for kind, cases in CASES.items() for name in cases]
# every case first, between two layers, and last (but an output layer drops nothing)
PLACED = [
    (kind, name, position)
    for kind, name in CASE_IDS
    for position in ("first", "middle", "last")
    if position != "last" or not CASES[kind][name](N_OUT).dropout
]


def test_every_layer_kind_has_cases():
    assert set(CASES) == set(LAYERS)
    for kind, cls in LAYERS.items():
        assert cls.kind == kind
        assert all(type(make(N_IN)) is cls for make in CASES[kind].values())


def _code_columns(layer):
    """``(column, levels)`` of each input column of ``layer`` that holds
    categorical codes."""
    if isinstance(layer, CategoricalEmbedding):
        return list(enumerate(layer.levels))
    if isinstance(layer, Columns):
        return [
            (columns.start + j, levels)
            for (_, part), (columns, _, _) in zip(layer.parts, layer._routes)
            for j, levels in _code_columns(part)
        ]
    return []


def _input_codes(net):
    """The code columns of ``net``'s input: those of its first layer that
    takes codes (the layers before it pass codes through in place)."""
    return next((codes for layer in net.layers if (codes := _code_columns(layer))), [])


def _with_codes(X, codes, rng):
    """``X`` with valid random codes in the code columns."""
    for column, levels in codes:
        X[:, column] = rng.randint(0, levels, X.shape[0])
    return X


def _before(layer):
    """The layer before ``layer`` in the middle and last positions: a tanh
    layer, which for a layer taking codes maps the other columns only (a
    ``Columns`` passing the codes through in place)."""
    codes = dict(_code_columns(layer))
    if not codes:
        return Dense(N_IN, layer.n_in, "tanh")
    runs = []  # runs of code and of other columns
    for column in range(layer.n_in):
        if runs and (column in codes) == runs[-1][0]:
            runs[-1][1] += 1
        else:
            runs.append([column in codes, 1])
    return Columns([(n, None if is_code else Dense(n, n, "tanh")) for is_code, n in runs])


def _stack(layer, position):
    """A network holding ``layer`` first, between two layers, or last."""
    if position == "first":
        return [layer, Dense(layer.n_out, N_OUT, None)]
    if position == "middle":
        return [_before(layer), layer, Dense(layer.n_out, N_OUT, None)]
    return [_before(layer), layer]


def _problem(kind, name, position, seed=0):
    rng = np.random.RandomState(seed)
    make = CASES[kind][name]
    width = N_IN if position == "first" else 6
    if position == "last":
        width = N_OUT
    layer = make(width)
    net = Network.from_layers(_stack(layer, position), "squared_error")
    X = rng.normal(size=(N_ROWS, net.layer_units[0]))
    Y = rng.normal(size=(N_ROWS, net.layer_units[-1]))
    X = _with_codes(X, _input_codes(net), rng)
    params = net.init_params(np.random.RandomState(seed), "glorot_normal", np.float64, X)
    # move every parameter off its initial value (biases start at 0, scales at 1)
    params += 0.1 * rng.normal(size=params.size)
    return net, params, X, Y


def _workspace(net, params, rows):
    ws = net.workspace(rows, params)
    net.draw_dropout_masks(ws, rows, np.random.default_rng(0))
    return ws


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("kind, name, position", PLACED)
def test_layer_gradient_matches_central_difference(kind, name, position, alpha, weighted):
    net, params, X, Y = _problem(kind, name, position)
    sample_weight = np.random.RandomState(1).uniform(0.5, 2.0, N_ROWS) if weighted else None
    ws = _workspace(net, params, N_ROWS + 4)  # buffers larger than the batch
    analytic, numeric = gradient_and_central_difference(net, ws, X, Y, sample_weight, alpha)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("kind, name", CASE_IDS)
def test_layer_gradient_with_sparse_input_equals_dense(kind, name):
    net, params, X, Y = _problem(kind, name, "first")
    X[np.random.RandomState(2).rand(*X.shape) < 0.5] = 0.0
    grads, losses = [], []
    for inputs in (X, sp.csr_matrix(X)):
        ws = _workspace(net, params, N_ROWS)
        losses.append(net.loss_and_grad(ws, inputs, Y, None, 0.3))
        grads.append(ws.grad.copy())
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-12)
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind, name", CASE_IDS)
def test_raw_output_bound_holds(kind, name):
    net, params, _, _ = _problem(kind, name, "middle")
    x_max = 2.5
    rng = np.random.RandomState(3)
    X = rng.uniform(-x_max, x_max, size=(500, net.layer_units[0]))
    X[:4] = np.sign(X[:4]) * x_max  # corners of the box
    X = _with_codes(X, _input_codes(net), rng)  # codes are at most 2
    bound = net.raw_output_bound(params, x_max)
    assert np.isfinite(bound)
    assert np.max(np.abs(net.predict(params, X))) <= bound  # identity link: raw outputs


# --- the flat vector -----------------------------------------------------------
def _mixed_network():
    layers = [Scale(N_IN, lr_factor=6.0), Dense(N_IN, 5, "relu"), Scale(5), Dense(5, N_OUT, None)]
    return Network.from_layers(layers, "squared_error")


def test_decayed_blocks_are_the_prefix_and_groups_cover_the_vector():
    net = _mixed_network()
    flat = np.arange(net.n_params, dtype=np.float64)
    decayed, others = net.views(flat)
    assert [d.shape for d in decayed] == [(N_IN, 5), (5, N_OUT)] == net.coef_shapes
    assert net.n_coef == sum(d.size for d in decayed)
    np.testing.assert_array_equal(np.concatenate([d.ravel() for d in decayed]), flat[: net.n_coef])
    np.testing.assert_array_equal(np.concatenate([o.ravel() for o in others]), flat[net.n_coef :])
    covered = np.zeros(net.n_params, dtype=int)
    for group in net.groups:
        for s in group.slices:
            covered[s] += 1
            assert (s.stop <= net.n_coef) == group.decay  # decayed groups in the prefix
    np.testing.assert_array_equal(covered, 1)
    # a group name whose blocks differ in their factor appears once per factor
    assert sorted((g.name, g.decay, g.lr_factor) for g in net.groups) == [
        ("biases", False, 1.0),
        ("scales", False, 1.0),
        ("scales", False, 6.0),
        ("weights", True, 1.0),
    ]
    assert [g.slices for g in net.groups if g.name == "weights"] == [(slice(0, net.n_coef),)]


def test_lr_factors_vector_follows_the_blocks():
    net = _mixed_network()
    factors = net.lr_factors(np.float32)
    assert factors.dtype == np.float32
    expected = np.full(net.n_params, np.nan)
    positions = net.layer_views(np.arange(net.n_params))
    for layer, views in zip(net.layers, positions):
        for block, where in zip(layer.blocks(), views):
            expected[where.ravel()] = block.lr_factor
    np.testing.assert_array_equal(factors, expected)
    assert Network((N_IN, 5, N_OUT), "relu", "squared_error").lr_factors() is None


def test_layers_and_the_workspace_get_views_of_the_flat_vectors():
    net = _mixed_network()
    params = net.init_params(np.random.RandomState(0), "sklearn", np.float64)
    ws = net.workspace(N_ROWS, params)
    for views, grads in zip(ws.layer_params, ws.layer_grads):
        assert all(np.shares_memory(v, params) for v in views)
        assert all(np.shares_memory(g, ws.grad) for g in grads)
    before = params.copy()
    net.layer_views(params)[2][0][...] = 7.0  # the second Scale
    assert np.count_nonzero(params != before) == 5


def test_dense_network_is_scikit_learn_pack_order():
    units = (N_IN, 6, 5, N_OUT)
    net = Network(units, "relu", "squared_error")
    shapes = list(pairwise(units))
    flat = np.arange(net.n_params, dtype=np.float64)
    coefs, intercepts = net.views(flat)
    offset = 0
    for (fan_in, fan_out), coef in zip(shapes, coefs):
        np.testing.assert_array_equal(coef.ravel(), flat[offset : offset + fan_in * fan_out])
        offset += fan_in * fan_out
    for (_, fan_out), intercept in zip(shapes, intercepts):
        np.testing.assert_array_equal(intercept, flat[offset : offset + fan_out])
        offset += fan_out
    assert offset == net.n_params and net.n_coef == sum(a * b for a, b in shapes)


@pytest.mark.parametrize("method", INITIALIZERS)
@pytest.mark.parametrize("activation", ["relu", "logistic"])
def test_dense_init_draws_in_scikit_learn_order(method, activation):
    units = (N_IN, 6, 5, N_OUT)
    net = Network(units, activation, "squared_error")
    params = net.init_params(np.random.RandomState(0), method, np.float32)
    rng = np.random.RandomState(0)
    drawn = [INITIALIZERS[method](rng, a, b, np.float32, activation) for a, b in pairwise(units)]
    coefs, intercepts = net.views(params)
    for (coef, intercept), w, b in zip(drawn, coefs, intercepts):
        np.testing.assert_array_equal(w, coef)
        np.testing.assert_array_equal(b, intercept)


# --- data-dependent initialization ------------------------------------------
def test_init_shows_each_layer_its_own_inputs():
    X = np.random.RandomState(0).normal(3.0, 5.0, size=(50, N_IN))
    layers = [Dense(N_IN, 6, "tanh"), Scale(6, data_init=True), Dense(6, N_OUT, None)]
    net = Network.from_layers(layers, "squared_error")
    params = net.init_params(np.random.RandomState(0), "glorot_normal", np.float64, X)
    ws = net.workspace(len(X), params, training=False)
    net.forward(ws, X)
    # the scale saw the dense layer's outputs, which it now standardizes
    np.testing.assert_allclose(np.std(ws.outputs[1], axis=0), 1.0, rtol=1e-12)
    # and the draws of the other layers did not move
    plain = Network.from_layers(layers, "squared_error")
    reference = plain.init_params(np.random.RandomState(0), "glorot_normal", np.float64)
    coefs, _ = net.views(params)
    for a, b in zip(coefs, plain.views(reference)[0]):
        np.testing.assert_array_equal(a, b)


def test_init_without_data_or_for_a_constant_feature_starts_scales_at_one():
    X = np.ones((10, N_IN))
    net = Network.from_layers([Scale(N_IN, data_init=True), Dense(N_IN, 2, None)], "squared_error")
    for data in (None, X):
        params = net.init_params(np.random.RandomState(0), "sklearn", np.float64, data)
        np.testing.assert_array_equal(net.layer_views(params)[0][0], 1.0)


# --- building a network ---------------------------------------------------------
def test_from_layers_rejects_mismatched_widths_and_a_dropping_output():
    with pytest.raises(ValueError, match="gives 5 values"):
        Network.from_layers([Dense(N_IN, 5), Dense(4, N_OUT, None)], "squared_error")
    with pytest.raises(ValueError, match="output layer"):
        Network.from_layers([Dense(N_IN, N_OUT, "relu", dropout=0.5)], "squared_error")
    with pytest.raises(ValueError, match="dropout"):
        Dense(N_IN, 5, dropout=1.0)


def test_dense_network_attributes_describe_the_stack():
    net = Network((N_IN, 6, 5, N_OUT), "gelu", "log_loss", dropout=(0.1, 0.0))
    assert net.layer_units == (N_IN, 6, 5, N_OUT)
    assert net.dropout == (0.1, 0.0)
    assert net.activation.name == "gelu"
    assert [type(layer) for layer in net.layers] == [Dense, Dense, Dense]
    assert net.layers[-1].activation is None
    assert Network.from_layers(net.layers, "log_loss").activation is net.activation


def test_only_scikit_learn_stacks_are_mlps():
    assert Network((N_IN, 6, N_OUT), "relu", "squared_error").is_mlp
    assert Network((N_IN, N_OUT), "tanh", "squared_error").is_mlp
    assert Network.from_layers([Dense(N_IN, 6), Dense(6, N_OUT, None)], "log_loss").is_mlp
    assert not _mixed_network().is_mlp
    mixed_activations = [Dense(N_IN, 6, "tanh"), Dense(6, 6, "relu"), Dense(6, N_OUT, None)]
    assert not Network.from_layers(mixed_activations, "squared_error").is_mlp
    assert not Network.from_layers([Dense(N_IN, N_OUT, "tanh")], "squared_error").is_mlp


# --- tabular layer kinds: properties ------------------------------------------
def _forward(layers, params_of, X):
    """The raw output of ``layers`` on ``X`` with each layer's blocks set by
    ``params_of(k, views)`` after a seeded initialization."""
    net = Network.from_layers(layers, "squared_error")
    params = net.init_params(np.random.RandomState(0), "glorot_normal", np.float64, X)
    for k, views in enumerate(net.layer_views(params)):
        params_of(k, views)
    return net.predict(params, X)


def _set_alpha(value):
    def params_of(k, views):
        views[0][...] = value

    return params_of


SELU_ORACLE = (1.0507009873554805, 1.6732632423543772)  # Klambauer et al. 2017


@pytest.mark.parametrize("name", ["selu", "mish", "tanh", "gelu"])
def test_parametric_activation_is_f_at_one_and_identity_at_zero(name):
    X = np.random.RandomState(0).normal(0.0, 3.0, size=(40, N_IN))
    layer = ParametricActivation(N_IN, name)
    np.testing.assert_allclose(_forward([layer], _set_alpha(1.0), X), layer.activation(X))
    np.testing.assert_array_equal(_forward([layer], _set_alpha(0.0), X), X)
    halfway = _forward([layer], _set_alpha(0.5), X)
    np.testing.assert_allclose(halfway, 0.5 * X + 0.5 * layer.activation(X))


def test_parametric_activation_selu_and_mish_are_the_textbook_functions():
    z = np.linspace(-30.0, 30.0, 600)  # not 0, where SELU has its kink
    scale, alpha = SELU_ORACLE
    selu = np.where(z > 0, scale * z, scale * alpha * (np.exp(z) - 1.0))
    mish = z * np.tanh(np.log1p(np.exp(z)))
    for name, expected in (("selu", selu), ("mish", mish)):
        layer = ParametricActivation(1, name)
        np.testing.assert_allclose(layer.activation(z), expected, rtol=1e-12, atol=1e-12)
        # their derivatives against central differences of the same function
        f = layer.activation
        numeric = (f(z + 1e-6) - f(z - 1e-6)) / 2e-6
        np.testing.assert_allclose(f.gradient(z), numeric, rtol=1e-6, atol=1e-9)


def test_parametric_activation_blocks_follow_realmlp():
    (block,) = ParametricActivation(7, "mish").blocks()
    assert (block.shape, block.group, block.lr_factor, block.decay) == (
        (7,),
        "activations",
        0.1,
        True,
    )
    params = np.empty(7)
    ParametricActivation(7).init(None, (params,))
    np.testing.assert_array_equal(params, 1.0)
    with pytest.raises(ValueError, match="Unknown activation"):
        ParametricActivation(3, "swish")


def _params_of(layer, X, seed=0):
    """``layer``'s blocks after a seeded initialization on ``X``."""
    net = Network.from_layers([layer], "squared_error")
    params = net.init_params(np.random.RandomState(seed), "sklearn", np.float64, X)
    return net, params, net.layer_views(params)[0]


def test_pbld_is_x_then_a_linear_map_of_biased_cosines_per_feature():
    X = np.random.RandomState(0).normal(size=(30, 3))
    layer = PBLDEmbedding(3)
    net, params, (w1, b1, w2, b2) = _params_of(layer, X)
    assert (layer.n_out, w1.shape, w2.shape, b2.shape) == (12, (3, 16), (3, 16, 3), (3, 3))
    out = net.predict(params, X).reshape(30, 3, 4)
    np.testing.assert_array_equal(out[:, :, 0], X)
    for j in range(3):
        cosines = np.cos(2 * np.pi * np.outer(X[:, j], w1[j]) + b1[j])
        np.testing.assert_allclose(out[:, j, 1:], cosines @ w2[j] + b2[j], rtol=1e-12)


def test_pbld_initialization_follows_pytabkit():
    layer = PBLDEmbedding(200)
    _, _, (w1, b1, w2, b2) = _params_of(layer, None)
    assert abs(np.std(w1) - 0.1) < 0.005 and abs(np.mean(w1)) < 0.005
    assert -np.pi <= b1.min() < -3.0 and 3.0 < b1.max() <= np.pi
    for block in (w2, b2):
        assert 0.24 < np.max(np.abs(block)) <= 0.25  # U(-1/sqrt(16), 1/sqrt(16))
    assert {(b.group, b.decay, b.lr_factor) for b in layer.blocks()} == {("embeddings", True, 0.1)}


def test_periodic_is_sines_then_cosines_of_the_frequencies():
    X = np.random.RandomState(0).normal(size=(30, 3))
    net, params, (c,) = _params_of(PeriodicEmbedding(3, n_frequencies=5, sigma=1.0), X)
    out = net.predict(params, X).reshape(30, 3, 10)
    for j in range(3):
        phase = 2 * np.pi * np.outer(X[:, j], c[j])
        np.testing.assert_allclose(out[:, j], np.hstack([np.sin(phase), np.cos(phase)]))


def _ple_oracle(x, edges):
    """Equation 1 of Gorishniy et al. (2022) for one feature, the first bin
    unclipped below and the last unclipped above."""
    z = (x[:, None] - edges[:-1]) / np.diff(edges)
    z[:, 1:] = np.maximum(z[:, 1:], 0.0)
    z[:, :-1] = np.minimum(z[:, :-1], 1.0)
    return z


def test_piecewise_linear_bins_are_training_quantiles():
    rng = np.random.RandomState(0)
    X = np.column_stack(
        [
            rng.normal(size=200),  # 4 bins
            rng.randint(0, 3, 200),  # 3 distinct values: 2 bins
            rng.randint(0, 2, 200),  # binary: 1 bin
            np.full(200, 7.0),  # constant
        ]
    )
    net, params, _ = _params_of(PiecewiseLinearEmbedding(4, n_bins=4), X)
    X_new = np.column_stack([np.linspace(-5, 5, 50)] * 4)
    out = net.predict(params, X_new).reshape(50, 4, 4)
    edges = np.quantile(X[:, 0], np.linspace(0, 1, 5))
    np.testing.assert_allclose(out[:, 0], _ple_oracle(X_new[:, 0], edges), rtol=1e-12)
    # two bins: the first value and the last, constants between
    np.testing.assert_allclose(out[:, 1][:, [0, 3]], _ple_oracle(X_new[:, 1], np.array([0, 1, 2])))
    np.testing.assert_array_equal(out[:, 1, 1:3], 0.0)
    # one bin: the two values sum to (x - min) / (max - min)
    np.testing.assert_allclose(out[:, 2, 0] + out[:, 2, 3], X_new[:, 2], rtol=1e-12)
    # a constant feature gives constants
    assert np.ptp(out[:, 3], axis=0).max() == 0.0


def test_piecewise_linear_without_data_splits_minus_three_to_three():
    net, params, _ = _params_of(PiecewiseLinearEmbedding(1, n_bins=6), None)
    x = np.linspace(-4, 4, 33)
    out = net.predict(params, x[:, None])
    np.testing.assert_allclose(out, _ple_oracle(x, np.linspace(-3, 3, 7)), rtol=1e-12, atol=1e-15)


def test_piecewise_linear_gradient_with_repeated_quantiles():
    rng = np.random.RandomState(0)
    discrete = np.column_stack([rng.randint(0, 3, 50), rng.randint(0, 2, 50), np.ones(50)])
    layers = [PiecewiseLinearEmbedding(3, n_bins=4, lr_factor=1.0), Dense(12, 2, None)]
    net = Network.from_layers(layers, "squared_error")
    params = net.init_params(np.random.RandomState(0), "glorot_normal", np.float64, discrete)
    params += 0.1 * rng.normal(size=params.size)  # off the constants' flat values too
    X, Y = rng.normal(1.0, 1.0, size=(N_ROWS, 3)), rng.normal(size=(N_ROWS, 2))
    ws = _workspace(net, params, N_ROWS)
    analytic, numeric = gradient_and_central_difference(net, ws, X, Y, None, 0.3)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)


def test_dense_ntp_is_dense_with_weights_over_root_fan_in():
    X = np.random.RandomState(0).normal(size=(20, N_IN))
    ntp = DenseNTP(N_IN, 6, "tanh")
    net, params, (coef, intercept) = _params_of(ntp, X)
    plain = Network.from_layers([Dense(N_IN, 6, "tanh")], "squared_error")
    expected = plain.predict(plain.pack([coef / np.sqrt(N_IN)], [intercept], np.float64), X)
    np.testing.assert_allclose(net.predict(params, X), expected, rtol=1e-12)
    weights, biases = ntp.blocks()
    assert (weights.decay, weights.lr_factor, biases.decay, biases.lr_factor) == (
        True,
        1,
        False,
        0.1,
    )


def test_dense_ntp_data_init_gives_unit_variance_and_biases_inside_the_data():
    X = np.random.RandomState(0).normal(5.0, [0.1, 1.0, 10.0, 100.0], size=(300, N_IN))
    net, params, (coef, intercept) = _params_of(DenseNTP(N_IN, 50), X)
    pre = X @ coef / np.sqrt(N_IN)  # the pre-activations without the bias
    np.testing.assert_allclose(np.std(pre, axis=0), 1.0, rtol=1e-10)
    assert np.all(pre.min(axis=0) <= -intercept) and np.all(-intercept <= pre.max(axis=0))
    # so every unit's kink is crossed by the data: z = pre + b changes sign
    z = net.predict(params, X)
    assert np.all((z.min(axis=0) <= 0) & (z.max(axis=0) >= 0))
    # and without data: N(0, 1) weights, zero biases
    _, _, (coef, intercept) = _params_of(DenseNTP(N_IN, 400), None)
    assert abs(np.std(coef) - 1.0) < 0.03 and not intercept.any()


# --- ensembles ----------------------------------------------------------------
def _ensemble(k, n_in=N_IN, hidden=6, n_out=2, init="random-signs", dropout=0.0):
    return [
        EnsembleInput(n_in, k, init=init),
        Shared(Dense(n_in, hidden, "tanh", dropout=dropout), k),
        EnsembleHead(hidden, n_out, k),
    ]


def test_ensemble_members_are_independent_given_their_adapters_and_heads():
    k, X = 3, np.random.RandomState(0).normal(size=(25, N_IN))
    net = Network.from_layers(_ensemble(k), "squared_error")
    params = net.init_params(np.random.RandomState(0), "glorot_normal", np.float64)
    members = net.predict(params, X).reshape(25, k, 2)
    (adapters,), (w, b), (coef, intercept) = net.layer_views(params)
    for j in range(k):  # each member is the plain network with its own adapter and head
        hidden = np.tanh((X * adapters[j]) @ w + b)
        np.testing.assert_allclose(members[:, j], hidden @ coef[j] + intercept[j], rtol=1e-12)
    assert not np.allclose(members[:, 0], members[:, 1])
    # moving member 1's adapter and head moves member 1 alone
    adapters[1] *= 2.0
    intercept[1] += 1.0
    moved = net.predict(params, X).reshape(25, k, 2)
    np.testing.assert_array_equal(moved[:, [0, 2]], members[:, [0, 2]])
    assert not np.allclose(moved[:, 1], members[:, 1])


def test_one_member_ensemble_is_the_plain_network():
    X = np.random.RandomState(0).normal(size=(25, N_IN))
    net = Network.from_layers(_ensemble(1, init="ones"), "squared_error")
    params = net.init_params(np.random.RandomState(0), "glorot_normal", np.float64)
    _, (coef, intercept), (head_coef, head_intercept) = net.layer_views(params)
    plain = Network((N_IN, 6, 2), "tanh", "squared_error")
    flat = plain.pack([coef, head_coef[0]], [intercept, head_intercept[0]], np.float64)
    np.testing.assert_allclose(net.predict(params, X), plain.predict(flat, X), rtol=1e-12)


def test_shared_layer_drops_each_members_units_independently():
    k, rows = 4, 200
    net = Network.from_layers(_ensemble(k, hidden=50, dropout=0.5), "squared_error")
    params = net.init_params(np.random.RandomState(0), "glorot_normal", np.float64)
    ws = _workspace(net, params, rows)
    X = np.random.RandomState(1).normal(size=(rows, N_IN))
    net.forward(ws, X, training=True)
    hidden = ws.trace[2].reshape(rows, k, 50)  # what the head saw
    dropped = hidden == 0.0
    assert 0.45 < dropped.mean() < 0.55
    assert not np.array_equal(dropped[:, 0], dropped[:, 1])


def test_shared_data_init_sees_every_member():
    k, X = 3, np.random.RandomState(0).normal(3.0, 2.0, size=(100, N_IN))
    layers = [EnsembleInput(N_IN, k, init="normal"), Shared(DenseNTP(N_IN, 8), k)]
    net = Network.from_layers(layers, "squared_error")
    params = net.init_params(np.random.RandomState(0), "glorot_normal", np.float64, X)
    (adapters,), (coef, _) = net.layer_views(params)
    rows = (X[:, None, :] * adapters).reshape(100 * k, N_IN)  # every (sample, member)
    np.testing.assert_allclose(np.std(rows @ coef / np.sqrt(N_IN), axis=0), 1.0, rtol=1e-10)


@pytest.mark.parametrize("kind, name", CASE_IDS)
def test_layer_computes_in_float32_as_in_float64(kind, name):
    net, params, X, Y = _problem(kind, name, "middle")
    grads, losses, masks = [], [], None
    for dtype in (np.float64, np.float32):
        ws = _workspace(net, params.astype(dtype), N_ROWS)
        for mask, drawn in zip(ws.masks, masks or ws.masks):
            if mask is not None:
                mask[...] = drawn  # the float64 pass's dropout
        masks = ws.masks
        losses.append(net.loss_and_grad(ws, X.astype(dtype), Y.astype(dtype), None, 0.3))
        assert ws.grad.dtype == dtype and ws.outputs[1].dtype == dtype
        grads.append(ws.grad.astype(np.float64))
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-5)
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-3, atol=1e-5)


# --- categorical codes and column routing ------------------------------------
def test_categorical_embedding_picks_each_columns_own_row_for_every_code():
    levels = (3, 5)
    layer = CategoricalEmbedding(levels, width=4)
    X = np.array([[c % 3, c] for c in range(5)], dtype=float)  # every code, 0 included
    net, params, (tables,) = _params_of(layer, X)
    assert tables.shape == (8, 4) and layer.n_out == 8
    out = net.predict(params, X).reshape(5, 2, 4)
    for i, (a, b) in enumerate(X.astype(int)):
        np.testing.assert_array_equal(out[i, 0], tables[a])
        np.testing.assert_array_equal(out[i, 1], tables[3 + b])
    # the unknown code 0 has its own row in each table, distinct from the others
    assert len({tuple(row) for row in tables}) == 8


def _table_gradient(net, params, X):
    ws = _workspace(net, params, len(X))
    net.loss_and_grad(ws, X, np.ones((len(X), net.layer_units[-1])), None, 0.0)
    return net.layer_views(ws.grad)[0][0]


def test_unknown_code_row_learns_only_from_rows_with_code_zero():
    layer = CategoricalEmbedding((3,), width=2)
    net, params, _ = _params_of(layer, None)
    grad = _table_gradient(net, params, np.array([[0.0], [2.0], [1.0]]))
    assert np.all(grad != 0.0)  # the unknown row learns like any other
    grad = _table_gradient(net, params, np.array([[2.0], [1.0]]))
    np.testing.assert_array_equal(grad[0], 0.0)
    # a code repeated in a batch sums its rows' gradients: twice the same row
    # has the mean loss, and the gradient, of the row alone
    once = _table_gradient(net, params, np.array([[2.0]]))
    twice = _table_gradient(net, params, np.array([[2.0], [2.0]]))
    assert np.all(once[2] != 0.0)
    np.testing.assert_allclose(twice, once, rtol=1e-14)


def test_no_gradient_flows_to_the_codes():
    # a scale of 1 before the embedding keeps the codes, and learns nothing from them
    net = Network.from_layers([Scale(2), CategoricalEmbedding((3, 2), width=2)], "squared_error")
    params = net.init_params(np.random.RandomState(0), "sklearn", np.float64)
    X = np.array([[0.0, 1.0], [2.0, 0.0], [1.0, 1.0]])
    ws = _workspace(net, params, 3)
    ws.deltas[0][...] = np.nan  # the input gradient must be written, not left
    net.loss_and_grad(ws, X, np.zeros((3, 4)), None, 0.0)
    (scale_grad,), (tables_grad,) = net.layer_views(ws.grad)
    np.testing.assert_array_equal(scale_grad, 0.0)
    assert np.count_nonzero(tables_grad) == 5 * 2  # the five rows the batch picked


@pytest.mark.parametrize("code", [1.5, -1.0, 3.0, np.nan, 1e30])
def test_categorical_embedding_rejects_codes_outside_its_levels(code):
    layer = CategoricalEmbedding((2, 3), width=2)
    net, params, _ = _params_of(layer, None)
    X = np.array([[1.0, 2.0], [0.0, code]])
    with pytest.raises(ValueError, match=r"column 1 holds .*integers in \[0, 3\)"):
        net.predict(params, X)
    with pytest.raises(ValueError, match="at least 1 level"):
        CategoricalEmbedding((2, 0))


def test_categorical_embedding_initialization_and_blocks_follow_pytorch():
    layer = CategoricalEmbedding((3000, 1000), width=8)
    _, _, (tables,) = _params_of(layer, None)
    # N(0, 1): both within 5 standard errors over 32,000 draws
    assert abs(np.std(tables) - 1.0) < 0.02 and abs(np.mean(tables)) < 0.03
    (block,) = layer.blocks()
    assert (block.shape, block.group, block.decay, block.lr_factor) == (
        (4000, 8),
        "embeddings",
        True,
        1.0,
    )
    (undecayed,) = CategoricalEmbedding((3,), lr_factor=0.5, decay=False).blocks()
    assert (undecayed.decay, undecayed.lr_factor) == (False, 0.5)


def test_columns_route_each_range_and_copy_passthrough_exactly():
    rng = np.random.RandomState(0)
    X = _with_codes(rng.normal(size=(20, 6)), [(4, 3), (5, 2)], rng)
    X[:, 2:4] = rng.standard_cauchy(size=(20, 2))  # passthrough, any values
    layer = Columns([(2, PBLDEmbedding(2)), (2, None), (2, CategoricalEmbedding((3, 2), width=3))])
    assert (layer.n_in, layer.n_out) == (6, 8 + 2 + 6)
    net, params, views = _params_of(layer, X)
    out = net.predict(params, X)
    np.testing.assert_array_equal(out[:, 8:10], X[:, 2:4])
    # each part is its layer on its own columns, with the same parameters
    for part, cols, outs, blocks in ((layer.parts[0][1], 0, 0, 4), (layer.parts[2][1], 4, 10, 1)):
        alone = Network.from_layers([part], "squared_error")
        flat = np.empty(alone.n_params)
        for dst, src in zip(alone.layer_views(flat)[0], views[:4] if blocks == 4 else views[4:]):
            dst[...] = src
        expected = alone.predict(flat, X[:, cols : cols + part.n_in])
        np.testing.assert_array_equal(out[:, outs : outs + part.n_out], expected)
    assert layer.blocks() == PBLDEmbedding(2).blocks() + CategoricalEmbedding((3, 2), 3).blocks()


def test_columns_initialize_each_layer_from_its_own_columns():
    X = np.random.RandomState(0).normal([0.0, 0.0, 5.0, 5.0], [1.0, 2.0, 3.0, 4.0], size=(80, 4))
    layer = Columns([(1, None), (2, Scale(2, data_init=True)), (1, PiecewiseLinearEmbedding(1))])
    _, _, (scale, slopes, _) = _params_of(layer, X)
    np.testing.assert_allclose(scale, 1.0 / np.std(X[:, 1:3], axis=0), rtol=1e-12)
    edges = np.quantile(X[:, 3], np.linspace(0.0, 1.0, 17))
    np.testing.assert_allclose(slopes[0, :-1], 1.0 / np.diff(edges)[:-1], rtol=1e-10)


def test_columns_reject_mismatched_widths_and_dropout():
    with pytest.raises(ValueError, match="must take its 3 columns"):
        Columns([(3, Scale(2))])
    with pytest.raises(ValueError, match="drop no units"):
        Columns([(2, Dense(2, 4, "relu", dropout=0.5))])
    with pytest.raises(ValueError, match="at least one part"):
        Columns([])


@pytest.mark.parametrize("loss", ["log_loss", "squared_error"])
def test_tabular_network_trains(loss):
    # the target depends on a numeric column and on a categorical code
    rng = np.random.RandomState(0)
    n_rows, levels = 256, (6, 4)
    X = np.column_stack(
        [rng.normal(size=(n_rows, 3)), rng.choice([-1.0, 1.0], n_rows), rng.randint(0, 6, n_rows)]
    )
    X = np.column_stack([X, rng.randint(0, 4, n_rows)])
    signal = np.sin(2.0 * X[:, 0]) + np.array([-1.0, 0.0, 2.0, -2.0, 1.0, 0.5])[X[:, 4].astype(int)]
    if loss == "log_loss":  # three classes, softmax over three outputs
        Y = np.eye(3)[np.digitize(signal, np.quantile(signal, [1 / 3, 2 / 3]))]
    else:
        Y = signal[:, None]
    embed = Columns([(3, PBLDEmbedding(3)), (1, None), (2, CategoricalEmbedding(levels))])
    width = embed.n_out
    layers = [
        embed,
        Scale(width, lr_factor=6.0),
        DenseNTP(width, 32),
        ParametricActivation(32, "selu"),
        DenseNTP(32, 32),
        ParametricActivation(32, "mish"),
        Dense(32, Y.shape[1], None),
    ]
    net = Network.from_layers(layers, loss)
    params = net.init_params(rng, "glorot_uniform", np.float64, X)
    chain = make_chain(AdamW(beta_2=0.95), param_groups(net), weight_decay=0.02)
    step, state = Step(net, net.workspace(n_rows, params), chain), chain.init(params)
    losses = []
    for _ in range(40):
        losses.append(step.loss_and_grad(X, Y, None))
        step.update(state, 0.01)
    assert losses[-1] < 0.5 * losses[0]
