"""Property test: random valid configurations on random small problems.

Hypothesis draws every hyperparameter of the estimators from its documented
valid range (``_parameter_constraints`` and the class docstrings), the extra
ones skmlp adds beyond scikit-learn included, together with a small random
problem (dense, CSR or float32 input; binary, multiclass, string-labelled,
multilabel, single- and multi-output regression, Poisson; with or without
sample weights). Each example fits, then optionally warm-starts a second fit
(possibly with changed settings) or continues with ``partial_fit``. Values at
the edges of the documented ranges (the smallest positive float, numbers just
below 1, huge ones) are drawn now and then, and so are a few documented errors
(a warm start with another network, ``class_weight`` with multilabel targets,
``validation_fraction=0``): those must be ``ValueError``s too.

The contract checked for every call:

- it either succeeds, and the model then predicts finite values on its
  training data, or it raises ``ValueError`` (scikit-learn's
  ``InvalidParameterError`` is one); any other exception type fails the test;
- a failed call leaves the fitted model exactly as it was (a fit is a
  transaction, docs/deviations.md #16);
- a stochastic fit's records agree: every ``history_`` column and, with
  ``early_stopping``, ``validation_scores_`` are as long as ``loss_curve_``,
  and ``n_iter_ <= max_iter``;
- ConvergenceWarning, DivergenceWarning and UserWarning are allowed, but a
  numpy ``RuntimeWarning`` is an error.

Hypothesis runs derandomized (a fixed sequence of examples, no example
database) so CI is reproducible; ``SKMLP_HYPOTHESIS_EXAMPLES`` sets the number
of examples. The messages of the accepted ``ValueError``s are recorded as
hypothesis events: ``pytest --hypothesis-show-statistics`` lists them.
"""

from __future__ import annotations

import copy
import math
import os
import re
import traceback
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from skmlp import DivergenceWarning, MLPClassifier, MLPRegressor
from skmlp.activations import ACTIVATIONS
from skmlp.initializers import INITIALIZERS
from skmlp.optimizers import OPTIMIZERS
from skmlp.schedules import SCHEDULES

N_EXAMPLES = int(os.environ.get("SKMLP_HYPOTHESIS_EXAMPLES", 300))

SOLVERS = [*sorted(OPTIMIZERS), "lbfgs"]
STOCHASTIC = sorted(OPTIMIZERS)
CLASSIFICATION = ("binary", "multiclass", "string_binary", "string_multiclass", "multilabel")
REGRESSION = ("regression", "multioutput", "poisson")
TASKS = CLASSIFICATION + REGRESSION
LAYOUTS = ("dense", "csr", "float32", "csr_float32")

# scorer names valid for each kind of target (get_scorer_names())
SCORERS = {
    "binary": ["accuracy", "balanced_accuracy", "f1", "neg_log_loss", "roc_auc", "precision"],
    # f1 and precision need pos_label=1, which string labels do not have
    "string_binary": ["accuracy", "balanced_accuracy", "neg_log_loss", "roc_auc", "f1_macro"],
    "multiclass": ["accuracy", "balanced_accuracy", "f1_macro", "neg_log_loss", "roc_auc_ovr"],
    "multilabel": ["accuracy", "f1_micro", "f1_samples", "jaccard_samples", "precision_macro"],
    "regression": [
        "r2",
        "neg_mean_squared_error",
        "neg_mean_absolute_error",
        "explained_variance",
        "neg_root_mean_squared_error",
    ],
    "poisson": ["r2", "neg_mean_squared_error", "neg_mean_poisson_deviance"],
}


def score_callable(estimator, X, y):
    """A ``scoring`` callable with scikit-learn's scorer signature."""
    return float(estimator.score(X, y))


# values at the edges of the documented ranges, drawn now and then
TINY = 5e-324  # the smallest positive float
BELOW_ONE = float(np.nextafter(1.0, 0.0))
HUGE = 1e300


@dataclass(frozen=True)
class Problem:
    """A small random problem, made by :func:`make_data` from ``seed``."""

    task: str
    n_samples: int
    n_features: int
    n_outputs: int  # classes, labels or targets
    layout: str
    x_scale: float
    y_scale: float
    weights: str  # 'none', 'positive', 'with_zeros', 'integer'
    weight_scale: float
    seed: int

    @property
    def classifier(self) -> bool:
        return self.task in CLASSIFICATION


