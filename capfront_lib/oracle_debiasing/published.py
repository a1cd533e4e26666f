"""The paper's published Tables 1-6 (shipped transcriptions in ``data/oracle_debiasing``) and the
arithmetic checks of its headline numbers.

Printed numbers are rounded. A printed ratio or average is *consistent* with its table when it lies in
the range the statistic takes while every input moves over its printing precision (half a unit of the
last printed digit): :func:`rounding_range` evaluates each row at the corners of that box (the row
statistics used here are monotone in each input) and aggregates the rows exactly (mean, max, min).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from capfront_lib.core import resources
from capfront_lib.oracle_debiasing.record import Measure

__all__ = ["tables_dir", "load_tables", "body", "PRINT_DECIMALS", "RoundedStat", "rounding_range", "recompute_rows",
           "published_checks", "transcription_measures", "toy_measure"]

# decimals printed in the paper, per table and column (the CSVs drop trailing zeros)
PRINT_DECIMALS: dict[str, dict[str, int]] = {
    "t1": {"sota_quality_pct": 1, "otrue_quality_pct": 1, "error_reduction_pct": 1},
    "t2": {"sota_cost_cents": 2, "otrue_alpha_star_cost_cents": 2, "cost_saving_pct": 1},
    "t3": {"quality": 2, "cost_usd": 4, "reliability_pct": 1},
    "t4": {"sota_quality_pct": 1, "kshot_k1_quality_pct": 1, "sota_cost_usd": 3, "kshot_k1_cost_usd": 3, "error_reduction_pct": 1},
    "t5": {"sota_quality_pct": 1, "kshot_k10_quality_pct": 1, "sota_cost_usd": 3, "kshot_k10_cost_usd": 3, "error_reduction_pct": 1},
    "t6": {"obiased_quality_pct": 1, "otrue_quality_pct": 1, "obiased_cost": 2, "otrue_cost": 2},
}
_KEY = {"t1": "benchmark", "t2": "benchmark", "t3": "model", "t4": "benchmark", "t5": "benchmark", "t6": "benchmark"}


def tables_dir() -> Path:
    """Folder of the shipped transcriptions (``data/oracle_debiasing``)."""
    return resources.data_path("oracle_debiasing")


def load_tables(folder: str | Path | None = None) -> dict[str, pd.DataFrame]:
    """Read table1..table6.csv; returns {'t1': ..., 't6': ...} with the printed Average rows kept."""
    folder = tables_dir() if folder is None else Path(folder)
    out = {}
    for i in range(1, 7):
        p = folder / f"table{i}.csv"
        if not p.exists():
            raise FileNotFoundError(f"missing transcription {p}")
        out[f"t{i}"] = pd.read_csv(p)
    return out


def body(tables: dict[str, pd.DataFrame], name: str) -> pd.DataFrame:
    """The per-benchmark (or per-model) rows of a table, without its printed Average row."""
    t = tables[name]
    return t[t[_KEY[name]] != "Average"].reset_index(drop=True)


def _average(tables: dict[str, pd.DataFrame], name: str) -> pd.Series:
    t = tables[name]
    return t[t[_KEY[name]] == "Average"].iloc[0]


def _half(name: str, col: str) -> float:
    return 0.5 * 10.0 ** (-PRINT_DECIMALS[name][col])


@dataclass(frozen=True)
class RoundedStat:
    """A statistic recomputed from printed numbers (``value``) and its range under their rounding."""

    value: float
    lo: float
    hi: float

    def allows(self, printed: float, decimals: int) -> bool:
        """Is the printed number (rounded to ``decimals``) one this statistic can round to?"""
        h = 0.5 * 10.0 ** (-decimals)
        tol = 1e-9 * max(1.0, abs(printed))
        return bool(printed + h >= self.lo - tol and printed - h <= self.hi + tol)

    def text(self, sig: int = 3) -> str:
        from capfront_lib.core.fmt import number

        return f"{number(self.value, sig)} (rounding allows {number(self.lo, sig)} to {number(self.hi, sig)})"


def _row_ranges(fn: Callable[..., np.ndarray], cols: Sequence[np.ndarray], halves: Sequence[float],
                lower: Sequence[float | None] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row values of ``fn(*cols)`` and their ranges over the rounding box (corners; inputs clipped at ``lower``)."""
    cols = [np.asarray(c, dtype=float) for c in cols]
    lower = lower or [None] * len(cols)
    val = fn(*cols)
    corners = []
    for signs in itertools.product((-1.0, 1.0), repeat=len(cols)):
        moved = [c + s * h for c, s, h in zip(cols, signs, halves)]
        moved = [m if lb is None else np.maximum(m, lb) for m, lb in zip(moved, lower)]
        corners.append(fn(*moved))
    C = np.vstack(corners)
    return np.asarray(val, dtype=float), C.min(axis=0), C.max(axis=0)


