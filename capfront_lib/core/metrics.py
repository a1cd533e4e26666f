"""The routing field's standard metrics, from one per-query matrix.

Everything here is a function of one ``N x L`` table of queries x models: correctness (0/1, or a graded
score in [0, 1]) and, optionally, the cost of each (query, model) call. Build it once with
:func:`matrix_from_log` (an :class:`~capfront_lib.core.evallog.EvalLog`) or :func:`matrix` (arrays), then:

* :func:`single_best` — the most accurate model (ties: first in column order);
* :func:`oracle` — the per-query oracle that sends each query to the **cheapest correct model**
  (LLMRouterBench's Oracle, Li et al. 2026, arXiv 2601.07206; when no model is correct it pays for the
  cheapest model, as their ``_compute_oracle_cost_by_dataset`` does), its accuracy ``1 - beta`` and cost;
* :func:`gap_at_oracle` — how far a router (by default the single best model) stays below the oracle;
* :func:`random_uniform` and :func:`random_router_at_cost` — the query-blind random router, uniform over
  the pool, or the best random mixture of models at a matched expected cost (RouterBench's "Zero router",
  the non-decreasing concave hull of the models' cost-quality points; Hu et al. 2024, arXiv 2403.12031,
  Section 3);
* :func:`pair_curve`, :func:`apgr`, :func:`cpt` — RouteLLM's metrics for a weak/strong pair routed by a
  per-query score (Ong et al. 2024, arXiv 2406.18665, Section 2.2 "Metrics" / reference code
  ``routellm/evals/evaluate.py``);
* :func:`ndch` and :func:`aiq` — RouterBench's non-decreasing convex hull and Average Improvement in Quality
  (Hu et al. 2024, Section 3; reference code ``evaluation/AIQ.py`` of withmartian/routerbench).

Fractional scores: one rule, everywhere
---------------------------------------
**A score counts as correct only when it is >= the threshold** (:data:`DEFAULT_THRESHOLD` = 1.0: only a
full score is correct; any threshold in (0, 1] may be chosen). The rule is applied once, by
:func:`binarize`, and every metric below — single best, oracle, random routers, APGR/CPT, AIQ — reads the
same 0/1 table, so the oracle and every router are judged by the same standard. For a 0/1 log every
threshold in (0, 1] gives the same table. The known pitfall this avoids: an oracle that counts *any*
score > 0 as correct (LLMRouterBench's ``_compute_oracle_stats`` uses ``any(s > 0)``) while routers are
scored by their mean score; the oracle is then inflated by every partial credit. :func:`oracle_any_positive`
computes that inflated number only so that a page can show the difference.

Every function needs a complete table (no cell "not run"): load logs with ``missing="drop_queries"``.
Undefined results (a gap with a zero denominator, AIQ without costs, ...) are ``None``, never NaN.

Memory: the correctness table is stored as booleans and the cost table as float64; the oracle works in
blocks of queries, so 5,000 models x 10,000 queries need about 0.5 GB (``benchmarks/metrics_scale.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from capfront_lib.core.evallog import EvalLog

#: the correctness threshold for graded scores: a score counts as correct only at >= this value
DEFAULT_THRESHOLD = 1.0
#: the PGR levels of RouteLLM's call-performance thresholds reported by :func:`pair_metrics`
CPT_LEVELS: tuple[float, ...] = (0.5, 0.8)
_BLOCK_CELLS = 1 << 22  # cells per block of the oracle (32 MB of float64 temporaries)


class MetricsError(ValueError):
    """The table cannot be scored (missing cells, values out of range, unknown model, ...)."""


# ---------------------------------------------------------------------------------------------
# the table


@dataclass(frozen=True)
class Matrix:
    """Per-query correctness (``N x L`` bool, after the threshold rule) and optional cost (``N x L`` USD).

    ``graded`` is true when some raw score was strictly between 0 and 1 (the threshold mattered);
    ``n_positive_below_threshold`` counts the cells with 0 < score < threshold (correct under the pitfall
    rule "any score > 0", wrong under ours).
    """

    correct: np.ndarray
    cost: np.ndarray | None
    models: tuple[str, ...]
    threshold: float
    source: str = "<matrix>"
    graded: bool = False
    n_positive_below_threshold: int = 0
    any_positive: np.ndarray | None = None  # N, True where some model has a score > 0 (pitfall oracle only)

    @property
    def n_queries(self) -> int:
        return int(self.correct.shape[0])

    @property
    def n_models(self) -> int:
        return int(self.correct.shape[1])

    @property
    def has_cost(self) -> bool:
        return self.cost is not None

    def index(self, model: str) -> int:
        try:
            return self.models.index(model)
        except ValueError:
            raise MetricsError(f"{self.source}: no model {model!r}; the models are {list(self.models)}") from None

    def mean_cost(self) -> np.ndarray | None:
        """Per-model mean cost per query (None without costs)."""
        return None if self.cost is None else self.cost.mean(axis=0)

    def accuracy(self) -> np.ndarray:
        """Per-model accuracy: the share of queries counted correct."""
        return self.correct.mean(axis=0)


def _check_threshold(threshold: float) -> float:
    t = float(threshold)
    if not (0.0 < t <= 1.0) or not math.isfinite(t):
        raise MetricsError(f"the correctness threshold must lie in (0, 1], got {threshold!r}")
    return t


def binarize(scores: np.ndarray, threshold: float = DEFAULT_THRESHOLD, source: str = "<matrix>") -> np.ndarray:
    """The one rule for fractional scores: ``correct = score >= threshold`` (``N x L`` bool).

    ``scores`` must be complete (no NaN) and lie in [0, 1]; the threshold in (0, 1].
    """
    t = _check_threshold(threshold)
    s = np.asarray(scores, dtype=float)
    if s.ndim != 2:
        raise MetricsError(f"{source}: scores must be a queries x models table, got shape {s.shape}")
    if np.isnan(s).any():
        i, j = np.argwhere(np.isnan(s))[0]
        raise MetricsError(f"{source}: {int(np.isnan(s).sum())} cells were not run (first: row {i}, model column {j}); "
                           "the metrics need a complete table (load the log with missing='drop_queries')")
    bad = (s < 0) | (s > 1)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise MetricsError(f"{source}: scores must lie in [0, 1]; row {i}, model column {j} is {s[i, j]:g}")
    return s >= t


def matrix(
    scores: np.ndarray,
    models: Sequence[str] | None = None,
    cost: np.ndarray | Sequence[float] | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    source: str = "<matrix>",
) -> Matrix:
    """A :class:`Matrix` from arrays: ``scores`` ``N x L`` in [0, 1]; ``cost`` ``N x L`` or per model (``L``)."""
    s = np.asarray(scores, dtype=float)
    correct = binarize(s, threshold, source)
    n, l = correct.shape
    if n == 0 or l == 0:
        raise MetricsError(f"{source}: the table is empty ({n} queries x {l} models)")
    names = tuple(str(m) for m in (models if models is not None else [f"model_{j}" for j in range(l)]))
    if len(names) != l:
        raise MetricsError(f"{source}: {len(names)} model names for {l} columns")
    if len(set(names)) != l:
        raise MetricsError(f"{source}: model names must be unique")
    c = None
    if cost is not None:
        c = np.asarray(cost, dtype=float)
        if c.ndim == 1:
            if c.shape[0] != l:
                raise MetricsError(f"{source}: {c.shape[0]} per-model costs for {l} models")
            c = np.broadcast_to(c[None, :], (n, l))
        if c.shape != (n, l):
            raise MetricsError(f"{source}: cost must be {n} x {l} (queries x models) or one per model, got {c.shape}")
        if not np.isfinite(c).all():
            raise MetricsError(f"{source}: cost has {int((~np.isfinite(c)).sum())} missing or non-finite cells")
        if (c < 0).any():
            raise MetricsError(f"{source}: cost must be non-negative")
    t = _check_threshold(threshold)
    strict = (s > 0) & (s < 1)
    return Matrix(
        correct=correct,
        cost=c,
        models=names,
        threshold=t,
        source=source,
        graded=bool(strict.any()),
        n_positive_below_threshold=int(((s > 0) & (s < t)).sum()),
        any_positive=(s > 0).any(axis=1),
    )


def matrix_from_log(
    log: "EvalLog",
    *,
    threshold: float = DEFAULT_THRESHOLD,
    costs: Mapping[str, float] | None = None,
    generation: int = 0,
) -> Matrix:
    """The :class:`Matrix` of one generation of an evaluation log (cost from ``cost_usd`` when logged).

    ``costs`` (model -> USD per query) supplies or replaces the cost of each model when given.
    """
    if not 0 <= generation < log.n_generations:
        raise MetricsError(f"{log.source}: generation {generation} not in 0..{log.n_generations - 1}")
    scores = log.array("correct")[:, :, generation]
    cost = None
    if costs is not None:
        absent = [m for m in log.models if m not in costs]
        if absent:
            raise MetricsError(f"{log.source}: no cost for models {absent}")
        cost = np.array([float(costs[m]) for m in log.models])
    elif log.has("cost_usd"):
        cost = log.array("cost_usd")[:, :, generation]
    return matrix(scores, log.models, cost, threshold=threshold, source=log.source)


# ---------------------------------------------------------------------------------------------
# single best, oracle, gap


def single_best(M: Matrix) -> dict[str, Any]:
    """The most accurate model (ties: first in column order), its accuracy and mean cost per query."""
    acc = M.accuracy()
    j = int(np.argmax(acc))
    mc = M.mean_cost()
    return {"model": M.models[j], "index": j, "accuracy": float(acc[j]), "mean_cost": None if mc is None else float(mc[j])}


@dataclass(frozen=True)
class OracleResult:
    """The per-query oracle: its choice per query, accuracy (``1 - beta``) and mean cost."""

    choice: np.ndarray  # N, index of the chosen model
    accuracy: float
    mean_cost: float | None
    share: dict[str, float]  # share of queries sent to each model

    @property
    def all_wrong_rate(self) -> float:
        return 1.0 - self.accuracy


def oracle(M: Matrix) -> OracleResult:
    """The oracle router: every query goes to its cheapest correct model (Li et al. 2026, LLMRouterBench).

    Ties in cost go to the first model in column order; a query no model answers correctly goes to its
    cheapest model (the oracle still pays for an answer). Without costs the oracle's accuracy is still
    defined (``mean_n max_l correct``) and the choice is the first correct model in column order.
    """
    n, l = M.correct.shape
    choice = np.empty(n, dtype=np.int64)
    step = max(1, _BLOCK_CELLS // max(l, 1))
    total_cost = 0.0
    for s in range(0, n, step):
        ok = M.correct[s:s + step]
        if M.cost is None:
            ch = np.argmax(ok, axis=1)  # first correct model; 0 when none is correct
        else:
            c = M.cost[s:s + step]
            masked = np.where(ok, c, np.inf)
            ch = np.argmin(masked, axis=1)
            none = ~ok.any(axis=1)
            if none.any():
                ch[none] = np.argmin(c[none], axis=1)
            total_cost += float(np.take_along_axis(c, ch[:, None], axis=1).sum())
        choice[s:s + step] = ch
    covered = M.correct.any(axis=1)
    counts = np.bincount(choice, minlength=l)
    return OracleResult(
        choice=choice,
        accuracy=float(covered.mean()),
        mean_cost=None if M.cost is None else total_cost / n,
        share={m: float(k / n) for m, k in zip(M.models, counts)},
    )


def oracle_any_positive(M: Matrix) -> float:
    """The *pitfall* oracle: a query counts as solved when some model has a score > 0 (not our rule).

    Only for showing how much counting partial credit inflates the oracle; never used by the metrics.
    """
    if M.any_positive is None:
        raise MetricsError(f"{M.source}: the table was built without raw scores")
    return float(M.any_positive.mean())


def gap_at_oracle(accuracy: float, oracle_accuracy: float) -> dict[str, float | None]:
    """Gap@Oracle of a router with ``accuracy``: ``oracle - accuracy`` and ``(oracle - accuracy) / oracle``.

    LLMRouterBench (Li et al. 2026) reports the gap between a router and the per-query oracle; its text
    does not fix the normalisation in what we could read, so both the absolute gap (accuracy points) and
    the relative gap (share of the oracle's accuracy not reached) are returned. The relative gap is
    ``None`` when the oracle's accuracy is 0.
    """
    a, o = float(accuracy), float(oracle_accuracy)
    return {"absolute": o - a, "relative": (o - a) / o if o > 0 else None}


# ---------------------------------------------------------------------------------------------
# random routers and the non-decreasing convex hull


def random_uniform(M: Matrix) -> dict[str, float | None]:
    """The random router that picks a model uniformly per query: expected accuracy and cost.

    Expectations (the mean over models), not one random draw (LLMRouterBench samples one draw).
    """
    mc = M.mean_cost()
    return {"accuracy": float(M.accuracy().mean()), "mean_cost": None if mc is None else float(mc.mean())}


def ndch(cost: Sequence[float], quality: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """RouterBench's non-decreasing convex hull of cost-quality points (Hu et al. 2024, Section 3).

    The smallest concave, non-decreasing function of cost that lies on or above every point: the upper
    hull from the cheapest point (best quality among the cheapest) to the best point (cheapest among
    the best), by Andrew's monotone chain. Returns the hull's vertices (cost ascending, quality
    non-decreasing). Any cost between two vertices is reachable by a random mixture of the two.
    """
    c = np.asarray(cost, dtype=float)
    q = np.asarray(quality, dtype=float)
    if c.shape != q.shape or c.ndim != 1 or c.size == 0:
        raise MetricsError("ndch: cost and quality must be 1-D arrays of equal, non-zero length")
    if not (np.isfinite(c).all() and np.isfinite(q).all()):
        raise MetricsError("ndch: cost and quality must be finite")
    order = np.lexsort((-q, c))  # cost ascending; for equal cost the best quality first
    c, q = c[order], q[order]
    keep = np.ones(c.size, dtype=bool)
    keep[1:] = c[1:] != c[:-1]  # one point per cost: the best
    c, q = c[keep], q[keep]
    best = q.max()
    last = int(np.flatnonzero(q == best)[0])  # the cheapest point of best quality ends the hull
    c, q = c[: last + 1], q[: last + 1]
    hc: list[float] = []
    hq: list[float] = []
    for x, y in zip(c.tolist(), q.tolist()):
        while len(hc) >= 2:
            # drop the last vertex if it lies on or below the chord from the one before to (x, y)
            cross = (hc[-1] - hc[-2]) * (y - hq[-2]) - (hq[-1] - hq[-2]) * (x - hc[-2])
            if cross >= 0:
                hc.pop()
                hq.pop()
            else:
                break
        hc.append(x)
        hq.append(y)
    # a concave chain that ends at its highest point never decreases
    return np.asarray(hc), np.asarray(hq)


def hull_value(hull: tuple[np.ndarray, np.ndarray], c: float | np.ndarray) -> np.ndarray:
    """The hull's quality at cost ``c``: linear between vertices, flat after the last, NaN before the first."""
    hc, hq = hull
    x = np.atleast_1d(np.asarray(c, dtype=float))
    out = np.interp(x, hc, hq)
    out[x < hc[0]] = np.nan
    return out


def random_router_at_cost(M: Matrix, cost: float) -> float | None:
    """The best query-blind random router at expected cost ``cost`` (RouterBench's Zero router).

    It mixes at most two models of the pool's non-decreasing convex hull of (mean cost, accuracy);
    ``None`` without costs or when ``cost`` is below the cheapest model. Above the most accurate model's
    cost it stays at that accuracy (spending more cannot help a query-blind router).
    """
    mc = M.mean_cost()
    if mc is None:
        return None
    v = hull_value(ndch(mc, M.accuracy()), cost)[0]
    return None if not math.isfinite(v) else float(v)


def aiq(cost: Sequence[float], quality: Sequence[float], c_min: float, c_max: float) -> float | None:
    """Average Improvement in Quality (RouterBench, Hu et al. 2024, Section 3).

    ``AIQ = 1/(c_max - c_min) * integral_{c_min}^{c_max} H(c) dc`` with ``H`` the non-decreasing convex
    hull (:func:`ndch`) of the router's cost-quality points. Choices (stated because the paper leaves
    them open): beyond the router's most expensive hull vertex ``H`` stays flat (as the reference code
    extends every hull to the common maximum cost); below its cheapest point the router cannot operate
    and ``H = 0`` (the reference code integrates from the router's first point and divides by the
    maximum cost, i.e. it takes ``c_min = 0`` and counts that stretch as zero). Integration is exact
    (trapezoids between hull vertices). ``None`` when ``c_max <= c_min``.
    """
    lo, hi = float(c_min), float(c_max)
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return None
    hc, hq = ndch(cost, quality)
    start = max(lo, float(hc[0]))  # H = 0 on [lo, hc[0]): nothing to add there
    if start >= hi:
        return 0.0
    xs = np.unique(np.concatenate([[start, hi], hc[(hc > start) & (hc < hi)]]))
    ys = np.interp(xs, hc, hq)  # flat beyond the last vertex
    area = float(np.sum((xs[1:] - xs[:-1]) * (ys[1:] + ys[:-1]) / 2.0))
    return area / (hi - lo)


# ---------------------------------------------------------------------------------------------
# a weak/strong pair routed by a score (RouteLLM)


def choose_pair(M: Matrix) -> tuple[str, str]:
    """Default weak/strong pair: strong = the single best model; weak = the cheapest model that is less
    accurate than it (by mean cost), or without costs the least accurate model."""
    acc = M.accuracy()
    strong = single_best(M)["index"]
    lower = np.flatnonzero(acc < acc[strong])
    if lower.size == 0:
        raise MetricsError(f"{M.source}: every model is as accurate as the best one; no weak/strong pair")
    mc = M.mean_cost()
    if mc is not None:
        weak = int(lower[np.lexsort((-acc[lower], mc[lower]))[0]])  # cheapest; ties -> more accurate
    else:
        weak = int(lower[np.argmin(acc[lower])])
    return M.models[weak], M.models[strong]


def pair_curve(
    M: Matrix,
    weak: str,
    strong: str,
    score: Sequence[float],
    *,
    n_bins: int | None = None,
    always_weak: bool = False,
) -> pd.DataFrame:
    """Accuracy, strong-call share, PGR and cost of the router "strong if score >= threshold".

    RouteLLM (Ong et al. 2024, Section 2.2): the cost efficiency ``c = share of calls to the strong
    model``, the performance ``r`` (accuracy of the routed answers) and the performance gap recovered
    ``PGR = (r - r_weak) / (r_strong - r_weak)``. The thresholds are every distinct score (``n_bins`` =
    None: the exact curve from 0 to all strong calls; between two thresholds a router that randomises
    the boundary queries lies on the straight line) or, as in RouteLLM's reference code, the edges of
    ``n_bins`` equal-count quantile bins (``pd.qcut``). Columns: ``threshold``, ``strong_share``,
    ``accuracy``, ``pgr`` (NaN when the two models are equally accurate) and ``mean_cost`` (NaN without
    costs); rows by increasing ``strong_share``. ``always_weak`` prices a *cascade* (the weak model answers
    every query and the score, e.g. its own confidence, decides which answers go on to the strong model):
    the weak model's cost is then paid on every query.
    """
    w, s = M.index(weak), M.index(strong)
    sc = np.asarray(score, dtype=float)
    if sc.shape != (M.n_queries,):
        raise MetricsError(f"{M.source}: the routing score needs one value per query ({M.n_queries}), got {sc.shape}")
    if not np.isfinite(sc).all():
        raise MetricsError(f"{M.source}: the routing score has missing or non-finite values")
    yw = M.correct[:, w].astype(float)
    ys = M.correct[:, s].astype(float)
    n = M.n_queries
    if n_bins is None:
        thresholds = np.concatenate([[np.inf], np.unique(sc)[::-1]])
    else:
        if int(n_bins) < 1:
            raise MetricsError(f"n_bins must be >= 1, got {n_bins}")
        # the reference code's thresholds: "score >= edge" for every bin edge but the last, and no strong
        # call at all for the last edge ("score > max")
        edges = np.quantile(sc, np.linspace(0, 1, int(n_bins) + 1))
        thresholds = np.concatenate([[np.inf], np.unique(edges[:-1])[::-1]])
    order = np.argsort(-sc, kind="stable")
    gain = np.concatenate([[0.0], np.cumsum((ys - yw)[order])])
    n_strong = np.searchsorted(-sc[order], -thresholds, side="right")  # count of scores >= threshold
    acc = (yw.sum() + gain[n_strong]) / n
    aw, as_ = yw.mean(), ys.mean()
    pgr = (acc - aw) / (as_ - aw) if as_ != aw else np.full(acc.shape, np.nan)
    if M.cost is not None:
        dc = np.concatenate([[0.0], np.cumsum((M.cost[:, s] - M.cost[:, w])[order])])
        cost = (M.cost[:, w].sum() + dc[n_strong]) / n
        if always_weak:
            cost = cost + np.concatenate([[0.0], np.cumsum(M.cost[:, w][order])])[n_strong] / n
    else:
        cost = np.full(acc.shape, np.nan)
    df = pd.DataFrame({"threshold": thresholds, "strong_share": n_strong / n, "accuracy": acc, "pgr": pgr, "mean_cost": cost})
    return df.drop_duplicates("strong_share").reset_index(drop=True)


def apgr(curve: pd.DataFrame) -> float | None:
    """Average performance gap recovered: ``integral_0^1 PGR d(strong share)`` (RouteLLM, Section 2.2).

    Trapezoids over the curve's points (exact for the randomised-boundary router when the curve is
    :func:`pair_curve`'s exact one; RouteLLM's reference code integrates its 11 quantile points the same
    way). The integral runs over the curve's strong-share range, which is [0, 1] for :func:`pair_curve`.
    ``None`` when PGR is undefined (equally accurate models).
    """
    x = curve["strong_share"].to_numpy(float)
    y = curve["pgr"].to_numpy(float)
    if len(x) < 2 or not np.isfinite(y).all():
        return None
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))