@dataclass(frozen=True)
class Call:
    """One call on the estimator: ``fit`` or ``partial_fit``, after
    ``set_params(**changes)``, on all rows or the first ``rows`` of them."""

    method: str
    changes: dict = field(default_factory=dict)
    rows: int | None = None


def make_data(p: Problem):
    """``X, y, sample_weight`` of the problem ``p``, from its seed."""
    rng = np.random.RandomState(p.seed)
    n, d, k = p.n_samples, p.n_features, p.n_outputs
    X = rng.standard_normal((n, d))
    if p.layout.startswith("csr"):
        X[rng.rand(n, d) < 0.5] = 0.0
    W = rng.standard_normal((d, k))
    signal = X @ W + 0.3 * rng.standard_normal((n, k))
    if p.task in ("binary", "multiclass", "string_binary", "string_multiclass"):
        labels = signal.argmax(axis=1) if k > 1 else (signal[:, 0] > 0).astype(int)
        n_classes = max(k, 2)
        labels[:n_classes] = np.arange(n_classes)  # every class appears
        if p.task.startswith("string"):
            y = np.array(["ant", "bee", "cat", "dog", "eel"])[labels]
        elif p.task == "binary":
            y = np.array([-1, 1])[labels]
        else:
            y = np.array([0, 3, 7, 8, 12])[labels]
    elif p.task == "multilabel":
        y = (signal > 0).astype(int)
    elif p.task == "poisson":
        rate = np.exp(np.clip(0.5 * signal, -3, 3)) * p.y_scale
        y = rng.poisson(rate).astype(float)
        y = y.ravel() if k == 1 else y
    else:
        y = signal * p.y_scale
        y = y.ravel() if k == 1 else y
    X = X * p.x_scale
    if p.layout.endswith("float32"):
        X = X.astype(np.float32)
    if p.layout.startswith("csr"):
        X = sp.csr_matrix(X)
    if p.weights == "none":
        sw = None
    elif p.weights == "integer":
        sw = rng.randint(0, 4, n).astype(float)
    else:
        sw = rng.uniform(0.1, 3.0, n)
        if p.weights == "with_zeros":
            sw[rng.rand(n) < 0.4] = 0.0
    if sw is not None:
        if not sw.any():
            sw[0] = 1.0  # non-negative, not all zero
        sw *= p.weight_scale
    return X, y, sw


# --- strategies -----------------------------------------------------------


def log_uniform(lo: float, hi: float):
    return st.floats(math.log10(lo), math.log10(hi)).map(lambda e: float(10.0**e))


@st.composite
def sometimes_edge(draw, usual, *edges):
    """``usual``, or (about one time in eight) one of the ``edges``."""
    if edges and draw(st.integers(0, 7)) == 7:  # shrinks towards `usual`
        return draw(st.sampled_from(edges))
    return draw(usual)


@st.composite
def problems(draw) -> Problem:
    task = draw(st.sampled_from(TASKS))
    if task in ("binary", "string_binary"):
        n_outputs = 1
    elif task in ("multiclass", "string_multiclass"):
        n_outputs = draw(st.integers(3, 5))
    elif task == "multilabel":
        n_outputs = draw(st.integers(2, 4))
    elif task == "multioutput":
        n_outputs = draw(st.integers(2, 3))
    elif task == "poisson":
        n_outputs = draw(st.integers(1, 2))
    else:
        n_outputs = 1
    return Problem(
        task=task,
        n_samples=draw(st.integers(6, 40)),
        n_features=draw(st.integers(1, 5)),
        n_outputs=n_outputs,
        layout=draw(st.sampled_from(LAYOUTS)),
        x_scale=draw(st.sampled_from([1.0, 1.0, 1.0, 0.01, 30.0, 1e3])),
        y_scale=draw(st.sampled_from([1.0, 1.0, 1.0, 0.01, 100.0])),
        weights=draw(st.sampled_from(["none", "none", "positive", "with_zeros", "integer"])),
        weight_scale=draw(st.sampled_from([1.0, 1.0, 1.0, 1e-6, 1e6])),
        seed=draw(st.integers(0, 2**31 - 1)),
    )


def hidden_layer_sizes():
    sizes = st.lists(st.integers(1, 8), min_size=1, max_size=2)
    return st.one_of(st.integers(1, 8), sizes.map(tuple), sizes)


def n_hidden(sizes) -> int:
    return 1 if isinstance(sizes, int) else len(sizes)


