"""Real public logs for the router (spec §3.3): MMLU-Pro (29 models) and ZeroEval GSM8K, read via ``CAPFRONT_DATA_DIR``.

The matrices hold 0/1 correctness and output length (characters) per item and model, no question
text. Cost per query = ``(input_tokens * $in + output_chars / chars_per_token * $out) / 1e6`` with list
prices in USD per million tokens (:data:`DEFAULT_PRICES`, each with its source). Loading and
validation of the correctness matrix go through the shared :func:`capfront_lib.core.evallog.load_log`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from capfront_lib.core.env import data_dir as _data_dir
from capfront_lib.core.evallog import load_log

#: USD per million tokens (input, output) and where the number comes from.
DEFAULT_PRICES: dict[str, tuple[float, float, str]] = {
    "gemini-1.5-pro-002": (1.25, 5.0, "FrugalGPT serviceinfo.json google/gemini-1.5-pro"),
    "gemini-1.5-flash-002": (0.075, 0.30, "FrugalGPT serviceinfo.json google/gemini-1.5-flash"),
    "DeepSeek-Coder-V2": (0.14, 0.28, "litellm deepseek/deepseek-coder"),
    "Meta-Llama-3_1-70B-Instruct": (0.88, 0.88, "litellm together_ai/meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo"),
    "Meta-Llama-3_1-8B-Instruct": (0.18, 0.18, "litellm together_ai/meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"),
    "Meta-Llama-3_1-70B": (0.88, 0.88, "assumption: same as the 70B Instruct serving price"),
    "jamba-1.5-large": (2.0, 8.0, "litellm jamba-1.5-large"),
    "Qwen1.5-110B": (1.8, 1.8, "assumption: typical 2024 hosted price of a ~110B open model"),
    "mathstral-7B": (0.2, 0.2, "assumption: typical 2024 hosted price of a 7B open model"),
    "Mixtral-8x7B-Instruct-v0.1": (0.6, 0.6, "litellm together_ai/mistralai/Mixtral-8x7B-Instruct-v0.1"),
    "c4ai-command-r-v01": (0.15, 0.6, "litellm command-r-08-2024 (newer version than the logged v01)"),
}

DEFAULT_POOL = (
    "gemini-1.5-pro-002",
    "gemini-1.5-flash-002",
    "DeepSeek-Coder-V2",
    "Meta-Llama-3_1-70B-Instruct",
    "Meta-Llama-3_1-70B",
    "jamba-1.5-large",
    "Qwen1.5-110B",
    "mathstral-7B",
)

#: MMLU-Pro column -> ZeroEval GSM8K column ("approximate identity": versions differ).
GSM8K_ALIASES: dict[str, str] = {
    "gemini-1.5-pro-002": "gemini-1.5-pro",
    "gemini-1.5-flash-002": "gemini-1.5-flash",
    "Meta-Llama-3_1-70B-Instruct": "Meta-Llama-3.1-70B-Instruct",
    "Meta-Llama-3_1-8B-Instruct": "Meta-Llama-3.1-8B-Instruct",
    "DeepSeek-Coder-V2": "DeepSeek-Coder-V2-0724",
    "Mixtral-8x7B-Instruct-v0.1": "Mixtral-8x7B-Instruct-v0.1",
    "c4ai-command-r-v01": "command-r",
}

HOLDOUT_SOURCES = ("stemez", "theoremQA", "scibench")


@dataclass
class RealLog:
    """Items (metadata), correctness ``Y`` and cost ``C`` (``n x T``), model names, prices used."""

    items: pd.DataFrame
    Y: np.ndarray
    C: np.ndarray
    models: list[str]
    prices: pd.DataFrame
    note: str
    has_cost: bool = True  # False: the log had no cost_usd column and C is all zeros


def _resolve(data_dir: str | Path | None) -> Path:
    d = _data_dir(data_dir)
    if d is None:
        raise FileNotFoundError("no public data: set CAPFRONT_DATA_DIR (see ../shared/data/README.md)")
    return d


def price_frame(models: Sequence[str], price_table: Mapping[str, Sequence[float]] | None = None) -> pd.DataFrame:
    """Prices for ``models``: explicit ``price_table`` entries ``{model: [in, out]}`` win over :data:`DEFAULT_PRICES`."""
    rows = []
    for m in models:
        if price_table and m in price_table:
            pin, pout = price_table[m][:2]
            src = "price_table parameter"
        elif m in DEFAULT_PRICES:
            pin, pout, src = DEFAULT_PRICES[m]
        else:
            raise ValueError(f"no price for model {m!r}: add it to price_table as {{'{m}': [usd_in, usd_out]}} per Mtok")
        if pin < 0 or pout < 0:
            raise ValueError(f"price_table: negative price for {m!r}")
        rows.append({"model": m, "usd_per_mtok_in": float(pin), "usd_per_mtok_out": float(pout), "source": src})
    return pd.DataFrame(rows).set_index("model")


def query_costs(output_chars: np.ndarray, prices: pd.DataFrame, input_tokens: float = 1500, chars_per_token: float = 4.0) -> np.ndarray:
    """``(input_tokens * $in + output_chars / chars_per_token * $out) / 1e6`` per query and model (USD)."""
    if input_tokens < 0 or chars_per_token <= 0:
        raise ValueError("input_tokens must be >= 0 and chars_per_token > 0")
    oc = np.asarray(output_chars, float)
    if np.isnan(oc).any() or (oc < 0).any():
        raise ValueError("output_chars has missing or negative cells")
    pin = prices["usd_per_mtok_in"].to_numpy()[None, :]
    pout = prices["usd_per_mtok_out"].to_numpy()[None, :]
    return (input_tokens * pin + oc / chars_per_token * pout) / 1e6


def load_mmlu_pro(
    data_dir: str | Path | None = None,
    pool: Sequence[str] = DEFAULT_POOL,
    *,
    input_tokens: float = 1500,
    chars_per_token: float = 4.0,
    price_table: Mapping[str, Sequence[float]] | None = None,
) -> RealLog:
    """MMLU-Pro correctness and costs for ``pool``; items with a blank cell in the pool are dropped (and counted)."""
    d = _resolve(data_dir) / "MMLU-Pro"
    pool = list(pool)
    if len(pool) < 2:
        raise ValueError(f"pool needs at least 2 models, got {pool}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log = load_log(d / "mmlu_pro_correct.csv", form="wide", missing="keep_partial", min_models=2)
    unknown = [m for m in pool if m not in log.models]
    if unknown:
        raise ValueError(f"pool: models {unknown} are not in MMLU-Pro; available: {log.models}")
    sub = log.select(models=pool)
    Y = sub.wide().to_numpy()
    keep = ~np.isnan(Y).any(axis=1)
    ids = sub.query_ids[keep]
    items = pd.read_csv(d / "mmlu_pro_items.csv", dtype={"id": str}).set_index("id").loc[ids].reset_index()
    chars = pd.read_csv(d / "mmlu_pro_output_chars.csv", dtype={"id": str}).set_index("id").loc[ids, pool].to_numpy(float)
    chars = np.nan_to_num(chars, nan=0.0)
    prices = price_frame(pool, price_table)
    C = query_costs(chars, prices, input_tokens, chars_per_token)
    note = f"MMLU-Pro: {keep.sum()} of {len(keep)} items answered by all {len(pool)} pool models"
    return RealLog(items, Y[keep], C, pool, prices, note)


def load_gsm8k(
    data_dir: str | Path | None = None,
    pool: Sequence[str] = tuple(GSM8K_ALIASES),
    *,
    input_tokens: float = 1500,
    chars_per_token: float = 4.0,
    price_table: Mapping[str, Sequence[float]] | None = None,
) -> RealLog:
    """ZeroEval GSM8K for ``pool`` (MMLU-Pro names, mapped by :data:`GSM8K_ALIASES`); tags category ``math``."""
    d = _resolve(data_dir) / "ZeroEval"
    pool = list(pool)
    cols = []
    for m in pool:
        if m not in GSM8K_ALIASES:
            raise ValueError(f"pool: no GSM8K alias for {m!r}; known: {sorted(GSM8K_ALIASES)}")
        cols.append(GSM8K_ALIASES[m])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log = load_log(d / "gsm8k_correct.csv", form="wide", missing="keep_partial", min_models=2)
    sub = log.select(models=cols)
    Y = sub.wide().to_numpy()
    keep = ~np.isnan(Y).any(axis=1)
    ids = sub.query_ids[keep]
    chars = pd.read_csv(d / "gsm8k_output_chars.csv", dtype={"id": str}).set_index("id").loc[ids, cols].to_numpy(float)
    prices = price_frame(pool, price_table)
    C = query_costs(np.nan_to_num(chars, nan=0.0), prices, input_tokens, chars_per_token)
    items = pd.DataFrame({"id": ids, "category": "math", "src": "gsm8k-arithmetic word problems", "benchmark": "gsm8k"})
    note = f"GSM8K (ZeroEval): {keep.sum()} items; model versions differ from MMLU-Pro's (approximate identity)"
    return RealLog(items, Y[keep], C, pool, prices, note)


def split_mmlu_pro(items: pd.DataFrame, how: str = "by_source", holdout: Sequence[str] = HOLDOUT_SOURCES,
                   seed: int = 0, eval_frac: float = 0.4) -> np.ndarray:
    """Boolean mask of *evaluation* items: ``by_source`` (src prefix in ``holdout``), ``by_category``
    (category in ``holdout``) or ``random`` (share ``eval_frac``, in-distribution reference)."""
    if how == "by_source":
        pref = items["src"].astype(str).str.split("-").str[0]
        unknown = sorted(set(holdout) - set(pref))
        if unknown:
            raise ValueError(f"holdout: sources {unknown} do not occur; sources are {sorted(set(pref))}")
        m = pref.isin(list(holdout)).to_numpy()
    elif how == "by_category":
        unknown = sorted(set(holdout) - set(items["category"]))
        if unknown:
            raise ValueError(f"holdout: categories {unknown} do not occur")
        m = items["category"].isin(list(holdout)).to_numpy()
    elif how == "random":
        m = np.random.default_rng(seed).random(len(items)) < eval_frac
    else:
        raise ValueError(f"split must be 'by_source', 'by_category' or 'random', got {how!r}")
    if m.all() or not m.any():
        raise ValueError(f"split {how!r} with holdout {list(holdout)} leaves an empty index or evaluation set")
    return m


def paired_bootstrap(a: np.ndarray, b: np.ndarray, n_boot: int = 200, seed: int | np.random.Generator = 0,
                     level: float = 0.95, groups: np.ndarray | None = None) -> tuple[float, float, float]:
    """Mean of ``a - b`` (paired per query) and its percentile bootstrap CI (multinomial resampling weights).

    With ``groups`` the statistic is the macro mean (mean over groups of the per-group mean difference)
    and queries are resampled within their group (stratified bootstrap).
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("a and b must be 1-d arrays of the same length")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    d = a - b
    if groups is None:
        groups = np.zeros(len(d), dtype=int)
    groups = np.asarray(groups)
    if len(groups) != len(d):
        raise ValueError("groups must have one entry per query")
    labels = pd.unique(groups)
    point = float(np.mean([d[groups == g].mean() for g in labels]))
    boots = np.zeros(n_boot)
    for g in labels:
        dg = d[groups == g]
        n = len(dg)
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot)
        boots += counts @ dg / n
    boots /= len(labels)
    lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return point, float(lo), float(hi)


