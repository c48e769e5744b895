"""Stochastic update rules over the flat parameter vector.

An optimizer is a small object holding its hyperparameters and two methods:

``init(params) -> state``
    a dict of arrays and numbers (picklable, safe to persist);
``update(params, grad, state, learning_rate) -> None``
    moves ``params`` in place one step against ``grad`` and advances ``state``.

They know nothing of layers, losses, batches, epochs or schedules: the
learning rate of each step is handed to them.  Each keeps one scratch vector
so that a step allocates nothing.  The registry ``OPTIMIZERS`` maps solver
names to classes; ``hyperparameters`` names the estimator parameters each
class reads, under the same names as the estimator's.

Beside them live the update transforms, which act on the weights around an
optimizer's step (in the spirit of optax's ``chain``): decoupled weight decay
before it, and the L1 zero-clipping after it.  :func:`update_transforms` is
the one place that decides which a solver gets.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "DECOUPLED_DECAY",
    "OPTIMIZERS",
    "SGD",
    "Adagrad",
    "Adam",
    "DecoupledWeightDecay",
    "GradientClip",
    "L1ZeroClip",
    "NAdam",
    "RMSProp",
    "update_transforms",
]


class _Optimizer:
    hyperparameters: tuple[str, ...] = ()

    def _scratch(self, params: np.ndarray, name: str = "_work") -> np.ndarray:
        work = getattr(self, name, None)
        if work is None or work.shape != params.shape or work.dtype != params.dtype:
            work = np.empty_like(params)
            setattr(self, name, work)
        return work

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.hyperparameters)
        return f"{type(self).__name__}({args})"


class SGD(_Optimizer):
    r"""Stochastic gradient descent with (Nesterov) momentum, as scikit-learn.

    With rate :math:`\eta`, momentum :math:`\mu` and gradient :math:`g`:

    .. math::

        v &\leftarrow \mu v - \eta g \\
        \theta &\leftarrow \theta + v                 \quad\text{(classical)} \\
        \theta &\leftarrow \theta + \mu v - \eta g    \quad\text{(Nesterov)}

    ``momentum=0`` is plain SGD.
    """

    hyperparameters = ("momentum", "nesterovs_momentum")

    def __init__(self, momentum: float = 0.9, nesterovs_momentum: bool = True):
        self.momentum = float(momentum)
        self.nesterovs_momentum = bool(nesterovs_momentum)

    def init(self, params: np.ndarray) -> dict:
        return {"velocity": np.zeros_like(params)}

    def update(self, params, grad, state, learning_rate) -> None:
        work = self._scratch(params)
        velocity = state["velocity"]
        np.multiply(grad, learning_rate, out=work)
        velocity *= self.momentum
        velocity -= work
        if self.nesterovs_momentum:
            params -= work
            np.multiply(velocity, self.momentum, out=work)
            params += work
        else:
            params += velocity


class Adam(_Optimizer):
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
    (keys ``m`` and ``v``): without those constant factors each moment update
    is one pass shorter, and the factors are folded into the step size and
    :math:`\epsilon` instead. The arithmetic is the same update.
    """

    hyperparameters = ("beta_1", "beta_2", "epsilon")

    def __init__(self, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8):
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)

    def init(self, params: np.ndarray) -> dict:
        return {"t": 0, "m": np.zeros_like(params), "v": np.zeros_like(params)}

    def update(self, params, grad, state, learning_rate) -> None:
        work = self._scratch(params)
        b1, b2 = self.beta_1, self.beta_2
        state["t"] += 1
        t = state["t"]
        m, v = state["m"], state["v"]  # scaled moments, see the class docstring
        m *= b1
        m += grad
        v *= b2
        np.multiply(grad, grad, out=work)
        v += work
        step, eps_scaled = self.step_scalars(t, learning_rate)
        np.sqrt(v, out=work)
        work += eps_scaled
        np.divide(m, work, out=work)
        work *= step
        params -= work

    def step_scalars(self, t: int, learning_rate: float) -> tuple[float, float]:
        """Step ``t``'s size and the epsilon added to ``sqrt(v)``, for the
        scaled moments (shared with the compiled update)."""
        b1, b2 = self.beta_1, self.beta_2
        # sqrt(v_true) + eps = sqrt(1 - b2) * (sqrt(v) + eps / sqrt(1 - b2))
        root = np.sqrt(1.0 - b2)
        step = learning_rate * np.sqrt(1.0 - b2**t) / (1.0 - b1**t) * (1.0 - b1) / root
        return float(step), float(self.epsilon / root)


