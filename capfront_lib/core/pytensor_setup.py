"""PyTensor configuration for the book's PyMC fits: a BLAS from PyPI, a writable compile cache (issue 18).

A pip-installed PyTensor looks for a system BLAS (MKL, ``-lblas``, ``-lopenblas``) and, finding none on a
machine that installs only from PyPI, warns on import that it "could not link to a BLAS installation" and
runs its BLAS operations (dot products, Gemm/Gemv/Ger) through slower fallbacks. The OpenBLAS that numpy and
scipy themselves use is on PyPI as ``scipy-openblas32``, but its symbols carry a ``scipy_`` prefix
(``scipy_dgemm_``), while PyTensor's C code calls the Fortran names (``dgemm_``). :func:`blas_ldflags`
links that library and renames PyTensor's calls with one preprocessor definition per BLAS routine
(``-Ddgemm_=scipy_dgemm_``), for the routines the library exports; PyTensor passes these flags to the C
compiler of every BLAS operation, so no file is built or installed.

:func:`configure_pytensor` must run before ``pytensor`` is first imported (the BLAS search runs at
import): it adds the flags to ``PYTENSOR_FLAGS`` (a user's own setting of the same flag wins), and moves
PyTensor's compile cache to a writable directory when ``~/.pytensor`` is not writable (a read-only home
in CI). Called by :mod:`capfront_lib.oracle_debiasing.pgm` before it imports PyMC.

Measured (benchmarks/oracle_debiasing.py): the ADVI graphs of the PGM contain no BLAS operation at all
(79 nodes of element-wise ops, reductions, softmax, random normals), so linking a BLAS removes the warning
but does not change their speed; a fit's time is PyTensor's graph rewriting (about 2/3 at the quick
profile's 3,000 iterations) plus ~0.3-1 ms per ADVI step. PyTensor's numba back-end (``mode=NUMBA``) was
slower for this model (several ms per step, about a minute of compilation) and is not used.
"""

from __future__ import annotations

import ctypes
import os
import sys
import tempfile
from pathlib import Path

__all__ = ["BLAS_ROUTINES", "blas_ldflags", "compiledir_flag", "configure_pytensor", "pytensor_flags"]

#: The Fortran BLAS routines declared by PyTensor's C headers (pytensor/tensor/blas_headers.py).
BLAS_ROUTINES: tuple[str, ...] = tuple(
    f"{p}{r}_"
    for p, rs in {
        "s": "axpy copy dot gbmv gemm gemv ger rot rotg rotm rotmg sbmv scal spmv spr spr2 swap symm symv syr syr2 syr2k "
             "syrk tbmv tbsv tpmv tpsv trmm trmv trsm trsv",
        "d": "axpy copy dot gbmv gemm gemv ger rot rotg rotm rotmg sbmv scal spmv spr spr2 swap symm symv syr syr2 syr2k "
             "syrk tbmv tbsv tpmv tpsv trmm trmv trsm trsv",
        "c": "axpy copy gbmv gemm gemv gerc geru hbmv hemm hemv her her2 her2k herk hpmv hpr hpr2 scal sscal swap symm "
             "syr2k syrk tbmv tbsv tpmv tpsv trmm trmv trsm trsv",
        "z": "axpy copy dscal gbmv gemm gemv gerc geru hbmv hemm hemv her her2 her2k herk hpmv hpr hpr2 scal swap symm "
             "syr2k syrk tbmv tbsv tpmv tpsv trmm trmv trsm trsv",
    }.items()
    for r in rs.split()
)

_PREFIX = "scipy_"
_APPLIED: dict[str, str] = {}


def blas_ldflags() -> str:
    """``blas__ldflags`` for the OpenBLAS of the ``scipy-openblas32`` wheel, or "" when it is not installed.

    ``-L<dir> -lscipy_openblas`` (PyTensor adds the matching ``-rpath``) plus ``-D<name>=scipy_<name>`` for
    each routine of :data:`BLAS_ROUTINES` that the library exports (checked with ctypes, so a renamed symbol
    always exists). No commas: PYTENSOR_FLAGS is comma-separated.
    """
    try:
        import scipy_openblas32
    except ImportError:
        return ""
    lib_dir = Path(scipy_openblas32.get_lib_dir())
    name = scipy_openblas32.get_library()
    lib = lib_dir / f"lib{name}.so"
    if not lib.is_file():  # macOS / Windows wheels: leave PyTensor's own search alone
        return ""
    handle = ctypes.CDLL(str(lib))
    renames = [f"-D{r}={_PREFIX}{r}" for r in BLAS_ROUTINES if hasattr(handle, _PREFIX + r)]
    if not any(r.startswith("-Ddgemm_=") for r in renames):
        return ""
    if "," in str(lib_dir) or " " in str(lib_dir):
        return ""  # cannot be passed through PYTENSOR_FLAGS / PyTensor's shlex-split flag string
    return " ".join([f"-L{lib_dir}", f"-l{name}", *renames])


def compiledir_flag() -> str:
    """``base_compiledir=<dir>`` when PyTensor's default (``~/.pytensor``) is not writable, else ""."""
    default = Path.home() / ".pytensor"
    probe = default if default.exists() else default.parent
    if os.access(probe, os.W_OK):
        return ""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or tempfile.gettempdir()) / "capfront-pytensor"
    cache.mkdir(parents=True, exist_ok=True)
    return f"base_compiledir={cache}"


def pytensor_flags() -> dict[str, str]:
    """The flags :func:`configure_pytensor` adds (name -> value), computed without importing pytensor."""
    flags = {}
    ld = blas_ldflags()
    if ld:
        flags["blas__ldflags"] = ld
    cd = compiledir_flag()
    if cd:
        flags["base_compiledir"] = cd.split("=", 1)[1]
    return flags


def _merge(existing: str, extra: dict[str, str]) -> str:
    """PYTENSOR_FLAGS with ``extra`` added; names the user already set are kept as the user set them."""
    items = [f for f in existing.split(",") if f.strip()]
    names = {f.split("=", 1)[0].strip() for f in items}
    items += [f"{k}={v}" for k, v in extra.items() if k not in names]
    return ",".join(items)


def configure_pytensor() -> dict[str, str]:
    """Set PyTensor's BLAS and compile-cache flags before pytensor is imported; returns the flags applied.

    Idempotent; ``CAPFRONT_PYTENSOR_SETUP=off`` turns it off (PyTensor's own defaults, for before/after
    measurements). If pytensor is already imported, the environment can no longer change it: the BLAS flag
    is then set on ``pytensor.config`` directly when the import found no BLAS ("" flags; its warning has
    already been printed), and nothing else is changed.
    """
    if _APPLIED or os.environ.get("CAPFRONT_PYTENSOR_SETUP", "").lower() in ("off", "0", "false", "no"):
        return dict(_APPLIED)
    flags = pytensor_flags()
    if "pytensor" not in sys.modules:
        os.environ["PYTENSOR_FLAGS"] = _merge(os.environ.get("PYTENSOR_FLAGS", ""), flags)
        _APPLIED.update(flags)
    elif "blas__ldflags" in flags:
        import pytensor

        if not pytensor.config.blas__ldflags:
            pytensor.config.blas__ldflags = flags["blas__ldflags"]
            _APPLIED["blas__ldflags"] = flags["blas__ldflags"]
    return dict(_APPLIED)
