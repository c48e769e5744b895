"""Batch-sized matrix products with one BLAS thread and with all of them.

Run ``python benchmarks/blas_threads.py`` on an idle machine, then again with
``--busy`` (which keeps one other process spinning on a core for the
duration, as a second job, a browser or a grid-search worker would). It
times the products one mini-batch of W1, W2 and W3 makes (the forward
product of each layer; the backward ones have the same sizes), float32 and
float64, with numpy's BLAS limited to 1 thread and unlimited, and prints the
median time per product and the ratio. docs/performance.md records a run and
the thread policy skmlp chose from it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

# (workload, batch rows m, inputs k, outputs n) of each layer's forward product
PRODUCTS = [
    ("W1 layer 1", 200, 100, 256),
    ("W1 layer 2", 200, 256, 128),
    ("W1 output", 200, 128, 10),
    ("W2 hidden", 200, 64, 64),
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--busy", action="store_true", help="one competing busy process")
    parser.add_argument("--repeats", type=int, default=25)
    args = parser.parse_args(argv)
    stop = multiprocessing.Event()
    spinner = None
    if args.busy:
        spinner = multiprocessing.Process(target=_spin, args=(stop,), daemon=True)
        spinner.start()
    all_threads = max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
    print(
        f"{os.cpu_count()} cores, BLAS up to {all_threads} threads, "
        f"{'one competing busy process' if args.busy else 'idle machine'}"
    )
    print(
        f"{'product':12s} {'m x k x n':>14s} {'dtype':>8s} {'1 thread':>10s} "
        f"{f'{all_threads} threads':>10s} {'1 / all':>8s}"
    )
    rng = np.random.default_rng(0)
    try:
        for name, m, k, n in PRODUCTS:
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
    finally:
        stop.set()
        if spinner is not None:
            spinner.join()


if __name__ == "__main__":
    main()
