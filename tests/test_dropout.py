"""Dropout: the masks, prediction without them, less over-fitting, reproducibility.

Also scikit-learn's estimator checks with dropout and elastic net, where the
sample-weight equivalence checks are expected to fail with dropout only.
"""

import math

import numpy as np
import pytest
from _helpers import params_equal, small
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_sample_weight_equivalence_on_dense_data,
    parametrize_with_checks,
)

from skmlp import MLPClassifier, MLPRegressor, compiled
from skmlp._math import draw_dropout_mask, dropout_scale
from skmlp.network import Network

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# --- network: dropout masks ----------------------------------------------------
def test_dropout_masks_drop_the_given_fraction_and_rescale_the_rest():
    rates = (0.3, 0.0, 0.6)
    net = Network((3, 400, 50, 300, 2), "relu", "squared_error", dropout=rates)
    params = net.init_params(np.random.RandomState(0), "sklearn", np.float64)
    ws = net.workspace(250, params)
    assert ws.masks[1] is None  # a rate of 0 has no mask at all
    m = 200
    net.draw_dropout_masks(ws, m, np.random.default_rng(0))
    for mask, rate in zip(ws.masks, rates):
        if mask is None:
            continue
        drawn = mask[:m]
        # two values: 0 and the kept units' scale, 1 / (1 - rate) for the
        # rate applied, which is the given one to 1/65536
        dropped_value, kept_value = np.unique(drawn)
        assert dropped_value == 0.0
        assert kept_value == pytest.approx(1.0 / (1.0 - rate), rel=1e-4)
        dropped = np.mean(drawn == 0.0)
        sigma = math.sqrt(rate * (1 - rate) / drawn.size)
        assert abs(dropped - rate) < 5 * sigma
        assert abs(drawn.mean() - 1.0) < 5 * sigma / (1 - rate)  # inverted dropout
        np.testing.assert_array_equal(mask[m:], 1.0)  # rows past the batch untouched


def test_prediction_never_drops_units():
    X = np.random.RandomState(1).normal(size=(20, 3))
    dropping = Network((3, 30, 30, 2), "tanh", "squared_error", dropout=0.5)
    plain = Network((3, 30, 30, 2), "tanh", "squared_error")
    params = plain.init_params(np.random.RandomState(0), "sklearn", np.float64)
    ws = dropping.workspace(20, params.copy())
    dropping.draw_dropout_masks(ws, 20, np.random.default_rng(0))
    expected = plain.predict(params, X)
    np.testing.assert_array_equal(dropping.forward(ws, X).copy(), expected)
    np.testing.assert_array_equal(dropping.predict(params, X), expected)
    assert not np.allclose(dropping.forward(ws, X, training=True), expected)


def test_network_rejects_a_dropout_tuple_of_the_wrong_length():
    with pytest.raises(ValueError, match="dropout"):
        Network((3, 4, 5, 2), "relu", "squared_error", dropout=(0.1,))


# --- dropout and early stopping against over-fitting ---------------------------
OVERFIT_SEEDS = (0, 1, 2)


def test_dropout_and_early_stopping_each_reduce_overfitting():
    """A 512-unit network on 150 noisy rows of 100 features memorizes them.

    The held-out score is the log-loss on 2000 unseen rows, what
    ``scoring='loss'`` monitors. (Accuracy is printed too: early stopping
    trains on 10% fewer rows and stops within a few dozen epochs, which can
    cost accuracy while it sharply improves the probabilities.)
    """
    results = []
    for seed in OVERFIT_SEEDS:
        X, y = make_classification(
            n_samples=2150,
            n_features=100,
            n_informative=5,
            n_redundant=0,
            flip_y=0.1,
            random_state=seed,
        )
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, train_size=150, stratify=y, random_state=seed
        )
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        base = MLPClassifier((512,), batch_size=32, max_iter=200, random_state=seed)
        models = {
            "neither": clone(base).set_params(n_iter_no_change=np.inf),
            "dropout": clone(base).set_params(n_iter_no_change=np.inf, dropout=0.5),
            "early_stopping": clone(base).set_params(early_stopping=True, scoring="loss"),
        }
        scores = {}
        for name, model in models.items():
            model.fit(X_train, y_train)
            scores[name] = (
                log_loss(y_test, model.predict_proba(X_test)),
                model.score(X_test, y_test),
                model.n_iter_,
            )
        for name, (loss, acc, n_iter) in scores.items():
            print(
                f"seed {seed} {name:15s} log-loss {loss:.4f}  accuracy {acc:.4f}  epochs {n_iter}"
            )
        assert scores["neither"][2] == 200
        assert scores["early_stopping"][2] < 200
        results.append({name: s[0] for name, s in scores.items()})
    neither = np.mean([r["neither"] for r in results])
    for name in ("dropout", "early_stopping"):
        mean = np.mean([r[name] for r in results])
        print(f"mean held-out log-loss: {name} {mean:.4f}, neither {neither:.4f}")
        # an improvement on every seed, not only on average
        assert all(r[name] < r["neither"] for r in results), name


