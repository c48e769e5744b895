"""Training and prediction benchmark: skmlp vs scikit-learn's MLP vs a PyTorch loop.

Run ``python benchmarks/run.py`` (``--quick`` for a small smoke run). Prints
one table per workload; docs/performance.md records a full run.

Workloads (see docs/performance.md for the reasoning):

W1  make_classification(50,000 x 100, 50 informative, 10 classes), standardized,
    hidden (256, 128), relu, adam, batch_size=200, 10 epochs, stopping off;
    once with float64 input, once with float32 input. Accuracy is measured on
    10,000 further samples of the same problem.
W2  GridSearchCV(Pipeline(StandardScaler, MLPClassifier((64,), max_iter=30)),
    learning_rate_init x alpha 3x3, cv=3, n_jobs=2) on digits.
W3  40 fits of a (16,) network on iris, 100 epochs each: the fixed cost of a fit.
W4  predict_proba on 1,000,000 x 100 rows with the W1 network.

The contenders run interleaved, ``--repeats`` times; every ratio is the median
of the per-repeat ratios, because the machine is shared and noisy. Peak
memory is the peak of Python-tracked allocations (tracemalloc, which numpy
reports to) during the call; the PyTorch loop's is the growth of the process's
peak resident set instead (torch allocates outside tracemalloc).
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc
import warnings
from itertools import pairwise
from pathlib import Path

import numpy as np
import sklearn
from joblib import Parallel, delayed
from sklearn import neural_network as sk_nn
from sklearn.datasets import load_digits, load_iris, make_classification
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

# the skmlp of this checkout, not one installed in the environment: python
# puts benchmarks/ first on the path, so a plain import would find the latter
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import skmlp
import skmlp.compiled as compiled

warnings.simplefilter("ignore", ConvergenceWarning)

try:  # PyTorch is optional: a contender when installed, skipped otherwise
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None


# ---------------------------------------------------------------- measuring
def matmul_peak(dtype, n: int = 2048, reps: int = 5) -> float:
    """Best GFLOP/s of an n x n matrix multiply: the machine's BLAS peak."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    c = np.empty_like(a)
    np.matmul(a, b, out=c)
    best = math.inf
    for _ in range(reps):
        start = time.perf_counter()
        np.matmul(a, b, out=c)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def _rss_peak_kib() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_rss_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def timed(fn):
    """Run ``fn()``; return (result, seconds)."""
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def peak_memory(fn, how: str = "tracemalloc") -> float:
    """Peak extra memory of ``fn()`` in MiB, measured in a run of its own
    (tracing slows allocation-heavy code, so it never shares a timed run)."""
    gc.collect()
    if how == "tracemalloc":
        tracemalloc.start()
        fn()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return peak / 2**20
    ok = _reset_rss_peak()
    before = _rss_peak_kib()
    fn()
    after = _rss_peak_kib()
    return (after - before) / 1024 if ok and before is not None else math.nan


def training_flops(layer_units, n_samples: int) -> float:
    """Matrix-multiply flops of one epoch: forward, weight gradients, and the
    backpropagated deltas (not needed for the input layer)."""
    sizes = [a * b for a, b in pairwise(layer_units)]
    return 2.0 * n_samples * (3 * sum(sizes) - sizes[0])


def print_table(title, header, rows):
    print(f"\n{title}")
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(str(h).rjust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(r, widths)))


# ---------------------------------------------------------------- contenders
def torch_train(X, y, hidden, epochs, batch_size, lr, alpha, seed=0):
    """A plain PyTorch CPU loop doing what MLPClassifier(solver='adam') does."""
    torch.manual_seed(seed)
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    yt = torch.from_numpy(y.astype(np.int64))
    layers, fan_in = [], X.shape[1]
    for h in hidden:
        layers += [torch.nn.Linear(fan_in, h), torch.nn.ReLU()]
        fan_in = h
    layers.append(torch.nn.Linear(fan_in, int(y.max()) + 1))
    model = torch.nn.Sequential(*layers)
    # sklearn's alpha is an L2 term divided by the batch size
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=alpha / batch_size)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = len(Xt)
    for _ in range(epochs):
        perm = torch.randperm(n)
        for start in range(0, n, batch_size):
            idx = perm[start : start + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    return model


def torch_accuracy(model, X, y):
    with torch.no_grad():
        logits = model(torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)))
    return float((logits.argmax(1).numpy() == y).mean())


