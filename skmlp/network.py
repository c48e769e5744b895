"""The network: one flat parameter vector, its per-layer views, and backprop.

All weights and biases of a network live in one contiguous vector laid out as
scikit-learn's ``_pack`` does: every layer's weight matrix (row-major
``(fan_in, fan_out)``), then every layer's bias vector.  Optimizers and
L-BFGS therefore work on a single array, and the L2 penalty, which applies to
weights only, is one contiguous slice ``params[:n_coef]``.

``Workspace`` holds every buffer one batch needs (activations, deltas,
scratch), allocated once for the largest batch and sliced for smaller ones,
so a training step allocates no array the size of a batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import scipy.sparse as sp

from .activations import ACTIVATIONS
from .initializers import INITIALIZERS
from .losses import LOSSES, Loss

__all__ = ["Network", "Workspace"]


@dataclass
class Workspace:
    """Buffers for one batch size, bound to a parameter and a gradient vector."""

    params: np.ndarray
    grad: np.ndarray
    coefs: list
    intercepts: list
    coef_grads: list
    intercept_grads: list
    outputs: list  # outputs[i]: activation of layer i + 1 (last: prediction)
    inputs: list  # pre-activation buffers, only where the activation needs z
    deltas: list
    work: np.ndarray
    penalty_work: np.ndarray = field(repr=False)
    dropped: list = field(default_factory=list, repr=False)  # masked outputs
    masks: list = field(default_factory=list, repr=False)  # inverted-dropout masks
    _plans: dict = field(default_factory=dict, repr=False)

    def plan(self, m: int) -> list:
        """Per-layer ``(z, out, delta, work, dropped, mask)`` views for ``m`` rows.

        Made once per batch size (a fit has at most two: the full batch and
        the last, shorter one), so the hot loop slices nothing. ``z`` is the
        buffer the layer's matrix product goes to: ``out`` itself unless the
        hidden activation needs its input kept. ``dropped`` (the output times
        the dropout ``mask``, what the next layer sees) is ``None`` without
        dropout.
        """
        layers = self._plans.get(m)
        if layers is None:
            layers = []
            last = len(self.outputs) - 1
            for i, out in enumerate(self.outputs):
                out = out[:m]
                z = out if i == last or self.inputs[i] is None else self.inputs[i][:m]
                delta = None if self.deltas[i] is None else self.deltas[i][:m]
                work = self.work[: m * out.shape[1]].reshape(m, out.shape[1])
                dropped = (
                    self.dropped[i][:m]
                    if i < len(self.dropped) and self.dropped[i] is not None
                    else None
                )
                mask = None if dropped is None else self.masks[i][:m]
                layers.append((z, out, delta, work, dropped, mask))
            self._plans[m] = layers
        return layers


class Network:
    """A fully connected network's structure and numerics.

    Parameters
    ----------
    layer_units : sequence of int
        Units per layer, input and output included.
    activation : str
        Name of the hidden activation in :data:`skmlp.activations.ACTIVATIONS`.
    loss : str or Loss
        A loss (see :func:`skmlp.losses.make_loss`), or the name of one in
        :data:`skmlp.losses.LOSSES`; it fixes the output activation (its
        link).
    """

    def __init__(self, layer_units, activation: str, loss: str | Loss, dropout=0.0):
        self.layer_units = tuple(int(u) for u in layer_units)
        n_hidden = len(self.layer_units) - 2
        rates = tuple(dropout) if np.iterable(dropout) else (float(dropout),) * n_hidden
        if len(rates) != n_hidden:
            raise ValueError(
                f"dropout has {len(rates)} rates but the network has {n_hidden} hidden layers."
            )
        # fraction of each hidden layer's units dropped in training (0: none)
        self.dropout = tuple(float(r) for r in rates)
        self.activation = ACTIVATIONS[activation]
        self.loss = LOSSES[loss] if isinstance(loss, str) else loss
        self.n_layers = len(self.layer_units) - 1  # weight layers
        pairs = list(pairwise(self.layer_units))
        self.coef_shapes = pairs
        offsets = np.cumsum([0, *(a * b for a, b in pairs)])
        self.n_coef = int(offsets[-1])
        bias_offsets = self.n_coef + np.cumsum([0, *self.layer_units[1:]])
        self.n_params = int(bias_offsets[-1])
        self._coef_slices = [slice(int(s), int(e)) for s, e in pairwise(offsets)]
        self._intercept_slices = [slice(int(s), int(e)) for s, e in pairwise(bias_offsets)]

    # parameter vector ---------------------------------------------------
    def views(self, flat: np.ndarray) -> tuple[list, list]:
        """Per-layer weight matrices and bias vectors as views of ``flat``."""
        coefs = [flat[s].reshape(shape) for s, shape in zip(self._coef_slices, self.coef_shapes)]
        intercepts = [flat[s] for s in self._intercept_slices]
        return coefs, intercepts

    def pack(self, coefs, intercepts, dtype) -> np.ndarray:
        """Copy per-layer arrays into a new flat vector of ``dtype``."""
        flat = np.empty(self.n_params, dtype=dtype)
        coef_views, intercept_views = self.views(flat)
        sources = [*coefs, *intercepts]
        if len(sources) != len(coef_views) + len(intercept_views):
            raise ValueError(
                f"Got {len(sources)} parameter arrays; the network has "
                f"{len(coef_views)} layers, so it expects {2 * len(coef_views)}."
            )
        for dst, src in zip(coef_views + intercept_views, sources):
            if dst.shape != np.shape(src):
                raise ValueError(
                    f"A parameter array has shape {np.shape(src)}, the network expects {dst.shape}."
                )
            dst[...] = src
        return flat

    def init_params(self, rng, method: str, dtype) -> np.ndarray:
        """Draw initial parameters with the initializer ``method``."""
        init = INITIALIZERS[method]
        coefs, intercepts = [], []
        for fan_in, fan_out in self.coef_shapes:
            coef, intercept = init(rng, fan_in, fan_out, dtype, self.activation.name)
            coefs.append(coef)
            intercepts.append(intercept)
        return self.pack(coefs, intercepts, dtype)

    def start_output_bias(self, params: np.ndarray, Y: np.ndarray, sample_weight=None) -> None:
        """Set the output bias to the loss's baseline for ``Y``, if it has one."""
        if self.loss.baseline is not None:
            self.views(params)[1][-1][...] = self.loss.baseline(Y, sample_weight)

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
        coefs, intercepts = self.views(params)
        coef_grads, intercept_grads = self.views(grad)
        widths = self.layer_units[1:]
        outputs = [np.empty((batch_size, w), dtype=dtype) for w in widths]
        deltas = [np.empty((batch_size, w), dtype=dtype) if training else None for w in widths]
        hidden = widths[:-1]
        inputs = [
            np.empty((batch_size, w), dtype=dtype) if self.activation.needs_input else None
            for w in hidden
        ]
        # one scratch buffer, sliced per layer (the output layer's too)
        work = np.empty(batch_size * max(widths), dtype=dtype)
        dropped = [
            np.empty((batch_size, w), dtype=dtype) if training and rate > 0 else None
            for w, rate in zip(hidden, self.dropout)
        ]
        masks = [None if d is None else np.ones_like(d) for d in dropped]
        return Workspace(
            params,
            grad,
            coefs,
            intercepts,
            coef_grads,
            intercept_grads,
            outputs,
            inputs,
            deltas,
            work,
            np.empty(self.n_coef if training else 0, dtype=dtype),
            dropped=dropped,
            masks=masks,
        )

    def draw_dropout_masks(self, ws: Workspace, m: int, rng: np.random.Generator) -> None:
        """Draw the dropout masks of the next ``m``-row batch (training only).

        A mask holds 0 for a dropped unit and ``1 / (1 - rate)`` for a kept
        one (inverted dropout), so activations keep their expected value and
        prediction needs no rescaling.
        """
        for mask, rate in zip(ws.masks, self.dropout):
            if mask is not None:
                rows = mask[:m]
                rng.random(out=rows, dtype=rows.dtype)
                np.greater_equal(rows, rate, out=rows)
                rows *= 1.0 / (1.0 - rate)

    # numerics -----------------------------------------------------------
    def forward(self, ws: Workspace, X, training: bool = False) -> np.ndarray:
        """Forward pass of ``X`` (at most the workspace's batch size rows).

        ``training=True`` applies the workspace's current dropout masks
        (see :meth:`draw_dropout_masks`); prediction never drops units.

        Returns the prediction (the link applied to the raw output), a view
        into the workspace.
        """
        layers = ws.plan(X.shape[0])
        forward = self.activation.forward
        last = self.n_layers - 1
        a = X
        for i, (z, out, _, work, dropped, mask) in enumerate(layers):
            if i == 0 and sp.issparse(a):
                z[...] = a @ ws.coefs[0]
            else:
                np.matmul(a, ws.coefs[i], out=z)
            z += ws.intercepts[i]
            if i == last:
                self.loss.link(z)
            else:
                forward(z, out, work)
            if dropped is not None and training:
                np.multiply(out, mask, out=dropped)
                a = dropped
            else:
                a = out
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
        layers = ws.plan(m)
        last = self.n_layers - 1
        delta = layers[last][2]
        np.subtract(pred, Y, out=delta)
        loss = self.loss.value(Y, pred, delta, sample_weight)
        if self.loss.gradient is not None:
            self.loss.gradient(delta, pred)
        if sample_weight is None:
            delta *= 1.0 / m
        else:
            delta *= (sample_weight / weight_sum).astype(delta.dtype, copy=False)[:, None]

        derivative = self.activation.derivative
        for i in range(last, -1, -1):
            if i == 0:
                if sp.issparse(X):
                    ws.coef_grads[0][...] = X.T @ delta
                else:
                    np.matmul(X.T, delta, out=ws.coef_grads[0])
                np.add.reduce(delta, axis=0, out=ws.intercept_grads[0])
                break
            z_prev, a_prev, prev_delta, work, dropped, mask = layers[i - 1]
            np.matmul(a_prev.T if dropped is None else dropped.T, delta, out=ws.coef_grads[i])
            np.add.reduce(delta, axis=0, out=ws.intercept_grads[i])
            np.matmul(delta, ws.coefs[i].T, out=prev_delta)
            if mask is not None:
                prev_delta *= mask
            derivative(z_prev, a_prev, prev_delta, work)
            delta = prev_delta

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
        entries ``|x| <= x_max``, from the weights alone.

        Each unit obeys ``|z_j| <= max|a| * sum_i |W_ij| + |b_j|``; the
        activations bound the next layer's inputs
        (:meth:`~skmlp.activations.Activation.output_bound`). Costs one pass
        over the parameters, none over the data. NaN where a parameter is.
        """
        coefs, intercepts = self.views(params)
        bound = float(x_max)
        # a hidden layer's pre-activation must stay far from overflow too,
        # even where a saturating activation would bound its output
        limit = float(np.finfo(params.dtype).max) / 16.0
        with np.errstate(over="ignore", invalid="ignore"):
            for i, (W, b) in enumerate(zip(coefs, intercepts)):
                col_sums = np.add.reduce(np.abs(W), axis=0, dtype=np.float64)
                z = float(np.max(bound * col_sums + np.abs(b)))
                if i == self.n_layers - 1:
                    return z
                if not z <= limit:
                    return math.inf
                bound = self.activation.output_bound(z)
        return bound  # pragma: no cover - a network has an output layer

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
