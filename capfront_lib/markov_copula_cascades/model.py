"""Probabilistic pieces of the Markov-copula cascade model (thesis ch. 2, "Rational Tuning of LLM Cascades").

Confidence transforms and logistic calibration (eqs. 2.16-2.18), expected calibration error, the
discrete-continuous marginal of calibrated confidence (eqs. 2.7-2.8), Gumbel copulas (eqs. 2.9-2.10)
and the O(k) evaluation of P(correct) and E[cost] of a cascade (Proposition 2, eqs. 2.14-2.15,
Algorithm 1 of App. 2B).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, special, stats

LOG2 = float(np.log(2.0))

# ----------------------------------------------------------------------------------------------
# Transforms and calibration (eqs. 2.16-2.18)
# ----------------------------------------------------------------------------------------------

TRANSFORMS = ("one_sided", "two_sided", "none")


def _as_log_prob(log_p: np.ndarray, name: str = "log_p") -> np.ndarray:
    arr = np.asarray(log_p, dtype=float)
    if np.any(np.isnan(arr)):
        raise ValueError(f"{name} contains NaN")
    if np.any(arr > 0):
        raise ValueError(f"{name} must be log-probabilities (<= 0); max is {arr.max()}")
    return arr


def xi_one_sided(log_p: np.ndarray) -> np.ndarray:
    """One-sided transform xi = log(1/(1-p)) of eq. (2.16), computed from log p as -log(-expm1(log p)).

    Gives +inf at p = 1 (certainty); finite for every log p < 0 (log p = -1e-12 gives ~27.63).
    """
    lp = _as_log_prob(log_p)
    with np.errstate(divide="ignore"):
        return -np.log(-np.expm1(lp))


def xi_two_sided(log_p: np.ndarray) -> np.ndarray:
    """Monotone two-sided transform for generation tasks (eq. 2.17, corrected).

    xi(p) = -log(2(1-p)) for p >= 1/2 and log(2p) for p < 1/2: odd about p = 1/2, strictly
    increasing, +-inf at p = 1 / p = 0. The printed eq. (2.17) is V-shaped (non-monotone); this is the
    monotone version the authors' code uses (documented as a typo in the chapter).
    """
    lp = _as_log_prob(log_p)
    out = np.empty_like(lp)
    hi = lp >= -LOG2
    with np.errstate(divide="ignore"):
        out[hi] = -LOG2 - np.log(-np.expm1(lp[hi]))
        out[~hi] = LOG2 + lp[~hi]
    return out


def inverse_two_sided(xi: np.ndarray) -> np.ndarray:
    """Inverse of :func:`xi_two_sided`, returned as log p (used by the simulator to emit raw confidences)."""
    x = np.asarray(xi, dtype=float)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = np.log1p(-0.5 * np.exp(-x[pos]))
    out[~pos] = x[~pos] - LOG2
    return out


def transform_confidence(log_p: np.ndarray, kind: str) -> np.ndarray:
    """Feature for the calibrator: ``one_sided`` / ``two_sided`` transform of log p, or raw p (``none``)."""
    if kind == "one_sided":
        return xi_one_sided(log_p)
    if kind == "two_sided":
        return xi_two_sided(log_p)
    if kind == "none":
        return np.exp(_as_log_prob(log_p))
    raise ValueError(f"transform must be one of {TRANSFORMS}, got {kind!r}")


def replace_infinite(xi: np.ndarray, bounds: tuple[float, float] | None = None) -> tuple[np.ndarray, tuple[float, float]]:
    """Replace +inf by the largest and -inf by the smallest finite value (eq. 2.18).

    With ``bounds=None`` the constants are taken from ``xi`` (training set) and returned so that the
    same constants can be applied to test data.
    """
    x = np.asarray(xi, dtype=float)
    if bounds is None:
        finite = x[np.isfinite(x)]
        if finite.size == 0:
            raise ValueError("xi has no finite value: cannot replace infinities (all raw confidences certain)")
        bounds = (float(finite.min()), float(finite.max()))
    lo, hi = bounds
    out = x.copy()
    out[out == np.inf] = hi
    out[out == -np.inf] = lo
    return out, (lo, hi)


@dataclass
class Calibrator:
    """Logistic calibrator Phi = sigmoid(b0 + b1 * xi) on a transformed raw confidence (eq. 2.3)."""

    kind: str
    b0: float
    b1: float
    bounds: tuple[float, float]
    penalised: bool = False

    def features(self, log_p: np.ndarray) -> np.ndarray:
        xi, _ = replace_infinite(transform_confidence(log_p, self.kind), self.bounds)
        return xi

    def predict(self, log_p: np.ndarray) -> np.ndarray:
        """Calibrated confidence of raw log-probabilities."""
        return special.expit(self.b0 + self.b1 * self.features(log_p))


def fit_calibrator(log_p: np.ndarray, y: np.ndarray, kind: str = "two_sided") -> Calibrator:
    """Fit the unpenalised logistic calibrator (statsmodels ``Logit``) on transformed log p.

    Falls back to a weak L2 penalty (scikit-learn, C = 100) on perfect separation or non-convergence,
    as tiny balanced training sets (n <= 30) can be separable; ``penalised`` records it.
    """
    y = np.asarray(y, dtype=float)
    lp = _as_log_prob(log_p)
    if lp.shape != y.shape or lp.ndim != 1:
        raise ValueError(f"log_p and y must be 1-D of equal length, got {lp.shape} and {y.shape}")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("y must be binary 0/1")
    if y.min() == y.max():
        raise ValueError("y must contain both correct and incorrect examples to fit a calibrator")
    xi, bounds = replace_infinite(transform_confidence(lp, kind))
    import warnings

    import statsmodels.api as sm

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = sm.Logit(y, sm.add_constant(xi, has_constant="add")).fit(disp=0, maxiter=1000)
        b0, b1 = (float(v) for v in res.params)
        if not (np.isfinite(b0) and np.isfinite(b1)) or abs(b1) > 1e3 or not res.mle_retvals.get("converged", True):
            raise RuntimeError("no convergence")
        return Calibrator(kind, b0, b1, bounds, penalised=False)
    except Exception:  # perfect separation / singular design
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=100.0, max_iter=1000).fit(xi[:, None], y)
        return Calibrator(kind, float(lr.intercept_[0]), float(lr.coef_[0, 0]), bounds, penalised=True)


def expected_calibration_error(conf: np.ndarray, y: np.ndarray, n_bins: int = 10) -> float:
    """ECE with adaptive (quantile) bins, as used for Tables 2.1/2.2.

    Bin edges are the percentiles 0, 10, ..., 100 of ``conf``; bins are [e_b, e_{b+1}) with the last
    edge nudged up by ``nextafter``; ECE = sum_b (n_b/N) |mean(y_b) - mean(conf_b)|; empty bins (ties
    at point masses) contribute zero.
    """
    c = np.asarray(conf, dtype=float)
    yy = np.asarray(y, dtype=float)
    if c.shape != yy.shape or c.ndim != 1 or c.size == 0:
        raise ValueError("conf and y must be non-empty 1-D arrays of equal length")
    if n_bins < 1:
        raise ValueError("n_bins must be >= 1")
    edges = np.percentile(c, np.linspace(0, 100, n_bins + 1))
    edges[-1] = np.nextafter(edges[-1], np.inf)
    idx = np.searchsorted(edges, c, side="right") - 1
    idx = np.clip(idx, 0, n_bins - 1)
    n_b = np.bincount(idx, minlength=n_bins).astype(float)
    sy = np.bincount(idx, weights=yy, minlength=n_bins)
    sc = np.bincount(idx, weights=c, minlength=n_bins)
    nz = n_b > 0
    return float(np.sum(np.abs(sy[nz] - sc[nz])) / c.size)


def conditional_accuracy(conf: np.ndarray, y: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P_hat(correct | Phi >= phi) with its binomial standard error and count (App. 2E)."""
    c = np.asarray(conf, float)
    yy = np.asarray(y, float)
    t = np.asarray(thresholds, float)
    order = np.argsort(c)
    cs, ys = c[order], yy[order]
    start = np.searchsorted(cs, t, side="left")
    tail_y = np.concatenate([np.cumsum(ys[::-1])[::-1], [0.0]])
    n = (c.size - start).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = tail_y[start] / n
        se = np.sqrt(acc * (1 - acc) / n)
    return acc, se, n