def dropouts(n_layers: int):
    rate = sometimes_edge(st.floats(0.0, 0.6), 0.0, 0.9, BELOW_ONE)
    per_layer = st.lists(rate, min_size=n_layers, max_size=n_layers)
    return st.one_of(st.just(0.0), rate, per_layer.map(tuple), per_layer)


def class_weights(p: Problem, y):
    if not p.classifier:
        return st.none()
    if p.task == "multilabel":  # not supported, a documented ValueError: drawn now and then
        return sometimes_edge(st.none(), "balanced", {0: 1.0})
    classes = np.unique(y).tolist()
    weight = sometimes_edge(st.floats(0.0, 5.0), 0.0, TINY, 1e6)

    @st.composite
    def as_dict(draw):
        keys = draw(st.lists(st.sampled_from(classes), min_size=1, unique=True))
        weights = {key: draw(weight) for key in keys}
        if not any(weights.values()):
            weights[keys[0]] = 1.0  # at least one positive weight
        return weights

    return st.one_of(st.none(), st.just("balanced"), as_dict())


def scorings(p: Problem):
    if p.task in ("binary", "string_binary"):
        names = SCORERS[p.task]
    elif p.task in ("multiclass", "string_multiclass"):
        names = SCORERS["multiclass"]
    elif p.task == "multilabel":
        names = SCORERS["multilabel"]
    elif p.task == "poisson":
        names = SCORERS["poisson"]
        if p.n_outputs > 1:  # mean_poisson_deviance is single-output only
            names = [n for n in names if n != "neg_mean_poisson_deviance"]
    else:
        names = SCORERS["regression"]
    return st.one_of(st.none(), st.just("loss"), st.sampled_from(names), st.just(score_callable))


@st.composite
def learning_rates(draw, max_iter: int):
    """``learning_rate`` with every setting of the schedules."""
    lr_init = draw(
        st.one_of(
            st.just("auto"),
            sometimes_edge(log_uniform(1e-4, 1.0), TINY, 1e-12, 10.0, 1e3),
        )
    )
    numeric = lr_init if lr_init != "auto" else 1e-3
    lr_max = draw(
        st.one_of(
            st.none(),
            sometimes_edge(st.floats(1.0, 100.0), 1.0, HUGE / max(numeric, 1.0)).map(
                lambda f: numeric * f
            ),
        )
    )
    lr_min = draw(
        st.one_of(st.just(0.0), sometimes_edge(st.floats(0.0, 1.0), 1.0).map(lambda f: numeric * f))
    )
    warmup = draw(
        st.one_of(
            st.just(0),
            sometimes_edge(st.floats(0.0, max_iter, exclude_max=True), TINY, 1, 0.5),
        )
    )
    return dict(
        learning_rate=draw(st.sampled_from(sorted(SCHEDULES))),
        learning_rate_init=lr_init,
        learning_rate_max=lr_max,
        learning_rate_min=lr_min,
        decay_rate=draw(sometimes_edge(st.floats(0.0, 1.0, exclude_min=True), TINY, 1.0)),
        decay_epochs=draw(sometimes_edge(st.floats(0.1, 20.0), TINY, 1e-6, HUGE)),
        restart_epochs=draw(sometimes_edge(st.floats(0.1, 20.0), TINY, 1e-6, HUGE)),
        restart_mult=draw(sometimes_edge(st.floats(1.0, 5.0), 1.0, HUGE)),
        half_cycle_epochs=draw(sometimes_edge(st.floats(0.1, 10.0), TINY, 1e-6, HUGE)),
        cyclic_mode=draw(st.sampled_from(["triangular", "triangular2", "exp_range"])),
        peak_fraction=draw(
            sometimes_edge(st.floats(0.0, 1.0, exclude_min=True, exclude_max=True), TINY, BELOW_ONE)
        ),
        warmup_epochs=warmup,
        power_t=draw(sometimes_edge(st.floats(0.0, 2.0), 0.0, 50.0)),
    )


