"""The epoch-end hooks: one record for every participant, in one order; each
stopping rule's memory and how it persists; the rate's plateau scale.

The loop is driven directly (``run_stochastic``) with spies around the real
validation, stopping rule and reporters, so the order is observed, not read
from the code.
"""

import math

import numpy as np
import pytest

from skmlp.hooks import EpochEnd, EpochHook
from skmlp.network import Network
from skmlp.optimizers import SGD, make_chain
from skmlp.state import EpochRecord, StoppingState, TrainingState
from skmlp.stopping import (
    REDUCE,
    STOP,
    LossMemory,
    ReduceOnPlateau,
    ScoreMemory,
    TrainingLossRule,
    ValidationScoreRule,
    make_stopping_rule,
)
from skmlp.trainer import (
    Step,
    TrainingConfig,
    TrainingData,
    Validation,
    VerboseLine,
    param_groups,
    run_stochastic,
)


class Spy(EpochHook):
    """Wraps a hook; logs what the epoch looks like when the hook is called."""

    def __init__(self, name, log, inner=None, interrupt_at=None):
        self.name, self.log, self.inner, self.interrupt_at = name, log, inner, interrupt_at

    def on_epoch_begin(self):
        if self.inner is not None:
            self.inner.on_epoch_begin()

    def on_epoch_end(self, epoch):
        if self.inner is not None:
            self.inner.on_epoch_end(epoch)
        self.log.append(
            dict(
                name=self.name,
                epoch=epoch,
                record=epoch.record,
                n_records=len(epoch.state.records),
                verdict=epoch.verdict,
                params=epoch.params.copy(),
                kept=epoch.kept.copy(),
            )
        )
        if epoch.n_iter == self.interrupt_at:
            raise KeyboardInterrupt


def _problem(seed=0, n=60):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 3))
    Y = (X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=n)).reshape(-1, 1)
    net = Network([3, 4, 1], "relu", "squared_error")
    params = net.init_params(np.random.RandomState(seed), "sklearn", np.float64)
    return net, params, TrainingData(X[:40], Y[:40]), TrainingData(X[40:], Y[40:])


def _run(rule, log, max_iter=4, interrupt=None, rate=0.01):
    """Train with spies around the validation, the rule and two reporters."""
    net, params, train, held_out = _problem()
    chain = make_chain(SGD(momentum=0.0), param_groups(net))
    step = Step(net, net.workspace(10, params), chain)
    state = TrainingState(
        "sgd", params.size, True, rate, chain.init(params), StoppingState.new(True)
    )
    interrupt_at = dict(interrupt or {})
    hooks = {
        name: Spy(name, log, inner, interrupt_at.get(name))
        for name, inner in [
            ("validation", Validation(net, held_out)),
            ("stopping", rule),
            ("verbose", VerboseLine(validation=True)),
            ("reporter", None),
        ]
    }
    config = TrainingConfig(
        step=step,
        schedule=lambda step, t: rate,
        stopping=hooks["stopping"],
        batch_size=10,
        max_iter=max_iter,
        validation=hooks["validation"],
        reporters=[hooks["verbose"], hooks["reporter"]],
    )
    config.validation.data = held_out  # what the trainer verifies the kept weights on
    outcome = run_stochastic(config, state, params, train, np.random.RandomState(0))
    return outcome, state, params


def test_every_hook_gets_the_same_epoch_record_in_the_declared_order(capsys):
    log = []
    outcome, state, _ = _run(ValidationScoreRule(tol=0.0, patience=np.inf), log)
    assert outcome.n_iter == 4
    names = [entry["name"] for entry in log]
    assert names == ["validation", "stopping", "verbose", "reporter"] * 4
    for k in range(4):
        validation, stopping, verbose, reporter = log[4 * k : 4 * k + 4]
        # one EpochEnd per epoch, handed to every hook
        assert validation["epoch"] is stopping["epoch"] is verbose["epoch"] is reporter["epoch"]
        assert validation["epoch"].n_iter == k + 1
        # the validation came first: the rule already judged the filled-in score
        assert math.isfinite(validation["record"].val_score)
        assert stopping["record"].val_score == validation["record"].val_score
        assert validation["verdict"] is None and stopping["verdict"] is not None
        # the history appends after the rule and before the reporters
        assert validation["n_records"] == stopping["n_records"] == k
        assert verbose["n_records"] == reporter["n_records"] == k + 1
        assert math.isnan(stopping["record"].time) and verbose["record"].time >= 0
        # the reporters see the record exactly as the history keeps it
        assert reporter["record"] == state.records[k]
        # every score improves here: the kept weights are the epoch's own
        np.testing.assert_array_equal(reporter["kept"], reporter["params"])
        assert state.records[k].val_score > (state.records[k - 1].val_score if k else -np.inf)
    out = capsys.readouterr().out.splitlines()
    assert [ln.split(",")[0] for ln in out[::2]] == [f"Iteration {k}" for k in range(1, 5)]


