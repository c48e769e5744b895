"""Class weights: the same fit as the equivalent sample weights, and bad settings."""

import numpy as np
import pytest
from _helpers import params_equal, small
from sklearn.datasets import make_classification
from sklearn.metrics import recall_score
from sklearn.model_selection import train_test_split
from sklearn.utils.class_weight import compute_class_weight

from skmlp import MLPClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# --- class weights --------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_balanced_class_weight_raises_minority_recall(seed):
    X, y = make_classification(
        n_samples=3000,
        n_features=10,
        n_informative=4,
        weights=[0.9, 0.1],
        flip_y=0.05,
        class_sep=0.8,
        random_state=seed,
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, train_size=500, stratify=y, random_state=seed
    )
    recall = {}
    for class_weight in (None, "balanced"):
        clf = MLPClassifier((16,), class_weight=class_weight, max_iter=200, random_state=seed)
        recall[class_weight] = recall_score(y_test, clf.fit(X_train, y_train).predict(X_test))
    print(f"seed {seed}: minority recall {recall}")
    assert recall["balanced"] > recall[None]


def test_dict_class_weight_equals_sample_weight_by_hand(digits):
    X, y = digits
    class_weight = {0: 3.0, 5: 0.5}  # the other classes weigh 1
    by_class = small(MLPClassifier, class_weight=class_weight).fit(X, y)
    by_hand = small(MLPClassifier).fit(X, y, sample_weight=[class_weight.get(c, 1.0) for c in y])
    assert params_equal(by_class, by_hand)
    assert not params_equal(by_class, small(MLPClassifier).fit(X, y))


def test_class_weight_multiplies_sample_weight(digits):
    X, y = digits
    class_weight = {1: 2.5, 7: 0.25}
    sample_weight = np.random.RandomState(0).uniform(0.2, 3.0, len(y))
    both = small(MLPClassifier, class_weight=class_weight).fit(X, y, sample_weight=sample_weight)
    product = sample_weight * np.array([class_weight.get(c, 1.0) for c in y])
    by_hand = small(MLPClassifier).fit(X, y, sample_weight=product)
    assert params_equal(both, by_hand)


def test_balanced_class_weight_is_scikit_learns(digits):
    X, y = digits
    X, y = X[y != 3][:-60], y[y != 3][:-60]  # drop a class and unbalance the rest
    per_class = compute_class_weight("balanced", classes=np.unique(y), y=y)
    index = np.searchsorted(np.unique(y), y)
    balanced = small(MLPClassifier, class_weight="balanced").fit(X, y)
    by_hand = small(MLPClassifier).fit(X, y, sample_weight=per_class[index])
    for a, b in zip(balanced.coefs_, by_hand.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_class_weight_with_binary_string_labels(digits):
    X, y = digits
    labels = np.where(y == 0, "zero", "other")
    weighted = small(MLPClassifier, class_weight={"zero": 4.0}).fit(X, labels)
    by_hand = small(MLPClassifier).fit(X, labels, sample_weight=np.where(y == 0, 4.0, 1.0))
    assert params_equal(weighted, by_hand)


# --- bad input ----------------------------------------------------------------
def test_class_weight_key_that_is_not_a_class_raises(digits):
    X, y = digits
    with pytest.raises(ValueError, match=r"class_weight.*42"):
        MLPClassifier(class_weight={0: 2.0, 42: 3.0}, max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match=r"class_weight.*'cat'"):
        MLPClassifier(class_weight={"cat": 2.0}, max_iter=2).fit(X, np.where(y > 4, "a", "b"))


def test_class_weight_refuses_multilabel_targets(digits):
    X, y = digits
    Y = np.column_stack([y > 4, y % 2 == 0]).astype(int)
    with pytest.raises(ValueError, match="multilabel"):
        MLPClassifier(class_weight="balanced", max_iter=2).fit(X, Y)
