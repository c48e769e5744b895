"""Early stopping on any metric, and Ctrl-C during training.

The restored weights score the best validation score on the held-out rows,
replayed here from the estimator's random state, whatever the scoring; an
interrupted fit keeps the weights of its best epoch.
"""

import numpy as np
import pytest
from _helpers import small
from sklearn.datasets import make_regression
from sklearn.metrics import get_scorer, log_loss
from sklearn.model_selection import train_test_split

from skmlp import MLPClassifier, MLPRegressor
from skmlp.network import Network

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _replay_validation_split(X, y, hidden, loss, seed, validation_fraction=0.1, stratify=True):
    """The estimator's validation rows: weight init draws first, then the split."""
    rng = np.random.RandomState(seed)
    n_out = 1 if loss in ("squared_error", "binary_log_loss") else len(np.unique(y))
    Network([X.shape[1], *hidden, n_out], "relu", loss).init_params(rng, "sklearn", np.float64)
    _, X_val, _, y_val = train_test_split(
        X, y, random_state=rng, test_size=validation_fraction, stratify=y if stratify else None
    )
    return X_val, y_val


# --- scoring --------------------------------------------------------------------
def _neg_brier(estimator, X, y):
    proba = estimator.predict_proba(X)
    return -np.mean(np.sum((proba - (y[:, None] == estimator.classes_)) ** 2, axis=1))


def _loss_score(estimator, X, y):
    """Minus the mean log-loss, written out (the estimator's own loss)."""
    proba = estimator.predict_proba(X)
    index = np.searchsorted(estimator.classes_, y)
    return np.mean(np.log(proba[np.arange(len(y)), index]))


SCORINGS = {
    "None": (None, lambda est, X, y: est.score(X, y)),
    "loss": ("loss", _loss_score),
    "f1_macro": ("f1_macro", get_scorer("f1_macro")),
    "neg_log_loss": ("neg_log_loss", get_scorer("neg_log_loss")),
    "callable": (_neg_brier, _neg_brier),
}


@pytest.mark.parametrize("case", SCORINGS)
def test_scoring_restores_the_best_epoch(digits, case):
    X, y = digits
    scoring, oracle = SCORINGS[case]
    est = small(MLPClassifier, early_stopping=True, scoring=scoring, max_iter=200)
    est.set_params(learning_rate_init=0.01, n_iter_no_change=5).fit(X, y)
    scores = est.validation_scores_
    assert len(scores) == est.n_iter_
    assert est.best_epoch_ == int(np.argmax(scores)) + 1
    assert est.best_validation_score_ == max(scores)
    assert est.best_epoch_ < est.n_iter_  # training went on past the best epoch
    # the restored weights score the best score on the held-out rows
    X_val, y_val = _replay_validation_split(X, y, (12,), "log_loss", seed=0)
    assert oracle(est, X_val, y_val) == pytest.approx(est.best_validation_score_, rel=1e-9)
    if scoring == "loss":
        np.testing.assert_array_equal(est.history_["val_loss"], -np.array(scores))
        val_loss = log_loss(y_val, est.predict_proba(X_val), labels=est.classes_)
        assert val_loss == pytest.approx(-est.best_validation_score_, rel=1e-9)


def test_scoring_callable_is_called_once_per_epoch_on_the_validation_rows(digits):
    X, y = digits
    calls = []

    def scorer(estimator, X_val, y_val):
        calls.append((X_val.shape, y_val.copy()))
        return _neg_brier(estimator, X_val, y_val)

    est = small(MLPClassifier, early_stopping=True, scoring=scorer, max_iter=8)
    est.set_params(n_iter_no_change=np.inf).fit(X, y)
    assert len(calls) == est.n_iter_ == 8
    _, y_val = _replay_validation_split(X, y, (12,), "log_loss", seed=0)
    for shape, labels in calls:
        assert shape == (len(y_val), X.shape[1])
        np.testing.assert_array_equal(labels, y_val)


@pytest.mark.parametrize("scoring", [None, "loss", "neg_mean_absolute_error"])
def test_regressor_scoring_restores_the_best_epoch(scoring):
    X, y = make_regression(n_samples=300, n_features=8, noise=20.0, random_state=0)
    y = y / y.std()
    est = MLPRegressor(hidden_layer_sizes=(12,), early_stopping=True, scoring=scoring)
    est.set_params(max_iter=300, random_state=0)
    est.set_params(n_iter_no_change=5).fit(X, y)
    assert est.best_epoch_ == int(np.argmax(est.validation_scores_)) + 1
    X_val, y_val = _replay_validation_split(X, y, (12,), "squared_error", 0, stratify=False)
    residual = est.predict(X_val) - y_val
    expected = {
        None: 1 - np.sum(residual**2) / np.sum((y_val - y_val.mean()) ** 2),
        "loss": -0.5 * np.mean(residual**2),
        "neg_mean_absolute_error": -np.mean(np.abs(residual)),
    }[scoring]
    assert expected == pytest.approx(est.best_validation_score_, rel=1e-9)


# --- Ctrl-C --------------------------------------------------------------------
class _InterruptAtThirdEpoch:
    """A validation scorer that prefers epoch 1, then raises KeyboardInterrupt."""

    def __init__(self):
        self.probas = []

    def __call__(self, estimator, X_val, y_val):
        if len(self.probas) == 2:
            raise KeyboardInterrupt
        self.probas.append(estimator.predict_proba(X_val).copy())
        self.X_val = X_val
        return [0.9, 0.5][len(self.probas) - 1]


def test_ctrl_c_stops_cleanly_and_restores_the_best_weights(digits):
    X, y = digits
    scorer = _InterruptAtThirdEpoch()
    est = small(MLPClassifier, early_stopping=True, scoring=scorer, max_iter=50)
    with pytest.warns(UserWarning, match="interrupted"):
        est.fit(X, y)
    assert est.validation_scores_ == [0.9, 0.5]
    assert est.best_epoch_ == 1 and est.best_validation_score_ == 0.9
    proba = est.predict_proba(scorer.X_val)
    assert np.all(np.isfinite(proba))
    # the weights of epoch 1, not those of epoch 2 or of the interrupted epoch
    np.testing.assert_allclose(proba, scorer.probas[0], rtol=1e-12, atol=1e-15)
    assert not np.allclose(proba, scorer.probas[1], rtol=1e-6, atol=1e-9)
    assert np.all(np.isfinite(est.predict(X)))


def test_ctrl_c_leaves_history_and_loss_curve_consistent(digits):
    X, y = digits
    est = small(MLPClassifier, early_stopping=True, scoring=_InterruptAtThirdEpoch())
    with pytest.warns(UserWarning, match="interrupted"):
        est.fit(X, y)
    assert len(est.history_["epoch"]) == est.n_iter_ == len(est.loss_curve_)
    assert est.history_["train_loss"] == est.loss_curve_
