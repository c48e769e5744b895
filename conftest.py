"""pytest configuration shared by the test suite and the doctests."""

import importlib.util

# skmlp/onnx.py is an optional integration: collect its doctest only where
# the onnx extra is installed
collect_ignore = []
if importlib.util.find_spec("skl2onnx") is None or importlib.util.find_spec("onnxruntime") is None:
    collect_ignore.append("skmlp/onnx.py")
