"""The compiled forms of the registries' formulas, and the generator of the kernels.

An activation or a loss is written once, in its registry entry: the numpy
functions (the reference engine) and, beside them, the same per-element
arithmetic as a few lines of Cython, a :class:`CompiledForm`. At build
time ``setup.py`` renders ``skmlp/_kernels.pyx.tp`` with Tempita into
``skmlp/_kernels.pyx``: the integer codes, each entry's kernels and the
dispatch between them all come from the registries (:func:`namespace`).
Adding an activation, a loss or an optimizer is one registry entry; nothing
here or in the template names one.

A form's lines are Cython statements over the scalars of one element; the
names of the form's *kind* (below) stand for the element at the loop's
index, and every other name a line assigns is a scalar temporary:

====================  ==============================  ============================
kind                  element names                   the lines must
====================  ==============================  ============================
``forward``           ``z``, ``out``                  assign ``out = f(z)``, last
``derivative``        ``z``, ``a``, ``delta``         assign ``delta`` (``delta *
                                                      f'(z)``), reading ``a = f(z)``
                                                      and (``needs_input``) ``z``
``kept_forward``      ``z``, ``s``, ``out``           assign ``out = f(z)`` from
                                                      ``s``, what the entry's
                                                      ``keep`` stored; no calls
``kept_derivative``   ``z``, ``a``, ``s``,            as ``derivative``, from
                      ``delta``                       ``s``; no calls
``value``             ``y``, ``pred``; ``r = pred -   add the element's loss to the
                      y`` (double), ``setting``,      double ``total``
                      ``eps``
``gradient``          ``delta``, ``pred``;            turn ``delta = pred - y``
                      ``setting``                     into d loss / d raw output
``update``            ``params``, ``grad`` and the    take one optimizer step in
                      form's ``arrays`` (state);      place, on the element
                      its ``scalars`` (doubles)
====================  ==============================  ============================

Temporaries and constants have the kernel's precision (``floating``: float
or double), except in ``value``, which sums in double. A constant is a
float, written exactly (``repr``), or a C expression in double (over
``setting``, say); each is cast to the kernel's precision once per call.
The math helpers a line may call (``_exp``, ``_expm1``, ``_log1p``,
``_tanh``, ``_sigmoid``, ``_clipped_log``, libc's ``fabs`` and ``log``)
are defined in the template.

This module imports nothing but the standard library: ``setup.py`` loads
it, and the registries, without importing skmlp (or scikit-learn).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CompiledForm", "cython", "namespace", "render"]

# the element names of each kind of form, and the type of its temporaries
KINDS = {
    "forward": (("z", "out"), "floating"),
    "derivative": (("z", "a", "delta"), "floating"),
    # an activation's forward and derivative over ``s``, the value of the
    # transcendental function its ``keep`` stored (plain arithmetic)
    "kept_forward": (("z", "s", "out"), "floating"),
    "kept_derivative": (("z", "a", "s", "delta"), "floating"),
    "value": (("y", "pred"), "double"),
    "gradient": (("delta", "pred"), "floating"),
    # an optimizer's step; its state vectors are the form's own ``arrays``
    "update": (("params", "grad"), "floating"),
}
# the output links the template implements (a loss's ``out_activation``)
LINKS = ("identity", "exp", "softmax", "logistic")
# names a form may use that are neither elements nor temporaries, and the
# kernels' own (loop index, lengths): no constant or temporary may take one
_GIVEN = {"r", "setting", "eps", "total"}
_RESERVED = {*_GIVEN, "i", "n", "size"}
# words a line may put before a parenthesis without calling anything
_KEYWORDS = {"if", "else", "and", "or", "not", "in", "is"}
# The parametric activation's kernels inline an activation's lines beside
# names of their own, which all start with this.
RESERVED_PREFIX = "pa_"


@dataclass(frozen=True)
class CompiledForm:
    """One element's arithmetic in Cython, for the generated kernels.

    Parameters
    ----------
    lines : tuple of str
        Cython statements; see the module docstring for the names each kind
        of form reads and writes.
    constants : tuple of (str, float or str)
        Named constants: a float, or a C expression in double.
    arrays : tuple of str
        Element names of the form's own, beside its kind's (an optimizer's
        state vectors): the kernel takes one array of each, in this order.
    scalars : tuple of str
        The kernel's runtime parameters (doubles, after the arrays), which
        the constants' C expressions may name.
    """

    lines: tuple[str, ...]
    constants: tuple[tuple[str, float | str], ...] = ()
    arrays: tuple[str, ...] = ()
    scalars: tuple[str, ...] = ()

    def elements(self, kind: str) -> tuple[str, ...]:
        """The names that stand for the element at the loop's index."""
        return KINDS[kind][0] + self.arrays

    def parameters(self, kind: str) -> str:
        """The kernel's parameter list: every element's array, then the scalars."""
        arrays = [f"floating[::1] {name}" for name in self.elements(kind)]
        return ", ".join(arrays + [f"double {name}" for name in self.scalars])

    def temporaries(self, kind: str) -> list[str]:
        """The scalars the lines assign, other than the kind's elements."""
        elements = self.elements(kind)
        assigned = (re.match(r"\s*(\w+)\s*[-+*/]?=(?!=)", line) for line in self.lines)
        names = [m.group(1) for m in assigned if m]
        skip = {*elements, *_GIVEN}
        return list(dict.fromkeys(n for n in names if n not in skip))

    def reads(self, name: str) -> bool:
        """Whether the lines use ``name``."""
        return any(re.search(rf"\b{name}\b", line) for line in self.lines)

    def declarations(self, kind: str, indent: int = 4) -> str:
        """The ``cdef`` lines of the loop index ``i``, the constants and the
        temporaries."""
        _, scalar = KINDS[kind]
        pad = " " * indent
        out = [f"{pad}cdef Py_ssize_t i"]
        out += [
            f"{pad}cdef {scalar} {name} = <{scalar}>({_literal(value)})"
            for name, value in self.constants
        ]
        temps = self.temporaries(kind)
        if temps:
            out.append(f"{pad}cdef {scalar} {', '.join(temps)}")
        return "\n".join(out)

    def body(self, kind: str, indent: int = 8) -> str:
        """The lines, each element name indexed by the loop's ``i``, indented."""
        elements = self.elements(kind)
        pattern = re.compile(rf"(?<![\w.])({'|'.join(elements)})\b(?!\s*\()")
        pad = " " * indent
        return "\n".join(pad + pattern.sub(r"\1[i]", line) for line in self.lines)

    def copies(self) -> bool:
        """Whether the form is ``out = z`` (nothing to do in place)."""
        return tuple(line.replace(" ", "") for line in self.lines) == ("out=z",)

    def calls(self) -> bool:
        """Whether the lines call a function (a math helper: one scalar
        libm call per element, where numpy's SIMD functions are faster)."""
        return any(
            match.group(1) not in _KEYWORDS
            for line in self.lines
            for match in re.finditer(r"(\w+)\s*\(", line)
        )

    def literals(self) -> bool:
        """Whether the lines hold a number (Cython writes one as a double, so
        a float32 kernel's arithmetic with it would be double too)."""
        return any(re.search(r"(?<![\w.])\.?\d", line) for line in self.lines)


