"""Non-convex post-processing (thesis §5.3 "Non-convex clusters", App. 4E): ``distort`` and ``wrap_around_sphere``."""

from __future__ import annotations

import numpy as np


def _check_X(X) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be a non-empty 2-D array (n, p), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X has non-finite values")
    return X


def _layer_norm(h: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    mu = h.mean(axis=1, keepdims=True)
    c = h - mu
    var = np.mean(c * c, axis=1, keepdims=True)
    return c / np.sqrt(var + h.dtype.type(eps))


def distort(
    X, rng: np.random.Generator | int | None = None, *, hidden_dim: int = 128, n_layers: int = 16
) -> np.ndarray:
    """Random neural-network map of App. 4E, in numpy (no torch).

    X is divided by its largest row norm, then mapped by ``Linear(p,h) → n_layers × [Linear(h,h) →
    LayerNorm(h) → Tanh] → Linear(h,p)`` with the projection weight tied to the transpose of the
    embedding weight (own bias). Weights and biases are drawn U(±1/√fan_in) like PyTorch's default
    initialisation; LayerNorm has unit gain and zero shift. Computed and returned in float32 (as
    repliclust does with torch).
    """
    X = _check_X(X)
    if hidden_dim < 1 or n_layers < 0:
        raise ValueError(f"hidden_dim must be >= 1 and n_layers >= 0, got {hidden_dim}, {n_layers}")
    rng = np.random.default_rng(rng)
    n, p = X.shape
    scale = np.max(np.linalg.norm(X, axis=1))
    Z = (X / scale if scale > 0 else X).astype(np.float32)
    f32 = np.float32
    b_in = 1.0 / np.sqrt(p)
    W_emb = rng.uniform(-b_in, b_in, (hidden_dim, p)).astype(f32)
    b_emb = rng.uniform(-b_in, b_in, hidden_dim).astype(f32)
    h = Z @ W_emb.T + b_emb
    b_h = 1.0 / np.sqrt(hidden_dim)
    for _ in range(n_layers):
        W = rng.uniform(-b_h, b_h, (hidden_dim, hidden_dim)).astype(f32)
        b = rng.uniform(-b_h, b_h, hidden_dim).astype(f32)
        h = np.tanh(_layer_norm(h @ W.T + b))
    b_out = rng.uniform(-b_h, b_h, p).astype(f32)
    return (h @ W_emb + b_out).astype(f32)


def wrap_around_sphere(X) -> np.ndarray:
    """Inverse stereographic projection onto the upper unit hemisphere of ℝ^{p+1} (§5.3).

    X is divided by its largest row norm; with s = ‖x‖² the image is (2x/(1+s), (1−s)/(1+s)).
    """
    X = _check_X(X)
    scale = np.max(np.linalg.norm(X, axis=1))
    Z = X / scale if scale > 0 else X
    s = np.einsum("ij,ij->i", Z, Z)[:, None]
    return np.hstack([2 * Z / (1 + s), (1 - s) / (1 + s)])
