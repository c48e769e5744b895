"""The network: an ordered list of layers over one flat parameter vector.

Every parameter block the layers declare (:class:`~skmlp.layers.ParamBlock`)
lives in one contiguous vector: first every block with weight decay, in
layer order, then every other block, in layer order. For scikit-learn's
dense MLP that is exactly its ``_pack`` order (every weight matrix, row-major
``(fan_in, fan_out)``, then every bias vector), and in general the decayed
parameters are the contiguous prefix ``params[:n_coef]``: the L2/L1 penalty
and decoupled weight decay act on one slice. Optimizers and L-BFGS work on
the single array; each layer computes on views of it.

``Workspace`` holds every buffer one batch needs (each layer's output and
output gradient, the layers' own buffers, one shared scratch), allocated
once for the largest batch and sliced for smaller ones, so a training step
allocates no array the size of a batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from . import compiled
from ._math import draw_dropout_mask
from .activations import ACTIVATIONS
from .layers import Dense, Layer, dense_layers
from .losses import LOSSES, Loss

__all__ = ["Network", "ParamGroup", "Workspace"]


@dataclass(frozen=True)
class ParamGroup:
    """The parameters of one group: where they are and how they are trained.

    A group gathers the blocks that share a group name, weight decay and
    learning-rate factor (a name whose blocks differ in those appears once
    per combination).

    Attributes
    ----------
    name : str
        The group's name (:attr:`skmlp.layers.ParamBlock.group`).
    slices : tuple of slice
        Where its parameters are in the flat vector (contiguous blocks
        merged).
    decay : bool
        Whether the penalty and decoupled weight decay apply to them.
    lr_factor : float
        Their learning-rate factor.
    """

    name: str
    slices: tuple
    decay: bool
    lr_factor: float


@dataclass
class Workspace:
    """Buffers for one batch size, bound to a parameter and a gradient vector.

    ``layer_params[k]`` and ``layer_grads[k]`` are layer ``k``'s block views
    of ``params`` and ``grad``; ``buffers[k]`` its batch buffers: ``"out"``,
    ``"delta"`` (the gradient with respect to its output; None in a
    forward-only workspace) and those of its own (``Layer.buffers``).
    ``coefs``, ``intercepts``, ``coef_grads`` and ``intercept_grads`` are
    :meth:`Network.views` of ``params`` and ``grad``. ``masks[k]`` is layer
    ``k``'s dropout mask, None where it drops nothing.
    """

    params: np.ndarray
    grad: np.ndarray
    layers: tuple
    layer_params: list
    layer_grads: list
    buffers: list
    work: np.ndarray
    penalty_work: np.ndarray = field(repr=False)
    coefs: list = field(default_factory=list, repr=False)
    intercepts: list = field(default_factory=list, repr=False)
    coef_grads: list = field(default_factory=list, repr=False)
    intercept_grads: list = field(default_factory=list, repr=False)
    masks: list = field(default_factory=list, repr=False)
    # trace[k]: what layer k saw in the last forward pass (backward's inputs)
    trace: list = field(default_factory=list, repr=False)
    _plans: dict = field(default_factory=dict, repr=False)

    @property
    def outputs(self) -> list:
        """Each layer's output buffer (the last: the prediction)."""
        return [b["out"] for b in self.buffers]

    @property
    def deltas(self) -> list:
        """Each layer's output-gradient buffer (None in a forward-only workspace)."""
        return [b["delta"] for b in self.buffers]

    def plan(self, m: int) -> tuple[list, np.ndarray | None]:
        """Per-layer steps for ``m`` rows, and the output layer's ``delta``.

        A step is ``(forward, backward, params, grads, plan, d_in)``: the
        layer's bound methods, its views, its buffers' views for ``m`` rows
        (``Layer.plan``) and the previous layer's ``delta`` (None for the
        first layer). Made once per batch size (a fit has at most two: the
        full batch and the last, shorter one), so the hot loop slices
        nothing.
        """
        planned = self._plans.get(m)
        if planned is None:
            steps, d_in = [], None
            for layer, params, grads, buffers in zip(
                self.layers, self.layer_params, self.layer_grads, self.buffers
            ):
                plan = layer.plan(buffers, m, self.work)
                steps.append((layer.forward, layer.backward, params, grads, plan, d_in))
                d_in = None if buffers["delta"] is None else buffers["delta"][:m]
            planned = self._plans[m] = (steps, d_in)
        return planned