@pytest.mark.parametrize(
    "where, kept",
    [("validation", 1), ("stopping", 1), ("verbose", 2), ("reporter", 2)],
)
def test_the_commit_sits_between_the_history_and_the_reporters(where, kept):
    # an interrupt in epoch 2 keeps epoch 2 only if that epoch was committed
    log = []
    outcome, state, _ = _run(
        ValidationScoreRule(tol=0.0, patience=np.inf), log, interrupt={where: 2}
    )
    assert outcome.stop_reason == "interrupted"
    assert len(state.records) == kept == outcome.n_iter


def test_a_stop_flag_set_by_a_reporter_ends_training_after_that_epoch():
    class StopAtTwo(EpochHook):
        def on_epoch_end(self, epoch):
            epoch.stop = epoch.n_iter == 2

    net, params, train, _ = _problem()
    chain = make_chain(SGD(momentum=0.0), param_groups(net))
    config = TrainingConfig(
        step=Step(net, net.workspace(10, params), chain),
        schedule=lambda step, t: 0.01,
        stopping=TrainingLossRule(tol=0.0, patience=np.inf),
        batch_size=10,
        max_iter=10,
        reporters=[StopAtTwo()],
    )
    state = TrainingState(
        "sgd", params.size, False, 0.01, chain.init(params), StoppingState.new(False)
    )
    outcome = run_stochastic(config, state, params, train, np.random.RandomState(0))
    assert (outcome.stop_reason, outcome.n_iter, len(state.records)) == ("callback", 2, 2)


# --- the rules' memories --------------------------------------------------------
def _record(epoch, train_loss=1.0, val_score=0.5):
    return EpochRecord(epoch, train_loss, -val_score, val_score, 0.01, 0.1, 0, 1.0)


def test_each_rule_declares_its_memory_type():
    loss, score = TrainingLossRule(0.0, 2), ValidationScoreRule(0.0, 2)
    assert loss.memory_type is LossMemory and score.memory_type is ScoreMemory
    assert ReduceOnPlateau(loss).memory_type is LossMemory
    assert ReduceOnPlateau(score).memory_type is ScoreMemory
    assert type(StoppingState.new(False)) is LossMemory
    assert type(StoppingState.new(True)) is ScoreMemory


@pytest.mark.parametrize(
    "rule", [TrainingLossRule(1e-3, 1), ValidationScoreRule(1e-3, 1, start_from=1, restart=True)]
)
def test_each_memory_round_trips_and_judges_on_identically(rule):
    params = np.arange(5.0)
    memory = rule.memory_type()
    for epoch, (loss, score) in enumerate([(1.0, 0.2), (0.5, 0.6), (0.6, 0.4)], start=1):
        rule.update(memory, _record(epoch, loss, score), params + epoch, 0.01)
    data = memory.to_dict()
    assert all(isinstance(v, (int, float, np.ndarray, type(None))) for v in data.values())
    copy = rule.memory_type.from_dict(data)
    assert type(copy) is type(memory)
    for name, value in copy.to_dict().items():
        np.testing.assert_array_equal(value, getattr(memory, name), err_msg=name)
    if isinstance(memory, ScoreMemory):
        assert copy.best_params is not memory.best_params  # its own array
        assert (copy.best_score, copy.best_epoch) == (0.6, 2)
    # both judge the next epochs alike
    for epoch in (4, 5):
        record = _record(epoch, 0.7, 0.3)
        assert rule.update(copy, record, params, 0.01) == rule.update(memory, record, params, 0.01)
    assert copy.no_improvement_count == memory.no_improvement_count


