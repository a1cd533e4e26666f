"""Exact evaluation of the Markov-copula cascade model by a forward recursion in u-space.

Proposition 2 / Algorithm 1 of 'Rational Tuning of LLM Cascades via Probabilistic Modeling' (thesis
chapter 2), implemented in :meth:`.model.CascadeModel.evaluate`, chains the conditional probabilities
P(D_i | D_{i-1}) of the deferral EVENTS D_j = {Phi_j <= phi_j}. The fitted model is a Markov chain in
the VARIABLES U_i = F_i(Phi_i) (eq. 2.6: U_1 ~ U(0, 1), U_i | U_{i-1} from the Gumbel copula of the
consecutive cascade members), which does not make the events Markov, so Algorithm 1 is exact for k = 2
and for independent models but only an approximation for k >= 3. :class:`ChainEvaluator` computes the
exact value of the same model (same marginals, same Gumbel thetas) that Algorithm 1 approximates:

    alpha_1(v) = 1 on [0, 1],   alpha_i(v) = int_0^{a_{i-1}} alpha_{i-1}(u) c_i(u, v) du,   a_j = F_j(phi_j),
    P(answered by i) = int_{a_i}^1 alpha_i(v) dv  (a_k = 0),
    P(correct) = sum_i int_{a_i}^1 Q_i(v) alpha_i(v) dv,   E[cost] = sum_i P(answered by i) (c_1 + ... + c_i).

Deferral Phi_i <= phi_i is U_i <= F_i(phi_i) with the right-continuous CDF F_i and the generalised
inverse Q_i (Phi_i = Q_i(U_i)), so point masses at phi_min / phi_max need no special case.

Discretisation: a fixed u-grid of ``n_cells`` cells (edges u_0 = 0 < ... < u_n = 1); the state is the
vector of masses w_l = P(reach i, U_i in cell l), i.e. alpha_i is taken constant inside each cell. The
transition uses cell probabilities of the copula, M[j, l] = C(u_{j+1}, v_{l+1}) - C(u_j, v_{l+1}) -
C(u_{j+1}, v_l) + C(u_j, v_l), never density values (the Gumbel density is singular at (1, 1)). The
cell containing a threshold a is cut EXACTLY at a: its contribution to the next state is
(w_j / width_j) [C(a, v_{l+1}) - C(a, v_l) - C(u_j, v_{l+1}) + C(u_j, v_l)] (copula CDF evaluated at
(a, grid)), its answered mass is w_j (u_{j+1} - a) / width_j, and its P(correct) term uses
int_a^{u_{j+1}} Q_i; all are continuous in the thresholds. The first step (alpha_1 constant) and
independent pairs are therefore exact up to the quadrature of Q_i. Cell integrals of Q_i come from
4-point Gauss-Legendre on 4 sub-cells per cell (plus the kinks of Q_i at w_min and 1 - w_max), and
int_0^x Q_i is interpolated linearly between these sub-cell knots.

Accuracy (reference truth of :mod:`.simulate`, k = 3..5, interior thresholds): the default 400 uniform
cells differ from 3200 cells by <= 3e-6 in P(correct) and <= 2e-5 relative in E[cost]; the error falls
roughly like n_cells^-1.7 (100 / 200 / 400 cells: 2.8e-5 / 9.3e-6 / 2.9e-6 in P vs 1600 cells), so a
uniform grid suffices (cell masses already resolve the mass near (1, 1)).

Speed (issue 18): the recursion has two interchangeable back-ends with the same arithmetic. ``numpy``
is the vectorised reference above (rows batched into BLAS products); ``numba`` runs the same recursion
row by row in one compiled kernel (``cache=True``: compiled once per machine, then loaded from the
on-disk cache), skipping the Python overhead of ~40 small array operations per call and the
multiplications by the cells that the threshold masks out. Both agree to ~1e-15 (tests: 1e-9).
:meth:`ChainEvaluator.evaluate_grad` adds the exact derivatives of P(correct) and E[cost] with respect
to the thresholds by the adjoint (reverse) recursion

    g_k = Q-means (P) or c_1 + ... + c_k (cost),   g_i[l] = sum_l' Mn[l, l'] g_{i+1}[l'] below the cut cell,
    dP/da_i = dens_i (-Q_i(a_i) + sum_l' d/da [C(a, v_{l'+1}) - C(a, v_l')] g_{i+1}[l']),

times dF_i/dphi_i (the continuous density), i.e. one extra backward pass instead of k - 1 finite-
difference rows; the value is piecewise smooth in the thresholds (kinks at cell edges), and the
derivative returned is the one of the cell containing a_i (the right-hand derivative at an edge).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from scipy import special

from .model import CascadeModel, gumbel_cdf, mixed_beta_cdf

_SUB = 4  # sub-cells per cell for the quadrature of Q_i (16 changes results by < 3e-7)
_GL_X, _GL_W = np.polynomial.legendre.leggauss(4)
MIN_CELLS, MAX_CELLS = 10, 5000
BACKENDS = ("auto", "numba", "numpy")


def _copula(u: np.ndarray, v: np.ndarray, theta: float) -> np.ndarray:
    """Gumbel C(u, v) for theta > 1, independence u v otherwise (the convention of CascadeModel.evaluate)."""
    return gumbel_cdf(u, v, theta) if theta > 1 else np.asarray(u, float) * np.asarray(v, float)


def u_grid_edges(n_cells: int) -> np.ndarray:
    """Cell edges 0 = u_0 < ... < u_n = 1 of the recursion: uniform in u."""
    return np.linspace(0.0, 1.0, n_cells + 1)


# ---------------------------------------------------------------------------------------------------
# Compiled kernels (numba nopython, compiled on first call and cached on disk): the same arithmetic as
# ChainEvaluator._forward_numpy, one threshold row at a time. ``.py_func`` is the plain Python source.
# ---------------------------------------------------------------------------------------------------

try:
    from numba import njit as _njit
except ImportError:  # pragma: no cover - numba is a declared dependency; the numpy back-end still works
    _njit = None


#: reassociation lets LLVM vectorise the sums and dot products (round-off-level reordering only); no
#: "ninf"/"nnan": the kernels rely on IEEE infinities (C(0, v) = exp(-inf) = 0)
_FASTMATH = {"reassoc", "contract"}


def _jit(fn: Callable) -> Callable:
    return _njit(cache=True, nogil=True, fastmath=_FASTMATH)(fn) if _njit is not None else fn



@_jit
def _k_cell(e: np.ndarray, n: int, a: float) -> int:
    """np.searchsorted(e, a, side="right") - 1, clipped to [0, n - 1]: the cell holding a."""
    lo, hi = 0, n + 1
    while lo < hi:
        mid = (lo + hi) // 2
        if e[mid] <= a:
            lo = mid + 1
        else:
            hi = mid
    j = lo - 1
    return 0 if j < 0 else (n - 1 if j > n - 1 else j)


@_jit
def _k_interp(x: np.ndarray, y: np.ndarray, nx: int, a: float) -> tuple[float, float]:
    """(np.interp(a, x[:nx], y[:nx]), slope of the piece containing a) for increasing knots x."""
    if a <= x[0]:
        return y[0], 0.0
    if a >= x[nx - 1]:
        return y[nx - 1], 0.0
    lo, hi = 0, nx
    while lo < hi:  # first knot > a
        mid = (lo + hi) // 2
        if x[mid] <= a:
            lo = mid + 1
        else:
            hi = mid
    s = lo - 1
    slope = (y[s + 1] - y[s]) / (x[s + 1] - x[s])
    return slope * (a - x[s]) + y[s], slope


@_jit
def _k_u(phi: float, b1: float, b2: float, mp: np.ndarray) -> float:
    """a = F(phi) clipped to [0, 1]: mixed_beta_cdf's formula given the two betainc values at z."""
    lo, hi, w_min, w_max, pi = mp[0], mp[1], mp[2], mp[3], mp[4]
    if phi >= hi:
        return 1.0
    if phi < lo:
        return 0.0
    mix = pi * b1 + (1 - pi) * b2
    out = (1 - w_min - w_max) * mix + w_min * (1.0 if phi >= lo else 0.0) + w_max * (1.0 if phi >= hi else 0.0)
    return 0.0 if out < 0.0 else (1.0 if out > 1.0 else out)