class Network:
    """An ordered list of layers over one flat parameter vector, with its loss.

    ``Network(layer_units, activation, loss, dropout)`` is scikit-learn's
    dense MLP (:func:`skmlp.layers.dense_layers`); :meth:`from_layers` builds
    any other stack of :mod:`skmlp.layers` layers.

    Parameters
    ----------
    layer_units : sequence of int
        Units per layer, input and output included.
    activation : str
        Name of the hidden activation in :data:`skmlp.activations.ACTIVATIONS`.
    loss : str or Loss
        A loss (see :func:`skmlp.losses.make_loss`), or the name of one in
        :data:`skmlp.losses.LOSSES`; it fixes the output activation (its
        link), which it applies to the last layer's output.
    dropout : float or sequence of float, default=0.0
        Fraction of each hidden layer's units dropped in training.

    Attributes
    ----------
    layers : tuple of Layer
        The layers, input first; the last one's output is the raw output.
    layer_units : tuple of int
        The input width, then each layer's output width.
    activation : Activation or None
        The hidden layers' activation (None if their dense layers differ).
    dropout : tuple of float
        Each layer's dropout rate but the output layer's (which never drops).
    is_mlp : bool
        Whether the network is scikit-learn's dense MLP (every layer a
        :class:`~skmlp.layers.Dense`, the hidden ones sharing
        ``activation``, the output one linear): the only network the compiled
        kernels, ``coefs_``/``intercepts_`` and the ONNX export describe.
    n_params : int
        The length of the flat parameter vector.
    n_coef : int
        The number of decayed parameters: ``params[:n_coef]``, the only ones
        the penalty (``alpha``) and decoupled weight decay touch.
    coef_shapes : list of tuple
        The shapes of the decayed blocks, in flat order.
    groups : tuple of ParamGroup
        What an optimizer chain needs to know per parameter, without knowing
        layers: each group's slices of the flat vector, whether weight decay
        applies, and its learning-rate factor. :meth:`lr_factors` gives the
        factors as one vector.
    """

    def __init__(self, layer_units, activation: str, loss: str | Loss, dropout=0.0):
        self._assemble(dense_layers(layer_units, activation, dropout), loss)
        self.activation = ACTIVATIONS[activation]
        self.is_mlp = True

    @classmethod
    def from_layers(cls, layers, loss: str | Loss) -> Network:
        """The network of ``layers`` (each one's ``n_in`` the previous one's
        ``n_out``) with ``loss`` on the last one's output."""
        net = cls.__new__(cls)
        net._assemble(layers, loss)
        hidden = {layer.activation for layer in net.layers[:-1] if isinstance(layer, Dense)}
        net.activation = hidden.pop() if len(hidden) == 1 else None
        output = net.layers[-1]
        net.is_mlp = (
            all(type(layer) is Dense for layer in net.layers)
            and output.activation is None
            and (net.activation is not None or net.n_layers == 1)
        )
        return net

    def _assemble(self, layers, loss: str | Loss) -> None:
        self.layers = tuple(layers)
        if not self.layers or not all(isinstance(layer, Layer) for layer in self.layers):
            raise ValueError("A network needs at least one layer, each a skmlp.layers.Layer.")
        for before, after in pairwise(self.layers):
            if before.n_out != after.n_in:
                raise ValueError(
                    f"{before!r} gives {before.n_out} values; {after!r} takes {after.n_in}."
                )
        if self.layers[-1].dropout:
            raise ValueError("The output layer cannot drop units: its output is the prediction.")
        self.loss = LOSSES[loss] if isinstance(loss, str) else loss
        self.n_layers = len(self.layers)
        self.layer_units = (self.layers[0].n_in, *(layer.n_out for layer in self.layers))
        self.dropout = tuple(layer.dropout for layer in self.layers[:-1])
        self._blocks = [layer.blocks() for layer in self.layers]
        self._lay_out()

    def _lay_out(self) -> None:
        """Place the blocks: decayed ones first, in layer order, then the rest."""
        where = [(k, j) for k, blocks in enumerate(self._blocks) for j in range(len(blocks))]
        order = [kj for kj in where if self._block(kj).decay]
        order += [kj for kj in where if not self._block(kj).decay]
        self._slices = [[None] * len(blocks) for blocks in self._blocks]
        self._flat_order = order
        groups, offset, n_coef = {}, 0, 0
        for k, j in order:
            block = self._block((k, j))
            s = slice(offset, offset + block.size)
            self._slices[k][j] = s
            offset = s.stop
            n_coef = offset if block.decay else n_coef
            slices = groups.setdefault((block.group, block.decay, block.lr_factor), [])
            if slices and slices[-1].stop == s.start:
                slices[-1] = slice(slices[-1].start, s.stop)
            else:
                slices.append(s)
        self.n_params, self.n_coef = offset, n_coef
        self.coef_shapes = [self._block(kj).shape for kj in order if self._block(kj).decay]
        self.groups = tuple(
            ParamGroup(name, tuple(slices), decay, lr_factor)
            for (name, decay, lr_factor), slices in groups.items()
        )

    def _block(self, kj):
        return self._blocks[kj[0]][kj[1]]

    # parameter vector ---------------------------------------------------
    def layer_views(self, flat: np.ndarray) -> list[tuple]:
        """Each layer's parameter blocks as views of ``flat``, in the order of
        its ``blocks()``."""
        return [
            tuple(flat[s].reshape(b.shape) for s, b in zip(slices, blocks))
            for slices, blocks in zip(self._slices, self._blocks)
        ]

    def views(self, flat: np.ndarray) -> tuple[list, list]:
        """The decayed blocks and the others, each in flat order, as views of
        ``flat``: for the dense MLP, its weight matrices and bias vectors
        (scikit-learn's ``coefs_`` and ``intercepts_``)."""
        decayed, others = [], []
        for kj in self._flat_order:
            block = self._block(kj)
            view = flat[self._slices[kj[0]][kj[1]]].reshape(block.shape)
            (decayed if block.decay else others).append(view)
        return decayed, others

    def pack(self, coefs, intercepts, dtype) -> np.ndarray:
        """Copy the blocks of :meth:`views` into a new flat vector of ``dtype``."""
        flat = np.empty(self.n_params, dtype=dtype)
        coef_views, intercept_views = self.views(flat)
        sources = [*coefs, *intercepts]
        if len(sources) != len(coef_views) + len(intercept_views):
            raise ValueError(
                f"Got {len(sources)} parameter arrays; the network has "
                f"{len(coef_views)} layers, so it expects {2 * len(coef_views)}."
                if len(coef_views) == len(intercept_views)
                else f"Got {len(sources)} parameter arrays; the network has "
                f"{len(coef_views) + len(intercept_views)} parameter blocks."
            )
        for dst, src in zip(coef_views + intercept_views, sources):
            if dst.shape != np.shape(src):
                raise ValueError(
                    f"A parameter array has shape {np.shape(src)}, the network expects {dst.shape}."
                )
            dst[...] = src
        return flat

    def lr_factors(self, dtype=np.float64) -> np.ndarray | None:
        """Each parameter's learning-rate factor as a vector of ``dtype``, or
        None when every factor is 1 (built once per fit)."""
        if all(group.lr_factor == 1.0 for group in self.groups):
            return None
        factors = np.empty(self.n_params, dtype=dtype)
        for group in self.groups:
            for s in group.slices:
                factors[s] = group.lr_factor
        return factors

    def init_params(self, rng, method: str, dtype, X=None) -> np.ndarray:
        """Initial parameters: each layer's ``init``, in layer order.

        ``method`` names the initializer (:data:`skmlp.initializers.INITIALIZERS`)
        the dense layers draw from, with ``rng``. ``X``, the first batch, is
        passed through the layers as they are initialized and shown to each
        layer whose initialization depends on the data (``uses_data``).
        """
        flat = np.empty(self.n_params, dtype=dtype)
        per_layer = self.layer_views(flat)
        uses_data = [layer.uses_data for layer in self.layers]
        steps = None
        if X is not None and any(uses_data):
            if X.dtype != flat.dtype:
                X = X.astype(flat.dtype)
            steps = self.workspace(X.shape[0], flat, training=False).plan(X.shape[0])[0]
        a = X
        for k, layer in enumerate(self.layers):
            layer.init(rng, per_layer[k], a if steps and uses_data[k] else None, method)
            if steps and any(uses_data[k + 1 :]):
                forward, _, params, _, plan, _ = steps[k]
                a = forward(params, plan, a, False)
        return flat

    def start_output_bias(self, params: np.ndarray, Y: np.ndarray, sample_weight=None) -> None:
        """Set the output bias to the loss's baseline for ``Y``, if it has one."""
        if self.loss.baseline is not None:
            names = [block.name for block in self._blocks[-1]]
            bias = self.layer_views(params)[-1][names.index("intercept")]
            bias[...] = self.loss.baseline(Y, sample_weight)

    # buffers ------------------------------------------------------------
    def workspace(
        self, batch_size: int, params: np.ndarray, grad=None, training: bool = True
    ) -> Workspace:
        """Allocate buffers for batches of up to ``batch_size`` rows.

        With ``training=False`` only the forward pass's buffers are made.
        """
        dtype = params.dtype
        if grad is None:
            grad = np.zeros_like(params) if training else params
        buffers = []
        for layer in self.layers:
            shape = (batch_size, layer.n_out)
            own = layer.buffers(batch_size, dtype, training)
            delta = np.empty(shape, dtype=dtype) if training else None
            buffers.append({"out": np.empty(shape, dtype=dtype), "delta": delta, **own})
        coefs, intercepts = self.views(params)
        coef_grads, intercept_grads = self.views(grad)
        return Workspace(
            params,
            grad,
            self.layers,
            self.layer_views(params),
            self.layer_views(grad),
            buffers,
            # one scratch buffer, sliced per layer (the output layer's too)
            np.empty(batch_size * max(self.layer_units[1:]), dtype=dtype),
            np.empty(self.n_coef if training else 0, dtype=dtype),
            coefs,
            intercepts,
            coef_grads,
            intercept_grads,
            masks=[b.get("mask") for b in buffers],
            trace=[None] * self.n_layers,
        )

    def draw_dropout_masks(self, ws: Workspace, m: int, rng: np.random.Generator) -> None:
        """Draw the dropout masks of the next ``m``-row batch (training only).

        A mask holds 0 for a dropped unit and ``1 / (1 - rate)`` for a kept
        one (inverted dropout, the rate to 1/65536: see
        :func:`skmlp._math.draw_dropout_mask`), so activations keep their
        expected value and prediction needs no rescaling.
        """
        for mask, layer in zip(ws.masks, self.layers):
            if mask is not None:
                rows = mask[:m]
                draw_dropout_mask(rows, layer.dropout, rng, compiled.elementwise_kernels(rows))

    # numerics -----------------------------------------------------------
    def forward(self, ws: Workspace, X, training: bool = False) -> np.ndarray:
        """Forward pass of ``X`` (at most the workspace's batch size rows).

        ``training=True`` applies the workspace's current dropout masks
        (see :meth:`draw_dropout_masks`); prediction never drops units.

        Returns the prediction (the link applied to the raw output), a view
        into the workspace.
        """
        trace = ws.trace
        a = X
        for k, (forward, _, params, _, plan, _) in enumerate(ws.plan(X.shape[0])[0]):
            trace[k] = a
            a = forward(params, plan, a, training)
        self.loss.link(a)
        return a

    def loss_and_grad(
        self, ws: Workspace, X, Y, sample_weight=None, alpha=0.0, l1_ratio=0.0
    ) -> float:
        """Loss at ``ws.params`` on ``(X, Y)``; its gradient goes to ``ws.grad``.

        The loss is the (weighted) mean over samples of the per-sample loss
        plus the elastic-net penalty on the weights (never the biases),
        divided like scikit-learn's L2 term by the batch's weight sum ``S``:

            alpha * ((1 - l1_ratio) / 2 * ||W||_2^2 + l1_ratio * ||W||_1) / S

        ``l1_ratio=0`` is scikit-learn's L2 term exactly. The L1 part enters
        the gradient as its subgradient ``sign(W)``; the trainer's clipping
        step turns it into exact zeros. With dropout, the workspace's current
        masks are applied (training pass).
        """
        m = X.shape[0]
        weight_sum = float(m) if sample_weight is None else float(np.add.reduce(sample_weight))
        if weight_sum <= 0.0:  # a batch of zero-weight samples teaches nothing
            ws.grad[...] = 0.0
            return 0.0
        pred = self.forward(ws, X, training=True)
        steps, delta = ws.plan(m)
        np.subtract(pred, Y, out=delta)
        loss = self.loss.value(Y, pred, delta, sample_weight)
        if self.loss.gradient is not None:
            self.loss.gradient(delta, pred)
        if sample_weight is None:
            delta *= 1.0 / m
        else:
            delta *= (sample_weight / weight_sum).astype(delta.dtype, copy=False)[:, None]
        for (_, backward, params, grads, plan, d_in), a in zip(reversed(steps), reversed(ws.trace)):
            backward(params, grads, plan, a, d_in)

        if alpha > 0.0:
            weights = ws.params[: self.n_coef]
            l2 = alpha * (1.0 - l1_ratio) / weight_sum
            if l2 > 0.0:
                loss += 0.5 * l2 * float(np.vdot(weights, weights))
                np.multiply(weights, l2, out=ws.penalty_work)
                ws.grad[: self.n_coef] += ws.penalty_work
            if l1_ratio > 0.0:
                l1 = alpha * l1_ratio / weight_sum
                grad_w = ws.grad[: self.n_coef]
                np.abs(weights, out=ws.penalty_work)
                loss += l1 * float(np.add.reduce(ws.penalty_work))
                np.sign(weights, out=ws.penalty_work)
                ws.penalty_work *= l1
                grad_w += ws.penalty_work
                # at w == 0 take the subgradient of least magnitude (OWL-QN's
                # pseudo-gradient): zero while the data gradient is weaker than
                # the penalty, so a weight the penalty killed stays at zero
                zero = np.flatnonzero(weights == 0.0)
                if zero.size:
                    g = grad_w[zero]
                    grad_w[zero] = np.sign(g) * np.maximum(np.abs(g) - l1, 0.0)
        return loss

    def raw_output_bound(self, params: np.ndarray, x_max: float) -> float:
        """An upper bound on every raw output's magnitude over all inputs with
        entries ``|x| <= x_max``, from the parameters alone.

        Each layer bounds its output from the bound on its input
        (``Layer.output_bound``; for a dense layer ``|z_j| <= max|a| *
        sum_i |W_ij| + |b_j|``, then its activation's bound). Costs one pass
        over the parameters, none over the data. Infinite where a hidden
        value could come near overflow; NaN where an output-layer parameter
        is.
        """
        bound = float(x_max)
        limit = float(np.finfo(params.dtype).max) / 16.0
        last = self.n_layers - 1
        with np.errstate(over="ignore", invalid="ignore"):
            for k, (layer, views) in enumerate(zip(self.layers, self.layer_views(params))):
                bound = layer.output_bound(views, bound, limit)
                if k < last and not bound < math.inf:
                    return math.inf
        return bound

    def predict(
        self, params: np.ndarray, X, chunk_rows: int | None = None, out_dtype=None
    ) -> np.ndarray:
        """Prediction for all rows of ``X``, computed in bounded chunks.

        Peak extra memory is the output array plus one chunk's activations
        (and one chunk of ``X`` converted to ``params.dtype`` if it differs),
        whatever the number of rows. The result has ``out_dtype`` (default
        ``params.dtype``).
        """
        result = np.empty((X.shape[0], self.layer_units[-1]), dtype=out_dtype or params.dtype)
        for rows, pred in self.predict_chunks(params, X, chunk_rows):
            result[rows] = pred
        return result

    def predict_chunks(self, params: np.ndarray, X, chunk_rows: int | None = None):
        """``(rows, prediction)`` for consecutive chunks of ``X``: ``rows`` a
        slice, ``prediction`` (in ``params.dtype``) a view into a buffer the
        next chunk overwrites. Memory: one chunk's activations, about 4 MiB
        unless ``chunk_rows`` is given."""
        n = X.shape[0]
        if chunk_rows is None:
            # about 4 MiB of activations per chunk: large enough for BLAS to
            # run at full speed, small beside any output worth chunking
            per_row = max(sum(self.layer_units[1:]), 1) * params.dtype.itemsize
            chunk_rows = max(64, (4 << 20) // per_row)
        chunk_rows = max(1, min(chunk_rows, n))
        ws = self.workspace(chunk_rows, params, training=False)
        for start in range(0, n, chunk_rows):
            stop = min(start + chunk_rows, n)
            chunk = X[start:stop]
            if chunk.dtype != params.dtype:
                chunk = chunk.astype(params.dtype)
            yield slice(start, stop), self.forward(ws, chunk)