# ---------------------------------------------------------------- workloads
def _numpy_engine(fit):
    """Run ``fit`` on skmlp's numpy engine (the reference)."""
    if compiled.active_engine() == "numpy":
        return fit()
    with compiled.engine("numpy"):
        return fit()


def _per_batch(fit):
    """Run ``fit`` with every batch driven from Python, as before the
    compiled epoch (the epoch kernel off)."""
    with compiled.compiled_epochs(False):
        return fit()


def _all_threads(fit):
    """Run ``fit`` without skmlp's one-BLAS-thread policy for small products."""
    with compiled.blas_policy(False):
        return fit()


def w1(args, peaks):
    n_train = 50_000 if not args.quick else 5_000
    X, y = make_classification(
        n_samples=n_train + 10_000 // (10 if args.quick else 1),
        n_features=100,
        n_informative=50,
        n_classes=10,
        random_state=0,
    )
    X = StandardScaler().fit_transform(X)
    X_train, y_train, X_test, y_test = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    epochs = 10 if not args.quick else 2
    hidden = (256, 128)
    flops = training_flops([100, *hidden, 10], n_train) * epochs
    common = dict(
        hidden_layer_sizes=hidden,
        batch_size=200,
        tol=0.0,
        n_iter_no_change=np.inf,
        random_state=0,
    )
    fitted = {}
    if torch is not None:
        torch.set_num_threads(os.cpu_count() or 1)
    for input_dtype in (np.float64, np.float32):
        Xd, Xtest = X_train.astype(input_dtype), X_test.astype(input_dtype)
        contenders = {
            "skmlp": lambda Xd=Xd, e=epochs: skmlp.MLPClassifier(**common, max_iter=e).fit(
                Xd, y_train
            ),
            "skmlp per-batch loop": lambda Xd=Xd, e=epochs: _per_batch(
                lambda: skmlp.MLPClassifier(**common, max_iter=e).fit(Xd, y_train)
            ),
            "skmlp numpy engine": lambda Xd=Xd, e=epochs: _numpy_engine(
                lambda: skmlp.MLPClassifier(**common, max_iter=e).fit(Xd, y_train)
            ),
            "skmlp all BLAS threads": lambda Xd=Xd, e=epochs: _all_threads(
                lambda: skmlp.MLPClassifier(**common, max_iter=e).fit(Xd, y_train)
            ),
            "sklearn": lambda Xd=Xd, e=epochs: sk_nn.MLPClassifier(**common, max_iter=e).fit(
                Xd, y_train
            ),
        }
        if input_dtype == np.float64:
            contenders["skmlp dtype=float64"] = lambda Xd=Xd, e=epochs: skmlp.MLPClassifier(
                dtype="float64", **common, max_iter=e
            ).fit(Xd, y_train)
        if torch is not None:
            contenders["pytorch float32"] = lambda Xd=Xd, e=epochs: torch_train(
                Xd, y_train, hidden, e, 200, 1e-3, 1e-4
            )
        runs = {name: [] for name in contenders}
        if torch is not None:  # torch's first call pays one-off set-up costs
            torch_train(Xd[:1000], y_train[:1000], hidden, 1, 200, 1e-3, 1e-4)
        for _ in range(args.repeats):
            for name, fit in contenders.items():
                time.sleep(0.5)  # let the previous contender's threads go idle
                model, seconds = timed(fit)
                if name.startswith("pytorch"):
                    acc = torch_accuracy(model, Xtest, y_test)
                else:
                    acc = model.score(Xtest, y_test)
                    fitted[(name, input_dtype)] = model
                runs[name].append((seconds, acc))
        # memory does not grow with epochs: one traced epoch per contender
        memory = {
            name: peak_memory(
                lambda f=fit: f(e=1), "rss" if name.startswith("pytorch") else "tracemalloc"
            )
            for name, fit in contenders.items()
        }
        rows = []
        base = [r[0] for r in runs["sklearn"]]
        for name, rs in runs.items():
            secs = [r[0] for r in rs]
            med = statistics.median(secs)
            if name.startswith("pytorch"):
                compute = np.float32
            else:  # the dtype the fitted weights (and so the training) used
                compute = fitted[(name, input_dtype)].coefs_[0].dtype
            gflops = flops / med / 1e9
            speedup = statistics.median(b / s for b, s in zip(base, secs))
            torch_secs = [r[0] for r in runs.get("pytorch float32", [])]
            vs_torch = (
                f"{statistics.median(t / s for t, s in zip(torch_secs, secs)):.2f}x"
                if torch_secs
                else "-"
            )
            rows.append(
                [
                    name,
                    np.dtype(compute).name,
                    f"{med / epochs * 1000:.0f}",
                    f"{n_train * epochs / med:,.0f}",
                    f"{gflops:.1f}",
                    f"{100 * gflops / peaks[np.dtype(compute).name]:.0f}%",
                    f"{memory[name]:.0f}",
                    f"{statistics.median(r[1] for r in rs):.4f}",
                    f"{speedup:.2f}x",
                    vs_torch,
                ]
            )
        print_table(
            f"W1 {np.dtype(input_dtype).name} input: {n_train} x 100, hidden {hidden}, adam, "
            f"batch 200, {epochs} epochs",
            [
                "contender",
                "computes",
                "ms/epoch",
                "samples/s",
                "GFLOP/s",
                "of peak",
                "peak MiB",
                "test acc",
                "vs sklearn",
                "vs pytorch",
            ],
            rows,
        )
    return fitted


