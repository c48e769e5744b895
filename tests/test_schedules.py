"""Learning-rate schedules, seen through the estimators' settings.

Every expected rate is computed in the test from the schedule's formula (or,
for 'invscaling', by scikit-learn's own SGD optimizer); the rates under test
come from :func:`skmlp.learning_rate_schedule` and from ``history_`` after a
fit.
"""

import math

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network._stochastic_optimizers import SGDOptimizer
from sklearn.utils._param_validation import InvalidParameterError

from skmlp import MLPClassifier, MLPRegressor, learning_rate_schedule
from skmlp.optimizers import OPTIMIZERS

N_SAMPLES, BATCH = 100, 10
SPE = 10  # steps per epoch: ceil(N_SAMPLES / BATCH)
LR = 0.01
ignore_convergence = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _preview(n_samples=N_SAMPLES, **params):
    settings = dict(batch_size=BATCH, learning_rate_init=LR)
    settings.update(params)
    return learning_rate_schedule(MLPRegressor(**settings), n_samples)


def _epoch_rates(rates, max_iter):
    """One rate per epoch, checking that the rate is constant within each."""
    per_epoch = rates.reshape(max_iter, -1)
    np.testing.assert_array_equal(per_epoch, per_epoch[:, :1].repeat(per_epoch.shape[1], axis=1))
    return per_epoch[:, 0]


def _half_cosine(low, high, fraction):
    return low + (high - low) * (1 + math.cos(math.pi * fraction)) / 2


# --- the preview ----------------------------------------------------------------


@pytest.mark.parametrize(
    "n_samples, batch_size, steps", [(100, 10, 10), (95, 10, 10), (7, "auto", 1), (250, "auto", 2)]
)
def test_preview_has_one_rate_per_update(n_samples, batch_size, steps):
    rates = _preview(n_samples, batch_size=batch_size, max_iter=3)
    assert rates.shape == (3 * steps,)
    np.testing.assert_array_equal(rates, LR)


def test_preview_leaves_the_estimator_alone_and_refuses_what_it_cannot_show():
    est = MLPRegressor(learning_rate="cosine", max_iter=5)
    before = est.get_params()
    learning_rate_schedule(est, 50)
    assert est.get_params() == before
    assert not hasattr(est, "history_")
    with pytest.raises(ValueError, match="lbfgs"):
        learning_rate_schedule(MLPRegressor(solver="lbfgs"), 50)
    with pytest.raises(ValueError, match="auto"):
        learning_rate_schedule(MLPRegressor(learning_rate_init="auto"), 50)


# --- each schedule against its formula ------------------------------------------