@_jit
def _k_density(phi: float, mp: np.ndarray, bl: np.ndarray) -> float:
    """dF/dphi of the continuous part (MixedBetaMarginal.pdf_continuous), 0 outside (phi_min, phi_max)."""
    lo, hi, w_min, w_max, pi, a1, b1, a2, b2 = mp[0], mp[1], mp[2], mp[3], mp[4], mp[5], mp[6], mp[7], mp[8]
    z = (phi - lo) / (hi - lo)
    if not 0.0 < z < 1.0:
        return 0.0
    lz, l1z = math.log(z), math.log1p(-z)
    f = pi * math.exp((a1 - 1) * lz + (b1 - 1) * l1z - bl[0]) + (1 - pi) * math.exp((a2 - 1) * lz + (b2 - 1) * l1z - bl[1])
    return (1 - w_min - w_max) * f / (hi - lo)


@_jit
def _k_cut(a: float, theta: float, indep: bool, yth: np.ndarray, wd: np.ndarray, Grow: np.ndarray,
           out: np.ndarray, Ce: np.ndarray, Te: np.ndarray) -> None:
    """out[l] = max(C(a, v_{l+1}) - C(a, v_l) - G[j, l], 0); keeps C(a, v_l) and s_l^(1/theta) in Ce / Te."""
    n = out.shape[0]
    if indep:
        for l in range(n):
            c = a * wd[l] - Grow[l]
            out[l] = c if c > 0.0 else 0.0
        return
    inv = 1.0 / theta
    xth = np.inf if a <= 0.0 else (-math.log(a)) ** theta
    t0 = (xth + yth[0]) ** inv
    c0 = math.exp(-t0)
    Ce[0], Te[0] = c0, t0
    for l in range(n):
        t1 = (xth + yth[l + 1]) ** inv
        c1 = math.exp(-t1)
        Ce[l + 1], Te[l + 1] = c1, t1
        c = c1 - c0 - Grow[l]
        out[l] = c if c > 0.0 else 0.0
        c0 = c1


