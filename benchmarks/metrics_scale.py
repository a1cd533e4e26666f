"""Memory and time of the field metrics (``capfront_lib.core.metrics.field_metrics``) as the pool grows.

Issue 16 item 5: the metrics must run on 5,000 models x 10,000 queries within 4 GB and 60 s on 2 cores.
For n = 10,000 queries and m in {500, 1000, 2000, 5000} models, each case runs in its own process under a
4 GB address-space limit (peak RSS from getrusage):

- ``from file``: a wide 0/1 CSV (single-factor pool, rho 0.3) loaded with the core loader, per-model costs,
  then every metric (single best, oracle, Gap@Oracle, random routers, hull and AIQ, APGR/CPT of the
  oracle-ordered pair router);
- ``arrays``: the same metrics on in-memory arrays with a *per-query* cost table (n x m float64), the
  heaviest input the metrics take.

Then, in this process, the reference methods against ours on the same inputs, with the ratio:

- the oracle as LLMRouterBench computes it (Python loops over records grouped per query), 2,000 x 200;
- RouterBench's reference non-decreasing convex hull (``evaluation/AIQ.py``, O(k^3)) on k = 60 points.

Run: ``.venv/bin/python benchmarks/metrics_scale.py [--max-models 5000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

FROM_FILE = r"""
import json, sys, time, warnings
import numpy as np
t0 = time.perf_counter()
from capfront_lib.core.evallog import load_log
from capfront_lib.core import metrics as mt
log = load_log(sys.argv[1], missing="drop_queries")
m = log.n_models
costs = {name: float(c) for name, c in zip(log.models, np.geomspace(1e-5, 1e-2, m))}
t1 = time.perf_counter()
M = mt.matrix_from_log(log, costs=costs)
fm = mt.field_metrics(M)
t2 = time.perf_counter()
print(json.dumps({"load_s": t1 - t0, "metrics_s": t2 - t1, "oracle": fm["oracle_accuracy"], "apgr": fm["pair_routers"]["oracle"]["apgr"]}))
"""

ARRAYS = r"""
import json, sys, time
import numpy as np
from capfront_lib.core import metrics as mt
n, m = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
t = rng.uniform(-1.5, 0.5, size=m)
correct = np.empty((n, m), dtype=bool)
for s in range(0, n, 1000):
    k = min(1000, n - s)
    z = np.sqrt(0.3) * rng.normal(size=(k, 1)) + np.sqrt(0.7) * rng.normal(size=(k, m))
    correct[s:s + k] = z > t
