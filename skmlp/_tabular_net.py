"""The tabular estimators' network, built from :mod:`skmlp.layers`, and the
epoch hook that anneals its dropout and weight decay.

RealMLP-TD's stack (Holzmüller et al. 2024), for the encoded columns
``[numeric | missing indicators | +-1 and one-hot | embedding codes]`` of
:class:`skmlp._tabular_input.TabularEncoder`:

1. the numeric columns through a numeric embedding, the codes through
   learned categorical embeddings, the rest unchanged (:class:`Columns`);
2. a learned per-feature scale (learning-rate factor 6);
3. for each hidden layer: a dense layer in the neural-tangent
   parametrization with data-dependent initialization, then the (parametric)
   activation and dropout;
4. a linear output layer.

With ``n_ensemble > 1`` the stack is TabM-mini's: an input adapter per
member after the scale, the hidden layers shared, an output head per member.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from .hooks import EpochEnd, EpochHook
from .layers import (
    CategoricalEmbedding,
    Columns,
    DenseNTP,
    EnsembleHead,
    EnsembleInput,
    Layer,
    ParametricActivation,
    PBLDEmbedding,
    PeriodicEmbedding,
    PiecewiseLinearEmbedding,
    Scale,
    Shared,
)
from .optimizers import DecoupledWeightDecay
from .schedules import flat_cos

__all__ = [
    "Anneal",
    "TabularSpec",
    "build_layers",
    "fit_temperature",
    "mean_of_members",
    "with_temperature",
]

NUMERIC_EMBEDDINGS = {
    "pbld": PBLDEmbedding,
    "periodic": PeriodicEmbedding,
    "piecewise_linear": PiecewiseLinearEmbedding,
}
SCALE_LR_FACTOR = 6.0  # RealMLP-TD's scale_lr_factor


@dataclass(frozen=True)
class TabularSpec:
    """Everything that fixes the network's shape, given the encoded columns.

    ``n_numeric``, ``n_passthrough`` (missing indicators, +-1 and one-hot
    columns) and ``embedding_levels`` (codes per categorical-embedding
    column, the unknown code 0 included) describe the encoded input.
    """

    n_numeric: int
    n_passthrough: int
    embedding_levels: tuple
    n_outputs: int
    hidden: tuple
    activation: str
    parametric: bool
    dropout: tuple
    numeric_embedding: str | None
    n_ensemble: int

    @property
    def n_features(self) -> int:
        """The width of the encoded input."""
        return self.n_numeric + self.n_passthrough + len(self.embedding_levels)


def _input_layer(spec: TabularSpec) -> Layer | None:
    """The embeddings of the encoded columns (None: every column as it is)."""
    parts = []
    if spec.n_numeric:
        embed = spec.numeric_embedding
        layer = None if embed is None else NUMERIC_EMBEDDINGS[embed](spec.n_numeric)
        parts.append((spec.n_numeric, layer))
    if spec.n_passthrough:
        parts.append((spec.n_passthrough, None))
    if spec.embedding_levels:
        levels = spec.embedding_levels
        parts.append((len(levels), CategoricalEmbedding(levels)))
    if all(layer is None for _, layer in parts):
        return None
    if len(parts) == 1:
        return parts[0][1]
    return Columns(parts)


def build_layers(spec: TabularSpec) -> list[Layer]:
    """The layers of the network ``spec`` describes, input first."""
    layers = []
    first = _input_layer(spec)
    if first is not None:
        layers.append(first)
    width = spec.n_features if first is None else first.n_out
    layers.append(Scale(width, lr_factor=SCALE_LR_FACTOR))
    k = spec.n_ensemble
    if k > 1:
        layers.append(EnsembleInput(width, k))

    def member(layer: Layer) -> Layer:
        return Shared(layer, k) if k > 1 else layer

    for units, rate in zip(spec.hidden, spec.dropout):
        if spec.parametric:
            layers.append(member(DenseNTP(width, units)))
            layers.append(member(ParametricActivation(units, spec.activation, dropout=rate)))
        else:
            layers.append(member(DenseNTP(width, units, spec.activation, dropout=rate)))
        width = units
    out = spec.n_outputs
    layers.append(EnsembleHead(width, out, k) if k > 1 else DenseNTP(width, out))
    return layers


def _set_dropout(layer: Layer, rate: float) -> None:
    layer.dropout = rate
    inner = getattr(layer, "layer", None)  # a Shared layer's member
    if inner is not None:
        _set_dropout(inner, rate)


class Anneal(EpochHook):
    """Scale every dropout rate and the decoupled weight decay by
    :func:`skmlp.schedules.flat_cos` of the fraction of ``max_iter`` epochs
    done, at the start of each epoch (RealMLP-TD's ``p_drop_sched`` and
    ``wd_sched``, which it applies per step; per epoch here).

    ``epochs_done`` is the number of epochs trained before this fit.
    """

    def __init__(self, layers, chain, max_iter: int, epochs_done: int = 0):
        self.rates = [(layer, layer.dropout) for layer in layers if layer.dropout]
        self.decay = [link for link in chain.before if isinstance(link, DecoupledWeightDecay)]
        self.max_iter = int(max_iter)
        self.epoch = int(epochs_done)

    def on_epoch_begin(self) -> None:
        factor = flat_cos(self.epoch / self.max_iter)
        for layer, rate in self.rates:
            _set_dropout(layer, rate * factor)
        for link in self.decay:
            link.scale = factor

    def on_epoch_end(self, epoch: EpochEnd) -> None:
        self.epoch += 1

    def close(self) -> None:
        """Leave the layers and the chain as they were built."""
        for layer, rate in self.rates:
            _set_dropout(layer, rate)
        for link in self.decay:
            link.scale = 1.0


# --- predictions of an ensemble, and their calibration ----------------------
def mean_of_members(pred: np.ndarray, n_members: int) -> np.ndarray:
    """The members' mean of ``(m, n_members * c)`` outputs side by side."""
    if n_members == 1:
        return pred
    m = pred.shape[0]
    return pred.reshape(m, n_members, -1).mean(axis=1)