def load_stitched(data_dir: str | Path | None = None, *, input_tokens: float = 1500, chars_per_token: float = 4.0,
                  price_table: Mapping[str, Sequence[float]] | None = None) -> RealLog:
    """MMLU-Pro + ZeroEval GSM8K on the 7 models present in both (:data:`GSM8K_ALIASES`, approximate identity).

    ``items`` gains a ``benchmark`` column (``mmlu_pro`` / ``gsm8k``); GSM8K items get category ``math`` and
    subject ``arithmetic word problems``.
    """
    pool = list(GSM8K_ALIASES)
    a = load_mmlu_pro(data_dir, pool, input_tokens=input_tokens, chars_per_token=chars_per_token, price_table=price_table)
    b = load_gsm8k(data_dir, pool, input_tokens=input_tokens, chars_per_token=chars_per_token, price_table=price_table)
    ia = a.items.assign(benchmark="mmlu_pro")
    items = pd.concat([ia[["id", "category", "src", "benchmark"]], b.items[["id", "category", "src", "benchmark"]]], ignore_index=True)
    note = f"{a.note}; {b.note}"
    return RealLog(items, np.vstack([a.Y, b.Y]), np.vstack([a.C, b.C]), pool, a.prices, note)


def from_evallog(log, *, cost_per_query_usd: float | None = None) -> RealLog:
    """A :class:`RealLog` from a shared-core :class:`~capfront_lib.core.evallog.EvalLog` (bring your own log).

    Scores are the mean correctness over generations (``s_i^t`` of §3.3 with K = generations); costs are the
    mean ``cost_usd`` per query and model. The log needs ``category`` metadata (used as the knowledge tag) and
    complete cells. Without ``cost_usd`` the costs are a constant ``cost_per_query_usd`` if given, else zero
    with ``has_cost = False`` (cost-based sections must then say they are skipped).
    """
    if log.categories is None:
        raise ValueError(f"{log.source}: the log has no 'category' column; the router needs one tag per query")
    Y = log.wide("correct", generation=None).to_numpy(float)
    if np.isnan(Y).any():
        raise ValueError(f"{log.source}: some (query, model) cells are missing; load the log with missing='drop_queries'")
    if log.has("cost_usd"):
        C = log.wide("cost_usd", generation=None).to_numpy(float)
        if np.isnan(C).any():
            raise ValueError(f"{log.source}: column 'cost_usd' has missing cells")
    elif cost_per_query_usd is not None:
        C = np.full_like(Y, float(cost_per_query_usd))
    else:
        C = np.zeros_like(Y)
    items = pd.DataFrame({"id": list(log.query_ids), "category": log.categories.reindex(log.query_ids).astype(str).to_numpy()})
    prices = pd.DataFrame(index=pd.Index(log.models, name="model"))
    has_cost = bool(log.has("cost_usd") or cost_per_query_usd is not None)
    return RealLog(items, Y, C, list(log.models), prices,
                   f"{Path(str(log.source)).name}: {log.n_queries} queries × {log.n_models} models", has_cost)


