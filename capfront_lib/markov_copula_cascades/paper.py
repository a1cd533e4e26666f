"""The thesis' published tables (transcribed into ``data/markov_copula_cascades/``) and their arithmetic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from capfront_lib.core.resources import data_path

DATA = data_path("markov_copula_cascades")
TABLES = ("table_2_1", "table_2_2", "table_2_3", "table_2_4", "table_2_5", "table_2_6", "table_2_7_2_8",
          "app_2d_price_ratios", "list_prices_dec2024")


def load_table(name: str, data_dir: str | Path | None = None) -> pd.DataFrame:
    """Read one transcribed table (CSV next to its ``.source.md`` note)."""
    if name not in TABLES:
        raise ValueError(f"unknown table {name!r}; choose from {TABLES}")
    path = Path(data_dir or DATA) / f"{name}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"transcribed table {path} is missing")
    return pd.read_csv(path)


def price_ratios(prices: pd.DataFrame | None = None, ratios: pd.DataFrame | None = None) -> pd.DataFrame:
    """Appendix 2D: recompute larger/smaller input-price ratios from list prices next to the printed ones."""
    prices = load_table("list_prices_dec2024") if prices is None else prices
    ratios = load_table("app_2d_price_ratios") if ratios is None else ratios
    p = {m.lower(): v for m, v in zip(prices["model"], prices["input_usd_per_mtok"])}
    out = ratios.copy()
    out["recomputed_ratio"] = [p[b.lower()] / p[a.lower()] for a, b in zip(ratios["smaller_model"], ratios["larger_model"])]
    out["abs_diff"] = (out["recomputed_ratio"] - out["printed_ratio"]).abs()
    return out


def average_row_check(df: pd.DataFrame, key: str, value_cols: list[str], group: str | None = None) -> pd.DataFrame:
    """Compare printed ``Average`` rows with the mean of the other rows (per column, optionally per group)."""
    rows = []
    groups = [(None, df)] if group is None else list(df.groupby(group))
    for gname, g in groups:
        avg = g[g[key] == "Average"]
        body = g[g[key] != "Average"]
        for col in value_cols:
            rows.append({"group": gname, "column": col, "printed": float(avg[col].iloc[0]), "recomputed": float(body[col].astype(float).mean())})
    out = pd.DataFrame(rows)
    out["abs_diff"] = (out["printed"] - out["recomputed"]).abs()
    return out


def ece_reduction_arithmetic(t22: pd.DataFrame | None = None) -> dict[str, float]:
    """Table 2.2: mean of the printed Average-row %Delta (the "28.2%" of the text) vs recomputed cell means."""
    t = load_table("table_2_2") if t22 is None else t22
    avg = t[t["model"] == "Average"].set_index("benchmark")
    body = t[t["model"] != "Average"]
    per_bench = body.groupby("benchmark", sort=False)["pct_delta"].mean()
    return {
        "mean_printed_average_delta": float(avg["pct_delta"].mean()),
        "mean_recomputed_row_delta": float(per_bench.mean()),
        "mean_all_cells_delta": float(body["pct_delta"].mean()),
        "max_abs_gap_average_rows": float((avg["pct_delta"] - per_bench.reindex(avg.index)).abs().max()),
    }


def rejection_counts(table: pd.DataFrame, alpha: float = 0.05) -> tuple[int, int]:
    """Number of cells with p < alpha (excluding Average rows) and number of cells (Tables 2.5 / 2.6)."""
    body = table[table["model"] != "Average"]
    p = body["p"].astype(float)
    return int((p < alpha).sum()), int(p.size)


def cascade_counts(k_max: int = 5) -> dict[int, int]:
    """Number of increasing sub-cascades of k_max ordered models by length (10/10/5/1 for k_max = 5)."""
    from math import comb

    return {k: comb(k_max, k) for k in range(2, k_max + 1)}


def grid_sizes(levels: int = 40, ks: tuple[int, ...] = (2, 3, 4, 5)) -> dict[int, int]:
    """Grid-search candidates levels^(k-1) per cascade length."""
    return {k: levels ** (k - 1) for k in ks}


def implied_k2_gain(all_k_mean: float, k_ge3_mean: float, counts: dict[int, int] | None = None) -> float:
    """Mean %Delta of the k = 2 cascades implied by an all-cascade mean and a k >= 3 mean (pooled over cascades)."""
    c = cascade_counts() if counts is None else counts
    n2 = c[2]
    n3 = sum(v for k, v in c.items() if k >= 3)
    return float((all_k_mean * (n2 + n3) - k_ge3_mean * n3) / n2)
