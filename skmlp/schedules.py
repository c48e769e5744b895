"""Learning-rate schedules: plain functions ``step -> learning rate``.

``step`` counts the mini-batch updates of the current schedule (each ``fit``
starts one; ``partial_fit`` calls continue it). Only scikit-learn's
``invscaling`` reads time differently: ``(step, t) -> rate``, where ``t`` is
scikit-learn's ``t_``, the number of samples seen before the current epoch.
:func:`make_schedule` gives every schedule that two-argument form, which the
trainer calls. Every factory takes the estimator's schedule settings as
keyword arguments, plus ``steps_per_epoch`` and ``max_iter``, which convert
epochs to steps once, at fit time. Epoch-wise schedules are constant within
an epoch; ``cyclic``, ``one_cycle`` and ``cosine_restarts`` move every step.

``'adaptive'`` is constant here: it reacts to the training metric rather
than to time, so a stopping rule owns it
(:class:`skmlp.stopping.ReduceOnPlateau`). ``warmup_epochs`` multiplies any
schedule by a linear ramp, see :func:`make_schedule`.

:func:`fit_schedule` is the policy of one fit: it checks the settings
against each other (a cyclic top below the start, a floor above it, a
warm-up as long as training, a decay that vanishes within ``max_iter``) and
builds the schedule; the estimator turns a :class:`SettingError` into
scikit-learn's ``InvalidParameterError``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = [
    "SCHEDULES",
    "SETTINGS",
    "SKLEARN_SCHEDULES",
    "VANISHING_RATE",
    "SettingError",
    "fit_schedule",
    "flat_cos",
    "make_schedule",
    "peak_epoch",
    "schedule_name",
]

Schedule = Callable[[int], float]


# past this many periods the phase within a period has no precision left
_MAX_PERIODS = 2.0**52


def _floor(x: float) -> float:
    """``math.floor``, but infinity (a period of ~0 epochs) stays infinity."""
    return math.floor(x) if math.isfinite(x) else x


def _cosine(low: float, high: float, fraction: float) -> float:
    """``high`` at fraction 0 down to ``low`` at fraction 1, half a cosine."""
    return low + (high - low) * 0.5 * (1.0 + math.cos(math.pi * fraction))


def constant(*, learning_rate_init, **_) -> Schedule:
    """``learning_rate_init`` at every step."""
    return lambda step: learning_rate_init


def invscaling(*, learning_rate_init, power_t, **_) -> Callable[[int, int], float]:
    """scikit-learn's ``learning_rate_init / (t + 1) ** power_t`` (per epoch)."""

    def schedule(step, t):
        try:
            return learning_rate_init / (t + 1) ** power_t
        except OverflowError:  # the divisor passed the largest float
            return 0.0

    return schedule


