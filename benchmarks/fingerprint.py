"""A numerical fingerprint of a few hundred configurations, to keep results equal.

Every engine change must leave ``loss_curve_`` and the weights of every
existing configuration equal to before within 1e-12 (float64). This script
fits a few hundred small configurations spanning the feature set (both
estimators, every target type, loss, solver, activation, schedule and
initializer; early stopping with a split, with ``X_val``/``y_val`` and with
``scoring``; dropout, L1/L2, weight decay, clipping, label smoothing, class
and sample weights; warm starts, ``partial_fit`` sequences, sparse input;
float32 and float64; the numpy and the compiled engine) and records, per
configuration, the loss curve (``loss_`` for L-BFGS), ``n_iter_``, the
validation scores, the per-epoch history but its timings, the flattened
weights and the warning categories the fit raised (or the error it raised).

Usage (from a checkout with its kernels built in place, ``python setup.py
build_ext --inplace``; the script imports that checkout's ``skmlp``)::

    python benchmarks/fingerprint.py --save benchmarks/fingerprint_baseline.json.gz
    python benchmarks/fingerprint.py --compare benchmarks/fingerprint_baseline.json.gz

``--compare`` refits everything and lists every configuration whose numbers
differ from the baseline by more than the tolerance, whose ``n_iter_``,
warnings or error differ, or that is new or missing; it exits with 1 on any
difference. Numbers ``a`` (now) and ``b`` (baseline) agree when
``|a - b| <= tol * max(1, |b|)``: ``tol`` is 1e-12 for float64
configurations and 1e-5 for float32 ones (float32 rounding is ~6e-8 per
operation, so an engine may legitimately reorder a sum there; tighten with
``--tol32``). ``--filter`` restricts either mode to keys containing a string.
The whole run takes about a minute on one core.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.datasets import load_diabetes, make_classification, make_multilabel_classification

# the skmlp of this checkout, not one installed in the environment: python
# puts benchmarks/ first on the path, so a plain import would find the latter
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import skmlp
from skmlp import MLPClassifier, MLPRegressor, compiled

# every fit is short: a few epochs of a few batches
BASE = {
    "hidden_layer_sizes": (8,),
    "max_iter": 6,
    "batch_size": 32,
    "random_state": 0,
    "learning_rate_init": 0.01,
}
# schedule parameters scaled to six epochs, so every schedule moves
SCHEDULE_PARAMS = {
    "step": {"decay_epochs": 2},
    "exponential": {"decay_epochs": 2},
    "cosine_restarts": {"restart_epochs": 2},
    "cyclic": {"half_cycle_epochs": 2},
    "one_cycle": {"peak_fraction": 0.3},
    "plateau": {"n_iter_no_change": 2, "tol": 0.5},
    "adaptive": {"n_iter_no_change": 2, "tol": 0.5},
}
SOLVERS = {
    "sgd": {"solver": "sgd", "momentum": 0.0},
    "sgd_momentum": {"solver": "sgd", "momentum": 0.9, "nesterovs_momentum": False},
    "sgd_nesterov": {"solver": "sgd", "momentum": 0.9, "nesterovs_momentum": True},
    "adam": {"solver": "adam"},
    "adamw": {"solver": "adamw", "weight_decay": 0.01},
    "rmsprop": {"solver": "rmsprop"},
    "adagrad": {"solver": "adagrad"},
    "nadam": {"solver": "nadam"},
    "lbfgs": {"solver": "lbfgs", "max_iter": 15},
}
ACTIVATIONS = [
    "identity",
    "logistic",
    "tanh",
    "relu",
    "leaky_relu",
    "elu",
    "gelu",
    "softplus",
]
SCHEDULES = [
    "constant",
    "invscaling",
    "adaptive",
    "plateau",
    "step",
    "exponential",
    "cosine",
    "cosine_restarts",
    "cyclic",
    "one_cycle",
]
REGRESSION_LOSSES = ["squared_error", "poisson", "absolute_error", "huber", "quantile", "gamma"]
INITIALIZERS = [
    "sklearn",
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_normal",
]
ENGINES = ["numpy", "compiled"]
DTYPES = ["float64", "float32"]


# --- data -----------------------------------------------------------------
def _datasets() -> dict:
    """Small fixed problems, one per target type (all float64)."""
    Xc, yb = make_classification(n_samples=120, n_features=10, n_informative=5, random_state=0)
    Xm, ym = make_classification(
        n_samples=120, n_features=10, n_informative=6, n_classes=3, random_state=1
    )
    Xl, yl = make_multilabel_classification(
        n_samples=120, n_features=10, n_classes=3, random_state=2
    )
    Xd, yd = load_diabetes(return_X_y=True)
    Xd, yd = Xd[:120], yd[:120]
    Xd = (Xd - Xd.mean(axis=0)) / Xd.std(axis=0)
    y_positive = yd / 100.0  # Poisson and gamma need y > 0
    y_centred = (yd - yd.mean()) / yd.std()
    y_two = np.column_stack([y_centred, np.sin(3 * Xd[:, 0])])
    return {
        "binary": (Xc, yb),
        "multiclass": (Xm, ym),
        "multilabel": (Xl / Xl.max(), yl),
        "regression": (Xd, y_centred),
        "regression_positive": (Xd, y_positive),
        "regression_2out": (Xd, y_two),
    }


DATA = _datasets()


@dataclass(frozen=True)
class Config:
    """One configuration: estimator, problem, parameters and how it is fitted."""

    key: str
    estimator: str  # "clf" or "reg"
    data: str
    params: dict = field(default_factory=dict)
    procedure: str = "fit"  # see _run_procedure
    engine: str = "numpy"


def _key(estimator: str, data: str, procedure: str, params: dict, engine: str) -> str:
    shown = ",".join(f"{k}={params[k]!r}" for k in sorted(params))
    return f"{estimator}/{data}/{procedure}/{engine}/{shown}"


def _make(estimator, data, params, procedure="fit", engines=ENGINES, dtypes=DTYPES):
    """The configuration in every engine and dtype asked for."""
    for engine in engines:
        for dtype in dtypes:
            full = {**params, "dtype": dtype}
            yield Config(
                _key(estimator, data, procedure, full, engine),
                estimator,
                data,
                full,
                procedure,
                engine,
            )


# --- the enumeration ----------------------------------------------------------
def _solver_configs() -> Iterator[Config]:
    for params in SOLVERS.values():
        for data in ("binary", "multiclass", "multilabel"):
            yield from _make("clf", data, params)
        yield from _make("reg", "regression", params)
        yield from _make("reg", "regression_2out", {**params, "hidden_layer_sizes": (6, 5)})


def _activation_configs() -> Iterator[Config]:
    for act in ACTIVATIONS:
        for solver in ("sgd_nesterov", "adam", "lbfgs"):
            params = {**SOLVERS[solver], "activation": act}
            yield from _make("clf", "multiclass", params)
        yield from _make("reg", "regression", {"activation": act, "hidden_layer_sizes": (6, 5)})
    # the compiled step where it was not measured faster, too
    for act in ACTIVATIONS:
        params = {"activation": act, "dropout": 0.2}
        for dtype in DTYPES:
            full = {**params, "dtype": dtype}
            yield Config(
                _key("clf", "multiclass", "fit", full, "compiled_everywhere"),
                "clf",
                "multiclass",
                full,
                "fit",
                "compiled_everywhere",
            )


def _schedule_configs() -> Iterator[Config]:
    for schedule in SCHEDULES:
        extra = SCHEDULE_PARAMS.get(schedule, {})
        solvers = ["sgd_momentum"] if schedule in ("invscaling", "adaptive") else ["sgd", "adam"]
        for solver in solvers:
            params = {**SOLVERS[solver], "learning_rate": schedule, **extra}
            yield from _make("clf", "multiclass", params)
    yield from _make("clf", "binary", {"learning_rate": "cosine", "warmup_epochs": 2})
    yield from _make("clf", "binary", {"learning_rate": "cosine", "learning_rate_min": 1e-3})
    for mode in ("triangular2", "exp_range"):
        params = {"learning_rate": "cyclic", "cyclic_mode": mode, "half_cycle_epochs": 1}
        yield from _make("clf", "binary", {**params, "learning_rate_max": 0.05})
    yield from _make(
        "clf",
        "binary",
        {"learning_rate": "plateau", "n_iter_no_change": 1, "tol": 10.0, "plateau_factor": 2.0},
    )
    yield from _make(
        "clf", "binary", {"learning_rate": "invscaling", "power_t": 0.25, **SOLVERS["sgd"]}
    )
    yield from _make(
        "clf", "binary", {"learning_rate": "exponential", "decay_rate": 0.8, "decay_epochs": 1}
    )


def _loss_configs() -> Iterator[Config]:
    for loss in REGRESSION_LOSSES:
        data = "regression_positive" if loss in ("poisson", "gamma") else "regression"
        for solver in ("sgd_momentum", "adam", "lbfgs"):
            yield from _make("reg", data, {"loss": loss, **SOLVERS[solver]})
    yield from _make("reg", "regression", {"loss": "huber", "huber_delta": 0.3})
    yield from _make("reg", "regression", {"loss": "quantile", "quantile": 0.9})
    yield from _make("reg", "regression_2out", {"loss": "absolute_error"})


def _regularization_configs() -> Iterator[Config]:
    for data, est in (("multiclass", "clf"), ("regression", "reg")):
        for alpha in (0.0, 0.1):
            for l1 in (0.0, 0.5):
                for solver in ("sgd_momentum", "adam", "lbfgs"):
                    params = {**SOLVERS[solver], "alpha": alpha, "l1_ratio": l1}
                    yield from _make(est, data, params)
        yield from _make(est, data, {**SOLVERS["adamw"], "weight_decay": 0.1, "alpha": 0.0})
        yield from _make(est, data, {**SOLVERS["sgd"], "weight_decay": 0.05})
        for clip in (0.05, 1.0):
            yield from _make(est, data, {"max_grad_norm": clip})
            yield from _make(est, data, {**SOLVERS["sgd_nesterov"], "max_grad_norm": clip})
        yield from _make(est, data, {"dropout": 0.3})
        yield from _make(est, data, {"dropout": (0.1, 0.4), "hidden_layer_sizes": (6, 5)})
        yield from _make(est, data, {**SOLVERS["sgd_momentum"], "dropout": 0.25})


def _classifier_configs() -> Iterator[Config]:
    for data in ("binary", "multiclass", "multilabel"):
        yield from _make("clf", data, {"label_smoothing": 0.1})
        yield from _make("clf", data, {**SOLVERS["lbfgs"], "label_smoothing": 0.2})
    for data in ("binary", "multiclass"):
        yield from _make("clf", data, {"class_weight": "balanced"})
        yield from _make("clf", data, {**SOLVERS["lbfgs"], "class_weight": "balanced"})
    yield from _make("clf", "binary", {"class_weight": {0: 1.0, 1: 3.0}})
    yield from _make(
        "clf", "multiclass", {"class_weight": {0: 2.0, 2: 0.5}, "label_smoothing": 0.1}
    )


def _stopping_configs() -> Iterator[Config]:
    early = {"early_stopping": True, "n_iter_no_change": 2, "max_iter": 8}
    for data, est in (
        ("binary", "clf"),
        ("multiclass", "clf"),
        ("multilabel", "clf"),
        ("regression", "reg"),
    ):
        yield from _make(est, data, early)
        yield from _make(est, data, {**early, "validation_fraction": 0.25, **SOLVERS["sgd"]})
        yield from _make(est, data, early, procedure="val")
        yield from _make(est, data, early, procedure="val_weighted")
    for scoring in ("neg_log_loss", "balanced_accuracy", "roc_auc_ovr"):
        yield from _make("clf", "multiclass", {**early, "scoring": scoring})
    yield from _make("clf", "multiclass", {**early, "scoring": "f1_macro"}, procedure="val")
    for scoring in ("neg_mean_absolute_error", "r2"):
        yield from _make("reg", "regression", {**early, "scoring": scoring})
    yield from _make("reg", "regression", {"tol": 0.5, "n_iter_no_change": 1, "max_iter": 10})
    yield from _make("clf", "binary", {"tol": 0.0, "n_iter_no_change": 2, "max_iter": 10})


def _procedure_configs() -> Iterator[Config]:
    for data, est in (
        ("binary", "clf"),
        ("multiclass", "clf"),
        ("multilabel", "clf"),
        ("regression", "reg"),
    ):
        for solver in ("sgd_nesterov", "adam", "lbfgs"):
            yield from _make(est, data, SOLVERS[solver], procedure="warm_start")
            yield from _make(est, data, SOLVERS[solver], procedure="sample_weight")
            yield from _make(est, data, SOLVERS[solver], procedure="sparse")
        for solver in ("sgd_momentum", "adam", "rmsprop"):
            yield from _make(est, data, SOLVERS[solver], procedure="partial_fit")
    yield from _make("clf", "multiclass", {"class_weight": "balanced"}, procedure="sample_weight")
    yield from _make("clf", "multiclass", {"dropout": 0.2}, procedure="sparse")
    yield from _make(
        "clf", "multiclass", {"early_stopping": True, "n_iter_no_change": 2}, procedure="warm_start"
    )


def _misc_configs() -> Iterator[Config]:
    for init in INITIALIZERS:
        yield from _make("clf", "multiclass", {"weight_init": init})
        yield from _make("reg", "regression", {"weight_init": init, "activation": "tanh"})
    yield from _make("clf", "multiclass", {"learning_rate_init": "auto"})
    yield from _make("reg", "regression", {"learning_rate_init": "auto", **SOLVERS["sgd"]})
    yield from _make("clf", "multiclass", {"batch_size": "auto"})
    yield from _make("clf", "multiclass", {"batch_size": 7, "shuffle": False})
    yield from _make("clf", "multiclass", {"hidden_layer_sizes": (12, 8, 6)})
    yield from _make("reg", "regression", {"beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-6})
    yield from _make("reg", "regression", {**SOLVERS["rmsprop"], "rho": 0.5})
    yield from _make("clf", "binary", {**SOLVERS["lbfgs"], "max_fun": 5})
    # float32 input with dtype='auto' trains in float32
    for data, est in (("multiclass", "clf"), ("regression", "reg")):
        for engine in ENGINES:
            for procedure in ("fit", "float32_input"):
                params = {"dtype": "auto"}
                yield Config(
                    _key(est, data, procedure, params, engine), est, data, params, procedure, engine
                )


def configurations() -> list[Config]:
    """Every configuration, in a fixed order, with unique keys."""
    configs = []
    for family in (
        _solver_configs,
        _activation_configs,
        _schedule_configs,
        _loss_configs,
        _regularization_configs,
        _classifier_configs,
        _stopping_configs,
        _procedure_configs,
        _misc_configs,
    ):
        configs.extend(family())
    keys = [c.key for c in configs]
    duplicates = {k for k in keys if keys.count(k) > 1}
    if duplicates:
        raise AssertionError(f"duplicate configuration keys: {sorted(duplicates)[:5]}")
    return configs


# --- fitting --------------------------------------------------------------------
def _estimator(config: Config):
    params = {**BASE, **config.params}
    return (MLPClassifier if config.estimator == "clf" else MLPRegressor)(**params)


def _split(X, y):
    return X[:90], y[:90], X[90:], y[90:]


def _run_procedure(config: Config, est, X, y):
    """Fit ``est`` as the configuration's procedure says."""
    proc = config.procedure
    if proc in ("fit", "float32_input"):
        est.fit(X.astype(np.float32) if proc == "float32_input" else X, y)
    elif proc == "sparse":
        est.fit(sparse.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0)), y)
    elif proc == "sample_weight":
        weights = np.random.default_rng(0).uniform(0.2, 2.0, size=len(y))
        est.fit(X, y, sample_weight=weights)
    elif proc in ("val", "val_weighted"):
        X_train, y_train, X_val, y_val = _split(X, y)
        weights = np.linspace(0.5, 2.0, len(y_val)) if proc == "val_weighted" else None
        est.fit(X_train, y_train, X_val=X_val, y_val=y_val, sample_weight_val=weights)
    elif proc == "warm_start":
        est.set_params(max_iter=3 if est.solver != "lbfgs" else 8)
        est.fit(X, y)
        est.set_params(warm_start=True)
        est.fit(X[:100], y[:100])
    elif proc == "partial_fit":
        classes = np.unique(y) if y.ndim == 1 else np.arange(y.shape[1])
        for start in (0, 40, 80, 0):
            chunk = slice(start, start + 40)
            if config.estimator == "clf":
                est.partial_fit(X[chunk], y[chunk], classes=classes)
            else:
                est.partial_fit(X[chunk], y[chunk])
    else:
        raise ValueError(f"unknown procedure {proc!r}")