class RMSProp(_Optimizer):
    r"""RMSProp (Tieleman & Hinton 2012, lecture 6e of "Neural Networks for
    Machine Learning").

    With decay :math:`\rho`, rate :math:`\eta` and gradient :math:`g`:

    .. math::

        v &\leftarrow \rho v + (1 - \rho) g^2 \\
        \theta &\leftarrow \theta - \eta \frac{g}{\sqrt{v} + \epsilon}
    """

    hyperparameters = ("rho", "epsilon")

    def __init__(self, rho: float = 0.9, epsilon: float = 1e-8):
        self.rho = float(rho)
        self.epsilon = float(epsilon)

    def init(self, params: np.ndarray) -> dict:
        return {"v": np.zeros_like(params)}

    def update(self, params, grad, state, learning_rate) -> None:
        work = self._scratch(params)
        v = state["v"]
        v *= self.rho
        np.multiply(grad, grad, out=work)
        work *= 1.0 - self.rho
        v += work
        np.sqrt(v, out=work)
        work += self.epsilon
        np.divide(grad, work, out=work)
        work *= learning_rate
        params -= work


class Adagrad(_Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer 2011, JMLR 12).

    With rate :math:`\eta` and gradient :math:`g`:

    .. math::

        G &\leftarrow G + g^2 \\
        \theta &\leftarrow \theta - \eta \frac{g}{\sqrt{G} + \epsilon}
    """

    hyperparameters = ("epsilon",)

    def __init__(self, epsilon: float = 1e-8):
        self.epsilon = float(epsilon)

    def init(self, params: np.ndarray) -> dict:
        return {"G": np.zeros_like(params)}

    def update(self, params, grad, state, learning_rate) -> None:
        work = self._scratch(params)
        G = state["G"]
        np.multiply(grad, grad, out=work)
        G += work
        np.sqrt(G, out=work)
        work += self.epsilon
        np.divide(grad, work, out=work)
        work *= learning_rate
        params -= work


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
    """

    # hyperparameters and state layout are Adam's; only the step differs:
    # m and v hold the true moments here, not Adam's rescaled ones

    def update(self, params, grad, state, learning_rate) -> None:
        work = self._scratch(params)
        b1, b2 = self.beta_1, self.beta_2
        state["t"] += 1
        t = state["t"]
        m, v = state["m"], state["v"]
        m *= b1
        np.multiply(grad, 1.0 - b1, out=work)
        m += work
        v *= b2
        np.multiply(grad, grad, out=work)
        work *= 1.0 - b2
        v += work
        m_scale, g_scale, v_scale = self.step_scalars(t)
        numerator = self._scratch(params, "_work2")
        np.multiply(m, m_scale, out=numerator)
        np.multiply(grad, g_scale, out=work)
        numerator += work
        np.multiply(v, v_scale, out=work)
        np.sqrt(work, out=work)
        work += self.epsilon
        np.divide(numerator, work, out=work)
        work *= learning_rate
        params -= work

    def step_scalars(self, t: int) -> tuple[float, float, float]:
        """The bias corrections of step ``t``: the factors of ``m``, of the
        gradient and of ``v`` (shared with the compiled update)."""
        b1, b2 = self.beta_1, self.beta_2
        return b1 / (1.0 - b1 ** (t + 1)), (1.0 - b1) / (1.0 - b1**t), 1.0 / (1.0 - b2**t)


