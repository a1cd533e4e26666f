"""Closed-form theory of the co-failure paper: Props. 2, 3, 5–7, 8 (cascade) and 9 (spec §2.7–§2.16)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy import integrate, stats
from scipy.special import ndtr, ndtri

from capfront_lib.cofailure.copula import beta_sf, beta_sf_gh, bvn_cdf, clayton_calibrate, clayton_cdf, tetrachoric_from_p11

__all__ = [
    "shock_marginals",
    "shock_beta",
    "shock_ratio",
    "shock_from_pair",
    "frechet_class",
    "triple_margins",
    "clayton_exchangeable",
    "majority_error",
    "majority_floor",
    "vote_variance",
    "optimal_size",
    "vote_value",
    "vote_lambda",
    "cascade_curve",
    "cascade_integral_identity",
    "prop9",
]


def _prob(name: str, v: float, open_: bool = False) -> float:
    v = float(v)
    if not np.isfinite(v) or v < 0 or v > 1 or (open_ and v in (0.0, 1.0)):
        raise ValueError(f"{name} must be a probability{' in (0, 1)' if open_ else ''}, got {v}")
    return v


def shock_marginals(omega: float, a0: float) -> dict:
    """Prop. 2 common shock: alpha = w + (1-w)a0, p11 = w + (1-w)a0^2, phi = w(1-w)(1-a0)^2/(alpha(1-alpha)).

    The tetrachoric r solves Phi2(t, t; r) = p11 with t = Phi^-1(alpha).
    """
    w, a0 = _prob("omega", omega), _prob("a0", a0)
    alpha = w + (1 - w) * a0
    p11 = w + (1 - w) * a0 ** 2
    phi = w * (1 - w) * (1 - a0) ** 2 / (alpha * (1 - alpha))
    t = float(ndtri(alpha))
    r = float(tetrachoric_from_p11(t, t, p11))
    return {"alpha": alpha, "p11": p11, "phi": phi, "t": t, "r_tet": r}


def shock_beta(omega: float, a0: float, m):
    """Prop. 2 all-wrong rate beta(m) = w + (1-w) a0^m, decreasing to the atom w."""
    m = np.asarray(m, float)
    return omega + (1 - omega) * a0 ** m


def shock_ratio(omega: float, a0: float, ms, calibration: str = "tetrachoric", threshold: float | None = None,
                method: str = "quad") -> dict:
    """Prop. 2 underpricing ratio R(m) = beta(m) / beta_sf(m) under a calibrated single-factor copula.

    ``calibration``: "tetrachoric" (r solving Phi2 = p11) or "pearson" (rho = phi). ``threshold``
    overrides t (the authors' pipeline used Phi^-1(0.40) instead of the true marginal, spec §3.3).
    beta_sf(m) = E[p(Z)^m] by adaptive quadrature (``method="gh"``: Gauss–Hermite-96, for explorers only).
    """
    mg = shock_marginals(omega, a0)
    rho = mg["r_tet"] if calibration == "tetrachoric" else mg["phi"] if calibration == "pearson" else None
    if rho is None:
        raise ValueError(f"calibration must be 'tetrachoric' or 'pearson', got {calibration!r}")
    t = mg["t"] if threshold is None else float(threshold)
    ms = np.atleast_1d(np.asarray(ms, int))
    if method == "gh":
        bsf = np.array([beta_sf_gh(np.full(int(k), t), rho) for k in ms])
    else:
        bsf = np.array([beta_sf(np.full(int(k), t), rho) for k in ms])
    b = shock_beta(omega, a0, ms)
    return {"m": ms, "beta": b, "beta_sf": bsf, "ratio": b / bsf, "rho": rho}


def shock_from_pair(a: float, b: float) -> tuple[float, float]:
    """Common-shock parameters (omega, a0) with pair marginals alpha = a and p11 = b (Prop. 2 inverted).

    From alpha - p11 = (1-w) a0 (1-a0) and 1 - alpha = (1-w)(1-a0): a0 = (a - b)/(1 - a), w = (a - a0)/(1 - a0).
    """
    a0 = (a - b) / (1 - a)
    w = (a - a0) / (1 - a0)
    return float(w), float(a0)


def frechet_class(a, b):
    """Prop. 3: exchangeable triples with pair marginals p1 = a, p2 = b (exact if Fractions are given).

    Returns (beta_min, beta_max, q(beta)) where q(beta) = (1-3a+3b-beta, 3a-6b+3beta, 3b-3beta, beta)
    are the probabilities of exactly 0..3 errors.
    """
    lo = max(0 * a, 2 * b - a)
    hi = min(b, 1 - 3 * a + 3 * b)

    def q(beta):
        return (1 - 3 * a + 3 * b - beta, 3 * a - 6 * b + 3 * beta, 3 * b - 3 * beta, beta)

    return lo, hi, q


def triple_margins(q) -> dict:
    """1-D and 2-D margins of an exchangeable triple from q_j = P(exactly j errors): p1, p2, beta (Prop. 3)."""
    q0, q1, q2, q3 = q
    half = Fraction(1, 3) if isinstance(q0, Fraction) else 1 / 3
    p1 = (q1 + 2 * q2 + 3 * q3) * half
    p2 = (q2 + 3 * q3) * half
    return {"p1": p1, "p2": p2, "p00": 1 - 2 * p1 + p2, "beta": q3}


def clayton_exchangeable(alpha: float, theta: float, m: int) -> dict:
    """Exchangeable Clayton control (spec §3.5): lambda_L, p11, phi, tetrachoric r and beta(m) in closed form."""
    p11 = float(clayton_cdf(np.array([alpha, alpha]), theta))
    phi = (p11 - alpha ** 2) / (alpha * (1 - alpha))
    t = float(ndtri(alpha))
    r = float(tetrachoric_from_p11(t, t, p11))
    return {"theta": theta, "lambda_L": 2 ** (-1 / theta), "p11": p11, "phi": phi, "r_tet": r,
            "beta": float(clayton_cdf(np.full(m, alpha), theta))}


# ---------------------------------------------------------------- Props 5–7 (symmetric probit)

def majority_floor(alpha: float, rho: float) -> float:
    """Prop. 5 majority-vote floor as k -> infinity: Phi(-mu/sqrt(rho)), mu = Phi^-1(1 - alpha)."""
    mu = ndtri(1 - alpha)
    return float(ndtr(-mu / np.sqrt(rho)))


def majority_error(alpha: float, rho: float, k: int) -> float:
    """Prop. 5 majority error of k odd members: int phi(u) P[Bin(k, 1 - Phi((mu+sqrt(rho)u)/sqrt(1-rho))) > k/2] du."""
    if k < 1 or k % 2 == 0:
        raise ValueError(f"k must be a positive odd integer, got {k}")
    mu = ndtri(1 - alpha)
    s, c = np.sqrt(rho), np.sqrt(1 - rho)

    def f(u):
        p = 1 - ndtr((mu + s * u) / c)
        return stats.norm.pdf(u) * stats.binom.sf(k // 2, k, p)

    val, _ = integrate.quad(f, -12, 12, limit=400, epsabs=1e-13, points=[-mu / s] if -12 < -mu / s < 12 else None)
    return float(val)


def vote_variance(rho: float, k, sigma2: float = 1.0):
    """Prop. 5 variance of the averaged score V(k) = sigma^2 (rho + (1 - rho)/k)."""
    return sigma2 * (rho + (1 - rho) / np.asarray(k, float))


def optimal_size(lam: float, c: float, rho: float, sigma2: float = 1.0) -> tuple[float, int]:
    """Prop. 6: k* = (-1 + sqrt(1 + 4 lam sigma^2 (1-rho)/c))/2 and the optimal size floor(k*) + 1 (rev)."""
    if c <= 0 or lam <= 0:
        raise ValueError("lam and c must be > 0")
    ks = (-1 + np.sqrt(1 + 4 * lam * sigma2 * (1 - rho) / c)) / 2
    return float(ks), int(np.floor(ks)) + 1


def vote_value(mu: float, V):
    """Prop. 7 accuracy of the averaged-score vote P(V) = Phi(mu / sqrt(V))."""
    return ndtr(mu / np.sqrt(np.asarray(V, float)))


def vote_lambda(mu: float, V):
    """Prop. 7 marginal value of variance reduction lambda(V) = -dP/dV = mu phi(mu/sqrt V)/(2 V^1.5); sign = sign(1/2 - alpha)."""
    V = np.asarray(V, float)
    return mu * stats.norm.pdf(mu / np.sqrt(V)) / (2 * V ** 1.5)


# ---------------------------------------------------------------- Prop. 8 cascade

def cascade_curve(yL, yH, score) -> dict:
    """Prop. 8 cascade on query-level data: escalate the gamma-fraction with the lowest L score.

    Returns arrays over gamma = k/n (k = 0..n): Q (cascade accuracy), Q_mix (random mixing),
    A = Q - Q_mix, its first term A1 = gamma[w - (1-a_L)] (the verifier part), and AUC =
    P(s_error < s_success) (ties count 1/2) plus trapezoid integrals of A and A1.
    """
    yL = np.asarray(yL, float)
    yH = np.asarray(yH, float)
    s = np.asarray(score, float)
    if not (yL.shape == yH.shape == s.shape) or yL.ndim != 1:
        raise ValueError("yL, yH and score must be 1-D arrays of one length")
    n = yL.size
    order = np.argsort(s, kind="stable")
    eL, gH = 1 - yL[order], yH[order]
    gam = np.arange(n + 1) / n
    a_L, a_H = yL.mean(), yH.mean()
    caught = np.concatenate([[0.0], np.cumsum(eL)]) / n           # P(L wrong, escalated)
    Hgain = np.concatenate([[0.0], np.cumsum(gH - yL[order])]) / n
    Q = a_L + Hgain
    Qmix = a_L + gam * (a_H - a_L)
    A = Q - Qmix
    A1 = caught - gam * (1 - a_L)
    err, ok = s[yL == 0], s[yL == 1]
    if err.size and ok.size:
        auc = float(stats.mannwhitneyu(ok, err).statistic / (err.size * ok.size))
    else:
        auc = float("nan")
    return {"gamma": gam, "Q": Q, "Q_mix": Qmix, "A": A, "A1": A1, "auc": auc, "a_L": float(a_L), "a_H": float(a_H),
            "int_A": float(np.trapezoid(A, gam)), "int_A1": float(np.trapezoid(A1, gam)), "max_A": float(A.max())}


def cascade_integral_identity(a_L: float, auc: float) -> float:
    """Prop. 8 exact identity (rev): int_0^1 A1(gamma) dgamma = a_L (1 - a_L)(AUC - 1/2)."""
    return a_L * (1 - a_L) * (auc - 0.5)


# ---------------------------------------------------------------- Prop. 9

def prop9(mu: float, eta: float, v: float = 1.0, r: float = 0.05, nu: float = 1.0, K: float = 0.0) -> dict:
    """Prop. 9 option value: Gamma = mu + eta Z, Eg = E[max(Gamma, 0)] = mu Phi(mu/eta) + eta phi(mu/eta);
    V_R = (v/r)(nu/(r+nu)) Eg; delta* = rK + v nu/(r+nu) Eg."""
    if eta <= 0:
        raise ValueError("eta must be > 0")
    Eg = mu * ndtr(mu / eta) + eta * stats.norm.pdf(mu / eta)
    return {"Eg": float(Eg), "V_R": float(v / r * nu / (r + nu) * Eg), "delta_star": float(r * K + v * nu / (r + nu) * Eg)}
