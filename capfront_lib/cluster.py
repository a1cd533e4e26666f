"""Where runs execute: a local pool of processes, or a Dask cluster — one interface, one code path.

``open_executor(workers=N)`` gives a local pool: up to N runs at once, each one papermill execution in
its own fresh Python process (:func:`capfront_lib.execute.run_task`). ``open_executor(dask_local=N)``
starts a ``dask.distributed.LocalCluster`` (N worker processes, one thread each, loopback only) and
``open_executor(scheduler=ADDRESS)`` connects to any running Dask scheduler; both submit the same task
with ``Client.submit`` (``concurrent.futures`` style). Dask is the engine for going beyond one machine;
nothing here schedules work itself beyond keeping at most ``slots`` runs in flight.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import os
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping, Sequence

from capfront_lib import execute


class ExecutorError(RuntimeError):
    """The cluster cannot be started or reached."""


class LocalPool:
    """Up to ``workers`` runs at once on this machine, each in its own process."""

    kind = "local"
    scheduler_address: str | None = None

    def __init__(self, workers: int) -> None:
        self.slots = max(1, int(workers))
        self._pool = cf.ThreadPoolExecutor(max_workers=self.slots, thread_name_prefix="capfront-run")

    def submit(self, fn: Callable[[Any], Any], arg: Any, key: str | None = None) -> cf.Future:
        return self._pool.submit(fn, arg)

    def first_done(self, futures: Sequence[Any]) -> Any:
        done, _ = cf.wait(list(futures), return_when=cf.FIRST_COMPLETED)
        return next(iter(done))

    def cancel(self, futures: Sequence[Any]) -> None:
        for f in futures:
            f.cancel()
        execute.terminate_all()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def describe(self) -> str:
        return f"local pool of {self.slots} process{'es' if self.slots > 1 else ''}"


class DaskPool:
    """A ``distributed.Client`` on a LocalCluster it started, or on any running scheduler."""

    kind = "dask"

    def __init__(self, *, dask_local: int | None = None, scheduler: str | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as err:  # pragma: no cover - declared dependency
            raise ExecutorError(f"Dask is not installed ({err}); pip install 'dask[distributed]'") from None
        self.cluster = None
        if dask_local:
            self.cluster = LocalCluster(n_workers=int(dask_local), threads_per_worker=1, processes=True,
                                        host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)
            address = self.cluster.scheduler_address
        else:
            address = str(scheduler)
        try:
            self.client = Client(address, timeout="20s", set_as_default=False)
        except (OSError, TimeoutError) as err:
            if self.cluster is not None:
                self.cluster.close()
            raise ExecutorError(f"cannot reach the Dask scheduler at {address}: {err}") from None
        self.scheduler_address = self.client.scheduler.address
        info = self.client.scheduler_info(n_workers=-1) if _accepts_n_workers(self.client) else self.client.scheduler_info()
        self.slots = max(1, sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()))
        self._described = (f"Dask LocalCluster of {dask_local} worker process{'es' if int(dask_local) > 1 else ''}"
                           if dask_local else f"Dask scheduler {address} ({self.slots} worker threads)")

    def submit(self, fn: Callable[[Any], Any], arg: Any, key: str | None = None) -> Any:
        kw = {"key": key} if key else {}
        return self.client.submit(fn, arg, pure=False, **kw)

    def first_done(self, futures: Sequence[Any]) -> Any:
        from distributed import wait

        with self.client.as_current():
            done, _ = wait(list(futures), return_when="FIRST_COMPLETED")
        return next(iter(done))

    def cancel(self, futures: Sequence[Any]) -> None:
        if futures:
            self.client.cancel(list(futures), force=True)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def describe(self) -> str:
        return self._described


def _accepts_n_workers(client: Any) -> bool:
    import inspect

    try:
        return "n_workers" in inspect.signature(client.scheduler_info).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return False


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


@contextmanager
def open_executor(workers: int | None = None, dask_local: int | None = None, scheduler: str | None = None) -> Iterator[LocalPool | DaskPool]:
    """A local pool (default, ``workers`` processes) or a Dask client (``dask_local`` / ``scheduler``)."""
    if sum(x is not None and x != 0 for x in (dask_local, scheduler)) > 1:
        raise ExecutorError("give at most one of --dask-local and --scheduler")
    if dask_local is not None and int(dask_local) < 1:
        raise ExecutorError(f"--dask-local needs at least 1 worker, got {dask_local}")
    if workers is not None and int(workers) < 1:
        raise ExecutorError(f"--workers needs at least 1, got {workers}")
    ex: LocalPool | DaskPool = DaskPool(dask_local=dask_local, scheduler=scheduler) if (dask_local or scheduler) else LocalPool(workers or default_workers())
    try:
        yield ex
    finally:
        ex.close()


def run_all(ex: LocalPool | DaskPool, items: Sequence[tuple[Any, Mapping[str, Any]]],
            on_done: Callable[[Any, dict[str, Any]], bool | None], *, limit: int | None = None) -> bool:
    """Run ``run_task(spec)`` for every ``(tag, spec)``, at most ``limit`` (default: the executor's slots) at
    once; call ``on_done(tag, outcome)`` as each finishes. ``on_done`` returning False stops: pending runs
    are cancelled and running ones terminated. Returns False when stopped early. On any exception
    (Ctrl-C included) the runs in flight are cancelled before it propagates."""
    pending = list(items)
    running: dict[Any, Any] = {}
    cap = max(1, limit or ex.slots)
    try:
        while pending or running:
            while pending and len(running) < cap:
                tag, spec = pending.pop(0)
                running[ex.submit(execute.run_task, dict(spec), key=spec.get("task_key"))] = tag
            fut = ex.first_done(list(running))
            tag = running.pop(fut)
            try:
                outcome = fut.result()
            except Exception as err:  # a worker died, the cluster went away, ...
                outcome = {"ok": False, "error": f"{type(err).__name__}: {err}", "results": {}, "notebook": None, "failed": None}
            if on_done(tag, outcome) is False:
                ex.cancel(list(running))
                return False
        return True
    except BaseException:
        ex.cancel(list(running))
        raise
