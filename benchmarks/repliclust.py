"""Speed of the repliclust hot paths, with ratios against the straightforward reference in the same run.

    python benchmarks/repliclust.py

1. exact overlap of 1,000 Gaussian pairs in 10-D: simultaneous diagonalisation + O(p) bisection steps
   (``exact_q``) vs one batched linear solve per bisection step (``exact_q_direct``) vs a per-pair
   scipy bisection loop (the textbook way);
2. sampling a mixture model for each of the six benchmark archetypes (issue target ≲ 1 s in total);
3. ``distort`` in float32 vs float64.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import optimize
from threadpoolctl import threadpool_limits

from capfront_lib.repliclust.archetype import benchmark_archetypes, sample_mixture_model
from capfront_lib.repliclust.overlap import exact_q, exact_q_direct
from capfront_lib.repliclust.postprocess import distort
from _timing import best_of as timeit


def per_pair_reference(mu1, mu2, S1, S2):
    """Naive: for each pair, brentq on t·s1 − (1−t)·s2 with a fresh solve per evaluation."""
    qs = np.empty(len(mu1))
    for i in range(len(mu1)):
        d = mu2[i] - mu1[i]

        def g(t, i=i, d=d):
            a = np.linalg.solve(t * S1[i] + (1 - t) * S2[i], d)
            return t * np.sqrt(a @ S1[i] @ a) - (1 - t) * np.sqrt(a @ S2[i] @ a)

        t = optimize.brentq(g, 0.0, 1.0, xtol=1e-14)
        a = np.linalg.solve(t * S1[i] + (1 - t) * S2[i], d)
        qs[i] = a @ d / (np.sqrt(a @ S1[i] @ a) + np.sqrt(a @ S2[i] @ a))
    return qs


def main() -> None:
    rng = np.random.default_rng(0)
    n, p = 1000, 10
    A = rng.normal(size=(n, p, p))
    S1 = A @ np.swapaxes(A, 1, 2) / p + 0.05 * np.eye(p)
    B = rng.normal(size=(n, p, p))
    S2 = B @ np.swapaxes(B, 1, 2) / p + 0.05 * np.eye(p)
    mu1, mu2 = rng.normal(size=(n, p)), 2 * rng.normal(size=(n, p))

    t_fast, q_fast = timeit(lambda: exact_q(mu1, mu2, S1, S2))
    t_direct, q_direct = timeit(lambda: exact_q_direct(mu1, mu2, S1, S2))
    t_naive, q_naive = timeit(lambda: per_pair_reference(mu1, mu2, S1, S2), repeat=1)
    print(f"exact overlap, {n} pairs in {p}-D")
    print(f"  exact_q (simultaneous diagonalisation) {t_fast:8.3f} s   (target <= 2 s)")
    print(f"  exact_q_direct (batched solve / step)  {t_direct:8.3f} s   ratio {t_direct / t_fast:6.1f}x")
    print(f"  per-pair brentq loop (naive)           {t_naive:8.3f} s   ratio {t_naive / t_fast:6.1f}x")
    print(f"  max rel. difference fast vs direct {np.max(np.abs(q_fast / q_direct - 1)):.1e}, "
          f"vs naive {np.max(np.abs(q_fast / q_naive - 1)):.1e}")

    archs = benchmark_archetypes()
    times = []
    for a in archs:
        t, _ = timeit(lambda a=a: sample_mixture_model(a, rng))
        times.append(t)
    print("mixture models of the six benchmark archetypes (best of 3 each)")
    for a, t in zip(archs, times):
        print(f"  {a.name:55s} {t:7.3f} s")
    print(f"  total {sum(times):.3f} s   (target <= 1 s)")

    X = rng.normal(size=(4000, 100))
    t32, _ = timeit(lambda: distort(X, 1))

    def distort64():  # the same network in float64, for the ratio
        Z = X / np.max(np.linalg.norm(X, axis=1))
        g = np.random.default_rng(1)
        W = g.uniform(-0.1, 0.1, (128, 100))
        h = Z @ W.T
        for _ in range(16):
            h = h @ g.uniform(-1 / np.sqrt(128), 1 / np.sqrt(128), (128, 128)).T
            h = np.tanh((h - h.mean(1, keepdims=True)) / np.sqrt(h.var(1, keepdims=True) + 1e-5))
        return h @ W

    t64, _ = timeit(distort64)
    print(f"distort 4000 x 100: float32 {t32:.3f} s, float64 {t64:.3f} s, ratio {t64 / t32:.1f}x")


if __name__ == "__main__":
    with threadpool_limits(1):
        main()
