"""Layer kinds: each declares its parameter blocks and computes its own
initialization, forward pass and backward pass, over views it is handed.

A layer owns no arrays. :class:`~skmlp.network.Network` lays every layer's
:class:`ParamBlock` out in one flat parameter vector and hands the layer
views of it (and of the gradient vector); the workspace hands it views of
its batch buffers. A layer kind implements:

``blocks()``
    its parameter blocks, in the order its other methods receive their views.
``init(rng, params, inputs, method)``
    writes initial values into ``params`` (a tuple of views). ``inputs`` is
    what the layer sees of the first batch (the previous layers already
    initialized) when its ``uses_data`` is true, else None; ``method`` is the
    estimator's ``weight_init`` name, for layers that draw from an
    initializer.
``buffers(batch_size, dtype, training)``
    the batch buffers it needs beyond its output (``"out"``) and, in
    training, the gradient with respect to that output (``"delta"``), which
    the network allocates.
``plan(buffers, m, work)``
    a tuple of views of those buffers for an ``m``-row batch (made once per
    batch size); ``work`` is a flat scratch buffer of at least ``m * n_out``
    entries shared by all layers, whose contents never outlive a call.
``forward(params, plan, a, training)``
    computes the output for the input ``a`` and returns it: the plan's
    ``out``, or another buffer of the plan (dropout's masked output).
``backward(params, grads, plan, a, d_in)``
    given the gradient with respect to the returned output in the plan's
    ``delta`` (which it may overwrite) and the input ``a`` of the last
    training forward pass, writes the parameters' gradients into ``grads``
    and, unless ``d_in`` is None (the first layer), the gradient with
    respect to ``a`` into ``d_in``.
``output_bound(params, bound, limit)``
    an upper bound on ``|output|`` over every input with entries
    ``|x| <= bound``; ``math.inf`` where an intermediate value could exceed
    ``limit`` (see :meth:`~skmlp.network.Network.raw_output_bound`).

The input ``a`` may be a scipy sparse matrix for the first layer; this
module uses numpy only and tells the two apart by ``isinstance(a,
np.ndarray)``.

Adding a layer kind is one class here, its entry in :data:`LAYERS` and its
case in ``tests/test_layers.py``, which checks its gradients against
central differences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .activations import ACTIVATIONS, Activation
from .initializers import INITIALIZERS

__all__ = [
    "LAYERS",
    "Dense",
    "Layer",
    "ParamBlock",
    "ParametricActivation",
    "Scale",
    "dense_layers",
]


@dataclass(frozen=True)
class ParamBlock:
    """One array of a layer's parameters.

    Attributes
    ----------
    name : str
        The block's name within its layer (``'coef'``, ``'intercept'``).
    shape : tuple of int
        Its shape; it is stored row-major in the flat vector.
    group : str
        The parameter group it belongs to (the optimizer sees groups, never
        layers; see :class:`skmlp.network.ParamGroup`).
    decay : bool
        Whether the penalty (``alpha``) and decoupled weight decay apply.
    lr_factor : float
        Multiplies the learning rate for this block.
    """

    name: str
    shape: tuple
    group: str
    decay: bool = False
    lr_factor: float = 1.0

    @property
    def size(self) -> int:
        """The number of parameters in the block."""
        return math.prod(self.shape)


class Layer:
    """The interface of a layer kind (see the module docstring).

    Subclasses set ``n_in`` and ``n_out`` (the input and output widths) and
    implement every method below but ``buffers``.
    """

    kind: ClassVar[str] = ""
    dropout: float = 0.0  # fraction of the output's units dropped in training
    uses_data: bool = False  # whether init needs the first batch's inputs
    n_in: int
    n_out: int

    def blocks(self) -> tuple[ParamBlock, ...]:
        raise NotImplementedError

    def init(self, rng, params: tuple, inputs=None, method: str = "sklearn") -> None:
        raise NotImplementedError

    def buffers(self, batch_size: int, dtype, training: bool) -> dict:
        return {}

    def plan(self, buffers: dict, m: int, work: np.ndarray) -> tuple:
        raise NotImplementedError

    def forward(self, params: tuple, plan: tuple, a, training: bool) -> np.ndarray:
        raise NotImplementedError

    def backward(self, params: tuple, grads: tuple, plan: tuple, a, d_in) -> None:
        raise NotImplementedError

    def output_bound(self, params: tuple, bound: float, limit: float) -> float:
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._describe().items())
        return f"{type(self).__name__}({fields})"

    def _describe(self) -> dict:
        return {"n_in": self.n_in, "n_out": self.n_out}


class Dense(Layer):
    """An affine map then an element-wise activation, with dropout on the
    output: scikit-learn's MLP layer.

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths.
    activation : str or None, default='relu'
        A name in :data:`skmlp.activations.ACTIVATIONS`; None leaves the
        affine output as it is (the output layer, whose link the loss
        applies).
    dropout : float, default=0.0
        Fraction of the output's units dropped in training (inverted
        dropout: kept units are scaled by ``1 / (1 - dropout)``).
    init_activation : str, default=None
        The activation name the initializer scales for; default the layer's
        own (``'identity'`` without one). scikit-learn scales its output
        layer like the hidden ones.

    Its blocks are ``coef`` (``(n_in, n_out)``, group ``'weights'``,
    decayed) and ``intercept`` (``(n_out,)``, group ``'biases'``, not
    decayed).
    """

    kind = "dense"

    def __init__(
        self,
        n_in: int,
        n_out: int,
        activation: str | None = "relu",
        dropout: float = 0.0,
        init_activation: str | None = None,
    ):
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.activation = None if activation is None else ACTIVATIONS[activation]
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {dropout!r}.")
        self.dropout = float(dropout)
        self.init_activation = init_activation or (activation or "identity")
        act = self.activation
        self._forward = None if act is None else act.forward
        self._derivative = None if act is None else act.derivative

    def _describe(self) -> dict:
        name = None if self.activation is None else self.activation.name
        return {**super()._describe(), "activation": name, "dropout": self.dropout}

    def blocks(self) -> tuple[ParamBlock, ...]:
        return (
            ParamBlock("coef", (self.n_in, self.n_out), "weights", decay=True),
            ParamBlock("intercept", (self.n_out,), "biases"),
        )

    def init(self, rng, params: tuple, inputs=None, method: str = "sklearn") -> None:
        coef, intercept = params
        drawn = INITIALIZERS[method](rng, self.n_in, self.n_out, coef.dtype, self.init_activation)
        coef[...], intercept[...] = drawn

    def buffers(self, batch_size: int, dtype, training: bool) -> dict:
        shape = (batch_size, self.n_out)
        act = self.activation
        buffers = {}
        if act is not None and act.needs_input:  # the derivative needs z kept
            buffers["z"] = np.empty(shape, dtype=dtype)
        if training and self.dropout > 0.0:
            buffers["dropped"] = np.empty(shape, dtype=dtype)  # the output times the mask
            buffers["mask"] = np.ones(shape, dtype=dtype)
        return buffers

    def plan(self, buffers: dict, m: int, work: np.ndarray) -> tuple:
        """``(z, out, delta, work, dropped, mask)``: ``z`` is where the matrix
        product goes, ``out`` itself unless the activation needs its input;
        ``dropped`` and ``mask`` are None without dropout."""
        out = buffers["out"][:m]
        z = buffers["z"][:m] if "z" in buffers else out
        delta = None if buffers["delta"] is None else buffers["delta"][:m]
        dropped = buffers["dropped"][:m] if "dropped" in buffers else None
        mask = buffers["mask"][:m] if "mask" in buffers else None
        return z, out, delta, work[: m * self.n_out].reshape(m, self.n_out), dropped, mask

    def forward(self, params: tuple, plan: tuple, a, training: bool) -> np.ndarray:
        coef, intercept = params
        z, out, _, work, dropped, mask = plan
        if isinstance(a, np.ndarray):
            np.matmul(a, coef, out=z)
        else:  # sparse input
            z[...] = a @ coef
        z += intercept
        if self._forward is not None:
            self._forward(z, out, work)
        if dropped is not None and training:
            np.multiply(out, mask, out=dropped)
            return dropped
        return out

    def backward(self, params: tuple, grads: tuple, plan: tuple, a, d_in) -> None:
        coef_grad, intercept_grad = grads
        z, out, delta, work, _, mask = plan
        if mask is not None:
            delta *= mask
        if self._derivative is not None:
            self._derivative(z, out, delta, work)
        if isinstance(a, np.ndarray):
            np.matmul(a.T, delta, out=coef_grad)
        else:  # sparse input
            coef_grad[...] = a.T @ delta
        np.add.reduce(delta, axis=0, out=intercept_grad)
        if d_in is not None:
            np.matmul(delta, params[0].T, out=d_in)

    def output_bound(self, params: tuple, bound: float, limit: float) -> float:
        # each unit obeys |z_j| <= max|a| * sum_i |W_ij| + |b_j|
        coef, intercept = params
        col_sums = np.add.reduce(np.abs(coef), axis=0, dtype=np.float64)
        z = float(np.max(bound * col_sums + np.abs(intercept)))
        if self.activation is None:
            return z
        # the pre-activation must stay far from overflow too, even where a
        # saturating activation would bound the output
        if not z <= limit:
            return math.inf
        return self.activation.output_bound(z)


class Scale(Layer):
    """A learnable per-feature scale: ``out = a * s``.

    Parameters
    ----------
    n : int
        The width (input and output).
    lr_factor : float, default=1.0
        The learning-rate factor of ``s`` (RealMLP uses 6).
    data_init : bool, default=False
        Start ``s`` at ``1 / std`` of each feature over the first batch (1
        where a feature is constant) instead of at 1.

    Its one block is ``scale`` (``(n,)``, group ``'scales'``, not decayed).
    """

    kind = "scale"

    def __init__(self, n: int, lr_factor: float = 1.0, data_init: bool = False):
        self.n_in = self.n_out = int(n)
        self.lr_factor = float(lr_factor)
        self.uses_data = bool(data_init)

    def _describe(self) -> dict:
        return {"n": self.n_in, "lr_factor": self.lr_factor, "data_init": self.uses_data}

    def blocks(self) -> tuple[ParamBlock, ...]:
        return (ParamBlock("scale", (self.n_in,), "scales", lr_factor=self.lr_factor),)

    def init(self, rng, params: tuple, inputs=None, method: str = "sklearn") -> None:
        (scale,) = params
        scale[...] = 1.0
        if inputs is not None and self.uses_data:
            x = inputs if isinstance(inputs, np.ndarray) else inputs.toarray()
            std = np.std(x, axis=0, dtype=np.float64)
            positive = std > 0.0
            scale[positive] = 1.0 / std[positive]

    def plan(self, buffers: dict, m: int, work: np.ndarray) -> tuple:
        """``(out, delta, work)``."""
        delta = None if buffers["delta"] is None else buffers["delta"][:m]
        return buffers["out"][:m], delta, work[: m * self.n_out].reshape(m, self.n_out)

    def forward(self, params: tuple, plan: tuple, a, training: bool) -> np.ndarray:
        (scale,), out = params, plan[0]
        if isinstance(a, np.ndarray):
            np.multiply(a, scale, out=out)
        else:  # sparse input
            scaled = a.multiply(scale)
            out[...] = scaled.toarray() if hasattr(scaled, "toarray") else scaled
        return out

    def backward(self, params: tuple, grads: tuple, plan: tuple, a, d_in) -> None:
        (scale,), (scale_grad,) = params, grads
        _, delta, work = plan
        if isinstance(a, np.ndarray):
            np.multiply(a, delta, out=work)
            np.add.reduce(work, axis=0, out=scale_grad)
        else:  # sparse input
            scale_grad[...] = np.asarray(a.multiply(delta).sum(axis=0)).ravel()
        if d_in is not None:
            np.multiply(delta, scale, out=d_in)

    def output_bound(self, params: tuple, bound: float, limit: float) -> float:
        return bound * float(np.max(np.abs(params[0]), initial=0.0))


def _dense(a) -> np.ndarray:
    """``a`` as a numpy array. Only a first layer sees sparse input; the
    element-wise layers densify it (an allocation the tabular estimators,
    which pass dense input, never make)."""
    return a if isinstance(a, np.ndarray) else a.toarray()


def _rows(buffers: dict, name: str, m: int):
    """The first ``m`` rows of buffer ``name``, or None where there is none."""
    buffer = buffers.get(name)
    return None if buffer is None else buffer[:m]


def _dropout_buffers(layer: Layer, batch_size: int, dtype, training: bool) -> dict:
    if not (training and layer.dropout > 0.0):
        return {}
    shape = (batch_size, layer.n_out)
    return {"dropped": np.empty(shape, dtype=dtype), "mask": np.ones(shape, dtype=dtype)}


# SELU and Mish for ParametricActivation while skmlp.activations has no
# entries of those names; where it has them, the registry's entries are used.
_SELU_SCALE = 1.0507009873554805  # Klambauer et al. 2017, eq. 14
_SELU_ALPHA = 1.6732632423543772
_MISH_CLIP = 20.0  # exp(20)^2 is finite in float32; tanh(softplus(20)) is 1


def _selu(z, out, work):
    # f(z) = scale * z for z > 0, else scale * alpha * (exp(z) - 1)
    np.minimum(z, 0.0, out=work)
    np.expm1(work, out=work)
    work *= _SELU_SCALE * _SELU_ALPHA
    np.maximum(z, 0.0, out=out)
    out *= _SELU_SCALE
    out += work


def _selu_derivative(z, a, delta, work):
    # f'(z) = scale for z > 0, else scale * alpha * exp(z)
    np.minimum(z, 0.0, out=work)
    np.exp(work, out=work)
    work *= _SELU_SCALE * _SELU_ALPHA  # right for z <= 0
    np.greater(z, 0.0, out=z)
    z *= _SELU_SCALE - _SELU_SCALE * _SELU_ALPHA  # the difference where z > 0
    work += z
    delta *= work


def _mish(z, out, work):
    # f(z) = z t, t = tanh(softplus(z)) = n (n + 2) / (n (n + 2) + 2), n = exp(z)
    np.minimum(z, _MISH_CLIP, out=work)
    np.exp(work, out=work)
    np.add(work, 2.0, out=out)
    work *= out
    np.add(work, 2.0, out=out)
    work /= out
    np.multiply(z, work, out=out)


def _mish_derivative(z, a, delta, work):
    # f'(z) = t + z sigmoid(z) (1 - t^2). With u = 1 + n and w = 2 / (u^2 + 1),
    # t = 1 - w and 1 - t^2 = w (2 - w), so with v = z sigmoid(z) w:
    # f'(z) = 1 - w + v (2 - w) = (1 + 2 v) - w (1 + v)
    np.minimum(z, _MISH_CLIP, out=work)
    np.exp(work, out=work)
    z *= work
    work += 1.0  # u
    z /= work  # z sigmoid(z)
    work *= work
    work += 1.0
    np.divide(2.0, work, out=work)  # w
    z *= work  # v
    z += 1.0
    work *= z  # w (1 + v)
    z += z
    z -= 1.0  # 1 + 2 v
    z -= work
    delta *= z


@dataclass(frozen=True)
class _LocalActivation(Activation):
    slope: float = 1.0  # |f(z)| <= slope * |z| + 1

    def output_bound(self, bound: float) -> float:
        return self.slope * bound + 1.0


_LOCAL_ACTIVATIONS = {
    # |selu(z)| <= scale |z| for z > 0 and <= scale * alpha (1.76) below
    "selu": _LocalActivation("selu", _selu, _selu_derivative, slope=2.0),
    "mish": _LocalActivation("mish", _mish, _mish_derivative, needs_input=True),
}


def _activation(name: str) -> Activation:
    if name in ACTIVATIONS:
        return ACTIVATIONS[name]
    if name in _LOCAL_ACTIVATIONS:
        return _LOCAL_ACTIVATIONS[name]
    raise ValueError(f"Unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}.")


class ParametricActivation(Layer):
    """RealMLP's parametric activation: ``out = (1 - alpha) * x + alpha * f(x)``
    element-wise, with a learnable ``alpha`` per unit that starts at 1 (so the
    layer starts as ``f``), and dropout on its output.

    Parameters
    ----------
    n : int
        The width (input and output).
    activation : str, default='selu'
        ``f``: a name in :data:`skmlp.activations.ACTIVATIONS`, or ``'selu'``
        or ``'mish'``. RealMLP-TD uses SELU for classification and Mish for
        regression.
    lr_factor : float, default=0.1
        The learning-rate factor of ``alpha`` (RealMLP-TD's ``act_lr_factor``).
    dropout : float, default=0.0
        Fraction of the output's units dropped in training (inverted
        dropout, as :class:`Dense`). RealMLP's block is dense, activation,
        dropout.
    decay : bool, default=True
        Whether weight decay applies to ``alpha``. pytabkit decays it with
        the weights (its ``act_wd_factor`` is 1; only biases are exempt), which
        pulls ``alpha`` towards 0, the identity.

    Its one block is ``alpha`` (``(n,)``, group ``'activations'``).

    References
    ----------
    Holzmüller, Grinsztajn and Steinwart, "Better by Default: Strong
    Pre-Tuned MLPs and Boosted Trees on Tabular Data", NeurIPS 2024
    (pytabkit's ``ParametricActivationLayer``: ``x + (f(x) - x) * alpha``).
    """

    kind = "parametric_activation"

    def __init__(
        self,
        n: int,
        activation: str = "selu",
        lr_factor: float = 0.1,
        dropout: float = 0.0,
        decay: bool = True,
    ):
        self.n_in = self.n_out = int(n)
        self.activation = _activation(activation)
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {dropout!r}.")
        self.dropout = float(dropout)
        self.lr_factor = float(lr_factor)
        self.decay = bool(decay)

    def _describe(self) -> dict:
        return {"n": self.n_in, "activation": self.activation.name, "dropout": self.dropout}

    def blocks(self) -> tuple[ParamBlock, ...]:
        return (
            ParamBlock(
                "alpha", (self.n_in,), "activations", decay=self.decay, lr_factor=self.lr_factor
            ),
        )

    def init(self, rng, params: tuple, inputs=None, method: str = "sklearn") -> None:
        params[0][...] = 1.0

    def buffers(self, batch_size: int, dtype, training: bool) -> dict:
        shape = (batch_size, self.n_out)
        buffers = {"f": np.empty(shape, dtype=dtype)}  # f(x), which f' may need
        if training:  # a copy of x the derivative may overwrite
            buffers["scratch"] = np.empty(shape, dtype=dtype)
        return {**buffers, **_dropout_buffers(self, batch_size, dtype, training)}

    def plan(self, buffers: dict, m: int, work: np.ndarray) -> tuple:
        """``(f, out, delta, work, scratch, dropped, mask)``; the last three
        None where there are none."""
        work = work[: m * self.n_out].reshape(m, self.n_out)
        names = ("f", "out", "delta")
        return (
            *(_rows(buffers, name, m) for name in names),
            work,
            *(_rows(buffers, name, m) for name in ("scratch", "dropped", "mask")),
        )

    def forward(self, params: tuple, plan: tuple, a, training: bool) -> np.ndarray:
        (alpha,) = params
        f, out, _, work, _, dropped, mask = plan
        x = _dense(a)
        self.activation.forward(x, f, work)
        np.subtract(f, x, out=out)
        out *= alpha
        out += x
        if dropped is not None and training:
            np.multiply(out, mask, out=dropped)
            return dropped
        return out

    def backward(self, params: tuple, grads: tuple, plan: tuple, a, d_in) -> None:
        (alpha,), (alpha_grad,) = params, grads
        f, _, delta, work, scratch, _, mask = plan
        x = _dense(a)
        if mask is not None:
            delta *= mask
        np.subtract(f, x, out=work)
        work *= delta
        np.add.reduce(work, axis=0, out=alpha_grad)
        if d_in is None:
            return
        # d_in = delta (1 - alpha) + delta alpha f'(x)
        np.multiply(delta, alpha, out=d_in)
        delta -= d_in
        np.copyto(scratch, x)
        self.activation.derivative(scratch, f, d_in, work)
        d_in += delta

    def output_bound(self, params: tuple, bound: float, limit: float) -> float:
        if not bound <= limit:
            return math.inf
        alpha = params[0].astype(np.float64)
        f_bound = self.activation.output_bound(bound)
        return float(np.max(np.abs(1.0 - alpha) * bound + np.abs(alpha) * f_bound, initial=0.0))


LAYERS: dict[str, type[Layer]] = {
    "dense": Dense,
    "scale": Scale,
    "parametric_activation": ParametricActivation,
}


def dense_layers(layer_units, activation: str, dropout=0.0) -> list[Dense]:
    """scikit-learn's MLP as layers: a :class:`Dense` with ``activation`` per
    hidden layer, then a linear output :class:`Dense` (the loss applies its
    link), every one initialized for ``activation`` as scikit-learn does.

    ``dropout`` is one rate for every hidden layer, or one per hidden layer.
    """
    units = tuple(int(u) for u in layer_units)
    n_hidden = len(units) - 2
    rates = tuple(dropout) if np.iterable(dropout) else (float(dropout),) * n_hidden
    if len(rates) != n_hidden:
        raise ValueError(
            f"dropout has {len(rates)} rates but the network has {n_hidden} hidden layers."
        )
    layers = [
        Dense(n_in, n_out, activation, rate)
        for n_in, n_out, rate in zip(units[:-2], units[1:-1], rates)
    ]
    layers.append(Dense(units[-2], units[-1], None, init_activation=activation))
    return layers
