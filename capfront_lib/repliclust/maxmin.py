"""Max-min sampling of cluster attributes (thesis ch. 5, App. 4A, Table .4).

Each geometric attribute of an archetype (group sizes, radii, aspect ratios, axis lengths) is drawn
from a reference value ``ref`` and a max-min ratio ``m``. Values are produced in pairs: the first is
drawn from Triangular(lo, ref, hi), the second is its image under a *constraint map* ``f`` that keeps
a summary (sum or geometric mean) fixed. ``lo`` and ``hi`` are themselves a pair ``hi = f(lo)``.
"""

from __future__ import annotations

from typing import Callable, Literal

import numpy as np

AspectSemantics = Literal["thesis", "package"]


def _check_ratio(name: str, value: float) -> float:
    v = float(value)
    if not np.isfinite(v) or v < 1.0:
        raise ValueError(f"{name} must be a finite number >= 1, got {value!r}")
    return v


def _check_k(k: int) -> int:
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"k (number of values) must be an integer >= 1, got {k!r}")
    return int(k)


def maxmin_sample(
    ref: float,
    lo: float,
    hi: float,
    k: int,
    f: Callable[[np.ndarray], np.ndarray],
    rng: np.random.Generator,
) -> np.ndarray:
    """Generic max-min sampler of App. 4A: k sorted values in [lo, hi] built from (x, f(x)) pairs.

    Start with {lo, hi}; while at least two values are missing draw x ~ Triangular(lo, ref, hi) and
    add the pair (x, f(x)); a single missing value (k odd) is ``ref``. k=1 gives [ref]. When
    ``lo == hi`` every value is ``ref``.
    """
    k = _check_k(k)
    if not (lo <= ref <= hi):
        raise ValueError(f"ref must lie in [lo, hi], got ref={ref}, lo={lo}, hi={hi}")
    if k == 1 or hi - lo <= 1e-15 * max(1.0, abs(hi)):
        return np.full(k, float(ref))
    n_pairs = (k - 2) // 2
    x = rng.triangular(lo, ref, hi, size=n_pairs) if n_pairs else np.empty(0)
    vals = [np.array([lo, hi]), x, f(x)]
    if (k - 2) % 2 == 1:
        vals.append(np.array([ref]))
    out = np.sort(np.concatenate(vals))
    return np.clip(out, lo, hi)


def group_size_bounds(n: int, k: int, imbalance_ratio: float) -> tuple[float, float]:
    """Endpoints ``lo = 2(n/k)/(1+m)``, ``hi = m·lo`` for group sizes (Table .4: sizes sum to n)."""
    m = _check_ratio("imbalance_ratio", imbalance_ratio)
    lo = 2.0 * (n / k) / (1.0 + m)
    return lo, m * lo


def round_preserving_sum(x: np.ndarray, total: int, minimum: int = 1) -> np.ndarray:
    """Round positive reals to integers >= ``minimum`` summing exactly to ``total`` (largest remainders)."""
    x = np.asarray(x, dtype=float)
    if total < minimum * x.size:
        raise ValueError(f"n_samples={total} is too small for {x.size} groups of at least {minimum}")
    x = x * (total / x.sum())
    base = np.maximum(np.floor(x).astype(int), minimum)
    diff = total - int(base.sum())
    order = np.argsort(-(x - np.floor(x)), kind="stable")
    i = 0
    while diff != 0:
        j = order[i % x.size]
        if diff > 0:
            base[j] += 1
            diff -= 1
        elif base[j] > minimum:
            base[j] -= 1
            diff += 1
        i += 1
    return base


def sample_group_sizes(n: int, k: int, imbalance_ratio: float, rng: np.random.Generator) -> np.ndarray:
    """Integer group sizes (sorted) with sum exactly ``n`` and max/min ≈ ``imbalance_ratio`` (Table .4)."""
    k = _check_k(k)
    if isinstance(n, bool) or int(n) != n or n < k:
        raise ValueError(f"n_samples must be an integer >= n_clusters={k}, got {n!r}")
    lo, hi = group_size_bounds(int(n), k, imbalance_ratio)
    mean = n / k
    raw = maxmin_sample(mean, lo, hi, k, lambda x: 2.0 * mean - x, rng)
    return np.sort(round_preserving_sum(raw, int(n)))


def sample_radii(k: int, scale: float, radius_maxmin: float, rng: np.random.Generator) -> np.ndarray:
    """Cluster radii with geometric mean ``scale`` and max/min = ``radius_maxmin`` (max-min on the log scale)."""
    m = _check_ratio("radius_maxmin", radius_maxmin)
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be > 0, got {scale!r}")
    lref = np.log(scale)
    lo, hi = lref - 0.5 * np.log(m), lref + 0.5 * np.log(m)
    return np.exp(maxmin_sample(lref, lo, hi, k, lambda x: 2.0 * lref - x, rng))


def aspect_bounds(aspect_ref: float, aspect_maxmin: float, semantics: AspectSemantics = "thesis") -> tuple[float, float]:
    """Endpoints of the aspect ratios; their geometric mean ``sqrt(lo·hi)`` equals ``aspect_ref``.

    ``"thesis"`` (Table 5.1: aspect_maxmin = largest/smallest aspect): ``lo = ref/√m``, ``hi = ref·√m``.
    Aspects must be >= 1, so when ``ref/√m < 1`` the spread is capped at ``lo = 1, hi = ref²`` (the
    widest spread compatible with aspects >= 1 and geometric mean ``ref``).
    ``"package"`` (repliclust 1.0.0: m = (hi-1)/(lo-1)): ``hi = 1+δ``, ``lo = 1+δ/m`` with
    ``(1+δ)(1+δ/m) = ref²``.
    """
    ref = _check_ratio("aspect_ref", aspect_ref)
    m = _check_ratio("aspect_maxmin", aspect_maxmin)
    if semantics == "thesis":
        lo = ref / np.sqrt(m)
        if lo < 1.0:
            return 1.0, ref * ref
        return lo, ref * np.sqrt(m)
    if semantics == "package":
        # (1+δ)(1+δ/m) = ref²  <=>  δ²/m + δ(1+1/m) + 1 - ref² = 0
        a, b, c = 1.0 / m, 1.0 + 1.0 / m, 1.0 - ref * ref
        delta = (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a)
        return 1.0 + delta / m, 1.0 + delta
    raise ValueError(f"aspect_semantics must be 'thesis' or 'package', got {semantics!r}")


def sample_aspects(
    k: int, aspect_ref: float, aspect_maxmin: float, rng: np.random.Generator, semantics: AspectSemantics = "thesis"
) -> np.ndarray:
    """Aspect ratios (longest/shortest axis) with geometric mean ``aspect_ref`` (Table .4, constraint ref²/x)."""
    lo, hi = aspect_bounds(aspect_ref, aspect_maxmin, semantics)
    ref = float(aspect_ref)
    return maxmin_sample(ref, lo, hi, k, lambda x: ref * ref / x, rng)


def sample_axis_lengths(radius: float, aspect: float, p: int, rng: np.random.Generator) -> np.ndarray:
    """p axis lengths in [r/√a, r·√a] with geometric mean r and longest/shortest = a (Table .4)."""
    if p < 1:
        raise ValueError(f"dim must be >= 1, got {p}")
    a = _check_ratio("aspect", aspect)
    if p == 1:
        return np.array([float(radius)])
    lo, hi = radius / np.sqrt(a), radius * np.sqrt(a)
    r2 = radius * radius
    return maxmin_sample(radius, lo, hi, p, lambda x: r2 / x, rng)
