"""Hidden-layer activations, each with its derivative right beside it.

An activation is a pair of in-place functions over preallocated buffers:

``forward(z, out, work)``
    writes ``f(z)`` into ``out``.  ``out`` may be ``z`` itself unless the
    activation ``needs_input``.
``derivative(z, a, delta, work)``
    multiplies the backpropagated error ``delta`` in place by ``f'(z)``, given
    the pre-activation ``z`` and the output ``a = f(z)``.  It may overwrite
    ``z`` and ``work``; it never touches ``a``, which the weight gradient of
    the next layer still needs.

Most derivatives are functions of the output alone, so the forward pass can
overwrite ``z`` with ``a`` and keep one buffer per layer.  GELU's is not; it
sets ``needs_input=True`` and the network keeps ``z`` in a buffer of its own.
``work`` is a scratch buffer of the same shape, so no call allocates.

Beside its numpy pair, each entry carries everything else an activation is:
the same arithmetic per element in Cython (``c_forward``, ``c_derivative``,
from which ``skmlp/_kernels.pyx`` is generated; see :mod:`skmlp._codegen`),
where the compiled step pays off (``compiled_pays_off``), and its ONNX
graph (``onnx``). An activation with one transcendental function may also
give ``keep``, numpy's pass of that function alone, and the arithmetic over
its result (``c_kept_forward``, ``c_kept_derivative``), which the kernels
of the tabular estimators' parametric activation fuse. Its integer code in
the kernels is its place in :data:`ACTIVATIONS`. Adding an activation is
one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._codegen import CompiledForm, cython
from ._math import sigmoid

__all__ = ["ACTIVATIONS", "Activation"]

LEAKY_SLOPE = 0.01
_GELU_C = float(np.sqrt(2.0 / np.pi))
_GELU_K = 0.044715
_GELU_CLIP = 10.0
# SELU's fixed point constants (Klambauer et al. 2017, eq. 14)
SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
_MISH_CLIP = 20.0


@dataclass(frozen=True)
class Activation:
    """An element-wise activation and its derivative, both in place, with
    their compiled forms and ONNX graph (see the module docstring)."""

    name: str
    forward: Callable[[np.ndarray, np.ndarray, np.ndarray], None]
    derivative: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], None]
    c_forward: CompiledForm | None = None
    c_derivative: CompiledForm | None = None  # None: f' = 1
    # the compiled kernels' split of f into numpy's SIMD pass of its one
    # transcendental function, ``keep(z, s)``, and plain arithmetic over that
    # ``s`` (``c_kept_forward``, and ``c_kept_derivative`` where f' calls
    # one too), fused into the kernels of the parametric activation
    # (skmlp.layers.ParametricActivation); both must give the numpy pair's
    # numbers exactly
    keep: Callable[[np.ndarray, np.ndarray], None] | None = None
    c_kept_forward: CompiledForm | None = None
    c_kept_derivative: CompiledForm | None = None
    # onnx(graph, z, name) -> the output's name; see skmlp.onnx._Graph
    onnx: Callable | None = None
    needs_input: bool = False
    saturates: bool = False  # |f(z)| <= 1 everywhere
    # |f(z)| <= bound_slope * |z| + 1 where it does not saturate
    bound_slope: float = 1.0
    # where the compiled step beats the numpy one, measured with one BLAS
    # thread (docs/performance.md): "always", "small" (a batch's widest hidden
    # layer holds at most compiled.SMALL values) or "never"
    compiled_pays_off: str = "never"

    def output_bound(self, bound: float) -> float:
        """An upper bound on ``|f(z)|`` over all ``|z| <= bound``.

        The squashing activations stay within 1; every other one here is
        within ``bound_slope * |z| + 1`` (ELU's floor is -1, softplus adds at
        most log 2; SELU grows by its scale and its floor is
        ``-SELU_SCALE * SELU_ALPHA``, about -1.76, hence its entry's slope 2).
        """
        return 1.0 if self.saturates else self.bound_slope * bound + 1.0

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """Return ``f(z)`` in a new array (convenience for tests and users)."""
        z = np.array(z, dtype=np.result_type(z, np.float32))
        out = np.empty_like(z)
        self.forward(z, out, np.empty_like(z))
        return out

    def gradient(self, z: np.ndarray) -> np.ndarray:
        """Return ``f'(z)`` in a new array (convenience for tests and users)."""
        z = np.array(z, dtype=np.result_type(z, np.float32))
        a = self(z)
        delta = np.ones_like(z)
        self.derivative(z.copy(), a, delta, np.empty_like(z))
        return delta


# identity: f(z) = z, f' = 1
def _identity(z, out, work):
    if out is not z:
        np.copyto(out, z)


def _identity_derivative(z, a, delta, work):
    pass


# logistic: f(z) = 1 / (1 + exp(-z)), f' = a (1 - a); see _math.sigmoid
_logistic = sigmoid


def _logistic_derivative(z, a, delta, work):
    np.subtract(1.0, a, out=work)
    work *= a
    delta *= work


# tanh: f' = 1 - a^2
def _tanh(z, out, work):
    np.tanh(z, out=out)


def _tanh_derivative(z, a, delta, work):
    np.multiply(a, a, out=work)
    np.subtract(1.0, work, out=work)
    delta *= work


# relu: f(z) = max(z, 0), f' = 1 where a > 0 (0 at the kink, as sklearn)
def _relu(z, out, work):
    np.maximum(z, 0.0, out=out)


def _relu_derivative(z, a, delta, work):
    np.greater(a, 0.0, out=work)
    delta *= work


# leaky_relu: f(z) = z for z > 0 else slope * z; f' = 1 or slope
def _leaky_relu(z, out, work):
    np.multiply(z, LEAKY_SLOPE, out=work)
    np.maximum(z, work, out=out)


def _leaky_relu_derivative(z, a, delta, work):
    np.greater(a, 0.0, out=work)
    work *= 1.0 - LEAKY_SLOPE
    work += LEAKY_SLOPE
    delta *= work


# elu (alpha = 1): f(z) = z for z > 0 else exp(z) - 1; f' = 1 or a + 1
def _elu(z, out, work):
    np.minimum(z, 0.0, out=work)
    np.expm1(work, out=work)
    np.maximum(z, 0.0, out=out)
    out += work


def _elu_derivative(z, a, delta, work):
    np.minimum(a, 0.0, out=work)
    work += 1.0
    delta *= work


# softplus: f(z) = log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|));
# f'(z) = sigmoid(z) = 1 - exp(-a), written -expm1(-a) to keep precision.
def _softplus(z, out, work):
    np.abs(z, out=work)
    np.negative(work, out=work)
    np.exp(work, out=work)
    np.log1p(work, out=work)
    np.maximum(z, 0.0, out=out)
    out += work


def _softplus_derivative(z, a, delta, work):
    np.negative(a, out=work)
    np.expm1(work, out=work)
    np.negative(work, out=work)
    delta *= work


# selu: f(z) = scale * z for z > 0, else scale * alpha * (exp(z) - 1)
# (Klambauer et al. 2017); f' = scale where a > 0, else a + scale * alpha.
# The negative branch multiplies by the one constant scale * alpha, in the
# forward pass and the derivative alike, so that f' is exactly 0 in the far
# negative tail. The derivative reads the output alone, in two passes over
# the one scratch buffer: (min(a, 0) + scale * alpha), then the factor
# 1 / alpha where a > 0.
_SELU_NEGATIVE = SELU_SCALE * SELU_ALPHA


def _selu_keep(z, s):
    np.minimum(z, 0.0, out=s)
    np.expm1(s, out=s)


def _selu(z, out, work):
    _selu_keep(z, work)
    work *= _SELU_NEGATIVE
    np.maximum(z, 0.0, out=out)
    out *= SELU_SCALE
    out += work


def _selu_derivative(z, a, delta, work):
    np.minimum(a, 0.0, out=work)
    work += _SELU_NEGATIVE
    delta *= work
    np.greater(a, 0.0, out=work)
    work *= SELU_SCALE / _SELU_NEGATIVE - 1.0
    work += 1.0
    delta *= work


# mish: f(z) = z tanh(softplus(z)) (Misra 2019). With e = exp(z),
#   t = tanh(softplus(z)) = n / (n + 2),  n = e (e + 2),
# which keeps its relative precision as e -> 0 (t ~ e there). With u = e + 1
# and q = u^2 + 1 = n + 2, the derivative t + z sigmoid(z) (1 - t^2) is
#   f'(z) = e ((u + 1) / q + 4 z u / q^2),
# whose factor e is applied to delta first (exactly) and whose bracket holds
# only O(1) quantities. z is clipped at 20 inside exp: beyond it t is 1 in
# float32 and float64 alike, and q^2 cannot overflow. The second term is
# carried in z, so z and work are the only scratch buffers.
def _mish(z, out, work):
    _mish_keep(z, work)  # e
    np.add(work, 2.0, out=out)
    work *= out  # n
    np.add(work, 2.0, out=out)
    work /= out  # t
    np.multiply(z, work, out=out)


def _mish_keep(z, s):
    np.minimum(z, _MISH_CLIP, out=s)
    np.exp(s, out=s)


def _mish_derivative(z, a, delta, work):
    np.minimum(z, _MISH_CLIP, out=z)
    np.exp(z, out=work)  # e
    delta *= work  # delta e
    z *= delta  # first: z may be as large as the dtype allows, and delta e is 0 there
    work += 1.0  # u
    z *= work
    z *= 4.0  # 4 z u delta e
    work += 1.0
    delta *= work  # delta e (u + 1)
    work -= 1.0
    work *= work
    work += 1.0
    np.reciprocal(work, out=work)  # 1 / q
    delta *= work
    z *= work
    z *= work
    delta += z


# gelu, tanh approximation (Hendrycks & Gimpel 2016):
#   f(z) = z (1 + t) / 2,  t = tanh(u),  u = c (z + k z^3)
#   f'(z) = (1 + t) / 2 + c z p (1 - t^2) / 2,  p = 1 + 3 k z^2
#         = (1 + t) (1/2 + c z p (1 - t) / 2)
# The derivative is arranged so that two scratch buffers (work and z) suffice.
# The polynomial uses z clipped to [-10, 10]: beyond that tanh(u) is exactly
# +-1 in float32 and float64 alike, and z^3 could overflow.
def _gelu(z, out, work):
    np.clip(z, -_GELU_CLIP, _GELU_CLIP, out=out)
    np.multiply(out, out, out=work)
    work *= _GELU_K
    work += 1.0
    work *= out
    work *= _GELU_C
    np.tanh(work, out=work)
    work += 1.0
    work *= 0.5
    np.multiply(z, work, out=out)


def _gelu_derivative(z, a, delta, work):
    np.clip(z, -_GELU_CLIP, _GELU_CLIP, out=z)
    np.multiply(z, z, out=work)
    work *= 3.0 * _GELU_K
    work += 1.0
    work *= z  # z p = z + 3 k z^3
    # u = c (z + k z^3) = c (2 z + z p) / 3
    z *= 2.0
    z += work
    z *= _GELU_C / 3.0
    np.tanh(z, out=z)  # t
    z += 1.0  # 1 + t
    delta *= z
    np.subtract(2.0, z, out=z)  # 1 - t
    work *= 0.5 * _GELU_C
    work *= z
    work += 0.5
    delta *= work


# --- ONNX graphs -------------------------------------------------------------
# onnx(g, z, name) adds the activation of the tensor z to the graph g and
# returns its output's name; g.node(op_type, inputs, hint, **attributes) adds
# an operator, g.const(hint, value) a constant in the graph's dtype g.dtype.
def _onnx_op(op_type: str, float64: Callable | None = None, **attrs) -> Callable:
    """The activation as one ONNX operator; in double, the graph ``float64``
    where onnxruntime has no double kernel for the operator."""

    def onnx(g, z, name):
        if float64 is not None and g.dtype == np.float64:
            return float64(g, z, name)
        return g.node(op_type, [z], name, **attrs)

    return onnx


def _leaky_relu_onnx(g, z, name):
    return g.node("Max", [z, g.node("Mul", [z, g.const("slope", LEAKY_SLOPE)])], name)


def _elu_onnx(g, z, name):
    neg = g.node("Exp", [g.node("Min", [z, g.const("zero", 0.0)])])
    neg = g.node("Sub", [neg, g.const("one", 1.0)])
    return g.node("Add", [g.node("Relu", [z]), neg], name)


def _softplus_onnx(g, z, name):
    tail = g.node("Exp", [g.node("Neg", [g.node("Abs", [z])])])
    tail = g.node("Log", [g.node("Add", [tail, g.const("one", 1.0)])])
    return g.node("Add", [g.node("Relu", [z]), tail], name)


def _selu_onnx(g, z, name):
    # scale * relu(z) + scale * alpha * (exp(min(z, 0)) - 1), as _selu
    # (onnxruntime has no double kernel for Selu)
    neg = g.node("Exp", [g.node("Min", [z, g.const("zero", 0.0)])])
    neg = g.node("Sub", [neg, g.const("one", 1.0)])
    neg = g.node("Mul", [neg, g.const("selu_negative", _SELU_NEGATIVE)])
    pos = g.node("Mul", [g.node("Relu", [z]), g.const("selu_scale", SELU_SCALE)])
    return g.node("Add", [pos, neg], name)


def _mish_onnx(g, z, name):
    # z tanh(softplus(z)), softplus written stably as _softplus_onnx
    return g.node("Mul", [z, g.node("Tanh", [_softplus_onnx(g, z, None)])], name)


def _gelu_onnx(g, z, name):
    # 0.5 z (1 + tanh(c (x + k x^3))) with x = z clipped, as _gelu (ONNX's
    # own Gelu operator needs opset 20)
    x = g.node("Max", [z, g.const("gelu_lo", -_GELU_CLIP)])
    x = g.node("Min", [x, g.const("gelu_hi", _GELU_CLIP)])
    p = g.node("Mul", [x, x])
    p = g.node("Mul", [p, g.const("gelu_ck", _GELU_C * _GELU_K)])
    p = g.node("Add", [p, g.const("gelu_c", _GELU_C)])
    t = g.node("Tanh", [g.node("Mul", [p, x])])
    t = g.node("Add", [t, g.const("one", 1.0)])
    t = g.node("Mul", [t, g.const("half", 0.5)])
    return g.node("Mul", [z, t], name)


# --- the registry: the order gives each activation its code in the kernels ------
ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation(
            "identity",
            _identity,
            _identity_derivative,
            c_forward=cython("out = z"),
            onnx=_onnx_op("Identity"),
            compiled_pays_off="always",
        ),
        Activation(
            "logistic",
            _logistic,
            _logistic_derivative,
            c_forward=cython("out = _sigmoid(z)"),
            c_derivative=cython("delta *= (1 - a) * a"),
            onnx=_onnx_op("Sigmoid"),
            saturates=True,
            compiled_pays_off="small",
        ),
        Activation(
            "tanh",
            _tanh,
            _tanh_derivative,
            c_forward=cython("out = _tanh(z)"),
            c_derivative=cython("delta *= 1 - a * a"),
            onnx=_onnx_op("Tanh"),
            saturates=True,
        ),
        Activation(
            "relu",
            _relu,
            _relu_derivative,
            c_forward=cython("out = z if z > 0 else 0"),
            c_derivative=cython("delta *= 1 if a > 0 else 0"),
            onnx=_onnx_op("Relu"),
            compiled_pays_off="always",
        ),
        Activation(
            "leaky_relu",
            _leaky_relu,
            _leaky_relu_derivative,
            c_forward=cython("w = z * slope", "out = z if z > w else w", slope=LEAKY_SLOPE),
            c_derivative=cython(
                "delta *= (1 if a > 0 else 0) * rest + slope",
                rest=1 - LEAKY_SLOPE,
                slope=LEAKY_SLOPE,
            ),
            onnx=_onnx_op("LeakyRelu", _leaky_relu_onnx, alpha=LEAKY_SLOPE),
            compiled_pays_off="small",
        ),
        Activation(
            "elu",
            _elu,
            _elu_derivative,
            c_forward=cython("out = (z if z > 0 else 0) + _expm1(z if z < 0 else 0)"),
            c_derivative=cython("delta *= (a if a < 0 else 0) + 1"),
            onnx=_onnx_op("Elu", _elu_onnx, alpha=1.0),
            compiled_pays_off="small",
        ),
        Activation(
            "gelu",
            _gelu,
            _gelu_derivative,
            c_forward=cython(
                "c = -clip if z < -clip else (clip if z > clip else z)",
                "w = (c * c * gk + 1) * c * gc",
                "out = z * ((_tanh(w) + 1) * half)",
                gk=_GELU_K,
                gc=_GELU_C,
                clip=_GELU_CLIP,
                half=0.5,
            ),
            # (1 + t)(1/2 + c z p (1 - t) / 2), p = 1 + 3 k z^2, as _gelu_derivative
            c_derivative=cython(
                "v = -clip if z < -clip else (clip if z > clip else z)",
                "p = (v * v * k3 + 1) * v",
                "t = _tanh((v * 2 + p) * c3) + 1",
                "delta = delta * t * (p * c2 * (2 - t) + half)",
                k3=3 * _GELU_K,
                c3=_GELU_C / 3,
                c2=0.5 * _GELU_C,
                half=0.5,
                clip=_GELU_CLIP,
            ),
            onnx=_gelu_onnx,
            needs_input=True,
        ),
        Activation(
            "softplus",
            _softplus,
            _softplus_derivative,
            c_forward=cython("out = (z if z > 0 else 0) + _log1p(_exp(-fabs(z)))"),
            c_derivative=cython("delta *= -_expm1(-a)"),
            onnx=_onnx_op("Softplus", _softplus_onnx),
        ),
        Activation(
            "selu",
            _selu,
            _selu_derivative,
            c_forward=cython(
                "out = z * scale if z > 0 else sa * _expm1(z)",
                scale=SELU_SCALE,
                sa=_SELU_NEGATIVE,
            ),
            c_derivative=cython(
                "delta *= scale if a > 0 else a + sa", scale=SELU_SCALE, sa=_SELU_NEGATIVE
            ),
            keep=_selu_keep,
            # _selu's order: max(z, 0) scale + s sa, NaN passed on as np.maximum
            # does; change them together (compared bit for bit in the tests)
            c_kept_forward=cython(
                "out = (zero if z < zero else z) * scale + s * sa",
                scale=SELU_SCALE,
                sa=_SELU_NEGATIVE,
                zero=0.0,
            ),
            onnx=_onnx_op("Selu", _selu_onnx, alpha=SELU_ALPHA, gamma=SELU_SCALE),
            bound_slope=2.0,
        ),
        Activation(
            "mish",
            _mish,
            _mish_derivative,
            c_forward=cython(
                "em = _exp(z if z < clip else clip)",
                "nn = em * (em + 2)",
                "out = z * (nn / (nn + 2))",
                clip=_MISH_CLIP,
            ),
            c_derivative=cython(
                "v = z if z < clip else clip",
                "em = _exp(v)",
                "d = delta * em",
                "u = em + 1",
                "s = v * d * u * 4",
                "p = u + 1",
                "d = d * p",
                "u2 = p - 1",
                "w = 1 / (u2 * u2 + 1)",
                "delta = d * w + s * w * w",
                clip=_MISH_CLIP,
            ),
            keep=_mish_keep,
            # _mish's and _mish_derivative's operations in their order, e = s
            # given: change them together (tests/test_parametric_kernel.py
            # compares them bit for bit). The constants are named, so that they
            # have the kernel's precision (Cython writes a literal as a double,
            # and the float32 kernel's arithmetic with it would be double too)
            c_kept_forward=cython("nn = s * (s + two)", "out = z * (nn / (nn + two))", two=2.0),
            c_kept_derivative=cython(
                "v = clip if z > clip else z",
                "d = delta * s",
                "u = s + one",
                "q = v * d * u * four",
                "p = u + one",
                "d = d * p",
                "u2 = p - one",
                "w = one / (u2 * u2 + one)",
                "delta = d * w + q * w * w",
                clip=_MISH_CLIP,
                one=1.0,
                four=4.0,
            ),
            onnx=_mish_onnx,
            needs_input=True,
        ),
    )
}
