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


# ---------------------------------------------------------------------------------------------
# the claims of Table 1 and §4.4, measured on the printed numbers

#: half-width of a printed cell's rounding interval (two decimals)
CELL_HALF = 0.005
#: evaluation-set sizes used for the random router's spread: GPQA Diamond 198, BigGenBench 765, MMLU-Pro
#: about 12,000 (§4.1.2); LiveBench 2024-11-25 has 18 tasks in 6 categories, taken as 50 questions per task
#: (3 tasks of 50 = 150 questions per category; an assumption, the paper gives no count).
RANDOM_SPREAD_SIZES = {"mmlu_pro": 12000, "gpqa": 198, "biggenbench": 765}
LIVEBENCH_CATEGORIES = 6
LIVEBENCH_PER_CATEGORY = 150


def random_draw_sd_bound(df: pd.DataFrame) -> float:
    """Upper bound (points) on the standard deviation of one uniformly random router's 4-benchmark average.

    On query ``i`` a random router is right with probability ``q_i`` = the mean score of the pool on ``i``;
    the benchmark accuracy of one draw has variance ``sum_i q_i (1 - q_i) / n^2 <= pbar (1 - pbar) / n``
    (Jensen; ``pbar`` = mean of the single models' accuracies, the draw's expectation). LiveBench's score is
    the mean of 6 category means, bounded the same way per category at the LiveBench mean. The average of
    the four benchmarks has variance ``sum_b var_b / 16``.
    """
    singles = df[df["group"] == "single"]
    var = 0.0
    for b, n in RANDOM_SPREAD_SIZES.items():
        p = singles[b].mean() / 100
        var += p * (1 - p) / n
    p = singles["livebench"].mean() / 100
    var += LIVEBENCH_CATEGORIES * p * (1 - p) / LIVEBENCH_PER_CATEGORY / LIVEBENCH_CATEGORIES**2
    return float(100 * np.sqrt(var / len(BENCHMARKS) ** 2))


def _rank(col: pd.Series, row: str) -> int:
    """1-based rank of ``row`` in a column (ties share the better rank)."""
    return int(1 + (col > col[row]).sum())


def table1_measurements(df: pd.DataFrame) -> dict:
    """Measured values of the Table-1 claims of the registry, from the printed cells.

    Differences of printed cells carry the rounding interval of the printing (each cell ±0.005, so a
    difference of two cells or of two four-cell means ±0.01); averages are recomputed from the cells.
    """
    from capfront_lib.inference_dynamics.evidence import Measurement

    B = list(BENCHMARKS)
    avg = df["avg_recomputed"]
    singles = df[df["group"] == "single"]
    mixed, know, cap = "InferenceDynamics (mixed)", "Routing by Knowledge", "Routing by Capability"
    best_single = str(singles["avg_recomputed"].idxmax())
    best_avg = float(avg[best_single])
    rand_exp = float(singles["avg_recomputed"].mean())
    d2 = 2 * CELL_HALF

    def diff(v: float, half: float = d2) -> tuple[float, tuple[float, float]]:
        return float(v), (float(v) - half, float(v) + half)

    def shown(v: float, ci: tuple[float, float]) -> str:
        return f"{v:.4f} [{ci[0]:.4f}, {ci[1]:.4f}]"

    out: dict = {}
    v = float(avg[mixed])
    resid = (df["avg_printed"] - avg).drop(index=mixed).abs()
    n_ok = int((resid <= CELL_HALF + 1e-9).sum())
    out["t1-mixed-avg"] = Measurement(v, (v - CELL_HALF, v + CELL_HALF), display=shown(v, (v - CELL_HALF, v + CELL_HALF)), note=(
        f"mean of the row's four printed cells; the printed average is {df.loc[mixed, 'avg_printed']:.2f}; "
        f"{n_ok} of the other {len(resid)} rows print the mean of their cells to print precision"))
    g, ci = diff(avg[mixed] - best_avg)
    out["t1-gain-1.28"] = Measurement(g, ci, display=shown(g, ci), note=(
        f"recomputed mixed average minus the best single model ({best_single}, {best_avg:.3f}; Gemini-1.5-Pro "
        f"{avg['Gemini-1.5-Pro']:.3f}); with the printed averages the gap is "
        f"{df.loc[mixed, 'avg_printed'] - singles['avg_printed'].max():.2f}"))
    others = avg.drop(index=mixed)
    g, ci = diff(avg[mixed] - others.max())
    out["t1-mixed-highest-avg"] = Measurement(g, ci, note=f"margin over the next row ({others.idxmax()})")
    for cid, row in (("t1-knowledge-beats-best", know), ("t1-capability-beats-best", cap)):
        g, ci = diff(avg[row] - best_avg)
        out[cid] = Measurement(g, ci, note=f"{row} {avg[row]:.3f} vs {best_single} {best_avg:.3f}")
    low = min(float(avg[know]), float(avg[cap]))
    g, ci = diff(low - rand_exp)
    out["t1-routers-beat-random"] = Measurement(g, ci, note=(
        f"weaker single-signal router vs the random router's expectation {rand_exp:.3f} (mean of the single rows); "
        f"vs the printed Random row {low - float(avg['Random']):.2f}"))
    out["t1-random"] = Measurement(rand_exp, (rand_exp - CELL_HALF, rand_exp + CELL_HALF),
                                   display=shown(rand_exp, (rand_exp - CELL_HALF, rand_exp + CELL_HALF)), note=(
        f"exact expectation of a uniformly random router (mean of the single models); the printed row is one "
        f"draw; sd of one draw <= {random_draw_sd_bound(df):.2f} points"))
    g, ci = diff(df.loc[know, "gpqa"] - df["gpqa"].drop(index=know).max())
    out["t1-knowledge-best-gpqa"] = Measurement(g, ci, note=f"next: {df['gpqa'].drop(index=know).idxmax()}")
    r = _rank(df["mmlu_pro"], know)
    out["t1-knowledge-second-mmlu"] = Measurement(r == 2, display=f"rank {r} on MMLU-Pro")
    g, ci = diff(df.loc[cap, "biggenbench"] - df.loc[know, "biggenbench"])
    out["t1-capability-bgb"] = Measurement(g, ci, note=f"{cap} {df.loc[cap, 'biggenbench']:.2f} vs {know} {df.loc[know, 'biggenbench']:.2f}")
    g, ci = diff(df.loc[mixed, "livebench"] - df["livebench"].drop(index=mixed).max())
    out["t1-mixed-top-livebench"] = Measurement(g, ci, note=f"next: {df['livebench'].drop(index=mixed).idxmax()}")
    rg, rb = _rank(df["gpqa"], mixed), _rank(df["biggenbench"], mixed)
    out["t1-mixed-second-gpqa-bgb"] = Measurement(rg == 2 and rb == 2, display=f"rank {rg} on GPQA, {rb} on BigGenBench")
    winners = {b: str(singles[b].idxmax()) for b in B}
    out["t1-no-single-dominates"] = Measurement(
        len(set(winners.values())) >= 2,
        display="best single: " + "; ".join(f"{b} {m}" for b, m in winners.items()))
    return out
