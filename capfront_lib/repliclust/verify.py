"""Checks of the thesis's exact statements (§5.2–5.3, App. 4A/4C, Fig 5.2/5.6), each computed by an
independent route: brute-force optimisation instead of the Anderson–Bahadur path, Monte Carlo instead
of the quantile solver, the stereographic projection instead of its inverse, hand-written readings of
the verbal descriptions instead of the language model.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np
from scipy import optimize, stats

from .archetype import Archetype, sample_mixture_model
from .centers import overlap_loss
from .distributions import FAMILIES, QUANTILE_LEVEL, sample_radial
from .maxmin import aspect_bounds, sample_aspects, sample_axis_lengths, sample_group_sizes, sample_radii
from .overlap import c2c_overlap, lda_overlap, overlap_from_q
from .postprocess import wrap_around_sphere

# ---------------------------------------------------------------------------------------------
# max-min sampling (§5.2, App. 4A, Table .4)


def maxmin_invariants(rng: np.random.Generator, n_draws: int = 200) -> dict[str, Any]:
    """Largest deviations from the location constraints of Table .4 over random archetype settings.

    For each draw: k ∈ [2, 30], ratios in [1, 6]; aspects (thesis reading, feasible settings only),
    radii, axis lengths (p ∈ [2, 50]) and group sizes. Returns the largest relative deviation of each
    geometric mean from its reference, whether sizes always sum to n, and the largest |max/min − ratio|
    of radii and of group sizes (sizes allow ±1 for rounding to integers).
    """
    dev = dict(aspect_geomean=0.0, aspect_ratio=0.0, radius_geomean=0.0, radius_ratio=0.0, length_geomean=0.0,
               length_ratio=0.0)
    sizes_sum_ok = True
    size_ratio_ok = True
    for _ in range(n_draws):
        k = int(rng.integers(2, 31))
        ref = float(rng.uniform(1.0, 4.0))
        m = float(rng.uniform(1.0, min(6.0, ref * ref)))  # feasible: ref/√m ≥ 1
        a = sample_aspects(k, ref, m, rng, "thesis")
        dev["aspect_geomean"] = max(dev["aspect_geomean"], abs(np.exp(np.mean(np.log(a))) / ref - 1))
        dev["aspect_ratio"] = max(dev["aspect_ratio"], abs(a.max() / a.min() / m - 1))
        scale, rm = float(rng.uniform(0.5, 3.0)), float(rng.uniform(1.0, 6.0))
        r = sample_radii(k, scale, rm, rng)
        dev["radius_geomean"] = max(dev["radius_geomean"], abs(np.exp(np.mean(np.log(r))) / scale - 1))
        dev["radius_ratio"] = max(dev["radius_ratio"], abs(r.max() / r.min() / rm - 1))
        p = int(rng.integers(2, 51))
        L = sample_axis_lengths(r[0], a[0], p, rng)
        dev["length_geomean"] = max(dev["length_geomean"], abs(np.exp(np.mean(np.log(L))) / r[0] - 1))
        dev["length_ratio"] = max(dev["length_ratio"], abs(L.max() / L.min() / a[0] - 1))
        n = int(rng.integers(10 * k, 200 * k))
        imb = float(rng.uniform(1.0, 6.0))
        s = sample_group_sizes(n, k, imb, rng)
        sizes_sum_ok &= int(s.sum()) == n
        # rounding to integers moves each size by < 1: the ratio stays within the rounded extremes
        lo, hi = s.min(), s.max()
        size_ratio_ok &= (hi - 1) / (lo + 1) <= imb * (1 + 1e-12) and (hi + 1) / max(lo - 1, 1e-12) >= imb * (1 - 1e-12)
    worst = max(dev.values())
    return dict(**dev, sizes_sum_ok=bool(sizes_sum_ok), size_ratio_ok=bool(size_ratio_ok), worst=float(worst),
                holds=bool(worst < 1e-9 and sizes_sum_ok and size_ratio_ok), draws=n_draws)


def package_aspect_ratio(aspect_ref: float = 1.5, aspect_maxmin: float = 2.0) -> dict[str, float]:
    """Largest / smallest aspect ratio that the package's reading of ``aspect_maxmin`` produces
    (its endpoints are always drawn), next to the thesis's reading (Table 5.1: the ratio itself)."""
    lo_p, hi_p = aspect_bounds(aspect_ref, aspect_maxmin, "package")
    lo_t, hi_t = aspect_bounds(aspect_ref, aspect_maxmin, "thesis")
    return dict(package_lo=lo_p, package_hi=hi_p, package_ratio=hi_p / lo_p, thesis_ratio=hi_t / lo_t)


