"""Two-model cascades ``M_small -> M_big`` with self-verification deferral (thesis ch. 3, §3.4, App. 3D).

M_small answers; its self-verification probability ``p`` (P(True)) decides deferral: ``1_D = 1[p < t]``.
The cascade pays ``C_s + 1_D C_b`` and waits ``L_s + 1_D L_b`` (eq. 3.7); its error is M_big's on deferred
queries and M_small's otherwise. Theorem 5 (eq. 3.26) decomposes the cascade error; the cascade error
reduction is ``CER = Cov(1_D, 1_err^small)`` (eq. 3.25). Thresholds are chosen on a training split among
empirical quantiles of ``p`` (App. 3D) and evaluated on a test split.

Everything works on sufficient statistics: sorting queries by ``p`` once turns the mean reward at all
thresholds and all prices into cumulative sums (no per-threshold loops).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


def _vec(name: str, x, n: int | None = None, binary: bool = False, nonneg: bool = False) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array")
    if n is not None and len(a) != n:
        raise ValueError(f"{name} has length {len(a)}, expected {n}")
    if np.any(~np.isfinite(a)):
        raise ValueError(f"{name} has missing or non-finite values")
    if binary and not np.isin(a, (0.0, 1.0)).all():
        raise ValueError(f"{name} must be 0/1 indicators (1 = error)")
    if nonneg and np.any(a < 0):
        raise ValueError(f"{name} must be >= 0")
    return a


@dataclass(frozen=True)
class CascadeData:
    """Per-query joint outcomes of a small and a big model on the same queries (all arrays of length n).

    ``p``: M_small's self-verification probability; ``err_small``/``err_big``: 0/1 errors;
    ``cost_*`` in $, ``lat_*`` in s.
    """

    p: np.ndarray
    err_small: np.ndarray
    err_big: np.ndarray
    cost_small: np.ndarray
    cost_big: np.ndarray
    lat_small: np.ndarray
    lat_big: np.ndarray

    def __post_init__(self) -> None:
        n = len(np.asarray(self.p))
        if n == 0:
            raise ValueError("CascadeData needs at least one query")
        object.__setattr__(self, "p", _vec("p", self.p, n))
        for name in ("err_small", "err_big"):
            object.__setattr__(self, name, _vec(name, getattr(self, name), n, binary=True))
        for name in ("cost_small", "cost_big", "lat_small", "lat_big"):
            object.__setattr__(self, name, _vec(name, getattr(self, name), n, nonneg=True))

    @property
    def n(self) -> int:
        return len(self.p)

    def subset(self, idx) -> "CascadeData":
        """The queries at positions ``idx``."""
        idx = np.asarray(idx)
        return CascadeData(*(getattr(self, f)[idx] for f in
                             ("p", "err_small", "err_big", "cost_small", "cost_big", "lat_small", "lat_big")))


def deferral(p, threshold) -> np.ndarray:
    """Deferral indicator ``1_D = 1[p < t]`` (App. 3D; M_small defers when its P(True) is below ``t``)."""
    return (np.asarray(p, float) < float(threshold)).astype(float)


def cascade_outcomes(data: CascadeData, threshold: float) -> dict[str, np.ndarray]:
    """Per-query deferral, error, cost and latency of the cascade at threshold ``t`` (eq. 3.7).

    error = ``(1 - D) err_small + D err_big``; cost = ``C_s + D C_b``; latency = ``L_s + D L_b``.
    """
    D = deferral(data.p, threshold)
    return {
        "defer": D,
        "error": (1 - D) * data.err_small + D * data.err_big,
        "cost": data.cost_small + D * data.cost_big,
        "latency": data.lat_small + D * data.lat_big,
    }


def _cov0(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.mean(a * b) - np.mean(a) * np.mean(b))


def cascade_error_reduction(defer, err_small) -> float:
    """Cascade error reduction, eq. (3.25): ``CER = Cov(1_D, 1_err^small)`` (population covariance, ddof=0)."""
    d = _vec("defer", defer, binary=True)
    return _cov0(d, _vec("err_small", err_small, len(d), binary=True))


def cer_oracle_bound(deferral_rate, error_small):
    """Largest possible CER at deferral rate ``p_d``: ``min(p_d (1 - e_s), e_s (1 - p_d))``.

    ``Cov(D, E_s) = P(D, E_s) - p_d e_s`` with ``P(D, E_s) <= min(p_d, e_s)`` (defer exactly the errors first).
    Maximal (``e_s (1 - e_s)``) at ``p_d = e_s``; zero at ``p_d in {0, 1}``.
    """
    pd_ = np.asarray(deferral_rate, float)
    es = np.asarray(error_small, float)
    if np.any((pd_ < 0) | (pd_ > 1)) or np.any((es < 0) | (es > 1)):
        raise ValueError("deferral_rate and error_small must be in [0, 1]")
    return np.minimum(pd_ * (1 - es), es * (1 - pd_))


def cascade_error_decomposition(defer, err_small, err_big) -> dict[str, float]:
    """Theorem 5, eq. (3.26): ``e_casc = (1-p_d) e_s + p_d e_b + Cov(D, E_b) - Cov(D, E_s)``.

    Returns every term, the directly measured ``e_casc``, the formula's value and the residual (exactly 0 up
    to rounding when covariances use the 1/n normaliser, as here).
    """
    d = _vec("defer", defer, binary=True)
    es = _vec("err_small", err_small, len(d), binary=True)
    eb = _vec("err_big", err_big, len(d), binary=True)
    p_d, e_s, e_b = float(d.mean()), float(es.mean()), float(eb.mean())
    cov_b, cov_s = _cov0(d, eb), _cov0(d, es)
    e_casc = float(np.mean((1 - d) * es + d * eb))
    formula = (1 - p_d) * e_s + p_d * e_b + cov_b - cov_s
    return {"deferral_rate": p_d, "e_small": e_s, "e_big": e_b, "cov_defer_err_big": cov_b,
            "cer": cov_s, "e_cascade": e_casc, "formula": formula, "residual": e_casc - formula}


def candidate_thresholds(p_train, step: float = 0.025) -> tuple[np.ndarray, np.ndarray]:
    """Candidate thresholds of App. 3D: empirical quantiles of the training ``p`` at levels ``0, step, ..., 1``.

    ``numpy.quantile(method="linear")``; with the default step there are 41 levels. Returns (levels, thresholds).
    """
    p = _vec("p_train", p_train)
    if not (0 < step <= 1) or abs(round(1 / step) - 1 / step) > 1e-9:
        raise ValueError(f"threshold_quantile_step must divide 1 (e.g. 0.025), got {step}")
    levels = np.linspace(0.0, 1.0, int(round(1 / step)) + 1)
    return levels, np.quantile(p, levels, method="linear")


def reward_curves(data: CascadeData, thresholds, lam_E, lam_L=0.0) -> dict[str, np.ndarray]:
    """Mean cascade reward (eq. 3.7 averaged, eq. 3.12) at every threshold and price, by cumulative sums.

    Returns ``R`` of shape (n_thresholds, n_lam_E, n_lam_L) plus per-threshold ``deferral_rate``, ``error``,
    ``cost`` and ``latency`` (means). ``lam_L`` in $/s.
    """
    t = np.atleast_1d(np.asarray(thresholds, float))
    lE = np.atleast_1d(np.asarray(lam_E, float))
    lL = np.atleast_1d(np.asarray(lam_L, float))
    if np.any(lE < 0) or np.any(lL < 0):
        raise ValueError("lam_E and lam_L must be >= 0")
    n = data.n
    order = np.argsort(data.p, kind="stable")
    ps = data.p[order]
    k = np.searchsorted(ps, t, side="left")  # number of queries with p < t
    def cums(x):
        return np.concatenate([[0.0], np.cumsum(x[order])])
    dC, dL, dE = cums(data.cost_big), cums(data.lat_big), cums(data.err_big - data.err_small)
    cost = (data.cost_small.sum() + dC[k]) / n
    lat = (data.lat_small.sum() + dL[k]) / n
    err = (data.err_small.sum() + dE[k]) / n
    R = -(cost[:, None, None] + lL[None, None, :] * lat[:, None, None] + lE[None, :, None] * err[:, None, None])
    return {"R": R, "deferral_rate": k / n, "error": err, "cost": cost, "latency": lat, "n_deferred": k}


def select_threshold(data: CascadeData, lam_E, lam_L=0.0, step: float = 0.025) -> dict[str, np.ndarray]:
    """``t*(lam)`` of App. 3D: maximise the mean training reward over the quantile candidates.

    Ties in training reward go to the lower deferral rate (cheaper), then to the lower quantile level.
    Returns arrays of shape (n_lam_E, n_lam_L): ``threshold``, ``level``, ``index`` and ``train_reward``.
    """
    levels, thr = candidate_thresholds(data.p, step)
    cur = reward_curves(data, thr, lam_E, lam_L)
    R = cur["R"]
    best = R.max(axis=0, keepdims=True)
    is_best = np.isclose(R, best, rtol=1e-12, atol=1e-15)
    # lexicographic: lowest deferral count, then lowest candidate index
    key = np.where(is_best, cur["n_deferred"][:, None, None] * (len(thr) + 1) + np.arange(len(thr))[:, None, None],
                   np.iinfo(np.int64).max)
    idx = np.argmin(key, axis=0)
    return {"index": idx, "threshold": thr[idx], "level": levels[idx], "train_reward": np.take_along_axis(R, idx[None], 0)[0],
            "candidates": thr, "levels": levels}


def split_indices(n: int, train_frac: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random train/test split of ``range(n)`` (App. 3D: 50/50 of the 500 level-5 queries)."""
    if not 0 < train_frac < 1:
        raise ValueError(f"train_frac must be in (0, 1), got {train_frac}")
    perm = rng.permutation(n)
    n_tr = int(round(n * train_frac))
    if n_tr == 0 or n_tr == n:
        raise ValueError(f"train_frac={train_frac} leaves an empty split for n={n}")
    return np.sort(perm[:n_tr]), np.sort(perm[n_tr:])


