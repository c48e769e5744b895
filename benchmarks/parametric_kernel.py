"""Default tabular fits with and without the parametric activation's kernels.

``skmlp.TabularMLPClassifier`` (selu) on ``make_classification(5000, 20)``
and ``skmlp.TabularMLPRegressor`` (mish) on ``make_regression(5000, 20)``,
default settings, each fitted with the kernels of
:class:`skmlp.layers.ParametricActivation` and with its numpy lines
(``skmlp.compiled.compiled_elementwise(False)``; the rest of the engine is
the same both ways), interleaved, ``--repeats`` times. Prints the median
seconds per fit and their ratio. Run it with one BLAS thread::

    OPENBLAS_NUM_THREADS=1 python benchmarks/parametric_kernel.py --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from sklearn.datasets import make_classification, make_regression

# the skmlp of this checkout, not one installed in the environment
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import skmlp
from skmlp import compiled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args()
    if compiled.active_engine() != "compiled":
        raise SystemExit("the compiled kernels are not built: nothing to compare")
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