def w2(args):
    X, y = load_digits(return_X_y=True)
    max_iter = 30 if not args.quick else 5

    def search(module):
        pipe = Pipeline(
            [
                ("scale", StandardScaler()),
                ("mlp", module.MLPClassifier(hidden_layer_sizes=(64,), max_iter=max_iter)),
            ]
        )
        grid = {"mlp__learning_rate_init": [1e-3, 1e-2, 1e-1], "mlp__alpha": [1e-4, 1e-2, 1.0]}
        return GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X, y)

    def search_floor():  # no training at all: the cost of the search machinery
        pipe = Pipeline([("scale", StandardScaler()), ("mlp", DummyClassifier())])
        grid = {"mlp__strategy": ["prior"] * 9}
        return GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X, y)

    search(skmlp)  # start the worker processes before timing anything
    threads = Parallel(n_jobs=2)(delayed(_blas_threads)() for _ in range(2))
    runs = {"skmlp": [], "sklearn": [], "search machinery only": []}
    for _ in range(args.repeats):
        for name, module in (("skmlp", skmlp), ("sklearn", sk_nn)):
            result, seconds = timed(lambda m=module: search(m))
            runs[name].append((seconds, result.best_score_))
        result, seconds = timed(search_floor)
        runs["search machinery only"].append((seconds, result.best_score_))
    print(f"\nBLAS threads inside each of the 2 search workers: {threads}")
    rows = []
    for name, rs in runs.items():
        speedup = statistics.median(b[0] / r[0] for b, r in zip(runs["sklearn"], rs))
        rows.append(
            [
                name,
                f"{statistics.median(r[0] for r in rs):.2f}",
                f"{statistics.median(r[1] for r in rs):.4f}",
                f"{speedup:.2f}x",
            ]
        )
    print_table(
        "W2 GridSearchCV 3x3 x cv=3, n_jobs=2, Pipeline(StandardScaler, MLP((64,), "
        f"max_iter={max_iter})) on digits",
        ["contender", "wall s", "best CV acc", "vs sklearn"],
        rows,
    )


def _blas_threads() -> int:
    from threadpoolctl import threadpool_info

    return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")