def cython(
    *lines: str, arrays: tuple[str, ...] = (), scalars: tuple[str, ...] = (), **constants
) -> CompiledForm:
    """A :class:`CompiledForm` of ``lines`` and named ``constants`` (and, for
    an optimizer's step, its state ``arrays`` and runtime ``scalars``)."""
    return CompiledForm(tuple(lines), tuple(constants.items()), tuple(arrays), tuple(scalars))


def _literal(value: float | str) -> str:
    if isinstance(value, str):
        return value
    text = repr(float(value))  # shortest round trip: the same double in C
    if text in ("inf", "-inf", "nan"):
        raise ValueError(f"constant {value!r} has no C literal")
    return text


@dataclass(frozen=True)
class _Entry:
    """A registry entry as the template sees it."""

    name: str
    code: int
    entry: object


def _check(kind: str, form: CompiledForm | None, name: str) -> None:
    if form is None:
        return
    elements = form.elements(kind)
    for scalar in [c for c, _ in form.constants] + form.temporaries(kind) + list(form.scalars):
        if scalar in _RESERVED or scalar in elements or scalar.startswith(RESERVED_PREFIX):
            raise ValueError(f"{name}: its {kind} form may not name a scalar {scalar!r}")


def namespace(activations: dict, losses: dict, optimizers: dict | None = None) -> dict:
    """What ``_kernels.pyx.tp`` is rendered with: the registries' entries in
    order (the order is each entry's integer code), checked; each optimizer
    class's step (``c_update``) once."""
    acts = [_Entry(name, code, a) for code, (name, a) in enumerate(activations.items())]
    loss_entries = [_Entry(name, code, loss) for code, (name, loss) in enumerate(losses.items())]
    for e in acts:
        a = e.entry
        if not e.name.isidentifier():
            raise ValueError(f"activation name {e.name!r} is not an identifier")
        _check("forward", a.c_forward, e.name)
        _check("derivative", a.c_derivative, e.name)
        if a.c_derivative is not None and a.c_derivative.reads("z") and not a.needs_input:
            raise ValueError(f"{e.name}: its derivative reads z, so it needs_input=True")
        _check("kept_forward", a.c_kept_forward, e.name)
        _check("kept_derivative", a.c_kept_derivative, e.name)
        if (a.keep is None) != (a.c_kept_forward is None) or (
            a.keep is None and a.c_kept_derivative is not None
        ):
            raise ValueError(f"{e.name}: keep and its kept forms go together")
        for form in (a.c_kept_forward, a.c_kept_derivative):
            if form is not None and form.calls():
                raise ValueError(f"{e.name}: a kept form is plain arithmetic over s, no calls")
            if form is not None and form.literals():
                raise ValueError(
                    f"{e.name}: a kept form names its constants (a number in a line "
                    "would make float32 arithmetic double, and the result not numpy's)"
                )
        if a.c_kept_derivative is None and a.keep is not None and a.c_derivative is not None:
            if a.c_derivative.calls():
                raise ValueError(
                    f"{e.name}: its c_derivative calls a helper, so with keep it needs "
                    "a c_kept_derivative (f' from s)"
                )
    for e in loss_entries:
        loss = e.entry
        if not e.name.isidentifier():
            raise ValueError(f"loss name {e.name!r} is not an identifier")
        if loss.out_activation not in LINKS:
            raise ValueError(f"{e.name}: the kernels have no link {loss.out_activation!r}")
        _check("value", loss.c_value, e.name)
        _check("gradient", loss.c_gradient, e.name)
    return {
        "activations": acts,
        "losses": loss_entries,
        "optimizers": _optimizer_kernels(optimizers or {}),
    }


def _optimizer_kernels(optimizers: dict) -> list[_Entry]:
    """One entry per distinct kernel of the optimizer classes (``adamw`` runs
    Adam's step), named by the class's ``kernel``."""
    kernels = {}
    for cls in optimizers.values():
        kernels.setdefault(cls.kernel, cls)
    entries = [_Entry(name, code, cls) for code, (name, cls) in enumerate(kernels.items())]
    for e in entries:
        if not e.name.isidentifier():
            raise ValueError(f"optimizer kernel name {e.name!r} is not an identifier")
        _check("update", e.entry.c_update, e.name)
    return entries


def render(
    template: str, out: str, activations: dict, losses: dict, optimizers: dict | None = None
) -> bool:
    """Render ``template`` into ``out`` (rewritten only when it changes, so
    that an unchanged build is not recompiled); True if it changed."""
    from Cython.Tempita import Template

    with open(template, encoding="utf-8") as f:
        text = Template(f.read(), name=template).substitute(
            namespace(activations, losses, optimizers)
        )
    try:
        with open(out, encoding="utf-8") as f:
            if f.read() == text:
                return False
    except FileNotFoundError:
        pass
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
    return True
