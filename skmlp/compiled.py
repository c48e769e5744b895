"""The compiled engine: which engine runs, and the thin wrapper over the kernels.

skmlp trains with compiled kernels (:mod:`skmlp._kernels`, Cython, built by
``pip install .``) when they were built, and with its numpy engine
otherwise; the numpy engine is the reference every kernel is tested
against. ``SKMLP_ENGINE=numpy`` in the environment at import forces the
numpy engine. The compiled path covers the stochastic solvers on dense
input; sparse input, L-BFGS and prediction run on numpy either way.

:class:`CompiledStep` holds a fit's flat buffers and calls the one-batch
kernel; :func:`fast_update` gives an optimizer's compiled step. Both check
their arrays once per fit (dtype, contiguity), never per batch.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import platform

import numpy as np

from ._warn import warn
from .activations import ACTIVATIONS
from .losses import LOSSES

try:
    from . import _kernels
except ImportError:  # not built: no compiler, or the build failed
    _kernels = None

__all__ = [
    "CompiledStep",
    "active_engine",
    "blas_threads_for",
    "engine",
    "fast_update",
    "show_versions",
]

# The kernels' integer codes: each entry's place in its registry, as the
# kernels were generated (skmlp/_kernels.pyx.tp). Kernels built from other
# registries (a stale build beside the sources) are not used.
ACTIVATION_CODES = {name: code for code, name in enumerate(ACTIVATIONS)}
LOSS_CODES = {name: code for code, name in enumerate(LOSSES)}


def _built_from_these_registries(kernels) -> bool:
    """Whether ``kernels`` were generated from the registries as they are."""
    names = (getattr(kernels, "ACTIVATIONS", None), getattr(kernels, "LOSSES", None))
    return names == (tuple(ACTIVATIONS), tuple(LOSSES))


_STALE = _kernels is not None and not _built_from_these_registries(_kernels)
if _STALE:
    _kernels = None

_FORCED_NUMPY = os.environ.get("SKMLP_ENGINE", "").strip().lower() == "numpy"
_engine = {
    "name": "compiled" if _kernels is not None and not _FORCED_NUMPY else "numpy",
    "everywhere": False,  # tests: the compiled step for every activation and size
}
_warned = []

# Where the compiled loss-and-gradient step beats the numpy engine: each
# activation's compiled_pays_off, measured with one BLAS thread
# (docs/performance.md). "small": while a batch's widest hidden layer holds
# at most SMALL values (their C loops lose to numpy's SIMD beyond). The
# compiled optimizer updates win everywhere (1.5-6x) and always run.
SMALL = 4096


def active_engine() -> str:
    """``'compiled'`` or ``'numpy'``: the engine that trains new fits."""
    return _engine["name"]


@contextlib.contextmanager
def engine(name: str, everywhere: bool = False):
    """Train with the ``'numpy'`` or ``'compiled'`` engine inside the block
    (for tests and benchmarks that compare the two). ``everywhere=True`` runs
    the compiled step for every activation and layer size, not only where it
    was measured faster."""
    if name not in ("numpy", "compiled"):
        raise ValueError(f"engine must be 'numpy' or 'compiled'; got {name!r}.")
    if name == "compiled" and _kernels is None:
        raise ImportError("skmlp's compiled kernels are not built on this machine.")
    before = dict(_engine)
    _engine.update(name=name, everywhere=everywhere)
    try:
        yield
    finally:
        _engine.update(before)


def warn_if_missing() -> None:
    """Warn once per process when the kernels were not built (and the numpy
    engine was not asked for)."""
    if _kernels is None and not _FORCED_NUMPY and not _warned:
        _warned.append(True)
        warn(
            (
                "skmlp's compiled kernels were built from other activations or losses "
                "than these (a stale build); training uses the slower numpy engine. "
                "Rebuild them (python setup.py build_ext --inplace, or reinstall), "
                "or set SKMLP_ENGINE=numpy to silence this."
            )
            if _STALE
            else (
                "skmlp runs without its compiled kernels (the extension was not built "
                "when skmlp was installed); training uses the slower numpy engine. "
                "Reinstall with a C compiler available, or set SKMLP_ENGINE=numpy to "
                "silence this."
            ),
        )


def kernels_for(X):
    """The kernel module if the compiled engine trains on ``X``, else None."""
    if _engine["name"] != "compiled" or not isinstance(X, np.ndarray):
        return None
    return _kernels


def pays_off(net, batch_size: int) -> bool:
    """Whether the compiled loss-and-gradient step is the faster one for
    ``net`` at ``batch_size`` (see the measurements above)."""
    if _engine["everywhere"]:
        return True
    where = net.activation.compiled_pays_off
    widest = max(net.layer_units[1:-1], default=0)
    return where == "always" or (where == "small" and batch_size * widest <= SMALL)


class CompiledStep:
    """One fit's buffers for the compiled ``loss_and_grad`` of ``net``.

    Bound to the workspace ``ws`` (its parameter and gradient vectors) for
    batches of up to ``batch_size`` rows.
    """

    def __init__(self, net, ws, batch_size: int):
        dtype = ws.params.dtype
        widths = net.layer_units[1:]
        self.net, self.ws = net, ws
        self.units = np.asarray(net.layer_units, dtype=np.intp)
        self.offsets = np.concatenate([[0], np.cumsum([batch_size * w for w in widths])])
        self.offsets = self.offsets[:-1].astype(np.intp)
        total = batch_size * sum(widths)
        self.acts = np.empty(total, dtype)
        self.deltas = np.empty(total, dtype)
        keeps_input = net.activation.needs_input
        self.inputs = np.empty(total if keeps_input else 1, dtype)
        rates = [*net.dropout, 0.0]  # the output layer never drops
        self.has_mask = np.array([r > 0 for r in rates], dtype=np.intp)
        dropout = bool(self.has_mask.any())
        self.masks = np.ones(total if dropout else 1, dtype)
        self.dropped = np.empty(total if dropout else 1, dtype)
        self._mask_views = [
            self.masks[o : o + batch_size * w].reshape(batch_size, w) if r > 0 else None
            for o, w, r in zip(self.offsets, widths, rates)
        ]
        self.activation = ACTIVATION_CODES[net.activation.name]
        self.loss = LOSS_CODES[net.loss.name]
        self.setting = float(net.loss.setting or 0.0)
        self._buffers = _kernels.Buffers(self)  # the kernel's view of them, checked once

    def draw_dropout_masks(self, m: int, rng: np.random.Generator) -> None:
        """The numpy engine's draws (same order, same stream), into flat buffers."""
        for view, rate in zip(self._mask_views, self.net.dropout):
            if view is not None:
                rows = view[:m]
                rng.random(out=rows, dtype=rows.dtype)
                np.greater_equal(rows, rate, out=rows)
                rows *= 1.0 / (1.0 - rate)

    def loss_and_grad(self, X, Y, sample_weight, alpha: float, l1_ratio: float) -> float:
        ws = self.ws
        return _kernels.loss_and_grad(
            self._buffers, X, Y, sample_weight, ws.params, ws.grad, float(alpha), float(l1_ratio)
        )


