"""The compiled engine: which engine runs, and the thin wrapper over the kernels.

skmlp trains with compiled kernels (:mod:`skmlp._kernels`, Cython, built by
``pip install .``) when they were built, and with its numpy engine
otherwise; the numpy engine is the reference every kernel is tested
against. ``SKMLP_ENGINE=numpy`` in the environment at import forces the
numpy engine. The compiled path covers the stochastic solvers on dense
input; sparse input, L-BFGS and prediction run on numpy either way, but for
the element-wise kernels of the tabular layers (the parametric activation's,
:func:`elementwise_kernels`), which serve every pass through those layers.

:class:`CompiledStep` holds a fit's flat buffers and calls the one-batch
kernel, checking its arrays once per fit (dtype, contiguity), never per
batch. Each optimizer's compiled step is its own ``compiled_update``
(:mod:`skmlp.optimizers`), beside its numpy ``update``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import multiprocessing
import os
import platform
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ._math import draw_dropout_mask
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
    "attach",
    "blas_threads_for",
    "choose_blas_threads",
    "engine",
    "show_versions",
]

# The kernels' integer codes: each entry's place in its registry, as the
# kernels were generated (skmlp/_kernels.pyx.tp). Kernels built from other
# registries (a stale build beside the sources) are not used.
ACTIVATION_CODES = {name: code for code, name in enumerate(ACTIVATIONS)}
LOSS_CODES = {name: code for code, name in enumerate(LOSSES)}


# kernels the Python side calls unguarded: a build without one of them was
# made from an older template
KERNEL_FUNCTIONS = (
    "loss_and_grad",
    "parametric_forward",
    "parametric_backward",
    "PARAMETRIC_KEPT",
    "dropout_mask",
)


def _built_from_these_registries(kernels) -> bool:
    """Whether ``kernels`` were generated from the registries as they are,
    and from a template that has every kernel of ``KERNEL_FUNCTIONS``."""
    names = (getattr(kernels, "ACTIVATIONS", None), getattr(kernels, "LOSSES", None))
    if names != (tuple(ACTIVATIONS), tuple(LOSSES)):
        return False
    return all(hasattr(kernels, name) for name in KERNEL_FUNCTIONS)


_STALE = _kernels is not None and not _built_from_these_registries(_kernels)
if _STALE:
    _kernels = None

_FORCED_NUMPY = os.environ.get("SKMLP_ENGINE", "").strip().lower() == "numpy"
_engine = {
    "name": "compiled" if _kernels is not None and not _FORCED_NUMPY else "numpy",
    "everywhere": False,  # tests: the compiled step for every activation and size
    "epochs": True,  # whole epochs in the epoch kernel where it covers them
    "elementwise": True,  # the element-wise layers' kernels (elementwise_kernels)
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


@contextlib.contextmanager
def compiled_epochs(enabled: bool):
    """Run whole epochs in the epoch kernel where it covers them (the
    default), or every batch from Python, inside the block: the benchmark
    and the tests compare the two (:class:`CompiledEpoch`)."""
    with _switched("epochs", enabled):
        yield


@contextlib.contextmanager
def compiled_elementwise(enabled: bool):
    """Run the element-wise layers' kernels (:func:`elementwise_kernels`)
    on the compiled engine (the default), or their numpy lines, inside the
    block, the rest of the engine unchanged: the benchmark compares the two."""
    with _switched("elementwise", enabled):
        yield


@contextlib.contextmanager
def _switched(switch: str, enabled: bool):
    """The engine's on/off ``switch`` set to ``enabled`` inside the block."""
    before = _engine[switch]
    _engine[switch] = bool(enabled)
    try:
        yield
    finally:
        _engine[switch] = before