OPTIMIZERS: dict[str, type[_Optimizer]] = {
    "sgd": SGD,
    "adam": Adam,
    "adamw": Adam,  # plus the DecoupledWeightDecay transform
    "rmsprop": RMSProp,
    "adagrad": Adagrad,
    "nadam": NAdam,
}

# solvers whose step is preceded by decoupled weight decay when weight_decay > 0
DECOUPLED_DECAY = frozenset({"sgd", "adamw"})


class GradientClip:
    """Rescale the gradient to a global L2 norm of at most ``max_norm`` before
    the optimizer's step; ``clipped`` counts the steps it rescaled."""

    def __init__(self, max_norm: float):
        self.max_norm = float(max_norm)
        self.clipped = 0

    def before(self, params: np.ndarray, grad: np.ndarray, rate: float) -> None:
        norm = math.sqrt(float(np.vdot(grad, grad)))
        if norm > self.max_norm:
            grad *= self.max_norm / norm
            self.clipped += 1

    def after(self, params: np.ndarray, grad: np.ndarray, rate: float) -> None:
        pass


class DecoupledWeightDecay:
    """Shrink the weights by ``rate * weight_decay`` of themselves before the
    optimizer's step (Loshchilov & Hutter 2019); biases are left alone.

    The weights are the leading ``n_coef`` entries of the parameter vector.
    """

    def __init__(self, n_coef: int, weight_decay: float):
        self.n_coef = int(n_coef)
        self.weight_decay = float(weight_decay)

    def before(self, params: np.ndarray, grad: np.ndarray, rate: float) -> None:
        params[: self.n_coef] *= 1.0 - rate * self.weight_decay

    def after(self, params: np.ndarray, grad: np.ndarray, rate: float) -> None:
        pass


class L1ZeroClip:
    """Turn an L1 penalty's subgradient steps into exact zeros.

    A weight that the step carries across zero is clipped to zero (the
    truncated-gradient rule of Tsuruoka et al. 2009), and a weight that sat
    at zero with a zero pseudo-gradient stays there: the optimizer's momentum
    must not revive what the penalty killed. Works with any optimizer.
    """

    def __init__(self, n_coef: int, dtype):
        self.n_coef = int(n_coef)
        self._before = np.empty(self.n_coef, dtype=dtype)
        self._mask = np.empty(self.n_coef, dtype=bool)

    def before(self, params: np.ndarray, grad: np.ndarray, rate: float) -> None:
        np.copyto(self._before, params[: self.n_coef])

    def after(self, params: np.ndarray, grad: np.ndarray, rate: float) -> None:
        weights, before, mask = params[: self.n_coef], self._before, self._mask
        np.equal(before, 0.0, out=mask)
        mask &= grad[: self.n_coef] == 0.0
        np.copyto(weights, 0.0, where=mask)
        before *= weights
        np.less(before, 0.0, out=mask)
        np.copyto(weights, 0.0, where=mask)


def update_transforms(
    solver: str,
    n_coef: int,
    dtype,
    *,
    weight_decay: float,
    alpha: float,
    l1_ratio: float,
    max_grad_norm: float | None = None,
) -> list:
    """The transforms around ``solver``'s step, in the order they apply.

    Gradient clipping (``max_grad_norm``) applies to every solver, first;
    decoupled weight decay is honoured by ``'sgd'`` and ``'adamw'`` only
    (:data:`DECOUPLED_DECAY`); the L1 clipping applies to every solver whose
    penalty has an L1 part.
    """
    transforms = []
    if max_grad_norm is not None:
        transforms.append(GradientClip(max_grad_norm))
    if weight_decay > 0.0 and solver in DECOUPLED_DECAY:
        transforms.append(DecoupledWeightDecay(n_coef, weight_decay))
    if l1_ratio > 0.0 and alpha > 0.0:
        transforms.append(L1ZeroClip(n_coef, dtype))
    return transforms