def step_decay(*, learning_rate_init, decay_rate, decay_epochs, steps_per_epoch, **_) -> Schedule:
    """Multiply the rate by ``decay_rate`` every ``decay_epochs`` epochs (whole
    epochs: the rate changes only between epochs)."""
    return lambda step: (
        learning_rate_init * decay_rate ** _floor((step // steps_per_epoch) / decay_epochs)
    )


def exponential(*, learning_rate_init, decay_rate, decay_epochs, steps_per_epoch, **_) -> Schedule:
    """``learning_rate_init * decay_rate ** (epoch / decay_epochs)``, per epoch."""
    return lambda step: (
        learning_rate_init * decay_rate ** ((step // steps_per_epoch) / decay_epochs)
    )


def cosine(*, learning_rate_init, learning_rate_min, max_iter, steps_per_epoch, **_) -> Schedule:
    """Cosine annealing from ``learning_rate_init`` (epoch 0) towards
    ``learning_rate_min`` (epoch ``max_iter``), per epoch."""
    # past max_iter (more partial_fit calls than planned) it stays at the floor
    return lambda step: _cosine(
        learning_rate_min, learning_rate_init, min(1.0, (step // steps_per_epoch) / max_iter)
    )


def cosine_restarts(
    *, learning_rate_init, learning_rate_min, restart_epochs, restart_mult, steps_per_epoch, **_
) -> Schedule:
    """SGDR (Loshchilov & Hutter 2017, arXiv 1608.03983), per step.

    Cosine annealing from ``learning_rate_init`` to ``learning_rate_min``
    over a period of ``restart_epochs`` epochs, then a restart; each period
    is ``restart_mult`` times the previous one.
    """

    period = float(restart_epochs)
    log_mult = math.log(restart_mult)

    def schedule(step):
        epochs = step / steps_per_epoch
        # the index k of the period that holds `epochs`, in closed form (a
        # walk over the periods would cost one iteration per restart)
        if restart_mult == 1.0:
            if not epochs / period < _MAX_PERIODS:  # periods of ~0 epochs
                return learning_rate_init
            k = math.floor(epochs / period)
            start, length = k * period, period
        else:
            growth = min(epochs * (restart_mult - 1.0) / period, 1e300)
            k = math.floor(math.log1p(growth) / log_mult)
            length = period * restart_mult**k
            start = (length - period) / (restart_mult - 1.0)
        # rounding can put the estimate one period off at a boundary
        if epochs >= start + length:
            start, length = start + length, length * restart_mult
        elif epochs < start:
            length /= restart_mult
            start -= length
        return _cosine(learning_rate_min, learning_rate_init, (epochs - start) / length)

    return schedule


def cyclic(
    *,
    learning_rate_init,
    learning_rate_max,
    half_cycle_epochs,
    cyclic_mode,
    decay_rate,
    decay_epochs,
    steps_per_epoch,
    **_,
) -> Schedule:
    """Cyclical learning rates (Smith 2017, arXiv 1506.01186), per step.

    The rate moves linearly between ``learning_rate_init`` and
    ``learning_rate_max`` and back; one half-cycle lasts
    ``half_cycle_epochs`` epochs. ``cyclic_mode`` scales the amplitude:
    ``'triangular'`` keeps it, ``'triangular2'`` halves it every cycle,
    ``'exp_range'`` multiplies it by ``decay_rate`` every ``decay_epochs``
    epochs.
    """
    half = half_cycle_epochs * steps_per_epoch
    decay_steps = decay_epochs * steps_per_epoch

    def schedule(step):
        if not step / half < _MAX_PERIODS:  # half-cycles of ~0 steps
            return learning_rate_init
        cycle = math.floor(1 + step / (2 * half))
        x = abs(step / half - 2 * cycle + 1)
        if cyclic_mode == "triangular2":
            scale = 0.5 ** (cycle - 1)
        elif cyclic_mode == "exp_range":
            scale = decay_rate ** (step / decay_steps)
        else:
            scale = 1.0
        return (
            learning_rate_init
            + (learning_rate_max - learning_rate_init) * max(0.0, 1.0 - x) * scale
        )

    return schedule


def one_cycle(
    *,
    learning_rate_init,
    learning_rate_max,
    learning_rate_min,
    peak_fraction,
    max_iter,
    steps_per_epoch,
    **_,
) -> Schedule:
    """The 1cycle policy (Smith & Topin 2018, arXiv 1708.07120), per step.

    Rises from ``learning_rate_init`` to ``learning_rate_max`` over the first
    ``peak_fraction`` of the ``max_iter`` epochs, then anneals to
    ``learning_rate_min`` (far below the start) by the end, both halves
    along a cosine, as PyTorch's ``OneCycleLR``.
    """
    total = max_iter * steps_per_epoch
    peak = max(1.0, peak_fraction * total)

    def schedule(step):
        if step <= peak:
            return _cosine(learning_rate_max, learning_rate_init, step / peak)
        return _cosine(
            learning_rate_min, learning_rate_max, min(1.0, (step - peak) / (total - peak))
        )

    return schedule


def coslog(*, learning_rate_init, max_iter, steps_per_epoch, **_) -> Schedule:
    """RealMLP's schedule (Holzmüller et al. 2024), per step: with ``t`` the
    fraction of the ``max_iter`` epochs done,
    ``learning_rate_init * (1 - cos(2 pi log2(1 + 15 t))) / 2``.

    Four cosine cycles on a logarithmic clock, each longer than the one
    before: the rate starts at 0, peaks at ``learning_rate_init`` (first at
    ``t = (sqrt(2) - 1) / 15``, about 2.8% of training) and ends at 0. Past
    ``max_iter`` epochs (more ``partial_fit`` calls than planned) it stays 0.
    """
    total = max_iter * steps_per_epoch

    def schedule(step):
        t = min(1.0, step / total)
        return (
            learning_rate_init * 0.5 * (1.0 - math.cos(2.0 * math.pi * math.log2(1.0 + 15.0 * t)))
        )

    return schedule


def flat_cos(t: float) -> float:
    """RealMLP's ``flat_cos`` factor at the fraction ``t`` of training done:
    1 for the first half, then a half cosine down to 0 at the end,
    ``0.5 * (1 + cos(pi * (max(1, 2 t) - 1)))`` (``t`` clipped to [0, 1]).
    RealMLP-TD anneals its dropout rate and weight decay by it."""
    t = min(max(float(t), 0.0), 1.0)
    return 0.5 * (1.0 + math.cos(math.pi * (max(1.0, 2.0 * t) - 1.0)))


SCHEDULES: dict[str, Callable[..., Schedule]] = {
    "constant": constant,
    "invscaling": invscaling,
    "adaptive": constant,  # a stopping rule lowers it (ReduceOnPlateau)
    "plateau": constant,  # the same rule, for every solver
    "step": step_decay,
    "exponential": exponential,
    "cosine": cosine,
    "cosine_restarts": cosine_restarts,
    "cyclic": cyclic,
    "one_cycle": one_cycle,
    "coslog": coslog,
}

# scikit-learn's three apply to solver='sgd' only, exactly as in scikit-learn;
# the others apply to every stochastic solver
SKLEARN_SCHEDULES = frozenset({"constant", "invscaling", "adaptive"})


def make_schedule(
    name: str, *, warmup_epochs: float = 0, **settings
) -> Callable[[int, int], float]:
    """The schedule ``name`` with ``settings``, times a linear warm-up, as a
    function ``(step, t) -> rate`` (only ``invscaling`` reads ``t``).

    With ``warmup_epochs > 0`` the rate of step ``s`` is multiplied by
    ``min(1, (s + 1) / (warmup_epochs * steps_per_epoch))``.
    """
    factory = SCHEDULES[name]
    schedule = factory(**settings)
    if factory is not invscaling:
        by_step = schedule
        schedule = lambda step, t: by_step(step)  # noqa: E731
    if not warmup_epochs:
        return schedule
    ramp = warmup_epochs * settings["steps_per_epoch"]
    return lambda step, t: schedule(step, t) * min(1.0, (step + 1) / ramp)


# --- the policy of a fit: which schedule, with which settings ---------------

# the estimator parameters the schedules read (besides learning_rate_init)
SETTINGS = (
    "power_t",
    "learning_rate_min",
    "learning_rate_max",
    "decay_rate",
    "decay_epochs",
    "restart_epochs",
    "restart_mult",
    "half_cycle_epochs",
    "cyclic_mode",
    "peak_fraction",
    "max_iter",
    "warmup_epochs",
)

# below this a rate moves nothing: a decay must not reach it within max_iter,
# and a reduction on a plateau stops there at the latest
VANISHING_RATE = 1e-12

# decaying schedules: the setting that drives each down, and its partners
_DECAYING = {
    "step": ("decay_rate", ("decay_epochs",)),
    "exponential": ("decay_rate", ("decay_epochs",)),
    "invscaling": ("power_t", ()),
}


class SettingError(ValueError):
    """Settings that give no usable schedule: the ``setting`` at fault and
    what is wrong with it (``problem`` completes "The setting ...")."""

    def __init__(self, setting: str, problem: str):
        super().__init__(f"{setting} {problem}")
        self.setting, self.problem = setting, problem


def schedule_name(learning_rate: str, solver: str) -> str:
    """The schedule a solver follows: scikit-learn's three are sgd's only, as
    in scikit-learn, so any other solver keeps a constant rate under them."""
    if learning_rate in SKLEARN_SCHEDULES and solver != "sgd":
        return "constant"
    return learning_rate


def peak_epoch(learning_rate: str, settings: dict) -> float:
    """The epoch at which the schedule's rate first peaks (0: it starts there)."""
    peak = float(settings["warmup_epochs"])
    if learning_rate == "one_cycle":
        peak = max(peak, settings["peak_fraction"] * settings["max_iter"])
    elif learning_rate == "cyclic":
        peak = max(peak, float(settings["half_cycle_epochs"]))
    elif learning_rate == "coslog":  # log2(1 + 15 t) = 1/2 at its first peak
        peak = max(peak, (math.sqrt(2.0) - 1.0) / 15.0 * settings["max_iter"])
    return peak


def fit_schedule(
    name: str,
    settings: dict,
    learning_rate_init: float,
    n_samples: int,
    batch_size: int,
    incremental: bool = False,
) -> Callable[[int, int], float]:
    """The ``(step, t) -> rate`` schedule ``name`` of a fit on ``n_samples``
    rows in batches of ``batch_size``, from the estimator's ``settings``
    (:data:`SETTINGS`); ``learning_rate_max=None`` is 10 x the initial rate.

    Raises :class:`SettingError` for settings that contradict each other or
    that decay the rate below :data:`VANISHING_RATE` within ``max_iter``
    epochs (training would stop learning silently).
    """
    _check_settings(name, settings, learning_rate_init, incremental)
    lr_max = settings["learning_rate_max"]
    factory_settings = {
        **settings,
        "learning_rate_init": learning_rate_init,
        "learning_rate_max": 10 * learning_rate_init if lr_max is None else lr_max,
        "steps_per_epoch": math.ceil(n_samples / batch_size),
    }
    schedule = make_schedule(name, **factory_settings)
    if name in _DECAYING:
        _check_rate_does_not_vanish(schedule, name, factory_settings, n_samples)
    return schedule


def _check_settings(name, settings, lr_init, incremental) -> None:
    lr_max, lr_min = settings["learning_rate_max"], settings["learning_rate_min"]
    if name in ("cyclic", "one_cycle") and lr_max is not None and lr_max < lr_init:
        raise SettingError(
            "learning_rate_max",
            f"must be at least learning_rate_init={lr_init:g} for learning_rate={name!r}; "
            f"got {lr_max!r}.",
        )
    if name in ("cosine", "cosine_restarts", "one_cycle") and lr_min > lr_init:
        raise SettingError(
            "learning_rate_min",
            f"must be at most learning_rate_init={lr_init:g} for learning_rate={name!r}; "
            f"got {lr_min!r}.",
        )
    max_iter, warmup = settings["max_iter"], settings["warmup_epochs"]
    if not incremental and warmup >= max_iter:
        raise SettingError(
            "warmup_epochs",
            f"must be shorter than the training (max_iter={max_iter}); got {warmup!r}.",
        )


def _check_rate_does_not_vanish(schedule, name, settings, n_samples) -> None:
    steps, max_iter = settings["steps_per_epoch"], settings["max_iter"]

    def rate(epoch):  # these schedules only fall, so a bisection finds the epoch
        return schedule(epoch * steps, epoch * n_samples)

    if rate(max_iter - 1) >= VANISHING_RATE:
        return
    low, high = 0, max_iter - 1  # rate(low) may be fine, rate(high) is not
    while low < high:
        mid = (low + high) // 2
        low, high = (mid + 1, high) if rate(mid) >= VANISHING_RATE else (low, mid)
    setting, others = _DECAYING[name]
    settings_text = ", ".join(
        [
            *(f"{k}={settings[k]!r}" for k in others),
            f"learning_rate_init={settings['learning_rate_init']:g}",
        ]
    )
    raise SettingError(
        setting,
        f"makes learning_rate={name!r} fall below {VANISHING_RATE:g} at epoch {high + 1} "
        f"of max_iter={max_iter} (with {settings_text}): training would stop learning "
        "without saying so. Decay more slowly or lower max_iter.",
    )