# ----------------------------------------------------------------------------------------------
# Marginal distribution of calibrated confidence (eqs. 2.7, 2.8)
# ----------------------------------------------------------------------------------------------


def mixed_beta_cdf(phi: np.ndarray, lo: ArrayLike, hi: ArrayLike, w_min: ArrayLike, w_max: ArrayLike, pi: ArrayLike,
                   a1: ArrayLike, b1: ArrayLike, a2: ArrayLike, b2: ArrayLike) -> np.ndarray:
    """Right-continuous CDF of point masses at lo / hi plus a two-beta mixture on [lo, hi] (eqs. 2.7-2.8).

    The parameters broadcast against ``phi``: scalars for one marginal (:meth:`MixedBetaMarginal.cdf`),
    (k, 1) columns for the stacked marginals of a cascade (:class:`_CompiledCascade`).
    """
    z = np.minimum(np.maximum((phi - lo) / (hi - lo), 0.0), 1.0)
    mix = pi * special.betainc(a1, b1, z) + (1 - pi) * special.betainc(a2, b2, z)
    out = (1 - w_min - w_max) * mix + w_min * (phi >= lo) + w_max * (phi >= hi)
    return np.where(phi >= hi, 1.0, np.where(phi < lo, 0.0, out))


@dataclass
class MixedBetaMarginal:
    """Point masses at phi_min / phi_max plus a two-component mixture of scaled betas (eqs. 2.7-2.8)."""

    phi_min: float
    phi_max: float
    w_min: float
    w_max: float
    pi: float
    a1: float
    b1: float
    a2: float
    b2: float
    n_iter: int = 0

    def __post_init__(self) -> None:
        if not self.phi_max > self.phi_min:
            raise ValueError(f"phi_max ({self.phi_max}) must exceed phi_min ({self.phi_min})")
        if self.w_min < 0 or self.w_max < 0 or self.w_min + self.w_max > 1:
            raise ValueError(f"point masses w_min={self.w_min}, w_max={self.w_max} must be >= 0 and sum to <= 1")
        if not 0 <= self.pi <= 1:
            raise ValueError(f"mixture weight pi must be in [0, 1], got {self.pi}")
        if min(self.a1, self.b1, self.a2, self.b2) <= 0:
            raise ValueError("beta shape parameters must be positive")

    @classmethod
    def from_preset(cls, row: Sequence[float]) -> "MixedBetaMarginal":
        """(phi_min, phi_max, pi, a1, b1, a2, b2) without point masses (the simulator's truth)."""
        if len(row) != 7:
            raise ValueError(f"a marginal preset needs 7 numbers (phi_min, phi_max, pi, a1, b1, a2, b2), got {list(row)}")
        lo, hi, pi, a1, b1, a2, b2 = (float(v) for v in row)
        if not 0 <= lo < hi <= 1:
            raise ValueError(f"marginal preset needs 0 <= phi_min < phi_max <= 1, got {lo}, {hi}")
        return cls(lo, hi, 0.0, 0.0, pi, a1, b1, a2, b2)

    @property
    def w_cont(self) -> float:
        return 1.0 - self.w_min - self.w_max

    def _z(self, phi: np.ndarray) -> np.ndarray:
        return (np.asarray(phi, float) - self.phi_min) / (self.phi_max - self.phi_min)

    def cdf_mix(self, z: np.ndarray) -> np.ndarray:
        z = np.clip(z, 0.0, 1.0)
        return self.pi * special.betainc(self.a1, self.b1, z) + (1 - self.pi) * special.betainc(self.a2, self.b2, z)

    def pdf_mix(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, float)
        inside = (z > 0) & (z < 1)
        zc = np.where(inside, z, 0.5)
        lz, l1z = np.log(zc), np.log1p(-zc)
        f1 = np.exp((self.a1 - 1) * lz + (self.b1 - 1) * l1z - special.betaln(self.a1, self.b1))
        f2 = np.exp((self.a2 - 1) * lz + (self.b2 - 1) * l1z - special.betaln(self.a2, self.b2))
        return np.where(inside, self.pi * f1 + (1 - self.pi) * f2, 0.0)

    def cdf(self, phi: np.ndarray) -> np.ndarray:
        """Right-continuous CDF F(phi) including the point masses."""
        return mixed_beta_cdf(np.asarray(phi, float), self.phi_min, self.phi_max, self.w_min, self.w_max, self.pi,
                              self.a1, self.b1, self.a2, self.b2)

    def cdf_left(self, phi: np.ndarray) -> np.ndarray:
        """Left limit F(phi-) (differs from :meth:`cdf` only at the point masses)."""
        phi = np.asarray(phi, float)
        out = self.w_cont * self.cdf_mix(self._z(phi)) + self.w_min * (phi > self.phi_min)
        out = np.where(phi <= self.phi_min, 0.0, out)
        return np.where(phi > self.phi_max, 1.0, out)

    def pdf_continuous(self, phi: np.ndarray) -> np.ndarray:
        """Density of the continuous part (integrates to 1 - w_min - w_max)."""
        z = self._z(phi)
        inside = (z > 0) & (z < 1)
        out = np.zeros_like(z)
        out[inside] = self.w_cont * self.pdf_mix(z[inside]) / (self.phi_max - self.phi_min)
        return out

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Generalised inverse Q(u) = inf{phi : F(phi) >= u} (vectorised bisection on the beta mixture)."""
        u = np.asarray(u, float)
        out = np.empty_like(u)
        low = u <= self.w_min
        high = u > 1 - self.w_max
        mid = ~(low | high)
        out[low] = self.phi_min
        out[high] = self.phi_max
        if np.any(mid):
            target = np.clip((u[mid] - self.w_min) / max(self.w_cont, 1e-300), 0.0, 1.0)
            out[mid] = self.phi_min + self._mix_ppf(target) * (self.phi_max - self.phi_min)
        return out

    def _mix_ppf(self, target: np.ndarray) -> np.ndarray:
        """Inverse of the beta-mixture CDF: table look-up on an edge-refined grid + safeguarded Newton."""
        s = np.linspace(0.0, 1.0, 4097)
        zg = np.sin(0.5 * np.pi * s) ** 2  # dense near 0 and 1
        fg = self.cdf_mix(zg)
        fg = np.maximum.accumulate(fg)
        z = np.interp(target, fg, zg)
        j = np.clip(np.searchsorted(fg, target, side="right"), 1, zg.size - 1)
        lo, hi = zg[j - 1].copy(), zg[j].copy()
        act = np.arange(z.size)
        for _ in range(60):
            f = self.cdf_mix(z[act]) - target[act]
            done = np.abs(f) < 1e-13
            act, f = act[~done], f[~done]
            if act.size == 0:
                break
            za = z[act]
            lo[act] = np.where(f < 0, za, lo[act])
            hi[act] = np.where(f < 0, hi[act], za)
            d = self.pdf_mix(np.clip(za, 1e-15, 1 - 1e-15))
            with np.errstate(divide="ignore", invalid="ignore"):
                zn = za - f / d
            bad = ~np.isfinite(zn) | (zn <= lo[act]) | (zn >= hi[act])
            z[act] = np.where(bad, 0.5 * (lo[act] + hi[act]), zn)
        return z

    def rvs(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw n values by inversion."""
        return self.ppf(rng.uniform(size=n))

    def mean(self) -> float:
        zbar = self.pi * self.a1 / (self.a1 + self.b1) + (1 - self.pi) * self.a2 / (self.a2 + self.b2)
        return self.w_min * self.phi_min + self.w_max * self.phi_max + self.w_cont * (self.phi_min + zbar * (self.phi_max - self.phi_min))


