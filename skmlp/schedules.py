"""Learning-rate schedules: plain functions ``t -> learning rate``.

``t`` is scikit-learn's time step ``t_``: the number of training samples seen
before the current epoch began.  The trainer reads the rate once per epoch.

``'adaptive'`` is not here: it reacts to the training metric rather than to
time, so the trainer implements it as a plateau rule (divide the rate by 5
when the monitored quantity stops improving).
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["SCHEDULES", "constant", "invscaling"]


def constant(learning_rate_init: float, **_) -> Callable[[int], float]:
    """The rate ``learning_rate_init`` at every step."""
    rate = float(learning_rate_init)
    return lambda t: rate


def invscaling(learning_rate_init: float, power_t: float = 0.5, **_) -> Callable[[int], float]:
    """scikit-learn's inverse scaling: ``learning_rate_init / (t + 1) ** power_t``."""
    rate, power = float(learning_rate_init), float(power_t)
    return lambda t: rate / (t + 1) ** power


SCHEDULES: dict[str, Callable[..., Callable[[int], float]]] = {
    "constant": constant,
    "invscaling": invscaling,
    # 'adaptive' starts constant; the trainer's plateau rule lowers it
    "adaptive": constant,
}