def _logits(proba: np.ndarray) -> np.ndarray:
    """Raw outputs giving ``proba`` (one logistic column, or softmax rows)."""
    p = np.clip(proba, 1e-12, 1.0 - 1e-12)
    if proba.shape[1] == 1:
        return np.log(p) - np.log1p(-p)
    return np.log(p)


def with_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """``proba`` recomputed from its logits divided by ``temperature``."""
    if temperature == 1.0:
        return proba
    z = _logits(proba.astype(np.float64)) / temperature
    if z.shape[1] == 1:
        out = special.expit(z)
    else:
        out = special.softmax(z, axis=1)
    return out.astype(proba.dtype, copy=False)


def fit_temperature(proba: np.ndarray, labels: np.ndarray, sample_weight=None) -> float:
    """The temperature that minimizes the log-loss of ``proba`` on ``labels``
    (Guo et al. 2017, "On Calibration of Modern Neural Networks"), searched
    in [1/20, 20].

    ``labels`` are class indices (for one logistic column: 0 or 1). Label
    smoothing trains a network to be under-confident; a temperature below 1
    undoes that without changing any prediction's class.

    The labels are smoothed by ``1 / (n + 1)`` for ``n`` rows (Laplace's
    rule of succession) before the fit: a validation set the network
    separates perfectly would otherwise drive the temperature to its bound,
    and a new row on the wrong side would then cost a huge log-loss. On
    thousands of rows the smoothing is negligible.
    """
    z = _logits(proba.astype(np.float64))
    n, k = z.shape[0], max(z.shape[1], 2)
    eps = 1.0 / (n + 1.0)
    if z.shape[1] == 1:
        target = np.where(labels == 1, 1.0 - eps + eps / k, eps / k)
    else:
        target = np.full(z.shape, eps / k)
        target[np.arange(n), labels] += 1.0 - eps

    def loss(log_t: float) -> float:
        scaled = z / math.exp(log_t)
        if scaled.shape[1] == 1:
            s = scaled[:, 0]
            # cross-entropy of sigmoid(s) against the soft target
            per_row = np.logaddexp(0.0, s) - target * s
        else:
            per_row = special.logsumexp(scaled, axis=1) - np.einsum("ij,ij->i", target, scaled)
        return float(np.average(per_row, weights=sample_weight))

    bound = math.log(20.0)
    result = optimize.minimize_scalar(loss, bounds=(-bound, bound), method="bounded")
    return float(math.exp(result.x)) if result.success else 1.0
