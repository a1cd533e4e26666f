"""pmap: the same results serially and on a real Dask LocalCluster (loopback, 2 worker processes)."""

from __future__ import annotations

import numpy as np
import pytest

from capfront_lib.core import parallel


def _draw(seed: int) -> float:
    return float(np.random.default_rng(seed).normal(size=1000).mean())


def test_pmap_serial_equals_list_comprehension(monkeypatch):
    monkeypatch.delenv(parallel.SCHEDULER_ENV, raising=False)
    assert parallel.pmap(_draw, range(5)) == [_draw(s) for s in range(5)]


def test_pmap_on_local_cluster_matches_serial(monkeypatch):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        monkeypatch.setenv(parallel.SCHEDULER_ENV, cluster.scheduler_address)
        on_cluster = parallel.pmap(_draw, range(6))
        parallel._client(cluster.scheduler_address).close()
        parallel._client.cache_clear()
    assert on_cluster == [_draw(s) for s in range(6)]