def evaluate_cascade(train: CascadeData, test: CascadeData, lam_E, lam_L=0.0, step: float = 0.025) -> dict[str, np.ndarray]:
    """Fit ``t*(lam)`` on ``train`` and report test-set rewards of the cascade and of M_big alone (Fig. 3.5).

    Arrays of shape (n_lam_E, n_lam_L): ``threshold``, ``train_reward``, ``test_reward``, ``test_deferral_rate``,
    ``big_test_reward`` (M_big answers everything: eq. 3.5 averaged), ``small_test_reward``.
    """
    lE = np.atleast_1d(np.asarray(lam_E, float))
    lL = np.atleast_1d(np.asarray(lam_L, float))
    sel = select_threshold(train, lE, lL, step)
    thr = sel["threshold"]
    # test means at each chosen threshold (one per price), then the reward at that price: O(n_E n_L)
    te = reward_curves(test, thr.ravel(), [0.0], [0.0])
    cost, lat, err = (te[k].reshape(thr.shape) for k in ("cost", "latency", "error"))
    test_R = -(cost + lL[None, :] * lat + lE[:, None] * err)
    test_pd = te["deferral_rate"].reshape(thr.shape)
    big = -(test.cost_big.mean() + lL[None, :] * test.lat_big.mean() + lE[:, None] * test.err_big.mean())
    small = -(test.cost_small.mean() + lL[None, :] * test.lat_small.mean() + lE[:, None] * test.err_small.mean())
    return {"threshold": thr, "level": sel["level"], "train_reward": sel["train_reward"], "test_reward": test_R,
            "test_deferral_rate": test_pd, "big_test_reward": big, "small_test_reward": small}


def critical_lambda(lam_grid: Sequence[float], R_big, R_other) -> float:
    """Smallest grid ``lam`` above which ``R_big >= R_other`` at every larger grid value (spec 5.12: last sign
    change). ``lam_grid[0]`` if M_big wins everywhere; ``inf`` if the other system wins at the last grid value."""
    lam = np.asarray(lam_grid, float)
    wins = np.asarray(R_big, float) >= np.asarray(R_other, float)
    if wins.shape != lam.shape:
        raise ValueError("R_big and R_other must have the grid's shape")
    if not wins[-1]:
        return float("inf")
    losing = np.where(~wins)[0]
    return float(lam[0] if len(losing) == 0 else lam[losing[-1] + 1])