# ---------------------------------------------------------------------------------------------
# out-of-distribution evaluation with whole categories held out (issue: "held-out categories")


def category_folds(categories: Sequence[str], n_folds: int, seed: int = 0) -> list[list[str]]:
    """Partition the distinct ``categories`` into ``n_folds`` disjoint folds of (nearly) equal size.

    The sorted categories are permuted with ``seed`` and dealt round-robin; ``n_folds`` equal to the
    number of categories gives leave-one-category-out in sorted order (no permutation). Each fold's
    categories are returned sorted.
    """
    cats = sorted({str(c) for c in categories})
    if not isinstance(n_folds, (int, np.integer)) or not 2 <= n_folds <= len(cats):
        raise ValueError(f"n_folds must be an integer between 2 and the number of categories ({len(cats)}), got {n_folds!r}")
    if n_folds == len(cats):
        return [[c] for c in cats]
    perm = [cats[i] for i in np.random.default_rng(seed).permutation(len(cats))]
    return [sorted(perm[k::n_folds]) for k in range(n_folds)]


def consolidate_split(tags: Sequence, ev: np.ndarray, *, threshold: float = 0.6, min_freq: int = 10):
    """Consolidate knowledge labels on the index part of a split (``ev`` = evaluation mask) and map the
    evaluation part with the fitted consolidator (unseen labels -> a similar index leader or ``'Other'``).

    Returns ``(index_tags, eval_tags, consolidator)``; capabilities are passed through unchanged.
    """
    from capfront_lib.inference_dynamics.scoring import Tags
    from capfront_lib.inference_dynamics.tagging import KnowledgeConsolidator

    ev = np.asarray(ev, bool)
    if len(ev) != len(tags):
        raise ValueError(f"ev has {len(ev)} entries for {len(tags)} tag lists")
    t_i = [t for t, e in zip(tags, ev) if not e]
    t_e = [t for t, e in zip(tags, ev) if e]
    cons = KnowledgeConsolidator(threshold=threshold, min_freq=min_freq)
    ki = cons.fit_transform([t.knowledge for t in t_i])
    ke = cons.transform([t.knowledge for t in t_e])
    return ([Tags(k, t.capabilities) for k, t in zip(ki, t_i)], [Tags(k, t.capabilities) for k, t in zip(ke, t_e)], cons)


