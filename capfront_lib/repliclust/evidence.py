"""The measured value, its interval and its sample size for each registered claim of the chapter.

Every function turns a study's raw output (one row per data set, pair, model, ...) into an
:class:`Evidence` that the notebook hands to the claims ledger (``ledger.measure(cid, **ev.kw())``);
the verdict itself is computed by ``capfront_lib.core.claims.decide``. Functions return ``None`` when
the run did not produce what the claim needs (an algorithm or archetype left out), and the notebook
then records the row with ``ledger.skip`` and the reason.

Intervals:

- benchmark statistics: a stratified paired bootstrap — data sets are resampled within each
  (convexity, archetype) stratum, every algorithm keeps its scores on the resampled data sets — over
  per-stratum means, so every statistic that is a function of those means gets a percentile interval;
- comparisons with the thesis's printed numbers: our stratified mean ± 1.96 × √(SE_ours² + SE_thesis²),
  where SE_thesis of an average over archetypes is √(Σ SE_a²)/A from the printed per-archetype SEs;
- proportions: Clopper–Pearson; correlations and medians over pairs: bootstrap over pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .experiments import MAIN4, loss_curve_fits

Z95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class Evidence:
    """A measured value with its two-sided 95 % interval and the number of replicates behind it."""

    value: float | bool
    ci: tuple[float, float] | None = None
    n: int | None = None
    note: str = ""
    display: str | None = None  # how the ledger shows the value (default: the number and its interval)

    def kw(self) -> dict:
        """Keyword arguments for ``Ledger.measure``."""
        out: dict = dict(value=self.value, note=self.note)
        if self.display is not None:
            out["display"] = self.display
        if self.ci is not None:
            out["ci"] = (float(self.ci[0]), float(self.ci[1]))
        if self.n is not None:
            out["n"] = int(self.n)
        return out


def _pct(x: np.ndarray) -> tuple[float, float]:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(np.quantile(x, 0.025)), float(np.quantile(x, 0.975))


def _clamp_ci(value: float, ci: tuple[float, float]) -> tuple[float, float]:
    """A percentile interval always contains the point estimate (guards discrete statistics)."""
    return min(ci[0], value), max(ci[1], value)


def clopper_pearson(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact binomial interval for k successes in n trials."""
    lo = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


# ---------------------------------------------------------------------------------------------
# benchmark: per-stratum means and their stratified paired bootstrap


@dataclass
class StratifiedScores:
    """Scores of one metric as an array V[stratum, data set, algorithm] (NaN where missing).

    A stratum is one (convexity, archetype); algorithms are columns; every algorithm was run on the
    same data sets, which the bootstrap keeps paired.
    """

    strata: list[tuple[str, int]]
    algorithms: list[str]
    values: np.ndarray  # (S, R, A)

    @classmethod
    def from_benchmark(cls, bench: pd.DataFrame, metric: str, algorithms: Sequence[str] | None = None) -> "StratifiedScores":
        algs = list(algorithms) if algorithms is not None else [a for a in MAIN4 if a in set(bench.algorithm)]
        b = bench[bench.algorithm.isin(algs)]
        strata = sorted({(c, int(a)) for c, a in zip(b.convexity, b.archetype)})
        R = int(b.groupby(["convexity", "archetype"]).rep.nunique().max()) if len(b) else 0
        V = np.full((len(strata), R, len(algs)), np.nan)
        s_index = {s: i for i, s in enumerate(strata)}
        a_index = {a: i for i, a in enumerate(algs)}
        for row in b.itertuples(index=False):
            V[s_index[(row.convexity, int(row.archetype))], int(row.rep), a_index[row.algorithm]] = getattr(row, metric)
        return cls(strata, algs, V)

    @property
    def reps(self) -> int:
        """Data sets per stratum (the smallest count with a score, over strata and algorithms)."""
        if self.values.size == 0:
            return 0
        return int(np.min(np.sum(np.isfinite(self.values), axis=1)))

    def reps_of(self, rows: Sequence[int] | None = None, cols: Sequence[int] | None = None) -> int:
        """Scored data sets per stratum, the smallest over the given strata and algorithms."""
        V = self.values
        if rows is not None:
            V = V[list(rows)]
        if cols is not None:
            V = V[:, :, list(cols)]
        if V.size == 0:
            return 0
        return int(np.min(np.sum(np.isfinite(V), axis=1)))

    def means(self) -> np.ndarray:
        with np.errstate(invalid="ignore"), _quiet():
            return np.nanmean(self.values, axis=1)  # (S, A)

    def boot_means(self, n_boot: int, seed: int) -> np.ndarray:
        """(B, S, A) per-stratum means of bootstrap resamples of the data sets within each stratum."""
        rng = np.random.default_rng(seed)
        S, R, A = self.values.shape
        idx = rng.integers(0, R, size=(n_boot, S, R))
        V = self.values[np.arange(S)[None, :, None], idx]  # (B, S, R, A)
        with np.errstate(invalid="ignore"), _quiet():
            return np.nanmean(V, axis=2)

    def stratum(self, convexity: str, archetype: int) -> int | None:
        try:
            return self.strata.index((convexity, int(archetype)))
        except ValueError:
            return None

    def col(self, algorithm: str) -> int | None:
        return self.algorithms.index(algorithm) if algorithm in self.algorithms else None

    def archetypes(self, convexity: str) -> list[int]:
        return [a for c, a in self.strata if c == convexity]