def _numbers(values) -> list:
    """Floats as JSON can hold them (NaN and infinities as strings)."""
    out = []
    for v in np.asarray(values, dtype=np.float64).ravel().tolist():
        out.append(v if np.isfinite(v) else repr(v))
    return out


def _record(est) -> dict:
    """What the fitted ``est`` must keep equal."""
    record = {
        "n_iter_": int(est.n_iter_),
        "weights": _numbers(np.concatenate([w.ravel() for w in est.coefs_ + est.intercepts_])),
        "weight_dtype": str(est.coefs_[0].dtype),
        "loss_": _numbers([est.loss_]),
    }
    for name in ("loss_curve_", "validation_scores_"):
        value = getattr(est, name, None)
        if value is not None:
            record[name] = _numbers(value)
    if getattr(est, "best_loss_", None) is not None:
        record["best_loss_"] = _numbers([est.best_loss_])
    history = getattr(est, "history_", None)
    if history:
        for name in ("val_loss", "val_score", "learning_rate", "clipped"):
            if name in history:
                record[f"history_{name}"] = _numbers(history[name])
    return record


def fit_one(config: Config) -> dict:
    """The fingerprint of one configuration (its error, if it raised one)."""
    X, y = DATA[config.data]
    engine = "compiled" if config.engine.startswith("compiled") else "numpy"
    everywhere = config.engine == "compiled_everywhere"
    with warnings.catch_warnings(record=True) as caught, compiled.engine(engine, everywhere):
        warnings.simplefilter("always")
        try:
            est = _estimator(config)
            _run_procedure(config, est, X, y)
            record = _record(est)
        except Exception as exc:  # recorded: a configuration that errors is a result too
            record = {"error": f"{type(exc).__name__}: {exc}"}
    record["warnings"] = sorted({w.category.__name__ for w in caught})
    return record


