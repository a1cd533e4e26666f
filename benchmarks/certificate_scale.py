"""Memory and time of ``capfront certificate`` as the pool grows (issue 16 item 5).

For n = 10,000 queries and m in {500, 1000, 2000, 5000} models (single-factor Gaussian pool, rho 0.3), writes a
wide CSV and runs, each in its own process (peak RSS from getrusage):

- ``current``: ``capfront certificate --json`` (exact Pearson mean from sufficient statistics; all tetrachoric
  pairs up to 125,000, beyond that a seeded uniform sample of 125,000 pairs, stated in the JSON);
- ``all pairs``: the previous implementation's m x m matrices (``pearson_matrix`` + ``tetrachoric_matrix``
  over every pair), where it still fits (it took > 12 GB at m = 5,000 before it was stopped).

Prints wall time, CPU time, peak RSS, and the ratios, plus rbar of both (the sample's error).
Run: ``.venv/bin/python benchmarks/certificate_scale.py [--max-models 5000]``.
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
from pathlib import Path

import numpy as np

ALL_PAIRS = r"""
import sys, json, numpy as np
from capfront_lib.core.evallog import load_log
from capfront_lib.cofailure.copula import mean_offdiag, pearson_matrix, tetrachoric_matrix
log = load_log(sys.argv[1], missing="keep_partial")
A = log.array()[:, :, 0].T
tet = tetrachoric_matrix(A); phi = pearson_matrix(A)
good = ~tet.degenerate; sub = np.ix_(good, good)
print(json.dumps({"mean_tetrachoric": mean_offdiag(tet.r[sub]), "mean_pearson": mean_offdiag(phi[sub])}))
"""


def write_pool(path: Path, m: int, n: int, rho: float = 0.3, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    t = rng.uniform(-1.5, 0.5, size=m)
    with path.open("wb") as fh:
        fh.write(("id," + ",".join(f"model_{j:04d}" for j in range(m)) + "\n").encode())
        for s in range(0, n, 1000):
            k = min(1000, n - s)
            z = np.sqrt(rho) * rng.normal(size=(k, 1)) + np.sqrt(1 - rho) * rng.normal(size=(k, m))
            buf = np.full((k, 2 * m + 1), ord(","), dtype=np.uint8)
            buf[:, 1:2 * m:2] = (z > t).astype(np.uint8) + ord("0")
            buf[:, -1] = ord("\n")
            for i in range(k):
                fh.write(f"q{s + i}".encode())
                fh.write(buf[i].tobytes())


WRAP = r"""
import resource, subprocess, sys
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stdout.write(p.stdout)
sys.stderr.write(p.stderr)
u = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stderr.write(f"\n@@ {p.returncode} {u.ru_maxrss} {u.ru_utime + u.ru_stime}\n")
"""


def measure(cmd: list[str], limit_gb: float) -> dict:
    """Run ``cmd`` in its own wrapper process under an address-space limit: wall, CPU, its own peak RSS."""
    def limit() -> None:
        b = int(limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (b, b))

    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", WRAP, *cmd], capture_output=True, text=True, preexec_fn=limit)
    wall = time.perf_counter() - t0
    err_lines = proc.stderr.strip().splitlines()
    code, rss_kib, cpu = err_lines[-1].split()[1:] if err_lines and err_lines[-1].startswith("@@") else ("1", "0", "0")
    return {
        "ok": code == "0",
        "wall_s": wall,
        "cpu_s": float(cpu),
        "peak_gb": int(rss_kib) / 2**20,
        "out": proc.stdout,
        "err": [ln for ln in err_lines[:-1] if ln.strip()][-1:],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-models", type=int, default=5000)
    ap.add_argument("--queries", type=int, default=10_000)
    ap.add_argument("--all-pairs-limit-gb", type=float, default=8.0)
    args = ap.parse_args()
    exe = Path(sys.executable).parent / "capfront"
    print(f"certificate scale, n = {args.queries:,} queries (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"{'m':>6} {'method':>10} {'wall s':>8} {'cpu s':>7} {'peak GB':>8} {'rbar':>8} {'pairs used':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for m in [x for x in (500, 1000, 2000, 5000) if x <= args.max_models]:
            path = Path(tmp) / f"pool_{m}.csv"
            write_pool(path, m, args.queries)
            cur = measure([str(exe), "certificate", str(path), "--json"], limit_gb=4.0)
            d = json.loads(cur["out"]) if cur["ok"] else {}
            print(f"{m:>6} {'current':>10} {cur['wall_s']:>8.1f} {cur['cpu_s']:>7.1f} {cur['peak_gb']:>8.2f} "
                  f"{d.get('mean_tetrachoric', float('nan')):>8.4f} {d.get('n_pairs_used', 0):>12,}"
                  + ("" if cur["ok"] else f"  FAILED within 4 GB: {cur['err']}"))
            if m <= 2000:
                old = measure([sys.executable, "-c", ALL_PAIRS, str(path)], limit_gb=args.all_pairs_limit_gb)
                o = json.loads(old["out"]) if old["ok"] else {}
                print(f"{m:>6} {'all pairs':>10} {old['wall_s']:>8.1f} {old['cpu_s']:>7.1f} {old['peak_gb']:>8.2f} "
                      f"{o.get('mean_tetrachoric', float('nan')):>8.4f} {m * (m - 1) // 2:>12,}"
                      + ("" if old["ok"] else f"  FAILED within {args.all_pairs_limit_gb} GB: {old['err']}"))
                if old["ok"] and cur["ok"]:
                    print(f"{'':>6} {'ratio':>10} {old['wall_s'] / cur['wall_s']:>8.1f}x {old['cpu_s'] / cur['cpu_s']:>6.1f}x"
                          f"   |rbar difference| {abs(o['mean_tetrachoric'] - d['mean_tetrachoric']):.4f}")
            else:
                print(f"{m:>6} {'all pairs':>10}  not run: the m x m matrices of {m * (m - 1) // 2:,} pairs need > 12 GB")
            path.unlink()


if __name__ == "__main__":
    main()
