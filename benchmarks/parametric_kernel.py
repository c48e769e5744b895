"""Default tabular fits with and without the parametric activation's kernels.

``skmlp.TabularMLPClassifier`` (selu) on ``make_classification(5000, 20)``
and ``skmlp.TabularMLPRegressor`` (mish) on ``make_regression(5000, 20)``,
default settings, each fitted with the kernels of
:class:`skmlp.layers.ParametricActivation` and with its numpy lines
(``skmlp.compiled.compiled_elementwise(False)``; the rest of the engine is
the same both ways), interleaved, ``--repeats`` times. Prints the median
seconds per fit and their ratio. Run it with one BLAS thread::

    OPENBLAS_NUM_THREADS=1 python benchmarks/parametric_kernel.py --repeats 3

``--calls`` times one call of the layer's forward and backward instead
(1,024 x 128 float32, dropout 0.15, best of 5 x 50) for selu and mish, the
activations that keep a transcendental pass: f (and f') from numpy beside
the kernels, as before the kept forms, against ``keep`` and the kernels
computing f (and mish's f') from the kept values.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import timeit
from pathlib import Path

import numpy as np
from sklearn.datasets import make_classification, make_regression

# the skmlp of this checkout, not one installed in the environment
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import skmlp
from skmlp import compiled
from skmlp.activations import ACTIVATIONS


def _per_call(name: str) -> dict:
    """Microseconds per call of each path, best of 5 x 50."""
    kernels, activation = compiled._kernels, ACTIVATIONS[name]
    code = compiled.ACTIVATION_CODES[name]
    rng = np.random.default_rng(0)
    m, n = 1024, 128
    x = rng.normal(size=(m, n)).astype(np.float32)
    alpha = rng.uniform(0.5, 1.5, n).astype(np.float32)
    mask = (rng.random((m, n)) >= 0.15).astype(np.float32) / np.float32(0.85)
    delta = rng.normal(size=(m, n)).astype(np.float32)
    f, out, dropped, work, kept, d_in, scratch, d = (np.empty_like(x) for _ in range(8))
    alpha_grad = np.empty(n, np.float32)

    def forward_before():
        activation.forward(x, f, work)
        kernels.parametric_forward(x, f, alpha, out, mask, dropped)

    def forward_now():
        activation.keep(x, kept)
        kernels.parametric_forward(x, f, alpha, out, mask, dropped, code, kept)

    def backward(kept_values):
        np.copyto(d, delta)
        args = (code, x, f, d, alpha, alpha_grad, mask, d_in, scratch, kept_values)
        if not kernels.parametric_backward(*args):
            activation.derivative(scratch, f, d_in, work)
            np.add(d_in, d, out=d_in)

    calls = {
        "forward before": forward_before,
        "forward now": forward_now,
        "backward before": lambda: backward(None),
        "backward now": lambda: backward(kept),
    }
    forward_now()  # the kept values of x, for the backward
    return {
        label: min(timeit.repeat(call, number=50, repeat=5)) / 50 * 1e6
        for label, call in calls.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--calls", action="store_true", help="time single calls of the layer")
    args = parser.parse_args()
    if compiled.active_engine() != "compiled":
        raise SystemExit("the compiled kernels are not built: nothing to compare")
    if args.calls:
        for name in ("selu", "mish"):
            times = _per_call(name)
            print(name, ", ".join(f"{label} {us:.0f} us" for label, us in times.items()))
        return
    cases = [
        ("TabularMLPClassifier", skmlp.TabularMLPClassifier, make_classification),
        ("TabularMLPRegressor", skmlp.TabularMLPRegressor, make_regression),
    ]
    for name, estimator, make in cases:
        X, y = make(args.rows, 20, random_state=0)
        seconds = {True: [], False: []}
        for _ in range(args.repeats):
            for kernels in (True, False):
                with compiled.compiled_elementwise(kernels):
                    start = time.perf_counter()
                    estimator(random_state=0).fit(X, y)
                    seconds[kernels].append(time.perf_counter() - start)
        fast, slow = statistics.median(seconds[True]), statistics.median(seconds[False])
        print(
            f"{name}: kernels {fast:.2f} s, numpy lines {slow:.2f} s per fit "
            f"(medians of {args.repeats}): {slow / fast:.2f}x",
            flush=True,
        )


if __name__ == "__main__":
    main()
