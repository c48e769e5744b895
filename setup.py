"""Build the optional compiled kernels (skmlp/_kernels.pyx).

``skmlp/_kernels.pyx`` is generated first, from ``skmlp/_kernels.pyx.tp``
and the activation, loss and optimizer registries (:mod:`skmlp._codegen`). The
extension is optional: without a C compiler, Cython or scipy's BLAS
declarations, ``pip install .`` still succeeds and skmlp runs its numpy
engine (and says so once, at the first fit).
"""

import importlib
import os
import sys
import types

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class BuildExtBesideSources(build_ext):
    """Build the kernels, and put a copy beside the sources too.

    The README runs the tests from the source tree (``python -m pytest``),
    where the source ``skmlp`` package comes first on ``sys.path``: without
    the copy it would shadow the installed, compiled one.
    """

    def run(self):
        super().run()
        try:
            self.copy_extensions_to_source()
        except Exception as exc:  # e.g. the optional build failed: nothing to copy
            print(f"skmlp: compiled kernels not copied beside the sources ({exc})")


def _generate_kernels():
    """Render skmlp/_kernels.pyx from its template and the registries.

    The build environment has numpy but not scikit-learn, so skmlp's
    ``__init__`` (which imports it) must not run: a bare package module
    stands in for ``skmlp`` while the registry modules, which import only
    numpy and each other, are loaded from the sources.
    """
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "skmlp")
    saved = {k: v for k, v in sys.modules.items() if k == "skmlp" or k.startswith("skmlp.")}
    for name in saved:
        del sys.modules[name]
    package = types.ModuleType("skmlp")
    package.__path__ = [root]
    sys.modules["skmlp"] = package
    try:
        codegen = importlib.import_module("skmlp._codegen")
        activations = importlib.import_module("skmlp.activations").ACTIVATIONS
        losses = importlib.import_module("skmlp.losses").LOSSES
        optimizers = importlib.import_module("skmlp.optimizers").OPTIMIZERS
        template = os.path.join(root, "_kernels.pyx.tp")
        codegen.render(template, template[: -len(".tp")], activations, losses, optimizers)
    finally:
        for name in [k for k in sys.modules if k == "skmlp" or k.startswith("skmlp.")]:
            del sys.modules[name]
        sys.modules.update(saved)


def _extensions():
    try:
        import numpy
        from Cython.Build import cythonize
    except ImportError:  # no Cython or numpy in the build environment
        return []
    try:
        _generate_kernels()
        extensions = cythonize(
            [
                Extension(
                    "skmlp._kernels",
                    ["skmlp/_kernels.pyx"],
                    include_dirs=[numpy.get_include()],
                    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
                    # no errno: lets the compiler vectorize sqrt; no traps: lets it
                    # vectorize loops with a conditional expression (a select), as
                    # the parametric activation's f'. Results are unchanged (no
                    # reassociation); only floating-point exception flags may differ.
                    # No contraction of a * b + c into one fused multiply-add (a
                    # target with FMA, as aarch64 or CFLAGS=-march=native, would
                    # otherwise round differently from numpy's separate operations,
                    # which the kept forms repeat exactly).
                    extra_compile_args=[
                        "-O3",
                        "-fno-math-errno",
                        "-fno-trapping-math",
                        "-ffp-contract=off",
                    ],
                )
            ],
            compiler_directives={"language_level": "3"},
        )
    except Exception as exc:  # e.g. scipy's cython_blas declarations missing
        print(f"skmlp: not building the compiled kernels ({exc}); numpy engine only")
        return []
    for extension in extensions:  # cythonize drops the flag: set it on its output
        extension.optional = True  # a failed compile leaves the numpy engine
    return extensions


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExtBesideSources})