@st.composite
def parameters(draw, p: Problem, y, partial_first: bool) -> dict:
    sizes = draw(hidden_layer_sizes())
    max_iter = draw(st.integers(1, 15))
    solver = draw(st.sampled_from(STOCHASTIC if partial_first else SOLVERS))
    params = dict(
        hidden_layer_sizes=sizes,
        activation=draw(st.sampled_from(sorted(ACTIVATIONS))),
        solver=solver,
        alpha=draw(st.one_of(st.just(0.0), sometimes_edge(log_uniform(1e-6, 10.0), 1e6))),
        batch_size=draw(st.one_of(st.just("auto"), st.integers(1, p.n_samples + 3))),
        max_iter=max_iter,
        shuffle=draw(st.booleans()),
        random_state=draw(st.integers(0, 2**32 - 1)),
        tol=draw(st.one_of(st.just(0.0), log_uniform(1e-8, 1.0))),
        warm_start=draw(st.booleans()),
        momentum=draw(sometimes_edge(st.floats(0.0, 1.0), 0.0, 1.0)),
        nesterovs_momentum=draw(st.booleans()),
        early_stopping=False if partial_first else draw(st.booleans()),
        validation_fraction=draw(sometimes_edge(st.floats(0.1, 0.5), 0.0, TINY, 0.9, BELOW_ONE)),
        beta_1=draw(sometimes_edge(st.floats(0.0, 0.99), 0.0, 0.999999, BELOW_ONE)),
        beta_2=draw(sometimes_edge(st.floats(0.0, 0.9999), 0.0, 0.999999, BELOW_ONE)),
        epsilon=draw(sometimes_edge(log_uniform(1e-10, 1e-2), TINY, 1.0, HUGE)),
        n_iter_no_change=draw(st.one_of(st.integers(1, 20), st.just(np.inf))),
        max_fun=draw(st.integers(1, 60)),
        weight_init=draw(st.sampled_from(sorted(INITIALIZERS))),
        dtype=draw(st.sampled_from(["auto", "float32", "float64"])),
        weight_decay=draw(st.one_of(st.just(0.0), sometimes_edge(log_uniform(1e-5, 1.0), 100.0))),
        rho=draw(sometimes_edge(st.floats(0.0, 0.999), 0.0, BELOW_ONE)),
        l1_ratio=draw(st.floats(0.0, 1.0)),
        dropout=draw(dropouts(n_hidden(sizes))),
        scoring=draw(scorings(p)),
        **draw(learning_rates(max_iter)),
    )
    if p.classifier:
        params["class_weight"] = draw(class_weights(p, y))
    else:
        params["loss"] = "poisson" if p.task == "poisson" else "squared_error"
    return params


@st.composite
def followups(draw, p: Problem, params: dict) -> Call | None:
    """A second call: a warm-started fit (perhaps with changed settings) or
    a ``partial_fit`` (perhaps on fewer rows), or none."""
    kind = draw(st.sampled_from(["none", "warm_fit", "partial_fit"]))
    if kind == "none":
        return None
    changes = {}
    options = {
        "solver": st.sampled_from(SOLVERS),
        "activation": st.sampled_from(sorted(ACTIVATIONS)),
        "dtype": st.sampled_from(["auto", "float32", "float64"]),
        "max_iter": st.integers(1, 15),
        "learning_rate": st.sampled_from(sorted(SCHEDULES)),
        "learning_rate_init": log_uniform(1e-4, 1.0),
        "batch_size": st.one_of(st.just("auto"), st.integers(1, p.n_samples)),
        "early_stopping": st.booleans(),
    }
    if not p.classifier:
        options["loss"] = st.sampled_from(["squared_error", "poisson"])
    for name in draw(st.lists(st.sampled_from(sorted(options)), max_size=3, unique=True)):
        changes[name] = draw(options[name])
    if draw(st.integers(0, 19)) == 19:  # a different network: a documented error
        changes["hidden_layer_sizes"] = (3, 3) if n_hidden(params["hidden_layer_sizes"]) == 1 else 3
        changes["dropout"] = 0.0
    if kind == "warm_fit":
        changes["warm_start"] = True
        return Call("fit", changes)
    if changes.get("solver", params["solver"]) == "lbfgs":
        changes["solver"] = draw(st.sampled_from(STOCHASTIC))
    changes["early_stopping"] = False  # partial_fit does not support it
    rows = draw(st.one_of(st.none(), st.integers(1, p.n_samples)))
    return Call("partial_fit", changes, rows)


@st.composite
def cases(draw):
    p = draw(problems())
    _, y, _ = make_data(p)
    partial_first = draw(st.integers(0, 9)) == 9
    params = draw(parameters(p, y, partial_first))
    first = Call("partial_fit" if partial_first else "fit")
    second = draw(followups(p, params))
    return p, params, first, second, draw(st.booleans())