def cpt(curve: pd.DataFrame, level: float) -> float | None:
    """Call-performance threshold CPT(level): the smallest strong-call share with PGR >= ``level``.

    RouteLLM (Ong et al. 2024, Section 2.2), e.g. CPT(50%) and CPT(80%). Read on the piecewise-linear
    curve (randomising between adjacent thresholds): the first segment that reaches ``level``, linearly
    interpolated. (RouteLLM's reference code calls ``np.interp`` on accuracy -> strong share, which
    assumes the accuracy rises monotonically; the first crossing is the same when it does.) ``None`` when
    PGR is undefined or never reaches ``level``.
    """
    x = curve["strong_share"].to_numpy(float)
    y = curve["pgr"].to_numpy(float)
    if not np.isfinite(y).all() or len(x) == 0:
        return None
    if y[0] >= level:
        return float(x[0])
    hit = np.flatnonzero(y[1:] >= level)
    if hit.size == 0:
        return None
    k = int(hit[0])  # segment k -> k+1 is the first to reach the level
    x0, x1, y0, y1 = x[k], x[k + 1], y[k], y[k + 1]
    return float(x0 + (level - y0) / (y1 - y0) * (x1 - x0))


def oracle_pair_score(M: Matrix, weak: str, strong: str) -> np.ndarray:
    """The score of the best possible pair router: 1 where only the strong model is right, -1 where only
    the weak one is, 0 otherwise (it spends strong calls where they help first). Its APGR is the ceiling
    of any router of this pair on this data."""
    w, s = M.index(weak), M.index(strong)
    return M.correct[:, s].astype(float) - M.correct[:, w].astype(float)