def test_training_state_round_trips_the_memory_and_the_rate_scale():
    memory = ScoreMemory(2, 0.4, best_score=0.7, best_epoch=3, best_params=np.ones(4))
    state = TrainingState("adam", 4, True, 0.01, {"t": 3}, memory, step=30, rate_scale=0.04)
    state.records.append(_record(1)._replace(rate_scale=0.2))
    copy = TrainingState.from_dict(state.to_dict())
    assert isinstance(copy.stopping, ScoreMemory) and copy.rate_scale == 0.04
    assert copy.stopping.best_params is not memory.best_params
    np.testing.assert_array_equal(copy.stopping.best_params, memory.best_params)
    assert (copy.stopping.best_score, copy.stopping.best_epoch) == (0.7, 3)
    assert copy.records == state.records
    assert set(copy.fitted_attributes()["history_"]) == set(EpochRecord._fields) - {"rate_scale"}


# --- the rate and its plateau scale ---------------------------------------------
def test_the_rate_is_the_schedule_times_the_plateau_scale():
    state = TrainingState("sgd", 3, False, 0.1, {}, LossMemory(), step=7, schedule_start=2, t=40)
    schedule = lambda step, t: 0.1 * step + t  # noqa: E731
    assert state.rate(schedule) == schedule(5, 40)
    state.rate_scale = 0.25
    assert state.rate(schedule) == schedule(5, 40) * 0.25


def test_the_plateau_rule_divides_the_states_rate_scale_not_its_memory():
    rule = ReduceOnPlateau(TrainingLossRule(tol=1.0, patience=0), factor=4.0, min_rate=1e-3)
    state = TrainingState("sgd", 3, False, 0.1, {}, LossMemory(), rate_scale=0.5)
    params = np.zeros(3)
    epoch = EpochEnd(1, _record(1, train_loss=2.0), params, rate=0.05, state=state)
    rule.on_epoch_end(epoch)  # the first epoch sets the best loss
    epoch = EpochEnd(2, _record(2, train_loss=2.0), params, rate=0.05, state=state)
    rule.on_epoch_end(epoch)
    assert epoch.verdict.action == REDUCE and epoch.verdict.factor == 4.0
    assert state.rate_scale == 0.5 / 4.0
    assert state.stopping.no_improvement_count == 0  # the patience starts again
    assert "learning rate to 0.012500" in epoch.verdict.message
    # at the floor the rule stops instead, leaving the scale alone
    epoch = EpochEnd(3, _record(3, train_loss=2.0), params, rate=1e-3, state=state)
    rule.on_epoch_end(epoch)
    assert epoch.verdict.action == STOP and state.rate_scale == 0.125


@pytest.mark.parametrize(
    "learning_rate, solver, expected",
    [
        ("constant", "sgd", TrainingLossRule),
        ("adaptive", "adam", TrainingLossRule),  # scikit-learn's: sgd only
        ("adaptive", "sgd", ReduceOnPlateau),
        ("plateau", "adam", ReduceOnPlateau),
    ],
)
def test_make_stopping_rule_composes_from_plain_settings(learning_rate, solver, expected):
    rule = make_stopping_rule(
        validation=False,
        tol=1e-3,
        patience=4,
        epochs_done=10,
        peak_epoch=2.5,
        learning_rate=learning_rate,
        solver=solver,
        plateau_factor=3.0,
        plateau_min_rate=1e-5,
    )
    assert type(rule) is expected
    inner = rule.rule if expected is ReduceOnPlateau else rule
    assert (inner.tol, inner.patience, inner.start_from, inner.restart) == (1e-3, 4, 13, True)
    if learning_rate == "plateau":
        assert (rule.factor, rule.min_rate) == (3.0, 1e-5)
    elif expected is ReduceOnPlateau:
        assert (rule.factor, rule.min_rate) == (5.0, 1e-6)
    with_validation = make_stopping_rule(validation=True, tol=0.0, patience=1)
    assert type(with_validation) is ValidationScoreRule and not with_validation.restart
