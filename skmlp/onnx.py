"""ONNX export of fitted estimators: skl2onnx converters for both MLPs.

Importing this module registers a shape calculator and a converter for
:class:`~skmlp.MLPClassifier` and :class:`~skmlp.MLPRegressor` with
skl2onnx, so that ``skl2onnx.to_onnx`` converts them alone or inside a
Pipeline. The network is written with standard ONNX operators only (MatMul
and Add per layer, then each activation's graph from its registry entry in
:mod:`skmlp.activations`; GELU spelled out from Mul, Add and Tanh), so any
target opset from 13 on works. The graph computes in
float32 (weights are cast), or in float64 when the input is declared double.
Classifiers take skl2onnx's options ``zipmap``, ``output_class_labels`` and
``nocl``; configurations the graph cannot express raise NotImplementedError.
See docs/deployment.md.

Examples
--------
>>> import numpy as np
>>> import onnxruntime as ort
>>> import skl2onnx
>>> import skmlp.onnx  # registers the converters
>>> from sklearn.datasets import load_iris
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> from skmlp import MLPClassifier
>>> X, y = load_iris(return_X_y=True)
>>> X = X.astype(np.float32)
>>> pipe = make_pipeline(
...     StandardScaler(), MLPClassifier((8,), solver="lbfgs", random_state=0)
... ).fit(X, y)
>>> onx = skl2onnx.to_onnx(pipe, X[:1], options={"zipmap": False})
>>> sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
>>> label, proba = sess.run(None, {"X": X[:3]})
>>> label.tolist() == pipe.predict(X[:3]).tolist()
True
>>> bool(np.allclose(proba, pipe.predict_proba(X[:3]), atol=1e-5))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from onnx import TensorProto
from skl2onnx import update_registered_converter
from skl2onnx.common.data_types import (
    BooleanTensorType,
    DoubleTensorType,
    FloatTensorType,
    Int64TensorType,
    StringTensorType,
)
from skl2onnx.common.utils import check_input_and_output_numbers, check_input_and_output_types
from skl2onnx.common.utils_classifier import get_label_classes
from sklearn.utils.validation import check_is_fitted

from .activations import ACTIVATIONS
from .estimators import MLPClassifier, MLPRegressor
from .tabular import TabularMLPClassifier, TabularMLPRegressor

__all__ = ["register"]

_INPUT_TYPES = [BooleanTensorType, DoubleTensorType, FloatTensorType, Int64TensorType]

_OUTPUT_OP = {"identity": "Identity", "exp": "Exp", "logistic": "Sigmoid", "softmax": "Softmax"}


# --- what the graph computes in ----------------------------------------------
def _is_double(operator) -> bool:
    return isinstance(operator.inputs[0].type, DoubleTensorType)


def _float_type(operator):
    return DoubleTensorType if _is_double(operator) else FloatTensorType


def _dtype(operator) -> np.dtype:
    return np.dtype(np.float64 if _is_double(operator) else np.float32)


def _classifier_kind(model) -> str:
    """'binary', 'multiclass' or 'multilabel', from the public fitted attributes."""
    check_is_fitted(model)
    if model.out_activation_ == "softmax":
        return "multiclass"
    return "multilabel" if model.n_outputs_ > 1 else "binary"


def _label_values(scope, model) -> np.ndarray:
    """The class labels as int64 or str, or NotImplementedError naming the labels."""
    classes = np.asarray(get_label_classes(scope, model))  # honours option nocl
    if classes.dtype == np.bool_ or classes.dtype.kind in "iu":
        return classes.astype(np.int64)
    if classes.dtype.kind == "f":
        if np.all(classes == np.round(classes)):
            return classes.astype(np.int64)
        raise NotImplementedError(
            f"ONNX export of {type(model).__name__} with non-integer float class labels "
            f"{classes.tolist()} is not supported; encode the labels as integers or strings."
        )
    if classes.dtype.kind in "US" or all(isinstance(c, str) for c in classes):
        return classes.astype(str)
    raise NotImplementedError(
        f"ONNX export of {type(model).__name__} with class labels of dtype {classes.dtype} "
        "is not supported; labels must be all integers, booleans or all strings."
    )


# --- shape calculators ---------------------------------------------------------
def _classifier_shapes(operator) -> None:
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=2)
    check_input_and_output_types(operator, good_input_types=_INPUT_TYPES)
    model = operator.raw_operator
    kind = _classifier_kind(model)
    labels = _label_values(operator.scope_inst, model)
    options = operator.scope_inst.get_options(model, dict(output_class_labels=False))
    if options["output_class_labels"] and not (
        model.classes_.dtype in (np.int32, np.int64) or labels.dtype.kind == "U"
    ):
        # skl2onnx's class-labels output maps only int32/int64 or string labels
        raise NotImplementedError(
            f"ONNX export of {type(model).__name__} with option output_class_labels=True "
            f"and class labels of dtype {model.classes_.dtype} is not supported; use "
            "integer or string labels, or drop the option."
        )
    n, n_classes = operator.inputs[0].get_first_dimension(), len(model.classes_)
    if kind == "multilabel":
        operator.outputs[0].type = Int64TensorType([n, n_classes])
    elif labels.dtype.kind == "U":
        operator.outputs[0].type = StringTensorType([n])
    else:
        operator.outputs[0].type = Int64TensorType([n])
    operator.outputs[1].type = _float_type(operator)([n, n_classes])


def _regressor_shapes(operator) -> None:
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=1)
    check_input_and_output_types(operator, good_input_types=_INPUT_TYPES)
    model = operator.raw_operator
    check_is_fitted(model)
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = _float_type(operator)([n, model.n_outputs_])


# --- graph building --------------------------------------------------------------
_PROTO = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}


@dataclass
class _Graph:
    """Adds nodes and constants to skl2onnx's container, in one float dtype."""

    scope: object
    container: object
    dtype: np.dtype

    def const(self, hint: str, value) -> str:
        value = np.asarray(value)
        if value.dtype.kind == "U":
            proto, content = TensorProto.STRING, [s.encode() for s in value.ravel()]
        elif value.dtype.kind == "i":
            proto, content = TensorProto.INT64, value.astype(np.int64).ravel()
        else:
            proto, content = _PROTO[self.dtype], value.astype(self.dtype).ravel()
        name = self.scope.get_unique_variable_name(hint)
        self.container.add_initializer(name, proto, list(value.shape), content)
        return name

    def node(self, op_type: str, inputs: list, hint: str = "", out: str = "", **attrs) -> str:
        out = out or self.scope.get_unique_variable_name(hint or op_type.lower())
        name = self.scope.get_unique_operator_name(op_type)
        self.container.add_node(op_type, inputs, out, name=name, **attrs)
        return out


