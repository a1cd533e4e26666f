"""Evidence for the claims ledger: what a run measured, with intervals, on routed evaluation sets.

A :class:`RoutedSplit` is one evaluation set (per-query scores ``Y`` and costs ``C`` of every pool model,
the query groups that define the macro average, and the decisions of each router). Every interval is a
percentile interval of a *stratified* bootstrap over the evaluation queries (queries resampled within
their group, as in :func:`capfront_lib.inference_dynamics.realdata.paired_bootstrap`). One
:class:`Bootstrap` per split supplies the resampling counts of every statistic computed on it (a joint
bootstrap), so a minimum over several differences gets a valid interval.

The functions return :class:`Measurement` objects; :func:`record` hands them to a claims
:class:`~capfront_lib.core.claims.Ledger`, which computes the verdicts. Nothing here decides a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from capfront_lib.inference_dynamics.scoring import performance_ratio

LEVEL = 0.95


@dataclass(frozen=True)
class Measurement:
    """A value for one registry claim: number (or bool for ``holds``), interval, sample size, context."""

    value: Any
    ci: tuple[float, float] | None = None
    n: int | None = None
    note: str = ""
    display: str | None = None
    method: str | None = None


def record(ledger, measurements: Mapping[str, Measurement]) -> None:
    """``ledger.measure`` for every measurement (verdicts computed by the ledger)."""
    for cid, m in measurements.items():
        ledger.measure(cid, m.value, ci=m.ci, n=m.n, note=m.note, display=m.display, method=m.method)


@dataclass
class RoutedSplit:
    """One evaluation set routed by several routers.

    ``Y`` and ``C`` are ``n x T`` (score in [0, 1] and USD cost of every pool model on every query),
    ``groups`` the benchmark or category of each query (accuracies are macro means over groups, the
    paper's "Avg."), ``choices`` maps a router name to its chosen model index per query, ``best`` is the
    best single model in hindsight (highest macro accuracy on this set). A metrics table of any router
    needs nothing else.
    """

    name: str
    models: list[str]
    Y: np.ndarray
    C: np.ndarray
    groups: np.ndarray
    choices: dict[str, np.ndarray] = field(default_factory=dict)
    tag_cost_usd: float = 0.0
    data_label: str = ""

    def __post_init__(self) -> None:
        self.Y = np.asarray(self.Y, float)
        self.C = np.asarray(self.C, float)
        self.groups = np.asarray(self.groups)
        n, T = self.Y.shape
        if self.C.shape != (n, T) or len(self.groups) != n or len(self.models) != T:
            raise ValueError(f"RoutedSplit {self.name!r}: Y {self.Y.shape}, C {self.C.shape}, groups {len(self.groups)}, "
                             f"{len(self.models)} models do not agree")
        for k, ch in self.choices.items():
            self.choices[k] = np.asarray(ch, dtype=np.int64)
            if self.choices[k].shape != (n,) or self.choices[k].min() < 0 or self.choices[k].max() >= T:
                raise ValueError(f"RoutedSplit {self.name!r}: choices of {k!r} must be {n} model indices")

    @property
    def n(self) -> int:
        return self.Y.shape[0]

    def outcome(self, choice: np.ndarray | int) -> np.ndarray:
        """Per-query score of a router (choices) or of one model (an index)."""
        if np.isscalar(choice):
            return self.Y[:, int(choice)]
        return self.Y[np.arange(self.n), choice]

    def cost(self, choice: np.ndarray | int) -> np.ndarray:
        if np.isscalar(choice):
            return self.C[:, int(choice)]
        return self.C[np.arange(self.n), choice]

    def macro(self, v: np.ndarray) -> float:
        """Mean over groups of the per-group mean of ``v``."""
        return float(pd.Series(np.asarray(v, float)).groupby(self.groups).mean().mean())

    def single_accuracies(self) -> pd.Series:
        return pd.Series([self.macro(self.Y[:, t]) for t in range(len(self.models))], index=self.models)

    @property
    def best(self) -> int:
        return int(np.argmax(self.single_accuracies().to_numpy()))


class Bootstrap:
    """Stratified bootstrap counts for one split: ``n_boot`` resamples, each group resampled with replacement.

    :meth:`macro` and :meth:`total` return the point value on the data and the ``n_boot`` resampled values.
    """

    def __init__(self, groups: np.ndarray, n_boot: int, seed: int = 0) -> None:
        if n_boot < 2:
            raise ValueError(f"n_boot must be >= 2, got {n_boot}")
        groups = np.asarray(groups)
        rng = np.random.default_rng(seed)
        self.n = len(groups)
        self.n_boot = int(n_boot)
        self.index: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []
        for g in pd.unique(groups):
            idx = np.flatnonzero(groups == g)
            self.index.append(idx)
            self.counts.append(rng.multinomial(len(idx), np.full(len(idx), 1.0 / len(idx)), size=n_boot).astype(float))

    def macro(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Macro mean (mean over groups of group means) of ``v`` (``n`` or ``n x m``): point and resamples."""
        v = np.asarray(v, float)
        point = np.mean([v[idx].mean(axis=0) for idx in self.index], axis=0)
        boots = sum(cnt @ v[idx] / len(idx) for idx, cnt in zip(self.index, self.counts)) / len(self.index)
        return point, boots

    def total(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sum of ``v`` over queries: point and resamples (the resample size is always ``n``)."""
        v = np.asarray(v, float)
        point = v.sum(axis=0)
        boots = sum(cnt @ v[idx] for idx, cnt in zip(self.index, self.counts))
        return point, boots


def interval(boots: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """Percentile interval of bootstrap resamples."""
    lo, hi = np.quantile(np.asarray(boots, float), [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def shown(value: float, ci: tuple[float, float] | None, unit: str = "pt", digits: int = 2, signed: bool = True) -> str:
    """Ledger text of a measured value: ``+0.38 pt [−0.62, +1.17]`` (or ``87.4 % [87.1, 87.7]``)."""
    f = f"{{:{'+' if signed else ''}.{digits}f}}"
    core = f.format(value) + (f" {unit}" if unit else "")
    return core if ci is None else f"{core} [{f.format(ci[0])}, {f.format(ci[1])}]"


def _with_point(point: float, lo: float, hi: float) -> tuple[float, float]:
    """A percentile interval always contains the point estimate here (it is one of the resample values' range)."""
    return (min(lo, point), max(hi, point))


# ---------------------------------------------------------------------------------------------
# statistics on one split


def gain_over_single(split: RoutedSplit, boot: Bootstrap, router: str, single: int | None = None) -> Measurement:
    """Router minus a single model (default: the best in hindsight), macro accuracy in points, with CI."""
    t = split.best if single is None else int(single)
    d = split.outcome(split.choices[router]) - split.outcome(t)
    p, b = boot.macro(100 * d)
    lo, hi = _with_point(float(p), *interval(b))
    return Measurement(float(p), (lo, hi), split.n, note=f"{router} vs {split.models[t]} on {split.name}",
                       display=shown(float(p), (lo, hi)))


def min_gain(split: RoutedSplit, boot: Bootstrap, router: str, others: Sequence[str]) -> Measurement:
    """``min_o (router - o)`` over other routers ``others`` (points), joint bootstrap interval."""
    diffs = np.column_stack([100 * (split.outcome(split.choices[router]) - split.outcome(split.choices[o])) for o in others])
    p, b = boot.macro(diffs)
    k = int(np.argmin(p))
    lo, hi = _with_point(float(p.min()), *interval(b.min(axis=1)))
    parts = ", ".join(f"vs {o}: {v:+.2f}" for o, v in zip(others, p))
    return Measurement(float(p.min()), (lo, hi), split.n, note=f"{parts} (closest: {others[k]})",
                       display=shown(float(p.min()), (lo, hi)))


def ratios(split: RoutedSplit, boot: Bootstrap, choice: np.ndarray) -> dict[str, tuple[float, float, float]]:
    """Performance ratio and cost ratio (§4.5, tagging included) of a routing, each ``(point, lo, hi)``."""
    best = split.best
    pa, ba = boot.macro(np.column_stack([split.outcome(choice), split.outcome(best)]))
    pr_p = performance_ratio(pa[0], pa[1])
    pr_b = 100 * ba[:, 0] / ba[:, 1]
    pc, bc = boot.total(np.column_stack([split.cost(choice), split.cost(best)]))
    tag = split.n * split.tag_cost_usd
    cr_p = 100 * (pc[0] + tag) / pc[1]
    cr_b = 100 * (bc[:, 0] + tag) / bc[:, 1]
    return {"pr": (float(pr_p), *_with_point(float(pr_p), *interval(pr_b))),
            "cr": (float(cr_p), *_with_point(float(cr_p), *interval(cr_b)))}


def cheapest_at_floor(split: RoutedSplit, boot: Bootstrap, sweep: Mapping[float, np.ndarray], pr_floor: float = 99.0
                      ) -> tuple[Measurement, float]:
    """The cost ratio of the cheapest setting that keeps PR >= ``pr_floor``: over the router's beta values
    and the best single model itself (PR 100, CR 100 + tagging share, so the set is never empty).

    The selection is redone in every bootstrap resample, so the interval includes the selection's noise.
    Returns the measurement and the selected beta (``nan`` when no beta beats the best single model).
    """
    betas = list(sweep)
    best = split.best
    outs = np.column_stack([split.outcome(sweep[b]) for b in betas] + [split.outcome(best)])
    costs = np.column_stack([split.cost(sweep[b]) for b in betas] + [split.cost(best)])
    pa, ba = boot.macro(outs)
    pc, bc = boot.total(costs)
    tag = split.n * split.tag_cost_usd

    def pick(acc, cost):
        pr = 100 * acc[..., :-1] / acc[..., -1:]
        cr = 100 * (cost[..., :-1] + tag) / cost[..., -1:]
        cr = np.where(pr >= pr_floor, cr, np.inf)
        return np.minimum(cr.min(axis=-1), 100.0)

    point = float(pick(pa[None, :], pc[None, :])[0])
    bvals = pick(ba, bc)
    pr_p = 100 * pa[:-1] / pa[-1]
    cr_p = 100 * (pc[:-1] + tag) / pc[-1]
    ok = np.flatnonzero(pr_p >= pr_floor)
    sel = float(betas[int(ok[np.argmin(cr_p[ok])])]) if len(ok) and cr_p[ok].min() < 100 else float("nan")
    lo, hi = _with_point(point, *interval(bvals))
    note = (f"cheapest setting with PR >= {pr_floor:g} %: beta = {sel:g} (PR {pr_p[betas.index(sel)]:.1f} %)"
            if sel == sel else f"no beta keeps PR >= {pr_floor:g} % below the best single model's cost")
    return Measurement(point, (lo, hi), split.n, note=note, display=shown(point, (lo, hi), "%", 1, False)), sel


def share_to(split: RoutedSplit, boot: Bootstrap, choice: np.ndarray, models: Sequence[int]) -> Measurement:
    """Share of the queries a routing sends to the given models (plain mean over queries), with CI."""
    hit = np.isin(choice, list(models)).astype(float)
    p, b = boot.total(hit)
    p, b = p / split.n, b / split.n
    lo, hi = _with_point(float(p), *interval(b))
    return Measurement(float(p), (lo, hi), split.n, display=shown(100 * float(p), (100 * lo, 100 * hi), "% of queries", 1, False))


def dynamic_margins(split: RoutedSplit, boot: Bootstrap, steps: Sequence[np.ndarray], order_pos: Sequence[int],
                    *, rank: int = 1) -> Measurement:
    """Router minus the ``rank``-th best single model of the current pool (1 = best, 2 = second best), for
    every pool of two or more models along the dynamic-pool path; the minimum over pools (points) with a
    joint bootstrap interval. Single models are ranked by macro accuracy on the whole split."""
    acc = split.single_accuracies().to_numpy()
    cols, labels = [], []
    for s in range(1, len(steps)):
        pool = list(order_pos[: s + 1])
        ranked = sorted(pool, key=lambda t: -acc[t])
        ref = ranked[min(rank, len(ranked)) - 1]
        cols.append(100 * (split.outcome(steps[s]) - split.outcome(ref)))
        labels.append(f"{len(pool)} models: vs {split.models[ref]}")
    p, b = boot.macro(np.column_stack(cols))
    k = int(np.argmin(p))
    lo, hi = _with_point(float(p.min()), *interval(b.min(axis=1)))
    note = f"smallest margin at {labels[k]}; margins " + ", ".join(f"{v:+.2f}" for v in p)
    return Measurement(float(p.min()), (lo, hi), split.n, note=note, display=shown(float(p.min()), (lo, hi)))


def task_specialists(Y: np.ndarray, tasks: np.ndarray, models: Sequence[str], *, n_boot: int, seed: int = 0,
                     level: float = LEVEL) -> tuple[Measurement, pd.DataFrame]:
    """"No single model dominates": per task, the task's best model minus the overall best model (macro over
    tasks), in points, with a Bonferroni-adjusted bootstrap interval per task (level ``1 - (1-level)/n_tasks``).

    The measurement is the task with the largest lower bound (a positive lower bound: some task has a
    significantly better model than the overall best). Also returns the per-task table.
    """
    Y = np.asarray(Y, float)
    tasks = np.asarray(tasks)
    per = pd.DataFrame(Y, columns=list(models)).groupby(tasks).mean()
    overall = per.mean(axis=0)
    g = int(np.argmax(overall.to_numpy()))
    adj = 1 - (1 - level) / len(per)
    rows = []
    rng = np.random.default_rng(seed)
    for task in per.index:
        idx = np.flatnonzero(tasks == task)
        w = int(np.argmax(per.loc[task].to_numpy()))
        d = 100 * (Y[idx, w] - Y[idx, g])
        cnt = rng.multinomial(len(idx), np.full(len(idx), 1.0 / len(idx)), size=n_boot)
        lo, hi = interval(cnt @ d / len(idx), adj)
        rows.append({"task": task, "n": len(idx), "task_best": models[w], "overall_best": models[g],
                     "margin_pt": float(d.mean()), "ci_low": min(lo, float(d.mean())), "ci_high": max(hi, float(d.mean()))})
    tab = pd.DataFrame(rows)
    k = int(tab["ci_low"].idxmax())
    r = tab.loc[k]
    m = Measurement(float(r["margin_pt"]), (float(r["ci_low"]), float(r["ci_high"])), int(r["n"]),
                    display=shown(float(r["margin_pt"]), (float(r["ci_low"]), float(r["ci_high"]))),
                    note=f"{r['task']}: {r['task_best']} beats the overall best {r['overall_best']} "
                         f"(Bonferroni over {len(tab)} tasks); tasks won by another model: "
                         f"{int((tab['task_best'] != tab['overall_best']).sum())} of {len(tab)}")
    return m, tab


def top_k_specialists(Y: np.ndarray, tasks: np.ndarray, models: Sequence[str], k: int = 4, *, n_boot: int,
                      seed: int = 0, level: float = LEVEL) -> tuple[Measurement, pd.DataFrame]:
    """The paper's Figure 1 on a public pool: among the ``k`` models with the highest macro accuracy over
    ``tasks`` (the "top 4 models"), does the highest-scoring model change with the task (knowledge element)?

    :func:`task_specialists` restricted to those ``k`` models: per task, the task's best top-``k`` model minus
    the top-``k``'s overall best, with a Bonferroni-adjusted bootstrap interval; the measurement is the task with
    the largest lower bound (positive: some element has another best model, significantly).
    """
    Y = np.asarray(Y, float)
    tasks = np.asarray(tasks)
    if not 2 <= k <= Y.shape[1]:
        raise ValueError(f"k must be between 2 and the number of models ({Y.shape[1]}), got {k}")
    macro = pd.DataFrame(Y).groupby(tasks).mean().mean(axis=0).to_numpy()
    top = [int(t) for t in np.argsort(-macro, kind="stable")[:k]]
    m, tab = task_specialists(Y[:, top], tasks, [models[t] for t in top], n_boot=n_boot, seed=seed, level=level)
    note = f"top {k} by macro accuracy: {', '.join(models[t] for t in top)}; " + m.note
    return Measurement(m.value, m.ci, m.n, note=note, display=m.display), tab


def t_interval(x: Sequence[float], level: float = LEVEL) -> tuple[float, float, float]:
    """Mean and t-interval over replicates (``nan`` interval for one replicate)."""
    from scipy import stats

    x = np.asarray(x, float)
    m = float(x.mean())
    if len(x) < 2:
        return m, float("nan"), float("nan")
    half = float(stats.t.ppf((1 + level) / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))
    return m, m - half, m + half


# ---------------------------------------------------------------------------------------------
# the registry's public-data claims, measured on one routed split

MIXED, KNOW, CAP = "InferenceDynamics (mixed)", "Routing by Knowledge", "Routing by Capability"
#: "nearly equivalent performance" of §4.5, read as a performance ratio of at least 99 %
PR_FLOOR = 99.0
#: the paper's cost-constrained setting (§4.5), in 1/USD
BETA_PAPER = 15.0


def router_measurements(split: RoutedSplit, boot: Bootstrap) -> dict[str, Measurement]:
    """Mixed, knowledge-only and capability-only routers against the best single model, and the mixed
    router against both single-signal routers (all in accuracy points, joint bootstrap)."""
    return {
        "ood-router-beats-best": gain_over_single(split, boot, MIXED),
        "ood-knowledge-beats-best": gain_over_single(split, boot, KNOW),
        "ood-capability-beats-best": gain_over_single(split, boot, CAP),
        "ood-both-signals": min_gain(split, boot, MIXED, [KNOW, CAP]),
    }


def cheaper_half(split: RoutedSplit) -> list[int]:
    """The cheaper half of the pool (lowest mean cost per query on the split; ``T // 2`` models)."""
    order = np.argsort(split.C.mean(axis=0), kind="stable")
    return [int(t) for t in order[: len(split.models) // 2]]


def sweep_measurements(split: RoutedSplit, boot: Bootstrap, sweep: Mapping[float, np.ndarray]) -> dict[str, Measurement]:
    """The §4.5 / §5.1 claims from the mixed router's decisions at each beta (``sweep`` must hold 0, 15 and
    at least one larger beta)."""
    betas = sorted(sweep)
    if 0.0 not in sweep or BETA_PAPER not in sweep:
        raise ValueError(f"the sweep needs beta = 0 and beta = {BETA_PAPER:g}; it has {betas}")
    out: dict[str, Measurement] = {}
    r0 = ratios(split, boot, sweep[0.0])
    out["beta0-cost"] = Measurement(r0["cr"][0], r0["cr"][1:], split.n, display=shown(r0["cr"][0], r0["cr"][1:], "%", 1, False),
                                    note=f"performance ratio at beta = 0: {r0['pr'][0]:.1f} % [{r0['pr'][1]:.1f}, {r0['pr'][2]:.1f}]")
    r15 = ratios(split, boot, sweep[BETA_PAPER])
    same = bool(np.array_equal(sweep[BETA_PAPER], sweep[0.0]))
    why = ("the decisions at beta = 15 equal those at beta = 0: with an error priced at 1/15 USD no query's "
           "estimated cost difference outweighs its estimated quality difference in this pool" if same else
           f"{np.mean(sweep[BETA_PAPER] != sweep[0.0]):.1%} of the decisions differ from beta = 0")
    out["beta15-perf"] = Measurement(r15["pr"][0] - 100, (r15["pr"][1] - 100, r15["pr"][2] - 100), split.n,
                                     display="PR " + shown(r15["pr"][0], r15["pr"][1:], "%", 1, False), note=why)
    out["beta15-cost"] = Measurement(r15["cr"][0], r15["cr"][1:], split.n, note=why, display=shown(r15["cr"][0], r15["cr"][1:], "%", 1, False))
    m, sel = cheapest_at_floor(split, boot, sweep, PR_FLOOR)
    out["beta-half-cost"] = m
    cheap = cheaper_half(split)
    sh = share_to(split, boot, sweep[0.0], cheap)
    flat = sh.ci[0] == sh.ci[1]
    out["cheap-rarely-chosen"] = Measurement(sh.value, sh.ci, sh.n, display=sh.display, note="cheaper half: " + ", ".join(split.models[t] for t in cheap) + (
        "; within every category the router sends all questions to the cheaper half or none, so resampling within "
        "categories cannot move the share" if flat else ""))
    top = betas[-1]
    rt = ratios(split, boot, sweep[top])
    d = np.column_stack([split.cost(sweep[top]), split.cost(sweep[0.0]), split.cost(split.best)])
    pc, bc = boot.total(d)
    p = 100 * (pc[0] - pc[1]) / pc[2]
    lo, hi = _with_point(float(p), *interval(100 * (bc[:, 0] - bc[:, 1]) / bc[:, 2]))
    out["beta-shifts-cheaper"] = Measurement(float(p), (lo, hi), split.n, display=shown(float(p), (lo, hi), "points of CR", 1),
                                             note=f"cost ratio {r0['cr'][0]:.0f} % at beta = 0, {rt['cr'][0]:.0f} % at beta = {top:g}")
    return out


def describe(m: Measurement, unit: str = "points", digits: int = 2, *, signed: bool = True, scale: float = 1.0) -> str:
    """Prose for a measured value: ``+0.38 points (95 % CI −0.62 to +1.17)`` (``signed=False`` for levels
    such as ratios; ``scale`` multiplies value and interval, e.g. 100 for a share shown in %)."""
    from capfront_lib.core import fmt

    def sgn(x: float) -> str:
        x = scale * float(x)
        return ("+" if signed and x > 0 else "") + fmt.number(x, decimals=digits)

    if m.ci is None:
        return f"{sgn(m.value)} {unit}"
    return f"{sgn(m.value)} {unit} (95 % CI {sgn(m.ci[0])} to {sgn(m.ci[1])})"


def num(x: float, sig: int = 3) -> str:
    """A number for prose: integral values without decimals (``20``, ``10,000``), others with ``sig`` digits."""
    from capfront_lib.core import fmt

    x = float(x)
    return fmt.number(int(x)) if x.is_integer() and abs(x) < 1e9 else fmt.number(x, sig)