# --- comparing ----------------------------------------------------------------------
def _tolerance(config_key: str, tol64: float, tol32: float) -> float:
    # dtype='auto' with float32 input, or dtype='float32', trains in float32
    float32 = "'float32'" in config_key or "/float32_input/" in config_key
    return tol32 if float32 else tol64


def _as_array(values) -> np.ndarray:
    return np.array([float(v) for v in values], dtype=np.float64)


def _numeric(name: str) -> bool:
    return name in _NUMERIC or name.startswith("history_")


_NUMERIC = frozenset({"weights", "loss_", "loss_curve_", "validation_scores_", "best_loss_"})


def _differ(a: list, b: list, tol: float) -> str | None:
    """How numbers ``a`` differ from ``b`` beyond ``tol``, or None."""
    a_arr, b_arr = _as_array(a), _as_array(b)
    if a_arr.shape != b_arr.shape:
        return f"length {a_arr.size} != {b_arr.size}"
    both_nan = np.isnan(a_arr) & np.isnan(b_arr)
    with np.errstate(invalid="ignore"):
        gap = np.abs(a_arr - b_arr)
        ok = (a_arr == b_arr) | both_nan | (gap <= tol * np.maximum(1.0, np.abs(b_arr)))
    if ok.all():
        return None
    return (
        f"{int((~ok).sum())} of {ok.size} differ, max |diff| {np.nanmax(np.where(ok, 0, gap)):.3g}"
    )