class _quiet:
    def __enter__(self):
        import warnings

        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


def bootstrap_statistic(sc: StratifiedScores, stat: Callable[[np.ndarray], np.ndarray], n_boot: int, seed: int,
                        note: str = "", rows: Sequence[int] | None = None, cols: Sequence[int] | None = None) -> Evidence:
    """A statistic of the per-stratum means (vectorised over a leading axis) with its percentile interval.

    ``rows``/``cols`` name the strata and algorithms the statistic uses; n is the smallest number of
    scored data sets among them.
    """
    value = float(stat(sc.means()[None])[0])
    boots = stat(sc.boot_means(n_boot, seed))
    return Evidence(value, _clamp_ci(value, _pct(boots)), sc.reps_of(rows, cols), note)


def _rows(sc: StratifiedScores, convexity: str, archetypes: Iterable[int] | None = None) -> list[int]:
    arch = sc.archetypes(convexity) if archetypes is None else [a for a in archetypes if sc.stratum(convexity, a) is not None]
    return [sc.stratum(convexity, a) for a in arch]  # type: ignore[misc]


def rank_margin(sc: StratifiedScores, algorithm: str, convexity: str, n_boot: int, seed: int,
                archetypes: Iterable[int] | None = None) -> Evidence | None:
    """Average over archetypes of ``algorithm`` minus the best competitor's average ("X is best")."""
    j = sc.col(algorithm)
    rows = _rows(sc, convexity, archetypes)
    others = [sc.col(a) for a in sc.algorithms if a != algorithm]
    if j is None or not rows or not others:
        return None

    def stat(M):
        avg = np.nanmean(M[:, rows, :], axis=1)  # (B, A)
        return avg[:, j] - np.max(avg[:, others], axis=1)

    arch = [sc.strata[r][1] for r in rows]
    return bootstrap_statistic(sc, stat, n_boot, seed, note=f"archetypes {_list(arch)}; best competitor among {', '.join(a for a in sc.algorithms if a != algorithm)}",
                               rows=rows, cols=[j] + others)


def cell_margin(sc: StratifiedScores, algorithm: str, convexity: str, archetype: int, n_boot: int, seed: int,
                competitors: Sequence[str] | None = None) -> Evidence | None:
    """``algorithm`` minus the best of ``competitors`` on one archetype (one stratum)."""
    r = sc.stratum(convexity, archetype)
    j = sc.col(algorithm)
    comp = [sc.col(a) for a in (competitors or [a for a in sc.algorithms if a != algorithm])]
    if r is None or j is None or any(c is None for c in comp) or not comp:
        return None
    return bootstrap_statistic(sc, lambda M: M[:, r, j] - np.max(M[:, r][:, comp], axis=1), n_boot, seed,
                               note=f"archetype {archetype}, {convexity}", rows=[r], cols=[j] + comp)


def max_cell_margin(scores: Sequence[StratifiedScores], algorithm: str, n_boot: int, seed: int,
                    competitors: Sequence[str] | None = None, archetypes: Iterable[int] | None = None) -> Evidence | None:
    """The largest margin of ``algorithm`` over the best competitor across every (metric, convexity,
    archetype) cell ("X is never best": this maximum is below 0). One bootstrap resample is shared by
    all metrics (same data sets)."""
    if not scores:
        return None
    sc0 = scores[0]
    j = sc0.col(algorithm)
    if j is None:
        return None
    comp = [sc0.col(a) for a in (competitors or [a for a in sc0.algorithms if a != algorithm])]
    if any(c is None for c in comp) or not comp:
        return None
    rows = list(range(len(sc0.strata))) if archetypes is None else [i for i, (c, a) in enumerate(sc0.strata) if a in set(archetypes)]
    if not rows:
        return None

    def stat_all(Ms):
        return np.max(np.stack([M[:, rows, j] - np.max(M[:, rows][:, :, comp], axis=2) for M in Ms]), axis=(0, 2))

    value = float(stat_all([sc.means()[None] for sc in scores])[0])
    rng_seed = seed
    S, R, A = sc0.values.shape
    rng = np.random.default_rng(rng_seed)
    idx = rng.integers(0, R, size=(n_boot, S, R))
    boots = []
    for sc in scores:
        V = sc.values[np.arange(S)[None, :, None], idx]
        with np.errstate(invalid="ignore"), _quiet():
            boots.append(np.nanmean(V, axis=2))
    bvals = stat_all(boots)
    return Evidence(value, _clamp_ci(value, _pct(bvals)), min(sc.reps_of(rows, [j] + comp) for sc in scores),
                    note=f"{len(rows)} archetype × convexity cells × {len(scores)} metrics")