cost = np.geomspace(1e-5, 1e-2, m)[None, :] * rng.lognormal(0.0, 0.3, size=(n, m))
t0 = time.perf_counter()
M = mt.Matrix(correct=correct, cost=cost, models=tuple(f"m{j}" for j in range(m)), threshold=1.0, source="bench")
fm = mt.field_metrics(M)
print(json.dumps({"metrics_s": time.perf_counter() - t0, "oracle": fm["oracle_accuracy"], "oracle_cost": fm["oracle_cost"]}))
"""

WRAP = r"""
import resource, subprocess, sys
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stdout.write(p.stdout)
sys.stderr.write(p.stderr)
u = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stderr.write(f"\n@@ {p.returncode} {u.ru_maxrss} {u.ru_utime + u.ru_stime}\n")
"""


def measure(cmd: list[str], limit_gb: float = 4.0) -> dict:
    """Run ``cmd`` in its own wrapper process under an address-space limit: wall, CPU, peak RSS."""

    def limit() -> None:
        b = int(limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (b, b))

    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", WRAP, *cmd], capture_output=True, text=True, preexec_fn=limit)
    wall = time.perf_counter() - t0
    lines = proc.stderr.strip().splitlines()
    code, rss_kib, cpu = lines[-1].split()[1:] if lines and lines[-1].startswith("@@") else ("1", "0", "0")
    return {"ok": code == "0", "wall_s": wall, "cpu_s": float(cpu), "peak_gb": int(rss_kib) / 2**20, "out": proc.stdout,
            "err": [ln for ln in lines[:-1] if ln.strip()][-1:]}


def llmrouterbench_oracle(correct: np.ndarray, cost: np.ndarray) -> tuple[float, float]:
    """LLMRouterBench's ``_compute_oracle_stats`` / ``_compute_oracle_cost_by_dataset``: records grouped per query
    in Python dicts (with the threshold rule instead of 'score > 0')."""
    records = [(i, j, float(correct[i, j]), float(cost[i, j])) for i in range(correct.shape[0]) for j in range(correct.shape[1])]
    questions: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for i, _j, score, c in records:
        questions[i].append((score, c))
    solved = total = 0.0
    for rows in questions.values():
        right = [c for s, c in rows if s >= 1.0]
        solved += 1.0 if right else 0.0
        total += min(right) if right else min(c for _, c in rows)
    return solved / len(questions), total / len(questions)


def main() -> None:
    from _timing import best_of
    from certificate_scale import write_pool
    from test_metrics import routerbench_hull

    from capfront_lib.core import metrics as mt

    ap = argparse.ArgumentParser()
    ap.add_argument("--max-models", type=int, default=5000)
    ap.add_argument("--queries", type=int, default=10_000)
    args = ap.parse_args()
    print(f"field metrics at scale, n = {args.queries:,} queries (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          "each case in its own process under a 4 GB address-space limit)")
    print(f"{'m':>6} {'input':>10} {'wall s':>8} {'cpu s':>7} {'metrics s':>9} {'peak GB':>8}  oracle")
    with tempfile.TemporaryDirectory(prefix="pf-report-bench-") as tmp:
        for m in [x for x in (500, 1000, 2000, 5000) if x <= args.max_models]:
            path = Path(tmp) / f"pool_{m}.csv"
            write_pool(path, m, args.queries)
            for label, cmd in (("from file", [sys.executable, "-c", FROM_FILE, str(path)]),
                               ("arrays", [sys.executable, "-c", ARRAYS, str(args.queries), str(m)])):
                r = measure(cmd)
                d = json.loads(r["out"]) if r["ok"] else {}
                print(f"{m:>6} {label:>10} {r['wall_s']:>8.1f} {r['cpu_s']:>7.1f} {d.get('metrics_s', float('nan')):>9.2f} "
                      f"{r['peak_gb']:>8.2f}  {d.get('oracle', float('nan')):.4f}"
                      + ("" if r["ok"] else f"  FAILED within 4 GB: {r['err']}"))
            path.unlink()

    rng = np.random.default_rng(1)
    n, m = 2000, 200
    correct = rng.random((n, m)) < rng.uniform(0.2, 0.9, m)
    cost = rng.lognormal(-7, 1, size=(n, m))
    M = mt.Matrix(correct=correct, cost=cost, models=tuple(f"m{j}" for j in range(m)), threshold=1.0)
    t_ref, ref = best_of(lambda: llmrouterbench_oracle(correct, cost), repeat=1)
    t_our, ours = best_of(lambda: mt.oracle(M), repeat=3)
    assert abs(ref[0] - ours.accuracy) < 1e-12 and abs(ref[1] - ours.mean_cost) < 1e-12
    print(f"\noracle, {n:,} x {m}: LLMRouterBench-style loops {t_ref:.2f} s, ours {t_our * 1e3:.1f} ms "
          f"-> {t_ref / t_our:,.0f}x (same accuracy and cost)")
    k = 60  # the reference hull is O(k^3) with np.interp inside: 200 points took 400 s
    pts = np.column_stack([np.sort(rng.choice(np.arange(1, 10 * k), size=k, replace=False)) / 10.0, rng.random(k)])
    t_ref, href = best_of(lambda: routerbench_hull(pts), repeat=1)
    t_our, (hc, hq) = best_of(lambda: mt.ndch(pts[:, 0], pts[:, 1]), repeat=5)
    xs = pts[:, 0]
    same = np.allclose(np.interp(xs, href[:, 0], href[:, 1]), np.interp(xs, hc, hq))
    print(f"non-decreasing convex hull, {k} points: RouterBench reference {t_ref:.2f} s, ours {t_our * 1e3:.2f} ms "
          f"-> {t_ref / t_our:,.0f}x ({'same hull' if same else 'HULLS DIFFER'})")


if __name__ == "__main__":
    main()
