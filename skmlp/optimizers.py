"""Update rules over the flat parameter vector, and the chain they run in.

Every link of an update chain, an optimizer or a transform, holds its
hyperparameters and has two methods, in the manner of optax:

``init(params) -> state``
    a fresh state: a small dataclass with everything the link carries from
    one step to the next, its scratch buffers included;
``update(grads, state, params, rate) -> state``
    one step at learning rate ``rate``. For speed it works in place: an
    optimizer moves ``params`` and advances the arrays of ``state``, a
    transform rescales ``grads`` or ``params``. Nothing is kept on the link.

A state persists as plain data: ``state.to_dict()`` holds every field but
the scratch buffers (numpy arrays and numbers), and ``state.load(data)``
copies such a dict back into a state that ``init`` made. Scratch is left
out because it carries nothing from one step to the next; restoring a saved
state is ``init`` (which allocates the scratch) and then ``load``.

Each optimizer gives its step twice, side by side: ``update`` in numpy, the
reference, and ``c_update``, the same arithmetic per element in Cython, from
which the build generates its compiled kernel (:mod:`skmlp._codegen`);
``compiled_update(kernels)`` runs that kernel in one pass. The registry ``OPTIMIZERS`` maps
solver names to classes; ``hyperparameters`` names the estimator parameters
each class reads, under the estimator's names. Optimizers know nothing of
layers, losses, epochs or schedules: the rate of each step is handed to them.

:func:`make_chain` is the one place that declares which transforms run
around an optimizer's step, and in which order (:class:`Chain`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from ._codegen import CompiledForm, cython

__all__ = [
    "OPTIMIZERS",
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Chain",
    "ChainState",
    "DecoupledWeightDecay",
    "GradientClip",
    "GroupRates",
    "L1ZeroClip",
    "Lion",
    "NAdam",
    "Optimizer",
    "RMSProp",
    "State",
    "make_chain",
]

# the metadata of a field that holds a buffer carrying nothing from one step
# to the next: it is not persisted (to_dict), init allocates it
_SCRATCH = {"scratch": True}


@dataclass
class State:
    """The base of every link's state (the state of a link that keeps none)."""

    def to_dict(self) -> dict:
        """Every field but the scratch buffers; arrays are not copied."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.metadata != _SCRATCH}

    def load(self, data: Mapping) -> None:
        """Copy the fields of ``data`` (a :meth:`to_dict`) into this state."""
        for name, value in data.items():
            current = getattr(self, name)
            if isinstance(current, np.ndarray):
                if np.shape(value) != current.shape:
                    raise ValueError(
                        f"The saved {name!r} has shape {np.shape(value)}, not {current.shape}."
                    )
                np.copyto(current, value)
            else:
                setattr(self, name, value)


class Optimizer:
    """The base of the update rules (see the module docstring).

    ``decoupled_decay`` says whether the estimator's ``weight_decay``
    applies to this optimizer, as a :class:`DecoupledWeightDecay` link.
    ``c_update`` is the step's arithmetic per element in Cython, from which
    the build generates the kernel ``<kernel>_update`` (:mod:`skmlp._codegen`);
    ``kernel_args`` gives that kernel's scalars for one step.
    """

    hyperparameters: tuple[str, ...] = ()
    decoupled_decay: bool = False
    kernel: str = ""
    c_update: CompiledForm | None = None

    def init(self, params: np.ndarray) -> State:
        raise NotImplementedError

    def update(self, grads: np.ndarray, state: State, params: np.ndarray, rate: float) -> State:
        raise NotImplementedError

    def kernel_args(self, state: State, rate: float) -> tuple:
        """The compiled step's scalars (``c_update.scalars``), in order;
        advances the state's step count, where there is one."""
        raise NotImplementedError

    def compiled_update(self, kernels) -> Callable:
        """``update`` as one pass of the generated ``kernels.<kernel>_update``."""
        kernel = getattr(kernels, f"{self.kernel}_update")
        arrays = self.c_update.arrays

        def update(grads, state: State, params, rate: float) -> State:
            vectors = [getattr(state, name) for name in arrays]
            kernel(params, grads, *vectors, *self.kernel_args(state, rate))
            return state

        return update

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.hyperparameters)
        return f"{type(self).__name__}({args})"


