"""Archetypes and mixture models (thesis §5.3, Table 5.1, App. 4B).

An :class:`Archetype` holds the high-level parameters of Table 5.1; :func:`sample_mixture_model`
draws a :class:`MixtureModel` (centers, axes, axis lengths, families) from it by max-min sampling and
center placement, and :meth:`MixtureModel.sample_data` draws a labelled data set.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy.stats import ortho_group

from .centers import place_centers
from .distributions import FAMILIES, assign_families, sample_radial
from .maxmin import AspectSemantics, sample_aspects, sample_axis_lengths, sample_group_sizes, sample_radii
from .overlap import pairwise_overlaps

D2 = ["normal", "exponential"]
D5 = ["normal", "exponential", "gamma", "weibull", "lognormal"]


@dataclass
class Archetype:
    """High-level description of a family of data sets (Table 5.1; defaults as in repliclust 1.0.0)."""

    n_clusters: int = 6
    dim: int = 2
    n_samples: int = 500
    aspect_ref: float = 1.5
    aspect_maxmin: float = 2.0
    radius_maxmin: float = 3.0
    imbalance_ratio: float = 2.0
    max_overlap: float = 0.05
    min_overlap: float = 1e-3
    distributions: list[str] = field(default_factory=lambda: list(D2))
    distribution_proportions: list[float] | None = None
    scale: float = 1.0
    name: str = "archetype"
    packing: float = 0.1
    linear_penalty_weight: float = 0.01
    learning_rate: float = 0.5
    overlap_mode: str = "auto"
    aspect_semantics: str = "thesis"
    independent_ranks: bool = False

    def __post_init__(self) -> None:
        for nm, lo in (("n_clusters", 1), ("dim", 1), ("n_samples", 1)):
            v = getattr(self, nm)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ValueError(f"{nm} must be an integer >= {lo}, got {v!r}")
        if self.n_samples < self.n_clusters:
            raise ValueError(f"n_samples ({self.n_samples}) must be >= n_clusters ({self.n_clusters})")
        for nm in ("aspect_ref", "aspect_maxmin", "radius_maxmin", "imbalance_ratio"):
            v = getattr(self, nm)
            if not (isinstance(v, (int, float, np.number)) and np.isfinite(v) and v >= 1):
                raise ValueError(f"{nm} must be a number >= 1, got {v!r}")
        for nm in ("max_overlap", "min_overlap"):
            v = getattr(self, nm)
            if not (isinstance(v, (int, float, np.number)) and 0 < v < 1):
                raise ValueError(f"{nm} must lie in (0, 1), got {v!r}")
        if not self.min_overlap < self.max_overlap:
            raise ValueError(f"min_overlap ({self.min_overlap}) must be < max_overlap ({self.max_overlap})")
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"scale must be > 0, got {self.scale!r}")
        if isinstance(self.distributions, str):
            self.distributions = [self.distributions]
        bad = [d for d in self.distributions if d not in FAMILIES]
        if not self.distributions or bad:
            raise ValueError(f"distributions: unknown families {bad}; supported: {list(FAMILIES)}")
        if self.overlap_mode not in ("auto", "lda", "c2c"):
            raise ValueError(f"overlap_mode must be 'auto', 'lda' or 'c2c', got {self.overlap_mode!r}")
        if self.aspect_semantics not in ("thesis", "package"):
            raise ValueError(f"aspect_semantics must be 'thesis' or 'package', got {self.aspect_semantics!r}")

    @property
    def resolved_mode(self) -> str:
        """'auto' means LDA if k·p ≤ 10000 else C2C (Table 5.1)."""
        if self.overlap_mode != "auto":
            return self.overlap_mode
        return "lda" if self.n_clusters * self.dim <= 10000 else "c2c"

    def describe(self) -> dict[str, Any]:
        """The archetype's parameters as a dict (like repliclust's ``describe()``)."""
        return asdict(self)

    def sample_hyperparams(self, n: int, rng: np.random.Generator) -> list["Archetype"]:
        """n copies with ``n_clusters``, ``n_samples`` and ``dim`` drawn from Poisson laws centred on the
        current values (§5.3 [L1433]), redrawn until k ∈ [1, 30], n ∈ [10k, 1000k] and p ∈ [2, 50].

        Unlike repliclust 1.0.0 (global ``np.random``) the draws use the given generator.
        """
        if isinstance(n, bool) or int(n) != n or n < 1:
            raise ValueError(f"n must be an integer >= 1, got {n!r}")
        out = []
        while len(out) < n:
            k = int(rng.poisson(self.n_clusters))
            m = int(rng.poisson(self.n_samples))
            p = int(rng.poisson(self.dim))
            if 1 <= k <= 30 and 10 * k <= m <= 1000 * k and 2 <= p <= 50:
                out.append(Archetype(**{**self.describe(), "n_clusters": k, "n_samples": m, "dim": p}))
        return out

    @classmethod
    def from_params(cls, params: dict[str, Any], **overrides: Any) -> "Archetype":
        """Build from a dict (e.g. an NL-layer reply); unknown keys raise ``ValueError``."""
        allowed = set(cls.__dataclass_fields__)
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise ValueError(f"unknown archetype parameters {unknown}")
        return cls(**{**params, **overrides})


@dataclass
class MixtureModel:
    """A mixture model (App. 4B): centers μ_j, orthonormal axes U_j (rows), axis lengths σ_j, families."""

    centers: np.ndarray  # (k, p)
    axes: np.ndarray  # (k, p, p), rows are principal axes
    lengths: np.ndarray  # (k, p) axis standard deviations
    families: list[str]
    group_sizes: np.ndarray  # (k,)

    @property
    def k(self) -> int:
        return self.centers.shape[0]

    @property
    def dim(self) -> int:
        return self.centers.shape[1]

    @property
    def covariances(self) -> np.ndarray:
        """Σ_j = U_jᵀ diag(σ_j²) U_j (computed once; the model's axes and lengths are not meant to change)."""
        cached = self.__dict__.get("_covariances")
        if cached is None or cached.shape != (self.k, self.dim, self.dim):
            cached = covariance_matrices(self.axes, self.lengths)
            self.__dict__["_covariances"] = cached
        return cached

    def pairwise_overlaps(self, mode: str = "lda") -> np.ndarray:
        return pairwise_overlaps(self.centers, self.covariances, mode)

    def sample_data(self, rng: np.random.Generator, group_sizes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Draw X (n×p) and labels y: x = μ + r·(u ⊙ σ)U with u uniform on the sphere (§5.3)."""
        sizes = self.group_sizes if group_sizes is None else np.asarray(group_sizes, dtype=int)
        Xs, ys = [], []
        for j in range(self.k):
            n = int(sizes[j])
            u = rng.standard_normal((n, self.dim))
            u /= np.linalg.norm(u, axis=1, keepdims=True)
            r = sample_radial(self.families[j], self.dim, n, rng)
            Xs.append(self.centers[j] + (r[:, None] * u * self.lengths[j]) @ self.axes[j])
            ys.append(np.full(n, j))
        return np.concatenate(Xs), np.concatenate(ys)


def covariance_matrices(axes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Σ_j = U_jᵀ diag(σ_j²) U_j for a stack of axes (k, p, p; rows are axes) and lengths (k, p).

    One batched matrix product (BLAS), O(k·p³) like the three-index einsum it replaces but ~100×
    faster at p = 500.
    """
    axes = np.asarray(axes, dtype=float)
    lengths = np.asarray(lengths, dtype=float)
    S = np.swapaxes(axes, 1, 2) @ (lengths[:, :, None] ** 2 * axes)
    return 0.5 * (S + np.swapaxes(S, 1, 2))


def random_axes(k: int, p: int, rng: np.random.Generator) -> np.ndarray:
    """k Haar-random orthogonal p×p matrices (scipy.stats.ortho_group)."""
    if p == 1:
        return np.ones((k, 1, 1))
    return ortho_group.rvs(p, size=k, random_state=rng).reshape(k, p, p)


def sample_mixture_model(arch: Archetype, rng: np.random.Generator) -> MixtureModel:
    """Draw a mixture model from an archetype: max-min radii/aspects/lengths/sizes, axes, centers."""
    k, p = arch.n_clusters, arch.dim
    sem: AspectSemantics = arch.aspect_semantics  # type: ignore[assignment]
    radii = sample_radii(k, arch.scale, arch.radius_maxmin, rng)
    aspects = sample_aspects(k, arch.aspect_ref, arch.aspect_maxmin, rng, sem)
    sizes = sample_group_sizes(arch.n_samples, k, arch.imbalance_ratio, rng)
    if arch.independent_ranks:
        radii, aspects, sizes = rng.permutation(radii), rng.permutation(aspects), rng.permutation(sizes)
    lengths = np.stack([rng.permutation(sample_axis_lengths(radii[j], aspects[j], p, rng)) for j in range(k)])
    axes = random_axes(k, p, rng)
    families = assign_families(k, arch.distributions, arch.distribution_proportions, rng)
    covs = covariance_matrices(axes, lengths)
    placed = place_centers(
        covs,
        arch.max_overlap,
        arch.min_overlap,
        rng,
        scale=arch.scale,
        packing=arch.packing,
        mode=arch.resolved_mode,
        learning_rate=arch.learning_rate,
        linear_penalty_weight=arch.linear_penalty_weight,
    )
    model = MixtureModel(placed.centers, axes, lengths, families, sizes)
    model.__dict__["_covariances"] = covs
    return model


def synthesize(arch: Archetype, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, MixtureModel]:
    """One data set (X, y) and its mixture model from an archetype."""
    model = sample_mixture_model(arch, rng)
    X, y = model.sample_data(rng)
    return X, y, model


BENCHMARK_DESCRIPTIONS = [
    "twelve clusters of different distributions",
    "twelve clusters of different distributions and high class imbalance",
    "seven highly separated clusters in 10D with very different shapes",
    "seven clusters in 10D with very different shapes and significant overlap",
    "four clusters in 100D with 100 samples each",
    "four clusters in 100D with 1000 samples each",
]


def _b(name, k, p, n, aref, amm, rmm, imb, mx, mn, dists):
    return dict(
        name=name, n_clusters=k, dim=p, n_samples=n, aspect_ref=aref, aspect_maxmin=amm, radius_maxmin=rmm,
        imbalance_ratio=imb, max_overlap=mx, min_overlap=mn, distributions=list(dists),
    )


# The six archetypes exactly as the thesis prints the LLM's output (§5.4, [L1614–1671]).
BENCHMARK_ARCHETYPE_PARAMS: list[dict[str, Any]] = [
    _b("twelve_clusters_different_distributions", 12, 2, 1200, 1.5, 2, 3, 2, 0.05, 0.001, D5),
    _b("twelve_different_distributions_high_class_imbalance", 12, 2, 1200, 1.5, 2, 3, 5, 0.05, 0.001, D5),
    _b("seven_highly_separated_10d_very_different_shapes", 7, 10, 700, 1.5, 3.0, 3.0, 2, 0.0001, 1e-05, D2),
    _b("seven_very_different_shapes_significant_overlap_10d", 7, 10, 700, 1.5, 3.0, 3, 2, 0.2, 0.1, D2),
    _b("four_clusters_100d_100_samples_each", 4, 100, 400, 1.5, 2, 3, 2, 0.05, 0.001, D2),
    _b("four_clusters_100d_1000_samples_each", 4, 100, 4000, 1.0, 1.0, 3, 2, 0.05, 0.001, D2),
]


def curve_archetype_params(p: int, max_overlap: float = 0.05) -> dict[str, Any]:
    """Fig 5.9/5.10 archetype "two clusters with very different shapes in pD" with min = max/10."""
    return _b(f"two_very_different_shapes_{p}d", 2, p, 200, 1.5, 3.0, 3, 2, max_overlap, max_overlap / 10, D2)


def benchmark_archetypes(**overrides: Any) -> list[Archetype]:
    """The six benchmark archetypes as :class:`Archetype` objects (overrides e.g. aspect_semantics)."""
    return [Archetype.from_params(dict(d), **overrides) for d in BENCHMARK_ARCHETYPE_PARAMS]
