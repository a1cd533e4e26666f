"""Embarrassingly parallel loops of a chapter (replicates, worlds, cascades, folds) on Dask when asked.

``pmap(fn, items)`` maps a pure, top-level (picklable) function over items and returns the results in
item order. Serially by default; on a Dask distributed cluster when one is configured for this run:
``capfront build/run --dask-local N`` or ``--scheduler ADDRESS`` put the scheduler address in
``CAPFRONT_DASK_SCHEDULER`` for the notebook's kernel, and every ``pmap`` of the chapter then submits its
items to that cluster. Each item must carry its own seed (never a shared generator), so results are
identical to the serial run whatever the cluster.

Dask is the only engine for going beyond one machine; there is no home-made scheduler here.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, Callable, Iterable, TypeVar

T = TypeVar("T")
R = TypeVar("R")

SCHEDULER_ENV = "CAPFRONT_DASK_SCHEDULER"


def scheduler_address() -> str | None:
    """The Dask scheduler of this run (``CAPFRONT_DASK_SCHEDULER``), or None for serial execution."""
    return os.environ.get(SCHEDULER_ENV) or None


@lru_cache(maxsize=4)
def _client(address: str):
    from distributed import Client

    return Client(address, set_as_default=False)


def pmap(fn: Callable[[T], R], items: Iterable[T], *, desc: str | None = None) -> list[R]:
    """``[fn(x) for x in items]``, on the run's Dask cluster when one is configured.

    ``fn`` must be a module-level function of the library (workers import it) and deterministic given
    its item. Results come back in item order. A live session shows a progress bar for the serial path.
    """
    seq = list(items)
    address = scheduler_address()
    if address is None or len(seq) <= 1:
        from capfront_lib.core.env import progress

        return [fn(x) for x in (progress(seq, desc=desc) if desc else seq)]
    client = _client(address)
    futures = client.map(fn, seq, pure=False)
    return list(client.gather(futures))


def map_kwargs(fn: Callable[..., R], kwargs_list: Iterable[dict[str, Any]], *, desc: str | None = None) -> list[R]:
    """``pmap`` for functions taking keyword arguments: ``[fn(**kw) for kw in kwargs_list]``."""
    return pmap(_Call(fn), list(kwargs_list), desc=desc)


class _Call:
    """Picklable adapter: call ``fn(**kw)``."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn

    def __call__(self, kw: dict[str, Any]) -> Any:
        return self.fn(**kw)