def w3(args):
    X, y = load_iris(return_X_y=True)
    n_fits = 40 if not args.quick else 5

    def fits(module):
        scores = []
        for seed in range(n_fits):
            est = module.MLPClassifier(
                hidden_layer_sizes=(16,),
                max_iter=100,
                tol=0.0,
                n_iter_no_change=np.inf,
                random_state=seed,
            )
            scores.append(est.fit(X, y).score(X, y))
        return float(np.mean(scores))

    runs = {"skmlp": [], "skmlp numpy engine": [], "skmlp all BLAS threads": [], "sklearn": []}
    variants = {
        "skmlp": lambda: fits(skmlp),
        "skmlp numpy engine": lambda: _numpy_engine(lambda: fits(skmlp)),
        "skmlp all BLAS threads": lambda: _all_threads(lambda: fits(skmlp)),
        "sklearn": lambda: fits(sk_nn),
    }
    for _ in range(args.repeats):
        for name, run in variants.items():
            acc, seconds = timed(run)
            runs[name].append((seconds, acc))
    rows = []
    for name, rs in runs.items():
        speedup = statistics.median(b[0] / r[0] for b, r in zip(runs["sklearn"], rs))
        med = statistics.median(r[0] for r in rs)
        rows.append(
            [
                name,
                f"{med:.2f}",
                f"{med / n_fits * 1000:.1f}",
                f"{statistics.median(r[1] for r in rs):.4f}",
                f"{speedup:.2f}x",
            ]
        )
    print_table(
        f"W3 {n_fits} fits of a (16,) network on iris, 100 epochs each",
        ["contender", "wall s", "ms/fit", "train acc", "vs sklearn"],
        rows,
    )


def w4(args, fitted):
    n = 1_000_000 if not args.quick else 20_000
    X = np.random.default_rng(0).standard_normal((n, 100))
    models = {
        "skmlp": fitted[("skmlp", np.float64)],
        "skmlp dtype=float64": fitted[("skmlp dtype=float64", np.float64)],
        "sklearn": fitted[("sklearn", np.float64)],
    }
    runs = {name: [] for name in models}
    for _ in range(args.repeats):
        for name, model in models.items():
            proba, seconds = timed(lambda m=model: m.predict_proba(X))
            runs[name].append((seconds, proba.nbytes / 2**20))
            del proba
    memory = {name: peak_memory(lambda m=m: m.predict_proba(X)) for name, m in models.items()}
    rows = []
    for name, rs in runs.items():
        out_mib = rs[0][1]
        peak = memory[name]
        speedup = statistics.median(b[0] / r[0] for b, r in zip(runs["sklearn"], rs))
        rows.append(
            [
                name,
                f"{statistics.median(r[0] for r in rs):.2f}",
                f"{out_mib:.0f}",
                f"{peak:.0f}",
                f"{peak / out_mib:.1f}x",
                f"{speedup:.2f}x",
            ]
        )
    print_table(
        f"W4 predict_proba on {n:,} x 100 float64 rows with the W1 network",
        ["contender", "seconds", "output MiB", "peak MiB", "peak/output", "speed vs sklearn"],
        rows,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=["W1", "W2", "W3", "W4"], help="workloads")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats = 1

    from threadpoolctl import threadpool_info

    blas = [
        f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads, "
        f"{i.get('architecture')})"
        for i in threadpool_info()
        if i["user_api"] == "blas"
    ]
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}, skmlp {skmlp.__version__}, "
        f"torch {torch.__version__ if torch is not None else 'not installed (skipped)'}"
    )
    print(f"BLAS: {'; '.join(blas)}")
    print(
        f"skmlp from {Path(skmlp.__file__).parent}, engine: {compiled.active_engine()}; "
        "'skmlp' rows apply skmlp's BLAS thread policy (one thread for batch-sized "
        "products on a busy machine), 'all BLAS threads' rows do not"
    )
    peaks = {name: matmul_peak(np.dtype(name)) for name in ("float64", "float32")}
    print(
        "matrix-multiply peak (2048 x 2048, best of 5): "
        + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in peaks.items())
    )
    only = set(args.only or ["W1", "W2", "W3", "W4"])
    if only & {"W1", "W4"}:
        fitted = w1(args, peaks)
    if "W4" in only:
        w4(args, fitted)
    if "W2" in only:
        w2(args)
    if "W3" in only:
        w3(args)


if __name__ == "__main__":
    main()
