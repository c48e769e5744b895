"""Hidden-layer activations, each with its derivative right beside it.

An activation is a pair of in-place functions over preallocated buffers:

``forward(z, out, work)``
    writes ``f(z)`` into ``out``.  ``out`` may be ``z`` itself unless the
    activation ``needs_input``.
``derivative(z, a, delta, work)``
    multiplies the backpropagated error ``delta`` in place by ``f'(z)``, given
    the pre-activation ``z`` and the output ``a = f(z)``.  It may overwrite
    ``z`` and ``work``; it never touches ``a``, which the weight gradient of
    the next layer still needs.

Most derivatives are functions of the output alone, so the forward pass can
overwrite ``z`` with ``a`` and keep one buffer per layer.  GELU's is not; it
sets ``needs_input=True`` and the network keeps ``z`` in a buffer of its own.
``work`` is a scratch buffer of the same shape, so no call allocates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._math import sigmoid

__all__ = ["ACTIVATIONS", "Activation"]

LEAKY_SLOPE = 0.01
_GELU_C = float(np.sqrt(2.0 / np.pi))
_GELU_K = 0.044715
_GELU_CLIP = 10.0


@dataclass(frozen=True)
class Activation:
    """An element-wise activation and its derivative, both in place."""

    name: str
    forward: Callable[[np.ndarray, np.ndarray, np.ndarray], None]
    derivative: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], None]
    needs_input: bool = False
    saturates: bool = False  # |f(z)| <= 1 everywhere

    def output_bound(self, bound: float) -> float:
        """An upper bound on ``|f(z)|`` over all ``|z| <= bound``.

        The squashing activations stay within 1; every other one here is
        within ``|z| + 1`` (ELU's floor is -1, softplus adds at most log 2).
        """
        return 1.0 if self.saturates else bound + 1.0

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """Return ``f(z)`` in a new array (convenience for tests and users)."""
        z = np.array(z, dtype=np.result_type(z, np.float32))
        out = np.empty_like(z)
        self.forward(z, out, np.empty_like(z))
        return out

    def gradient(self, z: np.ndarray) -> np.ndarray:
        """Return ``f'(z)`` in a new array (convenience for tests and users)."""
        z = np.array(z, dtype=np.result_type(z, np.float32))
        a = self(z)
        delta = np.ones_like(z)
        self.derivative(z.copy(), a, delta, np.empty_like(z))
        return delta


# identity: f(z) = z, f' = 1
def _identity(z, out, work):
    if out is not z:
        np.copyto(out, z)


def _identity_derivative(z, a, delta, work):
    pass


# logistic: f(z) = 1 / (1 + exp(-z)), f' = a (1 - a); see _math.sigmoid
_logistic = sigmoid


def _logistic_derivative(z, a, delta, work):
    np.subtract(1.0, a, out=work)
    work *= a
    delta *= work


# tanh: f' = 1 - a^2
def _tanh(z, out, work):
    np.tanh(z, out=out)


def _tanh_derivative(z, a, delta, work):
    np.multiply(a, a, out=work)
    np.subtract(1.0, work, out=work)
    delta *= work


# relu: f(z) = max(z, 0), f' = 1 where a > 0 (0 at the kink, as sklearn)
def _relu(z, out, work):
    np.maximum(z, 0.0, out=out)


def _relu_derivative(z, a, delta, work):
    np.greater(a, 0.0, out=work)
    delta *= work


# leaky_relu: f(z) = z for z > 0 else slope * z; f' = 1 or slope
def _leaky_relu(z, out, work):
    np.multiply(z, LEAKY_SLOPE, out=work)
    np.maximum(z, work, out=out)


def _leaky_relu_derivative(z, a, delta, work):
    np.greater(a, 0.0, out=work)
    work *= 1.0 - LEAKY_SLOPE
    work += LEAKY_SLOPE
    delta *= work


# elu (alpha = 1): f(z) = z for z > 0 else exp(z) - 1; f' = 1 or a + 1
def _elu(z, out, work):
    np.minimum(z, 0.0, out=work)
    np.expm1(work, out=work)
    np.maximum(z, 0.0, out=out)
    out += work


def _elu_derivative(z, a, delta, work):
    np.minimum(a, 0.0, out=work)
    work += 1.0
    delta *= work


# softplus: f(z) = log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|));
# f'(z) = sigmoid(z) = 1 - exp(-a), written -expm1(-a) to keep precision.
def _softplus(z, out, work):
    np.abs(z, out=work)
    np.negative(work, out=work)
    np.exp(work, out=work)
    np.log1p(work, out=work)
    np.maximum(z, 0.0, out=out)
    out += work


def _softplus_derivative(z, a, delta, work):
    np.negative(a, out=work)
    np.expm1(work, out=work)
    np.negative(work, out=work)
    delta *= work


# gelu, tanh approximation (Hendrycks & Gimpel 2016):
#   f(z) = z (1 + t) / 2,  t = tanh(u),  u = c (z + k z^3)
#   f'(z) = (1 + t) / 2 + c z p (1 - t^2) / 2,  p = 1 + 3 k z^2
#         = (1 + t) (1/2 + c z p (1 - t) / 2)
# The derivative is arranged so that two scratch buffers (work and z) suffice.
# The polynomial uses z clipped to [-10, 10]: beyond that tanh(u) is exactly
# +-1 in float32 and float64 alike, and z^3 could overflow.
def _gelu(z, out, work):
    np.clip(z, -_GELU_CLIP, _GELU_CLIP, out=out)
    np.multiply(out, out, out=work)
    work *= _GELU_K
    work += 1.0
    work *= out
    work *= _GELU_C
    np.tanh(work, out=work)
    work += 1.0
    work *= 0.5
    np.multiply(z, work, out=out)


def _gelu_derivative(z, a, delta, work):
    np.clip(z, -_GELU_CLIP, _GELU_CLIP, out=z)
    np.multiply(z, z, out=work)
    work *= 3.0 * _GELU_K
    work += 1.0
    work *= z  # z p = z + 3 k z^3
    # u = c (z + k z^3) = c (2 z + z p) / 3
    z *= 2.0
    z += work
    z *= _GELU_C / 3.0
    np.tanh(z, out=z)  # t
    z += 1.0  # 1 + t
    delta *= z
    np.subtract(2.0, z, out=z)  # 1 - t
    work *= 0.5 * _GELU_C
    work *= z
    work += 0.5
    delta *= work


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("identity", _identity, _identity_derivative),
        Activation("logistic", _logistic, _logistic_derivative, saturates=True),
        Activation("tanh", _tanh, _tanh_derivative, saturates=True),
        Activation("relu", _relu, _relu_derivative),
        Activation("leaky_relu", _leaky_relu, _leaky_relu_derivative),
        Activation("elu", _elu, _elu_derivative),
        Activation("gelu", _gelu, _gelu_derivative, needs_input=True),
        Activation("softplus", _softplus, _softplus_derivative),
    )
}
