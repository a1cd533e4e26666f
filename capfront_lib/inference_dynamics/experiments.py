"""Experiments built from the router: the Table-1 analog, the dynamic pool (§5.3) and the tag-noise curve.

All accuracies are *macro* averages over evaluation benchmarks (mean of per-benchmark accuracies),
as the paper's "Avg." column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from capfront_lib.inference_dynamics.scoring import InferenceDynamicsRouter, TagCodes, Tags, choose


def group_accuracy(v: np.ndarray, groups: np.ndarray) -> pd.Series:
    """Per-group mean of ``v`` (groups in sorted order)."""
    return pd.Series(np.asarray(v, float)).groupby(np.asarray(groups)).mean()


@dataclass
class MethodEval:
    table: pd.DataFrame  # rows = methods; columns = groups + "avg" + "mean_cost_usd"
    choices: dict[str, np.ndarray]  # method -> chosen model index per eval query
    best_hindsight: int
    best_index: int
    router: InferenceDynamicsRouter | None = None  # the fitted mixed router (alpha, gamma, delta of the call)


def evaluate_methods(
    index_tags: "Sequence[Tags] | TagCodes",
    Y_index: np.ndarray,
    C_index: np.ndarray,
    eval_tags: "Sequence[Tags] | TagCodes",
    Y_eval: np.ndarray,
    C_eval: np.ndarray,
    models: Sequence[str],
    groups: np.ndarray,
    *,
    alpha: float = 0.5,
    beta: float = 0.0,
    gamma: float = 1.0,
    delta: float = 1.0,
    P_eval: np.ndarray | None = None,
    seed: int | np.random.Generator = 0,
    router_kwargs: dict | None = None,
) -> MethodEval:
    """The rows of Table 1 on one index/eval split: singles, best single (hindsight and on index),
    random (expected and one seeded draw), routing by knowledge / capability / mixed, mixed with
    ``alpha=0``, hindsight oracle and (if true probabilities ``P_eval`` are known) the Bayes oracle."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    models = list(models)
    T = len(models)
    n = len(Y_eval)
    groups = np.asarray(groups)
    if len(groups) != n:
        raise ValueError(f"groups has {len(groups)} entries for {n} evaluation queries")
    rk = router_kwargs or {}
    idx = np.arange(n)
    choices: dict[str, np.ndarray] = {}
    rows: dict[str, pd.Series] = {}

    def add(name: str, ch: np.ndarray) -> None:
        choices[name] = ch
        rows[name] = _row(Y_eval[idx, ch], C_eval[idx, ch], groups)

    for t, m in enumerate(models):
        add(m, np.full(n, t))
    single_avg = np.array([rows[m]["avg"] for m in models])
    best_h = int(np.argmax(single_avg))
    best_i = int(np.argmax(Y_index.mean(axis=0)))
    add("Best single (hindsight)", np.full(n, best_h))
    add("Best single (on index)", np.full(n, best_i))
    exp = pd.concat([rows[m] for m in models], axis=1).mean(axis=1)
    rows["Random (expected)"] = exp
    add("Random (seeded draw)", rng.integers(0, T, n))
    router = InferenceDynamicsRouter(alpha, beta, gamma, delta, **rk).fit(index_tags, Y_index, C_index, models)
    for name, g, d in (("Routing by Knowledge", 1.0, 0.0), ("Routing by Capability", 0.0, 1.0), ("InferenceDynamics (mixed)", gamma, delta)):
        A, B = router.decompose(eval_tags, gamma=g, delta=d)
        add(name, choose(A - beta * B, B))
    r0 = InferenceDynamicsRouter(0.0, beta, gamma, delta, **rk).fit(index_tags, Y_index, C_index, models)
    add("Mixed, alpha=0", r0.route(eval_tags))
    add("Oracle (hindsight)", choose(Y_eval, C_eval))
    if P_eval is not None:
        add("Oracle (Bayes)", np.argmax(P_eval, axis=1))
    table = pd.DataFrame(rows).T
    table.index.name = "method"
    return MethodEval(table, choices, best_h, best_i, router)


def _row(v: np.ndarray, c: np.ndarray, groups: np.ndarray) -> pd.Series:
    g = group_accuracy(v, groups)
    out = g.copy()
    out["avg"] = g.mean()
    out["mean_cost_usd"] = float(np.mean(c))
    return out


