"""``history_``: one entry per epoch, across warm starts; the verbose output."""

import re

import numpy as np
import pytest
from _helpers import small

from skmlp import MLPClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

HISTORY_KEYS = ("epoch", "train_loss", "val_loss", "val_score", "learning_rate", "time", "clipped")


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


# --- verbose output -------------------------------------------------------------
_LINE = re.compile(r"^Iteration (\d+), loss = (\d+\.\d{8})$")


@pytest.mark.parametrize("verbose", [1, 2, 10, True])
def test_any_truthy_verbose_prints_scikit_learns_lines(digits, capsys, verbose):
    # scikit-learn's test_verbose_sgd uses verbose=10 and looks for "Iteration"
    X, y = digits
    est = small(MLPClassifier, verbose=verbose, early_stopping=True, max_iter=5)
    est.set_params(n_iter_no_change=np.inf).fit(X, y)
    out = capsys.readouterr().out.splitlines()
    lines = [ln for ln in out if ln.startswith("Iteration")]
    scores = [ln for ln in out if ln.startswith("Validation score: ")]
    assert len(lines) == len(scores) == est.n_iter_ == 5
    for i, line in enumerate(lines):
        match = _LINE.match(line)
        assert match, line
        assert int(match.group(1)) == i + 1
        assert float(match.group(2)) == pytest.approx(est.history_["train_loss"][i], abs=1e-8)
    for score, expected in zip(scores, est.validation_scores_):
        assert float(score.split(": ")[1]) == pytest.approx(expected, abs=1e-6)


def test_verbose_says_why_training_stopped(digits, capsys):
    X, y = digits
    small(MLPClassifier, verbose=1, n_iter_no_change=1, tol=10.0, max_iter=50).fit(X, y)
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == (
        "Training loss did not improve more than tol=10.000000 for 1 consecutive epochs. Stopping."
    )
