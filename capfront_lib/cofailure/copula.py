"""Correlation and copula machinery of the co-failure chapter (spec §2.3–§2.6).

Pearson-of-indicators, tetrachoric correlations (bivariate normal CDF by Gauss–Legendre), the
single-factor Gaussian copula's all-wrong probability, the nearest-correlation projection of
Higham (2002), the full pairwise Gaussian copula orthant and the exchangeable Clayton control.
All matrices are cast to float64 before products (int8 products overflow silently).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize  # scipy.stats is imported lazily (slow import; CLI start-up)
from scipy.special import log_ndtr, ndtr, ndtri

from ..core.threads import single_thread_blas

__all__ = [
    "bvn_cdf",
    "bvn_pdf",
    "pair_tables",
    "pearson_matrix",
    "tetrachoric_from_p11",
    "tetrachoric_matrix",
    "TetraResult",
    "beta_sf",
    "beta_sf_gh",
    "implied_rho",
    "nearest_correlation",
    "clip_correlation",
    "orthant_mc",
    "orthant_genz",
    "orthant_sov",
    "clayton_cdf",
    "clayton_calibrate",
    "clayton_mc",
    "mean_offdiag",
    "tetrachoric_pairs",
    "pairwise_summary",
    "PairwiseSummary",
    "EXACT_PAIRS_MAX",
    "CLAMP",
    "gauss_hermite",
]

_GL_X, _GL_W = np.polynomial.legendre.leggauss(32)
CLAMP = 1.0 - 1e-6  # |r| of a zero-cell pair under zero_cell="clamp"
_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


def bvn_pdf(h: np.ndarray, k: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Bivariate standard normal density phi2(h, k; r) = d Phi2 / d r (Plackett's identity)."""
    h, k, r = np.broadcast_arrays(np.asarray(h, float), np.asarray(k, float), np.asarray(r, float))
    om = np.clip(1.0 - r * r, 1e-300, None)
    return np.exp(-(h * h - 2 * r * h * k + k * k) / (2 * om)) / (2 * np.pi * np.sqrt(om))


def bvn_cdf(h, k, r) -> np.ndarray:
    """Bivariate standard normal CDF Phi2(h, k; r) (spec §2.3).

    ``Phi2 = Phi(h)Phi(k) + (1/2pi) int_0^{asin r} exp(-(h^2 - 2hk sin u + k^2)/(2 cos^2 u)) du``,
    integrated with 32-point Gauss–Legendre; vectorised over broadcast arrays. Valid for |r| < 1;
    r = +-1 returns the Fréchet bounds.
    """
    h, k, r = np.broadcast_arrays(np.asarray(h, float), np.asarray(k, float), np.asarray(r, float))
    r_in = np.clip(r, -1.0, 1.0)
    a = np.arcsin(r_in)
    half = a / 2.0
    u = half[..., None] * (_GL_X + 1.0)
    su, cu2 = np.sin(u), np.cos(u) ** 2
    hh, kk = h[..., None], k[..., None]
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        f = np.exp(-(hh * hh - 2 * hh * kk * su + kk * kk) / (2 * cu2))
    f = np.where(cu2 > 0, f, 0.0)
    out = ndtr(h) * ndtr(k) + (half / (2 * np.pi)) * np.sum(f * _GL_W, axis=-1)
    out = np.where(r_in >= 1.0, ndtr(np.minimum(h, k)), out)
    out = np.where(r_in <= -1.0, np.maximum(ndtr(h) + ndtr(k) - 1.0, 0.0), out)
    return np.clip(out, 0.0, 1.0)


def _as_float_matrix(Y, name: str = "Y") -> np.ndarray:
    A = np.ascontiguousarray(Y, dtype=np.float64)  # contiguous: strided matmul skips BLAS
    if A.ndim != 2:
        raise ValueError(f"{name} must be a 2-D models x queries array, got shape {A.shape}")
    ok = np.isnan(A) | (A == 0) | (A == 1)
    if not ok.all():
        i, j = np.argwhere(~ok)[0]
        raise ValueError(f"{name} must hold 0/1 (or NaN for missing); entry ({i}, {j}) is {A[i, j]!r}")
    return A