def warn_if_missing() -> None:
    """Warn once per process when the kernels were not built (and the numpy
    engine was not asked for)."""
    if _kernels is None and not _FORCED_NUMPY and not _warned:
        _warned.append(True)
        warn(
            (
                "skmlp's compiled kernels were built from other activations, losses "
                "or kernels than these (a stale build); training uses the slower "
                "numpy engine. Rebuild them (python setup.py build_ext --inplace, or "
                "reinstall), or set SKMLP_ENGINE=numpy to silence this."
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


def elementwise_kernels(*arrays):
    """The kernel module if the compiled engine runs a layer's element-wise
    kernel (as ``parametric_forward``) on ``arrays``, else None: every array
    given (None is skipped) dense, C-contiguous, writable (the kernels take
    no read-only array), float32 or float64, and of the first one's dtype.
    ``engine('numpy')`` turns them off with the rest, and
    ``compiled_elementwise(False)`` alone."""
    if _engine["name"] != "compiled" or not _engine["elementwise"]:
        return None
    dtype = arrays[0].dtype
    if dtype != np.float32 and dtype != np.float64:
        return None
    for a in arrays:
        if a is not None and not (
            isinstance(a, np.ndarray)
            and a.dtype == dtype
            and a.flags.c_contiguous
            and a.flags.writeable
        ):
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
        self.net, self.ws, self.batch_size = net, ws, batch_size
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
                draw_dropout_mask(view[:m], rate, rng, elementwise_kernels(view))

    def loss_and_grad(self, X, Y, sample_weight, alpha: float, l1_ratio: float) -> float:
        ws = self.ws
        return _kernels.loss_and_grad(
            self._buffers, X, Y, sample_weight, ws.params, ws.grad, float(alpha), float(l1_ratio)
        )

    def epoch(self, step, batches) -> CompiledEpoch | None:
        """The compiled epoch of ``step`` over ``batches``, or None where a
        batch needs Python (see :class:`CompiledEpoch`)."""
        return CompiledEpoch.build(self, step, batches)


# The fewest batches per epoch for which the epoch kernel runs: it saves a few
# microseconds per batch and costs a few per epoch (binding the chain), so an
# epoch of one batch (W3: iris, batch 150) was ~10% slower in it, and two
# broke even (one BLAS thread, docs/performance.md).
MIN_EPOCH_BATCHES = 2


class CompiledEpoch:
    """A whole epoch in one call of the epoch kernel: each batch's gather,
    loss and gradient, and the update chain, in the order and arithmetic of
    ``trainer._train_epoch``'s loop over :class:`~skmlp.trainer.Step`.

    Built (:meth:`build`) only where nothing of a batch needs Python: the
    batch kernel is attached, the rows are dense arrays of the parameters'
    dtype, no unit drops (its masks are numpy draws), and the chain runs on
    the kernels with links the kernel covers (``_kernels.EPOCH_LINKS``);
    and only for epochs of at least ``MIN_EPOCH_BATCHES`` batches.
    Everything that varies by batch is computed in Python before the call:
    the rates, and the optimizer's scalars (``kernel_args``, which advance
    its state's step count as the batches would).
    """

    def __init__(self, fast: CompiledStep, step, batches, links: dict):
        ws, chain = step.ws, step.chain
        self.X, self.Y, self.sample_weight = batches.X, batches.Y, batches.sample_weight
        self.X_buf, self.Y_buf, self.sw_buf = batches.X_buf, batches.Y_buf, batches.sw_buf
        self.params, self.grad = ws.params, ws.grad
        self.alpha, self.l1_ratio = float(step.alpha), float(step.l1_ratio)
        self.batch_size = batches.batch_size
        self.n_batches = -(-self.X.shape[0] // self.batch_size)
        optimizer = self.optimizer = chain.optimizer
        self.vectors = optimizer.c_update.arrays
        self.optimizer_code = _kernels.OPTIMIZER_KERNELS.index(optimizer.kernel)
        self.links, self.runs, self.counters = links, None, None
        self.shuffle = batches.shuffle
        width = max(1, len(optimizer.c_update.scalars))
        self.scalars = np.empty((self.n_batches, width))
        self.losses = np.empty(self.n_batches)
        self.kernel = _kernels.Epoch(fast._buffers, self)

    @classmethod
    def build(cls, fast: CompiledStep, step, batches) -> CompiledEpoch | None:
        """The compiled epoch, or None where a batch needs Python."""
        chain = step.chain
        if not _engine["epochs"] or chain is None or step.dropout_rng is not None:
            return None
        if fast.has_mask.any():  # masks are numpy draws, batch by batch
            return None
        if batches.n_batches < MIN_EPOCH_BATCHES:
            return None
        if chain.optimizer.kernel not in getattr(_kernels, "OPTIMIZER_KERNELS", ()):
            return None  # kernels built before the epoch kernel, or this optimizer
        links = chain.compiled_links(getattr(_kernels, "EPOCH_LINKS", ()))
        if links is None or batches.X_buf is None or batches.batch_size > fast.batch_size:
            return None
        dtype = step.ws.params.dtype
        arrays = [batches.X, batches.Y, batches.X_buf, batches.Y_buf]
        arrays += [a for a in (batches.sample_weight, batches.sw_buf) if a is not None]
        if any(a.dtype != dtype or not a.flags.c_contiguous for a in arrays):
            return None
        return cls(fast, step, batches, links)

    def __call__(self, state, rates: list[float], order) -> tuple[list[float], int]:
        """Run the epoch on the chain's ``state`` (a ``ChainState``) at
        ``rates`` (one per batch), in the row ``order`` of the epoch's
        draw: the loss of each batch run (the last one non-finite if the
        epoch stopped there), and the steps whose gradient was clipped."""
        opt_state = state.optimizer
        if self.counters is None:
            self.counters = _counters(opt_state)
        counters, kernel_args, scalars = self.counters, self.optimizer.kernel_args, self.scalars
        before = []  # the counters before each batch's step
        for k, rate in enumerate(rates):
            before.append([getattr(opt_state, name) for name in counters])
            scalars[k] = kernel_args(opt_state, rate)
        # the links as they stand this epoch (an epoch hook may rescale the decay)
        runs = {name: link.compiled_runs(self.params.size) for name, link in self.links.items()}
        if runs != self.runs:
            self.kernel.set_links(runs)
            self.runs = runs
        self.kernel.bind(
            [getattr(opt_state, name) for name in self.vectors],
            {name: getattr(s, "before", None) for name, s in state.transforms.items()},
        )
        order = None if not self.shuffle else np.ascontiguousarray(order, np.intp)
        n_run, clipped = self.kernel.run(order, np.asarray(rates, np.float64), scalars, self.losses)
        losses = self.losses[:n_run].tolist()
        if not math.isfinite(losses[-1]):  # that batch's step and the later ones were not taken
            for name, value in zip(counters, before[n_run - 1]):
                setattr(opt_state, name, value)
        return losses, clipped


def _counters(state) -> list[str]:
    """The fields of an optimizer's state that are numbers its
    ``kernel_args`` may advance (its step count), not vectors."""
    return [
        f.name
        for f in dataclasses.fields(state)
        if not isinstance(getattr(state, f.name), np.ndarray)
    ]


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


def attach(step, X, batch_size: int) -> None:
    """Put ``step``'s loss and gradient on the compiled batch kernel where
    the kernels train on ``X`` and the kernel pays off for ``batch_size``
    rows (:func:`pays_off`); leave it on the numpy engine otherwise. The
    update chain picks its compiled links itself (``make_chain(kernels=)``).
    The batch kernel computes the dense MLP only (``Network.is_mlp``)."""
    if step.net.is_mlp and kernels_for(X) is not None and pays_off(step.net, batch_size):
        step.compiled = CompiledStep(step.net, step.ws, batch_size)


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


# A batch's largest product (multiply-adds) at or below which training runs
# BLAS on one thread: a second thread gains nothing there (W2's 0.8 million)
# and only wakes and sleeps around every product. Measured with
# benchmarks/blas_threads.py (docs/performance.md).
THREADED_PRODUCT = 2**21
# Above it and up to SMALL_PRODUCT, training takes one thread plus one per
# idle core: a second thread gains 1.3x-1.8x on an idle machine (W1's 6.6
# million) and, next to busy processes, collapses products up to ~40 million
# 2x-80x; from ~260 million on, two threads are no slower even then, so
# above SMALL_PRODUCT training keeps BLAS's own threads.
SMALL_PRODUCT = 2**28
# a core counts as idle while other processes use less than this share of it
_BUSY_SHARE = 0.1
# the shortest window over which the CPU time others used is measured
_MIN_WINDOW = 0.05


class Machine(NamedTuple):
    """What the thread policy sees of the machine at the start of a fit."""

    cores: int  # the CPUs this process may use (affinity, container quota)
    others: float | None  # the cores' worth of CPU other processes use; None: unknown


def choose_blas_threads(
    largest: int,
    default: int,
    *,
    user_limited: bool = False,
    env_limited: bool = False,
    in_worker: bool = False,
    machine: Callable[[], Machine] | None = None,
) -> int | None:
    """The BLAS thread count for a fit; ``None`` leaves the threads as they are.

    A user's ``threadpool_limits`` always stands. A search worker process
    trains on one thread: its siblings use the other cores, and one thread
    is within any limit. Otherwise thread environment variables stand, large
    products keep BLAS's threads, small ones take one, and the products
    between take one plus one per idle core.

    Parameters
    ----------
    largest : int
        The largest matrix product of one batch, in multiply-adds.
    default : int
        BLAS's thread count when skmlp was imported (the most it takes).
    user_limited : bool, default=False
        Whether the user changed the thread counts since (``threadpool_limits``).
    env_limited : bool, default=False
        Whether ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` or
        ``MKL_NUM_THREADS`` is set.
    in_worker : bool, default=False
        Whether the fit runs in a worker process (joblib's loky, dask,
        multiprocessing).
    machine : callable, default=None
        Returns the :class:`Machine` now; called only for the products
        between, and one thread taken without it or when its load is unknown.

    Returns
    -------
    int or None
        The thread count to train with, or ``None`` for no change.
    """
    if user_limited:
        return None
    if in_worker:
        return 1
    if env_limited or largest > SMALL_PRODUCT:
        return None
    if largest <= THREADED_PRODUCT or machine is None:
        return 1
    cores, others = machine()
    if others is None:
        return 1
    idle = math.floor(cores - 1 - others + _BUSY_SHARE)
    return max(1, min(default, 1 + idle))


class _CpuSample(NamedTuple):
    wall: float  # seconds, monotonic
    busy: float  # CPU seconds all processes used on our CPUs, since boot
    own: float  # CPU seconds this process used, all its threads
    others_running: int  # runnable tasks right now, not counting ours


def _cpu_sample(cpus) -> _CpuSample | None:
    """The kernel's CPU counters (Linux ``/proc``), or None elsewhere."""
    try:
        with open("/proc/stat") as f:
            lines = f.read().splitlines()
        busy, running = 0, 0
        for line in lines:
            name, *fields = line.split()
            if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
                user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
                busy += user + nice + system + irq + softirq + steal  # steal: the host took it
            elif name == "procs_running":
                running = int(fields[0])
        own_running = _own_running()
    except (OSError, ValueError):  # no /proc, or a layout this does not know
        return None
    times = os.times()
    return _CpuSample(
        time.monotonic(),
        busy / os.sysconf("SC_CLK_TCK"),
        times.user + times.system,
        max(running - own_running, 0),
    )


def _own_running() -> int:
    """This process's threads that are running or runnable now."""
    count = 0
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/stat") as f:
                count += f.read().rpartition(")")[2].split()[0] == "R"
        except (OSError, IndexError):  # the thread ended meanwhile
            continue
    return count


def _others_since(before: _CpuSample, now: _CpuSample) -> float:
    """The cores' worth of CPU other processes used between two samples."""
    used = (now.busy - before.busy) - (now.own - before.own)
    return max(used / (now.wall - before.wall), 0.0)


_load = {}  # the last CPU sample, and what others used in the window before it


def _others_load(cpus) -> float | None:
    """Other processes' load on ``cpus``: the larger of what runs right now
    and what ran since the previous sample (the previous fit, or import).
    Without ``/proc``, the 1-minute load average, ours included."""
    now = _cpu_sample(cpus)
    if now is None:
        try:
            return os.getloadavg()[0]
        except (AttributeError, OSError):  # Windows: no load average
            return None
    before = _load.get("sample")
    if before is None or now.wall - before.wall >= _MIN_WINDOW:
        if before is not None:
            _load["recent"] = _others_since(before, now)
        _load["sample"] = now
    return max(float(now.others_running), _load.get("recent", 0.0))


def _usable_cpus() -> set[int]:
    try:
        return os.sched_getaffinity(0)
    except AttributeError:  # not Linux: every CPU
        return set(range(os.cpu_count() or 1))


def _measure_machine() -> Machine:
    from joblib import cpu_count  # honours container CPU quotas

    cpus = _usable_cpus()
    return Machine(max(1, min(len(cpus), cpu_count())), _others_load(cpus))


def _in_worker() -> bool:
    """Whether this fit runs in a worker process (loky, dask, multiprocessing)."""
    return multiprocessing.parent_process() is not None


_policy = {"on": True}


@contextlib.contextmanager
def blas_policy(enabled: bool):
    """Apply (or not) the thread policy of :func:`blas_threads_for` inside
    the block: the benchmark measures both threadings with it."""
    before = _policy["on"]
    _policy["on"] = bool(enabled)
    try:
        yield
    finally:
        _policy["on"] = before


def _choose(controller, largest: int) -> int | None:
    now = [lib.num_threads for lib in controller.lib_controllers]
    threads = choose_blas_threads(
        largest,
        max(_controller["threads"], default=1),
        user_limited=now != _controller["threads"],
        env_limited=any(os.environ.get(name) for name in _BLAS_ENV),
        in_worker=_in_worker(),
        machine=_measure_machine,
    )
    return threads if threads is not None and threads < max(now, default=1) else None


@contextlib.contextmanager
def blas_threads_for(net, batch_size: int):
    """BLAS threads while training ``net`` on batches of ``batch_size`` rows,
    as :func:`choose_blas_threads` decides; the user's counts come back after.

    Only the main thread sets them: BLAS's count is process-wide, and
    threadpoolctl lets one live thread at a time control OpenBLAS's, so a
    fit in another thread leaves them alone rather than take that control
    from the main thread (or leave the process limited after it).
    """
    controller = _blas_controller()
    if (
        not _policy["on"]
        or controller is None
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    units = net.layer_units
    threads = _choose(controller, batch_size * max(a * b for a, b in itertools.pairwise(units)))
    if threads is None:
        yield
        return
    with controller.limit(limits=threads):
        yield


try:  # the thread counts as the user left them, before any fit
    _blas_controller()
    _others_load(_usable_cpus())  # the start of the first fit's window
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