@_jit
def _k_dcut(a: float, theta: float, indep: bool, yth: np.ndarray, wd: np.ndarray, out: np.ndarray,
            Ce: np.ndarray, Te: np.ndarray, dout: np.ndarray) -> None:
    """d/da of ``out`` of _k_cut (0 where it was clipped): dC/da = C s^(1/theta - 1) (-ln a)^(theta-1) / a."""
    n = out.shape[0]
    if indep:
        for l in range(n):
            dout[l] = wd[l] if out[l] > 0.0 else 0.0
        return
    if not 0.0 < a < 1.0:
        for l in range(n):
            dout[l] = 0.0
        return
    la = -math.log(a)
    xth = la ** theta
    lg = la ** (theta - 1.0) / a
    d0 = Ce[0] * Te[0] / (xth + yth[0]) * lg if Ce[0] > 0.0 else 0.0
    for l in range(n):
        d1 = Ce[l + 1] * Te[l + 1] / (xth + yth[l + 1]) * lg if Ce[l + 1] > 0.0 else 0.0
        dout[l] = d1 - d0 if out[l] > 0.0 else 0.0
        d0 = d1


@_jit
def _k_forward_row(A: np.ndarray, e: np.ndarray, wd: np.ndarray, Mn: np.ndarray, G: np.ndarray,
                   yth: np.ndarray, theta: np.ndarray, indep: np.ndarray, qmean: np.ndarray, X: np.ndarray,
                   I: np.ndarray, nx: np.ndarray, Iedge: np.ndarray, p_ans: np.ndarray, p_cor: np.ndarray,
                   W: np.ndarray, J: np.ndarray, CUT: np.ndarray, CE: np.ndarray, TE: np.ndarray) -> None:
    """Forward recursion for one threshold row A (u-space, (k-1,)); p_ans / p_cor are that row's (k,) outputs.

    Keeps the state entering each position (W), the cut cells (J), the cut rows (CUT) and the copula
    values at the edges (CE, TE) for the adjoint pass.
    """
    k, n = qmean.shape
    for l in range(n):
        W[0, l] = wd[l]
    for pos in range(k):
        w = W[pos]
        if pos == k - 1:  # the last model always answers
            s, sc = 0.0, 0.0
            for l in range(n):
                s += w[l]
                sc += w[l] * qmean[pos, l]
            p_ans[pos] = s
            p_cor[pos] = sc
            break
        a = A[pos]
        j = _k_cell(e, n, a)
        J[pos] = j
        dens = w[j] / wd[j]
        s, sc = 0.0, 0.0
        for l in range(j + 1, n):
            s += w[l]
            sc += w[l] * qmean[pos, l]
        Ia, _ = _k_interp(X[pos], I[pos], nx[pos], a)
        p_ans[pos] = s + dens * (e[j + 1] - a)
        p_cor[pos] = sc + dens * (Iedge[pos, j + 1] - Ia)
        cut = CUT[pos]
        _k_cut(a, theta[pos], indep[pos], yth[pos], wd, G[pos, j], cut, CE[pos], TE[pos])
        nw = W[pos + 1]
        for l in range(n):
            nw[l] = dens * cut[l]
        for i in range(j):  # (w * below) @ Mn, skipping the cells the threshold masks out
            wi = w[i]
            if wi != 0.0:
                row = Mn[pos, i]
                for l in range(n):
                    nw[l] += wi * row[l]


@_jit
def _k_thresholds(PHI: np.ndarray, B: np.ndarray, MP: np.ndarray, r: int, A: np.ndarray) -> None:
    """u-thresholds a_i = F_i(phi_i) of row r (B[c, r, i] = betainc of mixture component c at z_i)."""
    for i in range(A.shape[0]):
        A[i] = _k_u(PHI[r, i], B[0, r, i], B[1, r, i], MP[i])