def pair_tables(Y) -> dict[str, np.ndarray]:
    """Pairwise 2x2 co-error tables from an m x n correctness matrix (NaN = missing).

    Uses pairwise-complete queries. Returns counts ``n`` (both observed), ``n11`` (both wrong),
    ``n1_`` (i wrong, j observed) and ``n_1`` (j wrong, i observed), all m x m float64 arrays.
    """
    A = _as_float_matrix(Y)
    M = (~np.isnan(A)).astype(np.float64)
    W = np.where(np.isnan(A), 0.0, 1.0 - A)
    # single-threaded BLAS: these products are small, and threaded OpenBLAS on a busy machine is ~50x slower
    with single_thread_blas():
        n = M @ M.T
        n11 = W @ W.T
        n1_ = W @ M.T
    return {"n": n, "n11": n11, "n1_": n1_, "n_1": n1_.T.copy()}


def pearson_matrix(Y) -> np.ndarray:
    """Pearson correlation of error indicators, phi_ij = (p11 - a_i a_j)/sqrt(a_i(1-a_i)a_j(1-a_j)).

    Spec §2.3 (v1's mean rho). a = error rates on the pairwise-complete queries. Pairs with a
    degenerate margin get NaN; the diagonal is 1.
    """
    T = pair_tables(Y)
    with np.errstate(divide="ignore", invalid="ignore"):
        p11 = T["n11"] / T["n"]
        ai = T["n1_"] / T["n"]
        aj = T["n_1"] / T["n"]
        phi = (p11 - ai * aj) / np.sqrt(ai * (1 - ai) * aj * (1 - aj))
    np.fill_diagonal(phi, 1.0)
    return phi


def tetrachoric_from_p11(ti, tj, p11, *, r0=None, halvings: int = 60, tol: float = 1e-13) -> np.ndarray:
    """Solve Phi2(t_i, t_j; r) = p11 for r, vectorised (spec §2.3): Newton–bisection hybrid.

    Phi2 is increasing in r with derivative phi2(t_i, t_j; r). Each step keeps a bracket [lo, hi];
    a Newton step that leaves the bracket (or a flat derivative near the Fréchet bounds) is replaced
    by a bisection step. Stops when every forward residual is below ``tol`` or after ``halvings``
    steps (enough for bisection alone to pin r to 1e-15). Targets outside the Fréchet range return
    the nearer bound (+-1). ``r0`` is a warm start (default 0), e.g. the full-sample solution in a
    bootstrap, where most pairs then converge in two or three Newton steps.
    """
    ti, tj, p11 = np.broadcast_arrays(*(np.asarray(x, float) for x in (ti, tj, p11)))
    shape = ti.shape
    ti, tj, p11 = (np.atleast_1d(x).ravel() for x in (ti, tj, p11))
    lo = -np.ones(ti.shape)
    hi = np.ones(ti.shape)
    r = np.zeros(ti.shape) if r0 is None else np.clip(np.broadcast_to(np.asarray(r0, float), shape).ravel(), -1 + 1e-9, 1 - 1e-9)
    f = bvn_cdf(ti, tj, r) - p11
    for _ in range(halvings):
        active = np.abs(f) >= tol
        if not active.any():
            break
        lo = np.where(f < 0, r, lo)
        hi = np.where(f < 0, hi, r)
        d = bvn_pdf(ti, tj, r)
        with np.errstate(divide="ignore", invalid="ignore"):
            rn = r - f / d
        bad = ~np.isfinite(rn) | (rn <= lo) | (rn >= hi)
        rn = np.where(bad, 0.5 * (lo + hi), rn)
        r = np.where(active, rn, r)
        idx = np.flatnonzero(active)
        f[idx] = bvn_cdf(ti[idx], tj[idx], r[idx]) - p11[idx]
    return r.reshape(shape)


@dataclass
class TetraResult:
    """Tetrachoric matrix with bookkeeping (spec §2.3).

    ``r``: m x m matrix (diagonal 1; NaN for degenerate models); ``n_clamped``: pairs on a Fréchet
    bound (zero cell) that were clamped or Haldane-corrected; ``clamped``: boolean pair mask;
    ``degenerate``: models with error rate 0 or 1 (left out of copula fits); ``thresholds``: t_i.
    """

    r: np.ndarray
    n_clamped: int
    clamped: np.ndarray
    degenerate: np.ndarray
    thresholds: np.ndarray