def prepare(data):
    """``data`` as the kernels take it (C-contiguous, floating targets), once
    per fit; unchanged where the numpy engine trains."""
    from .trainer import TrainingData  # a cycle at import time otherwise

    X = data.X
    if kernels_for(X) is None:
        return data
    dtype = X.dtype
    Y = data.Y if data.Y.dtype == dtype else data.Y.astype(dtype)
    sw = data.sample_weight
    return TrainingData(
        np.ascontiguousarray(X, dtype=dtype),
        np.ascontiguousarray(Y),
        None if sw is None else np.ascontiguousarray(sw, dtype=dtype),
        data.out_dtype,
    )


def fast_update(optimizer):
    """``update(params, grad, state, rate)`` of ``optimizer`` in one compiled
    pass, with the numpy engine's arithmetic; None where there is none."""
    from .optimizers import SGD, Adagrad, Adam, NAdam, RMSProp

    k = _kernels
    kind = type(optimizer)
    if kind is SGD:

        def update(params, grad, state, rate):
            k.sgd_update(
                params,
                grad,
                state["velocity"],
                rate,
                optimizer.momentum,
                optimizer.nesterovs_momentum,
            )

    elif kind is NAdam:

        def update(params, grad, state, rate):
            state["t"] += 1
            b1, b2 = optimizer.beta_1, optimizer.beta_2
            scalars = optimizer.step_scalars(state["t"])
            k.nadam_update(
                params, grad, state["m"], state["v"], b1, b2, *scalars, optimizer.epsilon, rate
            )

    elif kind is Adam:

        def update(params, grad, state, rate):
            state["t"] += 1
            step, eps_scaled = optimizer.step_scalars(state["t"], rate)
            k.adam_update(
                params,
                grad,
                state["m"],
                state["v"],
                optimizer.beta_1,
                optimizer.beta_2,
                step,
                eps_scaled,
            )

    elif kind is RMSProp:

        def update(params, grad, state, rate):
            k.rmsprop_update(params, grad, state["v"], optimizer.rho, optimizer.epsilon, rate)

    elif kind is Adagrad:

        def update(params, grad, state, rate):
            k.adagrad_update(params, grad, state["G"], optimizer.epsilon, rate)

    else:
        return None
    return update


