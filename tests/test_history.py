"""``history_``: one entry per epoch, across warm starts; the verbose output."""

import re

import numpy as np
import pytest
from _helpers import small

from skmlp import MLPClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

HISTORY_KEYS = ("epoch", "train_loss", "val_loss", "val_score", "learning_rate", "time")


# --- history --------------------------------------------------------------------
def _history_fit(X, y, **kw):
    params = dict(dropout=0.2, early_stopping=True, max_iter=60, n_iter_no_change=5)
    params.update(kw)
    return small(MLPClassifier, **params).fit(X, y)


def test_history_has_one_entry_per_epoch(digits):
    X, y = digits
    est = _history_fit(X, y)
    history = est.history_
    assert set(history) == set(HISTORY_KEYS)
    assert {len(v) for v in history.values()} == {est.n_iter_}
    assert history["epoch"] == list(range(1, est.n_iter_ + 1))
    assert history["train_loss"] == est.loss_curve_
    assert history["val_score"] == est.validation_scores_
    assert np.all(np.isfinite(history["val_loss"]))
    np.testing.assert_array_equal(history["learning_rate"], 0.001)  # the constant rate
    assert all(t > 0 for t in history["time"])


def test_history_without_early_stopping_has_nan_validation(digits):
    X, y = digits
    est = small(MLPClassifier, max_iter=7, n_iter_no_change=np.inf).fit(X, y)
    assert {len(v) for v in est.history_.values()} == {7}
    assert np.all(np.isnan(est.history_["val_loss"]))
    assert np.all(np.isnan(est.history_["val_score"]))
    assert est.best_epoch_ is None


def test_history_is_reproducible_apart_from_time(digits):
    X, y = digits
    first, second = _history_fit(X, y), _history_fit(X, y)
    for key in HISTORY_KEYS:
        if key != "time":
            np.testing.assert_array_equal(first.history_[key], second.history_[key], err_msg=key)
    assert first.best_epoch_ == second.best_epoch_


def test_history_is_a_dataframe(digits):
    pd = pytest.importorskip("pandas")
    X, y = digits
    est = _history_fit(X, y, scoring="loss")
    frame = pd.DataFrame(est.history_)
    assert frame.shape == (est.n_iter_, len(HISTORY_KEYS))
    assert list(frame["epoch"]) == list(range(1, est.n_iter_ + 1))
    # with scoring='loss' the best epoch is the one of least validation loss
    assert frame["val_loss"].idxmin() + 1 == est.best_epoch_


def test_history_grows_across_warm_starts(digits):
    X, y = digits
    est = small(MLPClassifier, warm_start=True, max_iter=4, n_iter_no_change=np.inf)
    est.fit(X, y).fit(X, y)
    assert est.history_["epoch"] == list(range(1, 9))
    assert est.history_["train_loss"] == est.loss_curve_


# --- progress reporting -------------------------------------------------------
def test_verbose_two_draws_a_progress_bar_on_stderr(digits, capsys):
    X, y = digits
    est = small(MLPClassifier, verbose=2, early_stopping=True, max_iter=6)
    est.set_params(n_iter_no_change=np.inf).fit(X, y)
    captured = capsys.readouterr()
    assert "6/6" in captured.err
    assert "val_loss" in captured.err
    assert captured.err.endswith("\n")
    assert "Iteration" not in captured.out  # the bar replaces the per-epoch lines


_LINE = re.compile(
    r"^Iteration (\d+), loss = ([\d.]+), val_loss = ([\d.]+), learning_rate = ([\d.e-]+)$"
)


def test_verbose_one_prints_every_epoch_with_its_validation_loss(digits, capsys):
    X, y = digits
    est = small(MLPClassifier, verbose=1, early_stopping=True, max_iter=5)
    est.set_params(n_iter_no_change=np.inf).fit(X, y)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("Iteration")]
    assert len(lines) == est.n_iter_ == 5
    for i, line in enumerate(lines):
        match = _LINE.match(line)
        assert match, line
        epoch, loss, val_loss, rate = match.groups()
        assert int(epoch) == i + 1
        assert float(loss) == pytest.approx(est.history_["train_loss"][i], abs=1e-8)
        assert float(val_loss) == pytest.approx(est.history_["val_loss"][i], abs=1e-8)
        assert float(rate) == pytest.approx(0.001)
