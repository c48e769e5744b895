"""An X_val that skipped the scaling X went through is reported (the
Pipeline trap: without ``transform_input=['X_val']`` it reaches the network
unscaled); an ordinary held-out split is not."""

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.datasets import load_digits, make_regression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skmlp import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0)


def _unscaled_warnings(fit, *args, **kwargs) -> list:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(*args, **kwargs)
    return [w for w in caught if "X_val looks unlike X" in str(w.message)]


def _classifier():
    return MLPClassifier((16,), early_stopping=True, max_iter=5, random_state=0)


@pytest.mark.parametrize("scaler", [StandardScaler, MinMaxScaler])
def test_a_pipeline_that_leaves_x_val_unscaled_warns_naming_transform_input(scaler):
    X, X_val, y, y_val = _digits()
    pipe = Pipeline([("scale", scaler()), ("mlp", _classifier())])
    with sklearn.config_context(enable_metadata_routing=True):
        pipe.set_params(mlp=_classifier().set_fit_request(X_val=True, y_val=True))
        with pytest.warns(UserWarning, match=r"transform_input=\['X_val'\]"):
            pipe.fit(X, y, X_val=X_val, y_val=y_val)
        routed = Pipeline(
            [("scale", scaler()), ("mlp", pipe.named_steps["mlp"])], transform_input=["X_val"]
        )
        assert not _unscaled_warnings(routed.fit, X, y, X_val=X_val, y_val=y_val)


@pytest.mark.parametrize("seed", range(5))
def test_an_ordinary_held_out_split_gives_no_warning(seed):
    rng = np.random.RandomState(seed)
    X, y = make_regression(n_samples=300, n_features=8, random_state=seed)
    X[:, :4] = np.exp(X[:, :4]) * 100  # skewed, offset columns too
    X[:, 4] = rng.randint(0, 2, len(X))  # and a binary one
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.2, random_state=seed)
    est = MLPRegressor(hidden_layer_sizes=(4,), early_stopping=True, max_iter=3, random_state=0)
    assert not _unscaled_warnings(est.fit, X_train, y_train, X_val=X_val, y_val=y_val)
    X, X_val, y, y_val = _digits()
    scaler = StandardScaler().fit(X)
    scaled = scaler.transform(X), scaler.transform(X_val)
    assert not _unscaled_warnings(_classifier().fit, scaled[0], y, X_val=scaled[1], y_val=y_val)
