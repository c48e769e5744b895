"""Weight initializers: ``(rng, fan_in, fan_out, dtype, activation) -> (W, b)``.

``rng`` is a ``numpy.random.RandomState``.  Values are drawn in float64 and
then cast, so a float32 network starts from the float32 rounding of the same
weights as a float64 one.

``sklearn`` reproduces scikit-learn's MLP exactly (same draws, same order):
weights *and* biases uniform in ``+-sqrt(factor / (fan_in + fan_out))`` with
``factor = 2`` for the logistic activation and ``6`` otherwise.  The others are
the textbook schemes, with zero biases:

================  =============================================
``glorot_uniform``  U(-r, r),  r = sqrt(6 / (fan_in + fan_out))
``glorot_normal``   N(0, s^2), s = sqrt(2 / (fan_in + fan_out))
``he_uniform``      U(-r, r),  r = sqrt(6 / fan_in)
``he_normal``       N(0, s^2), s = sqrt(2 / fan_in)
``lecun_normal``    N(0, s^2), s = sqrt(1 / fan_in)
================  =============================================

Glorot & Bengio (2010) derive the Glorot scale for tanh/logistic units,
He et al. (2015, arXiv 1502.01852) the He scale for ReLU units, and LeCun et
al. (1998) / Klambauer et al. (2017) the LeCun scale for SELU-like units.
The normal variants are plain (not truncated) normals, as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["INITIALIZERS"]


def _sklearn(rng, fan_in, fan_out, dtype, activation):
    factor = 2.0 if activation == "logistic" else 6.0
    bound = np.sqrt(factor / (fan_in + fan_out))
    coef = rng.uniform(-bound, bound, (fan_in, fan_out))
    intercept = rng.uniform(-bound, bound, fan_out)
    return coef.astype(dtype, copy=False), intercept.astype(dtype, copy=False)


def _uniform(scale: Callable[[int, int], float]):
    def init(rng, fan_in, fan_out, dtype, activation):
        bound = scale(fan_in, fan_out)
        coef = rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype, copy=False)
        return coef, np.zeros(fan_out, dtype=dtype)

    return init


def _normal(scale: Callable[[int, int], float]):
    def init(rng, fan_in, fan_out, dtype, activation):
        std = scale(fan_in, fan_out)
        coef = rng.normal(0.0, std, (fan_in, fan_out)).astype(dtype, copy=False)
        return coef, np.zeros(fan_out, dtype=dtype)

    return init


INITIALIZERS: dict[str, Callable] = {
    "sklearn": _sklearn,
    "glorot_uniform": _uniform(lambda fi, fo: np.sqrt(6.0 / (fi + fo))),
    "glorot_normal": _normal(lambda fi, fo: np.sqrt(2.0 / (fi + fo))),
    "he_uniform": _uniform(lambda fi, fo: np.sqrt(6.0 / fi)),
    "he_normal": _normal(lambda fi, fo: np.sqrt(2.0 / fi)),
    "lecun_normal": _normal(lambda fi, fo: np.sqrt(1.0 / fi)),
}
