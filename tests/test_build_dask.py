"""``capfront build --dask-local N`` (issue 14 §3): chapters run as Dask tasks, their kernels get
``CAPFRONT_DASK_SCHEDULER`` so ``core.parallel.pmap`` loops run on the same cluster, results are identical
to the serial build, and the cache is used."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import numpy as np
import pytest

from capfront_lib import runner


def par_md(stem: str) -> str:
    return textwrap.dedent(
        f'''\
        ---
        jupytext:
          text_representation:
            extension: .md
            format_name: myst
        kernelspec:
          display_name: Python 3
          language: python
          name: python3
        ---

        # Chapter {stem}

        ```{{code-cell}} ipython3
        :tags: [parameters]

        seed = 0
        n_items = 6
        results_dir = "results/{stem}"
        ```

        ```{{code-cell}} ipython3
        import json, os
        import numpy as np
        from capfront_lib.core.parallel import pmap, scheduler_address
        from capfront_lib.core.results import write_results

        def replicate(s):
            return float(np.random.default_rng([seed, s]).normal(size=2000).mean()), os.getpid()

        out = pmap(replicate, range(n_items))
        write_results(results_dir, "{stem}", results={{"values": [v for v, _ in out]}})
        with open(os.path.join(results_dir, "where.json"), "w") as fh:
            json.dump({{"kernel": os.getpid(), "items": [p for _, p in out], "scheduler": scheduler_address() is not None}}, fh)
        ```
        '''
    )


def test_build_on_a_local_cluster_matches_serial_and_uses_the_cache(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    root = tmp_path / "root"
    (root / "notebooks").mkdir(parents=True)
    (root / "data" / "profiles").mkdir(parents=True)
    for s, seed in (("p1", 0), ("p2", 1)):
        (root / "notebooks" / f"{s}.md").write_text(par_md(s))
        (root / "data" / "profiles" / f"{s}.yaml").write_text(f"quick: {{}}\npaper: {{n_items: 8, seed: {seed}}}\n")
    monkeypatch.setenv("CAPFRONT_ROOT", str(root))
    monkeypatch.delenv("CAPFRONT_DASK_SCHEDULER", raising=False)

    serial = runner.build_book(profile="paper", html=False, jobs=2, root=root)
    assert {r["chapter"]: r["cached"] for r in serial["runs"]} == {"p1": False, "p2": False}
    before = {s: (root / "results" / s / "results.json").read_bytes() for s in ("p1", "p2")}
    for s, seed in (("p1", 0), ("p2", 1)):
        w = json.loads((root / "results" / s / "where.json").read_text())
        assert not w["scheduler"] and set(w["items"]) == {w["kernel"]}, "serially, pmap runs in the kernel"
        expected = [float(np.random.default_rng([seed, i]).normal(size=2000).mean()) for i in range(8)]
        assert json.loads(before[s])["values"] == expected

    on_dask = runner.build_book(profile="paper", html=False, jobs=2, root=root, dask_local=2, force=True)
    assert {r["chapter"]: r["cached"] for r in on_dask["runs"]} == {"p1": False, "p2": False}
    for s in ("p1", "p2"):
        assert (root / "results" / s / "results.json").read_bytes() == before[s], "Dask results differ from serial"
        w = json.loads((root / "results" / s / "where.json").read_text())
        assert w["scheduler"], "the kernel did not get CAPFRONT_DASK_SCHEDULER"
        assert w["kernel"] not in w["items"] and len(set(w["items"])) >= 1 and os.getpid() not in w["items"]

    again = runner.build_book(profile="paper", html=False, jobs=2, root=root, dask_local=2)
    assert {r["chapter"]: r["cached"] for r in again["runs"]} == {"p1": True, "p2": True}
