"""Peak memory of one fit with ``dtype='auto'`` against ``dtype='float64'``.

With ``dtype='auto'`` (the default), float64 input of at least 10,000 rows
trains in float32: ``fit`` makes a float32 copy of ``X`` (4 bytes per entry)
next to the caller's float64 array, and the network trains on that. This
script fits one epoch of a small network on random float64 data each way
and prints the peak memory numpy and Python allocated during ``fit``
(``tracemalloc``; the caller's ``X`` and ``y`` exist before and are not
counted), so the difference is what the float32 copy costs::

    python benchmarks/dtype_memory.py             # 1,000,000 x 50
    python benchmarks/dtype_memory.py --rows 200000 --features 20
"""

from __future__ import annotations

import argparse
import sys
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

# the skmlp of this checkout, not one installed in the environment: python
# puts benchmarks/ first on the path, so a plain import would find the latter
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from skmlp import MLPRegressor


def peak_mib(X, y, dtype: str) -> float:
    """Peak MiB traced during one epoch's ``fit`` with ``dtype``."""
    est = MLPRegressor(hidden_layer_sizes=(16,), max_iter=1, dtype=dtype, random_state=0)
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=50)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.rows, args.features))
    y = X[:, 0] + 0.1 * rng.standard_normal(args.rows)
    print(f"X: {args.rows:,} x {args.features} float64, {X.nbytes / 2**20:.0f} MiB")
    peaks = {dtype: peak_mib(X, y, dtype) for dtype in ("float64", "auto")}
    for dtype, peak in peaks.items():
        print(f"dtype={dtype!r:10} peak during fit: {peak:7.1f} MiB")
    extra = peaks["auto"] - peaks["float64"]
    print(
        f"dtype='auto' costs {extra:+.1f} MiB (a float32 copy of X is {X.nbytes / 2**21:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