@dataclass
class SGDState(State):
    velocity: np.ndarray
    work: np.ndarray = field(repr=False, metadata=_SCRATCH)


class SGD(Optimizer):
    r"""Stochastic gradient descent with (Nesterov) momentum, as scikit-learn.

    With rate :math:`\eta`, momentum :math:`\mu` and gradient :math:`g`:

    .. math::

        v &\leftarrow \mu v - \eta g \\
        \theta &\leftarrow \theta + v                 \quad\text{(classical)} \\
        \theta &\leftarrow \theta + \mu v - \eta g    \quad\text{(Nesterov)}

    ``momentum=0`` is plain SGD. ``weight_decay`` is decoupled, as
    PyTorch's ``SGD`` does it.
    """

    hyperparameters = ("momentum", "nesterovs_momentum")
    decoupled_decay = True
    kernel = "sgd"
    c_update = cython(
        "work = grad * lr",
        "velocity = velocity * mu - work",
        "if nesterov:",
        "    params = (params - work) + velocity * mu",
        "else:",
        "    params += velocity",
        arrays=("velocity",),
        scalars=("rate", "momentum", "nesterov"),
        mu="momentum",
        lr="rate",
    )

    def __init__(self, momentum: float = 0.9, nesterovs_momentum: bool = True):
        self.momentum = float(momentum)
        self.nesterovs_momentum = bool(nesterovs_momentum)

    def init(self, params: np.ndarray) -> SGDState:
        return SGDState(np.zeros_like(params), np.empty_like(params))

    def update(self, grads, state: SGDState, params, rate: float) -> SGDState:
        work, velocity = state.work, state.velocity
        np.multiply(grads, rate, out=work)
        velocity *= self.momentum
        velocity -= work
        if self.nesterovs_momentum:
            params -= work
            np.multiply(velocity, self.momentum, out=work)
            params += work
        else:
            params += velocity
        return state

    def kernel_args(self, state: SGDState, rate: float) -> tuple:
        return rate, self.momentum, float(self.nesterovs_momentum)


@dataclass
class AdamState(State):
    t: int
    m: np.ndarray
    v: np.ndarray
    work: np.ndarray = field(repr=False, metadata=_SCRATCH)


