"""The benchmark script runs (at smoke-test size) and prints every workload."""

import subprocess
import sys
from pathlib import Path

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