def _hidden_activation(g: _Graph, name: str, z: str) -> str:
    """The activation's graph, as its registry entry writes it."""
    build = ACTIVATIONS[name].onnx if name in ACTIVATIONS else None
    if build is None:
        raise NotImplementedError(f"ONNX export of activation={name!r} is not supported.")
    return build(g, z, name)


def _check_plain_mlp(model) -> None:
    """NotImplementedError naming the first layer the graph cannot express."""
    net = model._network()
    if not net.is_mlp:
        layer = next((lay for lay in net.layers if type(lay).__name__ != "Dense"), net.layers[0])
        raise NotImplementedError(
            f"ONNX export of {type(model).__name__} is not supported: its network has a "
            f"{type(layer).__name__} layer ({layer!r}), and the export writes dense "
            "layers only. Persist it with pickle or skops instead."
        )


def _network(g: _Graph, operator) -> str:
    """The forward pass; returns the name of the output after the link."""
    model = operator.raw_operator
    _check_plain_mlp(model)
    a = operator.inputs[0].full_name
    if not isinstance(operator.inputs[0].type, _float_type(operator)):
        a = g.node("Cast", [a], "cast_input", to=_PROTO[g.dtype])
    last = len(model.coefs_) - 1
    for i, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        z = g.node("MatMul", [a, g.const(f"coef{i}", W)])
        z = g.node("Add", [z, g.const(f"intercept{i}", b)], f"preactivation{i}")
        if i < last:
            a = _hidden_activation(g, model.activation, z)
    link = model.out_activation_
    attrs = {"axis": 1} if link == "softmax" else {}
    return g.node(_OUTPUT_OP[link], [z], "out_activation", **attrs)


# --- converters --------------------------------------------------------------------
def _convert_classifier(scope, operator, container) -> None:
    model = operator.raw_operator
    g = _Graph(scope, container, _dtype(operator))
    label_out, proba_out = operator.outputs[0].full_name, operator.outputs[1].full_name
    kind = _classifier_kind(model)
    p = _network(g, operator)
    if kind == "binary":  # predict_proba's [1 - p, p]
        q = g.node("Sub", [g.const("one", 1.0), p], "negative_proba")
        g.node("Concat", [q, p], out=proba_out, axis=1)
    else:
        g.node("Identity", [p], out=proba_out)

    if kind == "multilabel":  # predict: each label whose probability exceeds 0.5
        on = g.node("Greater", [proba_out, g.const("half", 0.5)])
        g.node("Cast", [on], out=label_out, to=TensorProto.INT64)
    else:
        index = g.node("ArgMax", [proba_out], axis=1, keepdims=0)
        classes = g.const("classes", _label_values(scope, model))
        g.node("Gather", [classes, index], out=label_out, axis=0)


def _convert_regressor(scope, operator, container) -> None:
    g = _Graph(scope, container, _dtype(operator))
    g.node("Identity", [_network(g, operator)], out=operator.outputs[0].full_name)


_CLASSIFIER_OPTIONS = {
    "zipmap": [True, False, "columns"],
    "output_class_labels": [False, True],
    "nocl": [True, False],
}


def register() -> None:
    """Register the skmlp converters with skl2onnx (done on import; idempotent)."""
    update_registered_converter(
        MLPClassifier,
        "SkmlpMLPClassifier",
        _classifier_shapes,
        _convert_classifier,
        options=_CLASSIFIER_OPTIONS,
    )
    update_registered_converter(
        MLPRegressor, "SkmlpMLPRegressor", _regressor_shapes, _convert_regressor
    )
    # the tabular estimators' networks are not dense MLPs: their conversion
    # raises NotImplementedError naming the layer (rather than skl2onnx's
    # "unknown model")
    update_registered_converter(
        TabularMLPClassifier,
        "SkmlpTabularMLPClassifier",
        _classifier_shapes,
        _convert_classifier,
        options=_CLASSIFIER_OPTIONS,
    )
    update_registered_converter(
        TabularMLPRegressor, "SkmlpTabularMLPRegressor", _regressor_shapes, _convert_regressor
    )


register()
