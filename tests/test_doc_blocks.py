"""Every Python code block in README.md and docs/*.md runs as written, on its own.

Each fenced block whose info string is ``python`` (or ``py``, ``python3``, or
a MyST ``{code-block} python``) is one test, with the id ``<file>:<line of
the opening fence>``. Shell commands and program output belong in ``bash``
and ``text`` blocks, which are not run. A Python block runs alone, with
``exec`` in a fresh namespace (``__name__ == "__main__"``, as for a script)
and the test's temporary directory as the working directory, so it must
import, load and define everything it uses: a reader can copy any single
block into a file and run it. A block that starts with ``>>>`` is a doctest
and runs with :mod:`doctest`, so its printed outputs are checked too. The
blocks run with one BLAS thread (threadpoolctl); that changes nothing but
the speed, which on a busy 2-core machine it improves tenfold.

A block passes only if it raises nothing and emits no warning at all (the
test suite's filters make ``RuntimeWarning`` and ``ConvergenceWarning``
errors, also inside the fits of a search, whose workers get the caller's
filters; any other warning fails the test here). A block that expects a
warning must filter it itself, visibly, as a reader would have to. The one
warning the test ignores is Dask's "Port 8787 is already in use", which says
only that another cluster runs on the machine (another test, another user).

Marked blocks
-------------
An HTML comment on the line immediately before the opening fence marks a
block that needs something the test provides. MyST and GitHub render nothing
for it. The one marker is::

    <!-- test: dask-localcluster -->
    ```python
    with Client("tcp://10.0.0.5:8786") as client:
        ...
    ```

It marks a block that connects to a running Dask scheduler by address, as a
user with a cluster would write it. The test starts a
``LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
dashboard_address=None)`` on 127.0.0.1 and replaces the address string in
every ``Client("tcp://...")`` of the block with that cluster's scheduler
address; the rest of the block runs unchanged. A marked block must contain
such an address, and an unmarked block must not (it would wait for an
unreachable scheduler). Any other marker is an error. Blocks are never
skipped: a block that cannot run as written must be rewritten so that it can.
"""

from __future__ import annotations

import doctest
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

PYTHON_LANGUAGES = {"python", "py", "python3"}
MYST_CODE_DIRECTIVES = {"{code-block}", "{code}", "{code-cell}", "{sourcecode}"}
MARKERS = {"dask-localcluster"}

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
MARKER = re.compile(r"^\s*<!--\s*test:\s*(?P<name>[\w-]+)\s*-->\s*$")
# the string literal of a Client("tcp://host:port", ...) construction
CLIENT_ADDRESS = re.compile(r"""(?<=Client\()\s*(["'])tcp://[^"']*\1""")


@dataclass(frozen=True)
class Block:
    path: Path
    lineno: int  # 1-based line of the opening fence
    source: str
    marker: str | None

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.lineno}"


def _language(info: str) -> str:
    words = info.split()
    if not words:
        return ""
    if words[0] in MYST_CODE_DIRECTIVES:
        return words[1] if len(words) > 1 else ""
    return words[0]


def _blocks(path: Path) -> list[Block]:
    """The fenced Python blocks of one Markdown file (CommonMark fences)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None or (opening["fence"][0] == "`" and "`" in opening["info"]):
            i += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        body = []
        j = i + 1
        while j < len(lines) and not closing.match(lines[j]):
            line = lines[j]
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))) :])
            j += 1
        if _language(opening["info"]) in PYTHON_LANGUAGES:
            marked = MARKER.match(lines[i - 1]) if i > 0 else None
            blocks.append(Block(path, i + 1, "\n".join(body) + "\n", marked and marked["name"]))
        i = j + 1
    return blocks


BLOCKS = [block for path in DOC_FILES for block in _blocks(path)]


def test_blocks_are_found():
    assert len(BLOCKS) >= 10
    assert {b.path.name for b in BLOCKS} >= {"README.md", "deployment.md", "distributed.md"}
    assert any(b.marker == "dask-localcluster" for b in BLOCKS)


def test_markers_sit_on_python_blocks():
    """A marker that is not right above a ```python fence marks nothing: a typo."""
    marked = {(b.path, b.lineno - 1) for b in BLOCKS if b.marker}
    for path in DOC_FILES:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "<!-- test:" in line:
                assert (path, n) in marked, f"{path.name}:{n}: marker not before a python block"


def _run_doctest(block: Block, source: str, namespace: dict) -> None:
    test = doctest.DocTestParser().get_doctest(
        source, namespace, block.id, str(block.path), block.lineno
    )
    report = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    result = runner.run(test, out=report.append, clear_globs=False)
    assert result.failed == 0, "".join(report)


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_block_runs(block, request, tmp_path, monkeypatch):
    assert block.marker in MARKERS | {None}, f"unknown marker {block.marker!r}"
    source = block.source
    if block.marker == "dask-localcluster":
        address = request.getfixturevalue("dask_client").scheduler.address
        source, n = CLIENT_ADDRESS.subn(lambda _: repr(address), source)
        assert n, 'a dask-localcluster block must connect with Client("tcp://...")'
    else:
        assert not CLIENT_ADDRESS.search(source), (
            "this block connects to a remote scheduler: mark it <!-- test: dask-localcluster -->"
        )
    monkeypatch.chdir(tmp_path)  # files a block writes land in the temporary directory
    namespace = {"__name__": "__main__"}
    # one BLAS thread: the blocks' matrices are small, and on a busy 2-core machine
    # OpenBLAS threads that wait for a core spin; a search then took 10x as long
    with warnings.catch_warnings(record=True) as caught, threadpool_limits(limits=1):
        # a scheduler's HTTP server wants port 8787 even with dashboard_address=None;
        # when another cluster on the machine holds it, it takes another port and warns
        warnings.filterwarnings(
            "ignore", r"Port \d+ is already in use", UserWarning, r"distributed\."
        )
        if source.lstrip().startswith(">>>"):
            _run_doctest(block, source, namespace)
        else:
            # blank lines in front, so tracebacks give the line in the Markdown file
            code = compile("\n" * block.lineno + source, str(block.path), "exec")
            exec(code, namespace)
    assert not caught, "the block warns:\n" + "\n".join(
        f"{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}" for w in caught
    )
