"""Placing cluster centers so that the overlap constraints hold (thesis §5.3, eqs. 5.7–5.9).

With q_min = Φ⁻¹(1 − max_overlap/2) and q_max = Φ⁻¹(1 − min_overlap/2) the loss of cluster i is

    ℓ_i = p_λ((min_{j≠i} q_ij − q_max)⁺) + Σ_{j≠i} p_λ((q_min − q_ij)⁺),   p_λ(x) = λx + (1−λ)x²,

and L = mean_i ℓ_i. Axes and lengths stay fixed; only the centers move, by stochastic gradient
steps over the clusters in random order. q_ij uses the LDA axis (or δ for ``mode="c2c"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from .overlap import q_from_overlap


@dataclass
class PlacementResult:
    """Fitted centers, the final loss, whether it reached 0, epochs used (best restart), and the
    overlap loss L = mean_i ℓ_i of eq. (5.7) before the first epoch and after every epoch of that
    restart (``history``; the package reports √L, we keep L)."""

    centers: np.ndarray
    loss: float
    converged: bool
    epochs: int
    restarts: int
    history: tuple[float, ...] = ()


class _PairGeometry:
    """Per-pair matrices A = S⁻¹ (S = (Σi+Σj)/2, or I for C2C) and B_i = AΣ_iA, B_j = AΣ_jA."""

    def __init__(self, covs: np.ndarray, mode: str):
        k, p, _ = covs.shape
        self.k = k
        iu, ju = np.triu_indices(k, 1)
        self.iu, self.ju = iu, ju
        self.index = np.full((k, k), -1, dtype=int)
        self.index[iu, ju] = np.arange(iu.size)
        self.index[ju, iu] = np.arange(iu.size)
        if mode == "lda":
            A = np.linalg.inv(0.5 * (covs[iu] + covs[ju]))
            A = 0.5 * (A + np.swapaxes(A, 1, 2))
        elif mode == "c2c":
            A = np.broadcast_to(np.eye(p), (iu.size, p, p)).copy()
        else:
            raise ValueError(f"overlap_mode must be 'lda' or 'c2c', got {mode!r}")
        self.A = A
        self.Bi = A @ covs[iu] @ A
        self.Bj = A @ covs[ju] @ A

    def q_and_grad(self, d: np.ndarray, pairs: np.ndarray, lower_is_first: np.ndarray):
        """q and ∇_δ q for δ = μ_second − μ_first of the given pair indices.

        ``lower_is_first`` tells whether the first cluster is the pair's lower index i (then Σ_first = Σ_i).
        q(δ) = δᵀAδ / (√(δᵀB₁δ) + √(δᵀB₂δ)) is symmetric in the two clusters, so only the
        pairing of B with the clusters matters, not its order in the sum.
        """
        A = self.A[pairs]
        Bi = self.Bi[pairs]
        Bj = self.Bj[pairs]
        Ad = np.einsum("nij,nj->ni", A, d)
        num = np.einsum("ni,ni->n", d, Ad)
        b1 = np.einsum("nij,nj->ni", Bi, d)
        b2 = np.einsum("nij,nj->ni", Bj, d)
        s1 = np.sqrt(np.maximum(np.einsum("ni,ni->n", d, b1), 1e-300))
        s2 = np.sqrt(np.maximum(np.einsum("ni,ni->n", d, b2), 1e-300))
        den = s1 + s2
        q = num / den
        grad = 2 * Ad / den[:, None] - (num / den**2)[:, None] * (b1 / s1[:, None] + b2 / s2[:, None])
        return q, grad

    def all_q(self, centers: np.ndarray) -> np.ndarray:
        d = centers[self.ju] - centers[self.iu]
        q, _ = self.q_and_grad(d, np.arange(self.iu.size), np.ones(self.iu.size, bool))
        Q = np.full((self.k, self.k), np.inf)
        Q[self.iu, self.ju] = q
        Q[self.ju, self.iu] = q
        return Q


def _penalty(x, lam):
    return lam * x + (1 - lam) * x * x


def overlap_loss(Q: np.ndarray, q_min: float, q_max: float, lam: float) -> np.ndarray:
    """Per-cluster losses ℓ_i of eq. (5.8) from the k×k matrix of separation quantiles (diag = +inf)."""
    k = Q.shape[0]
    if k == 1:
        return np.zeros(1)
    too_far = np.maximum(np.min(Q, axis=1) - q_max, 0.0)
    off = ~np.eye(k, dtype=bool)
    too_close = np.where(off, np.maximum(q_min - np.where(off, Q, 0.0), 0.0), 0.0)
    return _penalty(too_far, lam) + _penalty(too_close, lam).sum(axis=1)


def packing_radius(k: int, p: int, scale: float, packing: float = 0.1) -> float:
    """Radius R of the initial ball with volume k·V_p(scale)/ρ_adj, ρ_adj = (p−1)·2^{2−p}·ρ (v1.0.0, D6).

    (The thesis prints p·2^{1−p}·ρ; both equal ρ at p = 2. Initialisation only.)
    """
    rho = (p - 1) * 2.0 ** (2 - p) * packing if p >= 2 else packing
    return float(scale * np.exp((np.log(k) - np.log(rho)) / p))


def initial_centers(k: int, p: int, scale: float, packing: float, rng: np.random.Generator) -> np.ndarray:
    """k centers with uniform directions and radius ~ Uniform(0, R) (not uniform in volume, as in §5.3)."""
    R = packing_radius(k, p, scale, packing)
    u = rng.standard_normal((k, p))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return u * rng.uniform(0.0, R, size=(k, 1))


def _epoch_numpy(X: np.ndarray, geo: _PairGeometry, order: np.ndarray, q_min: float, q_max: float, lam: float,
                 lr: float) -> None:
    """One SGD epoch of eq. (5.9) in place (numpy reference): for cluster i in ``order``, push it apart from
    every neighbour that is too close (q < q_min), else pull it towards its nearest neighbour if even that
    one is too far (min q > q_max); both centers move."""
    k = X.shape[0]
    for i in order:
        others = np.delete(np.arange(k), i)
        pairs = geo.index[i, others]
        d = X[others] - X[i]
        q, grad = geo.q_and_grad(d, pairs, others > i)
        close = q < q_min
        if np.any(close):
            w = (lam + 2 * (1 - lam) * (q_min - q[close]))[:, None] * grad[close]
            X[i] -= lr * w.sum(axis=0)
            X[others[close]] += lr * w
        elif q.min() > q_max:
            m = int(np.argmin(q))
            w = (lam + 2 * (1 - lam) * (q[m] - q_max)) * grad[m]
            X[i] += lr * w
            X[others[m]] -= lr * w


def _epoch_loops(X, A, Bi, Bj, index, order, q_min, q_max, lam, lr):  # pragma: no cover - compiled by numba
    """The same epoch as :func:`_epoch_numpy`, written as loops for numba (measured hot loop)."""
    k, p = X.shape
    q = np.empty(k)
    grad = np.empty((k, p))
    for i in order:
        for j in range(k):
            if j == i:
                q[j] = np.inf
                continue
            pr = index[i, j]
            d = X[j] - X[i]
            Ad = A[pr] @ d
            b1 = Bi[pr] @ d
            b2 = Bj[pr] @ d
            num = d @ Ad
            s1 = np.sqrt(max(d @ b1, 1e-300))
            s2 = np.sqrt(max(d @ b2, 1e-300))
            den = s1 + s2
            q[j] = num / den
            grad[j] = 2.0 * Ad / den - (num / den**2) * (b1 / s1 + b2 / s2)
        any_close = False
        for j in range(k):
            if j != i and q[j] < q_min:
                any_close = True
                w = (lam + 2.0 * (1.0 - lam) * (q_min - q[j])) * grad[j]
                X[i] -= lr * w
                X[j] += lr * w
        if not any_close:
            m = int(np.argmin(q))
            if q[m] > q_max:
                w = (lam + 2.0 * (1.0 - lam) * (q[m] - q_max)) * grad[m]
                X[i] += lr * w
                X[m] -= lr * w


def _all_q_loops(X, A, Bi, Bj, iu, ju):  # pragma: no cover - compiled by numba
    """Separation quantiles of all pairs as a k×k matrix (diagonal +inf), as loops for numba."""
    k = X.shape[0]
    Q = np.full((k, k), np.inf)
    for pr in range(iu.size):
        d = X[ju[pr]] - X[iu[pr]]
        num = d @ (A[pr] @ d)
        s1 = np.sqrt(max(d @ (Bi[pr] @ d), 1e-300))
        s2 = np.sqrt(max(d @ (Bj[pr] @ d), 1e-300))
        Q[iu[pr], ju[pr]] = num / (s1 + s2)
        Q[ju[pr], iu[pr]] = num / (s1 + s2)
    return Q


try:  # numba is a declared dependency; the numpy reference remains for environments without it
    import numba

    _epoch_kernel = numba.njit(cache=True)(_epoch_loops)
    _all_q_kernel = numba.njit(cache=True)(_all_q_loops)
except ImportError:  # pragma: no cover
    _epoch_kernel = _all_q_kernel = None


def _use_compiled(compiled: bool | None) -> bool:
    use = _epoch_kernel is not None if compiled is None else compiled
    if use and _epoch_kernel is None:
        raise RuntimeError("compiled=True needs numba")
    return use


def _all_q(X, geo, compiled: bool | None) -> np.ndarray:
    if _use_compiled(compiled):
        return _all_q_kernel(X, geo.A, geo.Bi, geo.Bj, geo.iu, geo.ju)
    return geo.all_q(X)


def _epoch(X, geo, order, q_min, q_max, lam, lr, compiled: bool | None) -> None:
    use = _use_compiled(compiled)
    if use:
        if _epoch_kernel is None:
            raise RuntimeError("compiled=True needs numba")
        _epoch_kernel(X, geo.A, geo.Bi, geo.Bj, geo.index, np.asarray(order, dtype=np.int64), q_min, q_max, lam, lr)
    else:
        _epoch_numpy(X, geo, order, q_min, q_max, lam, lr)


def place_centers(
    covs: np.ndarray,
    max_overlap: float,
    min_overlap: float,
    rng: np.random.Generator,
    *,
    scale: float = 1.0,
    packing: float = 0.1,
    mode: str = "lda",
    learning_rate: float = 0.5,
    linear_penalty_weight: float = 0.01,
    max_epoch: int = 100,
    n_restarts: int = 3,
    rtol: float = 1e-3,
    backoff: bool = True,
    compiled: bool | None = None,
) -> PlacementResult:
    """Centers meeting max/min overlap constraints by SGD on the loss of eqs. (5.7)–(5.9).

    Each epoch visits clusters in random order; for cluster i the pairs that are too close are pushed
    apart, or, if every pair is too far, i and its nearest neighbour are pulled together; both
    centers move (opposite signs). With ``backoff`` (the default) the step size is halved whenever an
    epoch increases the loss (an addition to v1.0.0 that avoids oscillation for very oblong clusters);
    it then stops at loss 0, after ``max_epoch`` epochs, or when the step has shrunk 1000-fold and √L
    improves by < ``rtol``. Without ``backoff`` the step stays η, as in the thesis (eq. 5.9) and the
    package, and it stops at loss 0, after ``max_epoch`` epochs or when √L improves by less than
    ``rtol`` (relative). Up to ``n_restarts`` restarts, best kept. ``compiled`` picks the numba kernel
    of an epoch (default: when numba is installed) or the numpy reference (same arithmetic).
    Centers are re-centred to mean 0.
    """
    covs = np.asarray(covs, dtype=float)
    if covs.ndim != 3 or covs.shape[1] != covs.shape[2]:
        raise ValueError(f"covs must have shape (k, p, p), got {covs.shape}")
    if not (0 < min_overlap < max_overlap < 1):
        raise ValueError(f"need 0 < min_overlap < max_overlap < 1, got min={min_overlap}, max={max_overlap}")
    k, p, _ = covs.shape
    q_min = float(q_from_overlap(max_overlap))
    q_max = float(q_from_overlap(min_overlap))
    lam = float(linear_penalty_weight)
    if k == 1:
        return PlacementResult(np.zeros((1, p)), 0.0, True, 0, 0, (0.0,))
    geo = _PairGeometry(covs, mode)
    best: PlacementResult | None = None
    for restart in range(max(1, n_restarts)):
        X = initial_centers(k, p, scale, packing, rng)
        prev = np.inf
        epochs = 0
        lr = float(learning_rate)
        L0 = float(overlap_loss(_all_q(X, geo, compiled), q_min, q_max, lam).mean())
        history = [L0]
        loss = float(np.sqrt(L0))
        for epoch in range(max_epoch):
            if loss == 0.0:
                break
            epochs = epoch + 1
            _epoch(X, geo, rng.permutation(k), q_min, q_max, lam, lr, compiled)
            L_new = float(overlap_loss(_all_q(X, geo, compiled), q_min, q_max, lam).mean())
            history.append(L_new)
            new = float(np.sqrt(L_new))
            if new == 0.0:
                loss = 0.0
                break
            if not backoff:
                if (loss - new) < rtol * loss:
                    loss = new
                    break
            elif new > loss:
                lr *= 0.5  # step back-off on overshoot (not in v1.0.0; outcomes, not trajectories, matter)
            elif epoch >= 10 and (loss - new) < rtol * loss and lr < 1e-3 * learning_rate:
                loss = new
                break
            prev, loss = loss, new
        res = PlacementResult(X - X.mean(axis=0), loss, loss == 0.0, epochs, restart + 1, tuple(history))
        if best is None or res.loss < best.loss:
            best = res
        if best.converged:
            break
    assert best is not None
    return best


def ball_volume_log(p: int, r: float) -> float:
    """log V_p(r) = (p/2)log π − lgamma(p/2+1) + p log r (used to document the packing ball)."""
    return 0.5 * p * np.log(np.pi) - gammaln(0.5 * p + 1) + p * np.log(r)
