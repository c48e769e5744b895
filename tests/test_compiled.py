"""The compiled kernels against the numpy engine, their reference.

Every kernel must give the numpy engine's outputs within 1e-12 relative in
float64 and 1e-5 in float32, and a 10-epoch fit on the compiled engine must
trace the numpy engine's ``loss_curve_`` within 1e-9 relative in float64,
for every activation x loss x solver x penalty x dropout. The cases come
from the registries: a new activation or loss is tested here as it is added.
"""

import itertools
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import skmlp.compiled as compiled
from skmlp import MLPClassifier, MLPRegressor
from skmlp.activations import ACTIVATIONS
from skmlp.losses import LOSSES as LOSS_REGISTRY
from skmlp.losses import make_loss
from skmlp.network import Network
from skmlp.optimizers import OPTIMIZERS

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.skipif(compiled._kernels is None, reason="compiled kernels not built"),
]

# every loss in the registry; those with a setting, away from its default
LOSSES = {name: make_loss(name, huber_delta=0.4, quantile=0.3) for name in LOSS_REGISTRY}
TOLERANCE = {np.float64: 1e-12, np.float32: 1e-5}


def _targets(loss, rng, n, dtype):
    """Targets in the loss's domain, which its link tells."""
    link = LOSSES[loss].out_activation
    if link == "softmax":
        return np.eye(3, dtype=dtype)[rng.randint(3, size=n)]
    if link == "logistic":
        return (rng.rand(n, 2) < 0.5).astype(dtype)
    if link == "exp":
        return (rng.gamma(2.0, size=(n, 2)) + 0.1).astype(dtype)
    return rng.normal(size=(n, 2)).astype(dtype)


def _both(activation, loss, dtype, dropout, weighted, alpha, l1_ratio, m=17):
    """(loss, grad) of one batch on the numpy engine and on the kernel."""
    rng = np.random.RandomState(0)
    Y = _targets(loss, rng, m, dtype)
    net = Network([5, 7, 6, Y.shape[1]], activation, LOSSES[loss], (0.3, 0.0) if dropout else 0)
    params = net.init_params(rng, "glorot_uniform", dtype)
    params[3] = 0.0  # a weight at zero: the L1 pseudo-gradient's branch
    X = rng.normal(size=(m, 5)).astype(dtype)
    sw = rng.uniform(0.5, 2.0, m).astype(dtype) if weighted else None
    results = []
    for kernel in (False, True):
        ws = net.workspace(m + 3, params.copy())  # a larger workspace, sliced
        step = compiled.CompiledStep(net, ws, m + 3) if kernel else None
        if dropout:
            masks_rng = np.random.default_rng(7)
            if kernel:
                step.draw_dropout_masks(m, masks_rng)
            else:
                net.draw_dropout_masks(ws, m, masks_rng)
        if kernel:
            value = step.loss_and_grad(X, Y, sw, alpha, l1_ratio)
        else:
            value = net.loss_and_grad(ws, X, Y, sw, alpha, l1_ratio)
        results.append((value, ws.grad.copy()))
    return results


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_batch_kernel_gives_the_numpy_engines_loss_and_gradient(activation, loss, dtype):
    rtol = TOLERANCE[dtype]
    for dropout, weighted, (alpha, l1_ratio) in itertools.product(
        [False, True], [False, True], [(0.0, 0.0), (0.1, 0.0), (0.1, 0.6)]
    ):
        (v_np, g_np), (v_c, g_c) = _both(
            activation, loss, dtype, dropout, weighted, alpha, l1_ratio
        )
        assert v_c == pytest.approx(v_np, rel=rtol), (dropout, weighted, alpha, l1_ratio)
        scale = np.abs(g_np).max()
        np.testing.assert_allclose(g_c, g_np, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize(
    "name, params",
    [
        ("sgd", dict(momentum=0.9, nesterovs_momentum=True)),
        ("sgd", dict(momentum=0.5, nesterovs_momentum=False)),
        ("adam", dict(beta_1=0.8, beta_2=0.99, epsilon=1e-6)),
        ("nadam", dict()),
        ("rmsprop", dict(rho=0.7)),
        ("adagrad", dict(epsilon=1e-4)),
    ],
)
def test_each_compiled_update_is_the_numpy_update(name, params, dtype):
    optimizer = OPTIMIZERS[name](**params)
    update = optimizer.compiled_update(compiled._kernels)
    rng = np.random.RandomState(0)
    start = rng.normal(size=50).astype(dtype)
    a, b = start.copy(), start.copy()
    state_a, state_b = optimizer.init(a), optimizer.init(b)
    for rate in (0.1, 0.03, 0.2):
        grad = rng.normal(size=50).astype(dtype)
        optimizer.update(grad, state_a, a, rate)
        update(grad, state_b, b, rate)
    np.testing.assert_allclose(b, a, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])
    saved_a, saved_b = state_a.to_dict(), state_b.to_dict()
    for key in saved_a:
        np.testing.assert_allclose(saved_b[key], saved_a[key], rtol=TOLERANCE[dtype])


