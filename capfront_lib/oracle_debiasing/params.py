"""Parameter schema of the oracle_debiasing chapter (checked by the runner before a kernel starts and by one
hidden line of the notebook). Names equal the notebook's parameters cell; defaults live there (quick profile)."""

from __future__ import annotations

from capfront_lib.core.params import (
    Bool,
    Choice,
    Float,
    FloatList,
    Guard,
    InputPath,
    Int,
    IntList,
    Prob,
    ResultsDir,
    Schema,
    Seed,
)

__all__ = ["SCHEMA"]


def _ordered_pair(name: str, strict_positive: bool = False):
    def check(p):
        lo, hi = p[name]
        if lo > hi:
            return f"parameter {name!r} must be [low, high] with low <= high, got {p[name]!r}"
        if strict_positive and lo <= 0:
            return f"parameter {name!r} must have a positive low end, got {p[name]!r}"
        return None

    return check


def _k_max(p):
    if p["k_max"] > p["n_gens"]:
        return f"parameter 'k_max' ({p['k_max']}) must be <= n_gens ({p['n_gens']}): the posthoc oracle uses k of the G generations"
    return None


def _pgm_seeds(p):
    if p["pgm_seeds"] > p["n_seeds"]:
        return f"parameter 'pgm_seeds' ({p['pgm_seeds']}) must be <= n_seeds ({p['n_seeds']})"
    if p["headline_method"] == "pgm" and p["pgm_seeds"] < 1:
        return "parameter 'headline_method' = 'pgm' needs pgm_seeds >= 1"
    return None


def _items(p):
    if p["items_path"] and not p["outcomes_path"]:
        return "parameter 'items_path' is only used with outcomes_path (a wide log without categories)"
    return None


def _entropy_G(p):
    if 0 < p["entropy_G"] < 2:
        return "parameter 'entropy_G' must be 0 (population mode) or >= 2 generations"
    return None