# --- checks ---------------------------------------------------------------


def _record(exc: ValueError) -> None:
    """An accepted ``ValueError``: its message, for the statistics."""
    message = re.sub(r"[-+]?\d[\d.e+-]*", "N", str(exc).splitlines()[0] if str(exc) else "")
    event(f"{type(exc).__name__}: {message[:100]}")
    note("".join(traceback.format_exception(exc)[-3:]))


def _call(est, call: Call, X, y, sw, p: Problem) -> bool:
    """Make ``call``; whether it succeeded (a ValueError is recorded)."""
    if call.rows is not None:
        X, y = X[: call.rows], y[: call.rows]
        sw = None if sw is None else sw[: call.rows]
    est.set_params(**call.changes)
    kwargs = {}
    if call.method == "partial_fit" and p.classifier and not hasattr(est, "classes_"):
        kwargs["classes"] = np.unique(y) if p.task != "multilabel" else np.arange(p.n_outputs)
    try:
        getattr(est, call.method)(X, y, sample_weight=sw, **kwargs)
    except ValueError as exc:
        _record(exc)
        return False
    event(f"{call.method} succeeded")
    return True


def _snapshot(est) -> dict:
    """A deep copy of the fitted attributes (and of the training state)."""
    return copy.deepcopy(
        {name: value for name, value in vars(est).items() if name.endswith("_") or name[0] == "_"}
    )


def _same(a, b) -> bool:
    """Equality of nested attributes, NaN equal to NaN."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        )
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return type(a) is type(b) and a == b


def check_fitted(est, X, p: Problem, call: Call) -> None:
    """The fitted model predicts finite values, its records agree."""
    n = X.shape[0]
    if est.solver == "lbfgs":
        assert not hasattr(est, "loss_curve_")
    else:
        lengths = {key: len(column) for key, column in est.history_.items()}
        assert set(lengths.values()) <= {len(est.loss_curve_)}, (len(est.loss_curve_), lengths)
        assert est.history_["epoch"] == list(range(1, len(est.loss_curve_) + 1))
        if est.early_stopping:
            assert len(est.validation_scores_) == len(est.loss_curve_)
        else:
            assert est.validation_scores_ is None
    assert 0 <= est.n_iter_ <= (1 if call.method == "partial_fit" else est.max_iter)

    if p.classifier:
        proba = est.predict_proba(X)
        n_classes = len(est.classes_)
        assert proba.shape == (n, n_classes)
        assert proba.dtype == X.dtype
        assert np.isfinite(proba).all(), proba
        assert ((proba >= 0) & (proba <= 1)).all(), proba
        if p.task != "multilabel":
            np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-4)
        pred = est.predict(X)
        if p.task == "multilabel":
            assert pred.shape == (n, n_classes)
            assert set(np.unique(pred)) <= {0, 1}
        else:
            assert pred.shape == (n,)
            assert set(pred.tolist()) <= set(est.classes_.tolist())
    else:
        pred = est.predict(X)
        assert pred.shape == ((n,) if p.n_outputs == 1 else (n, p.n_outputs))
        assert pred.dtype == X.dtype
        assert np.isfinite(pred).all(), pred
        if est.out_activation_ == "exp":
            assert (pred >= 0).all()


@settings(
    max_examples=N_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(case=cases())
def test_random_valid_configuration(case):
    p, params, first, second, random_state_instance = case
    X, y, sw = make_data(p)
    params = dict(params)
    if random_state_instance:
        params["random_state"] = np.random.RandomState(params["random_state"])
    est = (MLPClassifier if p.classifier else MLPRegressor)(**params)
    with warnings.catch_warnings():
        # documented warnings (DivergenceWarning is a ConvergenceWarning);
        # numpy's RuntimeWarning is not one of them
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DivergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("error", RuntimeWarning)

        fitted = _call(est, first, X, y, sw, p)
        if fitted:
            check_fitted(est, X, p, first)
        if second is None:
            return
        before = _snapshot(est) if fitted else None
        if _call(est, second, X, y, sw, p):
            check_fitted(est, X, p, second)
        elif fitted:
            # the failed call left the fitted model as it was
            after = _snapshot(est)
            assert after.keys() == before.keys()
            for name, value in before.items():
                assert _same(value, after[name]), name
            est.set_params(**{k: params[k] for k in second.changes})
            check_fitted(est, X, p, first)