def _fit_data(loss):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 4))
    link = LOSSES[loss].out_activation
    if link == "softmax":
        return MLPClassifier, X, rng.randint(3, size=60)
    if link == "logistic":
        return MLPClassifier, X, rng.randint(2, size=60)
    y = X[:, 0] - 0.5 * X[:, 1] + 0.1 * rng.normal(size=60)
    if link == "exp":
        y = np.exp(0.5 * y)
    return MLPRegressor, X, y


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_ten_epochs_on_the_compiled_engine_trace_the_numpy_engines_loss_curve(activation, loss):
    est_cls, X, y = _fit_data(loss)
    extra = {"loss": loss} if est_cls is MLPRegressor else {}
    for solver, (alpha, l1_ratio), dropout in itertools.product(
        ["sgd", "adam", "adamw", "rmsprop", "adagrad", "nadam"],
        [(1e-3, 0.0), (1e-2, 0.5)],
        [0.0, 0.2],
    ):
        curves = []
        for name in ("numpy", "compiled"):
            with compiled.engine(name, everywhere=True):
                est = est_cls(
                    hidden_layer_sizes=(6,),
                    activation=activation,
                    solver=solver,
                    alpha=alpha,
                    l1_ratio=l1_ratio,
                    dropout=dropout,
                    batch_size=25,
                    max_iter=10,
                    n_iter_no_change=100,
                    weight_decay=1e-2,
                    learning_rate_init=0.01,
                    random_state=0,
                    **extra,
                )
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    curves.append(np.array(est.fit(X, y).loss_curve_))
        assert len(curves[0]) == len(curves[1]) == 10, (solver, alpha, dropout)
        np.testing.assert_allclose(curves[1], curves[0], rtol=1e-9, err_msg=f"{solver}")


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_float32_weighted_fits_trace_the_numpy_engines_loss_curve(activation, loss):
    est_cls, X, y = _fit_data(loss)
    extra = {"loss": loss} if est_cls is MLPRegressor else {}
    sample_weight = np.random.RandomState(1).uniform(0.5, 2.0, X.shape[0])
    curves = []
    for name in ("numpy", "compiled"):
        with compiled.engine(name, everywhere=True), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = est_cls(
                hidden_layer_sizes=(6,),
                activation=activation,
                solver="adam",
                alpha=1e-3,
                dropout=0.2,
                batch_size=25,
                max_iter=10,
                n_iter_no_change=100,
                learning_rate_init=0.01,
                random_state=0,
                **extra,
            )
            est.fit(X.astype(np.float32), y, sample_weight=sample_weight)
        assert est.coefs_[0].dtype == np.float32
        curves.append(np.array(est.loss_curve_))
    np.testing.assert_allclose(curves[1], curves[0], rtol=TOLERANCE[np.float32])


def test_the_default_engine_is_the_compiled_one():
    assert compiled.active_engine() == "compiled"


