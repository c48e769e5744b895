"""The generator of the compiled kernels (skmlp._codegen, skmlp/_kernels.pyx.tp).

The kernels' parity with the numpy engine is tested in test_compiled.py;
here: a new registry entry reaches the generated source with no other edit,
and the generator refuses forms the template could not compile correctly.
"""

import dataclasses
import pathlib
import re

import pytest

from skmlp import _codegen
from skmlp.activations import ACTIVATIONS
from skmlp.losses import LOSSES
from skmlp.optimizers import OPTIMIZERS, Optimizer

TEMPLATE = pathlib.Path(_codegen.__file__).with_name("_kernels.pyx.tp")

pytest.importorskip("Cython.Tempita")


def _render(tmp_path, activations=ACTIVATIONS, losses=LOSSES, optimizers=OPTIMIZERS):
    out = tmp_path / "_kernels.pyx"
    _codegen.render(str(TEMPLATE), str(out), activations, losses, optimizers)
    return out.read_text()


def _function(source, name):
    """The source of the cdef function ``name`` in the generated kernels."""
    match = re.search(rf"^cdef \w+ {name}\(.*?(?=^\S)", source, re.S | re.M)
    assert match, name
    return match.group(0)


def test_every_registry_entry_has_its_kernels_and_its_code(tmp_path):
    source = _render(tmp_path)
    activate, derive = _function(source, "_activate"), _function(source, "_derive")
    for code, (name, activation) in enumerate(ACTIVATIONS.items()):
        assert f"code == {code}:\n        _forward_{name}(z, out, size)" in activate
        has_derivative = f"code == {code}:\n        _derive_{name}(z, a, delta, size)" in derive
        assert has_derivative == (activation.c_derivative is not None)
    per_sample, link = _function(source, "_per_sample"), _function(source, "_link")
    for code, (name, loss) in enumerate(LOSSES.items()):
        assert f"loss == {code}:\n        return _value_{name}(setting" in per_sample
        linked = f"loss == {code}:  # {name}\n        _link_{loss.out_activation}(" in link
        assert linked == (loss.out_activation != "identity")
    names = re.search(r"^ACTIVATIONS = \((.*)\)$", source, re.M).group(1)
    assert [n.strip(' "') for n in names.split(",") if n.strip()] == list(ACTIVATIONS)


def test_a_new_activation_is_one_registry_entry(tmp_path):
    swish = dataclasses.replace(
        ACTIVATIONS["logistic"],
        name="swish",
        c_forward=_codegen.cython("s = _sigmoid(z)", "out = z * s * beta", beta=1.5),
        c_derivative=_codegen.cython("delta *= a + half", half=0.5),
    )
    source = _render(tmp_path, {**ACTIVATIONS, "swish": swish})
    code = len(ACTIVATIONS)
    forward = _function(source, "_forward_swish")
    assert "cdef floating beta = <floating>(1.5)" in forward
    assert "cdef floating s\n" in forward  # the temporary, declared
    assert "out[i] = z[i] * s * beta" in forward
    assert "delta[i] *= a[i] + half" in _function(source, "_derive_swish")
    assert f"elif code == {code}:\n        _forward_swish(z, out, size)" in source
    assert f'"{list(ACTIVATIONS)[-1]}", "swish", )' in source  # appended last


def test_the_parametric_kernel_applies_the_derivatives_that_call_nothing(tmp_path):
    # f' inline in the parametric activation's backward kernel where its form
    # is arithmetic only; where it calls a math helper numpy's f' runs
    plain = dataclasses.replace(
        ACTIVATIONS["relu"],
        name="plain",
        c_derivative=_codegen.cython("delta *= a + half", half=0.5),
    )
    calls = dataclasses.replace(
        plain, name="calls", c_derivative=_codegen.cython("delta *= _exp(a)")
    )
    source = _render(tmp_path, {**ACTIVATIONS, "plain": plain, "calls": calls})
    finish = _function(source, "_finish_plain")
    assert "delta *= a + half" in finish  # the form's names are scalars there
    assert "pa_d_in[i] = delta + (pa_delta[i] - pa_t)" in finish
    assert "_finish_calls" not in source
    names = re.search(r"^PARAMETRIC_DERIVATIVES = \((.*)\)$", source, re.M).group(1)
    expected = [
        n for n, a in ACTIVATIONS.items() if a.c_derivative is None or not a.c_derivative.calls()
    ]
    assert [n.strip(' "') for n in names.split(",") if n.strip()] == [*expected, "plain"]