def gap_captured(table: pd.DataFrame, router: str = "InferenceDynamics (mixed)", oracle: str = "Oracle (Bayes)",
                 best: str = "Best single (hindsight)") -> float:
    """Share of the (oracle - best single) gap that the router closes: ``(router - best) / (oracle - best)``."""
    den = table.loc[oracle, "avg"] - table.loc[best, "avg"]
    return float((table.loc[router, "avg"] - table.loc[best, "avg"]) / den) if den > 0 else float("nan")


def dynamic_pool(
    index_tags: "Sequence[Tags] | TagCodes",
    Y_index: np.ndarray,
    C_index: np.ndarray,
    eval_tags: "Sequence[Tags] | TagCodes",
    Y_eval: np.ndarray,
    models: Sequence[str],
    order: Sequence[str],
    groups: np.ndarray,
    *,
    alpha: float = 0.5,
    beta: float = 0.0,
    gamma: float = 1.0,
    delta: float = 1.0,
    return_choices: bool = False,
) -> "pd.DataFrame | tuple[pd.DataFrame, list[np.ndarray]]":
    """§5.3: start from ``order[0]``, add one model per step with :meth:`InferenceDynamicsRouter.add_model`
    (no re-profiling), route the evaluation set after each step. Per step: pool size, added model, router
    accuracy, best-in-pool accuracy (hindsight), hindsight oracle, router rank among {pool singles,
    router}, whether old profile columns stayed bitwise equal and every decision is the old one or the new model."""
    models = list(models)
    pos = []
    for m in order:
        if m not in models:
            raise ValueError(f"order: model {m!r} is not in the pool {models}")
        pos.append(models.index(m))
    if len(set(pos)) != len(pos):
        raise ValueError("order lists a model twice")
    groups = np.asarray(groups)
    n = len(Y_eval)
    idx = np.arange(n)
    router = InferenceDynamicsRouter(alpha, beta, gamma, delta).fit(index_tags, Y_index[:, pos[:1]], C_index[:, pos[:1]], [order[0]])
    rows = []
    steps: list[np.ndarray] = []
    prev = None
    for step in range(len(pos)):
        if step > 0:
            old_k = router.knowledge.sum_ws.copy()
            old_c = router.capability.sum_ws.copy()
            router.add_model(order[step], Y_index[:, pos[step]], C_index[:, pos[step]])
            unchanged = bool(np.array_equal(router.knowledge.sum_ws[:, :-1], old_k)
                             and np.array_equal(router.capability.sum_ws[:, :-1], old_c))
        else:
            unchanged = True
        cur = pos[: step + 1]
        ch_local = router.route(eval_tags)
        ch = np.asarray(cur)[ch_local]
        consistent = True if prev is None else bool(np.all((ch == prev) | (ch == pos[step])))
        prev = ch
        steps.append(ch)
        r_acc = group_accuracy(Y_eval[idx, ch], groups).mean()
        singles = np.array([group_accuracy(Y_eval[:, t], groups).mean() for t in cur])
        oracle = group_accuracy(Y_eval[:, cur].max(axis=1), groups).mean()
        rows.append({
            "pool_size": step + 1,
            "added": order[step],
            "router": r_acc,
            "best_in_pool": singles.max(),
            "best_in_pool_model": order[int(np.argmax(singles))],
            "oracle": oracle,
            "router_rank": int(1 + np.sum(singles > r_acc)),
            "old_profiles_unchanged": unchanged,
            "decisions_old_or_new": consistent,
        })
    frame = pd.DataFrame(rows)
    return (frame, steps) if return_choices else frame


def selection_shares(choices: np.ndarray, groups: np.ndarray, models: Sequence[str]) -> pd.DataFrame:
    """Share of each group's queries sent to each model (rows = groups, columns = models)."""
    df = pd.crosstab(pd.Series(np.asarray(groups), name="group"), pd.Series(np.asarray(models)[choices], name="model"), normalize="index")
    return df.reindex(columns=list(models), fill_value=0.0)