def _weighted_beta_mle(s1: float, s2: float, x0: tuple[float, float], reg: float = 0.0) -> tuple[float, float]:
    """Beta MLE from weighted sufficient statistics s1 = mean log z, s2 = mean log(1-z) (EM M-step).

    Maximises (a-1) s1 + (b-1) s2 - log B(a, b) - reg (a^2 + b^2) by damped Newton steps in
    (log a, log b) with digamma/trigamma derivatives (the objective is concave in (a, b)); falls back to
    L-BFGS-B with bounds a, b >= 1e-5 if Newton does not converge.
    """
    def obj(a: float, b: float) -> float:
        return (a - 1) * s1 + (b - 1) * s2 - float(special.betaln(a, b)) - reg * (a * a + b * b)

    a, b = float(x0[0]), float(x0[1])
    cur = obj(a, b)
    for _ in range(100):
        dab = special.digamma(a + b)
        g = np.array([s1 - special.digamma(a) + dab - 2 * reg * a, s2 - special.digamma(b) + dab - 2 * reg * b])
        t = special.polygamma(1, a + b)
        H = np.array([[-special.polygamma(1, a) + t - 2 * reg, t], [t, -special.polygamma(1, b) + t - 2 * reg]])
        try:
            step = -np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        # in log-space: multiplicative update keeps a, b > 0
        ratio = np.clip(step / np.array([a, b]), -0.9, 4.0)
        for _ in range(30):
            na, nb = a * (1 + ratio[0]), b * (1 + ratio[1])
            new = obj(na, nb)
            if new >= cur - 1e-15:
                break
            ratio = ratio / 2
        if abs(new - cur) < 1e-13 and np.max(np.abs(ratio)) < 1e-9:
            a, b, cur = na, nb, new
            return a, b
        a, b, cur = na, nb, new
        if np.max(np.abs(g)) < 1e-10:
            return a, b

    def f(p: np.ndarray) -> float:
        return -obj(float(p[0]), float(p[1]))

    res = optimize.minimize(f, np.array([a, b]), method="L-BFGS-B", bounds=[(1e-5, 1e4)] * 2)
    return float(res.x[0]), float(res.x[1])


