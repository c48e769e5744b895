"""Build the optional compiled kernels (skmlp/_kernels.pyx).

The extension is optional: without a C compiler, Cython or scipy's BLAS
declarations, ``pip install .`` still succeeds and skmlp runs its numpy
engine (and says so once, at the first fit).
"""

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


def _extensions():
    try:
        import numpy
        from Cython.Build import cythonize
    except ImportError:  # no Cython or numpy in the build environment
        return []
    try:
        extensions = cythonize(
            [
                Extension(
                    "skmlp._kernels",
                    ["skmlp/_kernels.pyx"],
                    include_dirs=[numpy.get_include()],
                    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
                    # no errno: lets the compiler vectorize sqrt (results are unchanged)
                    extra_compile_args=["-O3", "-fno-math-errno"],
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