@_jit
def _k_forward(PHI, B, MP, e, wd, Mn, G, yth, theta, indep, qmean, X, I, nx, Iedge, p_ans, p_cor):  # noqa: ANN001
    """P(answered by i) and P(correct, answered by i), (m, k), for every threshold row of PHI (m, k-1)."""
    k, n = qmean.shape
    W = np.empty((k, n))
    J = np.zeros(k, np.int64)
    CUT = np.empty((k, n))
    CE = np.empty((k, n + 1))
    TE = np.empty((k, n + 1))
    A = np.empty(k - 1)
    for r in range(PHI.shape[0]):
        _k_thresholds(PHI, B, MP, r, A)
        _k_forward_row(A, e, wd, Mn, G, yth, theta, indep, qmean, X, I, nx, Iedge, p_ans[r], p_cor[r], W, J, CUT, CE, TE)


@_jit
def _k_grad(PHI, B, MP, BL, e, wd, Mn, G, yth, theta, indep, qmean, X, I, nx, Iedge, cum, P, C, dP, dC):  # noqa: ANN001
    """P(correct), E[cost] (m,) and their derivatives in phi (m, k-1): forward plus adjoint recursion."""
    k, n = qmean.shape
    W = np.empty((k, n))
    J = np.zeros(k, np.int64)
    CUT = np.empty((k, n))
    CE = np.empty((k, n + 1))
    TE = np.empty((k, n + 1))
    A = np.empty(k - 1)
    pa = np.empty(k)
    pc = np.empty(k)
    dcut = np.empty(n)
    gP = np.empty(n)
    gC = np.empty(n)
    hP = np.empty(n)
    hC = np.empty(n)
    for r in range(PHI.shape[0]):
        _k_thresholds(PHI, B, MP, r, A)
        _k_forward_row(A, e, wd, Mn, G, yth, theta, indep, qmean, X, I, nx, Iedge, pa, pc, W, J, CUT, CE, TE)
        tp, tc = 0.0, 0.0
        for pos in range(k):
            tp += pc[pos]
            tc += pa[pos] * cum[pos]
        P[r], C[r] = tp, tc
        for l in range(n):
            gP[l] = qmean[k - 1, l]
            gC[l] = cum[k - 1]
        for pos in range(k - 2, -1, -1):
            a = A[pos]
            j = J[pos]
            w = W[pos]
            cut = CUT[pos]
            dens = w[j] / wd[j]
            Ia, slope = _k_interp(X[pos], I[pos], nx[pos], a)
            _k_dcut(a, theta[pos], indep[pos], yth[pos], wd, cut, CE[pos], TE[pos], dcut)
            sp, sc, tp, tc = 0.0, 0.0, 0.0, 0.0
            for l in range(n):
                sp += dcut[l] * gP[l]
                sc += dcut[l] * gC[l]
                tp += cut[l] * gP[l]
                tc += cut[l] * gC[l]
            f = _k_density(PHI[r, pos], MP[pos], BL[pos])
            dP[r, pos] = dens * (sp - slope) * f
            dC[r, pos] = dens * (sc - cum[pos]) * f
            if pos == 0:
                break  # the adjoint of the (fixed) first state is not needed
            for i in range(j):  # adjoint of the cells below the cut: Mn g
                row = Mn[pos, i]
                ap, ac = 0.0, 0.0
                for l in range(n):
                    ap += row[l] * gP[l]
                    ac += row[l] * gC[l]
                hP[i] = ap
                hC[i] = ac
            hP[j] = (Iedge[pos, j + 1] - Ia + tp) / wd[j]
            hC[j] = (cum[pos] * (e[j + 1] - a) + tc) / wd[j]
            for l in range(j + 1, n):
                hP[l] = qmean[pos, l]
                hC[l] = cum[pos]
            for l in range(n):
                gP[l] = hP[l]
                gC[l] = hC[l]


def numba_available() -> bool:
    """True when numba imports (the compiled back-end can be used)."""
    return _njit is not None


@dataclass
class _Plan:
    """Everything the recursion needs for one cascade and one set of thetas, stacked by position."""

    cas: tuple[int, ...]
    Mn: np.ndarray      # (k-1, n, n)
    G: np.ndarray       # (k-1, n+1, n)
    yth: np.ndarray     # (k-1, n+1), zeros for independent pairs
    theta: np.ndarray   # (k-1,)
    indep: np.ndarray   # (k-1,) bool
    qmean: np.ndarray   # (k, n)
    X: np.ndarray       # (k, L) quadrature knots of int_0^x Q_i, padded with 1.0
    I: np.ndarray       # (k, L)
    nx: np.ndarray      # (k,) number of knots
    Iedge: np.ndarray   # (k, n+1) = int_0^{u_l} Q_i at the cell edges
    mparams: tuple[np.ndarray, ...]  # stacked (k-1, 1) marginal parameters for mixed_beta_cdf
    betaln: np.ndarray  # (k-1, 2) log beta functions of the two mixture components
    MP: np.ndarray      # (k-1, 9) the same parameters as rows, for the kernel
    beta_a: np.ndarray  # (2, 1, k-1) shape parameters a of the two components (betainc broadcasting)
    beta_b: np.ndarray  # (2, 1, k-1)


