"""The paper's published Tables 1-6 (shipped transcriptions in ``data/oracle_debiasing``) and the
arithmetic consistency checks of the claims ledger."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from capfront_lib.core.resources import data_path
from scipy import stats

__all__ = ["data_path", "load_tables", "recompute_rows", "published_checks"]


def data_path() -> Path:
    """Folder of the shipped transcriptions (repository ``data/oracle_debiasing``)."""
    return data_path("oracle_debiasing")


def load_tables(folder: str | Path | None = None) -> dict[str, pd.DataFrame]:
    """Read table1..table6.csv; returns {'t1': ..., 't6': ...} with the printed Average rows kept."""
    folder = data_path() if folder is None else Path(folder)
    out = {}
    for i in range(1, 7):
        p = folder / f"table{i}.csv"
        if not p.exists():
            raise FileNotFoundError(f"missing transcription {p}")
        out[f"t{i}"] = pd.read_csv(p)
    return out


def _split(df: pd.DataFrame, key: str) -> tuple[pd.DataFrame, pd.Series]:
    body = df[df[key] != "Average"].reset_index(drop=True)
    avg = df[df[key] == "Average"].iloc[0]
    return body, avg


def recompute_rows(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per-benchmark recomputation of every printed ratio (percent), next to the printed value."""
    t1, _ = _split(tables["t1"], "benchmark")
    t2, _ = _split(tables["t2"], "benchmark")
    t4, _ = _split(tables["t4"], "benchmark")
    t5, _ = _split(tables["t5"], "benchmark")
    t6, _ = _split(tables["t6"], "benchmark")
    df = pd.DataFrame({"benchmark": t1["benchmark"]})
    err = lambda new, old: 100.0 * (new - old) / (100.0 - old)  # noqa: E731
    df["t1_err_red_printed"] = t1["error_reduction_pct"]
    df["t1_err_red_recomputed"] = err(t1["otrue_quality_pct"], t1["sota_quality_pct"])
    df["t2_saving_printed"] = t2["cost_saving_pct"]
    df["t2_saving_recomputed"] = 100.0 * (1.0 - t2["otrue_alpha_star_cost_cents"] / t2["sota_cost_cents"])
    df["t4_err_red_printed"] = t4["error_reduction_pct"]
    df["t4_err_red_recomputed"] = err(t4["kshot_k1_quality_pct"], t4["sota_quality_pct"])
    df["t5_err_red_printed"] = t5["error_reduction_pct"]
    df["t5_err_red_recomputed"] = err(t5["kshot_k10_quality_pct"], t5["sota_quality_pct"])
    df["k10_over_k1_cost"] = t5["kshot_k10_cost_usd"] / t4["kshot_k1_cost_usd"]
    df["k1_cost_multiple"] = t4["kshot_k1_cost_usd"] / t4["sota_cost_usd"]
    df["k10_cost_multiple"] = t5["kshot_k10_cost_usd"] / t5["sota_cost_usd"]
    df["t6_quality_bias_pct"] = 100.0 * (t6["obiased_quality_pct"] - t6["otrue_quality_pct"]) / t6["otrue_quality_pct"]
    df["t6_cost_bias_pct"] = 100.0 * (t6["otrue_cost"] - t6["obiased_cost"]) / t6["otrue_cost"]
    df["t4_k1_gt_t6_biased"] = t4["kshot_k1_quality_pct"] > t6["obiased_quality_pct"]
    df["t6_true_cost_below_sota"] = t6["otrue_cost"] < t2["sota_cost_cents"]
    df["t2_alpha_star_le_t6_true"] = t2["otrue_alpha_star_cost_cents"] <= t6["otrue_cost"]
    return df