def compare_record(now: dict, before: dict, tol: float) -> list[str]:
    """The differences between two fingerprints of one configuration."""
    problems = []
    for name in sorted(set(now) | set(before)):
        a, b = now.get(name), before.get(name)
        if a is None or b is None:
            problems.append(f"{name}: {'missing now' if a is None else 'new'}")
        elif _numeric(name):
            problem = _differ(a, b, tol)
            if problem:
                problems.append(f"{name}: {problem}")
        elif a != b:
            problems.append(f"{name}: {a!r} != {b!r}")
    return problems


def _fit_all(configs: list[Config]) -> dict:
    kernels = "built" if compiled._kernels is not None else "NOT BUILT (compiled rows will error)"
    print(f"skmlp from {Path(skmlp.__file__).parent}; compiled kernels {kernels}")
    results = {}
    for config in configs:
        results[config.key] = fit_one(config)
    return results


def save(path: str, configs: list[Config]) -> None:
    start = time.perf_counter()
    results = _fit_all(configs)
    payload = {
        "format": 1,
        "numpy": np.__version__,
        "kernels_built": compiled._kernels is not None,
        "results": results,
    }
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump(payload, f, separators=(",", ":"))
    errors = sum("error" in r for r in results.values())
    print(
        f"saved {len(results)} configurations ({errors} that raise) to {path} "
        f"in {time.perf_counter() - start:.0f} s"
    )


