"""Thread control for small linear-algebra problems.

Threaded OpenBLAS spends more time waking and synchronising threads than computing on tiny
problems (a 4-dimensional L-BFGS-B step, a 30 x 30 matrix product), and on a busy 2-core machine it
can be 10-50x slower than one thread. Hot loops over such problems run inside :func:`single_thread_blas`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from threadpoolctl import ThreadpoolController

_CONTROLLER: list[ThreadpoolController] = []


def blas_controller() -> ThreadpoolController:
    """One cached threadpoolctl controller (building it scans the loaded libraries, ~15 ms)."""
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


def single_thread_blas() -> AbstractContextManager:
    """Context manager limiting BLAS to one thread (restores the previous limits on exit)."""
    return blas_controller().limit(limits=1, user_api="blas")
