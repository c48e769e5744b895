"""Numerical kernels shared by the activations and the losses (numpy only)."""

from __future__ import annotations

import numpy as np

__all__ = ["draw_dropout_mask", "dropout_scale", "sigmoid"]


def sigmoid(z: np.ndarray, out: np.ndarray, work: np.ndarray) -> None:
    """Logistic sigmoid of ``z`` into ``out`` (which may be ``z``), in place.

    Written as ``exp(min(z, 0)) / (1 + exp(-|z|))``: it cannot overflow, and
    keeps subnormal probabilities for very negative ``z`` instead of 0.
    """
    np.minimum(z, 0.0, out=work)
    np.abs(z, out=out)
    np.negative(out, out=out)
    np.exp(out, out=out)
    out += 1.0
    np.exp(work, out=work)
    np.divide(work, out, out=out)


# Dropout masks are drawn from the generator's raw 64-bit words, four 16-bit
# draws from each: a third of the cost of numpy's float uniforms, the part of
# a dropout network's step that grew with the batch. A unit is dropped when
# its draw is below round(rate * 2^16), so the rate applied is that count
# over 2^16 (0.15 becomes 0.149994); the kept units are scaled by one over
# the kept fraction applied, which keeps the mask's expectation exactly 1.
_MASK_LEVELS = 1 << 16


def dropout_scale(rate: float) -> tuple[int, float]:
    """``(threshold, scale)`` of :func:`draw_dropout_mask` at ``rate``: a
    16-bit draw below ``threshold`` drops the unit, the others are multiplied
    by ``scale``."""
    threshold = min(round(rate * _MASK_LEVELS), _MASK_LEVELS - 1)
    return threshold, _MASK_LEVELS / (_MASK_LEVELS - threshold)


def draw_dropout_mask(
    rows: np.ndarray, rate: float, rng: np.random.Generator, kernels=None
) -> None:
    """Fill the float array ``rows`` with an inverted-dropout mask: 0 for a
    dropped unit (probability ``rate``, to 1/65536), else one over the kept
    fraction. The draws are little-endian 16-bit pieces of
    ``rng.bit_generator.random_raw``, so the masks are the same on every
    platform for a seed. ``kernels``, the compiled kernel module as
    ``skmlp.compiled.elementwise_kernels(rows)`` returns it (None unless
    ``rows`` is a C-contiguous, writable float32 or float64 array), turns
    the draws into the mask in one pass instead of numpy's two, with the
    same numbers."""
    n = rows.size
    words = rng.bit_generator.random_raw(-(-n // 4))
    draws = words.view("<u2")[:n]
    threshold, scale = dropout_scale(rate)
    if kernels is not None and draws.dtype.isnative:
        kernels.dropout_mask(draws, threshold, scale, rows.reshape(-1))
        return
    np.greater_equal(draws.reshape(rows.shape), threshold, out=rows)
    rows *= scale