def fit_marginal(phi: np.ndarray, max_iter: int = 300, tol: float = 1e-6, reg: float = 0.0) -> MixedBetaMarginal:
    """Fit the discrete-continuous marginal by counting point masses and EM on the interior (Sec. 2.3).

    phi_min / phi_max are the observed extremes, w_min / w_max the fractions of values equal to them,
    and the two-beta mixture is fitted by EM on the strictly interior points (init pi = 0.5,
    (2, 5), (5, 2) as in the authors' code; stop when the log-likelihood changes by < ``tol``).
    """
    x = np.asarray(phi, float)
    if x.ndim != 1 or x.size < 3:
        raise ValueError("phi must be a 1-D array with at least 3 values")
    if np.any(~np.isfinite(x)):
        raise ValueError("phi contains non-finite values")
    lo, hi = float(x.min()), float(x.max())
    if hi <= lo:
        raise ValueError("phi is constant: cannot fit a marginal")
    w_min = float(np.mean(x == lo))
    w_max = float(np.mean(x == hi))
    z = (x[(x > lo) & (x < hi)] - lo) / (hi - lo)
    pi, a1, b1, a2, b2 = 0.5, 2.0, 5.0, 5.0, 2.0
    if z.size < 2:
        return MixedBetaMarginal(lo, hi, w_min, w_max, pi, 1.0, 1.0, 1.0, 1.0)
    lz, l1z = np.log(z), np.log1p(-z)
    prev = -np.inf
    it = 0
    for it in range(1, max_iter + 1):
        # E-step in log space: with few interior points a component can become very peaked, and its density
        # overflows in linear space (exp of a large log-density)
        g1 = np.log(pi) + (a1 - 1) * lz + (b1 - 1) * l1z - special.betaln(a1, b1)
        g2 = np.log1p(-pi) + (a2 - 1) * lz + (b2 - 1) * l1z - special.betaln(a2, b2)
        log_tot = np.logaddexp(g1, g2)
        ll = float(np.sum(log_tot))
        if not np.isfinite(ll) or abs(ll - prev) < tol:
            break
        prev = ll
        r = np.exp(g1 - log_tot)
        pi = float(np.clip(r.mean(), 1e-6, 1 - 1e-6))
        w1, w2 = max(float(r.sum()), 1e-12), max(float((1 - r).sum()), 1e-12)
        a1, b1 = _weighted_beta_mle(float(r @ lz / w1), float(r @ l1z / w1), (a1, b1), reg)
        a2, b2 = _weighted_beta_mle(float((1 - r) @ lz / w2), float((1 - r) @ l1z / w2), (a2, b2), reg)
        # a component collapsing onto one point has an unbounded likelihood: keep the shapes in the range the
        # authors' M-step bounds allow (their L-BFGS-B uses a, b >= 1e-5; 1e4 caps the degenerate direction)
        a1, b1, a2, b2 = (float(np.clip(v, 1e-5, 1e4)) for v in (a1, b1, a2, b2))
    return MixedBetaMarginal(lo, hi, w_min, w_max, pi, float(a1), float(b1), float(a2), float(b2), n_iter=it)


