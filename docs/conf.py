"""Sphinx configuration: the Markdown user guide plus the API reference.

Build (warnings are errors, as in CI)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

import re
import sys
from pathlib import Path

# document the checkout being built, not whatever skmlp is installed
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import skmlp

project = "skmlp"
author = "skmlp developers"
copyright = "skmlp developers"
version = release = skmlp.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
]

root_doc = "index"
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# MyST: $...$ and $$...$$ math as used in the guide; GitHub-style anchors so
# that links like [text](concepts.md#the-objective-exactly) resolve
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 4

# autodoc: members are listed explicitly in api.rst, in source order
autodoc_default_options = {"member-order": "bysource"}

# numpydoc renders the docstrings; autodoc's :members: in api.rst already
# lists the methods, so numpydoc's own member tables would duplicate them
numpydoc_show_class_members = False

# numpydoc's validation, limited to the parameter checks: every parameter
# documented (PR01), none that does not exist (PR02), in signature order
# (PR03). LRRangeTestResult is a dataclass whose constructor arguments are
# documented as its Attributes (it is made by lr_range_test, not by users).
numpydoc_validation_checks = {"PR01", "PR02", "PR03"}
numpydoc_validation_exclude = {r"\.LRRangeTestResult$"}

html_theme = "alabaster"
html_title = f"skmlp {release}"
html_static_path = []

# The estimators document ``score``, inherited from scikit-learn's mixins.
# Its docstring links to sections of scikit-learn's own user guide with
# :ref: (``accuracy_score``, ``r2_score``), labels that exist only in
# scikit-learn's docs (intersphinx is off: the build needs no network). In
# docstrings that come from scikit-learn, and only there, keep the link text.
_SKLEARN_REF = re.compile(r":ref:`([^`<]*?)\s*<[^`>]+>`")


def _unlink_sklearn_refs(app, what, name, obj, options, lines):
    if getattr(obj, "__module__", "").startswith("sklearn."):
        lines[:] = [_SKLEARN_REF.sub(r"\1", line) for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", _unlink_sklearn_refs)