class Adam(Optimizer):
    r"""Adam (Kingma & Ba 2014, arXiv 1412.6980), as scikit-learn.

    With step count :math:`t`, rate :math:`\eta` and gradient :math:`g`:

    .. math::

        m &\leftarrow \beta_1 m + (1 - \beta_1) g \\
        v &\leftarrow \beta_2 v + (1 - \beta_2) g^2 \\
        \theta &\leftarrow \theta - \eta
            \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t}
            \frac{m}{\sqrt{v} + \epsilon}

    (the bias corrections folded into the rate, as in the paper's
    Section 2 and in scikit-learn).

    The state keeps :math:`m / (1 - \beta_1)` and :math:`v / (1 - \beta_2)`
    (fields ``m`` and ``v``): without those constant factors each moment
    update is one pass shorter, and the factors are folded into the step size
    and :math:`\epsilon` instead. The arithmetic is the same update.
    """

    hyperparameters = ("beta_1", "beta_2", "epsilon")
    kernel = "adam"
    c_update = cython(
        "m = m * b1 + grad",
        "v = v * b2 + grad * grad",
        "params -= m / (_sqrt(v) + e) * s",
        arrays=("m", "v"),
        scalars=("beta_1", "beta_2", "step", "eps_scaled"),
        b1="beta_1",
        b2="beta_2",
        s="step",
        e="eps_scaled",
    )

    def __init__(self, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8):
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)

    def init(self, params: np.ndarray) -> AdamState:
        return AdamState(0, np.zeros_like(params), np.zeros_like(params), np.empty_like(params))

    def update(self, grads, state: AdamState, params, rate: float) -> AdamState:
        work, m, v = state.work, state.m, state.v  # scaled moments, see the class docstring
        state.t += 1
        m *= self.beta_1
        m += grads
        v *= self.beta_2
        np.multiply(grads, grads, out=work)
        v += work
        step, eps_scaled = self.step_scalars(state.t, rate)
        np.sqrt(v, out=work)
        work += eps_scaled
        np.divide(m, work, out=work)
        work *= step
        params -= work
        return state

    def kernel_args(self, state: AdamState, rate: float) -> tuple:
        state.t += 1
        return self.beta_1, self.beta_2, *self.step_scalars(state.t, rate)

    def step_scalars(self, t: int, learning_rate: float) -> tuple[float, float]:
        """Step ``t``'s size and the epsilon added to ``sqrt(v)``, for the
        scaled moments (shared by both engines)."""
        b1, b2 = self.beta_1, self.beta_2
        # sqrt(v_true) + eps = sqrt(1 - b2) * (sqrt(v) + eps / sqrt(1 - b2))
        root = np.sqrt(1.0 - b2)
        step = learning_rate * np.sqrt(1.0 - b2**t) / (1.0 - b1**t) * (1.0 - b1) / root
        return float(step), float(self.epsilon / root)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019): Adam's
    step, and a :class:`DecoupledWeightDecay` link before it."""

    decoupled_decay = True


@dataclass
class RMSPropState(State):
    v: np.ndarray
    work: np.ndarray = field(repr=False, metadata=_SCRATCH)


class RMSProp(Optimizer):
    r"""RMSProp (Tieleman & Hinton 2012, lecture 6e of "Neural Networks for
    Machine Learning").

    With decay :math:`\rho`, rate :math:`\eta` and gradient :math:`g`:

    .. math::

        v &\leftarrow \rho v + (1 - \rho) g^2 \\
        \theta &\leftarrow \theta - \eta \frac{g}{\sqrt{v} + \epsilon}
    """

    hyperparameters = ("rho", "epsilon")
    kernel = "rmsprop"
    c_update = cython(
        "v = v * decay + grad * grad * one_decay",
        "params -= grad / (_sqrt(v) + e) * lr",
        arrays=("v",),
        scalars=("rho", "epsilon", "rate"),
        decay="rho",
        one_decay="1 - rho",
        e="epsilon",
        lr="rate",
    )

    def __init__(self, rho: float = 0.9, epsilon: float = 1e-8):
        self.rho = float(rho)
        self.epsilon = float(epsilon)

    def init(self, params: np.ndarray) -> RMSPropState:
        return RMSPropState(np.zeros_like(params), np.empty_like(params))

    def update(self, grads, state: RMSPropState, params, rate: float) -> RMSPropState:
        work, v = state.work, state.v
        v *= self.rho
        np.multiply(grads, grads, out=work)
        work *= 1.0 - self.rho
        v += work
        np.sqrt(v, out=work)
        work += self.epsilon
        np.divide(grads, work, out=work)
        work *= rate
        params -= work
        return state

    def kernel_args(self, state: RMSPropState, rate: float) -> tuple:
        return self.rho, self.epsilon, rate


@dataclass
class AdagradState(State):
    G: np.ndarray
    work: np.ndarray = field(repr=False, metadata=_SCRATCH)


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer 2011, JMLR 12).

    With rate :math:`\eta` and gradient :math:`g`:

    .. math::

        G &\leftarrow G + g^2 \\
        \theta &\leftarrow \theta - \eta \frac{g}{\sqrt{G} + \epsilon}
    """

    hyperparameters = ("epsilon",)
    kernel = "adagrad"
    c_update = cython(
        "G += grad * grad",
        "params -= grad / (_sqrt(G) + e) * lr",
        arrays=("G",),
        scalars=("epsilon", "rate"),
        e="epsilon",
        lr="rate",
    )

    def __init__(self, epsilon: float = 1e-8):
        self.epsilon = float(epsilon)

    def init(self, params: np.ndarray) -> AdagradState:
        return AdagradState(np.zeros_like(params), np.empty_like(params))

    def update(self, grads, state: AdagradState, params, rate: float) -> AdagradState:
        work, G = state.work, state.G
        np.multiply(grads, grads, out=work)
        G += work
        np.sqrt(G, out=work)
        work += self.epsilon
        np.divide(grads, work, out=work)
        work *= rate
        params -= work
        return state

    def kernel_args(self, state: AdagradState, rate: float) -> tuple:
        return self.epsilon, rate


@dataclass
class NAdamState(AdamState):
    numerator: np.ndarray = field(repr=False, metadata=_SCRATCH)


class NAdam(Adam):
    r"""Nesterov-accelerated Adam (Dozat 2016, "Incorporating Nesterov
    Momentum into Adam", ICLR workshop), without the momentum schedule.

    With step count :math:`t`, rate :math:`\eta` and gradient :math:`g`:

    .. math::

        m &\leftarrow \beta_1 m + (1 - \beta_1) g \\
        v &\leftarrow \beta_2 v + (1 - \beta_2) g^2 \\
        \hat m &= \frac{\beta_1 m}{1 - \beta_1^{t+1}}
                  + \frac{(1 - \beta_1) g}{1 - \beta_1^t} \\
        \theta &\leftarrow \theta - \eta
            \frac{\hat m}{\sqrt{v / (1 - \beta_2^t)} + \epsilon}

    Its hyperparameters and saved fields are Adam's, but ``m`` and ``v``
    hold the true moments here, not Adam's rescaled ones.
    """

    kernel = "nadam"
    c_update = cython(
        "m = m * b1 + grad * one_b1",
        "v = v * b2 + grad * grad * one_b2",
        "numerator = m * ms + grad * gs",
        "params -= numerator / (_sqrt(v * vs) + e) * lr",
        arrays=("m", "v"),
        scalars=("beta_1", "beta_2", "m_scale", "g_scale", "v_scale", "epsilon", "rate"),
        b1="beta_1",
        b2="beta_2",
        one_b1="1 - beta_1",
        one_b2="1 - beta_2",
        ms="m_scale",
        gs="g_scale",
        vs="v_scale",
        e="epsilon",
        lr="rate",
    )

    def init(self, params: np.ndarray) -> NAdamState:
        zeros, empty = np.zeros_like, np.empty_like
        return NAdamState(0, zeros(params), zeros(params), empty(params), empty(params))

    def update(self, grads, state: NAdamState, params, rate: float) -> NAdamState:
        work, numerator, m, v = state.work, state.numerator, state.m, state.v
        b1, b2 = self.beta_1, self.beta_2
        state.t += 1
        m *= b1
        np.multiply(grads, 1.0 - b1, out=work)
        m += work
        v *= b2
        np.multiply(grads, grads, out=work)
        work *= 1.0 - b2
        v += work
        m_scale, g_scale, v_scale = self.step_scalars(state.t)
        np.multiply(m, m_scale, out=numerator)
        np.multiply(grads, g_scale, out=work)
        numerator += work
        np.multiply(v, v_scale, out=work)
        np.sqrt(work, out=work)
        work += self.epsilon
        np.divide(numerator, work, out=work)
        work *= rate
        params -= work
        return state

    def kernel_args(self, state: NAdamState, rate: float) -> tuple:
        state.t += 1
        scalars = self.step_scalars(state.t)
        return self.beta_1, self.beta_2, *scalars, self.epsilon, rate

    def step_scalars(self, t: int) -> tuple[float, float, float]:
        """The bias corrections of step ``t``: the factors of ``m``, of the
        gradient and of ``v`` (shared by both engines)."""
        b1, b2 = self.beta_1, self.beta_2
        return b1 / (1.0 - b1 ** (t + 1)), (1.0 - b1) / (1.0 - b1**t), 1.0 / (1.0 - b2**t)


@dataclass
class LionState(State):
    m: np.ndarray
    work: np.ndarray = field(repr=False, metadata=_SCRATCH)


class Lion(Optimizer):
    r"""Lion, "evolved sign momentum" (Chen et al. 2023, "Symbolic Discovery
    of Optimization Algorithms", arXiv 2302.06675, Algorithm 2).

    With rate :math:`\eta`, gradient :math:`g` and momentum :math:`m`:

    .. math::

        c &= \beta_1 m + (1 - \beta_1) g \\
        \theta &\leftarrow \theta - \eta \operatorname{sign}(c) \\
        m &\leftarrow \beta_2 m + (1 - \beta_2) g

    Every coordinate moves by exactly the rate, so Lion wants a rate 3-10x
    smaller than Adam's (the paper's advice). ``weight_decay`` is decoupled,
    as in the paper: :math:`\theta \leftarrow \theta (1 - \eta\lambda)`
    before the step. It reads the estimator's ``beta_1`` and ``beta_2``; the
    paper's defaults are 0.9 and 0.99 (the estimator's ``beta_2`` defaults to
    Adam's 0.999). Both interpolations are written ``m + (1 - beta) (g - m)``,
    in numpy and compiled alike.
    """

    hyperparameters = ("beta_1", "beta_2")
    decoupled_decay = True
    kernel = "lion"
    c_update = cython(
        "c = (grad - m) * one_b1 + m",
        "params -= (1 if c > 0 else (-1 if c < 0 else 0)) * lr",
        "m += (grad - m) * one_b2",
        arrays=("m",),
        scalars=("beta_1", "beta_2", "rate"),
        one_b1="1 - beta_1",
        one_b2="1 - beta_2",
        lr="rate",
    )

    def __init__(self, beta_1: float = 0.9, beta_2: float = 0.99):
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)

    def init(self, params: np.ndarray) -> LionState:
        return LionState(np.zeros_like(params), np.empty_like(params))

    def update(self, grads, state: LionState, params, rate: float) -> LionState:
        work, m = state.work, state.m
        np.subtract(grads, m, out=work)
        work *= 1.0 - self.beta_1
        work += m  # c
        np.sign(work, out=work)
        work *= rate
        params -= work
        np.subtract(grads, m, out=work)
        work *= 1.0 - self.beta_2
        m += work
        return state

    def kernel_args(self, state: LionState, rate: float) -> tuple:
        return self.beta_1, self.beta_2, rate


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "adam": Adam,
    "adamw": AdamW,
    "rmsprop": RMSProp,
    "adagrad": Adagrad,
    "nadam": NAdam,
    "lion": Lion,
}