def compare(path: str, configs: list[Config], tol64: float, tol32: float, only: str) -> int:
    """Refit and list every difference from the baseline; 1 if any."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        baseline = json.load(f)["results"]
    start = time.perf_counter()
    now = _fit_all(configs)
    bad = 0
    for key in sorted(set(now) | {k for k in baseline if only in k}):
        if key not in baseline:
            print(f"NEW      {key}")
            bad += 1
            continue
        if key not in now:
            print(f"MISSING  {key}")
            bad += 1
            continue
        problems = compare_record(now[key], baseline[key], _tolerance(key, tol64, tol32))
        if problems:
            bad += 1
            print(f"DIFFERS  {key}")
            for problem in problems:
                print(f"           {problem}")
    print(
        f"{len(now)} configurations compared in {time.perf_counter() - start:.0f} s "
        f"(tolerance {tol64:g} float64, {tol32:g} float32): {bad} differ"
    )
    return 1 if bad else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--save", metavar="PATH", help="fit everything and write the baseline")
    mode.add_argument("--compare", metavar="PATH", help="refit and compare with a baseline")
    mode.add_argument("--list", action="store_true", help="print the configuration keys")
    parser.add_argument("--tol64", type=float, default=1e-12)
    parser.add_argument("--tol32", type=float, default=1e-5)
    parser.add_argument("--filter", default="", help="only keys containing this string")
    args = parser.parse_args(argv)
    configs = [c for c in configurations() if args.filter in c.key]
    if args.list:
        print("\n".join(c.key for c in configs))
        print(f"{len(configs)} configurations")
        return 0
    if args.save:
        save(args.save, configs)
        return 0
    return compare(args.compare, configs, args.tol64, args.tol32, args.filter)


if __name__ == "__main__":
    sys.exit(main())
