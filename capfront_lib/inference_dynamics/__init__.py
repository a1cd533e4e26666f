"""InferenceDynamics: routing across LLMs by knowledge and capability profiles (arXiv 2505.16303).

Submodules: :mod:`.scoring` (rank weights, element profiles, the router, metrics, App. B distribution),
:mod:`.tagging` (taggers, knowledge consolidation), :mod:`.synthetic` (a routing world with known truth),
:mod:`.realdata` (MMLU-Pro / GSM8K public logs), :mod:`.experiments` (Table-1 analog, dynamic pool),
:mod:`.paper` (the transcribed Table 1 and its claims), :mod:`.evidence` (measurements and bootstrap
intervals for the claims ledger), :mod:`.params` (the parameter schema), :mod:`.plots` and
:mod:`.widgets` (figures and the explorer).
"""

from capfront_lib.inference_dynamics.scoring import (
    OTHER,
    ElementProfile,
    InferenceDynamicsRouter,
    TagCodes,
    Tags,
    beta_star,
    encode_codes,
    beta_sweep,
    choose,
    cost_ratio,
    encode_lists,
    performance_ratio,
    rank_weights,
    route_naive,
    weighted_rank_distribution,
)
from capfront_lib.inference_dynamics.synthetic import RoutingWorld, make_routing_world
from capfront_lib.inference_dynamics.tagging import (
    KeywordTagger,
    KnowledgeConsolidator,
    LLMTagger,
    MetadataTagger,
    TfidfTagger,
    parse_tag_response,
)
from capfront_lib.inference_dynamics.realdata import load_gsm8k, load_mmlu_pro, paired_bootstrap, split_mmlu_pro
from capfront_lib.inference_dynamics.experiments import dynamic_pool, evaluate_methods, gap_captured
from capfront_lib.inference_dynamics.paper import load_table1, table1_summary

__all__ = [
    "OTHER", "ElementProfile", "InferenceDynamicsRouter", "TagCodes", "Tags", "encode_codes", "beta_star", "beta_sweep", "choose", "cost_ratio",
    "encode_lists", "performance_ratio", "rank_weights", "route_naive", "weighted_rank_distribution",
    "RoutingWorld", "make_routing_world", "KeywordTagger", "KnowledgeConsolidator", "LLMTagger", "MetadataTagger",
    "TfidfTagger", "parse_tag_response", "load_gsm8k", "load_mmlu_pro", "paired_bootstrap", "split_mmlu_pro",
    "dynamic_pool", "evaluate_methods", "gap_captured", "load_table1", "table1_summary",
]
