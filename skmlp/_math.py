"""Numerical kernels shared by the activations and the losses (numpy only)."""

from __future__ import annotations

import numpy as np

__all__ = ["sigmoid"]


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