# ---------------------------------------------------------------------------------------------
# radial distributions (§5.3, Fig 5.2)


def radial_scale_mc(rng: np.random.Generator, n: int = 1_000_000) -> dict[str, dict[str, float]]:
    """Per family, the Monte Carlo share of |Z|/q ≤ 1 (q from the quantile solver) with its Clopper–Pearson
    interval, Bonferroni-adjusted over the families (simultaneous 95 %)."""
    from .distributions import abs_quantile
    from .evidence import clopper_pearson

    out = {}
    alpha = 0.05 / len(FAMILIES)
    for name, fam in FAMILIES.items():
        z = np.abs(fam.draw(rng, (n,))) / abs_quantile(name)
        k = int(np.sum(z <= 1.0))
        lo, hi = clopper_pearson(k, n, alpha)
        out[name] = dict(share=k / n, lo=lo, hi=hi, n=n)
    return out


def normal_abs_one() -> float:
    """P(|N(0,1)| ≤ 1) = Φ(1) − Φ(−1), the normal's native scale the thesis matches (≈ 0.682)."""
    return float(stats.norm.cdf(1) - stats.norm.cdf(-1))


HEAVY_TAILED = ("standard_t", "pareto", "f", "lognormal")
VANISHING_AT_ZERO = ("f", "chisquare", "gamma", "weibull", "beta")
BOUNDED = ("uniform", "beta")


def radial_shapes(rng: np.random.Generator, n: int = 200_000, p: int = 2) -> dict[str, Any]:
    """Fig 5.2's three observations on 2-D clusters, by Monte Carlo of the radius r (normal as reference):

    - heavy tails → far outliers: each heavy-tailed family's 99.9th percentile of r exceeds the normal's;
    - bounded support → crisp boundaries: r never exceeds √p·max|Z|/q, a radius the normal exceeds
      with positive probability (χ² tail, computed exactly);
    - a density vanishing at 0 → a hole: fewer points with r < 0.25 than the normal has (ratio < 1).
    """
    from .distributions import abs_quantile

    r = {name: sample_radial(name, p, n, rng) for name in FAMILIES}
    q_norm = np.quantile(r["normal"], 0.999)
    heavy = {f: float(np.quantile(r[f], 0.999) / q_norm) for f in HEAVY_TAILED}
    bound = {}
    for f in BOUNDED:
        zmax = float(FAMILIES[f].dist.support()[1])
        b = np.sqrt(p) * zmax / abs_quantile(f)
        # the normal radius is ‖Z‖/q with Z ~ N(0, I_p): P(r > b) = P(χ²_p > (b q)²), positive for every b
        beyond = float(stats.chi2.sf((b * abs_quantile("normal")) ** 2, p))
        bound[f] = dict(bound=b, max_r=float(r[f].max()), normal_beyond=beyond)
    hole_ref = float(np.mean(r["normal"] < 0.25))
    holes = {f: float(np.mean(r[f] < 0.25) / hole_ref) for f in VANISHING_AT_ZERO}
    ok = (all(v > 1 for v in heavy.values())
          and all(d["max_r"] <= d["bound"] and d["normal_beyond"] > 0 for d in bound.values())
          and all(v < 1 for v in holes.values()))
    return dict(holds=bool(ok), heavy=heavy, bounded=bound, holes=holes, n=n)


# ---------------------------------------------------------------------------------------------
# overlap (Theorem 6, App. 4C)


def _spd(rng: np.random.Generator, p: int, cond: float = 10.0) -> np.ndarray:
    U = stats.ortho_group.rvs(p, random_state=rng) if p > 1 else np.ones((1, 1))
    ev = np.exp(rng.uniform(0, np.log(cond), p))
    return U.T @ np.diag(ev) @ U


