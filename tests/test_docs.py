"""The Sphinx documentation builds with warnings as errors, as in CI."""

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("numpydoc")
pytest.importorskip("myst_parser")

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_docs_build_without_warnings(tmp_path):
    out = tmp_path / "html"
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
    proc = subprocess.run([*cmd, str(DOCS), str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    api = (out / "api.html").read_text(encoding="utf-8")
    assert 'id="skmlp.MLPClassifier"' in api
    assert 'id="skmlp.MLPRegressor.partial_fit"' in api
    assert 'id="skmlp.lr_range_test"' in api
    # the pages the estimators' HTML repr links to (DOCS_URL + generated/...)
    for name in ("MLPClassifier", "MLPRegressor"):
        page = (out / "generated" / f"skmlp.{name}.html").read_text(encoding="utf-8")
        assert "weight_init" in page and "partial_fit" in page
