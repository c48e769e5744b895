"""Warnings that point at the user's line.

A warning raised deep inside a fit would otherwise be attributed to whatever
frame sits a fixed number of levels up: scikit-learn's callback wrapper, its
``_fit_context``, a Pipeline step. :func:`warn` attributes it to the first
frame outside skmlp and scikit-learn instead, however many wrappers lie in
between, so the file and line shown are the user's call (``fit``,
``partial_fit``, ``Pipeline.fit``, ...).
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["warn"]

_SKMLP_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _library_dirs() -> tuple[str, ...]:
    dirs = [_SKMLP_DIR]
    sklearn = sys.modules.get("sklearn")
    if sklearn is not None and getattr(sklearn, "__file__", None):
        dirs.append(os.path.dirname(os.path.abspath(sklearn.__file__)) + os.sep)
    return tuple(dirs)


def caller_stacklevel() -> int:
    """The ``stacklevel`` that, passed to ``warnings.warn`` by this function's
    caller, names the first frame outside skmlp and scikit-learn."""
    library = _library_dirs()
    frame, level = sys._getframe(1), 1  # the caller's frame is stacklevel 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(library):
        frame, level = frame.f_back, level + 1
    return level


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn(message, category)``, shown at the user's line."""
    warnings.warn(message, category, stacklevel=caller_stacklevel())