def test_a_new_loss_is_one_registry_entry(tmp_path):
    log_cosh = dataclasses.replace(
        LOSSES["squared_error"],
        name="log_cosh",
        c_value=_codegen.cython("total += log(cosh(r))"),
        c_gradient=_codegen.cython("delta = _tanh(delta)"),
        c_value_factor=1.0,
    )
    source = _render(tmp_path, losses={**LOSSES, "log_cosh": log_cosh})
    code = len(LOSSES)
    assert "total += log(cosh(r))" in _function(source, "_value_log_cosh")
    assert "delta[i] = _tanh(delta[i])" in _function(source, "_gradient_log_cosh")
    assert f"loss == {code}:\n        _gradient_log_cosh(" in source


def test_constants_are_written_exactly():
    form = _codegen.cython("out = z * c", c=0.1 + 0.2, e="1 - setting")
    text = form.declarations("forward")
    assert f"<floating>({0.1 + 0.2!r})" in text
    assert float(repr(0.1 + 0.2)) == 0.1 + 0.2
    assert "cdef floating e = <floating>(1 - setting)" in text


def test_only_element_names_are_indexed():
    form = _codegen.cython("t = _tanh(z) + a_z", "delta = delta * t * za")
    body = form.body("derivative")
    assert "t = _tanh(z[i]) + a_z" in body
    assert "delta[i] = delta[i] * t * za" in body
    assert form.temporaries("derivative") == ["t"]


def test_a_derivative_that_reads_z_must_keep_it(tmp_path):
    bad = dataclasses.replace(ACTIVATIONS["relu"], c_derivative=_codegen.cython("delta *= z"))
    with pytest.raises(ValueError, match="needs_input"):
        _render(tmp_path, {**ACTIVATIONS, "relu": bad})


@pytest.mark.parametrize("scalar", ["i", "size", "total", "z", "pa_t"])
def test_a_form_may_not_shadow_the_kernels_names(tmp_path, scalar):
    bad = dataclasses.replace(
        ACTIVATIONS["relu"], c_forward=_codegen.cython(f"out = z * {scalar}", **{scalar: 2.0})
    )
    with pytest.raises(ValueError, match=repr(scalar)):
        _render(tmp_path, {**ACTIVATIONS, "relu": bad})


def test_a_loss_needs_a_link_the_kernels_have(tmp_path):
    bad = dataclasses.replace(LOSSES["poisson"], out_activation="softsign")
    with pytest.raises(ValueError, match="softsign"):
        _render(tmp_path, losses={**LOSSES, "poisson": bad})


def test_rendering_again_leaves_an_unchanged_file_alone(tmp_path):
    out = tmp_path / "_kernels.pyx"
    assert _codegen.render(str(TEMPLATE), str(out), ACTIVATIONS, LOSSES)
    assert not _codegen.render(str(TEMPLATE), str(out), ACTIVATIONS, LOSSES)


def test_every_optimizer_has_its_kernel_once(tmp_path):
    source = _render(tmp_path)
    for cls in OPTIMIZERS.values():
        form = cls.c_update
        signature = f"def {cls.kernel}_update({form.parameters('update')}):"
        assert source.count(signature) == 1  # adamw runs Adam's kernel
        assert signature.startswith(f"def {cls.kernel}_update(floating[::1] params, ")


def test_a_new_optimizer_is_one_registry_entry(tmp_path):
    class SignSGD(Optimizer):
        kernel = "sign_sgd"
        c_update = _codegen.cython(
            "velocity = velocity * mu + grad",
            "params -= lr * ((velocity > 0) - (velocity < 0))",
            arrays=("velocity",),
            scalars=("momentum", "rate"),
            mu="momentum",
            lr="rate",
        )

    source = _render(tmp_path, optimizers={**OPTIMIZERS, "sign_sgd": SignSGD})
    kernel = re.search(r"^def sign_sgd_update\(.*?(?=^\S|\Z)", source, re.S | re.M).group(0)
    assert kernel.startswith(
        "def sign_sgd_update(floating[::1] params, floating[::1] grad, "
        "floating[::1] velocity, double momentum, double rate):"
    )
    assert "cdef floating mu = <floating>(momentum)" in kernel
    assert "velocity[i] = velocity[i] * mu + grad[i]" in kernel
    assert "params[i] -= lr * ((velocity[i] > 0) - (velocity[i] < 0))" in kernel


def test_an_optimizer_scalar_may_not_take_the_loop_index(tmp_path):
    class Bad(Optimizer):
        kernel = "bad"
        c_update = _codegen.cython("params -= i * grad", scalars=("i",))

    with pytest.raises(ValueError, match="bad: its update form may not name a scalar 'i'"):
        _render(tmp_path, optimizers={"bad": Bad})