SCHEMA = Schema(
    "oracle_debiasing",
    [
        Seed("seed"),
        Int("n_seeds", min=2, max=1000, help="simulated worlds (an interval needs at least 2)"),
        Int("n_prompts", min=10, max=1_000_000, help="N prompts per world"),
        Int("n_models", min=2, max=10_000, help="L models"),
        Int("n_topics", min=1, max=10_000, help="K latent topics"),
        Int("n_gens", min=6, max=100_000, help="G generations per prompt and model (eq. 12 needs G >= 6)"),
        FloatList("d_beta", min=0.0, strict_min=True, max=1000.0, length=2, help="Beta parameters of the difficulty D"),
        FloatList("apt_beta", min=0.0, strict_min=True, max=1000.0, length=2, help="Beta parameters of the aptitudes A"),
        FloatList("price_log10", min=-12.0, max=6.0, length=2, help="model prices, log10 USD per call (low, high)"),
        Float("price_apt_corr", min=-1.0, max=1.0, help="rank correlation of price with aptitude"),
        Float("cost_prompt_sd", min=0.0, max=5.0, help="log-sd of the prompt cost factor"),
        Float("cost_noise_sd", min=0.0, max=5.0, help="log-sd of the per-generation cost noise"),
        Float("gen_corr", min=0.0, max=1.0, strict_max=True, help="correlation of the models within a generation round"),
        IntList("bias_L_list", min=1, max=1000, max_length=10, help="L values of the bias anatomy"),
        FloatList("bias_p_list", min=0.0, max=1.0, max_length=21, help="p values of the bias anatomy"),
        Int("bias_G_max", min=20, max=100_000, help="largest G of the exact bias curves and of the Appendix A scan"),
        Int("mc_reps", min=100, max=1_000_000, help="Monte Carlo repeats (bias dots, Gaussian decay)"),
        FloatList("corr_rhos", min=0.0, max=1.0, strict_max=True, min_length=1, max_length=5,
                  help="correlations of the Appendix A study"),
        Int("corr_draws", min=20, max=20_000, help="Monte Carlo draws of the shared round effects"),
        FloatList("lambda_bounds", min=0.0, strict_min=True, max=5.0, length=2, help="bounds of lambda in eqs. (11)/(12)"),
        FloatList("gamma_bounds", min=0.0, max=10.0, length=2, help="bounds of gamma in eq. (12)"),
        Int("subsample_B", min=10, max=100_000, help="Monte Carlo subsets per G' for the extrapolated frontier"),
        Int("n_frontier_lambdas", min=2, max=1000, help="trade-offs traced for the extrapolated frontier"),
        Int("advi_iters", min=100, max=1_000_000, help="cap on ADVI iterations (the fit stops when the ELBO converges)"),
        Float("advi_lr", min=0.0, strict_min=True, max=1.0, help="Adam learning rate of ADVI"),
        Int("n_post_draws", min=10, max=100_000, help="posterior draws of the PGM"),
        Int("pgm_seeds", min=0, max=1000, help="how many worlds also fit the PGM (latent and known topics)"),
        Choice("headline_method", ["extrap12", "extrap11", "pgm"], help="debiaser of the headline frontier"),
        Int("k_max", min=1, max=100_000, help="largest k of the posthoc oracle (<= n_gens)"),
        Int("entropy_steps", min=3, max=1000, help="steps of the topic-entropy sweep"),
        Int("entropy_seeds", min=2, max=10_000, help="seeds of the sweep (an interval needs at least 2)"),
        Int("entropy_N", min=10, max=1_000_000, help="prompts in the sweep"),
        Int("entropy_L", min=2, max=10_000, help="models in the sweep"),
        Int("entropy_K", min=1, max=10_000, help="topics in the sweep"),
        Int("entropy_G", min=0, max=10_000_000, help="generations in the sweep (0 = population mode, uplift from pi)"),
        Choice("topic_mode", ["linear", "dirichlet"], help="linear: theta(s) used directly; dirichlet: theta ~ Dir(dir_conc theta(s))"),
        Float("dir_conc", min=0.0, strict_min=True, max=1e6, help="concentration for topic_mode = dirichlet"),
        Bool("public_data", help="run the real-data section on the public MMLU-Pro and GSM8K matrices when CAPFRONT_DATA_DIR holds them"),
        InputPath("outcomes_path", help="your evaluation log (wide or long CSV/parquet); '' = none"),
        InputPath("items_path", help="optional items table (id, category) for a wide log"),
        Choice("missing", ["drop_queries", "keep_partial"], help="missing-cell policy of a real log"),
        ResultsDir("results_dir"),
    ],
    checks=[
        _ordered_pair("price_log10"),
        _ordered_pair("lambda_bounds", strict_positive=True),
        _ordered_pair("gamma_bounds"),
        _k_max,
        _pgm_seeds,
        _items,
        _entropy_G,
    ],
    guards=[
        Guard("n_prompts × n_models × n_gens (cells of a world's tensors)",
              lambda p: p["n_prompts"] * p["n_models"] * p["n_gens"], 2e7, advice="lower n_prompts, n_models or n_gens"),
        Guard("n_prompts × n_topics × n_models (the latent-topic PGM's likelihood tensor)",
              lambda p: p["n_prompts"] * p["n_topics"] * p["n_models"] * (p["pgm_seeds"] > 0), 5e6,
              advice="lower n_topics or n_prompts, or set pgm_seeds 0"),
        Guard("mc_reps × max(bias_L_list) × len(bias_p_list) (Monte Carlo draws per G)",
              lambda p: p["mc_reps"] * max(p["bias_L_list"]) * len(p["bias_p_list"]), 5e7, advice="lower mc_reps"),
        Guard("entropy_N × entropy_L × entropy_K (sweep arrays)",
              lambda p: p["entropy_N"] * p["entropy_L"] * max(p["entropy_K"], 1), 5e8, advice="lower entropy_N or entropy_K"),
        Guard("n_seeds × n_prompts × n_models (counts of all worlds)",
              lambda p: p["n_seeds"] * p["n_prompts"] * p["n_models"], 2e8, advice="lower n_seeds or n_prompts"),
    ],
)