def contrast(sc: StratifiedScores, convexity: str, archetype: int, better: Sequence[str], worse: Sequence[str],
             n_boot: int, seed: int) -> Evidence | None:
    """On one archetype: the weakest of ``better`` minus the strongest of ``worse``."""
    r = sc.stratum(convexity, archetype)
    b = [sc.col(a) for a in better]
    w = [sc.col(a) for a in worse]
    if r is None or any(c is None for c in b + w):
        return None
    return bootstrap_statistic(sc, lambda M: np.min(M[:, r][:, b], axis=1) - np.max(M[:, r][:, w], axis=1), n_boot, seed,
                               note=f"archetype {archetype}, {convexity}: min({', '.join(better)}) − max({', '.join(worse)})",
                               rows=[r], cols=b + w)


def archetype_gain(sc: StratifiedScores, algorithm: str, convexity: str, hi: int, lo: int, n_boot: int, seed: int) -> Evidence | None:
    """``algorithm`` on archetype ``hi`` minus on archetype ``lo`` (independent data sets)."""
    r1, r0, j = sc.stratum(convexity, hi), sc.stratum(convexity, lo), sc.col(algorithm)
    if r1 is None or r0 is None or j is None:
        return None
    return bootstrap_statistic(sc, lambda M: M[:, r1, j] - M[:, r0, j], n_boot, seed, note=f"archetype {hi} − archetype {lo}, {convexity}",
                               rows=[r1, r0], cols=[j])


def convexity_drop(sc: StratifiedScores, n_boot: int, seed: int) -> Evidence | None:
    """Smallest, over algorithms, of (convex average − non-convex average) over the archetypes run both ways."""
    conv, nonc = sc.archetypes("convex"), sc.archetypes("nonconvex")
    common = sorted(set(conv) & set(nonc))
    if not common:
        return None
    rc = [sc.stratum("convex", a) for a in common]
    rn = [sc.stratum("nonconvex", a) for a in common]
    return bootstrap_statistic(sc, lambda M: np.min(np.nanmean(M[:, rc], axis=1) - np.nanmean(M[:, rn], axis=1), axis=1),
                               n_boot, seed, note=f"archetypes {_list(common)}; smallest drop over {', '.join(sc.algorithms)}",
                               rows=rc + rn)


def _list(xs: Iterable[int]) -> str:
    xs = list(xs)
    return ", ".join(str(x) for x in xs) if xs else "none"


# ---------------------------------------------------------------------------------------------
# benchmark vs the thesis's printed tables (like with like: the same archetypes on both sides)


def thesis_average(thesis: pd.DataFrame, metric: str, convexity: str, archetypes: Sequence[int],
                   algorithm: str | None = None) -> tuple[float, float]:
    """Mean of the thesis's per-archetype cells over ``archetypes`` and its SE √(Σ SE_a²)/A."""
    t = thesis[(thesis.metric == metric) & (thesis.convexity == convexity) & thesis.archetype.isin([str(a) for a in archetypes])]
    if algorithm is not None:
        t = t[t.algorithm == algorithm]
    if len(t) != len(archetypes):
        raise ValueError(f"thesis table lacks cells for {metric}/{convexity}/{algorithm} archetypes {list(archetypes)}")
    return float(t.value.mean()), float(np.sqrt(np.sum(t.se.to_numpy() ** 2)) / len(t))


def ours_average(bench: pd.DataFrame, metric: str, convexity: str, archetypes: Sequence[int],
                 algorithm: str) -> tuple[float, float, int]:
    """Our mean over ``archetypes`` of per-archetype means, its stratified SE, and the smallest n per archetype."""
    b = bench[(bench.algorithm == algorithm) & (bench.convexity == convexity) & bench.archetype.isin(list(archetypes))]
    g = b.groupby("archetype")[metric]
    m, s, n = g.mean(), g.std(ddof=1), g.count()
    if len(m) != len(archetypes) or (n < 1).any():
        raise ValueError(f"benchmark lacks {algorithm}/{convexity}/{metric} for archetypes {list(archetypes)}")
    se = float(np.sqrt(np.sum((s.fillna(np.inf) ** 2 / n).to_numpy())) / len(m))
    return float(m.mean()), se, int(n.min())


def _gap_text(ours: float, theirs: float, d: float, half: float) -> str:
    lo, hi = d - half, d + half
    band = f"[{lo:+.3f}, {hi:+.3f}]" if np.isfinite(half) else "[−∞, ∞]"
    return f"{ours:.3f} vs {theirs:.3f}: Δ {d:+.3f} {band}".replace("-", "−")


