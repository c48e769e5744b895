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

:class:`ParametricActivation` runs its arithmetic around ``f`` in compiled
kernels where they are built and the compiled engine is active
(:func:`skmlp.compiled.elementwise_kernels`); its numpy lines stay beside
them as the reference and the fallback.

Adding a layer kind is one class here, its entry in :data:`LAYERS` and its
case in ``tests/test_layers.py``, which checks its gradients against
central differences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from . import compiled
from .activations import ACTIVATIONS, Activation
from .initializers import INITIALIZERS

__all__ = [
    "LAYERS",
    "CategoricalEmbedding",
    "Columns",
    "Dense",
    "DenseNTP",
    "EnsembleHead",
    "EnsembleInput",
    "Layer",
    "ParamBlock",
    "PBLDEmbedding",
    "ParametricActivation",
    "PeriodicEmbedding",
    "PiecewiseLinearEmbedding",
    "Scale",
    "Shared",
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


class DenseNTP(Dense):
    """:class:`Dense` in the neural-tangent parametrization, with RealMLP's
    data-dependent initialization: ``z = a W / sqrt(n_in) + b``, then the
    activation and dropout.

    Initialized from the data (``init`` sees the layer's inputs ``a``), ``W``
    is drawn ``N(0, 1)`` and each column divided by the standard deviation of
    its pre-activation ``a W / sqrt(n_in)`` over the data, so that every unit's
    pre-activation has unit variance; each bias is minus a random convex
    combination of 5 data rows' pre-activations (weights ``E_i / sum E``,
    ``E_i ~ Exp(1)``): the unit's kink lies inside the data's range (pytabkit's
    ``weight_init_mode='std'`` and ``bias_init_mode='he+5'``). Without data,
    ``W ~ N(0, 1)`` and ``b = 0``. The ``method`` given to ``init`` is unused.

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths.
    activation : str or None, default=None
        As :class:`Dense`'s. RealMLP follows it with a
        :class:`ParametricActivation` instead.
    dropout : float, default=0.0
        As :class:`Dense`'s.
    bias_lr_factor : float, default=0.1
        The biases' learning-rate factor (RealMLP-TD's ``bias_lr_factor``).

    Its blocks are ``coef`` (``(n_in, n_out)``, group ``'weights'``,
    decayed) and ``intercept`` (``(n_out,)``, group ``'biases'``, not decayed,
    as RealMLP-TD's ``bias_wd_factor=0``).

    References
    ----------
    Jacot, Gabriel and Hongler, "Neural Tangent Kernel", NeurIPS 2018 (the
    parametrization); Holzmüller, Grinsztajn and Steinwart, "Better by
    Default", NeurIPS 2024, and pytabkit's ``WeightFitter`` and
    ``BiasFitter.heplus_bias``.
    """

    kind = "dense_ntp"
    uses_data = True
    n_simplex = 5  # data rows per initial bias

    def __init__(
        self,
        n_in: int,
        n_out: int,
        activation: str | None = None,
        dropout: float = 0.0,
        bias_lr_factor: float = 0.1,
    ):
        super().__init__(n_in, n_out, activation, dropout)
        self.gain = 1.0 / math.sqrt(self.n_in)
        self.bias_lr_factor = float(bias_lr_factor)

    def blocks(self) -> tuple[ParamBlock, ...]:
        return (
            ParamBlock("coef", (self.n_in, self.n_out), "weights", decay=True),
            ParamBlock("intercept", (self.n_out,), "biases", lr_factor=self.bias_lr_factor),
        )

    def init(self, rng, params: tuple, inputs=None, method: str = "sklearn") -> None:
        coef, intercept = params
        weights = rng.standard_normal((self.n_in, self.n_out))
        bias = np.zeros(self.n_out)
        if inputs is not None:
            pre = _dense(inputs).astype(np.float64) @ weights
            pre *= self.gain
            std = np.std(pre, axis=0)
            positive = std > 0.0
            weights[:, positive] /= std[positive]
            pre[:, positive] /= std[positive]
            shape = (self.n_out, self.n_simplex)
            rows = rng.randint(0, pre.shape[0], size=shape)
            mix = rng.standard_exponential(shape)
            mix /= np.add.reduce(mix, axis=1, keepdims=True)
            picked = pre[rows, np.arange(self.n_out)[:, None]]
            bias = -np.add.reduce(picked * mix, axis=1)
        coef[...], intercept[...] = weights, bias

    def buffers(self, batch_size: int, dtype, training: bool) -> dict:
        # W / sqrt(n_in), computed once per forward pass
        scaled = np.empty((self.n_in, self.n_out), dtype=dtype)
        return {**super().buffers(batch_size, dtype, training), "scaled_coef": scaled}

    def plan(self, buffers: dict, m: int, work: np.ndarray) -> tuple:
        """``(dense_plan, scaled_coef)``: :meth:`Dense.plan`'s, and the buffer
        of the scaled weights."""
        return super().plan(buffers, m, work), buffers["scaled_coef"]

    def forward(self, params: tuple, plan: tuple, a, training: bool) -> np.ndarray:
        dense_plan, scaled = plan
        np.multiply(params[0], self.gain, out=scaled)
        return super().forward((scaled, params[1]), dense_plan, a, training)

    def backward(self, params: tuple, grads: tuple, plan: tuple, a, d_in) -> None:
        dense_plan, scaled = plan  # still the forward pass's
        super().backward((scaled, params[1]), grads, dense_plan, a, d_in)
        coef_grad = grads[0]
        coef_grad *= self.gain

    def output_bound(self, params: tuple, bound: float, limit: float) -> float:
        return super().output_bound((params[0] * self.gain, params[1]), bound, limit)


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


def _activation(name: str) -> Activation:
    if name in ACTIVATIONS:
        return ACTIVATIONS[name]
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
        ``f``: a name in :data:`skmlp.activations.ACTIVATIONS`. RealMLP-TD
        uses ``'selu'`` for classification and ``'mish'`` for regression.
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
        if self.activation.keep is not None:  # what the kernels compute f (and f') from
            buffers["kept"] = np.empty(shape, dtype=dtype)
            # whether the last forward pass filled it: the backward kernel
            # reads it only then (the engine may have been switched between)
            buffers["kept_filled"] = np.zeros(1, dtype=bool)
        return {**buffers, **_dropout_buffers(self, batch_size, dtype, training)}

    def plan(self, buffers: dict, m: int, work: np.ndarray) -> tuple:
        """``(f, out, delta, work, scratch, dropped, mask, kept, kept_filled)``;
        the last five None where there are none."""
        work = work[: m * self.n_out].reshape(m, self.n_out)
        names = ("f", "out", "delta")
        return (
            *(_rows(buffers, name, m) for name in names),
            work,
            *(_rows(buffers, name, m) for name in ("scratch", "dropped", "mask", "kept")),
            buffers.get("kept_filled"),
        )

    def _kept(self, kernels, kept):
        """``kept`` if the kernels compute f from the values the activation
        keeps, else None."""
        if kernels is None or kept is None:
            return None
        return kept if self.activation.name in kernels.PARAMETRIC_KEPT else None

    def forward(self, params: tuple, plan: tuple, a, training: bool) -> np.ndarray:
        (alpha,) = params
        f, out, _, work, _, dropped, mask, kept, kept_filled = plan
        x = _dense(a)
        if dropped is None or not training:
            dropped = mask = None
        # the compiled kernel: the numpy lines below in one pass each (and
        # f too, from the values the activation keeps, where it keeps some)
        kernels = compiled.elementwise_kernels(x, f, alpha, out, mask, dropped, kept)
        kept = self._kept(kernels, kept)
        if kept_filled is not None:
            kept_filled[0] = kept is not None
        if kept is not None:
            self.activation.keep(x, kept)
            code = compiled.ACTIVATION_CODES[self.activation.name]
            kernels.parametric_forward(x, f, alpha, out, mask, dropped, code, kept)
        elif kernels is not None:
            self.activation.forward(x, f, work)
            kernels.parametric_forward(x, f, alpha, out, mask, dropped)
        else:
            self.activation.forward(x, f, work)
            np.subtract(f, x, out=out)
            out *= alpha
            out += x
            if dropped is not None:
                np.multiply(out, mask, out=dropped)
        return out if dropped is None else dropped

    def backward(self, params: tuple, grads: tuple, plan: tuple, a, d_in) -> None:
        (alpha,), (alpha_grad,) = params, grads
        f, _, delta, work, scratch, _, mask, kept, kept_filled = plan
        x = _dense(a)
        if kept_filled is None or not kept_filled[0]:
            kept = None
        # d_in = delta (1 - alpha) + delta alpha f'(x); the compiled kernel
        # does the numpy lines below in one pass (f' too, where it can: from
        # the kept values if the forward kernel computed f from them)
        arrays = (x, f, delta, alpha, alpha_grad, mask, d_in, scratch, kept)
        kernels = compiled.elementwise_kernels(*arrays)
        if kernels is not None:
            code = compiled.ACTIVATION_CODES[self.activation.name]
            args = (*arrays[:-1], self._kept(kernels, kept))
            if kernels.parametric_backward(code, *args):
                return
        else:
            if mask is not None:
                delta *= mask
            np.subtract(f, x, out=work)
            work *= delta
            np.add.reduce(work, axis=0, out=alpha_grad)
            if d_in is None:
                return
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


_TWO_PI = 2.0 * math.pi


class _Embedding(Layer):
    """What the numeric embeddings share: ``n_features`` inputs, each mapped
    to ``width`` values, the feature's values contiguous in the output
    (``out.reshape(m, n_features, width)[:, j]`` is feature ``j``'s)."""

    width: int

    def __init__(self, n_features: int, width: int, lr_factor: float, decay: bool):
        self.n_in = int(n_features)
        self.width = int(width)
        self.n_out = self.n_in * self.width
        self.lr_factor = float(lr_factor)
        self.decay = bool(decay)

    def _block(self, name: str, shape: tuple) -> ParamBlock:
        return ParamBlock(name, shape, "embeddings", decay=self.decay, lr_factor=self.lr_factor)

    def _by_feature(self, flat: np.ndarray, m: int) -> np.ndarray:
        """``m`` rows of a batch buffer as ``(m, n_features, width)``."""
        return flat[:m].reshape(m, self.n_in, self.width)


class PBLDEmbedding(_Embedding):
    """RealMLP's PBLD numeric embedding ("periodic, bias, linear, densenet"):
    feature ``j`` becomes ``[x_j, W2_j cos(2 pi w1_j x_j + b1_j) + b2_j]``.

    Parameters
    ----------
    n_features : int
        The input width.
    n_frequencies : int, default=16
        ``k``: the length of ``w1_j`` and ``b1_j`` (pytabkit's ``plr_hidden_1``).
    width : int, default=4
        The values per feature: ``x_j`` and ``width - 1`` linear combinations
        of the cosines (pytabkit's ``plr_hidden_2``, its densenet output
        included).
    sigma : float, default=0.1
        The standard deviation of the initial frequencies ``w1``.
    lr_factor : float, default=0.1
        The learning-rate factor of every block (pytabkit's ``plr_lr_factor``).
    decay : bool, default=True
        Whether weight decay applies to the blocks. pytabkit decays all four
        (its ``plr_wd_factor`` is 1), so it draws ``b1`` from ``[-pi, pi]``
        rather than ``[0, 2 pi]``.

    Its blocks (group ``'embeddings'``) are ``w1`` and ``b1`` (``(n_features,
    k)``), ``w2`` (``(n_features, k, width - 1)``) and ``b2`` (``(n_features,
    width - 1)``), initialized as pytabkit does: ``w1 ~ N(0, sigma^2)``,
    ``b1 ~ U(-pi, pi)``, ``w2, b2 ~ U(-1/sqrt(k), 1/sqrt(k))``.

    References
    ----------
    Holzmüller, Grinsztajn and Steinwart, "Better by Default", NeurIPS 2024,
    and pytabkit's ``PLREmbeddingsLayerCosBias`` (``num_emb_type='pbld'``).
    """

    kind = "pbld_embedding"

    def __init__(
        self,
        n_features: int,
        n_frequencies: int = 16,
        width: int = 4,
        sigma: float = 0.1,
        lr_factor: float = 0.1,
        decay: bool = True,
    ):
        if int(width) < 2 or int(n_frequencies) < 1:
            raise ValueError(
                f"PBLDEmbedding needs width >= 2 and n_frequencies >= 1; got {width!r} "
                f"and {n_frequencies!r}."
            )
        super().__init__(n_features, width, lr_factor, decay)
        self.n_frequencies = int(n_frequencies)
        self.sigma = float(sigma)

    def _describe(self) -> dict:
        return {"n_features": self.n_in, "n_frequencies": self.n_frequencies, "width": self.width}

    def blocks(self) -> tuple[ParamBlock, ...]:
        n, k, d = self.n_in, self.n_frequencies, self.width - 1
        return (
            self._block("w1", (n, k)),
            self._block("b1", (n, k)),
            self._block("w2", (n, k, d)),
            self._block("b2", (n, d)),
        )

    def init(self, rng, params: tuple, inputs=None, method: str = "sklearn") -> None:
        w1, b1, w2, b2 = params
        bound = 1.0 / math.sqrt(self.n_frequencies)
        w1[...] = rng.normal(0.0, self.sigma, w1.shape)
        b1[...] = rng.uniform(-math.pi, math.pi, b1.shape)
        w2[...] = rng.uniform(-bound, bound, w2.shape)
        b2[...] = rng.uniform(-bound, bound, b2.shape)

    def buffers(self, batch_size: int, dtype, training: bool) -> dict:
        size = batch_size * self.n_in * self.n_frequencies
        return {"phase": np.empty(size, dtype=dtype), "cos": np.empty(size, dtype=dtype)}

    def plan(self, buffers: dict, m: int, work: np.ndarray) -> tuple:
        """``(out3, delta3, phase, cos, work)``: the output and its gradient
        by feature, the phases and their cosines as ``(n_features, m, k)``,
        and ``n_features * m`` scratch entries as ``(n_features, m, 1)``."""
        shape = (self.n_in, m, self.n_frequencies)
        size = math.prod(shape)
        delta = buffers["delta"]
        return (
            self._by_feature(buffers["out"], m),
            None if delta is None else self._by_feature(delta, m),
            buffers["phase"][:size].reshape(shape),
            buffers["cos"][:size].reshape(shape),
            work[: m * self.n_in].reshape(self.n_in, m, 1),
        )

    def forward(self, params: tuple, plan: tuple, a, training: bool) -> np.ndarray:
        w1, b1, w2, b2 = params
        out3, _, phase, cos, _ = plan
        x = _dense(a)
        np.multiply(x.T[:, :, None], w1[:, None, :], out=phase)
        phase *= _TWO_PI
        phase += b1[:, None, :]
        np.cos(phase, out=cos)
        linear = out3[:, :, 1:].transpose(1, 0, 2)  # (n_features, m, width - 1)
        np.matmul(cos, w2, out=linear)
        linear += b2[:, None, :]
        out3[:, :, 0] = x
        return out3.reshape(x.shape[0], self.n_out)

    def backward(self, params: tuple, grads: tuple, plan: tuple, a, d_in) -> None:
        w1, _, w2, _ = params
        w1_grad, b1_grad, w2_grad, b2_grad = grads
        _, delta3, phase, cos, work = plan
        g = delta3[:, :, 1:].transpose(1, 0, 2)  # d loss / d linear part
        np.add.reduce(g, axis=1, out=b2_grad)
        np.matmul(cos.transpose(0, 2, 1), g, out=w2_grad)
        # with dC = g W2^T: d loss / d phase = -sin(phase) dC, kept negated in cos
        np.matmul(g, w2.transpose(0, 2, 1), out=cos)
        np.sin(phase, out=phase)
        cos *= phase
        np.add.reduce(cos, axis=1, out=b1_grad)
        np.negative(b1_grad, out=b1_grad)
        x = _dense(a)
        np.matmul(x.T[:, None, :], cos, out=w1_grad[:, None, :])
        w1_grad *= -_TWO_PI
        if d_in is not None:
            np.matmul(cos, w1[:, :, None], out=work)
            np.multiply(work[:, :, 0].T, -_TWO_PI, out=d_in)
            d_in += delta3[:, :, 0]

    def output_bound(self, params: tuple, bound: float, limit: float) -> float:
        w1, b1, w2, b2 = (p.astype(np.float64) for p in params)
        phase = _TWO_PI * float(np.max(np.abs(w1))) * bound + float(np.max(np.abs(b1)))
        if not phase <= limit:  # cos of an overflowed phase is NaN
            return math.inf
        linear = np.add.reduce(np.abs(w2), axis=1) + np.abs(b2)  # |cos| <= 1
        return max(bound, float(np.max(linear)))


class PeriodicEmbedding(_Embedding):
    """The periodic numeric embedding of Gorishniy et al. (2022): feature
    ``j`` becomes ``[sin(2 pi c_j x_j), cos(2 pi c_j x_j)]``, ``k`` frequencies
    ``c_j`` each (the sines first).

    Parameters
    ----------
    n_features : int
        The input width.
    n_frequencies : int, default=16
        ``k``; each feature gives ``2 k`` values.
    sigma : float, default=0.1
        The standard deviation of the initial frequencies ``c ~ N(0,
        sigma^2)``. The paper tunes it; the default is PBLD's, for inputs on
        the scale of :class:`skmlp.preprocessing.RobustScaleSmoothClip`'s.
    lr_factor : float, default=0.1
        The learning-rate factor of ``c`` (PBLD's).
    decay : bool, default=True
        Whether weight decay applies to ``c`` (pytabkit's default).

    Its one block is ``frequencies`` (``(n_features, k)``, group
    ``'embeddings'``).

    References
    ----------
    Gorishniy, Rubachev and Babenko, "On Embeddings for Numerical Features
    in Tabular Deep Learning", NeurIPS 2022, section 3.3.
    """

    kind = "periodic_embedding"

    def __init__(
        self,
        n_features: int,
        n_frequencies: int = 16,
        sigma: float = 0.1,
        lr_factor: float = 0.1,
        decay: bool = True,
    ):
        if int(n_frequencies) < 1:
            raise ValueError(f"n_frequencies must be at least 1; got {n_frequencies!r}.")
        super().__init__(n_features, 2 * int(n_frequencies), lr_factor, decay)
        self.n_frequencies = int(n_frequencies)
        self.sigma = float(sigma)

    def _describe(self) -> dict:
        return {"n_features": self.n_in, "n_frequencies": self.n_frequencies}

    def blocks(self) -> tuple[ParamBlock, ...]:
        return (self._block("frequencies", (self.n_in, self.n_frequencies)),)

    def init(self, rng, params: tuple, inputs=None, method: str = "sklearn") -> None:
        params[0][...] = rng.normal(0.0, self.sigma, params[0].shape)

    def plan(self, buffers: dict, m: int, work: np.ndarray) -> tuple:
        """``(out3, delta3, work3)``: output, its gradient and scratch by
        feature; ``work3`` holds ``k`` values per feature."""
        delta = buffers["delta"]
        shape = (m, self.n_in, self.n_frequencies)
        return (
            self._by_feature(buffers["out"], m),
            None if delta is None else self._by_feature(delta, m),
            work[: math.prod(shape)].reshape(shape),
        )

    def forward(self, params: tuple, plan: tuple, a, training: bool) -> np.ndarray:
        (c,) = params
        out3, _, phase = plan
        k = self.n_frequencies
        np.multiply(_dense(a)[:, :, None], c, out=phase)
        phase *= _TWO_PI
        np.sin(phase, out=out3[:, :, :k])
        np.cos(phase, out=out3[:, :, k:])
        return out3.reshape(phase.shape[0], self.n_out)

    def backward(self, params: tuple, grads: tuple, plan: tuple, a, d_in) -> None:
        (c,), (c_grad,) = params, grads
        out3, delta3, work = plan
        k = self.n_frequencies
        # d loss / d phase = g_sin cos(phase) - g_cos sin(phase), from the output
        np.multiply(delta3[:, :, :k], out3[:, :, k:], out=work)
        g_cos = delta3[:, :, k:]
        g_cos *= out3[:, :, :k]
        work -= g_cos
        x = _dense(a)
        np.matmul(x.T[:, None, :], work.transpose(1, 0, 2), out=c_grad[:, None, :])
        c_grad *= _TWO_PI
        if d_in is not None:
            work *= c
            np.add.reduce(work, axis=2, out=d_in)
            d_in *= _TWO_PI

    def output_bound(self, params: tuple, bound: float, limit: float) -> float:
        phase = _TWO_PI * float(np.max(np.abs(params[0].astype(np.float64)))) * bound
        return 1.0 if phase <= limit else math.inf


class PiecewiseLinearEmbedding(_Embedding):
    """The piecewise-linear encoding of Gorishniy et al. (2022), from
    quantile bins of the data: feature ``j`` becomes ``n_bins`` values
    ``e_t = clip(w_jt x_j + b_jt)``, with ``w = 1 / width`` and ``b = -left /
    width`` of bin ``t``, so that ``e_t`` is 1 right of the bin, 0 left of it
    and linear across it. The first value is not clipped below nor the last
    above, so inputs beyond the bins still vary.

    The bins are the distinct quantiles ``0, 1/n_bins, ..., 1`` of each
    feature over the inputs ``init`` sees (the layer initializes from the
    data); without data, ``n_bins`` equal bins over ``[-3, 3]``, the range of
    :class:`skmlp.preprocessing.RobustScaleSmoothClip`. A feature with fewer
    distinct quantiles uses the first and the last values and leaves the
    others constant; one bin is split into its two halves' ``min(z, 1)`` and
    ``max(z - 1, 0)``, which sum to ``z``; a constant feature is constant.

    Parameters
    ----------
    n_features : int
        The input width.
    n_bins : int, default=16
        The values per feature (at least 2).
    lr_factor : float, default=0.0
        The learning-rate factor of ``w`` and ``b``. At 0 the bins stay where
        the data put them, as in the paper, under every optimizer that
        applies the factors (L-BFGS does not: it moves them too).
    decay : bool, default=False
        Whether weight decay applies to ``w`` and ``b``.

    Its blocks (group ``'embeddings'``) are ``slopes`` and ``offsets``
    (``(n_features, n_bins)``): ``w`` and ``b``.

    References
    ----------
    Gorishniy, Rubachev and Babenko, "On Embeddings for Numerical Features
    in Tabular Deep Learning", NeurIPS 2022, section 3.2 (equation 1).
    """

    kind = "piecewise_linear_embedding"
    uses_data = True

    def __init__(
        self, n_features: int, n_bins: int = 16, lr_factor: float = 0.0, decay: bool = False
    ):
        if int(n_bins) < 2:
            raise ValueError(f"n_bins must be at least 2; got {n_bins!r}.")
        super().__init__(n_features, n_bins, lr_factor, decay)

    def _describe(self) -> dict:
        return {"n_features": self.n_in, "n_bins": self.width}

    def blocks(self) -> tuple[ParamBlock, ...]:
        shape = (self.n_in, self.width)
        return (self._block("slopes", shape), self._block("offsets", shape))

    def init(self, rng, params: tuple, inputs=None, method: str = "sklearn") -> None:
        slopes, offsets = params
        grid = np.linspace(-3.0, 3.0, self.width + 1)
        if inputs is not None:
            levels = np.linspace(0.0, 1.0, self.width + 1)
            quantiles = np.quantile(_dense(inputs).astype(np.float64), levels, axis=0)
        for j in range(self.n_in):
            edges = grid if inputs is None else np.unique(quantiles[:, j])
            slopes[j], offsets[j] = _bin_maps(edges, self.width)

    def plan(self, buffers: dict, m: int, work: np.ndarray) -> tuple:
        """``(out3, delta3, work3)``: by feature, ``(m, n_features, n_bins)``."""
        delta = buffers["delta"]
        return (
            self._by_feature(buffers["out"], m),
            None if delta is None else self._by_feature(delta, m),
            work[: m * self.n_out].reshape(m, self.n_in, self.width),
        )

    def forward(self, params: tuple, plan: tuple, a, training: bool) -> np.ndarray:
        slopes, offsets = params
        out3 = plan[0]
        np.multiply(_dense(a)[:, :, None], slopes, out=out3)
        out3 += offsets
        np.minimum(out3[:, :, 0], 1.0, out=out3[:, :, 0])
        np.clip(out3[:, :, 1:-1], 0.0, 1.0, out=out3[:, :, 1:-1])
        np.maximum(out3[:, :, -1], 0.0, out=out3[:, :, -1])
        return out3.reshape(out3.shape[0], self.n_out)

    def backward(self, params: tuple, grads: tuple, plan: tuple, a, d_in) -> None:
        slopes, _ = params
        slopes_grad, offsets_grad = grads
        out3, delta3, work = plan
        # the slope of each value: 1 where it is not clipped, read off the output
        np.less(out3[:, :, 0], 1.0, out=work[:, :, 0])
        np.greater(out3[:, :, -1], 0.0, out=work[:, :, -1])
        # a middle value e in [0, 1] is unclipped where e (1 - e) > 0
        inner, middle = out3[:, :, 1:-1], work[:, :, 1:-1]
        np.subtract(1.0, inner, out=middle)
        middle *= inner
        np.greater(middle, 0.0, out=middle)
        delta3 *= work
        np.add.reduce(delta3, axis=0, out=offsets_grad)
        np.multiply(delta3, _dense(a)[:, :, None], out=work)
        np.add.reduce(work, axis=0, out=slopes_grad)
        if d_in is not None:
            np.multiply(delta3, slopes, out=work)
            np.add.reduce(work, axis=2, out=d_in)

    def output_bound(self, params: tuple, bound: float, limit: float) -> float:
        slopes, offsets = (np.abs(p.astype(np.float64)) for p in params)
        return max(1.0, float(np.max(slopes * bound + offsets)))


def _bin_maps(edges: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """The slopes and offsets of :class:`PiecewiseLinearEmbedding` for one
    feature with sorted distinct bin ``edges``: its leading bins in the
    leading values, its last bin in the last value, constants between."""
    slopes = np.zeros(n_bins)
    # constants in the flat part of each value's clip: 1, then 0s
    offsets = np.full(n_bins, -1.0)
    offsets[0] = 2.0
    n_used = len(edges) - 1
    if n_used == 1:  # one bin: z = min(z, 1) + max(z - 1, 0)
        lo, hi = edges
        slopes[[0, -1]] = 1.0 / (hi - lo)
        offsets[0] = -lo / (hi - lo)
        offsets[-1] = offsets[0] - 1.0
    elif n_used > 1:
        widths = np.diff(edges)
        used = [*range(n_used - 1), n_bins - 1]
        slopes[used] = 1.0 / widths
        offsets[used] = -edges[:-1] / widths
    return slopes, offsets


# --- categorical codes and column routing ----------------------------------
class CategoricalEmbedding(Layer):
    """A learned embedding per categorical column: column ``j`` holds integer
    codes ``0 .. levels[j] - 1`` (stored as floats), and code ``c`` becomes
    row ``c`` of the column's own table, ``width`` values.

    Code 0 is the unknown category (missing, or unseen in training): it has
    its own learned row like any other, so ``levels[j]`` counts it. Codes are
    not differentiable: no gradient flows back to them (the input gradient,
    where a previous layer asks for one, is 0).

    Parameters
    ----------
    levels : tuple of int
        The number of codes of each column (unknown included), each at
        least 1. The layer takes ``len(levels)`` columns and gives
        ``len(levels) * width``, column ``j``'s values contiguous.
    width : int, default=8
        The values per column (pytabkit's ``embedding_size`` in RealMLP-TD).
    lr_factor : float, default=1.0
        The learning-rate factor of the tables (pytabkit's ``emb_lr_factor``).
    decay : bool, default=True
        Whether weight decay applies to the tables. pytabkit gives its
        embeddings no weight-decay factor of their own, so the global one
        applies.

    Its one block is ``tables`` (``(sum(levels), width)``, group
    ``'embeddings'``): column ``j``'s table is rows ``sum(levels[:j])`` to
    ``sum(levels[:j + 1])``. Every entry starts ``N(0, 1)``, as PyTorch's
    ``nn.Embedding`` and pytabkit's ``emb_init_mode='normal'``.

    A code that is not an integer in ``[0, levels[j])`` (NaN included)
    raises a ``ValueError`` in the forward pass: missing and unseen
    categories must be mapped to 0 before the network sees them.

    References
    ----------
    Guo and Berkhahn, "Entity Embeddings of Categorical Variables", 2016;
    Holzmüller, Grinsztajn and Steinwart, "Better by Default", NeurIPS 2024
    (pytabkit's ``SingleEmbeddingFitter``).
    """

    kind = "categorical_embedding"

    def __init__(
        self, levels: tuple[int, ...], width: int = 8, lr_factor: float = 1.0, decay: bool = True
    ):
        self.levels = tuple(int(n) for n in levels)
        if not self.levels or min(self.levels) < 1 or int(width) < 1:
            raise ValueError(
                "CategoricalEmbedding needs at least one column, every one with at least 1 "
                f"level, and width >= 1; got levels={levels!r}, width={width!r}."
            )
        self.width = int(width)
        self.n_in = len(self.levels)
        self.n_out = self.n_in * self.width
        self.lr_factor = float(lr_factor)
        self.decay = bool(decay)
        self._limits = np.array(self.levels, dtype=np.uintp)
        self._offsets = np.cumsum((0, *self.levels[:-1]), dtype=np.intp)

    def _describe(self) -> dict:
        return {"levels": self.levels, "width": self.width}

    def blocks(self) -> tuple[ParamBlock, ...]:
        shape = (sum(self.levels), self.width)
        return (
            ParamBlock("tables", shape, "embeddings", decay=self.decay, lr_factor=self.lr_factor),
        )

    def init(self, rng, params: tuple, inputs=None, method: str = "sklearn") -> None:
        params[0][...] = rng.standard_normal(params[0].shape)

    def buffers(self, batch_size: int, dtype, training: bool) -> dict:
        """The rows picked (``"index"``) and a check of the codes; in
        training, the gradient's flat positions (``"position"``)."""
        shape = (batch_size, self.n_in)
        buffers = {"index": np.empty(shape, dtype=np.intp), "bad": np.empty(shape, dtype=bool)}
        if training:
            buffers["position"] = np.empty((*shape, self.width), dtype=np.intp)
        return buffers

    def plan(self, buffers: dict, m: int, work: np.ndarray) -> tuple:
        """``(out3, delta3, index, bad, position)``: the output and its
        gradient by column, ``(m, n_in, width)``, and the buffers' rows."""
        shape = (m, self.n_in, self.width)
        delta = buffers["delta"]
        return (
            buffers["out"][:m].reshape(shape),
            None if delta is None else delta[:m].reshape(shape),
            *(_rows(buffers, name, m) for name in ("index", "bad", "position")),
        )

    def forward(self, params: tuple, plan: tuple, a, training: bool) -> np.ndarray:
        out3, _, index, bad, _ = plan
        x = _dense(a)
        with np.errstate(invalid="ignore"):  # NaN and huge codes: caught below
            np.copyto(index, x, casting="unsafe")
        np.not_equal(index, x, out=bad)
        if bad.any() or np.greater_equal(index.view(np.uintp), self._limits, out=bad).any():
            self._reject(x, bad)
        index += self._offsets
        np.take(params[0], index, axis=0, out=out3, mode="clip")  # in range: checked
        return out3.reshape(out3.shape[0], self.n_out)

    def _reject(self, x: np.ndarray, bad: np.ndarray) -> None:
        bad |= np.not_equal(np.floor(x), x) | ~(x >= 0) | ~(x < self._limits)
        row, column = np.argwhere(bad)[0]
        raise ValueError(
            f"CategoricalEmbedding: column {column} holds {float(x[row, column])}; its codes "
            f"must be integers in [0, {self.levels[column]}) (0 for an unknown category)."
        )

    def backward(self, params: tuple, grads: tuple, plan: tuple, a, d_in) -> None:
        (tables_grad,) = grads
        _, delta3, index, _, position = plan  # index: the forward pass's rows
        # scatter-add each value's gradient into its table entry: one
        # bincount over flat positions (several times faster than np.add.at)
        np.multiply(index[:, :, None], self.width, out=position)
        position += np.arange(self.width)
        counts = np.bincount(position.ravel(), delta3.ravel(), minlength=tables_grad.size)
        np.copyto(tables_grad, counts.reshape(tables_grad.shape))
        if d_in is not None:  # codes take no gradient
            d_in[...] = 0.0

    def output_bound(self, params: tuple, bound: float, limit: float) -> float:
        return float(np.max(np.abs(params[0].astype(np.float64)), initial=0.0))


class Columns(Layer):
    """Consecutive column ranges of the input, each through its own layer (or
    passed through unchanged), the outputs side by side in the same order.

    Parameters
    ----------
    parts : sequence of (int, Layer or None)
        ``(n_columns, layer)`` pairs: the next ``n_columns`` input columns go
        through ``layer`` (whose ``n_in`` must be ``n_columns``) and give its
        ``n_out`` columns; None copies them unchanged. For the tabular
        estimators' inputs: ``Columns([(n_numeric, PBLDEmbedding(n_numeric)),
        (n_other, None), (len(levels), CategoricalEmbedding(levels))])``.

    Its blocks are its layers' blocks, in order, with their groups, weight
    decay and learning-rate factors. Each layer is initialized from its own
    columns of the data when it uses data. The layers cannot drop units
    (follow the ``Columns`` with a layer that does).

    Each layer computes into buffers of its own, which the ``Columns``
    copies into its output's columns (and, backwards, its gradient out of
    them), so any layer kind fits, whatever views it makes of its buffers.
    """

    kind = "columns"

    def __init__(self, parts):
        self.parts = tuple((int(n), layer) for n, layer in parts)
        if not self.parts:
            raise ValueError("Columns needs at least one part.")
        for n, layer in self.parts:
            if n < 1 or not (layer is None or isinstance(layer, Layer)):
                raise ValueError(f"A part of Columns is (n_columns >= 1, Layer or None); got {n}.")
            if layer is not None and (layer.n_in != n or layer.dropout):
                raise ValueError(
                    f"{layer!r} in Columns must take its {n} columns and drop no units."
                )
        self.n_in = sum(n for n, _ in self.parts)
        self.n_out = sum(n if layer is None else layer.n_out for n, layer in self.parts)
        self.uses_data = any(layer is not None and layer.uses_data for _, layer in self.parts)
        self._routes = self._route()

    def _route(self) -> tuple:
        """Per part: its input columns, output columns and blocks (slices)."""
        routes, column, value, block = [], 0, 0, 0
        for n, layer in self.parts:
            n_out, n_blocks = (n, 0) if layer is None else (layer.n_out, len(layer.blocks()))
            spans = (slice(column, column + n), slice(value, value + n_out))
            routes.append((*spans, slice(block, block + n_blocks)))
            column, value, block = column + n, value + n_out, block + n_blocks
        return tuple(routes)

    def _describe(self) -> dict:
        return {"parts": list(self.parts)}

    def blocks(self) -> tuple[ParamBlock, ...]:
        return tuple(b for _, layer in self.parts if layer is not None for b in layer.blocks())

    def init(self, rng, params: tuple, inputs=None, method: str = "sklearn") -> None:
        for (_, layer), (columns, _, blocks) in zip(self.parts, self._routes):
            if layer is not None:
                data = _columns(inputs, columns) if layer.uses_data and inputs is not None else None
                layer.init(rng, params[blocks], data, method)

    def buffers(self, batch_size: int, dtype, training: bool) -> dict:
        """Per layer (None for a passthrough): its output, its output's
        gradient, its input's gradient (``"d_in"``) and its own buffers."""
        inner = []
        for n, layer in self.parts:
            if layer is None:
                inner.append(None)
                continue
            made = {"out": np.empty((batch_size, layer.n_out), dtype=dtype), "delta": None}
            if training:
                made["delta"] = np.empty((batch_size, layer.n_out), dtype=dtype)
                made["d_in"] = np.empty((batch_size, n), dtype=dtype)
            inner.append({**made, **layer.buffers(batch_size, dtype, training)})
        return {"parts": tuple(inner)}

    def plan(self, buffers: dict, m: int, work: np.ndarray) -> tuple:
        """``(out, delta, steps)``; a step is ``(layer, columns, outputs,
        blocks, layer_plan, layer_out, layer_delta, layer_d_in)``, the layer's
        entries None for a passthrough."""
        steps = []
        for (_, layer), route, inner in zip(self.parts, self._routes, buffers["parts"]):
            if layer is None:
                steps.append((None, *route, None, None, None, None))
                continue
            rows = (_rows(inner, name, m) for name in ("out", "delta", "d_in"))
            steps.append((layer, *route, layer.plan(inner, m, work), *rows))
        return buffers["out"][:m], _rows(buffers, "delta", m), tuple(steps)

    def forward(self, params: tuple, plan: tuple, a, training: bool) -> np.ndarray:
        out, _, steps = plan
        for layer, columns, outputs, blocks, inner, _, _, _ in steps:
            x = _columns(a, columns)
            if layer is not None:
                x = layer.forward(params[blocks], inner, x, training)
            np.copyto(out[:, outputs], _dense(x))
        return out

    def backward(self, params: tuple, grads: tuple, plan: tuple, a, d_in) -> None:
        _, delta, steps = plan
        for layer, columns, outputs, blocks, inner, _, layer_delta, layer_d_in in steps:
            if layer is None:
                if d_in is not None:
                    np.copyto(d_in[:, columns], delta[:, outputs])
                continue
            np.copyto(layer_delta, delta[:, outputs])
            to = None if d_in is None else layer_d_in
            layer.backward(params[blocks], grads[blocks], inner, _columns(a, columns), to)
            if d_in is not None:
                np.copyto(d_in[:, columns], layer_d_in)

    def output_bound(self, params: tuple, bound: float, limit: float) -> float:
        bounds = [
            bound if layer is None else layer.output_bound(params[blocks], bound, limit)
            for (_, layer), (_, _, blocks) in zip(self.parts, self._routes)
        ]
        return max(bounds)


def _columns(a, columns: slice):
    """Columns ``columns`` of ``a``: a view of an array; of a sparse matrix,
    a CSR matrix."""
    return a[:, columns] if isinstance(a, np.ndarray) else a.tocsr()[:, columns]


# --- ensembles -------------------------------------------------------------
class EnsembleInput(Layer):
    """The input adapter of a TabM-mini ensemble: member ``j`` sees ``x * r_j``
    (element-wise), ``r_j`` its own learnable vector.

    Parameters
    ----------
    n : int
        The input width.
    n_members : int
        ``k``, the number of members. The output has ``k * n`` columns.
    init : {'random-signs', 'ones', 'normal'}, default='random-signs'
        How ``r`` starts: each entry ``+-1`` with equal probability (TabM's),
        1 (the members then differ only by their heads), or ``N(0, 1)``.

    Its one block is ``adapters`` (``(k, n)``, group ``'adapters'``, not
    decayed).

    Notes
    -----
    The layout of an ensemble's batches, which :class:`Shared` and
    :class:`EnsembleHead` share:

    The ``k`` members travel side by side in every row: a layer of width
    ``w`` per member has ``k * w`` columns, member ``j``'s values in columns
    ``j * w`` to ``(j + 1) * w``. An ``(m, k * w)`` batch is then, without a
    copy, the ``(m * k, w)`` batch of every (sample, member) pair, row-major:
    row ``i * k + j`` is member ``j`` on sample ``i``. :class:`Shared` layers
    run on that view, so the members share their parameters and their
    gradients add up. The network keeps one row per sample throughout (its
    buffers, dropout masks and sample weights stay per sample); dropout
    draws each member's units independently.

    References
    ----------
    Gorishniy, Kotelnikov and Babenko, "TabM: Advancing Tabular Deep
    Learning with Parameter-Efficient Ensembling", ICLR 2025 (TabM-mini,
    its ``init_random_signs_``).
    """

    kind = "ensemble_input"

    def __init__(self, n: int, n_members: int, init: str = "random-signs"):
        if int(n_members) < 1:
            raise ValueError(f"n_members must be at least 1; got {n_members!r}.")
        if init not in ("random-signs", "ones", "normal"):
            raise ValueError(f"init must be 'random-signs', 'ones' or 'normal'; got {init!r}.")
        self.n_in, self.n_members, self.init_method = int(n), int(n_members), init
        self.n_out = self.n_in * self.n_members

    def _describe(self) -> dict:
        return {"n": self.n_in, "n_members": self.n_members, "init": self.init_method}

    def blocks(self) -> tuple[ParamBlock, ...]:
        return (ParamBlock("adapters", (self.n_members, self.n_in), "adapters"),)

    def init(self, rng, params: tuple, inputs=None, method: str = "sklearn") -> None:
        (adapters,) = params
        shape = adapters.shape
        if self.init_method == "random-signs":
            adapters[...] = 2.0 * rng.randint(0, 2, size=shape) - 1.0
        elif self.init_method == "normal":
            adapters[...] = rng.standard_normal(shape)
        else:
            adapters[...] = 1.0

    def plan(self, buffers: dict, m: int, work: np.ndarray) -> tuple:
        """``(out3, delta3, work3)``: ``(m, k, n)`` views."""
        shape = (m, self.n_members, self.n_in)
        delta = buffers["delta"]
        return (
            buffers["out"][:m].reshape(shape),
            None if delta is None else delta[:m].reshape(shape),
            work[: m * self.n_out].reshape(shape),
        )

    def forward(self, params: tuple, plan: tuple, a, training: bool) -> np.ndarray:
        out3 = plan[0]
        np.multiply(_dense(a)[:, None, :], params[0], out=out3)
        return out3.reshape(out3.shape[0], self.n_out)

    def backward(self, params: tuple, grads: tuple, plan: tuple, a, d_in) -> None:
        _, delta3, work = plan
        np.multiply(delta3, _dense(a)[:, None, :], out=work)
        np.add.reduce(work, axis=0, out=grads[0])
        if d_in is not None:
            np.multiply(delta3, params[0], out=work)
            np.add.reduce(work, axis=1, out=d_in)

    def output_bound(self, params: tuple, bound: float, limit: float) -> float:
        return bound * float(np.max(np.abs(params[0].astype(np.float64)), initial=0.0))


class Shared(Layer):
    """Any layer run on every member of an ensemble with the same parameters
    (the shared backbone of TabM-mini).

    Parameters
    ----------
    layer : Layer
        The layer each member applies; its widths are per member.
    n_members : int
        ``k``. The wrapper takes ``k * layer.n_in`` columns and gives ``k *
        layer.n_out``.

    Its blocks are ``layer``'s; so are its dropout rate and whether it
    initializes from the data (it sees every member's inputs as rows).

    The batch layout is :class:`EnsembleInput`'s.
    """

    kind = "shared"

    def __init__(self, layer: Layer, n_members: int):
        if int(n_members) < 1:
            raise ValueError(f"n_members must be at least 1; got {n_members!r}.")
        self.layer, self.n_members = layer, int(n_members)
        self.n_in, self.n_out = layer.n_in * self.n_members, layer.n_out * self.n_members
        self.dropout, self.uses_data = layer.dropout, layer.uses_data

    def _describe(self) -> dict:
        return {"layer": self.layer, "n_members": self.n_members}

    def blocks(self) -> tuple[ParamBlock, ...]:
        return self.layer.blocks()

    def _rows(self, a, m: int):
        return _dense(a).reshape(m * self.n_members, -1)

    def init(self, rng, params: tuple, inputs=None, method: str = "sklearn") -> None:
        rows = None if inputs is None else self._rows(inputs, inputs.shape[0])
        self.layer.init(rng, params, rows, method)

    def buffers(self, batch_size: int, dtype, training: bool) -> dict:
        """The layer's own buffers for ``k`` times the rows; its mask (the
        rows' masks side by side) also as ``"mask"``, for the network to draw."""
        inner = self.layer.buffers(batch_size * self.n_members, dtype, training)
        mask = inner.get("mask")
        shared = {"inner": inner}
        if mask is not None:
            shared["mask"] = mask.reshape(batch_size, self.n_out)
        return shared

    def plan(self, buffers: dict, m: int, work: np.ndarray) -> tuple:
        """``(m, layer_plan)``: the layer's plan for the ``m * k`` rows."""
        rows = m * self.n_members
        delta = buffers["delta"]
        inner = {
            **buffers["inner"],
            "out": buffers["out"][:m].reshape(rows, self.layer.n_out),
            "delta": None if delta is None else delta[:m].reshape(rows, self.layer.n_out),
        }
        return m, self.layer.plan(inner, rows, work)

    def forward(self, params: tuple, plan: tuple, a, training: bool) -> np.ndarray:
        m, inner = plan
        out = self.layer.forward(params, inner, self._rows(a, m), training)
        return out.reshape(m, self.n_out)

    def backward(self, params: tuple, grads: tuple, plan: tuple, a, d_in) -> None:
        m, inner = plan
        d_rows = None if d_in is None else d_in.reshape(m * self.n_members, self.layer.n_in)
        self.layer.backward(params, grads, inner, self._rows(a, m), d_rows)

    def output_bound(self, params: tuple, bound: float, limit: float) -> float:
        return self.layer.output_bound(params, bound, limit)


class EnsembleHead(Layer):
    """The members' own linear output layers: member ``j`` maps its ``n_in``
    values to ``n_out`` raw outputs with its own ``W_j`` and ``b_j``.

    The output holds every member's raw outputs side by side (``k * n_out``
    columns); the training loss is the mean of the members' losses, which
    is the loss of the ``(m * k, n_out)`` view against each target row
    repeated ``k`` times (with each sample weight repeated too), and a
    prediction averages the members, after the link (probabilities) for a
    classifier.

    Parameters
    ----------
    n_in : int
        The input width per member (the layer takes ``k * n_in`` columns).
    n_out : int
        The outputs per member.
    n_members : int
        ``k``.

    Its blocks are ``coef`` (``(k, n_in, n_out)``, group ``'weights'``,
    decayed) and ``intercept`` (``(k, n_out)``, group ``'biases'``), drawn
    from ``U(-1/sqrt(n_in), 1/sqrt(n_in))`` as TabM's ``LinearEnsemble``
    (PyTorch's ``nn.Linear`` default).

    The batch layout is :class:`EnsembleInput`'s.
    """

    kind = "ensemble_head"

    def __init__(self, n_in: int, n_out: int, n_members: int):
        if int(n_members) < 1:
            raise ValueError(f"n_members must be at least 1; got {n_members!r}.")
        self.n_members, self.width_in, self.width_out = int(n_members), int(n_in), int(n_out)
        self.n_in, self.n_out = self.width_in * self.n_members, self.width_out * self.n_members

    def _describe(self) -> dict:
        return {"n_in": self.width_in, "n_out": self.width_out, "n_members": self.n_members}

    def blocks(self) -> tuple[ParamBlock, ...]:
        k, n_in, n_out = self.n_members, self.width_in, self.width_out
        return (
            ParamBlock("coef", (k, n_in, n_out), "weights", decay=True),
            ParamBlock("intercept", (k, n_out), "biases"),
        )

    def init(self, rng, params: tuple, inputs=None, method: str = "sklearn") -> None:
        bound = 1.0 / math.sqrt(self.width_in)
        for block in params:
            block[...] = rng.uniform(-bound, bound, block.shape)

    def _members(self, flat, m: int, width: int) -> np.ndarray:
        """``m`` rows as ``(k, m, width)``: each member's batch (a view)."""
        return flat[:m].reshape(m, self.n_members, width).transpose(1, 0, 2)

    def plan(self, buffers: dict, m: int, work: np.ndarray) -> tuple:
        """``(out, out_k, delta_k)``: the output, and it and its gradient by member."""
        delta = buffers["delta"]
        out = buffers["out"][:m]
        return (
            out,
            self._members(out, m, self.width_out),
            None if delta is None else self._members(delta, m, self.width_out),
        )

    def forward(self, params: tuple, plan: tuple, a, training: bool) -> np.ndarray:
        coef, intercept = params
        out, out_k, _ = plan
        a_k = self._members(_dense(a), out.shape[0], self.width_in)
        np.matmul(a_k, coef, out=out_k)
        out_k += intercept[:, None, :]
        return out

    def backward(self, params: tuple, grads: tuple, plan: tuple, a, d_in) -> None:
        coef_grad, intercept_grad = grads
        _, _, delta_k = plan
        m = delta_k.shape[1]
        a_k = self._members(_dense(a), m, self.width_in)
        np.matmul(a_k.transpose(0, 2, 1), delta_k, out=coef_grad)
        np.add.reduce(delta_k, axis=1, out=intercept_grad)
        if d_in is not None:
            d_k = self._members(d_in, m, self.width_in)
            np.matmul(delta_k, params[0].transpose(0, 2, 1), out=d_k)

    def output_bound(self, params: tuple, bound: float, limit: float) -> float:
        coef, intercept = (p.astype(np.float64) for p in params)
        col_sums = np.add.reduce(np.abs(coef), axis=1)  # (k, n_out)
        return float(np.max(bound * col_sums + np.abs(intercept)))


LAYERS: dict[str, type[Layer]] = {
    "dense": Dense,
    "scale": Scale,
    "dense_ntp": DenseNTP,
    "parametric_activation": ParametricActivation,
    "pbld_embedding": PBLDEmbedding,
    "periodic_embedding": PeriodicEmbedding,
    "piecewise_linear_embedding": PiecewiseLinearEmbedding,
    "categorical_embedding": CategoricalEmbedding,
    "columns": Columns,
    "ensemble_input": EnsembleInput,
    "shared": Shared,
    "ensemble_head": EnsembleHead,
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