def mixed_gain(index_tags, Y_index, C_index, eval_tags, Y_eval, groups, *, alpha=0.5, gamma=1.0, delta=1.0) -> float:
    """Macro accuracy of the mixed router (beta=0) minus that of the best single model in hindsight.

    Tags are lists of :class:`Tags` or :class:`TagCodes`."""
    models = [f"m{t}" for t in range(Y_index.shape[1])]
    r = InferenceDynamicsRouter(alpha, 0.0, gamma, delta).fit(index_tags, Y_index, C_index, models)
    ch = r.route(eval_tags)
    acc = group_accuracy(Y_eval[np.arange(len(ch)), ch], groups).mean()
    best = max(group_accuracy(Y_eval[:, t], groups).mean() for t in range(Y_eval.shape[1]))
    return float(acc - best)


def noise_gains(world, noises: Sequence[float], *, seed: int = 0, alpha: float = 0.5, gamma: float = 1.0,
                delta: float = 1.0) -> list[float]:
    """Gain of the mixed router over the best single model when the world's latent tags (index and eval)
    are corrupted with probability ``noise`` each (one :class:`MetadataTagger` draw per noise level)."""
    from capfront_lib.inference_dynamics.tagging import MetadataTagger

    mi, me = world.mask("index"), world.mask("eval")
    g = world.queries["benchmark"].to_numpy()[me]
    out = []
    for j, p in enumerate(noises):
        codes = MetadataTagger(tag_noise=float(p), seed=seed + 1000 * j).tag_codes(world.codes)
        out.append(mixed_gain(codes.subset(mi), world.Y[mi], world.C[mi], codes.subset(me), world.Y[me], g,
                              alpha=alpha, gamma=gamma, delta=delta))
    return out


def tag_noise_curve(worlds, noises: Sequence[float], *, seed: int = 0) -> pd.DataFrame:
    """Mean and sd over ``worlds`` of :func:`noise_gains` (world ``k`` uses seed ``seed + k``)."""
    gains = np.array([noise_gains(w, noises, seed=seed + k) for k, w in enumerate(worlds)])
    return noise_curve_frame(noises, gains)


def noise_curve_frame(noises: Sequence[float], gains: np.ndarray) -> pd.DataFrame:
    """Per noise level: mean, sd and a 95 % t-interval of the gain over replicates (rows of ``gains``)."""
    from scipy import stats

    gains = np.atleast_2d(np.asarray(gains, float))
    n = gains.shape[0]
    mean = gains.mean(axis=0)
    sd = gains.std(axis=0, ddof=1) if n > 1 else np.zeros(gains.shape[1])
    half = stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n) if n > 1 else np.full(gains.shape[1], np.nan)
    return pd.DataFrame({"noise": [float(p) for p in noises], "gain_mean": mean, "gain_sd": sd,
                         "ci_low": mean - half, "ci_high": mean + half, "n": n})


def text_noise_curve(make_world, text_noises: Sequence[float]) -> pd.DataFrame:
    """Gain with a :class:`KeywordTagger` (built from the world's element lexicons) against text noise;
    ``make_world(text_noise)`` returns a world. Also reports the gain with a stricter tagger (an element
    needs >= 2 hits), with the latent tags, the share of queries whose top knowledge tag the keyword
    tagger recovers and its mean number of knowledge tags."""
    from capfront_lib.inference_dynamics.tagging import KeywordTagger

    rows = []
    for tn in text_noises:
        w = make_world(float(tn))
        mi, me = w.mask("index"), w.mask("eval")
        lex_k = {e: w.element_words[e] for e in w.knowledge_elements}
        lex_c = {e: w.element_words[e] for e in w.capability_elements}
        g = w.queries["benchmark"].to_numpy()[me]
        kw = KeywordTagger(lex_k, lex_c)
        ck, cc = kw.counts(w.queries)
        c1, c2 = kw.codes_from_counts(ck, cc, 1), kw.codes_from_counts(ck, cc, 2)
        top = float(np.mean(c1.k[:, 0] == w.codes.k[:, 0]))
        n_k = float(np.mean((c1.k >= 0).sum(axis=1)))
        rows.append({
            "text_noise": float(tn),
            "gain_keyword": mixed_gain(c1.subset(mi), w.Y[mi], w.C[mi], c1.subset(me), w.Y[me], g),
            "gain_keyword_min2": mixed_gain(c2.subset(mi), w.Y[mi], w.C[mi], c2.subset(me), w.Y[me], g),
            "mean_knowledge_tags": n_k,
            "gain_latent": mixed_gain(w.tag_codes("index"), w.Y[mi], w.C[mi], w.tag_codes("eval"), w.Y[me], g),
            "top_tag_recovered": top,
        })
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# simulated replicates (one pmap item each)