def category_score(M: Matrix, categories: Sequence[Any], weak: str, strong: str, *, folds: int = 2,
                   seed: int = 0) -> np.ndarray:
    """A simple learned router score: the strong-minus-weak accuracy of the query's category, estimated on
    the *other* folds (cross-fitting, so no query's own outcome decides its route). Categories unseen in
    the training folds get the overall difference."""
    cats = pd.Series(np.asarray(categories, dtype=object).astype(str))
    if len(cats) != M.n_queries:
        raise MetricsError(f"{M.source}: {len(cats)} categories for {M.n_queries} queries")
    if folds < 2:
        raise MetricsError(f"folds must be >= 2, got {folds}")
    d = M.correct[:, M.index(strong)].astype(float) - M.correct[:, M.index(weak)].astype(float)
    fold = np.random.default_rng(seed).permutation(M.n_queries) % folds
    out = np.empty(M.n_queries)
    for f in range(folds):
        train = fold != f
        means = pd.Series(d[train]).groupby(cats[train].to_numpy()).mean()
        out[~train] = cats[~train].map(means).fillna(float(d[train].mean())).to_numpy(float)
    return out


def pair_metrics(M: Matrix, weak: str, strong: str, score: Sequence[float], *,
                 levels: Sequence[float] = CPT_LEVELS, n_bins: int | None = None) -> dict[str, Any]:
    """APGR, CPT at ``levels`` and (with costs) the router's cost range of one pair router."""
    curve = pair_curve(M, weak, strong, score, n_bins=n_bins)
    out: dict[str, Any] = {"apgr": apgr(curve)}
    for p in levels:
        out[f"cpt_{int(round(p * 100))}"] = cpt(curve, p)
    out["n_thresholds"] = int(len(curve))
    return out