# --- the transforms ------------------------------------------------------------
# A transform before the optimizer acts on the gradient or the weights the
# step starts from; one after it corrects the step just taken, and sees the
# weights from before the step through its ``snapshot``.


@dataclass
class ClipState(State):
    clipped: int = 0  # steps rescaled since the trainer last took the count


class GradientClip:
    """Rescale the gradient to a global L2 norm of at most ``max_norm``
    before the optimizer's step; the state counts the steps it rescaled."""

    name = "gradient_clip"

    def __init__(self, max_norm: float):
        self.max_norm = float(max_norm)

    def init(self, params: np.ndarray) -> ClipState:
        return ClipState()

    def update(self, grads, state: ClipState, params, rate: float) -> ClipState:
        norm = math.sqrt(float(np.vdot(grads, grads)))
        if norm > self.max_norm:
            grads *= self.max_norm / norm
            state.clipped += 1
        return state

    def compiled_runs(self, n_params: int) -> tuple[list, list, float]:
        """The compiled epoch's form (see :meth:`Chain.compiled_links`), as
        it stands this epoch: the runs (``(start, stop)``), a factor per
        run, and a scale (here the whole vector, the norm, 1)."""
        return [(0, n_params)], [self.max_norm], 1.0


class DecoupledWeightDecay:
    """Shrink the decayed parameters by ``rate * factor`` of themselves
    before the optimizer's step (Loshchilov & Hutter 2019).

    ``runs`` are ``(slice, factor)`` pairs: where the decayed parameters lie,
    and ``weight_decay`` times their group's learning-rate factor.
    """

    name = "weight_decay"

    def __init__(self, runs: Sequence[tuple[slice, float]]):
        self.runs = tuple(runs)
        # a schedule's factor on the decay, set between epochs (the tabular
        # estimators anneal it); 1 leaves the arithmetic as without it
        self.scale = 1.0

    def init(self, params: np.ndarray) -> State:
        return State()

    def update(self, grads, state: State, params, rate: float) -> State:
        for where, factor in self.runs:
            params[where] *= 1.0 - rate * factor * self.scale
        return state

    def compiled_runs(self, n_params: int) -> tuple[list, list, float]:
        """The compiled epoch's form: each run, its factor, and this epoch's
        ``scale``."""
        return _bounds(self.runs, n_params), [factor for _, factor in self.runs], self.scale