#: rows of the Table-1 analog summarised over replicates
SUMMARY_ROWS = ("Best single (hindsight)", "Best single (on index)", "Random (expected)", "Random (seeded draw)",
                "Routing by Knowledge", "Routing by Capability", "InferenceDynamics (mixed)", "Mixed, alpha=0",
                "Oracle (hindsight)", "Oracle (Bayes)")


def world_tag_codes(world, tagger: str = "metadata", *, tag_noise: float = 0.0, seed: int = 0) -> TagCodes:
    """Tags of every query of a synthetic world: ``metadata`` (latent lists, corrupted with ``tag_noise``),
    ``keyword`` or ``tfidf`` (read from the pseudo-text with the world's element lexicons)."""
    from capfront_lib.inference_dynamics.tagging import KeywordTagger, MetadataTagger, TfidfTagger

    if tagger == "metadata":
        return MetadataTagger(tag_noise=tag_noise, seed=seed).tag_codes(world.codes)
    if not world.queries["text"].astype(bool).any():
        raise ValueError(f"tagger {tagger!r} reads query text, but the world was drawn with with_text=False")
    lex_k = {e: world.element_words[e] for e in world.knowledge_elements}
    lex_c = {e: world.element_words[e] for e in world.capability_elements}
    if tagger == "keyword":
        kw = KeywordTagger(lex_k, lex_c)
        return kw.codes_from_counts(*kw.counts(world.queries))
    if tagger == "tfidf":
        tf = TfidfTagger({e: " ".join(v) for e, v in lex_k.items()}, {e: " ".join(v) for e, v in lex_c.items()})
        return TagCodes.from_tags(tf.tag(world.queries), world.knowledge_elements, world.capability_elements)
    raise ValueError(f"tagger must be 'metadata', 'keyword' or 'tfidf' for a synthetic world, got {tagger!r}")


def synthetic_replicate(item: dict) -> dict:
    """One simulated replicate: draw a world, tag it, evaluate every row of the Table-1 analog and the
    tag-noise gains. ``item`` holds ``seed`` (the replicate's own seed), ``world`` (keyword arguments of
    :func:`make_routing_world`), ``tagger``, ``tag_noise``, ``router`` (alpha, beta, gamma, delta and
    router keyword arguments) and ``noise_grid``. Module-level and deterministic given ``item`` (a
    :func:`capfront_lib.core.parallel.pmap` item)."""
    from capfront_lib.inference_dynamics.synthetic import make_routing_world

    seed = int(item["seed"])
    tagger = item.get("tagger", "metadata")
    w = make_routing_world(seed, with_text=tagger != "metadata", **item["world"])
    codes = world_tag_codes(w, tagger, tag_noise=float(item.get("tag_noise", 0.0)), seed=seed)
    mi, me = w.mask("index"), w.mask("eval")
    groups = w.queries["benchmark"].to_numpy()[me]
    rk = dict(item.get("router", {}))
    res = evaluate_methods(codes.subset(mi), w.Y[mi], w.C[mi], codes.subset(me), w.Y[me], w.C[me], w.models, groups,
                           alpha=rk.pop("alpha", 0.5), beta=rk.pop("beta", 0.0), gamma=rk.pop("gamma", 1.0),
                           delta=rk.pop("delta", 1.0), P_eval=w.P[me], seed=seed, router_kwargs=rk)
    gains = noise_gains(w, item.get("noise_grid", ()), seed=seed) if item.get("noise_grid") else []
    return {"seed": seed, "table": res.table, "gap_captured": gap_captured(res.table), "noise_gains": gains}


def replicate_summary(reps: Sequence[dict], rows: Sequence[str] = SUMMARY_ROWS) -> pd.DataFrame:
    """Macro accuracy of each row over replicates: mean, sd and a 95 % t-interval (``n`` replicates)."""
    from capfront_lib.inference_dynamics.evidence import t_interval

    avgs = pd.DataFrame({r["seed"]: r["table"].loc[list(rows), "avg"] for r in reps})
    out = []
    for name, x in avgs.iterrows():
        m, lo, hi = t_interval(x.to_numpy())
        out.append({"method": name, "mean": m, "sd": float(x.std(ddof=1)) if len(x) > 1 else float("nan"),
                    "ci_low": lo, "ci_high": hi, "n": len(x)})
    return pd.DataFrame(out)