def published_checks(tables: dict[str, pd.DataFrame] | None = None) -> dict:
    """Scalar consistency checks of the published tables (spec §2 headline checks), all recomputed here."""
    tables = load_tables() if tables is None else tables
    rows = recompute_rows(tables)
    _, a1 = _split(tables["t1"], "benchmark")
    _, a2 = _split(tables["t2"], "benchmark")
    _, a4 = _split(tables["t4"], "benchmark")
    _, a5 = _split(tables["t5"], "benchmark")
    t3, a3 = _split(tables["t3"], "model")
    out = {
        "t1_mean_err_red_printed": float(a1["error_reduction_pct"]),
        "t1_mean_err_red_recomputed": float(rows["t1_err_red_recomputed"].mean()),
        "t1_max_row_diff": float((rows["t1_err_red_recomputed"] - rows["t1_err_red_printed"]).abs().max()),
        "t1_ratio_of_means": float(100 * (a1["otrue_quality_pct"] - a1["sota_quality_pct"]) / (100 - a1["sota_quality_pct"])),
        "t2_mean_saving_printed": float(a2["cost_saving_pct"]),
        "t2_mean_saving_recomputed": float(rows["t2_saving_recomputed"].mean()),
        "t2_max_row_diff": float((rows["t2_saving_recomputed"] - rows["t2_saving_printed"]).abs().max()),
        "t2_ratio_of_means": float(100 * (1 - a2["otrue_alpha_star_cost_cents"] / a2["sota_cost_cents"])),
        "t4_mean_err_red_printed": float(a4["error_reduction_pct"]),
        "t4_mean_err_red_recomputed": float(rows["t4_err_red_recomputed"].mean()),
        "t4_max_row_diff": float((rows["t4_err_red_recomputed"] - rows["t4_err_red_printed"]).abs().max()),
        "t5_mean_err_red_printed": float(a5["error_reduction_pct"]),
        "t5_mean_err_red_recomputed": float(rows["t5_err_red_recomputed"].mean()),
        "t5_max_row_diff": float((rows["t5_err_red_recomputed"] - rows["t5_err_red_printed"]).abs().max()),
        "k10_over_k1_cost_min": float(rows["k10_over_k1_cost"].min()),
        "k10_over_k1_cost_max": float(rows["k10_over_k1_cost"].max()),
        "k1_cost_multiple_ratio_of_means": float(a4["kshot_k1_cost_usd"] / a4["sota_cost_usd"]),
        "k10_cost_multiple_ratio_of_means": float(a5["kshot_k10_cost_usd"] / a5["sota_cost_usd"]),
        "k1_cost_multiple_mean_of_ratios": float(rows["k1_cost_multiple"].mean()),
        "k10_cost_multiple_mean_of_ratios": float(rows["k10_cost_multiple"].mean()),
        "t4_k1_gt_t6_biased_rows": int(rows["t4_k1_gt_t6_biased"].sum()),
        "t6_quality_bias_mean_pct": float(rows["t6_quality_bias_pct"].mean()),
        "t6_quality_bias_max_pct": float(rows["t6_quality_bias_pct"].max()),
        "t6_cost_bias_mean_pct": float(rows["t6_cost_bias_pct"].mean()),
        "t6_cost_bias_min_pct": float(rows["t6_cost_bias_pct"].min()),
        "t6_cost_bias_max_pct": float(rows["t6_cost_bias_pct"].max()),
        "t6_true_cost_below_sota_rows": int(rows["t6_true_cost_below_sota"].sum()),
        "t2_alpha_star_le_t6_true_rows": int(rows["t2_alpha_star_le_t6_true"].sum()),
        "n_rows": int(len(rows)),
        "t3_n_rows": int(len(t3)),
        "t3_mean_quality": float(t3["quality"].mean()),
        "t3_mean_cost_usd": float(t3["cost_usd"].mean()),
        "t3_mean_reliability": float(t3["reliability_pct"].mean()),
        "t3_printed_means": [float(a3["quality"]), float(a3["cost_usd"]), float(a3["reliability_pct"])],
    }
    for name, col in (("quality", "quality"), ("cost", "cost_usd")):
        r, p = stats.pearsonr(t3["reliability_pct"], t3[col])
        rs, ps = stats.spearmanr(t3["reliability_pct"], t3[col])
        out[f"t3_pearson_rel_{name}"] = float(r)
        out[f"t3_pearson_p_{name}"] = float(p)
        out[f"t3_spearman_rel_{name}"] = float(rs)
        out[f"t3_spearman_p_{name}"] = float(ps)
    return out
