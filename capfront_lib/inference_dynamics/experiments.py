"""Experiments built from the router: the Table-1 analog, the dynamic pool (§5.3) and the tag-noise curve.

All accuracies are *macro* averages over evaluation benchmarks (mean of per-benchmark accuracies),
as the paper's "Avg." column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from capfront_lib.inference_dynamics.scoring import InferenceDynamicsRouter, Tags, choose


def group_accuracy(v: np.ndarray, groups: np.ndarray) -> pd.Series:
    """Per-group mean of ``v`` (groups in sorted order)."""
    return pd.Series(np.asarray(v, float)).groupby(np.asarray(groups)).mean()


@dataclass
class MethodEval:
    table: pd.DataFrame  # rows = methods; columns = groups + "avg" + "mean_cost_usd"
    choices: dict[str, np.ndarray]  # method -> chosen model index per eval query
    best_hindsight: int
    best_index: int


def evaluate_methods(
    index_tags: Sequence[Tags],
    Y_index: np.ndarray,
    C_index: np.ndarray,
    eval_tags: Sequence[Tags],
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
    return MethodEval(table, choices, best_h, best_i)


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
    index_tags: Sequence[Tags],
    Y_index: np.ndarray,
    C_index: np.ndarray,
    eval_tags: Sequence[Tags],
    Y_eval: np.ndarray,
    models: Sequence[str],
    order: Sequence[str],
    groups: np.ndarray,
    *,
    alpha: float = 0.5,
    beta: float = 0.0,
    gamma: float = 1.0,
    delta: float = 1.0,
) -> pd.DataFrame:
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
    return pd.DataFrame(rows)


def selection_shares(choices: np.ndarray, groups: np.ndarray, models: Sequence[str]) -> pd.DataFrame:
    """Share of each group's queries sent to each model (rows = groups, columns = models)."""
    df = pd.crosstab(pd.Series(np.asarray(groups), name="group"), pd.Series(np.asarray(models)[choices], name="model"), normalize="index")
    return df.reindex(columns=list(models), fill_value=0.0)


def mixed_gain(index_tags, Y_index, C_index, eval_tags, Y_eval, groups, *, alpha=0.5, gamma=1.0, delta=1.0) -> float:
    """Macro accuracy of the mixed router (beta=0) minus that of the best single model in hindsight."""
    models = [f"m{t}" for t in range(Y_index.shape[1])]
    r = InferenceDynamicsRouter(alpha, 0.0, gamma, delta).fit(index_tags, Y_index, C_index, models)
    ch = r.route(eval_tags)
    acc = group_accuracy(Y_eval[np.arange(len(ch)), ch], groups).mean()
    best = max(group_accuracy(Y_eval[:, t], groups).mean() for t in range(Y_eval.shape[1]))
    return float(acc - best)


def tag_noise_curve(worlds, noises: Sequence[float], *, seed: int = 0) -> pd.DataFrame:
    """Gain of the mixed router over the best single model when metadata tags (index and eval) are
    corrupted with probability ``noise`` each; mean and sd over ``worlds``."""
    from capfront_lib.inference_dynamics.tagging import MetadataTagger

    rows = []
    for p in noises:
        gains = []
        for k, w in enumerate(worlds):
            mi, me = w.mask("index"), w.mask("eval")
            tg = MetadataTagger(tag_noise=float(p), seed=seed + k, universe_k=w.knowledge_elements, universe_c=w.capability_elements)
            gains.append(mixed_gain(tg.tag(w.queries[mi]), w.Y[mi], w.C[mi], tg.tag(w.queries[me]), w.Y[me],
                                    w.queries["benchmark"][me].to_numpy()))
        rows.append({"noise": float(p), "gain_mean": float(np.mean(gains)), "gain_sd": float(np.std(gains, ddof=1)) if len(gains) > 1 else 0.0})
    return pd.DataFrame(rows)


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
        g = w.queries["benchmark"][me].to_numpy()
        kw = KeywordTagger(lex_k, lex_c)
        ck, cc = kw.counts(w.queries)
        tags1, tags2 = kw.tags_from_counts(ck, cc, 1), kw.tags_from_counts(ck, cc, 2)
        ti, te = [t for t, m in zip(tags1, mi) if m], [t for t, m in zip(tags1, me) if m]
        ti2, te2 = [t for t, m in zip(tags2, mi) if m], [t for t, m in zip(tags2, me) if m]
        top = np.mean([t.knowledge[:1] == tuple(k[:1]) for t, k in zip(tags1, w.queries["knowledge"])])
        n_k = np.mean([len(t.knowledge) for t in tags1])
        rows.append({
            "text_noise": float(tn),
            "gain_keyword": mixed_gain(ti, w.Y[mi], w.C[mi], te, w.Y[me], g),
            "gain_keyword_min2": mixed_gain(ti2, w.Y[mi], w.C[mi], te2, w.Y[me], g),
            "mean_knowledge_tags": float(n_k),
            "gain_latent": mixed_gain(w.tags("index"), w.Y[mi], w.C[mi], w.tags("eval"), w.Y[me], g),
            "top_tag_recovered": float(top),
        })
    return pd.DataFrame(rows)