def tetrachoric_pairs(n11, n1_, n_1, n, pair_ok, *, zero_cell: str = "clamp", halvings: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Tetrachoric r of pairs from their 2x2 counts (spec §2.3); returns (r, zero-cell mask).

    ``n11`` both wrong, ``n1_`` i wrong, ``n_1`` j wrong, ``n`` both observed; ``pair_ok`` false for pairs
    with a degenerate model (r = NaN). Zero-cell pairs are clamped at ±(1 - 1e-6) or Haldane-corrected.
    """
    c11 = np.asarray(n11, float)
    c10 = np.asarray(n1_, float) - c11
    c01 = np.asarray(n_1, float) - c11
    nn = np.asarray(n, float)
    c00 = nn - c11 - c10 - c01
    pos_bound = (c10 == 0) | (c01 == 0)
    neg_bound = (c11 == 0) | (c00 == 0)
    zero = (pos_bound | neg_bound) & pair_ok
    if zero_cell == "haldane":
        add = np.where(zero, 0.5, 0.0)
        c11, c10, c01, c00 = c11 + add, c10 + add, c01 + add, c00 + add
        nn = nn + 4 * add
    with np.errstate(divide="ignore", invalid="ignore"):
        ai = (c11 + c10) / nn
        aj = (c11 + c01) / nn
        p11 = c11 / nn
    ti = ndtri(np.clip(ai, 1e-300, 1 - 1e-16))
    tj = ndtri(np.clip(aj, 1e-300, 1 - 1e-16))
    r = np.full(len(c11), np.nan)
    solve = pair_ok & ~(zero & (zero_cell == "clamp"))
    if solve.any():
        r[solve] = tetrachoric_from_p11(ti[solve], tj[solve], p11[solve], halvings=halvings)
    if zero_cell == "clamp":
        # a positive-bound zero cell (p11 = min alpha) wins over p00 = 0 only if it is the one hit
        r = np.where(zero & pos_bound & ~neg_bound, CLAMP, r)
        r = np.where(zero & neg_bound & ~pos_bound, -CLAMP, r)
        both = zero & pos_bound & neg_bound  # e.g. identical columns with p00 = 0
        r = np.where(both, CLAMP, r)
    return r, zero


def tetrachoric_matrix(Y, *, zero_cell: str = "clamp", halvings: int = 60) -> TetraResult:
    """All pairwise tetrachoric correlations of error indicators (spec §2.3).

    ``zero_cell``: ``"clamp"`` pins pairs with an empty 2x2 cell at +-(1 - 1e-6);
    ``"haldane"`` adds 1/2 to all four cells of such pairs before solving. Pairwise-complete
    queries are used when Y has NaNs.
    """
    if zero_cell not in ("clamp", "haldane"):
        raise ValueError(f"zero_cell must be 'clamp' or 'haldane', got {zero_cell!r}")
    T = pair_tables(Y)
    n, n11, n1_, n_1 = T["n"], T["n11"], T["n1_"], T["n_1"]
    m = n.shape[0]
    diag_alpha = np.diag(n11) / np.diag(n)
    degenerate = (diag_alpha <= 0) | (diag_alpha >= 1) | ~np.isfinite(diag_alpha)
    iu = np.triu_indices(m, 1)
    pair_ok = ~(degenerate[iu[0]] | degenerate[iu[1]])
    r, zero = tetrachoric_pairs(n11[iu], n1_[iu], n_1[iu], n[iu], pair_ok, zero_cell=zero_cell, halvings=halvings)
    R = np.eye(m)
    R[iu] = r
    R[(iu[1], iu[0])] = r
    R[degenerate, :] = np.nan
    R[:, degenerate] = np.nan
    R[np.diag_indices(m)] = np.where(degenerate, np.nan, 1.0)
    C = np.zeros((m, m), bool)
    C[iu] = zero
    C = C | C.T
    t = ndtri(np.clip(diag_alpha, 0, 1))
    return TetraResult(r=R, n_clamped=int(zero.sum()), clamped=C, degenerate=degenerate, thresholds=t)


def mean_offdiag(S: np.ndarray) -> float:
    """Mean of the finite off-diagonal entries of a square matrix (rbar / phibar over all pairs)."""
    S = np.asarray(S, float)
    iu = np.triu_indices(S.shape[0], 1)
    v = S[iu]
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else float("nan")


def _check_t(t) -> np.ndarray:
    t = np.atleast_1d(np.asarray(t, float))
    if t.ndim != 1 or t.size < 1 or not np.all(np.isfinite(t)):
        raise ValueError("t (thresholds Phi^-1(alpha_i)) must be a non-empty 1-D array of finite numbers")
    return t


def _clip_rho(rho: float) -> float:
    rho = float(rho)
    if not np.isfinite(rho):
        raise ValueError(f"rho must be finite, got {rho}")
    if rho <= 0:
        if rho < 0:
            warnings.warn(f"rho = {rho:.4g} <= 0 clipped to 0 (independence)", RuntimeWarning, stacklevel=3)
        return 0.0
    return min(rho, 1.0 - 1e-12)


def beta_sf(t, rho: float) -> float:
    """All-wrong probability of the single-factor Gaussian copula (spec §2.4), by adaptive quadrature.

    ``beta_sf(t, rho) = int phi(z) prod_i Phi((t_i - sqrt(rho) z)/sqrt(1 - rho)) dz``. Integrates
    ``exp(logf - peak)`` on [-14, 14] with the peak as breakpoint (no underflow for large m).
    rho <= 0 gives the independence value prod Phi(t_i) (with a warning for rho < 0).
    """
    t = _check_t(t)
    rho = _clip_rho(rho)
    if rho == 0.0:
        return float(np.exp(np.sum(log_ndtr(t))))
    s, c = np.sqrt(rho), np.sqrt(1.0 - rho)

    def logf(z: float) -> float:
        return float(-0.5 * z * z - _LOG_SQRT_2PI + np.sum(log_ndtr((t - s * z) / c)))

    opt = optimize.minimize_scalar(lambda z: -logf(z), bounds=(-14.0, 14.0), method="bounded",
                                   options={"xatol": 1e-10})
    zp = float(opt.x)
    peak = logf(zp)
    val, _ = integrate.quad(lambda z: np.exp(logf(z) - peak), -14.0, 14.0, points=[zp],
                            limit=200, epsabs=0.0, epsrel=1e-11)
    return float(val * np.exp(peak))


_GH_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def gauss_hermite(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    if nodes not in _GH_CACHE:
        x, w = np.polynomial.hermite_e.hermegauss(nodes)
        _GH_CACHE[nodes] = (x, w / np.sqrt(2 * np.pi))
    return _GH_CACHE[nodes]


def beta_sf_gh(t, rho, nodes: int = 96) -> np.ndarray | float:
    """Fast Gauss–Hermite version of :func:`beta_sf` (spec §2.4), vectorised over ``rho``.

    Accurate to ~3e-7 relative for rho <= 0.6 and 2e-5 for rho <= 0.8; use :func:`beta_sf` for
    headline numbers and rho > 0.7.
    """
    t = _check_t(t)
    rho_arr = np.atleast_1d(np.asarray(rho, float))
    rho_c = np.clip(rho_arr, 0.0, 1 - 1e-12)
    x, w = gauss_hermite(nodes)
    s = np.sqrt(rho_c)[:, None, None]
    c = np.sqrt(1 - rho_c)[:, None, None]
    arg = (t[None, None, :] - s * x[None, :, None]) / c
    logp = np.sum(log_ndtr(arg), axis=2)  # (R, nodes)
    out = np.sum(np.exp(logp) * w, axis=-1)
    return float(out[0]) if np.ndim(rho) == 0 else out


def implied_rho(t, beta_hat: float) -> float:
    """Implied base correlation rho_eff with beta_sf(t, rho_eff) = beta_hat (spec §2.3, Table 2 row).

    beta_sf increases in rho (Slepian). Returns 0 when beta_hat is at or below independence and NaN
    when beta_hat exceeds the comonotone limit min_i alpha_i.
    """
    t = _check_t(t)
    b0 = float(np.exp(np.sum(log_ndtr(t))))
    if beta_hat <= b0:
        return 0.0
    if beta_hat >= float(ndtr(t.min())):
        return float("nan")
    return float(optimize.brentq(lambda r: beta_sf(t, r) - beta_hat, 0.0, 1 - 1e-9, xtol=1e-12))


def nearest_correlation(S, *, tol: float = 1e-10, max_iter: int = 500) -> tuple[np.ndarray, int]:
    """Nearest correlation matrix in Frobenius norm (Higham 2002), alternating projections + Dykstra.

    Spec §2.5: ``R = Y - dS; X = eigen-clip(R); dS = X - R; Y = X`` with unit diagonal, until the
    relative change is below ``tol``. Returns (matrix, iterations).
    """
    A = np.asarray(S, float)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or not np.all(np.isfinite(A)):
        raise ValueError("S must be a finite square matrix")
    A = (A + A.T) / 2
    Yk = A.copy()
    dS = np.zeros_like(A)
    for it in range(1, max_iter + 1):
        R = Yk - dS
        w, V = np.linalg.eigh(R)
        X = (V * np.maximum(w, 0.0)) @ V.T
        dS = X - R
        Ynew = X.copy()
        np.fill_diagonal(Ynew, 1.0)
        change = np.linalg.norm(Ynew - Yk, "fro") / max(np.linalg.norm(Yk, "fro"), 1e-300)
        Yk = Ynew
        if change < tol:
            break
    Yk = (Yk + Yk.T) / 2
    np.fill_diagonal(Yk, 1.0)
    return Yk, it


def clip_correlation(S, floor: float = 1e-4) -> np.ndarray:
    """The authors' PSD repair (spec §2.5 ``psd_method="clip"``): clip eigenvalues at ``floor``, rescale to unit diagonal."""
    A = np.asarray(S, float)
    A = (A + A.T) / 2
    w, V = np.linalg.eigh(A)
    X = (V * np.maximum(w, floor)) @ V.T
    d = np.sqrt(np.diag(X))
    X = X / np.outer(d, d)
    np.fill_diagonal(X, 1.0)
    return X


def orthant_mc(S, t, n_draws: int, rng: np.random.Generator, chunk: int = 50_000) -> tuple[float, float]:
    """Monte Carlo all-wrong probability P(X < t), X ~ N(0, S) (spec §2.5a). Returns (estimate, SE).

    Uses the eigen square root ``V sqrt(max(w, 0))`` so tiny negative eigenvalues are harmless.
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator")
    S = np.asarray(S, float)
    t = _check_t(t)
    if S.shape != (t.size, t.size):
        raise ValueError(f"S must be {t.size} x {t.size}, got {S.shape}")
    w, V = np.linalg.eigh((S + S.T) / 2)
    L = V * np.sqrt(np.maximum(w, 0.0))
    hits = 0
    done = 0
    n_draws = int(n_draws)
    while done < n_draws:
        b = min(chunk, n_draws - done)
        Z = rng.standard_normal((b, t.size)) @ L.T
        hits += int(np.all(Z < t, axis=1).sum())
        done += b
    p = hits / n_draws
    return p, float(np.sqrt(p * (1 - p) / n_draws))


def orthant_sov(S, t, n_draws: int, rng: np.random.Generator, n_rand: int = 8, jitter: float = 1e-10) -> tuple[float, float]:
    """All-wrong probability P(X < t), X ~ N(0, S), by Genz's separation of variables with randomised Sobol points.

    With the Cholesky factor L (variables ordered by increasing t_i, a cheap Genz–Bretz heuristic),
    ``P = E prod_i e_i(w)``, ``e_i = Phi((t_i - sum_{j<i} L_ij y_j)/L_ii)``, ``y_i = Phi^-1(w_i e_i)``:
    a smooth integrand on the unit cube, so (quasi-)Monte Carlo error is far below crude MC at small P.
    ``n_rand`` independent scramblings give the standard error. Returns (estimate, SE).
    """
    from scipy.stats import qmc

    t = _check_t(t)
    S = np.asarray(S, float)
    m = t.size
    if S.shape != (m, m):
        raise ValueError(f"S must be {m} x {m}, got {S.shape}")
    order = np.argsort(t)
    St = S[np.ix_(order, order)]
    tt = t[order]
    St = (St + St.T) / 2
    try:
        L = np.linalg.cholesky(St + jitter * np.eye(m))
    except np.linalg.LinAlgError:  # PSD but singular to rounding (e.g. a Higham projection): lift tiny eigenvalues
        w, V = np.linalg.eigh(St)
        A = (V * np.maximum(w, 1e-9)) @ V.T
        d = np.sqrt(np.diag(A))
        L = np.linalg.cholesky(A / np.outer(d, d) + jitter * np.eye(m))
    per = max(int(n_draws) // int(n_rand), 16)
    per = 1 << int(np.ceil(np.log2(per)))
    ests = []
    for _ in range(int(n_rand)):
        W = qmc.Sobol(d=max(m - 1, 1), scramble=True, seed=rng).random(per)
        Yv = np.zeros((per, m))
        prod = np.ones(per)
        for i in range(m):
            b = (tt[i] - Yv[:, :i] @ L[i, :i]) / L[i, i]
            e = ndtr(b)
            prod *= e
            if i < m - 1:
                Yv[:, i] = ndtri(np.clip(W[:, i] * e, 1e-300, 1 - 1e-16))
        ests.append(prod.mean())
    ests = np.array(ests)
    return float(ests.mean()), float(ests.std(ddof=1) / np.sqrt(len(ests)))


def orthant_genz(S, t, *, maxpts: int | None = None, abseps: float = 1e-6, releps: float = 1e-3,
                 seed: int = 0) -> float:
    """Genz QMC all-wrong probability via ``scipy.stats.multivariate_normal.cdf`` (spec §2.5b)."""
    t = _check_t(t)
    S = np.asarray(S, float)
    kw = {"abseps": abseps, "releps": releps}
    if maxpts is not None:
        kw["maxpts"] = int(maxpts)
    from scipy import stats

    mvn = stats.multivariate_normal(mean=np.zeros(t.size), cov=S, allow_singular=True, seed=seed, **kw)
    return float(mvn.cdf(t))


def clayton_cdf(u, theta: float) -> float:
    """Clayton copula C(u_1..u_m) = (sum u_i^-theta - m + 1)^(-1/theta) (spec §2.6).

    With wrong iff U_i <= alpha_i, ``clayton_cdf(alpha, theta)`` is the all-wrong probability.
    """
    u = np.asarray(u, float)
    if theta <= 0:
        raise ValueError(f"theta must be > 0, got {theta}")
    if np.any((u <= 0) | (u > 1)):
        return float(np.prod(u)) if np.any(u <= 0) else float("nan")
    s = np.sum(u ** (-theta), axis=-1) - u.shape[-1] + 1
    return s ** (-1.0 / theta)


def clayton_calibrate(alpha, mean_p11: float, lo: float = 1e-4, hi: float = 50.0) -> float:
    """Clayton theta whose mean pairwise co-error C(alpha_i, alpha_j) equals ``mean_p11`` (spec §2.6).

    brentq on theta in (lo, hi); the pairwise co-error increases with theta.
    """
    a = np.asarray(alpha, float)
    if a.size < 2 or np.any((a <= 0) | (a >= 1)):
        raise ValueError("alpha must hold >= 2 error rates strictly inside (0, 1)")
    iu = np.triu_indices(a.size, 1)
    ai, aj = a[iu[0]], a[iu[1]]

    def f(th: float) -> float:
        return float(np.mean((ai ** -th + aj ** -th - 1) ** (-1 / th))) - mean_p11

    flo, fhi = f(lo), f(hi)
    if flo > 0 or fhi < 0:
        raise ValueError(f"mean_p11 = {mean_p11:.4g} is outside the Clayton range [{flo + mean_p11:.4g}, {fhi + mean_p11:.4g}]")
    return float(optimize.brentq(f, lo, hi, xtol=1e-14, rtol=1e-14))


def clayton_mc(alpha, theta: float, n_draws: int, rng: np.random.Generator) -> tuple[float, float]:
    """All-wrong probability under Clayton by Marshall–Olkin sampling (spec §2.6 cross-check): (estimate, SE).

    V ~ Gamma(1/theta), E_i ~ Exp(1), U_i = (1 + E_i/V)^(-1/theta); wrong iff U_i <= alpha_i.
    """
    a = np.asarray(alpha, float)
    V = rng.gamma(1.0 / theta, size=(int(n_draws), 1))
    E = rng.exponential(size=(int(n_draws), a.size))
    U = (1 + E / V) ** (-1.0 / theta)
    p = float(np.mean(np.all(U <= a, axis=1)))
    return p, float(np.sqrt(p * (1 - p) / n_draws))


# ---------------------------------------------------------------------------------------------
# pairwise means for pools of any size (memory linear in the number of models)

EXACT_PAIRS_MAX = 125_000  # all pairs up to m = 500 models; beyond, a stated random sample of pairs


@dataclass
class PairwiseSummary:
    """Mean pairwise Pearson (phibar) and tetrachoric (rbar) correlations of error indicators.

    ``n_pairs``: pairs of non-degenerate models; ``n_pairs_used``: pairs behind ``rbar`` (and behind
    ``phibar`` when ``phibar_exact`` is false); ``sampled``: rbar from a uniform random sample of pairs
    (seeded) rather than all pairs; ``n_clamped``: zero-cell pairs among those used.
    """

    phibar: float
    rbar: float
    n_pairs: int
    n_pairs_used: int
    sampled: bool
    phibar_exact: bool
    n_clamped: int
    degenerate: np.ndarray
    thresholds: np.ndarray


def _pair_index(k: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
    """(i, j), i < j, of linear indices ``k`` of the upper triangle of a g x g matrix, row by row."""
    k = np.asarray(k, np.int64)
    # row i starts at s(i) = i*g - i*(i+1)/2; invert the quadratic, then fix rounding
    i = np.floor(((2 * g - 1) - np.sqrt((2 * g - 1) ** 2 - 8.0 * k)) / 2).astype(np.int64)
    start = i * g - i * (i + 1) // 2
    over = k < start
    i = np.where(over, i - 1, i)
    start = i * g - i * (i + 1) // 2
    nxt = (i + 1) * g - (i + 1) * (i + 2) // 2
    under = k >= nxt
    i = np.where(under, i + 1, i)
    start = i * g - i * (i + 1) // 2
    j = k - start + i + 1
    return i, j


def _packed(bits: np.ndarray) -> np.ndarray:
    """Boolean m x n -> m x w uint64 words (n bits per row, zero-padded)."""
    p = np.packbits(bits, axis=1)
    pad = (-p.shape[1]) % 8
    if pad:
        p = np.pad(p, ((0, 0), (0, pad)))
    return np.ascontiguousarray(p).view(np.uint64)


def _pair_counts(Wp: np.ndarray, Mp: np.ndarray | None, i: np.ndarray, j: np.ndarray, n: int,
                 chunk: int = 8192) -> tuple[np.ndarray, ...]:
    """2x2 counts (n11, n1_, n_1, n) of the pairs (i, j) from bit-packed error/observed masks."""
    out = [np.empty(len(i)) for _ in range(4)]
    for s in range(0, len(i), chunk):
        a, b = i[s:s + chunk], j[s:s + chunk]
        out[0][s:s + chunk] = np.bitwise_count(Wp[a] & Wp[b]).sum(axis=1)
        if Mp is None:
            out[1][s:s + chunk] = np.bitwise_count(Wp[a]).sum(axis=1)
            out[2][s:s + chunk] = np.bitwise_count(Wp[b]).sum(axis=1)
            out[3][s:s + chunk] = n
        else:
            out[1][s:s + chunk] = np.bitwise_count(Wp[a] & Mp[b]).sum(axis=1)
            out[2][s:s + chunk] = np.bitwise_count(Mp[a] & Wp[b]).sum(axis=1)
            out[3][s:s + chunk] = np.bitwise_count(Mp[a] & Mp[b]).sum(axis=1)
    return tuple(out)


def _phibar_complete(W: np.ndarray, alpha: np.ndarray, good: np.ndarray) -> float:
    """Exact mean pairwise Pearson phi over the ``good`` models of a complete 0/1 error matrix, in O(nm).

    With p11_ij = (1/n) sum_q w_qi w_qj and s_i = sqrt(a_i (1 - a_i)):
    sum_{i<j} phi_ij = (1/2n) sum_q [(sum_i w_qi/s_i)^2 - sum_i w_qi/s_i^2] - (1/2)[(sum_i a_i/s_i)^2 - sum_i a_i^2/s_i^2].
    """
    g = int(good.sum())
    if g < 2:
        return float("nan")
    a = alpha[good]
    inv = 1.0 / np.sqrt(a * (1 - a))
    n = W.shape[0]
    first = 0.0
    for s in range(0, n, 2048):
        Wg = W[s:s + 2048][:, good]
        u = Wg @ inv
        first += float(np.sum(u * u) - np.sum(Wg @ (inv * inv)))
    first /= 2 * n
    second = 0.5 * (float(np.sum(a * inv)) ** 2 - float(np.sum((a * inv) ** 2)))
    return (first - second) / (g * (g - 1) / 2)


def pairwise_summary(A, *, zero_cell: str = "clamp", max_pairs: int = EXACT_PAIRS_MAX, seed: int = 0) -> PairwiseSummary:
    """phibar and rbar of an n x m correctness matrix (NaN = missing), memory linear in m (spec §2.3).

    Up to ``max_pairs`` pairs of non-degenerate models: every pair, computed exactly as
    :func:`pearson_matrix` / :func:`tetrachoric_matrix` do. Beyond: ``phibar`` exactly from sufficient
    statistics when no cell is missing (else over the sampled pairs), and ``rbar`` over ``max_pairs``
    pairs drawn uniformly without replacement (``seed``), stated in the result.
    """
    A = np.asarray(A, dtype=np.float64)
    n, m = A.shape
    obs = ~np.isnan(A)
    complete = bool(obs.all())
    W = np.where(obs, 1.0 - np.nan_to_num(A), 0.0)
    n_obs = obs.sum(axis=0).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = W.sum(axis=0) / n_obs
    degenerate = (alpha <= 0) | (alpha >= 1) | ~np.isfinite(alpha)
    good = ~degenerate
    g = int(good.sum())
    thresholds = ndtri(np.clip(alpha, 0, 1))
    total = g * (g - 1) // 2
    if total <= max_pairs:
        tet = tetrachoric_matrix(A.T, zero_cell=zero_cell)
        phi = pearson_matrix(A.T)
        sub = np.ix_(good, good)
        return PairwiseSummary(
            phibar=mean_offdiag(phi[sub]) if g >= 2 else float("nan"),
            rbar=mean_offdiag(tet.r[sub]) if g >= 2 else float("nan"),
            n_pairs=total, n_pairs_used=total, sampled=False, phibar_exact=True,
            n_clamped=int(tet.n_clamped), degenerate=tet.degenerate, thresholds=tet.thresholds,
        )
    gidx = np.flatnonzero(good)
    rng = np.random.default_rng(seed)
    k = np.sort(rng.choice(total, size=max_pairs, replace=False))
    li, lj = _pair_index(k, g)
    Wp = _packed(W[:, gidx].T.astype(bool))
    Mp = None if complete else _packed(obs[:, gidx].T)
    n11, n1_, n_1, nn = _pair_counts(Wp, Mp, li, lj, n)
    r, zero = tetrachoric_pairs(n11, n1_, n_1, nn, np.ones(len(k), bool), zero_cell=zero_cell)
    rv = r[np.isfinite(r)]
    if complete:
        phibar, exact = _phibar_complete(W, alpha, good), True
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            p11, ai, aj = n11 / nn, n1_ / nn, n_1 / nn
            ph = (p11 - ai * aj) / np.sqrt(ai * (1 - ai) * aj * (1 - aj))
        ph = ph[np.isfinite(ph)]
        phibar, exact = (float(ph.mean()) if ph.size else float("nan")), False
    return PairwiseSummary(
        phibar=phibar, rbar=float(rv.mean()) if rv.size else float("nan"), n_pairs=total, n_pairs_used=len(k),
        sampled=True, phibar_exact=exact, n_clamped=int(zero.sum()), degenerate=degenerate, thresholds=thresholds,
    )