@dataclass
class SnapshotState(State):
    # the parameters of each run before the step, end to end
    before: np.ndarray = field(repr=False, metadata=_SCRATCH)


def _snapshot(runs: Sequence[slice], state: SnapshotState, params: np.ndarray) -> None:
    offset = 0
    for where in runs:
        part = params[where]
        np.copyto(state.before[offset : offset + part.size], part)
        offset += part.size


def _run_sizes(runs: Sequence[slice], params: np.ndarray) -> int:
    return sum(len(range(*where.indices(params.size))) for where in runs)


def _bounds(runs: Sequence[tuple[slice, float]], n_params: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each run's slice (of unit step) of a vector of
    ``n_params``."""
    bounds = []
    for where, _ in runs:
        start, stop, stride = where.indices(n_params)
        if stride != 1:
            raise ValueError("a run of the parameter vector has unit step")
        bounds.append((start, max(start, stop)))
    return bounds


class GroupRates:
    """Scale the optimizer's step of each parameter group by the group's
    learning-rate factor.

    ``runs`` are ``(slice, factor)`` pairs, for the groups whose factor is
    not 1. Every optimizer's step is proportional to its rate, so the scaled
    step is the step that group would take at ``factor * rate``.
    """

    name = "group_rates"

    def __init__(self, runs: Sequence[tuple[slice, float]]):
        self.runs = tuple(runs)

    def init(self, params: np.ndarray) -> SnapshotState:
        slices = [where for where, _ in self.runs]
        return SnapshotState(np.empty(_run_sizes(slices, params), params.dtype))

    def snapshot(self, state: SnapshotState, params: np.ndarray) -> None:
        _snapshot([where for where, _ in self.runs], state, params)

    def update(self, grads, state: SnapshotState, params, rate: float) -> SnapshotState:
        offset = 0
        for where, factor in self.runs:
            after = params[where]
            before = state.before[offset : offset + after.size]
            after -= before
            after *= factor
            after += before
            offset += after.size
        return state

    def compiled_runs(self, n_params: int) -> tuple[list, list, float]:
        """The compiled epoch's form: each run and its factor (scale 1)."""
        return _bounds(self.runs, n_params), [factor for _, factor in self.runs], 1.0


@dataclass
class ZeroClipState(SnapshotState):
    crossed: np.ndarray = field(repr=False, metadata=_SCRATCH)
    zero: np.ndarray = field(repr=False, metadata=_SCRATCH)


class L1ZeroClip:
    """Turn an L1 penalty's subgradient steps into exact zeros.

    A penalized weight (``runs``: the slices of the decayed groups) that the
    step carries across zero is clipped to zero (the truncated-gradient rule
    of Tsuruoka et al. 2009), and one that sat at zero with a zero
    pseudo-gradient stays there: the optimizer's momentum must not revive
    what the penalty killed. Works with any optimizer.
    """

    name = "l1_zero_clip"

    def __init__(self, runs: Sequence[slice]):
        self.runs = tuple(runs)

    def init(self, params: np.ndarray) -> ZeroClipState:
        n = _run_sizes(self.runs, params)
        before, crossed, zero = np.empty(n, params.dtype), np.empty(n, bool), np.empty(n, bool)
        return ZeroClipState(before, crossed, zero)

    def snapshot(self, state: ZeroClipState, params: np.ndarray) -> None:
        _snapshot(self.runs, state, params)

    def update(self, grads, state: ZeroClipState, params, rate: float) -> ZeroClipState:
        offset = 0
        for where in self.runs:
            weights = params[where]
            part = slice(offset, offset + weights.size)
            before, mask, zero = state.before[part], state.crossed[part], state.zero[part]
            np.equal(before, 0.0, out=mask)
            np.equal(grads[where], 0.0, out=zero)
            mask &= zero
            np.copyto(weights, 0.0, where=mask)
            before *= weights
            np.less(before, 0.0, out=mask)
            np.copyto(weights, 0.0, where=mask)
            offset += weights.size
        return state

    def compiled_runs(self, n_params: int) -> tuple[list, list, float]:
        """The compiled epoch's form: each run (no factors; scale 1)."""
        runs = [(where, 0.0) for where in self.runs]
        return _bounds(runs, n_params), [0.0] * len(runs), 1.0


# --- the chain -------------------------------------------------------------------


@dataclass
class ChainState(State):
    """The state of a :class:`Chain`: its optimizer's and each transform's.

    Its plain form (:meth:`to_dict`) holds the optimizer's fields at the top
    level, as skmlp saved the optimizer state before there was a chain, and
    each transform's fields, if it has any, under the transform's name.
    """

    optimizer: State
    transforms: dict[str, State]

    def to_dict(self) -> dict:
        out = self.optimizer.to_dict()
        for name, state in self.transforms.items():
            saved = state.to_dict()
            if saved:
                out[name] = saved
        return out

    def load(self, data: Mapping) -> None:
        own = {}
        for key, value in data.items():
            if key in self.transforms:
                self.transforms[key].load(value)
            elif not isinstance(value, Mapping):  # a transform this chain lacks: dropped
                own[key] = value
        self.optimizer.load(own)


class Chain:
    """An optimizer and the transforms around its step, in the order they run.

    ``before`` run in order before the optimizer's step; ``after`` run in
    order after it, each having taken its ``snapshot`` of the parameters
    just before the step. ``kernels`` (:mod:`skmlp._kernels`), when given,
    run the optimizer's step compiled; the transforms always run in numpy.
    A chain without transforms adds no work to the optimizer's step.
    """

    def __init__(self, optimizer: Optimizer, before=(), after=(), kernels=None):
        self.optimizer = optimizer
        self.before = tuple(before)
        self.after = tuple(after)
        self.kernels = kernels
        self._step = optimizer.update if kernels is None else optimizer.compiled_update(kernels)

    def init(self, params: np.ndarray) -> ChainState:
        """A fresh state of every link."""
        transforms = {link.name: link.init(params) for link in (*self.before, *self.after)}
        return ChainState(self.optimizer.init(params), transforms)

    def restore(self, data: Mapping, params: np.ndarray) -> ChainState:
        """The state saved as ``data`` (:meth:`ChainState.to_dict`, or an
        optimizer state saved before the chain); fresh for a transform it
        does not hold."""
        state = self.init(params)
        state.load(data)
        return state

    def update(self, grads, state: ChainState, params, rate: float) -> ChainState:
        """One step: the transforms before, the optimizer, the transforms after."""
        transforms = state.transforms
        for link in self.before:
            link.update(grads, transforms[link.name], params, rate)
        for link in self.after:
            link.snapshot(transforms[link.name], params)
        self._step(grads, state.optimizer, params, rate)
        for link in self.after:
            link.update(grads, transforms[link.name], params, rate)
        return state

    def compiled_links(self, order: Sequence[str]) -> dict | None:
        """The transforms as a compiled epoch runs them, by name, if this
        chain is on the kernels and its links come in ``order`` (the names
        the kernel runs, ``"optimizer"`` for the optimizer's step); None
        otherwise. Each transform's :meth:`compiled_runs` gives its form."""
        names = [link.name for link in self.before] + ["optimizer"]
        names += [link.name for link in self.after]
        covered = [name for name in order if name in names]
        if self.kernels is None or covered != names or len(set(names)) != len(names):
            return None
        return {link.name: link for link in (*self.before, *self.after)}

    def take_clipped(self, state: ChainState) -> int:
        """Steps whose gradient was clipped since the last call."""
        clip = state.transforms.get(GradientClip.name)
        if clip is None:
            return 0
        count, clip.clipped = clip.clipped, 0
        return count


def _runs(groups, value) -> list:
    """``(slice, value(decay, lr_factor))`` for each group whose value is not
    None, adjacent slices of equal value merged (so that the dense network's
    weights are one run)."""
    runs = []
    for where, decay, lr_factor in groups:
        v = value(decay, lr_factor)
        if v is None:
            continue
        if runs and runs[-1][0].stop == where.start and runs[-1][1] == v:
            runs[-1] = (slice(runs[-1][0].start, where.stop), v)
        else:
            runs.append((where, v))
    return runs


def make_chain(
    optimizer: Optimizer,
    groups: Sequence[tuple[slice, bool, float]],
    *,
    weight_decay: float = 0.0,
    l1: bool = False,
    max_grad_norm: float | None = None,
    kernels=None,
) -> Chain:
    """The update chain of a fit: the one place that says which transforms
    run, and in which order.

    Parameters
    ----------
    optimizer : Optimizer
        The update rule.
    groups : sequence of (slice, bool, float)
        The parameter groups: where each lies in the flat vector, whether it
        is decayed (penalized), and its learning-rate factor.
    weight_decay : float, default=0.0
        Decoupled weight decay, for optimizers that take it
        (``optimizer.decoupled_decay``).
    l1 : bool, default=False
        Whether the penalty has an L1 part (then its zero-clipping runs).
    max_grad_norm : float or None, default=None
        The gradient's largest global L2 norm; None clips nothing.
    kernels : module or None, default=None
        :mod:`skmlp._kernels`, to run the optimizer's step compiled.

    Returns
    -------
    Chain
        In order: gradient clipping, decoupled decay of the decayed groups,
        the optimizer's step, the groups' learning-rate factors, the L1
        zero-clipping of the decayed groups. A link with nothing to do (no
        clipping, a factor of 1 everywhere, ...) is left out.
    """
    groups = [(where, bool(decay), float(lr_factor)) for where, decay, lr_factor in groups]
    before, after = [], []
    if max_grad_norm is not None:
        before.append(GradientClip(max_grad_norm))
    if weight_decay > 0.0 and optimizer.decoupled_decay:
        decays = _runs(groups, lambda decay, f: weight_decay * f if decay else None)
        before.append(DecoupledWeightDecay(decays))
    rates = _runs(groups, lambda decay, f: None if f == 1.0 else f)
    if rates:
        after.append(GroupRates(rates))
    if l1:
        penalized = _runs(groups, lambda decay, f: True if decay else None)
        after.append(L1ZeroClip([where for where, _ in penalized]))
    return Chain(optimizer, before, after, kernels)