class ChainEvaluator:
    """Exact P(correct) and E[cost] of a cascade under the fitted Markov-copula model.

    This is the exact Markov-chain value that Proposition 2 / Algorithm 1 of 'Rational Tuning of LLM
    Cascades via Probabilistic Modeling' (thesis chapter 2) approximates (Algorithm 1 is exact only for
    k = 2 and for independent models). Same interface and conventions as :meth:`CascadeModel.evaluate`.
    Per-pair transition matrices are cached by (theta, n_cells) (the copula cell masses depend on the
    pair only through its theta), per-model quadratures of Q_i by model index: the marginals of
    ``model`` are assumed fixed after construction, the thetas are read at each call.

    ``backend``: ``"numba"`` (compiled kernel), ``"numpy"`` (vectorised reference) or ``"auto"`` (numba
    when it imports). Both compute the same numbers (to round-off); :meth:`evaluate_grad` adds exact
    threshold derivatives for gradient-based tuning (:func:`.tuning.tune_rt` uses it when present).
    """

    def __init__(self, model: CascadeModel, n_cells: int = 400, backend: str = "auto") -> None:
        if isinstance(n_cells, bool) or not isinstance(n_cells, (int, np.integer)):
            raise ValueError(f"n_cells must be an integer, got {n_cells!r}")
        if not MIN_CELLS <= int(n_cells) <= MAX_CELLS:
            raise ValueError(f"n_cells must be between {MIN_CELLS} and {MAX_CELLS}, got {n_cells}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if backend == "numba" and not numba_available():
            raise ValueError("backend 'numba' needs the numba package (pip install numba)")
        self.model = model
        self.n_cells = int(n_cells)
        self.backend = ("numba" if numba_available() else "numpy") if backend == "auto" else backend
        self.edges = u_grid_edges(self.n_cells)
        self.widths = np.diff(self.edges)
        self._pairs: dict[tuple[float, int], tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {}
        self._quad: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._plans: dict[tuple, _Plan] = {}
        self._valid: dict[tuple, list[int]] = {}
        self._pair_idx: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    # ------------------------------------------------------------------ cached pieces
    def _pair(self, theta: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(Mn, G, yth): Mn[j, l] = M[j, l] / width_j (conditional cell law given U in cell j),
        G[j, l] = C(u_j, v_{l+1}) - C(u_j, v_l) (row j of the edge-differenced copula, (n+1, n)) and
        yth = (-ln u_l)^theta at the edges (None for independence)."""
        key = (float(theta), self.n_cells)
        hit = self._pairs.get(key)
        if hit is None:
            e = self.edges
            G = np.diff(_copula(e[:, None], e[None, :], theta), axis=1)
            M = np.maximum(np.diff(G, axis=0), 0.0)  # rectangle masses (clip -1e-17 round-off)
            with np.errstate(divide="ignore"):
                yth = (-np.log(e)) ** theta if theta > 1 else None
            hit = (M / self.widths[:, None], G, yth)
            self._pairs[key] = hit
        return hit

    def _cut_row(self, a: np.ndarray, theta: float, yth: np.ndarray | None) -> np.ndarray:
        """C(a, v_{l+1}) - C(a, v_l) for each row's a, shape (m, n); Gumbel with cached edge powers."""
        if yth is None:
            return a[:, None] * self.widths[None, :]
        with np.errstate(divide="ignore"):
            xth = (-np.log(a)) ** theta  # a = 0 -> inf -> C = 0; a = 1 -> 0 -> C = v
        c = np.exp(-((xth[:, None] + yth[None, :]) ** (1.0 / theta)))
        return np.diff(c, axis=1)

    def _q(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fine knots x, I(x) = int_0^x Q_i, per-cell means of Q_i) for model i."""
        hit = self._quad.get(i)
        if hit is None:
            m = self.model.marginals[i]
            sub = np.linspace(0.0, 1.0, self.n_cells * _SUB + 1)
            x = np.unique(np.concatenate([sub, self.edges, [m.w_min, 1.0 - m.w_max]]))
            x = x[(x >= 0) & (x <= 1)]
            lo, h = x[:-1], np.diff(x)
            nodes = lo[:, None] + 0.5 * h[:, None] * (_GL_X[None, :] + 1.0)
            seg = 0.5 * h * (m.ppf(nodes.ravel()).reshape(nodes.shape) @ _GL_W)
            I = np.concatenate([[0.0], np.cumsum(seg)])
            qmean = np.diff(np.interp(self.edges, x, I)) / self.widths
            hit = (x, I, qmean)
            self._quad[i] = hit
        return hit

    def _theta(self, i: int, j: int) -> float:
        return float(self.model.theta[min(i, j), max(i, j)])

    def _plan(self, cas: list[int]) -> _Plan:
        """Stacked per-position arrays of a cascade for the compiled kernel (cached by cascade and thetas)."""
        ct = tuple(cas)
        idx = self._pair_idx.get(ct)
        if idx is None:
            idx = self._pair_idx[ct] = (np.minimum(cas[:-1], cas[1:]), np.maximum(cas[:-1], cas[1:]))
        vals = np.asarray(self.model.theta, float)[idx]  # the thetas are read at every call
        key = (ct, vals.tobytes())
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        thetas = tuple(float(t) for t in vals)
        n, k = self.n_cells, len(cas)
        pairs = [self._pair(t) for t in thetas]
        quads = [self._q(i) for i in cas]
        L = max(q[0].size for q in quads)
        X = np.ones((k, L))
        I = np.zeros((k, L))
        for r, (x, Iq, _) in enumerate(quads):
            X[r, : x.size] = x
            I[r, : x.size] = Iq
            I[r, x.size :] = Iq[-1]
        mg = [self.model.marginals[i] for i in cas[:-1]]
        col = lambda name: np.array([[float(getattr(m, name))] for m in mg])  # noqa: E731
        names = ("phi_min", "phi_max", "w_min", "w_max", "pi", "a1", "b1", "a2", "b2")
        mparams = tuple(col(nm) for nm in names)
        plan = _Plan(
            cas=tuple(cas),
            Mn=np.ascontiguousarray(np.stack([p[0] for p in pairs])),
            G=np.ascontiguousarray(np.stack([p[1] for p in pairs])),
            yth=np.stack([p[2] if p[2] is not None else np.zeros(n + 1) for p in pairs]),
            theta=np.array(thetas, float),
            indep=np.array([p[2] is None for p in pairs]),
            qmean=np.stack([q[2] for q in quads]),
            X=X, I=I, nx=np.array([q[0].size for q in quads], np.int64),
            Iedge=np.stack([np.interp(self.edges, x, Iq) for x, Iq, _ in quads]),
            mparams=mparams,
            betaln=np.array([[special.betaln(m.a1, m.b1), special.betaln(m.a2, m.b2)] for m in mg]),
            MP=np.ascontiguousarray(np.hstack(mparams)),
            beta_a=np.array([[[m.a1 for m in mg]], [[m.a2 for m in mg]]], float),
            beta_b=np.array([[[m.b1 for m in mg]], [[m.b2 for m in mg]]], float),
        )
        self._plans[key] = plan
        return plan

    def _u_thresholds(self, cas: list[int], th: np.ndarray, plan: _Plan | None = None) -> np.ndarray:
        """a_i = F_i(phi_i) for every row, (m, k-1), clipped to [0, 1] (one stacked CDF call)."""
        if plan is None:
            plan = self._plan(cas)
        a = mixed_beta_cdf(th.T, *plan.mparams)
        return np.ascontiguousarray(np.clip(a, 0.0, 1.0).T)

    @staticmethod
    def _betainc(plan: _Plan, th: np.ndarray) -> np.ndarray:
        """(2, m, k-1) regularised incomplete betas of the two mixture components at z = (phi - lo) / (hi - lo)."""
        lo, hi = plan.MP[:, 0], plan.MP[:, 1]
        z = np.minimum(np.maximum((th - lo) / (hi - lo), 0.0), 1.0)
        return special.betainc(plan.beta_a, plan.beta_b, z[None])

    def _density(self, plan: _Plan, th: np.ndarray) -> np.ndarray:
        """dF_i/dphi_i at the thresholds, (m, k-1): the continuous density (0 outside (phi_min, phi_max))."""
        lo, hi, w_min, w_max, pi, a1, b1, a2, b2 = (p[:, 0] for p in plan.mparams)
        z = (th - lo) / (hi - lo)
        inside = (z > 0) & (z < 1)
        zc = np.where(inside, z, 0.5)
        lz, l1z = np.log(zc), np.log1p(-zc)
        f = pi * np.exp((a1 - 1) * lz + (b1 - 1) * l1z - plan.betaln[:, 0]) \
            + (1 - pi) * np.exp((a2 - 1) * lz + (b2 - 1) * l1z - plan.betaln[:, 1])
        return np.where(inside, (1 - w_min - w_max) * f / (hi - lo), 0.0)

    # ------------------------------------------------------------------ recursion
    def answer_probabilities(self, cascade: Sequence[int], thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(P(answered by position i), E[Phi_i 1{answered by i}]) as (m, k) arrays (rows sum to 1 / P(correct))."""
        cas, th, _ = self._check(cascade, thresholds)
        return self._forward(cas, th)

    def _check(self, cascade: Sequence[int], thresholds: np.ndarray) -> tuple[list[int], np.ndarray, bool]:
        key = tuple(cascade)
        cas = self._valid.get(key)
        if cas is None:
            cas = [int(c) for c in cascade]
            k = len(cas)
            if k < 2 or any(c < 0 or c >= len(self.model.marginals) for c in cas) or len(set(cas)) != k:
                raise ValueError(f"cascade must list >= 2 distinct model indices in range, got {cascade}")
            self._valid[key] = cas
        k = len(cas)
        th = np.ascontiguousarray(thresholds, float)  # C order: the kernels are compiled for it
        if th.ndim > 2:
            raise ValueError(f"thresholds must be 1-D (k-1,) or 2-D (m, k-1), got {th.ndim}-D")
        single = th.ndim == 1
        th = np.atleast_2d(th)
        if th.shape[1] != k - 1:
            raise ValueError(f"thresholds need {k - 1} columns for a cascade of length {k}, got {th.shape[1]}")
        return cas, th, single

    def _forward(self, cas: list[int], th: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.backend == "numpy":
            return self._forward_numpy(cas, th)
        plan = self._plan(cas)
        m, k = th.shape[0], len(cas)
        p_ans = np.empty((m, k))
        p_cor = np.empty((m, k))
        _k_forward(th, self._betainc(plan, th), plan.MP, self.edges, self.widths, plan.Mn, plan.G, plan.yth, plan.theta,
                   plan.indep, plan.qmean, plan.X, plan.I, plan.nx, plan.Iedge, p_ans, p_cor)
        return p_ans, p_cor

    def _forward_numpy(self, cas: list[int], th: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The vectorised reference recursion (all rows at once, BLAS products)."""
        e, wd, n = self.edges, self.widths, self.n_cells
        m, k = th.shape[0], len(cas)
        rows = np.arange(m)
        w = np.broadcast_to(wd, (m, n)).copy()  # alpha_1 = 1: cell masses = widths
        p_ans = np.empty((m, k))
        p_cor = np.empty((m, k))
        for pos, i in enumerate(cas):
            x, I, qmean = self._q(i)
            if pos == k - 1:  # the last model always answers
                p_ans[:, pos] = w.sum(axis=1)
                p_cor[:, pos] = w @ qmean
                break
            a = np.clip(np.asarray(self.model.marginals[i].cdf(th[:, pos]), float), 0.0, 1.0)
            j = np.clip(np.searchsorted(e, a, side="right") - 1, 0, n - 1)  # cell holding a
            dens = w[rows, j] / wd[j]  # alpha_i inside the cut cell
            above = np.arange(n)[None, :] > j[:, None]
            top = e[j + 1] - a
            p_ans[:, pos] = (w * above).sum(axis=1) + dens * top
            p_cor[:, pos] = (w * above) @ qmean + dens * (np.interp(e[j + 1], x, I) - np.interp(a, x, I))
            nxt = cas[pos + 1]
            theta = self._theta(i, nxt)
            Mn, G, yth = self._pair(theta)
            below = np.arange(n)[None, :] < j[:, None]
            cut = self._cut_row(a, theta, yth) - G[j]
            w = (w * below) @ Mn + dens[:, None] * np.maximum(cut, 0.0)
        return p_ans, p_cor

    def _grad_numpy(self, cas: list[int], A: np.ndarray, cum: np.ndarray) -> tuple[np.ndarray, ...]:
        """Reference adjoint recursion in numpy, one row at a time: (p_ans, p_cor, dP/da, dC/da)."""
        e, wd, n = self.edges, self.widths, self.n_cells
        m, k = A.shape[0], len(cas)
        plan = self._plan(cas)
        p_ans, p_cor = np.empty((m, k)), np.empty((m, k))
        dPda, dCda = np.empty((m, k - 1)), np.empty((m, k - 1))
        cells = np.arange(n)
        for r in range(m):
            w = wd.copy()
            states, js = [], []
            for pos in range(k):
                states.append(w)
                if pos == k - 1:
                    p_ans[r, pos], p_cor[r, pos] = w.sum(), w @ plan.qmean[pos]
                    break
                a = A[r, pos]
                j = int(np.clip(np.searchsorted(e, a, side="right") - 1, 0, n - 1))
                js.append(j)
                dens = w[j] / wd[j]
                Ia = np.interp(a, plan.X[pos, : plan.nx[pos]], plan.I[pos, : plan.nx[pos]])
                p_ans[r, pos] = w[j + 1 :].sum() + dens * (e[j + 1] - a)
                p_cor[r, pos] = w[j + 1 :] @ plan.qmean[pos, j + 1 :] + dens * (plan.Iedge[pos, j + 1] - Ia)
                cut, _ = self._cut_and_derivative(plan, pos, j, a)
                w = w[:j] @ plan.Mn[pos, :j] + dens * cut
            gP, gC = plan.qmean[k - 1].copy(), np.full(n, cum[k - 1])
            for pos in range(k - 2, -1, -1):
                a, j, w = A[r, pos], js[pos], states[pos]
                dens = w[j] / wd[j]
                x, Iq = plan.X[pos, : plan.nx[pos]], plan.I[pos, : plan.nx[pos]]
                s = int(np.clip(np.searchsorted(x, a, side="right") - 1, 0, x.size - 2))
                slope = (Iq[s + 1] - Iq[s]) / (x[s + 1] - x[s]) if 0 < a < 1 else 0.0
                cut, dcut = self._cut_and_derivative(plan, pos, j, a)
                dPda[r, pos] = dens * (dcut @ gP - slope)
                dCda[r, pos] = dens * (dcut @ gC - cum[pos])
                Ia = np.interp(a, x, Iq)
                hP = np.where(cells > j, plan.qmean[pos], 0.0)
                hC = np.where(cells > j, cum[pos], 0.0)
                hP[:j], hC[:j] = plan.Mn[pos, :j] @ gP, plan.Mn[pos, :j] @ gC
                hP[j] = (plan.Iedge[pos, j + 1] - Ia + cut @ gP) / wd[j]
                hC[j] = (cum[pos] * (e[j + 1] - a) + cut @ gC) / wd[j]
                gP, gC = hP, hC
        return p_ans, p_cor, dPda, dCda

    def _cut_and_derivative(self, plan: _Plan, pos: int, j: int, a: float) -> tuple[np.ndarray, np.ndarray]:
        """max(C(a, v_{l+1}) - C(a, v_l) - G[j, l], 0) and its derivative in a (numpy, one row)."""
        G = plan.G[pos, j]
        if plan.indep[pos]:
            c = a * self.widths - G
            return np.maximum(c, 0.0), np.where(c > 0, self.widths, 0.0)
        th = plan.theta[pos]
        with np.errstate(divide="ignore"):
            xth = (-np.log(a)) ** th
            s = xth + plan.yth[pos]
            C = np.exp(-(s ** (1.0 / th)))
            if 0.0 < a < 1.0:
                dC = np.where(C > 0, C * s ** (1.0 / th - 1.0), 0.0) * (-np.log(a)) ** (th - 1.0) / a
            else:
                dC = np.zeros_like(C)
        c = np.diff(C) - G
        return np.maximum(c, 0.0), np.where(c > 0, np.diff(dC), 0.0)

    def evaluate(self, cascade: Sequence[int], thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """P(correct) and E[cost] of a cascade at threshold rows: the exact Markov-chain value.

        Same conventions as :meth:`CascadeModel.evaluate` (Proposition 2 / Algorithm 1 of 'Rational
        Tuning of LLM Cascades via Probabilistic Modeling', thesis chapter 2), which this computes
        without Algorithm 1's event-Markov approximation: ``thresholds`` has shape (m, k-1) or (k-1,);
        returns two arrays of length m (or floats). Model i answers when Phi_i > phi_i, the last model
        always answers, and every visited model is paid.
        """
        cas, th, single = self._check(cascade, thresholds)
        p_ans, p_cor = self._forward(cas, th)
        cum = np.cumsum(np.asarray(self.model.costs, float)[cas])
        p_corr, e_cost = p_cor.sum(axis=1), p_ans @ cum
        if single:
            return float(p_corr[0]), float(e_cost[0])
        return p_corr, e_cost

    def evaluate_grad(self, cascade: Sequence[int], thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """P(correct), E[cost] and their exact derivatives with respect to the thresholds phi_1..phi_{k-1}.

        The adjoint of the recursion (module docstring) times the marginal densities dF_i/dphi_i.
        Returns (P (m,), cost (m,), dP/dphi (m, k-1), dcost/dphi (m, k-1)), or a float pair and two
        (k-1,) vectors for a 1-D ``thresholds``. Use inside (phi_min, phi_max): a threshold on a point
        mass has no derivative (0 is returned for it).
        """
        cas, th, single = self._check(cascade, thresholds)
        plan = self._plan(cas)
        cum = np.cumsum(np.asarray(self.model.costs, float)[cas])
        if self.backend == "numpy":
            p_ans, p_cor, dPda, dCda = self._grad_numpy(cas, self._u_thresholds(cas, th, plan), cum)
            f = self._density(plan, th)
            p, c, dp, dc = p_cor.sum(axis=1), p_ans @ cum, dPda * f, dCda * f
        else:
            m, k = th.shape[0], len(cas)
            p, c = np.empty(m), np.empty(m)
            dp, dc = np.empty((m, k - 1)), np.empty((m, k - 1))
            _k_grad(th, self._betainc(plan, th), plan.MP, plan.betaln, self.edges, self.widths, plan.Mn, plan.G, plan.yth,
                    plan.theta, plan.indep, plan.qmean, plan.X, plan.I, plan.nx, plan.Iedge, cum, p, c, dp, dc)
        if single:
            return float(p[0]), float(c[0]), dp[0], dc[0]
        return p, c, dp, dc