# --- reproducibility with dropout ----------------------------------------------
def test_dropout_fit_is_reproducible(digits):
    X, y = digits
    kw = dict(dropout=(0.3,), l1_ratio=0.5, alpha=0.01, max_iter=15)
    first = small(MLPClassifier, **kw).fit(X, y)
    second = small(MLPClassifier, **kw).fit(X, y)
    assert params_equal(first, second)
    assert first.loss_curve_ == second.loss_curve_
    other_seed = small(MLPClassifier, random_state=1, **kw).fit(X, y)
    assert not np.array_equal(first.coefs_[0], other_seed.coefs_[0])


def test_dropout_changes_the_fit_and_zero_dropout_changes_nothing(digits):
    X, y = digits
    plain = small(MLPClassifier, max_iter=10).fit(X, y)
    assert params_equal(plain, small(MLPClassifier, max_iter=10, dropout=(0.0,)).fit(X, y))
    assert not params_equal(plain, small(MLPClassifier, max_iter=10, dropout=0.5).fit(X, y))


# --- scikit-learn's estimator checks ----------------------------------------
def _expected_failures(estimator):
    if not estimator.dropout:
        return {}
    reason = (
        "dropout draws one mask per row, so a row of weight k gets one mask where k "
        "repeated rows get k independent ones: equal only in expectation"
    )
    return {
        "check_sample_weight_equivalence_on_dense_data": reason,
        "check_sample_weight_equivalence_on_sparse_data": reason,
    }


@pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)
@parametrize_with_checks(
    [
        MLPClassifier(dropout=0.2, l1_ratio=0.5, max_iter=100, random_state=0),
        MLPRegressor(dropout=0.2, l1_ratio=0.5, max_iter=100, random_state=0),
    ],
    expected_failed_checks=_expected_failures,
    xfail_strict=True,
)
def test_sklearn_compatible_with_dropout_and_elastic_net(estimator, check):
    check(estimator)


@pytest.mark.parametrize("est_cls", [MLPClassifier, MLPRegressor])
def test_elastic_net_keeps_sample_weight_equivalence(est_cls):
    # without dropout the one expected failure above must pass: the penalty is
    # divided by the weight sum, which equals the number of repeated rows
    est = est_cls(l1_ratio=0.5, alpha=0.1, max_iter=100, random_state=0)
    check_sample_weight_equivalence_on_dense_data(est_cls.__name__, est)


def test_dropout_masks_are_unbiased_and_the_same_in_either_dtype():
    """The scale is one over the kept fraction actually applied, so a mask's
    expectation is 1 exactly, not to the rate's rounding; and a seed draws
    the same units in float32 and float64."""
    masks = {}
    for dtype in (np.float32, np.float64):
        masks[dtype] = np.empty((500, 333), dtype=dtype)  # not a multiple of 4 values
        draw_dropout_mask(masks[dtype], 0.15, np.random.default_rng(3))
    np.testing.assert_array_equal(masks[np.float32] == 0, masks[np.float64] == 0)
    threshold, scale = dropout_scale(0.15)
    assert abs(threshold / 65536 - 0.15) <= 0.5 / 65536
    assert scale * (65536 - threshold) == 65536  # (1 - applied rate) * scale == 1
    assert set(np.unique(masks[np.float64])) == {0.0, scale}
    # the extremes: a tiny rate drops nothing, one just below 1 keeps some units
    assert dropout_scale(1e-9) == (0, 1.0)
    assert dropout_scale(1.0 - 1e-9)[0] == 65535


@pytest.mark.skipif(compiled._kernels is None, reason="compiled kernels not built")
@pytest.mark.parametrize("rate", [0.0, 0.15, 0.5, 0.99])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_compiled_mask_kernel_gives_numpys_masks_exactly(dtype, rate):
    # the same draws turned into the same 0s and scales, in one pass
    shape = (37, 13)  # not a multiple of 4 values
    reference, fast = np.empty(shape, dtype), np.empty(shape, dtype)
    draw_dropout_mask(reference, rate, np.random.default_rng(3))
    draw_dropout_mask(fast, rate, np.random.default_rng(3), compiled._kernels)
    np.testing.assert_array_equal(fast, reference)
    with pytest.raises(ValueError, match="draws"):
        compiled._kernels.dropout_mask(np.zeros(3, np.uint16), 1, 2.0, np.zeros(4, dtype))