def test_dispatch_follows_the_measurements():
    def net(activation, width):
        return Network([4, width, 2], activation, "squared_error")

    assert compiled.pays_off(net("relu", 512), 200)
    assert compiled.pays_off(net("identity", 512), 200)
    assert compiled.pays_off(net("elu", 16), 200)
    assert not compiled.pays_off(net("elu", 256), 200)
    assert not compiled.pays_off(net("tanh", 16), 200)
    with compiled.engine("compiled", everywhere=True):
        assert compiled.pays_off(net("tanh", 256), 200)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_each_activation_declares_where_its_compiled_step_pays_off(activation):
    where = ACTIVATIONS[activation].compiled_pays_off
    assert where in ("always", "small", "never")

    def pays_off(width, batch_size=200):
        return compiled.pays_off(Network([4, width, 2], activation, "squared_error"), batch_size)

    assert pays_off(4096) == (where == "always")
    assert pays_off(compiled.SMALL // 200) == (where != "never")


def test_the_kernels_were_generated_from_these_registries():
    assert compiled._kernels.ACTIVATIONS == tuple(ACTIVATIONS)
    assert compiled._kernels.LOSSES == tuple(LOSS_REGISTRY)
    assert list(compiled.ACTIVATION_CODES.values()) == list(range(len(ACTIVATIONS)))
    assert list(compiled.LOSS_CODES) == list(LOSS_REGISTRY)


def test_kernels_built_from_other_registries_are_not_used():
    import types

    kernels = compiled._kernels
    assert compiled._built_from_these_registries(kernels)
    for names in [
        dict(ACTIVATIONS=kernels.ACTIVATIONS[:-1], LOSSES=kernels.LOSSES),  # one added since
        dict(ACTIVATIONS=kernels.ACTIVATIONS, LOSSES=kernels.LOSSES[::-1]),  # reordered
        dict(),  # built before the kernels named their registries
    ]:
        assert not compiled._built_from_these_registries(types.SimpleNamespace(**names))


def test_a_read_only_memmap_and_a_fortran_array_train_like_a_c_array(tmp_path, digits):
    X, y = digits
    path = tmp_path / "X.npy"
    np.save(path, X)
    read_only = np.load(path, mmap_mode="r")
    assert not read_only.flags.writeable
    fortran = np.asfortranarray(X)
    fits = []
    for data, shuffle in [(X, True), (read_only, True), (fortran, True), (read_only, False)]:
        est = MLPClassifier((16,), max_iter=3, shuffle=shuffle, random_state=0)
        fits.append(est.fit(data, y))
    for other in fits[1:3]:
        for a, b in zip(fits[0].coefs_, other.coefs_):
            np.testing.assert_array_equal(a, b)
    assert np.isfinite(fits[3].loss_)


def test_skmlp_engine_numpy_forces_the_numpy_engine():
    code = "import skmlp, skmlp.compiled as c\nprint(c.active_engine())\nskmlp.show_versions()\n"
    env = {**os.environ, "SKMLP_ENGINE": "numpy"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines()[0] == "numpy"
    assert "engine: numpy (SKMLP_ENGINE=numpy)" in out


def test_show_versions_names_the_engine_and_blas(capsys):
    compiled.show_versions()
    out = capsys.readouterr().out
    assert "engine: compiled" in out and "numpy: " in out and "BLAS: " in out


def test_missing_kernels_warn_once_at_the_first_fit(monkeypatch, digits):
    X, y = digits
    monkeypatch.setattr(compiled, "_kernels", None)
    monkeypatch.setattr(compiled, "_warned", [])
    monkeypatch.setitem(compiled._engine, "name", "numpy")
    with pytest.warns(UserWarning, match="without its compiled kernels"):
        MLPClassifier((4,), max_iter=2).fit(X, y)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        MLPClassifier((4,), max_iter=2).fit(X, y)
    assert not [w for w in caught if "compiled kernels" in str(w.message)]  # once per process


def _blas_threads_during_fit(monkeypatch, X, y, **params):
    """The BLAS thread counts seen while the training loop runs."""
    from threadpoolctl import threadpool_info

    import skmlp.estimators

    seen = []
    original = skmlp.estimators.run_stochastic

    def spy(*args, **kwargs):
        seen.append([i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"])
        return original(*args, **kwargs)

    monkeypatch.setattr(skmlp.estimators, "run_stochastic", spy)
    MLPClassifier(**{"max_iter": 2, "random_state": 0, **params}).fit(X, y)
    return seen[0]


def test_small_batch_products_train_on_one_blas_thread(monkeypatch, digits):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    X, y = digits
    before = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    if max(before) < 2 or any(os.environ.get(v) for v in compiled._BLAS_ENV):
        pytest.skip("BLAS runs on one thread here already")
    assert set(_blas_threads_during_fit(monkeypatch, X, y, hidden_layer_sizes=(16,))) == {1}
    after = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    assert after == before  # restored after the fit
    with compiled.blas_policy(False):
        assert max(_blas_threads_during_fit(monkeypatch, X, y, hidden_layer_sizes=(16,))) > 1


def test_a_users_own_thread_limit_wins(monkeypatch, digits):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    X, y = digits
    if any(os.environ.get(v) for v in compiled._BLAS_ENV):
        pytest.skip("the environment sets the BLAS threads")
    now = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    if max(now) < 2:
        pytest.skip("BLAS runs on one thread here already")
    # as if skmlp had been imported with more threads than now: the user has
    # limited them since, to a number skmlp would not choose, and it stands
    compiled._blas_controller()
    monkeypatch.setitem(compiled._controller, "threads", [n + 2 for n in now])
    assert _blas_threads_during_fit(monkeypatch, X, y, hidden_layer_sizes=(16,)) == now


def test_a_users_limit_below_the_default_is_kept(monkeypatch, digits):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    X, y = digits
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        seen = _blas_threads_during_fit(monkeypatch, X, y, hidden_layer_sizes=(16,))
    assert set(seen) == {1}
    # and a large network (products above the threshold) keeps the default
    wide = max(compiled.SMALL_PRODUCT // (200 * 64), 1) + 1
    seen = _blas_threads_during_fit(monkeypatch, X, y, hidden_layer_sizes=(wide,), max_iter=1)
    assert seen == [
        i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"
    ]