def gap_to_thesis(bench: pd.DataFrame, thesis: pd.DataFrame, metric: str, convexity: str, algorithm: str,
                  archetypes: Sequence[int] | None = None) -> Evidence | None:
    """Our average over the archetypes run minus the thesis's average over the same archetypes (Table 5.2/5.3)."""
    b = bench[(bench.algorithm == algorithm) & (bench.convexity == convexity)]
    run = sorted({int(a) for a in b.archetype})
    arch = [a for a in (archetypes if archetypes is not None else run) if a in run]
    if algorithm == "HDBSCAN" and metric in ("AMI", "ARI"):
        # only archetypes where both sides scored points: our per-archetype mean is finite
        finite = b.groupby("archetype")[metric].apply(lambda s: bool(np.isfinite(s).all()))
        arch = [a for a in arch if finite.get(a, False)]
    if not arch:
        return None
    mt, st = thesis_average(thesis, metric, convexity, arch, algorithm if "algorithm" in thesis.columns else None)
    mo, so, n = ours_average(b, metric, convexity, arch, algorithm)
    d = mo - mt
    half = Z95 * float(np.hypot(so, st))  # infinite with one data set per archetype: inconclusive
    note = f"our average minus the thesis's over archetypes {_list(arch)}"
    return Evidence(d, (d - half, d + half), n, note, display=_gap_text(mo, mt, d, half))


def table_rank_holds(thesis52: pd.DataFrame, algorithm: str, metrics: Sequence[str] = ("AMI", "ARI")) -> tuple[bool, list[str]]:
    """Transcription check "``algorithm`` is never best in Table 5.2": (statement holds, cells where it is best)."""
    t = thesis52[thesis52.archetype != "avg"]
    best_cells = []
    for (metric, conv, arch), g in t.groupby(["metric", "convexity", "archetype"]):
        g = g.set_index("algorithm").value
        if g.idxmax() == algorithm and (g.drop(algorithm) < g[algorithm]).all():
            best_cells.append(f"{metric} {conv} archetype {arch}: {g[algorithm]:.3f}")
    return (len(best_cells) == 0), best_cells


# ---------------------------------------------------------------------------------------------
# HDBSCAN (Table 5.3)


def noise_gap_to_thesis(bench: pd.DataFrame, thesis53: pd.DataFrame) -> Evidence | None:
    """Share of noise points, pooled over convex and non-convex data: ours minus the thesis's, on the
    archetypes and convexities this run covered (the thesis's ≈ 60 % is the average of all six)."""
    h = bench[bench.algorithm == "HDBSCAN"]
    if h.empty:
        return None
    ds, ss, dt, st = [], [], [], []
    n = None
    for conv, g in h.groupby("convexity"):
        arch = sorted({int(a) for a in g.archetype})
        mo, so, nn = ours_average(g, "p_noise", conv, arch, "HDBSCAN")
        mt, s_t = thesis_average(thesis53, "p_noise", conv, arch)
        ds.append(mo), ss.append(so), dt.append(mt), st.append(s_t)
        n = nn if n is None else min(n, nn)
    mo, mt = float(np.mean(ds)), float(np.mean(dt))
    se = float(np.hypot(np.sqrt(np.sum(np.square(ss))) / len(ss), np.sqrt(np.sum(np.square(st))) / len(st)))
    d = mo - mt
    return Evidence(d, (d - Z95 * se, d + Z95 * se), n,
                    f"our share minus the thesis's on the same archetypes ({', '.join(sorted(set(h.convexity)))})",
                    display=_gap_text(mo, mt, d, Z95 * se))


def hdbscan_difficulty(bench: pd.DataFrame, n_boot: int, seed: int, hard: Sequence[int] = (4, 5, 6),
                       easy: Sequence[int] = (1, 2, 3)) -> Evidence | None:
    """Convex data: HDBSCAN's mean share of noise on the high-dimensional / overlapping archetypes minus
    on the others (both sides over the archetypes run)."""
    sc = StratifiedScores.from_benchmark(bench, "p_noise", ["HDBSCAN"])
    rh = _rows(sc, "convex", hard)
    re_ = _rows(sc, "convex", easy)
    if not rh or not re_:
        return None
    return bootstrap_statistic(sc, lambda M: np.mean(M[:, rh, 0], axis=1) - np.mean(M[:, re_, 0], axis=1), n_boot, seed,
                               note=f"noise share, archetypes {_list(sc.strata[r][1] for r in rh)} vs {_list(sc.strata[r][1] for r in re_)}",
                               rows=rh + re_)


def hdbscan_vs_best(bench: pd.DataFrame, convexity: str, archetypes: Sequence[int], n_boot: int, seed: int) -> Evidence | None:
    """Smallest, over ``archetypes``, of HDBSCAN's AMI (non-noise points) minus the best Table 5.2 algorithm's AMI."""
    algs = [a for a in MAIN4 if a in set(bench.algorithm)] + ["HDBSCAN"]
    if "HDBSCAN" not in set(bench.algorithm) or len(algs) < 2:
        return None
    sc = StratifiedScores.from_benchmark(bench, "AMI", algs)
    rows = _rows(sc, convexity, archetypes)
    if not rows:
        return None
    j = sc.col("HDBSCAN")
    others = [sc.col(a) for a in algs if a != "HDBSCAN"]
    return bootstrap_statistic(sc, lambda M: np.min(M[:, rows, j] - np.max(M[:, rows][:, :, others], axis=2), axis=1), n_boot, seed,
                               note=f"{convexity} archetypes {_list(sc.strata[r][1] for r in rows)}; HDBSCAN scored on non-noise points only",
                               rows=rows)


# ---------------------------------------------------------------------------------------------
# Fig 5.4


