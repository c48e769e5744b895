"""The compiled epoch against the per-batch loop, epoch by epoch.

``python benchmarks/compiled_epoch.py [--repeats 5] [--quick]`` fits a few
workloads with the epoch kernel on and off (``skmlp.compiled.compiled_epochs``),
interleaved, and reports the CPU time of ``trainer._train_epoch`` alone (the
fit's set-up and verification left out), per epoch: the median of each
side and the median of the paired ratios (loop / compiled). CPU time, with
one BLAS thread, is what a shared machine disturbs least; run it as
``OPENBLAS_NUM_THREADS=1 python benchmarks/compiled_epoch.py``.

For the loop it also splits the epoch into the time inside the compiled
kernels (the batch kernel and the optimizer's step) and the rest: the
per-batch Python (and the numpy row gathers) the epoch kernel replaces. An
epoch of fewer than ``compiled.MIN_EPOCH_BATCHES`` batches runs the loop
either way: its row is a control of the noise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits, load_iris, make_classification
from sklearn.preprocessing import StandardScaler

# the skmlp of this checkout, not one installed in the environment
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import skmlp
import skmlp.compiled as compiled
from skmlp import optimizers, trainer

CLOCK = time.process_time
_spent = {"epoch": 0.0, "kernels": 0.0}


def _timed(fn, key):
    def timed(*args, **kwargs):
        start = CLOCK()
        try:
            return fn(*args, **kwargs)
        finally:
            _spent[key] += CLOCK() - start

    return timed


def _instrument() -> None:
    """Time _train_epoch, and the kernels the per-batch loop calls."""
    trainer._train_epoch = _timed(trainer._train_epoch, "epoch")
    compiled.CompiledStep.loss_and_grad = _timed(compiled.CompiledStep.loss_and_grad, "kernels")
    make = optimizers.Optimizer.compiled_update
    optimizers.Optimizer.compiled_update = lambda self, k: _timed(make(self, k), "kernels")


def workloads(quick: bool):
    """(name, X, y, hidden, batch_size, epochs)."""
    n = 5_000 if quick else 50_000
    X, y = make_classification(n, 100, n_informative=50, n_classes=10, random_state=0)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    yield "W1 (50,000 x 100, (256, 128), batch 200)", X, y, (256, 128), 200, 2 if quick else 3
    digits = load_digits(return_X_y=True)
    X, y = digits[0][:1198].astype(np.float32), digits[1][:1198]  # a W2 fold's training part
    yield "W2-like (digits 1,198 rows, (64,), batch 200)", X, y, (64,), 200, 30
    yield "digits, (64,), batch 32", digits[0].astype(np.float32), digits[1], (64,), 32, 20
    iris = load_iris(return_X_y=True)
    for batch in (10, 50, 150):
        yield f"iris, (16,), batch {batch}", iris[0].astype(np.float32), iris[1], (16,), batch, 100


def measure(X, y, hidden, batch_size, epochs, repeats):
    """Per epoch, ms: the loop's times and kernel times, the compiled epoch's."""
    params = dict(hidden_layer_sizes=hidden, batch_size=batch_size, max_iter=epochs, tol=0.0)
    params.update(n_iter_no_change=np.inf, random_state=0)
    runs = {True: [], False: []}
    kernels = []
    for _ in range(repeats):
        for enabled in (False, True):
            _spent.update(epoch=0.0, kernels=0.0)
            with compiled.compiled_epochs(enabled), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                skmlp.MLPClassifier(**params).fit(X, y)
            runs[enabled].append(_spent["epoch"] / epochs * 1e3)
            if not enabled:
                kernels.append(_spent["kernels"] / epochs * 1e3)
    return runs[False], kernels, runs[True]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    args = parser.parse_args(argv)
    if compiled._kernels is None:
        raise SystemExit("the compiled kernels are not built")
    _instrument()
    print(f"load average {os.getloadavg()[0]:.2f}; CPU ms per epoch of _train_epoch")
    header = ("loop", "of it Python", "compiled", "loop/compiled")
    print(f"{'workload':44s} " + " ".join(f"{h:>13s}" for h in header))
    for name, X, y, hidden, batch_size, epochs in workloads(args.quick):
        loop, kernels, fast = measure(X, y, hidden, batch_size, epochs, args.repeats)
        python = statistics.median(a - k for a, k in zip(loop, kernels))
        ratio = statistics.median(a / b for a, b in zip(loop, fast))
        if -(-len(X) // batch_size) < compiled.MIN_EPOCH_BATCHES:
            name += " [control: loop both]"
        print(
            f"{name:44s} {statistics.median(loop):13.3f} {python:13.3f} "
            f"{statistics.median(fast):13.3f} {ratio:12.2f}x"
        )
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
