"""capfront_lib: the computations behind the capfront book.

One module (or subpackage) per chapter plus a shared :mod:`capfront_lib.core`.
"""

__version__ = "0.1.0"