def brute_force_overlap(mu1, mu2, S1, S2, n_angles: int = 4096) -> float:
    """α* = 2(1 − Φ(max_a q(a))) for 2-D clusters by brute force over the axis direction: q on a grid of
    ``n_angles`` angles, then a bounded scalar search around the best one (independent of Anderson–Bahadur)."""
    d = np.asarray(mu2, float) - np.asarray(mu1, float)
    S1, S2 = np.asarray(S1, float), np.asarray(S2, float)
    if d.shape != (2,):
        raise ValueError("brute_force_overlap searches 2-D axes only")

    def q(theta):
        a = np.stack([np.cos(theta), np.sin(theta)], axis=-1)
        return (a @ d) / (np.sqrt(np.einsum("...i,ij,...j->...", a, S1, a)) + np.sqrt(np.einsum("...i,ij,...j->...", a, S2, a)))

    grid = np.linspace(0, 2 * np.pi, n_angles, endpoint=False)
    i = int(np.argmax(q(grid)))
    h = 2 * np.pi / n_angles
    res = optimize.minimize_scalar(lambda t: -q(np.array(t)), bounds=(grid[i] - h, grid[i] + h), method="bounded",
                                   options=dict(xatol=1e-13))
    return float(overlap_from_q(max(-res.fun, q(grid[i]))))


def theorem6_identities(rng: np.random.Generator, n: int = 200) -> dict[str, float]:
    """Largest |α_LDA − α*| when Σ1 = λΣ2 and largest |α_C2C − α*| when both Σ are multiples of I, with
    α* by brute force over 2-D axes; and, as a control, the largest gap for general Σ1, Σ2."""
    lda_gap = c2c_gap = general = 0.0
    for _ in range(n):
        S = _spd(rng, 2)
        lam = float(rng.uniform(0.2, 5.0))
        m1, m2 = rng.normal(size=2), 2 * rng.normal(size=2)
        lda_gap = max(lda_gap, abs(lda_overlap(m1, m2, lam * S, S) - brute_force_overlap(m1, m2, lam * S, S)))
        s1, s2 = rng.uniform(0.3, 3.0, 2)
        I = np.eye(2)
        c2c_gap = max(c2c_gap, abs(c2c_overlap(m1, m2, s1 * I, s2 * I) - brute_force_overlap(m1, m2, s1 * I, s2 * I)))
        S1, S2 = _spd(rng, 2, 20.0), _spd(rng, 2, 20.0)
        general = max(general, abs(lda_overlap(m1, m2, S1, S2) - brute_force_overlap(m1, m2, S1, S2)))
    return dict(lda_proportional=float(lda_gap), c2c_isotropic=float(c2c_gap), lda_general=float(general), n=n, p=2)


# ---------------------------------------------------------------------------------------------
# the overlap loss (eq. 5.8)


def loss_zero_iff_constraints(rng: np.random.Generator, n: int = 2000, k: int = 5) -> dict[str, Any]:
    """On random separation matrices: ℓ_i = 0 for every i exactly when all q_ij ≥ q_min and every
    cluster's smallest q_ij ≤ q_max (the constraints, written out independently of eq. 5.8)."""
    q_min, q_max, lam = 1.5, 3.0, 0.01
    agree = 0
    zeros = 0
    for _ in range(n):
        Q = rng.uniform(0.5, 4.5, (k, k))
        Q = np.triu(Q, 1)
        Q = Q + Q.T
        np.fill_diagonal(Q, np.inf)
        if rng.random() < 0.5:  # make feasible configurations common
            Q = np.where(np.isinf(Q), Q, np.clip(Q, q_min, None))
        off = ~np.eye(k, dtype=bool)
        feasible = bool(np.all(Q[off] >= q_min) and np.all(np.min(np.where(off, Q, np.inf), axis=1) <= q_max))
        zero = bool(np.all(overlap_loss(Q, q_min, q_max, lam) == 0.0))
        agree += feasible == zero
        zeros += zero
    return dict(holds=agree == n, agree=agree, n=n, zero_loss=zeros)


# ---------------------------------------------------------------------------------------------
# post-processing and reproducibility