# ---------------------------------------------------------------------------------------------
# everything at once


def field_metrics(M: Matrix, *, pair: tuple[str, str] | None = None,
                  scores: Mapping[str, Sequence[float]] | None = None,
                  cascades: Mapping[str, Sequence[float]] | None = None) -> dict[str, Any]:
    """The field's metrics of one table as a flat, JSON-ready dict (``None`` where undefined).

    ``pair`` = (weak, strong) for the RouteLLM metrics (default :func:`choose_pair`); ``scores`` maps a
    router name to its per-query score for that pair; ``cascades`` the same for cascades (the weak model
    always runs; priced with ``always_weak``). The oracle-ordered router (``"oracle"``, the pair's
    ceiling) is always added; the random pair router has APGR 1/2 and CPT(p) = p exactly (a random
    score's expected accuracy is linear in the strong share).
    AIQ is computed over the pool's cost range (cheapest to most expensive mean cost) for the Zero router
    (the models' hull) and every pair router; ``None`` without costs.
    """
    acc = M.accuracy()
    mc = M.mean_cost()
    sb = single_best(M)
    orc = oracle(M)
    gap = gap_at_oracle(sb["accuracy"], orc.accuracy)
    uni = random_uniform(M)
    out: dict[str, Any] = {
        "threshold": M.threshold,
        "graded": M.graded,
        "n_queries": M.n_queries,
        "n_models": M.n_models,
        "has_cost": M.has_cost,
        "single_best": sb["model"],
        "single_best_accuracy": sb["accuracy"],
        "single_best_cost": sb["mean_cost"],
        "oracle_accuracy": orc.accuracy,
        "oracle_cost": orc.mean_cost,
        "oracle_any_positive_accuracy": oracle_any_positive(M) if M.any_positive is not None else None,
        "all_wrong_rate": orc.all_wrong_rate,
        "gap_at_oracle": gap["absolute"],
        "gap_at_oracle_relative": gap["relative"],
        "random_uniform_accuracy": uni["accuracy"],
        "random_uniform_cost": uni["mean_cost"],
        "random_at_oracle_cost": random_router_at_cost(M, orc.mean_cost) if mc is not None else None,
        "oracle_cost_saving_vs_single_best": (1.0 - orc.mean_cost / sb["mean_cost"]) if mc is not None and sb["mean_cost"] > 0 else None,
    }
    c_lo = float(mc.min()) if mc is not None else None
    c_hi = float(mc.max()) if mc is not None else None
    out["aiq_cost_range"] = [c_lo, c_hi] if mc is not None else None
    out["aiq_zero_router"] = aiq(mc, acc, c_lo, c_hi) if mc is not None else None
    try:
        weak, strong = pair if pair is not None else choose_pair(M)
    except MetricsError:
        weak = strong = None
    out["pair_weak"], out["pair_strong"] = weak, strong
    routers: dict[str, Any] = {}
    if weak is not None:
        jobs = [("oracle", "oracle", oracle_pair_score(M, weak, strong))]
        jobs += [(name, "router", sc) for name, sc in (scores or {}).items()]
        jobs += [(name, "cascade", sc) for name, sc in (cascades or {}).items()]
        for name, kind, sc in jobs:
            if name in ("oracle", "random"):
                if kind != "oracle":
                    raise MetricsError(f"router name {name!r} is reserved")
            curve = pair_curve(M, weak, strong, sc, always_weak=kind == "cascade")
            r: dict[str, Any] = {"kind": kind, "apgr": apgr(curve)}
            for p in CPT_LEVELS:
                r[f"cpt_{int(round(p * 100))}"] = cpt(curve, p)
            r["aiq"] = aiq(curve["mean_cost"], curve["accuracy"], c_lo, c_hi) if mc is not None else None
            routers[name] = r
        routers["random"] = {"kind": "random", "apgr": 0.5, **{f"cpt_{int(round(p * 100))}": p for p in CPT_LEVELS},
                             "aiq": aiq(mc[[M.index(weak), M.index(strong)]], acc[[M.index(weak), M.index(strong)]], c_lo, c_hi)
                             if mc is not None else None}
    out["pair_routers"] = routers
    return out


