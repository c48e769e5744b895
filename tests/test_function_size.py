"""No function in skmlp/ over 80 lines or 12 parameters (issue 16).

Long functions hide their steps and long signatures their coupling. A
function's length is its lines from ``def`` to its end, docstring excluded
(a numpydoc docstring documents, it does not add control flow); ``self`` and
``cls`` are not parameters. The estimators' ``__init__``s are exempt: they
list every hyperparameter explicitly, as scikit-learn requires. Only the
Python sources are read here; the Cython kernels (``*.pyx``) are held to the
same limits where they are generated.
"""

import ast
import re
from pathlib import Path

import pytest

import skmlp

MAX_LINES = 80
MAX_PARAMETERS = 12
SOURCES = sorted(Path(skmlp.__file__).parent.glob("*.py"))
EXEMPT = {
    ("estimators.py", "MLPClassifier.__init__"),
    ("estimators.py", "MLPRegressor.__init__"),
    ("tabular.py", "TabularMLPClassifier.__init__"),
    ("tabular.py", "TabularMLPRegressor.__init__"),
}


def _functions(tree: ast.AST, prefix: str = ""):
    """``(qualified name, node)`` of every function, nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield prefix + node.name, node
            yield from _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")
        else:
            yield from _functions(node, prefix)


def _length(node) -> int:
    lines = node.end_lineno - node.lineno + 1
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        if isinstance(first.value.value, str):
            lines -= first.end_lineno - first.lineno + 1
    return lines


def _n_parameters(node) -> int:
    args = node.args
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    return len([n for n in names if n not in ("self", "cls")])


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_function_is_too_long_or_takes_too_many_parameters(path):
    too_big = []
    for name, node in _functions(ast.parse(path.read_text(encoding="utf-8"))):
        if (path.name, name) in EXEMPT:
            continue
        lines, parameters = _length(node), _n_parameters(node)
        if lines > MAX_LINES or parameters > MAX_PARAMETERS:
            too_big.append(f"{name}: {lines} lines, {parameters} parameters")
    assert not too_big, f"{path.name}: {too_big}"


def test_the_exemptions_exist():
    # an exemption must not outlive the function it names
    names = {
        (path.name, name)
        for path in SOURCES
        for name, _ in _functions(ast.parse(path.read_text(encoding="utf-8")))
    }
    assert EXEMPT <= names


_CYTHON_DEF = re.compile(r"^(\s*)(?:cp?def|def)\s+(?:[\w\[\]]+\s+)*\**(\w+)\s*\(")


def _cython_functions(source: str):
    """``(name, lines, parameters)`` of every function of a Cython source:
    ``def``, ``cdef`` and ``cpdef`` ones, docstrings excluded as above."""
    lines = source.splitlines()
    for i, line in enumerate(lines):
        match = _CYTHON_DEF.match(line)
        if not match:
            continue
        indent, name = len(match.group(1)), match.group(2)
        text, depth, j = line[match.end() :], 1, i  # the parameters, to the matching ")"
        params, current = [], ""
        while depth:
            for ch in text:
                depth += 1 if ch in "([" else (-1 if ch in ")]" else 0)
                if depth == 0:
                    break
                if ch == "," and depth == 1:
                    params.append(current)
                    current = ""
                else:
                    current += ch
            if depth:
                j += 1
                text = lines[j]
        params.append(current)
        params = [p.strip() for p in params if p.strip() and p.strip() not in ("self", "cls")]
        end = j + 1
        body = [k for k in range(end, len(lines)) if lines[k].strip()]
        last = j
        for k in body:
            if len(lines[k]) - len(lines[k].lstrip()) <= indent:
                break
            last = k
        length = last - i + 1
        first = next((k for k in body if k > j), None)
        if first is not None and first <= last and lines[first].strip().startswith('"""'):
            stop = first  # the docstring's last line
            if lines[first].count('"""') == 1:
                stop = next(k for k in range(first + 1, last + 1) if '"""' in lines[k])
            length -= stop - first + 1
        yield name, length, len(params)


def test_no_generated_kernel_is_too_long_or_takes_too_many_parameters(tmp_path):
    """The compiled kernels as generated from the registries (issue 16's
    limits hold for them too)."""
    pytest.importorskip("Cython.Tempita")
    from skmlp import _codegen
    from skmlp.activations import ACTIVATIONS
    from skmlp.losses import LOSSES
    from skmlp.optimizers import OPTIMIZERS

    template = Path(skmlp.__file__).with_name("_kernels.pyx.tp")
    out = tmp_path / "_kernels.pyx"
    _codegen.render(str(template), str(out), ACTIVATIONS, LOSSES, OPTIMIZERS)
    functions = list(_cython_functions(out.read_text(encoding="utf-8")))
    names = {name for name, _, _ in functions}
    assert {"loss_and_grad", "_forward", "_train_batch", "run", "adam_update"} <= names
    too_big = [
        f"{name}: {lines} lines, {parameters} parameters"
        for name, lines, parameters in functions
        if lines > MAX_LINES or parameters > MAX_PARAMETERS
    ]
    assert not too_big, too_big