def rounding_range(fn: Callable[..., np.ndarray], cols: Sequence[np.ndarray], halves: Sequence[float], agg: str = "mean",
                   lower: Sequence[float | None] | None = None) -> RoundedStat:
    """Aggregate (mean, max or min over rows) of a per-row statistic, with its exact range under rounding."""
    v, lo, hi = _row_ranges(fn, cols, halves, lower)
    f = {"mean": np.mean, "max": np.max, "min": np.min}[agg]
    return RoundedStat(float(f(v)), float(f(lo)), float(f(hi)))


def _err_red(new, old):
    """Error-rate reduction in percent: 100 (new - old) / (100 - old), qualities in percent (new capped at 100)."""
    return 100.0 * (np.minimum(new, 100.0) - old) / (100.0 - old)


def _saving(new, old):
    return 100.0 * (1.0 - new / old)


def _q_bias(biased, true):
    """Quality bias relative to O_true (the Fig. 12 caption's definition), percent."""
    return 100.0 * (biased - true) / true


def _c_bias(biased, true):
    """Cost bias relative to O_true's cost, percent: how much the naive oracle understates the cost."""
    return 100.0 * (true - biased) / true


def recompute_rows(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per-benchmark recomputation of every printed ratio (percent), next to the printed value."""
    t1, t2, t4, t5, t6 = (body(tables, k) for k in ("t1", "t2", "t4", "t5", "t6"))
    df = pd.DataFrame({"benchmark": t1["benchmark"]})
    df["t1_err_red_printed"] = t1["error_reduction_pct"]
    df["t1_err_red_recomputed"] = _err_red(t1["otrue_quality_pct"], t1["sota_quality_pct"])
    df["t2_saving_printed"] = t2["cost_saving_pct"]
    df["t2_saving_recomputed"] = _saving(t2["otrue_alpha_star_cost_cents"], t2["sota_cost_cents"])
    df["t4_err_red_printed"] = t4["error_reduction_pct"]
    df["t4_err_red_recomputed"] = _err_red(t4["kshot_k1_quality_pct"], t4["sota_quality_pct"])
    df["t5_err_red_printed"] = t5["error_reduction_pct"]
    df["t5_err_red_recomputed"] = _err_red(t5["kshot_k10_quality_pct"], t5["sota_quality_pct"])
    df["k10_over_k1_cost"] = t5["kshot_k10_cost_usd"] / t4["kshot_k1_cost_usd"]
    df["k1_cost_multiple"] = t4["kshot_k1_cost_usd"] / t4["sota_cost_usd"]
    df["k10_cost_multiple"] = t5["kshot_k10_cost_usd"] / t5["sota_cost_usd"]
    df["t6_quality_bias_pct"] = _q_bias(t6["obiased_quality_pct"], t6["otrue_quality_pct"])
    df["t6_cost_bias_pct"] = _c_bias(t6["obiased_cost"], t6["otrue_cost"])
    df["t4_k1_gt_t6_biased"] = t4["kshot_k1_quality_pct"] > t6["obiased_quality_pct"]
    df["t6_true_cost_below_sota"] = t6["otrue_cost"] <= t2["sota_cost_cents"]
    df["t2_alpha_star_le_t6_true"] = t2["otrue_alpha_star_cost_cents"] <= t6["otrue_cost"]
    return df


def _ratio_rows(tables) -> list[tuple[str, pd.Series, np.ndarray, np.ndarray]]:
    """(table, printed ratio, lower, upper) of every printed per-row ratio of Tables 1, 2, 4, 5."""
    out = []
    spec = [("t1", _err_red, "otrue_quality_pct", "sota_quality_pct", "error_reduction_pct", None),
            ("t2", _saving, "otrue_alpha_star_cost_cents", "sota_cost_cents", "cost_saving_pct", 0.0),
            ("t4", _err_red, "kshot_k1_quality_pct", "sota_quality_pct", "error_reduction_pct", None),
            ("t5", _err_red, "kshot_k10_quality_pct", "sota_quality_pct", "error_reduction_pct", None)]
    for name, fn, new, old, printed, lb in spec:
        b = body(tables, name)
        _, lo, hi = _row_ranges(fn, [b[new], b[old]], [_half(name, new), _half(name, old)], [lb, None])
        out.append((name, b[printed], lo, hi))
    return out


def headline_stats(tables: dict[str, pd.DataFrame]) -> dict[str, RoundedStat]:
    """The headline averages recomputed from the rows, with their ranges under rounding."""
    t1, t2, t4, t5, t6 = (body(tables, k) for k in ("t1", "t2", "t4", "t5", "t6"))
    hq = [_half("t1", "otrue_quality_pct")] * 2
    return {
        "t1_err_red": rounding_range(_err_red, [t1["otrue_quality_pct"], t1["sota_quality_pct"]], hq),
        "t2_saving": rounding_range(_saving, [t2["otrue_alpha_star_cost_cents"], t2["sota_cost_cents"]],
                                    [_half("t2", "sota_cost_cents")] * 2, lower=[0.0, None]),
        "t4_err_red": rounding_range(_err_red, [t4["kshot_k1_quality_pct"], t4["sota_quality_pct"]], hq),
        "t5_err_red": rounding_range(_err_red, [t5["kshot_k10_quality_pct"], t5["sota_quality_pct"]], hq),
        "t6_q_bias_mean": rounding_range(_q_bias, [t6["obiased_quality_pct"], t6["otrue_quality_pct"]], hq),
        "t6_q_bias_max": rounding_range(_q_bias, [t6["obiased_quality_pct"], t6["otrue_quality_pct"]], hq, "max"),
        "t6_c_bias_mean": rounding_range(_c_bias, [t6["obiased_cost"], t6["otrue_cost"]], [0.005, 0.005]),
        "t6_c_bias_max": rounding_range(_c_bias, [t6["obiased_cost"], t6["otrue_cost"]], [0.005, 0.005], "max"),
        "t6_c_bias_min": rounding_range(_c_bias, [t6["obiased_cost"], t6["otrue_cost"]], [0.005, 0.005], "min"),
    }


def published_checks(tables: dict[str, pd.DataFrame] | None = None) -> dict:
    """Scalar consistency checks of the published tables (spec §2 headline checks), all recomputed here."""
    tables = load_tables() if tables is None else tables
    rows = recompute_rows(tables)
    a1, a2, a4, a5 = (_average(tables, k) for k in ("t1", "t2", "t4", "t5"))
    t3, a3 = body(tables, "t3"), _average(tables, "t3")
    out = {
        "t1_mean_err_red_printed": float(a1["error_reduction_pct"]),
        "t1_mean_err_red_recomputed": float(rows["t1_err_red_recomputed"].mean()),
        "t1_max_row_diff": float((rows["t1_err_red_recomputed"] - rows["t1_err_red_printed"]).abs().max()),
        "t1_ratio_of_means": float(_err_red(a1["otrue_quality_pct"], a1["sota_quality_pct"])),
        "t2_mean_saving_printed": float(a2["cost_saving_pct"]),
        "t2_mean_saving_recomputed": float(rows["t2_saving_recomputed"].mean()),
        "t2_max_row_diff": float((rows["t2_saving_recomputed"] - rows["t2_saving_printed"]).abs().max()),
        "t2_ratio_of_means": float(_saving(a2["otrue_alpha_star_cost_cents"], a2["sota_cost_cents"])),
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


def _averages_consistent(tables) -> tuple[bool, list[str]]:
    """Is every printed Average a possible rounding of the mean of its rows? Returns (all ok, failures)."""
    bad = []
    for name, cols in PRINT_DECIMALS.items():
        b, avg = body(tables, name), _average(tables, name)
        for col, dec in cols.items():
            h = 0.5 * 10.0 ** (-dec)
            st = RoundedStat(float(b[col].mean()), float(b[col].mean() - h), float(b[col].mean() + h))
            if not st.allows(float(avg[col]), dec):
                bad.append(f"{name}.{col}: printed {avg[col]}, rows give {b[col].mean():.4g}")
    return not bad, bad


def transcription_measures(tables: dict[str, pd.DataFrame] | None = None) -> list[Measure]:
    """Every transcription claim of the registry, measured on the shipped tables."""
    from capfront_lib.core.fmt import number

    tables = load_tables() if tables is None else tables
    H = headline_stats(tables)
    c = published_checks(tables)
    t1, t2, t3, t4, t5, t6 = (body(tables, f"t{i}") for i in range(1, 7))
    out: list[Measure] = []

    def consistent(cid, st: RoundedStat, printed: float, dec: int, note: str = "") -> None:
        ok = st.allows(printed, dec)
        out.append(Measure(cid, ok, display=f"{st.text(4)}; printed {printed:g}", note=note))

    consistent("t1-mean-54", H["t1_err_red"], 53.7, 1,
               f"mean of per-row ratios; from the average accuracies it would be {number(c['t1_ratio_of_means'], 3)} %")
    consistent("t5-mean-82", H["t5_err_red"], 82.4, 1)
    consistent("t2-mean-85", H["t2_saving"], 85.2, 1,
               f"mean of per-row ratios; from the average costs it would be {number(c['t2_ratio_of_means'], 3)} %")
    consistent("t4-mean-66", H["t4_err_red"], 66.1, 1)
    consistent("sec63-q-1.2", H["t6_q_bias_mean"], 1.2, 1, "relative to O_true, as in the Fig. 12 caption")
    consistent("sec63-c-37.5", H["t6_c_bias_mean"], 37.5, 1,
               "costs printed to 0.01 cent (several are 0.01-0.06) make the mean of row ratios almost unconstrained")
    consistent("fig12-q-1.0", H["t6_q_bias_mean"], 1.0, 1)
    consistent("fig12-c-23.8", H["t6_c_bias_mean"], 23.8, 1)
    lo_ok = H["t6_c_bias_min"].allows(1.5, 1)
    hi_ok = H["t6_c_bias_max"].allows(68.0, 0)
    out.append(Measure("fig12-c-range", lo_ok and hi_ok,
                       display=f"min {H['t6_c_bias_min'].text(3)}; max {H['t6_c_bias_max'].text(3)}",
                       note=f"{int((t6['obiased_cost'] == t6['otrue_cost']).sum())} rows print equal costs (0 % as printed)"))
    qmax = H["t6_q_bias_max"]
    out.append(Measure("fig12-q-max9", qmax.value, ci=(qmax.lo, qmax.hi), display=qmax.text(3),
                       note="the interval is the range under rounding (BigCodeBench); relative to O_biased the maximum is 8.4 %"))
    # rows and averages
    rows_ok = [((printed + 0.05 >= lo - 1e-9) & (printed - 0.05 <= hi + 1e-9)) for _, printed, lo, hi in _ratio_rows(tables)]
    n_ok = int(sum(int(np.sum(r)) for r in rows_ok))
    n_all = int(sum(r.size for r in rows_ok))
    out.append(Measure("tables-rows", n_ok == n_all, display=f"{n_ok} of {n_all} printed ratios consistent with rounding"))
    avg_ok, avg_bad = _averages_consistent(tables)
    out.append(Measure("tables-averages", avg_ok, display="all Average rows consistent" if avg_ok else "; ".join(avg_bad)))
    # counts
    out.append(Measure("abs-scale-models", int(len(t3)), display=f"{len(t3)} model rows in Table 3",
                       note="devstral-small and devstral-small-2505 both appear; the text lists 4 Mistral models"))
    out.append(Measure("abs-scale-benchmarks", int(len(t1)), display=f"{len(t1)} benchmark rows in Tables 1, 2, 4, 5, 6"))
    # matched cost
    n_le = int((t6["otrue_cost"] <= t2["sota_cost_cents"]).sum())
    worst = t6.assign(sota=t2["sota_cost_cents"]).query("otrue_cost > sota")
    out.append(Measure("matched-cost-54", n_le == len(t6), display=f"{n_le} of {len(t6)} rows: O_true cost <= SOTA cost",
                       note="reading Table 6's unstated alpha as 1 and its unit as cents; "
                            + ", ".join(f"{r.benchmark} {r.otrue_cost:g} vs {r.sota:g} cents" for r in worst.itertuples())))
    mult = c["k10_cost_multiple_ratio_of_means"]
    out.append(Measure("matched-cost-82", mult, display=f"{number(mult, 3)} × (ratio of average costs)",
                       note=f"mean of per-row multiples {number(c['k10_cost_multiple_mean_of_ratios'], 3)} ×; k = 1 costs "
                            f"{number(c['k1_cost_multiple_ratio_of_means'], 2)} ×: every model is called k times"))
    # posthoc
    ge = int((t5["kshot_k10_quality_pct"] >= t4["kshot_k1_quality_pct"]).sum())
    out.append(Measure("kshot-grows", ge == len(t4), display=f"{ge} of {len(t4)} rows"))
    gap = t4["kshot_k1_quality_pct"] - t6["obiased_quality_pct"]
    eq = int(gap.abs().le(0.1 + 1e-9).sum())  # equal up to the rounding of both columns (0.05 each)
    out.append(Measure("eq22-printed", eq == len(t4),
                       display=f"Table 4's k = 1 quality is above Table 6's O_biased in {int((gap > 0).sum())} of {len(t4)} rows "
                               f"(by more than rounding in {len(t4) - eq})",
                       note="the tables follow the any-model form 1 - prod_l (1 - pi)^k of eq. (23), not eq. (22)"))
    # Table 3
    hi_m, lo_m = t3.loc[t3["reliability_pct"].idxmax()], t3.loc[t3["reliability_pct"].idxmin()]
    ok = (hi_m["model"] == "openai/gpt-5-mini" and abs(hi_m["reliability_pct"] - 90.2) < 1e-9
          and lo_m["model"] == "z-ai/glm-4.6" and abs(lo_m["reliability_pct"] - 76.3) < 1e-9)
    out.append(Measure("t3-extremes", bool(ok), display=f"max {hi_m['model']} {hi_m['reliability_pct']:g} %, "
                                                         f"min {lo_m['model']} {lo_m['reliability_pct']:g} %"))
    for cid, key in (("rel-quality", "quality"), ("rel-cost", "cost")):
        out.append(Measure(cid, c[f"t3_pearson_p_{key}"],
                           display=f"Pearson r = {number(c[f't3_pearson_rel_{key}'], 2)}, p = {number(c[f't3_pearson_p_{key}'], 2)}",
                           note=f"Spearman rho = {number(c[f't3_spearman_rel_{key}'], 2)}, p = {number(c[f't3_spearman_p_{key}'], 2)}; "
                                f"{len(t3)} rows as printed"))
    # Table 6
    sysm = bool((t6["obiased_quality_pct"] >= t6["otrue_quality_pct"]).all() and (t6["obiased_cost"] <= t6["otrue_cost"]).all())
    out.append(Measure("t6-systematic", sysm,
                       display=f"quality higher in {int((t6['obiased_quality_pct'] > t6['otrue_quality_pct']).sum())}, "
                               f"cost lower in {int((t6['obiased_cost'] < t6['otrue_cost']).sum())} of {len(t6)} rows; no row reversed"))
    qm, cm = c["t6_quality_bias_mean_pct"], c["t6_cost_bias_mean_pct"]
    out.append(Measure("t6-cost-gt-quality", bool(cm > qm), display=f"cost {number(cm, 3)} % vs quality {number(qm, 2)} %"))
    return out


def toy_table() -> pd.DataFrame:
    """The introduction's example (Singhal et al. 2025 via the paper): two models on four MMLU subjects."""
    return pd.DataFrame({"subject": ["Medical Genetics", "Anatomy", "Professional Medicine", "College Medicine"],
                         "GPT-4-base": [97.0, 85.2, 93.8, 80.9], "Med-PaLM-2": [92.0, 84.4, 95.2, 83.2]})


def toy_measure(toy: pd.DataFrame) -> Measure:
    """Per-subject oracle (unweighted mean of the per-subject maxima) against both models."""
    from capfront_lib.core.fmt import number

    models = [c for c in toy.columns if c != "subject"]
    oracle = float(toy[models].max(axis=1).mean())
    best = float(toy[models].mean().max())
    return Measure("toy-oracle", oracle > best, display=f"oracle {number(oracle, 4)} vs best model {number(best, 4)}")
