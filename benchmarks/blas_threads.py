"""Batch-sized matrix products, and W1-sized fits, with one BLAS thread and more.

Run ``python benchmarks/blas_threads.py`` on an idle machine, then again with
``--busy`` (which keeps one other process spinning on a core for the
duration, as a second job, a browser or a grid-search worker would). It
times the products one mini-batch of W1, W2 and W3 makes (the forward
product of each layer; the backward ones have the same sizes), float32 and
float64, with numpy's BLAS limited to 1 thread and unlimited, and prints the
median time per product and the ratio. Then it times W1-sized fits (10,000
rows, hidden (256, 128), batch 200, float32) three ways, interleaved: on one
BLAS thread (the policy before the load was measured), with skmlp's
measured policy (printing what it saw and chose), and with all BLAS threads.
Every figure is printed with the 1-minute load average before and after.
docs/performance.md records runs and the thread policy skmlp chose from them.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import make_classification
from threadpoolctl import threadpool_info, threadpool_limits

# the skmlp of this checkout, not one installed in the environment
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from skmlp import MLPClassifier, compiled

# (workload, batch rows m, inputs k, outputs n) of each layer's forward product
PRODUCTS = [
    ("W1 layer 1", 200, 100, 256),
    ("W1 layer 2", 200, 256, 128),
    ("W1 output", 200, 128, 10),
    ("W2 hidden", 200, 64, 64),
    ("between", 200, 64, 128),
    ("between", 200, 128, 128),
    ("W2 output", 200, 64, 10),
    ("W3 hidden", 150, 4, 16),
]


def _spin(stop):
    while not stop.is_set():
        pass


def _time(A, B, out, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(20):
            np.matmul(A, B, out=out)
        times.append((time.perf_counter() - start) / 20)
    return statistics.median(times)


def _load() -> str:
    try:
        return f"load average {os.getloadavg()[0]:.2f}"
    except (AttributeError, OSError):
        return "load average unknown"


def _fit_ms_per_epoch(X, y, epochs: int) -> float:
    model = MLPClassifier((256, 128), batch_size=200, max_iter=epochs, tol=0.0, random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # two epochs do not converge
        model.fit(X, y)
    return (time.perf_counter() - start) / epochs * 1e3


def _policy_choice(X) -> str:
    """What the policy measures and chooses for a W1-sized fit here, now."""
    largest = 200 * max(X.shape[1] * 256, 256 * 128)
    machine = compiled._measure_machine()
    chosen = compiled.choose_blas_threads(
        largest,
        max(compiled._controller["threads"], default=1),
        in_worker=compiled._in_worker(),
        machine=lambda: machine,
    )
    return f"{machine}, largest product {largest:,}: {chosen} thread(s)"


def compare_fits(repeats: int, epochs: int) -> None:
    """W1-sized fits: one thread, the measured policy, all threads."""
    X, y = make_classification(
        n_samples=10_000, n_features=100, n_informative=50, n_classes=10, random_state=0
    )
    X = X.astype(np.float32)
    ways = {
        "one thread (previous policy)": lambda: threadpool_limits(limits=1, user_api="blas"),
        "measured policy": lambda: compiled.blas_policy(True),
        "all BLAS threads": lambda: compiled.blas_policy(False),
    }
    print(f"\nW1-sized fits, 10,000 x 100 float32, {epochs} epochs; {_load()}")
    print(f"the policy sees {_policy_choice(X)}")
    times = {name: [] for name in ways}
    for _ in range(repeats):
        for name, way in ways.items():
            time.sleep(0.3)  # let the previous fit's threads go idle
            with way():
                times[name].append(_fit_ms_per_epoch(X, y, epochs))
    for name, values in times.items():
        print(f"{name:30s} {statistics.median(values):8.1f} ms/epoch (median of {repeats})")
    print(f"{_load()}; the policy now sees {_policy_choice(X)}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--busy", action="store_true", help="one competing busy process")
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--fit-repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--fits-only", action="store_true", help="skip the products")
    args = parser.parse_args(argv)
    stop = multiprocessing.Event()
    spinner = None
    if args.busy:
        spinner = multiprocessing.Process(target=_spin, args=(stop,), daemon=True)
        spinner.start()
    all_threads = max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
    print(
        f"{os.cpu_count()} cores, BLAS up to {all_threads} threads, "
        f"{'one competing busy process' if args.busy else 'no process of ours competing'}; "
        f"{_load()}"
    )
    print(
        f"{'product':12s} {'m x k x n':>14s} {'dtype':>8s} {'1 thread':>10s} "
        f"{f'{all_threads} threads':>10s} {'1 / all':>8s}"
    )
    rng = np.random.default_rng(0)
    try:
        for name, m, k, n in [] if args.fits_only else PRODUCTS:
            for dtype in (np.float32, np.float64):
                A = rng.standard_normal((m, k)).astype(dtype)
                B = rng.standard_normal((k, n)).astype(dtype)
                out = np.empty((m, n), dtype)
                timings = {}
                for limit in (1, all_threads, 1, all_threads):  # interleaved
                    with threadpool_limits(limits=limit, user_api="blas"):
                        t = _time(A, B, out, args.repeats)
                    timings[limit] = min(timings.get(limit, t), t)
                one, many = timings[1], timings[all_threads]
                print(
                    f"{name:12s} {f'{m}x{k}x{n}':>14s} {np.dtype(dtype).name:>8s} "
                    f"{one * 1e6:8.1f}us {many * 1e6:8.1f}us {one / many:7.2f}x"
                )
        compare_fits(args.fit_repeats, args.epochs)
    finally:
        stop.set()
        if spinner is not None:
            spinner.join()


if __name__ == "__main__":
    main()
