"""``python -m skmlp`` runs its grid search and reports a sensible result."""

import re
import subprocess
import sys


def test_main_job_prints_table_best_params_and_held_out_score():
    done = subprocess.run(
        [sys.executable, "-m", "skmlp", "--n-jobs", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "best parameters" in out
    rows = [ln for ln in out.splitlines() if re.match(r"\s+[0-9.e-]+\s+[0-9.e-]+\s+0\.\d+", ln)]
    assert len(rows) == 9
    held_out = float(re.search(r"held-out accuracy.*: ([0-9.]+)", out).group(1))
    assert held_out > 0.9