def wrap_sphere_check(rng: np.random.Generator, n: int = 2000, p: int = 3) -> dict[str, Any]:
    """wrap_around_sphere: p+1 columns, unit norms, upper hemisphere, and the stereographic projection
    x = y[:p]/(1 + y_p) gives back the (scaled) input."""
    X = rng.normal(size=(n, p))
    Y = wrap_around_sphere(X)
    back = Y[:, :p] / (1 + Y[:, p:])
    scaled = X / np.max(np.linalg.norm(X, axis=1))
    err = float(np.max(np.abs(back - scaled)))
    norm_err = float(np.max(np.abs(np.linalg.norm(Y, axis=1) - 1)))
    ok = Y.shape == (n, p + 1) and norm_err < 1e-12 and err < 1e-12 and bool(np.all(Y[:, -1] >= 0))
    return dict(holds=bool(ok), norm_err=norm_err, inverse_err=err)


def reproducible(params: dict, seed: int) -> dict[str, Any]:
    """The same seed gives the same data set twice; another seed gives another one."""
    arch = Archetype.from_params(params)
    X1, y1 = sample_mixture_model(arch, np.random.default_rng(seed)).sample_data(np.random.default_rng(seed + 1))
    X2, y2 = sample_mixture_model(arch, np.random.default_rng(seed)).sample_data(np.random.default_rng(seed + 1))
    X3, _ = sample_mixture_model(arch, np.random.default_rng(seed + 7)).sample_data(np.random.default_rng(seed + 8))
    same = bool(np.array_equal(X1, X2) and np.array_equal(y1, y2))
    differs = not np.array_equal(X1, X3)
    return dict(holds=same and differs, same=same, differs=differs)


# ---------------------------------------------------------------------------------------------
# natural language: do the printed archetypes say what the descriptions say?

_WORDS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())}
DEFAULTS = Archetype().describe()


def description_checks(description: str, params: dict) -> list[tuple[str, bool, str]]:
    """Read a verbal description by hand-written rules (the parameter glossary and rules of the
    thesis's prompt, App. 4F) and check a printed archetype against every field the description states.

    Returns (field, ok, what the description asks). Fields the description does not mention are not
    checked. Always checked: min_overlap < max_overlap (the prompt's rule).
    """
    t = description.lower()
    p = {**DEFAULTS, **params}
    out: list[tuple[str, bool, str]] = []
    m = re.match(r"\s*(\d+|" + "|".join(_WORDS) + r")\b", t)
    if m:
        k = int(m.group(1)) if m.group(1).isdigit() else _WORDS[m.group(1)]
        out.append(("n_clusters", p["n_clusters"] == k, f"{k} clusters"))
    m = re.search(r"in (\d+)d\b", t)
    if m:
        out.append(("dim", p["dim"] == int(m.group(1)), f"{m.group(1)} dimensions"))
    m = re.search(r"(\d+) samples each", t)
    if m:
        out.append(("n_samples", p["n_samples"] == p["n_clusters"] * int(m.group(1)), f"{m.group(1)} points per cluster"))
    if re.search(r"highly separated|well[- ]separated|far apart", t):
        out.append(("max_overlap", p["max_overlap"] <= 1e-4, "well separated: max_overlap ≤ 10⁻⁴ (glossary)"))
    if "significant overlap" in t:
        out.append(("max_overlap", 0.1 <= p["max_overlap"] <= 0.2, "significant overlap: max_overlap in [0.1, 0.2] (glossary)"))
    if "class imbalance" in t:
        want_high = "high" in t
        ok = p["imbalance_ratio"] > DEFAULTS["imbalance_ratio"] if want_high else p["imbalance_ratio"] > 1
        out.append(("imbalance_ratio", bool(ok), "high class imbalance: imbalance_ratio above the default 2"))
    if "different distributions" in t:
        out.append(("distributions", len(p["distributions"]) >= 2, "different distributions: at least two families"))
    if "very different shapes" in t:
        out.append(("aspect_maxmin", p["aspect_maxmin"] > DEFAULTS["aspect_maxmin"], "very different shapes: aspect_maxmin above the default 2"))
    out.append(("min_overlap", p["min_overlap"] < p["max_overlap"], "min_overlap < max_overlap (prompt rule)"))
    return out


def printed_archetypes_match(items: Sequence[tuple[str, dict]]) -> dict[str, Any]:
    """Check every (description, printed archetype) pair; holds when every stated field matches."""
    rows = []
    for desc, params in items:
        for field, ok, want in description_checks(desc, params):
            rows.append(dict(description=desc, field=field, asked=want, printed=params.get(field, DEFAULTS.get(field)), ok=bool(ok)))
    return dict(holds=all(r["ok"] for r in rows), rows=rows, checked=len(rows))
