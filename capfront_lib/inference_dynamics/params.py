"""Parameter schema of the inference_dynamics chapter (checked by the runner before any kernel starts).

Names equal the notebook's parameters cell; the defaults live there (the ``quick`` profile) and in
``data/profiles/inference_dynamics.yaml`` (``paper``). One line per impossible value, naming the parameter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from capfront_lib.core.params import (
    Bool, Choice, Float, FloatList, Guard, InputPath, Int, Param, ParameterError, Prob, ResultsDir, Schema, Seed, StrList,
)

#: MMLU-Pro sources and categories (the values ``holdout`` may take).
MMLU_PRO_SOURCES = ("ori_mmlu", "stemez", "theoremQA", "scibench")
MMLU_PRO_CATEGORIES = (
    "biology", "business", "chemistry", "computer science", "economics", "engineering", "health", "history", "law",
    "math", "other", "philosophy", "physics", "psychology",
)


@dataclass(frozen=True)
class PriceTable(Param):
    """A mapping ``{model: [usd_in, usd_out]}`` of prices per million tokens (finite, >= 0)."""

    def describe(self) -> str:
        return "mapping {model: [usd_in, usd_out]} (USD per million tokens)"

    def check(self, value: Any) -> Any:
        if not isinstance(value, Mapping):
            self._fail(f"must be a mapping {{model: [usd_in, usd_out]}}, got {value!r}")
        out = {}
        for model, pair in value.items():
            if not isinstance(model, str) or not model:
                self._fail(f"keys must be model names, got {model!r}")
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                self._fail(f"entry {model!r} must be [usd_in, usd_out], got {pair!r}")
            for x in pair:
                if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(float(x)) or x < 0:
                    self._fail(f"entry {model!r} must hold two finite prices >= 0, got {pair!r}")
            out[model] = [float(pair[0]), float(pair[1])]
        return out


def _price_table(name: str, help: str = "") -> PriceTable:
    return PriceTable(name, "price-table", help)


PARAMS = [
    Choice("profile", ["quick", "paper"], help="label of the parameter set"),
    Seed("seed"),
    Bool("use_public_data", help="run the real-data sections when CAPFRONT_DATA_DIR holds the public matrices"),
    Int("n_models", min=2, max=64, help="synthetic pool size"),
    Int("n_knowledge", min=1, max=2000, help="synthetic knowledge elements seen in the index set"),
    Int("n_capabilities", min=1, max=64, help="synthetic capabilities (the paper's 8)"),
    Int("n_index", min=20, help="synthetic index queries"),
    Int("n_eval", min=20, help="synthetic evaluation queries"),
    Int("n_bench_index", min=1, max=1000, help="synthetic index benchmarks"),
    Int("n_bench_eval", min=1, max=1000, help="synthetic evaluation benchmarks"),
    Int("max_k_tags", min=1, max=50, help="longest knowledge list"),
    Int("max_c_tags", min=1, max=50, help="longest capability list"),
    Choice("aptitude_design", ["gaussian", "specialist", "ladder"]),
    Float("specialisation", min=0.0, max=10.0, help="sd of the element aptitudes (logit scale)"),
    Float("mu_sd", min=0.0, max=10.0, help="sd of the models' global strength (logit scale)"),
    Float("price_quality_corr", min=-1.0, max=1.0, help="correlation of a model's log price with its global strength"),
    Prob("unseen_frac"),
    Prob("tag_noise"),
    Prob("text_noise", help="share of foreign words in the pseudo-text (1 = no signal words left)"),
    Int("n_seeds", min=1, max=1000, help="synthetic replicates"),
    Choice("tagger", ["metadata", "keyword", "tfidf"], help="synthetic tags: latent lists or read from the pseudo-text"),
    Float("alpha", min=0.0, max=1.0, help="rank decay of the weights"),
    Float("beta", min=0.0, max=1e9, help="cost penalty (1/USD)"),
    Float("gamma", min=0.0, max=100.0, help="weight of the knowledge score"),
    Float("delta", min=0.0, max=100.0, help="weight of the capability score"),
    FloatList("beta_grid", min=0.0, max=1e9, min_length=2, max_length=200, sorted=True, help="β values of the sweep (1/USD)"),
    Float("tag_cost_usd", min=0.0, max=1.0, help="auxiliary-LLM tagging cost per evaluated query (USD)"),
    Prob("sim_threshold", help="cosine above which knowledge labels merge"),
    Int("min_freq", min=0, max=100000, help="knowledge labels held by fewer index queries become 'Other'"),
    Choice("element_norm", ["count", "weight"]),
    Choice("other_policy", ["score", "drop"]),
    Choice("score_norm", ["none", "minmax", "zscore"]),
    FloatList("noise_grid", min=0.0, max=1.0, min_length=2, max_length=50, sorted=True, help="tag-noise levels"),
    FloatList("text_noise_grid", min=0.0, max=0.95, min_length=1, max_length=20, sorted=True, help="text-noise levels"),
    Choice("split", ["by_source", "by_category", "random"], help="real-data out-of-distribution split"),
    StrList("holdout", choices=MMLU_PRO_SOURCES + MMLU_PRO_CATEGORIES, help="held-out MMLU-Pro sources or categories"),
    Int("n_category_folds", min=2, max=14, help="folds of whole held-out MMLU-Pro categories (14 = leave one out)"),
    StrList("pool", min_length=2, help="MMLU-Pro models of the real pool"),
    StrList("pool_order", min_length=2, help="order in which the dynamic pool adds the models"),
    Float("input_tokens", min=0.0, max=1e6, help="assumed prompt tokens per query"),
    Float("chars_per_token", min=0.0, max=100.0, strict_min=True, help="output characters per token"),
    _price_table("price_table", help="extra or overriding prices"),
    Int("n_boot", min=100, max=10000, help="bootstrap resamples"),
    InputPath("outcomes_path", help="your evaluation log (long or wide, with a 'category' column)"),
    ResultsDir("results_dir"),
]


def _checks_tags(p: Mapping[str, Any]) -> str | None:
    if p["max_k_tags"] > p["n_knowledge"]:
        return f"parameter 'max_k_tags' ({p['max_k_tags']}) cannot exceed 'n_knowledge' ({p['n_knowledge']})"
    if p["max_c_tags"] > p["n_capabilities"]:
        return f"parameter 'max_c_tags' ({p['max_c_tags']}) cannot exceed 'n_capabilities' ({p['n_capabilities']})"
    return None


def _checks_router(p: Mapping[str, Any]) -> str | None:
    if p["gamma"] == 0 and p["delta"] == 0:
        return "parameters 'gamma' and 'delta' are both 0: the router would ignore every tag"
    if p["beta_grid"][0] != 0:
        return f"parameter 'beta_grid' must start at 0 (the unconstrained router), got {p['beta_grid'][0]:g}"
    if p["tagger"] in ("keyword", "tfidf") and p["text_noise"] >= 1:
        return "parameter 'text_noise' = 1 leaves no signal word for the text tagger"
    return None


def _checks_real(p: Mapping[str, Any]) -> str | None:
    if sorted(p["pool_order"]) != sorted(p["pool"]) or len(set(p["pool"])) != len(p["pool"]):
        return "parameter 'pool_order' must be a permutation of 'pool' (each model once)"
    h = list(p["holdout"])
    if p["split"] == "by_source":
        bad = [x for x in h if x not in MMLU_PRO_SOURCES]
        if not h or bad or set(h) == set(MMLU_PRO_SOURCES):
            return (f"parameter 'holdout' must name some, not all, MMLU-Pro sources {list(MMLU_PRO_SOURCES)} for split "
                    f"'by_source', got {h}")
    if p["split"] == "by_category":
        bad = [x for x in h if x not in MMLU_PRO_CATEGORIES]
        if not h or bad or len(set(h)) == len(MMLU_PRO_CATEGORIES):
            return f"parameter 'holdout' must name some, not all, MMLU-Pro categories for split 'by_category', got {h}"
    return None


def _memory_cells(p: Mapping[str, Any]) -> float:
    """Cells held at once for one synthetic world: P, Y, C (n × T each) and the Gumbel keys (n × E)."""
    n = p["n_index"] + p["n_eval"]
    return n * (3 * p["n_models"] + p["n_knowledge"] * (1 + p["unseen_frac"]) + p["n_capabilities"])


def _work_cells(p: Mapping[str, Any]) -> float:
    """Query × model evaluations of the synthetic replicates (one routing per noise level and per method)."""
    n = p["n_index"] + p["n_eval"]
    return p["n_seeds"] * n * p["n_models"] * (len(p["noise_grid"]) + 6)


SCHEMA = Schema(
    "inference_dynamics",
    PARAMS,
    checks=[_checks_tags, _checks_router, _checks_real],
    guards=[
        Guard("(n_index + n_eval) × (3·n_models + knowledge and capability elements)", _memory_cells, 1e8,
              advice="lower n_index, n_eval, n_models or n_knowledge (about 0.8 GB of arrays at the limit)"),
        Guard("n_seeds × (n_index + n_eval) × n_models × (len(noise_grid) + 6)", _work_cells, 2e10,
              unit="query-model evaluations", advice="lower n_seeds or the synthetic sizes"),
    ],
)

__all__ = ["SCHEMA", "PriceTable", "ParameterError", "MMLU_PRO_SOURCES", "MMLU_PRO_CATEGORIES"]