# ----------------------------------------------------------------------------------------------
# Gumbel copula (eqs. 2.9, 2.10)
# ----------------------------------------------------------------------------------------------


def _check_theta(theta: float) -> float:
    t = float(theta)
    if not np.isfinite(t) or t < 1:
        raise ValueError(f"Gumbel theta must be a finite number >= 1, got {theta}")
    return t


def gumbel_cdf(u: np.ndarray, v: np.ndarray, theta: float) -> np.ndarray:
    """C_theta(u, v) = exp(-[(-ln u)^theta + (-ln v)^theta]^(1/theta)) (eq. 2.9); C(0, v) = 0."""
    th = _check_theta(theta)
    u = np.asarray(u, float)
    v = np.asarray(v, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = _gumbel_c(u, v, th)
    return np.where((u <= 0) | (v <= 0), 0.0, out)


def gumbel_h(u: np.ndarray, v: np.ndarray, theta: float) -> np.ndarray:
    """h-function dC/du (u, v) = P(V <= v | U = u) of the Gumbel copula."""
    th = _check_theta(theta)
    u = np.clip(np.asarray(u, float), 1e-300, 1.0)
    v = np.asarray(v, float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        x = -np.log(u)
        y = -np.log(np.clip(v, 1e-300, 1.0))
        s = x**th + y**th
        c = np.exp(-(s ** (1.0 / th)))
        out = c * x ** (th - 1) / u * s ** (1.0 / th - 1)
    out = np.where(v <= 0, 0.0, out)
    out = np.where(v >= 1, 1.0, out)
    return np.nan_to_num(out, nan=0.0)


def gumbel_h_inverse(u: np.ndarray, w: np.ndarray, theta: float, n_iter: int = 30) -> np.ndarray:
    """Solve h(u, v) = w for v (conditional inversion of the Gumbel copula; samples a D-vine chain).

    With x = -ln u and z = [x^theta + y^theta]^(1/theta), h(u, v) = w becomes
    z + (theta - 1) ln z = x + (theta - 1) ln x - ln w, solved by Newton's method (monotone from
    z0 = x because the left side is increasing and concave); then v = exp(-(z^theta - x^theta)^(1/theta)).
    """
    th = _check_theta(theta)
    u = np.clip(np.asarray(u, float), 1e-300, 1 - 1e-16)
    w = np.clip(np.asarray(w, float), 1e-300, 1.0)
    u, w = np.broadcast_arrays(u, w)
    if th == 1.0:
        return w.astype(float).copy()
    c = th - 1.0
    x = -np.log(u)
    rhs = x + c * np.log(x) - np.log(w)
    z = x.copy()
    for _ in range(n_iter):
        step = (z + c * np.log(z) - rhs) / (1.0 + c / z)
        z = np.maximum(z - step, x)
        if np.max(np.abs(step)) < 1e-13 * max(1.0, float(np.max(z))):
            break
    y = np.maximum(z**th - x**th, 0.0) ** (1.0 / th)
    return np.exp(-y)


def gumbel_sample(n: int, theta: float, rng: np.random.Generator) -> np.ndarray:
    """Draw n pairs (U, V) from the Gumbel copula by conditional inversion."""
    th = _check_theta(theta)
    u = rng.uniform(size=n)
    w = rng.uniform(size=n)
    v = w if th == 1.0 else gumbel_h_inverse(u, w, th)
    return np.column_stack([u, v])


def theta_from_tau(tau: float) -> float:
    """theta = 1/(1 - tau) (Kendall's tau of a Gumbel copula is 1 - 1/theta); tau <= 0 gives independence."""
    t = float(tau)
    if not np.isfinite(t) or t >= 1:
        raise ValueError(f"Kendall's tau must be finite and < 1, got {tau}")
    return 1.0 if t <= 0 else 1.0 / (1.0 - t)


def fit_gumbel_theta(x: np.ndarray, y: np.ndarray) -> float:
    """Gumbel theta from Kendall's tau-b of paired samples (ties allowed; independence if tau <= 0)."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if x.shape != y.shape or x.ndim != 1 or x.size < 3:
        raise ValueError("x and y must be 1-D arrays of equal length >= 3")
    tau = stats.kendalltau(x, y).statistic
    if not np.isfinite(tau):
        return 1.0
    return theta_from_tau(min(float(tau), 0.999))


def kendall_distribution(t: np.ndarray, theta: float) -> np.ndarray:
    """Kendall distribution K_theta(t) = P(C(U, V) <= t) = t - t ln t / theta of the Gumbel copula."""
    th = _check_theta(theta)
    t = np.clip(np.asarray(t, float), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = t - t * np.log(t) / th
    return np.where(t <= 0, 0.0, out)


# ----------------------------------------------------------------------------------------------
# Cascade model: Proposition 2 / Algorithm 1
# ----------------------------------------------------------------------------------------------


@dataclass
class CascadeModel:
    """Fitted Markov-copula model of a pool of models: marginals, pairwise Gumbel thetas, mean costs.

    ``theta[i, j]`` (i < j) is the Gumbel parameter between models i and j; a cascade is an increasing
    tuple of model indices and uses the thetas of consecutive members (the Markov factorisation, eq. 2.6).
    """

    marginals: list[MixedBetaMarginal]
    theta: np.ndarray
    costs: np.ndarray
    u_grid: int = 801
    tabulate: bool = True
    a_grid: int = 129
    copula_evaluations: int = field(default=0, repr=False)
    _grids: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list, repr=False)
    _ycache: dict = field(default_factory=dict, repr=False)
    _tables: dict = field(default_factory=dict, repr=False)
    _compiled_cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        k = len(self.marginals)
        self.theta = np.asarray(self.theta, float)
        self.costs = np.asarray(self.costs, float)
        if k < 2:
            raise ValueError("a cascade model needs at least 2 models")
        if self.theta.shape != (k, k):
            raise ValueError(f"theta must be a {k}x{k} matrix, got shape {self.theta.shape}")
        if self.costs.shape != (k,) or np.any(self.costs < 0) or np.any(~np.isfinite(self.costs)):
            raise ValueError("costs must be one finite non-negative number per model")
        if self.u_grid < 10:
            raise ValueError("u_grid must be >= 10")
        if self.a_grid < 8:
            raise ValueError("a_grid must be >= 8")
        self._grids = []
        for m in self.marginals:
            g = np.linspace(m.phi_min, m.phi_max, self.u_grid)
            fg = m.cdf(g)
            fg[-1] = m.cdf_left(np.array([m.phi_max]))[0]  # a.e. value at the top (point mass excluded)
            self._grids.append((g, fg))

    def box(self, cascade: Sequence[int], eps: float = 1e-3) -> list[tuple[float, float]]:
        """Interior box constraints (phi_min + eps, phi_max - eps) for the k - 1 thresholds."""
        return [(self.marginals[i].phi_min + eps, self.marginals[i].phi_max - eps) for i in cascade[:-1]]

    def clear_cache(self) -> None:
        """Forget the pre-tabulated integrals (for honest timing of a cold start)."""
        self._ycache.clear()
        self._tables.clear()
        self._compiled_cache.clear()

    def _a_nodes(self) -> np.ndarray:
        """Nodes in a = P(previous model deferred): a = sin^2(pi s / 2) on a uniform s-grid (dense near 0 and 1)."""
        s = np.linspace(0.0, 1.0, self.a_grid)
        return np.sin(0.5 * np.pi * s) ** 2

    def _yth(self, i: int, theta: float) -> np.ndarray:
        """(-ln F_i(g_j))^theta on the phi-grid (cached)."""
        yth = self._ycache.get((i, theta))
        if yth is None:
            with np.errstate(divide="ignore"):
                yth = (-np.log(self._grids[i][1])) ** theta
            self._ycache[(i, theta)] = yth
        return yth

    def _copula_tail(self, i: int, a: np.ndarray, theta: float) -> np.ndarray:
        """T[r, j] = int_{g_j}^{phi_max} C(a_r, F_i(phi)) dphi for rows a_r on the phi-grid (trapezoid rule)."""
        g, fg = self._grids[i]
        if theta <= 1:
            cg = a[:, None] * fg[None, :]
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                xth = (-np.log(a[:, None])) ** theta
                cg = np.exp(-((xth + self._yth(i, theta)[None, :]) ** (1.0 / theta)))
        cell = 0.5 * (cg[:, 1:] + cg[:, :-1]) * np.diff(g)[None, :]
        return np.concatenate([np.cumsum(cell[:, ::-1], axis=1)[:, ::-1], np.zeros((a.size, 1))], axis=1)

    def _table(self, i: int, theta: float) -> np.ndarray:
        """:meth:`_copula_tail` on the a-nodes, cached per (model, theta): the pre-tabulation of Algorithm 1
        ("tabulated once, reused across lambda and sub-cascades"); :class:`_CompiledCascade` interpolates it
        in a (4-point Lagrange on the uniform s-grid of :meth:`_a_nodes`)."""
        key = (i, theta)
        tab = self._tables.get(key)
        if tab is None:
            tab = self._copula_tail(i, self._a_nodes(), theta)
            self._tables[key] = tab
        return tab

    def _compiled(self, cas: tuple[int, ...]) -> "_CompiledCascade":
        """Stacked per-position parameters and tables of one cascade (small LRU cache)."""
        comp = self._compiled_cache.pop(cas, None)
        if comp is None:
            comp = _CompiledCascade.build(self, cas)
        self._compiled_cache[cas] = comp
        while len(self._compiled_cache) > 8:
            self._compiled_cache.pop(next(iter(self._compiled_cache)))
        return comp

    def _tail_integral(self, i: int, a: np.ndarray, theta: float, t: np.ndarray, b: np.ndarray) -> np.ndarray:
        """E[Phi_i 1{Phi_i > t} 1{U_prev <= a}] = a phi_max - t C(a, F(t)) - int_t^phi_max C(a, F(phi)) dphi.

        Integration by parts of the Riemann-Stieltjes integral of Algorithm 1 (exact identity); ``b`` is
        F_i(t). The remaining integral of the smooth integrand is done by the trapezoid rule on the
        phi-grid, recomputed for every row (the reference path; the tabulated path is
        :class:`_CompiledCascade`), with the partial first cell treated exactly at t.
        """
        m = self.marginals[i]
        g, fg = self._grids[i]
        tc = np.minimum(np.maximum(t, m.phi_min), m.phi_max)
        j = np.minimum(np.searchsorted(g, tc, side="right"), g.size - 1)
        self.copula_evaluations += a.size
        f_tc = np.where(t < m.phi_min, m.w_min, np.where(t >= m.phi_max, fg[-1], b))
        if theta > 1:
            ca_t = _gumbel_c(a, b, theta)
            ca_tc = _gumbel_c(a, f_tc, theta)
            cg_j = _gumbel_c(a, fg[j], theta)
        else:
            ca_t, ca_tc, cg_j = a * b, a * f_tc, a * fg[j]
        partial = 0.5 * (g[j] - tc) * (ca_tc + cg_j)
        integral = np.where(tc >= m.phi_max, 0.0, self._copula_tail(i, a, theta)[np.arange(a.size), j] + partial)
        return a * m.phi_max - tc * ca_t - integral

    def evaluate(self, cascade: Sequence[int], thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """P(correct) and E[cost] of a cascade at threshold rows (Proposition 2 via Algorithm 1, O(k)).

        ``thresholds`` has shape (m, k-1) or (k-1,); returns two arrays of length m (or scalars).
        Deferral is Phi_i <= phi_i (a model answers when its confidence strictly exceeds its threshold);
        every visited model is paid.
        """
        cas = [int(c) for c in cascade]
        k = len(cas)
        if k < 2 or any(c < 0 or c >= len(self.marginals) for c in cas) or len(set(cas)) != k:
            raise ValueError(f"cascade must list >= 2 distinct model indices in range, got {cascade}")
        th = np.asarray(thresholds, float)
        single = th.ndim == 1
        th = np.atleast_2d(th)
        if th.shape[1] != k - 1:
            raise ValueError(f"thresholds need {k - 1} columns for a cascade of length {k}, got {th.shape[1]}")
        n = th.shape[0]
        if self.tabulate:
            p_corr, e_cost = self._compiled(tuple(cas)).evaluate(th)
            self.copula_evaluations += n * k
            if single:
                return float(p_corr[0]), float(e_cost[0])
            return p_corr, e_cost
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # reference path (no tables, one position at a time); F_i(phi_i) once per position; the last model always answers (t = -inf, F = 0)
            F = [self.marginals[c].cdf(th[:, p]) for p, c in enumerate(cas[:-1])] + [np.zeros(n)]
            t_all = [th[:, p] for p in range(k - 1)] + [np.full(n, -np.inf)]
            p_defer = F[0]
            p_corr = self._tail_integral(cas[0], np.ones(n), 1.0, t_all[0], F[0])  # a = 1: C(1, v) = v
            cum = self.costs[cas[0]]
            e_cost = (1 - p_defer) * cum
            trans = p_defer
            a = p_defer
            for pos in range(1, k):
                i, prev = cas[pos], cas[pos - 1]
                theta = float(self.theta[min(prev, i), max(prev, i)])
                b = F[pos]
                pos_a = a > 0
                safe_a = np.where(pos_a, a, 1.0)
                joint = _gumbel_c(safe_a, b, theta) if theta > 1 else safe_a * b
                p_i = np.where(pos_a, joint / safe_a, 0.0)
                integ = np.where(pos_a, self._tail_integral(i, safe_a, theta, t_all[pos], b) / safe_a, 0.0)
                cum = cum + self.costs[i]
                p_corr = p_corr + trans * integ
                e_cost = e_cost + trans * (1 - p_i) * cum
                trans = trans * p_i
                a = b
        if single:
            return float(p_corr[0]), float(e_cost[0])
        return p_corr, e_cost


def _gumbel_c(u: np.ndarray, v: np.ndarray, theta: float) -> np.ndarray:
    """Gumbel copula C_theta(u, v) without argument checks (hot path of Algorithm 1; theta > 1, u > 0).

    v = 0 gives exp(-inf) = 0 and v = 1 gives u, as required; call inside ``np.errstate`` guards.
    """
    return np.exp(-(((-np.log(u)) ** theta + (-np.log(v)) ** theta) ** (1.0 / theta)))


@dataclass
class _CompiledCascade:
    """Algorithm 1 for one cascade with every position evaluated at once (arrays of shape (k, m)).

    All quantities of Proposition 2 at position i depend only on a = F_{i-1}(phi_{i-1}) and
    b = F_i(phi_i), which are known before the recursion, so the k tail integrals, the k conditional
    deferral probabilities and the k costs are computed in a fixed number of vectorised numpy calls;
    only the running product of deferral probabilities is sequential (a cumulative product). Same
    values as the position-by-position reference path of :meth:`CascadeModel.evaluate` (tests).
    """

    lo: np.ndarray  # (k-1, 1) marginal parameters of the thresholded positions
    hi: np.ndarray
    w_min: np.ndarray
    w_max: np.ndarray
    pi: np.ndarray
    shapes: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    t_lo: np.ndarray  # (k, 1) grids of the answering positions
    t_hi: np.ndarray
    t_wmin: np.ndarray
    grids: np.ndarray  # (k, u_grid)
    fgrids: np.ndarray  # (k, u_grid)
    tables: np.ndarray  # (k, a_grid, u_grid)
    theta: np.ndarray  # (k, 1), 1 at position 0
    cum_cost: np.ndarray  # (k, 1)

    @classmethod
    def build(cls, model: "CascadeModel", cas: tuple[int, ...]) -> "_CompiledCascade":
        k = len(cas)
        col = lambda v: np.asarray(v, float)[:, None]  # noqa: E731
        ms = [model.marginals[c] for c in cas]
        th = [1.0] + [float(model.theta[min(cas[p - 1], cas[p]), max(cas[p - 1], cas[p])]) for p in range(1, k)]
        th = [t if t > 1 else 1.0 for t in th]
        return cls(col([m.phi_min for m in ms[:-1]]), col([m.phi_max for m in ms[:-1]]), col([m.w_min for m in ms[:-1]]),
                   col([m.w_max for m in ms[:-1]]), col([m.pi for m in ms[:-1]]),
                   tuple(col([getattr(m, f) for m in ms[:-1]]) for f in ("a1", "b1", "a2", "b2")),
                   col([m.phi_min for m in ms]), col([m.phi_max for m in ms]), col([m.w_min for m in ms]),
                   np.stack([model._grids[c][0] for c in cas]), np.stack([model._grids[c][1] for c in cas]),
                   np.stack([model._table(c, t) for c, t in zip(cas, th)]),
                   col(th), col(np.cumsum(model.costs[list(cas)])))

    def cdf(self, t: np.ndarray) -> np.ndarray:
        """F_i(phi_i) of the thresholded positions, (k-1, m)."""
        return mixed_beta_cdf(t, self.lo, self.hi, self.w_min, self.w_max, self.pi, *self.shapes)

    def evaluate(self, th: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k, m = self.theta.shape[0], th.shape[0]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            tt = th.T
            F = self.cdf(tt)
            b = np.vstack([F, np.zeros((1, m))])
            a = np.vstack([np.ones((1, m)), F])
            t = np.vstack([tt, np.full((1, m), -np.inf)])
            theta = self.theta
            pos_a = a > 0
            safe_a = np.where(pos_a, a, 1.0)
            la = (-np.log(safe_a)) ** theta

            def cop(v: np.ndarray) -> np.ndarray:
                return np.exp(-((la + (-np.log(v)) ** theta) ** (1.0 / theta)))

            # tail integral of Algorithm 1 by parts (see CascadeModel._tail_integral), all positions at once
            tc = np.minimum(np.maximum(t, self.t_lo), self.t_hi)
            ug = self.grids.shape[1]
            rows = np.arange(k)[:, None]
            j = np.minimum(np.floor((tc - self.t_lo) / (self.t_hi - self.t_lo) * (ug - 1)).astype(np.int64) + 1, ug - 1)
            g_j = self.grids[rows, j]
            f_tc = np.where(t < self.t_lo, self.t_wmin, np.where(t >= self.t_hi, self.fgrids[:, -1:], b))
            ca_t = cop(b)
            partial = 0.5 * (g_j - tc) * (cop(f_tc) + cop(self.fgrids[rows, j]))
            n = self.tables.shape[1] - 1
            x = np.arcsin(np.sqrt(np.minimum(safe_a, 1.0))) * (2.0 / np.pi) * n
            s0 = np.minimum(np.maximum(x.astype(np.int64) - 1, 0), n - 3)
            r = x - s0 - 1.0
            tab = self.tables
            tail = (-r * (r - 1) * (r - 2) / 6 * tab[rows, s0, j] + (r + 1) * (r - 1) * (r - 2) / 2 * tab[rows, s0 + 1, j]
                    - (r + 1) * r * (r - 2) / 2 * tab[rows, s0 + 2, j] + (r + 1) * r * (r - 1) / 6 * tab[rows, s0 + 3, j])
            integral = np.where(tc >= self.t_hi, 0.0, tail + partial)
            t_int = safe_a * self.t_hi - tc * ca_t - integral
            integ = np.where(pos_a, t_int / safe_a, 0.0)
            p_i = np.where(pos_a, ca_t / safe_a, 0.0)
            trans = np.vstack([np.ones((1, m)), np.cumprod(p_i[:-1], axis=0)])
            return (trans * integ).sum(axis=0), (trans * (1 - p_i) * self.cum_cost).sum(axis=0)


def fit_cascade_model(phi: np.ndarray, costs: np.ndarray, u_grid: int = 801, marginal_reg: float = 0.0) -> CascadeModel:
    """Fit marginals (per column) and Gumbel thetas for all pairs i < j of a calibrated-confidence matrix."""
    x = np.asarray(phi, float)
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError("phi must be an (n, k) matrix with k >= 2 models")
    k = x.shape[1]
    margs = [fit_marginal(x[:, j], reg=marginal_reg) for j in range(k)]
    theta = np.ones((k, k))
    for i in range(k):
        for j in range(i + 1, k):
            theta[i, j] = theta[j, i] = fit_gumbel_theta(x[:, i], x[:, j])
    return CascadeModel(margs, theta, np.asarray(costs, float), u_grid=u_grid)