def _boot_index(n: int, n_boot: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def pearson_evidence(df: pd.DataFrame, col: str, n_boot: int, seed: int) -> Evidence:
    """Pearson r of an approximation with the exact overlap (linear scale), bootstrap interval over models."""
    x, y = df[col].to_numpy(float), df["exact"].to_numpy(float)
    value = float(np.corrcoef(x, y)[0, 1])
    idx = _boot_index(x.size, n_boot, seed)
    xb, yb = x[idx], y[idx]
    xb = xb - xb.mean(axis=1, keepdims=True)
    yb = yb - yb.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.sum(xb * yb, axis=1) / np.sqrt(np.sum(xb**2, axis=1) * np.sum(yb**2, axis=1))
    return Evidence(value, _clamp_ci(value, _pct(r)), int(x.size))


def median_rel_err_evidence(df: pd.DataFrame, col: str, n_boot: int, seed: int) -> Evidence:
    """Median relative error |α_approx − α*|/α* over models, bootstrap interval over models."""
    rel = (np.abs(df[col] - df["exact"]) / df["exact"]).to_numpy(float)
    value = float(np.median(rel))
    b = np.median(rel[_boot_index(rel.size, n_boot, seed)], axis=1)
    return Evidence(value, _clamp_ci(value, _pct(b)), int(rel.size))


def share_within(df: pd.DataFrame, col: str, rel: float = 0.10) -> Evidence:
    k = int(np.sum(np.abs(df[col] - df["exact"]) / df["exact"] <= rel))
    return Evidence(k / len(df), clopper_pearson(k, len(df)), len(df))


# ---------------------------------------------------------------------------------------------
# Figs 5.9/5.10


def _curve_array(curves: pd.DataFrame, convexity: str, metric: str) -> tuple[list[int], list[float], np.ndarray]:
    c = curves[curves.convexity == convexity]
    ps = sorted(c.p.unique())
    os_ = sorted(c.max_overlap.unique())
    R = int(c.rep.max()) + 1
    V = np.full((len(ps), len(os_), R), np.nan)
    pi = {p: i for i, p in enumerate(ps)}
    oi = {o: i for i, o in enumerate(os_)}
    for row in c.itertuples(index=False):
        V[pi[row.p], oi[row.max_overlap], row.rep] = getattr(row, metric)
    return ps, os_, V


def _boot_curve_means(V: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    P, O, R = V.shape
    idx = rng.integers(0, R, size=(n_boot, P, O, R))
    Vb = V[np.arange(P)[None, :, None, None], np.arange(O)[None, None, :, None], idx]
    with np.errstate(invalid="ignore"), _quiet():
        return np.nanmean(Vb, axis=3)  # (B, P, O)


def _spearman_rows(M: np.ndarray) -> np.ndarray:
    """Spearman correlation of each row of M (..., O) with its column index 0..O−1 (ties averaged)."""
    r = stats.rankdata(M, axis=-1)
    x = np.arange(M.shape[-1], dtype=float)
    x = x - x.mean()
    rc = r - r.mean(axis=-1, keepdims=True)
    den = np.sqrt(np.sum(rc**2, axis=-1) * np.sum(x**2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, np.sum(rc * x, axis=-1) / den, 0.0)


def weakest_trend(curves: pd.DataFrame, convexity: str, metrics: Sequence[str], n_boot: int, seed: int) -> Evidence | None:
    """The largest (least negative), over p and ``metrics``, Spearman correlation between max_overlap and the
    mean score ("difficulty rises with overlap for every p": all of them negative)."""
    if convexity not in set(curves.convexity):
        return None
    vals, boots = [], []
    R = None
    for k, metric in enumerate(metrics):
        ps, os_, V = _curve_array(curves, convexity, metric)
        R = V.shape[2]
        with np.errstate(invalid="ignore"), _quiet():
            vals.append(np.max(_spearman_rows(np.nanmean(V, axis=2))))
        boots.append(np.max(_spearman_rows(_boot_curve_means(V, n_boot, seed + k)), axis=1))
    value = float(np.max(vals))
    b = np.max(np.stack(boots), axis=0)
    return Evidence(value, _clamp_ci(value, _pct(b)), R, note=f"{convexity}; p = {_list(ps)}; {len(os_)} overlaps; {', '.join(metrics)}")


def silhouette_drop(curves: pd.DataFrame, overlap: float, n_boot: int, seed: int) -> Evidence | None:
    """At one max_overlap (convex data): the smallest drop of the mean silhouette from one dimension to the next."""
    ps, os_, V = _curve_array(curves, "convex", "silhouette")
    match = [i for i, o in enumerate(os_) if np.isclose(o, overlap)]
    if len(ps) < 2 or not match:
        return None
    oi = match[0]
    with np.errstate(invalid="ignore"), _quiet():
        m = np.nanmean(V[:, oi], axis=1)
    value = float(np.min(m[:-1] - m[1:]))
    B = _boot_curve_means(V[:, oi : oi + 1], n_boot, seed)[:, :, 0]
    b = np.min(B[:, :-1] - B[:, 1:], axis=1)
    note = "mean silhouette " + ", ".join(f"{v:.2f}" for v in m) + f" at p = {_list(ps)}"
    return Evidence(value, _clamp_ci(value, _pct(b)), V.shape[2], note)


# ---------------------------------------------------------------------------------------------
# Fig 5.11


def control_max_holds(ctrl: pd.DataFrame) -> Evidence:
    """Every exact pairwise overlap of every model is at most max_overlap (1e-3 relative slack for round-off)."""
    ok = bool((ctrl.exact <= ctrl.max_overlap * (1 + 1e-3)).all())
    worst = float((ctrl.exact / ctrl.max_overlap).max())
    n = int(ctrl.groupby(["archetype", "model"]).ngroups)
    return Evidence(ok, None, n, f"{n} models, {len(ctrl):,} pairs; largest exact overlap / max_overlap = {worst:.4f}")


def control_min_share(ctrl: pd.DataFrame) -> Evidence:
    """Share of models in which every cluster has a neighbour with exact overlap ≥ min_overlap."""
    per = ctrl.groupby(["archetype", "model"]).model_min_ok_exact.first()
    k, n = int(per.sum()), int(per.size)
    lda = float(ctrl.groupby(["archetype", "model"]).model_min_ok.first().mean())
    by_arch = ctrl.groupby(["archetype", "model"]).model_min_ok_exact.first().groupby("archetype").mean()
    worst = float(ctrl["nearest_exact_over_min"].min())
    return Evidence(k / n, clopper_pearson(k, n), n,
                    f"{k}/{n} models with exact overlaps ({lda:.0%} with the LDA overlaps the placement enforces); "
                    f"by archetype " + ", ".join(f"{a}: {v:.0%}" for a, v in by_arch.items())
                    + f"; the worst cluster's nearest exact overlap is {worst:.2f} × min_overlap")


def control_pairs_below_min(ctrl: pd.DataFrame) -> Evidence:
    """Share of pairs whose exact overlap is below min_overlap (the caption's "overlaps may be lower")."""
    below = ctrl.exact < ctrl.min_overlap
    k, n = int(below.sum()), int(below.size)
    return Evidence(k / n, clopper_pearson(k, n), n, f"{k:,} of {n:,} pairs")


# ---------------------------------------------------------------------------------------------
# §5.3 convergence of the placement


def convergence_fits(conv: pd.DataFrame, penalty: float = 0.01) -> pd.DataFrame:
    """Per placement with at least four positive losses: R² of the exponential and the power-law fit."""
    rows = []
    for r in conv[np.isclose(conv.penalty, penalty)].itertuples(index=False):
        f = loss_curve_fits(r.history)
        if f is not None:
            rows.append(dict(k=r.k, p=r.p, rep=r.rep, **f))
    return pd.DataFrame(rows)


def exponential_vs_power(conv: pd.DataFrame, n_boot: int, seed: int, penalty: float = 0.01) -> Evidence | None:
    """Median over placements of R²(log L vs epoch) − R²(log L vs log epoch): > 0 means the loss falls
    like an exponential (linear convergence) rather than a power law (sublinear convergence)."""
    f = convergence_fits(conv, penalty)
    if len(f) < 2:
        return None
    d = (f.r2_exponential - f.r2_power).to_numpy()
    value = float(np.median(d))
    rng = np.random.default_rng(seed)
    b = np.median(d[rng.integers(0, d.size, (n_boot, d.size))], axis=1)
    note = (f"{len(f)} of {int(np.isclose(conv.penalty, penalty).sum())} placements with ≥ 4 positive losses; "
            f"median R² exponential {np.median(f.r2_exponential):.3f}, power law {np.median(f.r2_power):.3f}")
    return Evidence(value, _clamp_ci(value, _pct(b)), len(f), note)


def epochs_log_ratio(conv: pd.DataFrame, by: str, n_boot: int, seed: int, penalty: float = 0.01) -> Evidence | None:
    """log of (mean epochs at the largest ``by`` value) / (mean epochs at the smallest), the other
    coordinate held at its common value; bootstrap over placements within each cell."""
    c = conv[np.isclose(conv.penalty, penalty)]
    other = "p" if by == "k" else "k"
    # the cells that vary `by` at the most common value of the other coordinate
    common = c.groupby(other)[by].nunique().idxmax()
    cells = c[c[other] == common]
    levels = sorted(cells[by].unique())
    if len(levels) < 2:
        return None
    lo = cells[cells[by] == levels[0]].epochs.to_numpy(float)
    hi = cells[cells[by] == levels[-1]].epochs.to_numpy(float)
    if lo.mean() <= 0 or hi.mean() <= 0:
        return None
    value = float(np.log(hi.mean() / lo.mean()))
    rng = np.random.default_rng(seed)
    bl = lo[rng.integers(0, lo.size, (n_boot, lo.size))].mean(axis=1)
    bh = hi[rng.integers(0, hi.size, (n_boot, hi.size))].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.log(bh / bl)
    means = cells.groupby(by).epochs.mean()
    note = f"{other} = {common}; mean epochs " + ", ".join(f"{by} {int(v)}: {m:.1f}" for v, m in means.items())
    return Evidence(value, _clamp_ci(value, _pct(b)), int(min(lo.size, hi.size)), note)


def penalty_effect(conv: pd.DataFrame, lam: float = 0.01, base: float = 0.0) -> Evidence | None:
    """Share of placements that reach loss exactly 0 with penalty weight ``lam`` minus with ``base``
    (paired: the same covariances and initial centers). The difference is (n₊ − n₋)/n over the
    discordant pairs; its interval combines two 97.5 % Clopper–Pearson intervals for n₊/n and n₋/n
    (conservative, valid at 95 %)."""
    a = conv[np.isclose(conv.penalty, lam)].set_index(["k", "p", "rep"]).converged.astype(bool)
    b = conv[np.isclose(conv.penalty, base)].set_index(["k", "p", "rep"]).converged.astype(bool)
    common = a.index.intersection(b.index)
    if len(common) < 2:
        return None
    a, b = a.loc[common].to_numpy(), b.loc[common].to_numpy()
    n = int(a.size)
    n_pos, n_neg = int(np.sum(a & ~b)), int(np.sum(~a & b))
    lo_p, hi_p = clopper_pearson(n_pos, n, 0.025)
    lo_n, hi_n = clopper_pearson(n_neg, n, 0.025)
    value = (n_pos - n_neg) / n
    note = (f"loss exactly 0 in {a.mean():.0%} of placements with λ = {lam:g} vs {b.mean():.0%} with λ = {base:g} "
            f"({n} paired placements, {n_pos} only with λ = {lam:g}, {n_neg} only with λ = {base:g})")
    return Evidence(value, (lo_p - hi_n, hi_p - lo_n), n, note)


# ---------------------------------------------------------------------------------------------
# distort


def distort_overlap_ratio(study: Sequence[dict], n_boot: int, seed: int, floor: float = 0.02) -> Evidence | None:
    """Median over cluster pairs of log10((after + ε)/(before + ε)), ε one point's worth (1/n_min), for
    pairs whose empirical overlap is at least ``floor`` before or after; bootstrap over data sets."""
    per_ds = []
    for d in study:
        r = []
        for p in d["pairs"]:
            if max(p["before"], p["after"]) >= floor:
                eps = 1.0 / p["n_min"]
                r.append(np.log10((p["after"] + eps) / (p["before"] + eps)))
        per_ds.append(np.asarray(r))
    n_ds = len(per_ds)
    allv = np.concatenate(per_ds) if per_ds else np.array([])
    if allv.size < 2:
        return None
    value = float(np.median(allv))
    rng = np.random.default_rng(seed)
    b = np.empty(n_boot)
    for i in range(n_boot):
        pick = rng.integers(0, n_ds, n_ds)
        v = np.concatenate([per_ds[j] for j in pick])
        b[i] = np.median(v) if v.size else np.nan
    within2 = float(np.mean(np.abs(allv) <= np.log10(2)))
    note = (f"{allv.size} pairs with overlap ≥ {floor:g} in {n_ds} data sets; factor {10 ** value:.2f}; "
            f"{within2:.0%} of pairs within a factor 2")
    return Evidence(value, _clamp_ci(value, _pct(b)), n_ds, note)


def distort_aspect_ratio(study: Sequence[dict], n_boot: int, seed: int, q: float = 0.9) -> Evidence | None:
    """log10 of the ``q``-quantile of the clusters' aspect ratios after ``distort`` over the same before
    (the same points); bootstrap over data sets."""
    before = [np.asarray(d["aspect_before"]) for d in study]
    after = [np.asarray(d["aspect_after"]) for d in study]
    if not before:
        return None

    def stat(ix):
        return float(np.log10(np.quantile(np.concatenate([after[i] for i in ix]), q) / np.quantile(np.concatenate([before[i] for i in ix]), q)))

    n = len(before)
    value = stat(range(n))
    rng = np.random.default_rng(seed)
    b = np.array([stat(rng.integers(0, n, n)) for _ in range(n_boot)])
    qb = np.quantile(np.concatenate(before), q)
    qa = np.quantile(np.concatenate(after), q)
    return Evidence(value, _clamp_ci(value, _pct(b)), n, f"{int(q * 100)}th percentile of cluster aspect ratios {qb:.1f} → {qa:.1f}")


# ---------------------------------------------------------------------------------------------
# App. 4D


def worst_family(models: pd.DataFrame, families: Sequence[str]) -> Evidence | None:
    """The family (among ``families``) whose mean empirical overlap is farthest from nominal, with its t-interval."""
    m = models[models.family.isin(families)]
    if m.empty:
        return None
    g = m.groupby("family").empirical
    mean = g.mean()
    nominal = float(m.nominal.iloc[0])
    fam = (mean - nominal).abs().idxmax()
    x = m[m.family == fam].empirical.to_numpy()
    n = x.size
    if n < 2:
        return Evidence(float(x.mean()), None, n, f"{fam}")
    half = float(stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / np.sqrt(n))
    note = f"worst family: {fam}; means " + ", ".join(f"{f} {v:.2%}" for f, v in mean.sort_values().items())
    return Evidence(float(x.mean()), (float(x.mean()) - half, float(x.mean()) + half), n, note)


def family_mean(models: pd.DataFrame, family: str) -> Evidence | None:
    """Mean empirical overlap of one family with its t-interval over models."""
    x = models[models.family == family].empirical.to_numpy()
    if x.size < 2:
        return None
    half = float(stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return Evidence(float(x.mean()), (float(x.mean()) - half, float(x.mean()) + half), x.size, f"{family}, nominal {models.nominal.iloc[0]:.0%}")


# ---------------------------------------------------------------------------------------------
# all benchmark claims at once, and recording into the ledger

SHORT = {"EM-GMM": "gmm", "K-Means": "kmeans", "Spectral": "spectral", "Hierarchical": "hier"}


def degenerate_hdbscan_cells(thesis53: pd.DataFrame, convexity: str, threshold: float = 0.99) -> list[int]:
    """Archetypes whose Table 5.3 scores rest on (almost) no points: the thesis's noise share ≥ 99 %."""
    t = thesis53[(thesis53.metric == "p_noise") & (thesis53.convexity == convexity) & (thesis53.archetype != "avg")]
    return sorted(int(a) for a, v in zip(t.archetype, t.value) if v >= threshold)


def benchmark_evidence(bench: pd.DataFrame, thesis52: pd.DataFrame, thesis53: pd.DataFrame, n_boot: int,
                       seed: int) -> dict[str, Evidence | None]:
    """Evidence for every benchmark claim of the registry (Tables 5.2/5.3 and the text's findings).

    ``bench`` has one row per (convexity, archetype, data set, algorithm) with AMI, ARI and p_noise.
    """
    out: dict[str, Evidence | None] = {}
    ami = StratifiedScores.from_benchmark(bench, "AMI")
    ari = StratifiedScores.from_benchmark(bench, "ARI")
    for metric in ("AMI", "ARI"):
        for conv in ("convex", "nonconvex"):
            for alg, short in SHORT.items():
                cid = f"t52_{metric.lower()}_{conv}_{short}"
                has = not bench[(bench.algorithm == alg) & (bench.convexity == conv)].empty
                out[cid] = gap_to_thesis(bench, thesis52, metric, conv, alg) if has else None
    hd = bench[bench.algorithm == "HDBSCAN"]
    for metric in ("AMI", "ARI", "p_noise"):
        for conv in ("convex", "nonconvex"):
            cid = f"t53_{metric.lower().replace('_', '')}_{conv}"
            if hd[hd.convexity == conv].empty:
                out[cid] = None
                continue
            run = sorted({int(a) for a in hd[hd.convexity == conv].archetype})
            if metric != "p_noise":
                run = [a for a in run if a not in degenerate_hdbscan_cells(thesis53, conv)]
            out[cid] = gap_to_thesis(bench, thesis53, metric, conv, "HDBSCAN", archetypes=run) if run else None
    s = seed
    out["hier_best_convex"] = rank_margin(ami, "Hierarchical", "convex", n_boot, s + 1)
    out["hier_not_best_overlap"] = cell_margin(ami, "Hierarchical", "convex", 4, n_boot, s + 2)
    out["gmm_best_nonconvex"] = rank_margin(ami, "EM-GMM", "nonconvex", n_boot, s + 3)
    out["kmeans_hier_highdim"] = contrast(ami, "convex", 5, ["K-Means", "Hierarchical"], ["EM-GMM", "Spectral"], n_boot, s + 4)
    out["gmm_gains_samples"] = archetype_gain(ami, "EM-GMM", "convex", 6, 5, n_boot, s + 5)
    out["spectral_never_best"] = max_cell_margin([ami, ari], "Spectral", n_boot, s + 6)
    out["spectral_beats_kmeans"] = max_cell_margin([ami], "Spectral", n_boot, s + 7, competitors=["K-Means"])
    out["spectral_weak_highdim"] = max_cell_margin([ami], "Spectral", n_boot, s + 8, competitors=["K-Means", "Hierarchical"],
                                                   archetypes=[5, 6])
    out["nonconvex_harder"] = convexity_drop(ami, n_boot, s + 9)
    out["hdbscan_noise"] = noise_gap_to_thesis(bench, thesis53)
    out["hdbscan_difficulty"] = hdbscan_difficulty(bench, n_boot, s + 10)
    out["hdbscan_nonconvex12"] = hdbscan_vs_best(bench, "nonconvex", [1, 2], n_boot, s + 11)
    return out


def record(ledger, claim_id: str, ev: Evidence | None, why_missing: str, **kw) -> None:
    """``ledger.measure`` with the evidence, or ``ledger.skip`` with the reason when there is none."""
    if ev is None:
        ledger.skip(claim_id, why_missing)
    else:
        args = ev.kw()
        if kw.get("note"):
            args["note"] = "; ".join(x for x in (args.get("note", ""), kw.pop("note")) if x)
        ledger.measure(claim_id, **args, **kw)