def test_cosine_anneals_from_init_to_min_over_max_iter():
    lr_min, T = 1e-4, 20
    epochs = _epoch_rates(_preview(learning_rate="cosine", learning_rate_min=lr_min, max_iter=T), T)
    expected = [_half_cosine(lr_min, LR, e / T) for e in range(T)]
    np.testing.assert_allclose(epochs, expected, rtol=1e-12)
    assert epochs[0] == pytest.approx(LR, rel=1e-12)
    assert epochs[T // 2] == pytest.approx((LR + lr_min) / 2, rel=1e-12)
    assert np.all(np.diff(epochs) < 0)
    # the last epoch is one cosine step short of min
    assert lr_min < epochs[-1] < lr_min + 0.01 * (LR - lr_min)


def test_coslog_is_realmlps_formula_per_step():
    # Holzmüller et al. 2024: lr * (1 - cos(2 pi log2(1 + 15 t))) / 2, t the
    # fraction of training done, per update
    n_samples, batch, T = 100, 10, 8
    rates = _preview(n_samples, batch_size=batch, learning_rate="coslog", max_iter=T)
    t = np.arange(T * n_samples // batch) / (T * n_samples // batch)
    expected = LR * (1 - np.cos(2 * np.pi * np.log2(1 + 15 * t))) / 2
    np.testing.assert_allclose(rates, expected, rtol=1e-12, atol=1e-15)
    assert rates[0] == 0.0
    peaks = np.flatnonzero((rates[1:-1] > rates[:-2]) & (rates[1:-1] >= rates[2:])) + 1
    assert len(peaks) == 4  # four cycles on the log clock, each longer than the last
    assert np.all(np.diff(np.r_[0, peaks]) > 0) and np.all(np.diff(np.diff(peaks)) > 0)


def test_step_decay_halves_exactly_at_multiples_of_decay_epochs():
    T = 10
    epochs = _epoch_rates(
        _preview(learning_rate="step", decay_rate=0.5, decay_epochs=3, max_iter=T), T
    )
    for e in range(T):
        assert epochs[e] == LR * 0.5 ** (e // 3)  # powers of two: exact
    assert list(np.flatnonzero(np.diff(epochs)) + 1) == [3, 6, 9]


def test_exponential_decays_by_decay_rate_every_decay_epochs():
    T, decay_rate, decay_epochs = 9, 0.3, 2
    epochs = _epoch_rates(
        _preview(
            learning_rate="exponential",
            decay_rate=decay_rate,
            decay_epochs=decay_epochs,
            max_iter=T,
        ),
        T,
    )
    np.testing.assert_allclose(epochs, [LR * decay_rate ** (e / decay_epochs) for e in range(T)])
    assert epochs[decay_epochs] == pytest.approx(LR * decay_rate, rel=1e-12)
    assert epochs[1] == pytest.approx(LR * math.sqrt(decay_rate), rel=1e-12)


@pytest.mark.parametrize(
    "schedule",
    [
        "step",
        "exponential",
        "cosine",
    ],
)
def test_epoch_wise_schedules_change_only_between_epochs(schedule):
    # documented: all but the last three change the rate every epoch
    T = 6
    rates = _preview(learning_rate=schedule, decay_epochs=1.5, max_iter=T)
    epochs = _epoch_rates(rates, T)
    assert np.all(np.diff(epochs) <= 0) and epochs[-1] < epochs[0]


def _sgdr(step, spe, restart_epochs, restart_mult, low, high):
    """SGDR written as a walk over the periods, not through logarithms."""
    epochs = step / spe
    start, period = 0.0, restart_epochs
    while epochs >= start + period:
        start, period = start + period, period * restart_mult
    return _half_cosine(low, high, (epochs - start) / period)


@pytest.mark.parametrize(
    "restart_epochs, restart_mult, restarts",
    [
        (2, 1, [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28]),
        (2, 2, [2, 6, 14]),
        (1.5, 2, [1.5, 4.5, 10.5, 22.5]),
        (2, 3, [2, 8, 26]),
    ],
)
def test_cosine_restarts_restart_to_init_with_growing_periods(
    restart_epochs, restart_mult, restarts
):
    lr_min, T = 1e-4, 30
    rates = _preview(
        learning_rate="cosine_restarts",
        learning_rate_min=lr_min,
        restart_epochs=restart_epochs,
        restart_mult=restart_mult,
        max_iter=T,
    )
    restart_steps = [round(r * SPE) for r in restarts]
    for s in restart_steps:
        assert rates[s] == pytest.approx(LR, rel=1e-12), s
        # the step before is the end of a full period: close to min
        assert rates[s - 1] < lr_min + 0.02 * (LR - lr_min)
    # the rate falls within each period and jumps back up at each restart only
    jumps = np.flatnonzero(np.diff(rates) > 0) + 1
    assert list(jumps) == restart_steps
    periods = np.diff([0, *restart_steps])
    np.testing.assert_allclose(periods[1:] / periods[:-1], restart_mult)
    expected = [_sgdr(s, SPE, restart_epochs, restart_mult, lr_min, LR) for s in range(T * SPE)]
    np.testing.assert_allclose(rates, expected, rtol=1e-9)


def _triangle(step, half):
    """0 at the start of each cycle, 1 at its middle, linear in between."""
    position = step % (2 * half)
    return 1 - abs(position / half - 1)


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_cyclic_moves_between_init_and_max(mode):
    lr_max, half_cycle, T, decay_rate, decay_epochs = 0.06, 2, 12, 0.5, 4
    half = half_cycle * SPE
    rates = _preview(
        learning_rate="cyclic",
        learning_rate_max=lr_max,
        half_cycle_epochs=half_cycle,
        cyclic_mode=mode,
        decay_rate=decay_rate,
        decay_epochs=decay_epochs,
        max_iter=T,
    )

    def amplitude(step):
        if mode == "triangular":
            return lr_max - LR
        if mode == "triangular2":
            return (lr_max - LR) / 2 ** (step // (2 * half))
        return (lr_max - LR) * decay_rate ** (step / (decay_epochs * SPE))

    expected = [LR + amplitude(s) * _triangle(s, half) for s in range(T * SPE)]
    np.testing.assert_allclose(rates, expected, rtol=1e-12)
    # base rate at the start of every cycle, the (scaled) maximum mid-cycle
    for cycle_start in range(0, T * SPE, 2 * half):
        assert rates[cycle_start] == pytest.approx(LR, rel=1e-12)
    assert rates[half] == pytest.approx(LR + amplitude(half), rel=1e-12)
    if mode == "triangular":
        assert rates[half] == pytest.approx(lr_max, rel=1e-12)
        assert rates[3 * half] == pytest.approx(lr_max, rel=1e-12)
    if mode == "triangular2":
        assert rates[3 * half] - LR == pytest.approx((lr_max - LR) / 2, rel=1e-12)
    assert rates.max() <= lr_max * (1 + 1e-12) and rates.min() >= LR * (1 - 1e-12)


@pytest.mark.parametrize("schedule", ["cyclic", "one_cycle"])
def test_learning_rate_max_defaults_to_ten_times_init(schedule):
    rates = _preview(learning_rate=schedule, half_cycle_epochs=1, max_iter=10)
    assert rates.max() == pytest.approx(10 * LR, rel=1e-12)
    assert rates[0] == pytest.approx(LR, rel=1e-12)


def test_one_cycle_peaks_at_peak_fraction_then_anneals_far_below_start():
    lr_max, lr_min, peak_fraction, T = 0.1, 1e-6, 0.25, 8
    total = T * SPE
    peak = round(peak_fraction * total)
    rates = _preview(
        learning_rate="one_cycle",
        learning_rate_max=lr_max,
        learning_rate_min=lr_min,
        peak_fraction=peak_fraction,
        max_iter=T,
    )
    assert rates[0] == pytest.approx(LR, rel=1e-12)
    assert rates[peak] == pytest.approx(lr_max, rel=1e-12)
    assert int(np.argmax(rates)) == peak
    assert np.all(np.diff(rates[: peak + 1]) > 0)
    assert np.all(np.diff(rates[peak:]) < 0)
    assert rates[-1] <= lr_min + 1e-3 * (lr_max - lr_min)
    assert rates[-1] < LR / 100
    expected = [
        _half_cosine(lr_max, LR, s / peak)
        if s <= peak
        else _half_cosine(lr_min, lr_max, (s - peak) / (total - peak))
        for s in range(total)
    ]
    np.testing.assert_allclose(rates, expected, rtol=1e-12)


@pytest.mark.parametrize("solver", sorted(OPTIMIZERS))
def test_warmup_ramps_any_schedule_linearly(solver):
    warmup, lr_min, T = 1.5, 1e-4, 10
    ramp = warmup * SPE
    constant = _preview(solver=solver, warmup_epochs=warmup, max_iter=T)
    np.testing.assert_allclose(constant, [LR * min(1, (s + 1) / ramp) for s in range(T * SPE)])
    assert constant[0] == pytest.approx(LR / ramp)
    np.testing.assert_array_equal(constant[int(ramp) - 1 :], LR)

    cosine = _preview(
        solver=solver,
        learning_rate="cosine",
        learning_rate_min=lr_min,
        warmup_epochs=warmup,
        max_iter=T,
    )
    expected = [
        min(1, (s + 1) / ramp) * _half_cosine(lr_min, LR, (s // SPE) / T) for s in range(T * SPE)
    ]
    np.testing.assert_allclose(cosine, expected, rtol=1e-12)


def test_invscaling_is_sklearns_per_epoch_rate():
    T, power_t, lr = 6, 0.4, 0.1
    epochs = _epoch_rates(
        _preview(
            solver="sgd",
            learning_rate="invscaling",
            power_t=power_t,
            learning_rate_init=lr,
            max_iter=T,
        ),
        T,
    )
    # scikit-learn's optimizer sets each epoch's rate from the samples seen before it
    oracle = SGDOptimizer(
        [np.zeros(1)], learning_rate_init=lr, lr_schedule="invscaling", power_t=power_t
    )
    expected = []
    for e in range(T):
        if e:
            oracle.iteration_ends(e * N_SAMPLES)
        expected.append(oracle.learning_rate)
    np.testing.assert_allclose(epochs, expected, rtol=1e-12)
    np.testing.assert_allclose(epochs, [lr / (e * N_SAMPLES + 1) ** power_t for e in range(T)])


@pytest.mark.parametrize("solver", sorted(set(OPTIMIZERS) - {"sgd"}))
@pytest.mark.parametrize("schedule", ["invscaling", "adaptive"])
def test_sklearn_schedules_apply_to_sgd_only(solver, schedule):
    rates = _preview(solver=solver, learning_rate=schedule, max_iter=4)
    np.testing.assert_array_equal(rates, LR)


@pytest.mark.parametrize("solver", sorted(OPTIMIZERS))
@pytest.mark.parametrize("schedule", ["step", "cosine", "cyclic", "one_cycle", "coslog"])
def test_new_schedules_apply_to_every_stochastic_solver(solver, schedule):
    rates = _preview(solver=solver, learning_rate=schedule, decay_epochs=2, max_iter=6)
    assert np.ptp(rates) > 0.1 * LR
    np.testing.assert_array_equal(
        rates, _preview(solver="sgd", learning_rate=schedule, decay_epochs=2, max_iter=6)
    )


def test_invscaling_moves_for_sgd_and_adaptive_starts_constant():
    assert np.ptp(_preview(solver="sgd", learning_rate="invscaling", max_iter=3)) > 0
    np.testing.assert_array_equal(_preview(solver="sgd", learning_rate="adaptive", max_iter=3), LR)


# --- the rates a fit actually uses -------------------------------------------------


@ignore_convergence
@pytest.mark.parametrize(
    "settings",
    [
        dict(learning_rate="cosine", learning_rate_min=1e-5),
        dict(learning_rate="step", decay_epochs=2),
        dict(learning_rate="exponential", decay_epochs=3, decay_rate=0.2),
        dict(learning_rate="cosine_restarts", restart_epochs=1.5, restart_mult=2),
        dict(learning_rate="cyclic", half_cycle_epochs=1.25, cyclic_mode="triangular2"),
        dict(learning_rate="one_cycle", peak_fraction=0.4),
        dict(learning_rate="constant", warmup_epochs=2.5),
        dict(learning_rate="one_cycle", warmup_epochs=1),
        dict(learning_rate="invscaling", solver="sgd", learning_rate_init=0.01),
    ],
    ids=lambda settings: "-".join(str(v) for v in settings.values()),
)
def test_history_records_the_mean_rate_of_each_epoch(settings):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 4))
    y = X @ rng.normal(size=4)
    params = dict(
        hidden_layer_sizes=(6,),
        batch_size=16,  # 4 steps per epoch, the last one short
        max_iter=7,
        shuffle=True,
        n_iter_no_change=np.inf,
        random_state=0,
        learning_rate_init=1e-3,
    )
    params.update(settings)
    est = MLPRegressor(**params)
    preview = learning_rate_schedule(est, len(X))
    est.fit(X, y)
    assert est.n_iter_ == 7
    assert est.history_["epoch"] == list(range(1, 8))
    expected = preview.reshape(7, 4).mean(axis=1)
    np.testing.assert_allclose(est.history_["learning_rate"], expected, rtol=1e-12)
    assert np.ptp(expected) > 0  # every case here moves


@ignore_convergence
@pytest.mark.parametrize(
    "settings, factor",
    [
        (dict(learning_rate="plateau", plateau_factor=4.0), 4.0),
        (dict(learning_rate="adaptive", solver="sgd"), 5.0),
        (dict(learning_rate="plateau", early_stopping=True, warmup_epochs=1.5), 5.0),
    ],
    ids=["plateau", "adaptive", "plateau-early_stopping-warmup"],
)
def test_a_fitted_estimator_shows_the_rates_its_updates_used(settings, factor):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 4))
    y = X @ rng.normal(size=4)
    params = dict(
        hidden_layer_sizes=(6,),
        batch_size=16,
        max_iter=12,
        n_iter_no_change=1,
        tol=1e3,  # no epoch improves enough: the rule fires every other epoch
        random_state=0,
        learning_rate_init=0.01,
    )
    est = MLPRegressor(**params, **settings)
    n_train = 54 if est.early_stopping else 60  # validation_fraction=0.1 held out
    steps = math.ceil(n_train / 16)
    preview = learning_rate_schedule(est, n_train).reshape(-1, steps)
    est.fit(X, y)
    rates = learning_rate_schedule(est, n_train)
    assert rates.shape == (est.n_iter_ * steps,)
    used = rates.reshape(est.n_iter_, steps)
    np.testing.assert_allclose(used.mean(axis=1), est.history_["learning_rate"], rtol=1e-12)
    # each epoch's rates are the schedule's, divided by factor once per reduction so far
    reductions = np.log(preview[: est.n_iter_, :1] / used[:, :1]) / np.log(factor)
    np.testing.assert_allclose(reductions, np.round(reductions), atol=1e-9)
    np.testing.assert_allclose(used * factor ** np.round(reductions), preview[: est.n_iter_])
    assert reductions[0] == 0 and reductions[-1] >= 2
    assert np.all(np.diff(reductions.ravel()) >= 0)
    # an unfitted copy still previews the schedule alone
    np.testing.assert_array_equal(learning_rate_schedule(clone(est), n_train), preview.ravel())


@ignore_convergence
def test_the_rates_used_need_the_rows_trained_on_and_a_recorded_scale():
    X = np.random.RandomState(0).normal(size=(60, 3))
    est = MLPRegressor(
        hidden_layer_sizes=(4,), batch_size=16, max_iter=5, learning_rate="plateau"
    ).fit(X, X[:, 0])
    assert learning_rate_schedule(est, 60).shape == (5 * 4,)
    with pytest.raises(ValueError, match="rows it trained on"):
        learning_rate_schedule(est, 100)  # 7 updates an epoch, 20 were made
    with pytest.raises(ValueError, match="rows it trained on"):  # settings changed since
        learning_rate_schedule(est.set_params(learning_rate="step", decay_epochs=1), 60)
    est.set_params(learning_rate="plateau")
    # a state saved before the scales were recorded cannot show them
    columns = est._train_state["records"]
    columns["rate_scale"] = [math.nan] * len(columns["rate_scale"])
    with pytest.raises(ValueError, match="did not record"):
        learning_rate_schedule(est, 60)


# --- bad settings --------------------------------------------------------------------

BAD_SETTINGS = [
    ("learning_rate_max", dict(learning_rate="cyclic", learning_rate_max=0.005)),
    ("learning_rate_max", dict(learning_rate="one_cycle", learning_rate_max=0.002)),
    ("warmup_epochs", dict(warmup_epochs=5)),
    ("warmup_epochs", dict(learning_rate="cosine", warmup_epochs=7.5)),
    ("restart_epochs", dict(learning_rate="cosine_restarts", restart_epochs=0)),
    ("restart_epochs", dict(learning_rate="cosine_restarts", restart_epochs=-1.0)),
    ("half_cycle_epochs", dict(learning_rate="cyclic", half_cycle_epochs=0)),
    ("half_cycle_epochs", dict(learning_rate="cyclic", half_cycle_epochs=-2)),
    ("decay_epochs", dict(learning_rate="step", decay_epochs=0)),
    ("decay_epochs", dict(learning_rate="exponential", decay_epochs=-3)),
    ("learning_rate_min", dict(learning_rate="cosine", learning_rate_min=0.02)),
    ("learning_rate_min", dict(learning_rate="cosine_restarts", learning_rate_min=0.02)),
    ("learning_rate_min", dict(learning_rate="one_cycle", learning_rate_min=0.02)),
    ("cyclic_mode", dict(learning_rate="cyclic", cyclic_mode="sawtooth")),
    ("peak_fraction", dict(learning_rate="one_cycle", peak_fraction=0)),
    ("peak_fraction", dict(learning_rate="one_cycle", peak_fraction=1)),
    ("peak_fraction", dict(learning_rate="one_cycle", peak_fraction=1.5)),
    ("peak_fraction", dict(learning_rate="one_cycle", peak_fraction=-0.1)),
]


@pytest.mark.parametrize("est_cls", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize(
    "parameter, settings", BAD_SETTINGS, ids=[f"{p}-{i}" for i, (p, _) in enumerate(BAD_SETTINGS)]
)
def test_bad_schedule_settings_raise_at_fit_naming_the_parameter(est_cls, parameter, settings):
    X = np.random.RandomState(0).normal(size=(20, 3))
    y = np.arange(20) % 2
    est = est_cls(hidden_layer_sizes=(4,), learning_rate_init=0.01, max_iter=5, **settings)
    match = rf"'{parameter}' parameter of {est_cls.__name__}"
    with pytest.raises(InvalidParameterError, match=match):
        est.fit(X, y)
    assert not hasattr(est, "coefs_")
    with pytest.raises(InvalidParameterError, match=match):
        learning_rate_schedule(est, len(X))


@ignore_convergence
@pytest.mark.parametrize(
    "settings",
    [
        dict(learning_rate="cyclic", learning_rate_max=0.01),
        dict(learning_rate="one_cycle", learning_rate_max=0.01, learning_rate_min=0.01),
        dict(learning_rate="cosine", learning_rate_min=0.01),
        dict(learning_rate="cosine", warmup_epochs=4.5),
        dict(learning_rate="cyclic", cyclic_mode="exp_range", decay_rate=1.0),
        dict(learning_rate="one_cycle", peak_fraction=0.99),
    ],
)
def test_limit_settings_are_accepted(settings):
    X = np.random.RandomState(0).normal(size=(20, 3))
    est = MLPRegressor(hidden_layer_sizes=(4,), learning_rate_init=0.01, max_iter=5, **settings)
    est.fit(X, X[:, 0])
    assert len(est.history_["learning_rate"]) == 5


# --- model selection ---------------------------------------------------------------

SCHEDULE_PARAMETERS = dict(
    learning_rate="cyclic",
    weight_decay=0.01,
    rho=0.8,
    learning_rate_min=1e-5,
    learning_rate_max=0.05,
    decay_rate=0.7,
    decay_epochs=3,
    restart_epochs=4,
    restart_mult=3,
    half_cycle_epochs=2.5,
    cyclic_mode="exp_range",
    peak_fraction=0.2,
    warmup_epochs=1.5,
)


@pytest.mark.parametrize("est_cls", [MLPClassifier, MLPRegressor])
def test_clone_keeps_every_schedule_parameter(est_cls):
    est = est_cls(max_iter=12, **SCHEDULE_PARAMETERS)
    defaults = est_cls().get_params()
    assert all(defaults[k] != v for k, v in SCHEDULE_PARAMETERS.items())
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    for key, value in SCHEDULE_PARAMETERS.items():
        assert getattr(copy, key) == value
    np.testing.assert_array_equal(learning_rate_schedule(copy, 50), learning_rate_schedule(est, 50))


@ignore_convergence
def test_grid_search_over_solvers_and_schedules_in_parallel():
    X, y = make_classification(n_samples=90, n_features=5, n_informative=3, random_state=0)
    grid = {
        "solver": ["sgd", "adamw", "rmsprop", "nadam"],
        "learning_rate": ["cosine", "one_cycle"],
        "learning_rate_init": [1e-3, 1e-2],
    }
    search = GridSearchCV(
        MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, batch_size=20, random_state=0),
        grid,
        cv=3,
        n_jobs=2,
        error_score="raise",
    )
    search.fit(X, y)
    results = search.cv_results_
    candidates = {tuple(sorted(p.items())) for p in results["params"]}
    assert len(results["params"]) == len(candidates) == 4 * 2 * 2
    assert np.isfinite(results["mean_test_score"]).all()
    for split in range(3):
        assert np.isfinite(results[f"split{split}_test_score"]).all()
    assert search.best_estimator_.learning_rate in grid["learning_rate"]