# --- BLAS threads ---------------------------------------------------------------
# The BLAS thread counts when skmlp was imported: a later difference is the
# user's own threadpool_limits, which always wins.
_BLAS_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
_controller = {}


def _blas_controller():
    if "c" not in _controller:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
            _controller["c"] = None
        else:
            controller = ThreadpoolController().select(user_api="blas")
            _controller["c"] = controller
            _controller["threads"] = [lib.num_threads for lib in controller.lib_controllers]
    return _controller["c"]


# A batch's largest product (multiply-adds) below which training runs BLAS on
# one thread; measured with benchmarks/blas_threads.py (docs/performance.md).
SMALL_PRODUCT = 2**23


_policy = {"on": True}


@contextlib.contextmanager
def blas_policy(enabled: bool):
    """Apply (or not) the one-thread policy of :func:`blas_threads_for` inside
    the block: the benchmark measures both threadings with it."""
    before = _policy["on"]
    _policy["on"] = bool(enabled)
    try:
        yield
    finally:
        _policy["on"] = before


@contextlib.contextmanager
def blas_threads_for(net, batch_size: int):
    """One BLAS thread while training ``net`` on batches of ``batch_size`` rows
    whose products are small, where more threads only contend for the cores;
    left alone when the user limited the threads (``threadpool_limits`` or an
    environment variable)."""
    units = net.layer_units
    largest = batch_size * max(a * b for a, b in itertools.pairwise(units))
    controller = _blas_controller()
    chosen = (
        _policy["on"]
        and controller is not None
        and largest <= SMALL_PRODUCT
        and not any(os.environ.get(name) for name in _BLAS_ENV)
        and [lib.num_threads for lib in controller.lib_controllers] == _controller["threads"]
        and max(_controller["threads"], default=1) > 1
    )
    if not chosen:
        yield
        return
    with controller.limit(limits=1):
        yield


try:  # the thread counts as the user left them, before any fit
    _blas_controller()
except Exception:  # pragma: no cover - an unusual BLAS setup: no policy then
    _controller["c"] = None


def show_versions(file=None) -> None:
    """Print the engine skmlp trains with, and the versions it runs on.

    Parameters
    ----------
    file : file-like, default=None
        Where to print; standard output by default.

    Returns
    -------
    None
        The report is printed: skmlp's version and engine (``compiled`` or
        ``numpy``), Python, numpy, scipy, scikit-learn, and each BLAS library
        with its thread count.

    Examples
    --------
    >>> import skmlp
    >>> skmlp.show_versions()  # doctest: +ELLIPSIS
    skmlp ...
    """
    import scipy
    import sklearn

    from . import __version__

    lines = [
        f"skmlp {__version__}",
        f"engine: {active_engine()}"
        + (" (SKMLP_ENGINE=numpy)" if _FORCED_NUMPY else "")
        + ("" if _kernels is not None else " (compiled kernels not built)"),
        f"python: {platform.python_version()} ({platform.machine()})",
        f"numpy: {np.__version__}",
        f"scipy: {scipy.__version__}",
        f"scikit-learn: {sklearn.__version__}",
    ]
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            if pool.get("user_api") == "blas":
                lines.append(
                    f"BLAS: {pool.get('internal_api')} {pool.get('version')} "
                    f"({pool.get('num_threads')} threads, {pool.get('filepath')})"
                )
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass
    print("\n".join(lines), file=file)