def heldout_category_eval(
    log: RealLog,
    tags: Sequence,
    folds: Sequence[Sequence[str]],
    *,
    alpha: float = 0.5,
    beta: float = 0.0,
    gamma: float = 1.0,
    delta: float = 1.0,
    n_boot: int = 200,
    seed: int = 0,
    sim_threshold: float = 0.6,
    min_freq: int = 10,
    router_kwargs: dict | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Hold out each fold of whole categories in turn: profile on the other categories, route the fold.

    Per fold (one row): held-out categories, evaluation size, best single model of the fold in hindsight
    (macro accuracy over the fold's categories) and its accuracy, best model on the index part, the mixed
    router, routing by knowledge / by capability, expected random, hindsight oracle, the paired bootstrap
    difference mixed - best single with its CI (stratified by category), the share of evaluation queries
    whose knowledge list is entirely ``'Other'``, the number of index queries holding ``'Other'`` (its
    profile's support), the most chosen model and the share routed to the most chosen model.

    Pooled (the dict): every item is evaluated exactly once when the folds partition the categories, so
    the per-fold router decisions form one cross-fitted router over all categories; it is compared with
    the best single model over all categories (macro over categories), with a paired bootstrap CI;
    ``mean_fold_diff`` is the mean over folds of (router - best single *of that fold*).
    """
    from capfront_lib.inference_dynamics.experiments import evaluate_methods

    cats = log.items["category"].astype(str).to_numpy()
    flat = [c for f in folds for c in f]
    if len(set(flat)) != len(flat):
        raise ValueError("folds must be disjoint (a category occurs in two folds)")
    unknown = sorted(set(flat) - set(cats))
    if unknown:
        raise ValueError(f"folds: categories {unknown} do not occur in the log")
    n, T = log.Y.shape
    models = list(log.models)
    pooled_choice = np.full(n, -1)
    rows = []
    for k, fold in enumerate(folds):
        ev = np.isin(cats, list(fold))
        if ev.all() or not ev.any():
            raise ValueError(f"fold {list(fold)} leaves an empty index or evaluation set")
        ti, te, _ = consolidate_split(tags, ev, threshold=sim_threshold, min_freq=min_freq)
        g = cats[ev]
        res = evaluate_methods(ti, log.Y[~ev], log.C[~ev], te, log.Y[ev], log.C[ev], models, g, alpha=alpha, beta=beta,
                               gamma=gamma, delta=delta, seed=seed + k, router_kwargs=router_kwargs)
        ch = res.choices["InferenceDynamics (mixed)"]
        Ye = log.Y[ev]
        d, lo, hi = paired_bootstrap(Ye[np.arange(len(ch)), ch], Ye[:, res.best_hindsight], n_boot=n_boot, seed=seed + k, groups=g)
        pooled_choice[ev] = ch
        counts = np.bincount(ch, minlength=T)
        tab = res.table
        rows.append({
            "fold": k,
            "categories": " + ".join(fold),
            "n_eval": int(ev.sum()),
            "best_single": models[res.best_hindsight],
            "best_single_avg": float(tab.loc["Best single (hindsight)", "avg"]),
            "best_on_index": models[res.best_index],
            "mixed_avg": float(tab.loc["InferenceDynamics (mixed)", "avg"]),
            "knowledge_avg": float(tab.loc["Routing by Knowledge", "avg"]),
            "capability_avg": float(tab.loc["Routing by Capability", "avg"]),
            "random_expected_avg": float(tab.loc["Random (expected)", "avg"]),
            "oracle_avg": float(tab.loc["Oracle (hindsight)", "avg"]),
            "diff": d, "ci_low": lo, "ci_high": hi,
            "share_all_other": float(np.mean([all(x == "Other" for x in t.knowledge) for t in te])),
            "n_index_other": int(sum("Other" in t.knowledge for t in ti)),
            "top_routed": models[int(np.argmax(counts))],
            "top_routed_share": float(counts.max() / len(ch)),
        })
    per_fold = pd.DataFrame(rows)
    covered = pooled_choice >= 0
    pooled: dict = {"n_folds": len(folds), "n_eval": int(covered.sum()), "covers_all_items": bool(covered.all())}
    if covered.any():
        Yc, gc = log.Y[covered], cats[covered]
        chc = pooled_choice[covered]
        macro = pd.DataFrame(Yc, columns=models).groupby(gc).mean().mean(axis=0)
        best = int(np.argmax(macro.to_numpy()))
        d, lo, hi = paired_bootstrap(Yc[np.arange(len(chc)), chc], Yc[:, best], n_boot=n_boot, seed=seed + len(folds), groups=gc)
        pooled.update({
            "router_avg": float(pd.Series(Yc[np.arange(len(chc)), chc]).groupby(gc).mean().mean()),
            "best_single": models[best], "best_single_avg": float(macro.iloc[best]),
            "diff": d, "ci_low": lo, "ci_high": hi,
            "folds_router_below_best": int((per_fold["ci_high"] < 0).sum()),
            "folds_router_above_best": int((per_fold["ci_low"] > 0).sum()),
            "folds_equal_best": int((per_fold["diff"] == 0).sum()),
            "mean_fold_diff": float(per_fold["diff"].mean()),
        })
    return per_fold, pooled


# ---------------------------------------------------------------------------------------------
# one routed split of a real log (index = ~ev, evaluation = ev)


@dataclass
class SplitEval:
    """A real log evaluated on one split: the routed evaluation set, the Table-1 analog and the fitted router."""

    split: "RoutedSplit"
    methods: "MethodEval"
    router: object
    index_tags: list
    eval_tags: list
    other_share: float
    n_knowledge_leaders: int
    ev: np.ndarray  # evaluation mask over the log's queries (index = ~ev)

    def decomposition(self) -> tuple[np.ndarray, np.ndarray]:
        """``(A, B)`` of the mixed router on the evaluation set (route score ``A - beta*B``)."""
        return self.router.decompose(self.eval_tags)

    def sweep_choices(self, betas: Sequence[float]) -> dict[float, np.ndarray]:
        """The mixed router's decisions at each beta (one decomposition for all)."""
        from capfront_lib.inference_dynamics.scoring import choose

        A, B = self.decomposition()
        return {float(b): choose(A - float(b) * B, B) for b in betas}


def evaluate_split(
    log: RealLog,
    tags: Sequence,
    ev: np.ndarray,
    groups: np.ndarray,
    name: str,
    *,
    alpha: float = 0.5,
    beta: float = 0.0,
    gamma: float = 1.0,
    delta: float = 1.0,
    sim_threshold: float = 0.6,
    min_freq: int = 10,
    router_kwargs: dict | None = None,
    tag_cost_usd: float = 0.0,
    seed: int = 0,
    data_label: str = "",
) -> SplitEval:
    """Consolidate knowledge labels on the index part, profile the pool, route the evaluation part.

    The returned :class:`SplitEval` holds a :class:`~capfront_lib.inference_dynamics.evidence.RoutedSplit`
    with the decisions of the mixed router, routing by knowledge, routing by capability, the ``alpha = 0``
    variant and a seeded random draw (everything a metrics table needs), plus the Table-1 analog.
    """
    from capfront_lib.inference_dynamics.evidence import RoutedSplit
    from capfront_lib.inference_dynamics.experiments import evaluate_methods
    from capfront_lib.inference_dynamics.scoring import OTHER

    ev = np.asarray(ev, bool)
    groups = np.asarray(groups)
    if len(groups) != int(ev.sum()):
        raise ValueError(f"groups has {len(groups)} entries for {int(ev.sum())} evaluation queries")
    ti, te, cons = consolidate_split(tags, ev, threshold=sim_threshold, min_freq=min_freq)
    rk = router_kwargs or {}
    res = evaluate_methods(ti, log.Y[~ev], log.C[~ev], te, log.Y[ev], log.C[ev], log.models, groups, alpha=alpha,
                           beta=beta, gamma=gamma, delta=delta, seed=seed, router_kwargs=rk)
    router = res.router
    keep = ("InferenceDynamics (mixed)", "Routing by Knowledge", "Routing by Capability", "Mixed, alpha=0", "Random (seeded draw)")
    split = RoutedSplit(name, list(log.models), log.Y[ev], log.C[ev], groups,
                        {k: res.choices[k] for k in keep}, tag_cost_usd=tag_cost_usd, data_label=data_label)
    other = float(np.mean([OTHER in t.knowledge for t in te])) if te else 0.0
    return SplitEval(split, res, router, ti, te, other, len(cons.leaders), ev)
