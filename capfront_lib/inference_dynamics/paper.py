"""The paper's Table 1 (transcribed in ``data/inference_dynamics/table1_routing.csv``) and its consistency checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from capfront_lib.core.resources import data_path

BENCHMARKS = ("mmlu_pro", "gpqa", "biggenbench", "livebench")
#: evaluation-set sizes of the two benchmarks whose cells must be k/n (GPQA Diamond 198, BigGenBench 765)
BENCH_SIZES = {"gpqa": 198, "biggenbench": 765}


def table1_path() -> Path:
    return data_path("inference_dynamics", "table1_routing.csv")


def load_table1(path: str | Path | None = None) -> pd.DataFrame:
    """Table 1 as printed plus ``avg_recomputed`` (mean of the four benchmark cells)."""
    p = Path(path) if path else table1_path()
    df = pd.read_csv(p)
    missing = [c for c in ("method", "group", *BENCHMARKS, "avg_printed") if c not in df.columns]
    if missing:
        raise ValueError(f"{p}: columns {missing} are missing")
    df["avg_recomputed"] = df[list(BENCHMARKS)].mean(axis=1)
    return df.set_index("method")


def implied_counts(values: pd.Series, n: int) -> pd.DataFrame:
    """Nearest integer count k with k/n closest to each percentage, and the rounding residual (in points)."""
    k = np.rint(values.to_numpy(float) * n / 100).astype(int)
    return pd.DataFrame({"k": k, "residual_pt": values.to_numpy(float) - 100 * k / n}, index=values.index)


def table1_summary(df: pd.DataFrame) -> dict:
    """Key numbers of Table 1: gaps of the mixed router over singles, the random row's expected value, PR at beta=0."""
    singles = df[df["group"] == "single"]
    mixed = df.loc["InferenceDynamics (mixed)"]
    best_single_avg = singles["avg_recomputed"].max()
    best_per_bench = singles[list(BENCHMARKS)].max()
    return {
        "mixed_avg_printed": float(mixed["avg_printed"]),
        "mixed_avg_recomputed": float(mixed["avg_recomputed"]),
        "best_single_avg_recomputed": float(best_single_avg),
        "best_single_name": str(singles["avg_recomputed"].idxmax()),
        "gain_printed_avgs": float(mixed["avg_printed"] - singles["avg_printed"].max()),
        "gain_recomputed_avgs": float(mixed["avg_recomputed"] - best_single_avg),
        "random_expected": {b: float(singles[b].mean()) for b in BENCHMARKS},
        "random_expected_avg": float(singles["avg_recomputed"].mean()),
        "pr_mixed_vs_best_per_bench": {b: float(100 * mixed[b] / best_per_bench[b]) for b in BENCHMARKS},
    }
