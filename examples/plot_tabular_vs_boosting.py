"""TabularMLP against HistGradientBoosting, dataset by dataset.

``benchmarks/tabular.py`` cross-validates skmlp's ``TabularMLPClassifier`` /
``TabularMLPRegressor`` and scikit-learn's ``HistGradientBoosting*`` (both at
their defaults, on the raw frames: categorical columns and NaN included) on
the same folds of real datasets. This script draws its per-dataset
comparison: for every dataset, each contender's mean accuracy (classification)
or R² (regression) over the folds, with the standard deviation as a bar.

Three ways to run it:

- ``python examples/plot_tabular_vs_boosting.py --results results.json``
  plots a finished run of ``python benchmarks/tabular.py --out results.json``
  (the full benchmark takes long; this is how docs/tabular.md's figure is made);
- without ``--results`` it runs the benchmark's protocol itself on every
  dataset available offline (5 folds, at most 5,000 rows);
- ``--quick`` (used by the test suite) runs two of scikit-learn's bundled
  datasets, 2 folds of 150 rows, with a 40-epoch TabularMLP: a smoke test,
  not a result.

The figure is saved to ``tabular_vs_boosting.png`` in the current directory.
A contender that cannot run here (TabularMLP in a checkout without it) is
skipped with a message, and the figure shows the others.
"""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write a file, never open a window
import matplotlib.pyplot as plt

# benchmarks/ is not a package: put it on the path to reuse its protocol
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import tabular as bench

CONTENDERS = ["tabular", "hgb"]


def comparison(quick: bool, results: Path | None) -> list[dict]:
    """The per-dataset scores, from a results file or from a fresh run."""
    if results is not None:
        records = json.loads(results.read_text())["benchmark"]["records"]
        return bench.comparison(records, CONTENDERS)
    if quick:
        factories = {
            "tabular": bench.Variant(bench.tabular_factory, {"max_iter": 40}),
            "hgb": bench.hgb_factory,
        }
        records, _ = bench.run(["breast_cancer", "diabetes"], factories, n_folds=2, max_rows=150)
    else:
        factories = {name: bench.CONTENDERS[name] for name in CONTENDERS}
        records, _ = bench.run(list(bench.DATASETS), factories)
    return bench.comparison(records, CONTENDERS)


def draw(data: list[dict]) -> plt.Figure:
    """One panel per metric: datasets down, mean ± std across."""
    panels = [(m, [d for d in data if d["metric"] == m]) for m in ("accuracy", "r2")]
    panels = [(m, rows) for m, rows in panels if rows]
    heights = [len(rows) for _, rows in panels]
    fig, axes = plt.subplots(
        len(panels),
        1,
        figsize=(7, 1.2 + 0.45 * sum(heights) + 0.8 * len(panels)),
        height_ratios=heights,
        layout="constrained",
        squeeze=False,
    )
    for ax, (metric, rows) in zip(axes[:, 0], panels):
        for k, name in enumerate(CONTENDERS):
            offset = 0.15 * (k - 0.5)  # side by side within a dataset's row
            scored = [(i, r["scores"][name]) for i, r in enumerate(rows) if name in r["scores"]]
            points = [(i + offset, s) for i, s in scored]
            if points:
                ax.errorbar(
                    [s["mean"] for _, s in points],
                    [y for y, _ in points],
                    xerr=[s["std"] for _, s in points],
                    fmt="o",
                    capsize=3,
                    color=f"C{k}",
                    label=name,
                )
        ax.set_yticks(range(len(rows)), [r["dataset"] for r in rows])
        ax.set_ylim(len(rows) - 0.5, -0.5)  # first dataset on top
        ax.set_xlabel("accuracy" if metric == "accuracy" else "R²")
        ax.grid(axis="x", alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(CONTENDERS))
    axes[0, 0].set_title("Mean over cross-validation folds (bars: ± one standard deviation)")
    return fig


def main(quick: bool = False, results: Path | None = None) -> Path:
    data = comparison(quick, results)
    fig = draw(data)
    path = Path("tabular_vs_boosting.png").resolve()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    for d in data:
        scores = ", ".join(f"{n} {s['mean']:.3f}" for n, s in d["scores"].items())
        print(f"{d['dataset']} ({d['metric']}): {scores}")
    print(f"saved {path}")
    return path


if __name__ == "__main__":
    given = sys.argv.index("--results") + 1 if "--results" in sys.argv else None
    main(quick="--quick" in sys.argv, results=Path(sys.argv[given]) if given else None)
