"""Pool summary, Clopper–Pearson limits and the co-failure certificate (spec §2.1–§2.2, Prop. 1).

``Y`` is an m x n 0/1 array (model i correct on query j). Everything here works on counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import betainc, betaincinv, betaln  # Beta CDF/quantile without importing scipy.stats

__all__ = [
    "as_correctness",
    "single_best",
    "PoolSummary",
    "pool_summary",
    "cp_interval",
    "cp_lower",
    "cp_upper",
    "certificate_bound",
    "partition_oracle",
    "optimism",
    "co_failure_share",
    "regime",
]


def as_correctness(Y, name: str = "Y") -> np.ndarray:
    """Validate a complete m x n 0/1 matrix and return it as float64."""
    A = np.ascontiguousarray(Y, dtype=np.float64)  # contiguous: strided matmul skips BLAS
    if A.ndim != 2:
        raise ValueError(f"{name} must be a 2-D models x queries array, got shape {A.shape}")
    if A.shape[0] < 1 or A.shape[1] < 1:
        raise ValueError(f"{name} is empty (shape {A.shape})")
    bad = ~((A == 0) | (A == 1))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(f"{name} must be 0/1 without missing cells; entry (model {i}, query {j}) is {A[i, j]!r}")
    return A


def single_best(acc, costs=None) -> int:
    """Index of the single best model: highest accuracy, ties to the cheaper, then column order (spec §2.1)."""
    acc = np.asarray(acc, float)
    top = np.flatnonzero(acc == acc.max())
    if costs is not None and top.size > 1:
        c = np.asarray(costs, float)[top]
        top = top[c == c.min()]
    return int(top[0])


@dataclass
class PoolSummary:
    """Prop. 1 quantities of a complete pool (spec §2.1)."""

    m: int
    n: int
    correct: np.ndarray
    accuracy: np.ndarray
    best: int
    a_sb: float
    K: int
    beta: float
    oracle: float
    gain: float
    n_resolvable: int
    resolvable: float
    share: float
    extra: dict = field(default_factory=dict)


def pool_summary(Y, costs=None) -> PoolSummary:
    """Pool summary of Prop. 1: a_i, i*, K, beta_hat = K/n, oracle 1 - beta_hat, G and resolvable mass.

    The localisation identity ``n G = #{j: Y_i*j = 0, sum_i Y_ij >= 1}`` holds exactly in integers.
    """
    A = as_correctness(Y)
    m, n = A.shape
    c = A.sum(axis=1)
    acc = c / n
    b = single_best(acc, costs)
    col = A.sum(axis=0)
    K = int(np.sum(col == 0))
    res = int(np.sum((A[b] == 0) & (col >= 1)))
    beta = K / n
    a_sb = float(acc[b])
    return PoolSummary(m=m, n=n, correct=c.astype(int), accuracy=acc, best=b, a_sb=a_sb, K=K, beta=beta,
                       oracle=1 - beta, gain=(1 - beta) - a_sb, n_resolvable=res, resolvable=res / n,
                       share=beta / (1 - a_sb) if a_sb < 1 else float("nan"))


def log_betainc(a, b, x) -> np.ndarray:
    """log of the regularized incomplete beta I_x(a, b), accurate where I_x underflows a double.

    Uses scipy's ``betainc`` where its value is a normal double, else the series
    I_x(a, b) = x^a (1-x)^b / (a B(a, b)) * 2F1(a+b, 1; a+1; x) (DLMF 8.17.8) summed in log space.
    """
    a, b, x = np.broadcast_arrays(*(np.asarray(v, float) for v in (a, b, x)))
    shape = a.shape
    a, b, x = (np.ravel(v) for v in (a, b, x))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        v = betainc(a, b, x)
        out = np.log(v)
        small = ~(v > 1e-280) & (x > 0) & (x < 1)
        if small.any():
            aa, bb, xx = a[small], b[small], x[small]
            term = np.ones_like(xx)
            series = np.ones_like(xx)
            for j in range(20000):
                term = term * (aa + bb + j) / (aa + 1 + j) * xx
                series = series + term
                if np.all(term <= 1e-17 * series):
                    break
            out[small] = aa * np.log(xx) + bb * np.log1p(-xx) - np.log(aa) - betaln(aa, bb) + np.log(series)
    return out.reshape(shape)


def _beta_ppf_low(a, b, level: float) -> np.ndarray:
    """x with I_x(a, b) = level (lower-tail Beta quantile), finite for every level in (0, 1).

    ``betaincinv`` returns NaN for extreme levels (e.g. 1e-300); there the quantile is found by bisection
    on log x of :func:`log_betainc`.
    """
    a, b = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float))
    shape = a.shape
    a, b = np.ravel(a), np.ravel(b)
    with np.errstate(invalid="ignore", under="ignore"):
        x = np.asarray(betaincinv(a, b, level), float)
    bad = ~np.isfinite(x) | (x < 0) | (x > 1)
    if level < 1e-100:  # betaincinv loses accuracy far in the tail: verify, and re-solve where it is off
        with np.errstate(divide="ignore", invalid="ignore"):
            err = np.abs(log_betainc(a, b, np.where(bad, 0.5, x)) - np.log(level))
        bad |= ~(err <= 1e-9 * abs(np.log(level)))
    if bad.any():
        aa, bb = a[bad], b[bad]
        target = np.log(level)
        lo = np.full(aa.shape, -800.0)
        hi = np.zeros(aa.shape)
        for _ in range(120):
            mid = 0.5 * (lo + hi)
            below = log_betainc(aa, bb, np.exp(mid)) < target
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        x = x.copy()
        x[bad] = np.exp(0.5 * (lo + hi))
    return x.reshape(shape)


def cp_lower(k, n, level: float):
    """One-sided Clopper–Pearson lower limit at tail probability ``level``: Beta.ppf(level, k, n-k+1), 0 at k = 0.

    Finite for every ``level`` in (0, 1) (see :func:`_beta_ppf_low`).
    """
    k = np.asarray(k, float)
    n = np.asarray(n, float)
    out = _beta_ppf_low(np.maximum(k, 1.0), np.maximum(n - k + 1, 1.0), level)
    return np.where(k <= 0, 0.0, out)


def cp_upper(k, n, level: float):
    """One-sided Clopper–Pearson upper limit at tail ``level``: Beta.ppf(1-level, k+1, n-k), 1 at k = n.

    Computed as 1 - Beta.ppf(level, n-k, k+1) (the complement), so tiny levels stay accurate and finite.
    """
    k = np.asarray(k, float)
    n = np.asarray(n, float)
    out = 1.0 - _beta_ppf_low(np.maximum(n - k, 1.0), k + 1, level)
    return np.where(k >= n, 1.0, out)


def cp_interval(k, n, delta: float = 0.05) -> tuple[float, float]:
    """Two-sided Clopper–Pearson interval at level 1 - delta (spec §2.2); closed forms at k = 0 and k = n."""
    _check_kn(k, n)
    if not 0 < delta < 1:
        raise ValueError(f"delta must lie in (0, 1), got {delta}")
    if k == 0:
        return 0.0, float(1 - (delta / 2) ** (1 / n))
    if k == n:
        return float((delta / 2) ** (1 / n)), 1.0
    return float(cp_lower(k, n, delta / 2)), float(cp_upper(k, n, delta / 2))


def _check_kn(k, n) -> None:
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n}")
    if int(k) != k or k < 0 or k > n:
        raise ValueError(f"k must be an integer in [0, n={n}], got {k}")


def certificate_bound(K: int, n: int, correct, delta: float = 0.05, *, prespecified: int | None = None,
                      K_lower: int | None = None, n_models_lower=None) -> dict:
    """Prop. 1(iii) certificate: U = (1 - beta_lo) - asb_lo, valid with probability >= 1 - delta.

    ``beta_lo = Beta.ppf(delta/2, K, n-K+1)`` (0 if K = 0); ``asb_lo = max_i Beta.ppf(delta/(2m), c_i, n-c_i+1)``
    (Bonferroni because the best is chosen in-sample; a ``prespecified`` model index uses delta/2).
    Both are *lower* limits (the rev's fix of v1's direction error, spec §6 item 2).
    ``K_lower`` (default K) is the count used for beta_lo (K_complete under keep-partial).
    """
    _check_kn(K, n)
    if not 0 < delta < 1:
        raise ValueError(f"delta must lie in (0, 1), got {delta}")
    c = np.atleast_1d(np.asarray(correct, float))
    m = c.size
    Kl = K if K_lower is None else K_lower
    beta_lo = float(cp_lower(Kl, n, delta / 2))
    if prespecified is not None:
        asb_lo = float(cp_lower(c[prespecified], n, delta / 2))
    else:
        asb_lo = float(np.max(cp_lower(c, n, delta / (2 * m))))
    return {"beta_lo": beta_lo, "asb_lo": asb_lo, "U": (1 - beta_lo) - asb_lo}


def partition_oracle(Y, types) -> float:
    """Partition (category-router) oracle V_o^T = sum_t p_t max_i qhat_i(t) (spec §2.1).

    Satisfies a_sb <= V_o^T <= V_o and is monotone in the fineness of the partition.
    """
    A = as_correctness(Y)
    types = np.asarray(types)
    if types.shape != (A.shape[1],):
        raise ValueError(f"types must have one label per query ({A.shape[1]}), got shape {types.shape}")
    total = 0.0
    for lab in np.unique(types):
        sel = types == lab
        total += A[:, sel].sum(axis=1).max()
    return float(total / A.shape[1])


def optimism(Y, n_boot: int, rng: np.random.Generator, n_splits: int = 20) -> dict:
    """In-sample optimism of the single best (spec §2.1).

    Bootstrap bias ``b = mean_b max_i ahat^(b) - max_i ahat`` (query resampling, multinomial counts) with
    its Monte Carlo standard error ``boot_bias_se = sd_b(max_i ahat^(b)) / sqrt(B)``, and a 2-fold cross-fit:
    the best is chosen on a random half A and scored on half B (``n_splits``).
    """
    A = as_correctness(Y)
    m, n = A.shape
    best = A.mean(axis=1).max()
    W = rng.multinomial(n, np.full(n, 1.0 / n), size=int(n_boot)).astype(np.float64)  # B x n weights
    boot_max = (W @ A.T / n).max(axis=1)
    b = float(boot_max.mean() - best)
    cf = []
    for _ in range(int(n_splits)):
        perm = rng.permutation(n)
        h1, h2 = perm[: n // 2], perm[n // 2:]
        for a_idx, b_idx in ((h1, h2), (h2, h1)):
            i = int(np.argmax(A[:, a_idx].mean(axis=1)))
            cf.append(A[i, b_idx].mean())
    se = float(boot_max.std(ddof=1) / np.sqrt(boot_max.size)) if boot_max.size > 1 else float("nan")
    return {"a_sb": float(best), "boot_bias": b, "boot_bias_se": se, "a_sb_corrected": float(best - b),
            "crossfit": float(np.mean(cf))}


def co_failure_share(K: int, n: int, a_sb: float, delta: float = 0.05) -> tuple[float, float, float]:
    """Co-failure share s = beta/(1 - a_sb) with the interval of the two-sided CP limits of beta (spec §2.17)."""
    if not a_sb < 1:
        return float("nan"), float("nan"), float("nan")
    lo, hi = cp_interval(K, n, delta)
    d = 1 - a_sb
    return K / n / d, lo / d, min(hi / d, 1.0)


def regime(s: float, s_lo: float, s_hi: float, tau: float = 0.25) -> tuple[str, bool]:
    """Regime rule of spec §2.17: ceiling-bound iff s >= tau; certified when [s_lo, s_hi] lies on one side."""
    if not np.isfinite(s):
        return "realizability-bound", False
    lab = "ceiling-bound" if s >= tau else "realizability-bound"
    cert = bool(s_hi < tau) if lab == "realizability-bound" else bool(s_lo >= tau)
    return lab, cert