def metrics_table(fm: Mapping[str, Any]) -> pd.DataFrame:
    """The pool-level rows of :func:`field_metrics` as a (metric, value, what it is) table for a page
    (costs per 1,000 queries, which reads better than fractions of a cent)."""

    def k(x: Any) -> Any:
        return None if x is None else 1000.0 * x

    rows = [
        ("single best model", fm["single_best"], "most accurate model"),
        ("single best accuracy", fm["single_best_accuracy"], "share of queries it gets right"),
        ("single best cost (USD per 1,000 queries)", k(fm["single_best_cost"]), "its mean cost"),
        ("oracle accuracy", fm["oracle_accuracy"], "cheapest correct model per query (= 1 − β)"),
        ("oracle cost (USD per 1,000 queries)", k(fm["oracle_cost"]), "mean cost of the oracle's choices"),
        ("Gap@Oracle (points)", fm["gap_at_oracle"], "oracle − single best accuracy"),
        ("Gap@Oracle (relative)", fm["gap_at_oracle_relative"], "(oracle − single best) / oracle"),
        ("random router accuracy", fm["random_uniform_accuracy"], "uniform over models (expectation)"),
        ("random router at the oracle's cost", fm["random_at_oracle_cost"], "best random mix of models at that cost"),
        ("AIQ of the Zero router", fm["aiq_zero_router"], "area under the models' hull / cost range"),
    ]
    return pd.DataFrame(rows, columns=["metric", "value", "meaning"])


ROUTER_NAMES = {"oracle": "oracle order (ceiling)", "random": "random", "category": "category router (cross-fitted)",
                "confidence": "weak model's confidence (cascade)"}


def pair_table(fm: Mapping[str, Any]) -> pd.DataFrame:
    """The RouteLLM/RouterBench metrics of every pair router of :func:`field_metrics`, one row per router."""
    rows = []
    for name, r in fm.get("pair_routers", {}).items():
        row = {"router": ROUTER_NAMES.get(name, name), "APGR": r["apgr"]}
        for p in CPT_LEVELS:
            row[f"CPT({int(round(p * 100))} %)"] = r[f"cpt_{int(round(p * 100))}"]
        row["AIQ"] = r.get("aiq")
        rows.append(row)
    cols = ["router", "APGR"] + [f"CPT({int(round(p * 100))} %)" for p in CPT_LEVELS] + ["AIQ"]
    return pd.DataFrame(rows, columns=cols)
