"""The chapter's published numbers (Tables 4.1 and 4.2) and the analytic checks done on them alone.

Table 4.1 (per-query means of the four models) is shared with the economic-evaluation chapter and read through
``capfront_lib.economic_evaluation``; Table 4.2 (Fail Fast, or Ask vs Ask) is transcribed in
``data/human_in_the_loop/table_4_2_ffa_vs_ask.csv``. Everything here is arithmetic on those tables: the naive
savings of eq. (4.2), the drag factors they imply, the "up to 38 % latency / 46 % cost" filter of Table 4.2's
caption and the relative-Δ check.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from capfront_lib.core.resources import data_path

from capfront_lib.economic_evaluation.tables import LLAMA405, O3, QWEN3, R1, load_published_means
from capfront_lib.human_in_the_loop.systems import implied_drag, naive_delta_pct, relative_delta_pct

__all__ = [
    "DATA_DIR",
    "REASONING_MODELS",
    "NONREASONING_MODEL",
    "SHORT",
    "load_table_4_1",
    "load_table_4_2",
    "drag_table",
    "up_to_savings",
    "relative_delta_check",
    "batch_days",
]

DATA_DIR = data_path("human_in_the_loop")
#: Reasoning models M_r in Table 4.2's row order, and the non-reasoning model M_nr.
REASONING_MODELS = (R1, QWEN3, O3)
NONREASONING_MODEL = LLAMA405
#: Short display names.
SHORT = {QWEN3: "Qwen3 235B", R1: "DeepSeek R1", O3: "o3", LLAMA405: "Llama3.1 405B"}


def load_table_4_1() -> pd.DataFrame:
    """Table 4.1: error rate, latency (s), cost ($), output tokens per query on 500 level-5 MATH questions.

    Read from the economic-evaluation chapter's transcription, with a ``role`` column (``M_r`` / ``M_nr``) added;
    indexed by model id.
    """
    t = load_published_means().set_index("model", drop=False)
    t.index.name = None
    t["role"] = np.where(t["model"] == NONREASONING_MODEL, "M_nr", "M_r")
    return t


def load_table_4_2(path: str | Path | None = None) -> pd.DataFrame:
    """Table 4.2 in long form: ``model, base_auarc, u, auarc, delta_auarc_pct, delta_latency_pct, delta_cost_pct``."""
    df = pd.read_csv(Path(path) if path else DATA_DIR / "table_4_2_ffa_vs_ask.csv")
    need = ("model", "base_auarc", "u", "auarc", "delta_auarc_pct", "delta_latency_pct", "delta_cost_pct")
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(f"Table 4.2 file lacks columns {missing}")
    return df


def drag_table(t41: pd.DataFrame | None = None, t42: pd.DataFrame | None = None) -> pd.DataFrame:
    """Naive (eq. 4.2) vs reported ΔL/ΔC and the implied drag factors ``D_L``, ``D_C`` for each Table 4.2 cell.

    ``D = ((1 + Δ/100) X_r - X_nr) / ((1-u) X_r)`` with X_r, X_nr the Table 4.1 means (cost of the P(True) call
    excluded, as Table 4.1's costs imply). ``D > 1`` means the reasoning model's passed queries are slower/dearer
    than its average query: latency (cost) drag.
    """
    t41 = load_table_4_1() if t41 is None else t41
    t42 = load_table_4_2() if t42 is None else t42
    nr = t41.loc[NONREASONING_MODEL]
    rows = []
    for _, c in t42.iterrows():
        m = t41.loc[c["model"]]
        rows.append(
            {
                "model": c["model"],
                "u": c["u"],
                "naive_dL_pct": float(naive_delta_pct(m["latency_s"], nr["latency_s"], c["u"])),
                "reported_dL_pct": c["delta_latency_pct"],
                "naive_dC_pct": float(naive_delta_pct(m["cost_usd"], nr["cost_usd"], c["u"])),
                "reported_dC_pct": c["delta_cost_pct"],
                "D_L": float(implied_drag(c["delta_latency_pct"], m["latency_s"], nr["latency_s"], c["u"])),
                "D_C": float(implied_drag(c["delta_cost_pct"], m["cost_usd"], nr["cost_usd"], c["u"])),
            }
        )
    return pd.DataFrame(rows)


def up_to_savings(t42: pd.DataFrame | None = None, auarc_min: float = 0.90) -> dict[str, float | str]:
    """Largest latency and cost savings (in %) over Table 4.2 cells with AUARC >= ``auarc_min``.

    Table 4.2's caption claims "up to 38 % latency and 46 % cost" savings at 90+ % AUARC. Returns the two maxima and
    the (model, u) cells where they occur.
    """
    t = load_table_4_2() if t42 is None else t42
    ok = t[t["auarc"] >= auarc_min - 1e-12]
    if ok.empty:
        raise ValueError(f"no Table 4.2 cell has AUARC >= {auarc_min}")
    iL = (-ok["delta_latency_pct"]).idxmax()
    iC = (-ok["delta_cost_pct"]).idxmax()
    return {
        "latency_saving_pct": float(-ok.loc[iL, "delta_latency_pct"]),
        "latency_cell": f"{ok.loc[iL, 'model']} u={ok.loc[iL, 'u']:g}",
        "cost_saving_pct": float(-ok.loc[iC, "delta_cost_pct"]),
        "cost_cell": f"{ok.loc[iC, 'model']} u={ok.loc[iC, 'u']:g}",
    }


def relative_delta_check(t42: pd.DataFrame | None = None) -> pd.DataFrame:
    """Recompute Table 4.2's Δ as a relative change of the printed (rounded) AUARCs and compare with the printed Δ.

    The printed AUARCs have two decimals, so the recomputed value can differ by up to about
    ``100 * 0.005 * (1/base + auarc/base^2)`` ≈ 1.05 percentage points.
    """
    t = load_table_4_2() if t42 is None else t42
    out = t[["model", "u", "base_auarc", "auarc", "delta_auarc_pct"]].copy()
    out["recomputed_pct"] = relative_delta_pct(out["base_auarc"], out["auarc"])
    out["abs_diff_pp"] = (out["recomputed_pct"] - out["delta_auarc_pct"]).abs()
    out["rounding_bound_pp"] = 100 * 0.005 * (1 / out["base_auarc"] + out["auarc"] / out["base_auarc"] ** 2)
    return out


def batch_days(latency_s: float = 30.0, n_records: float = 1e6) -> float:
    """§4.1's batch example: days needed to process ``n_records`` sequentially at ``latency_s`` seconds each."""
    if latency_s < 0 or n_records < 0:
        raise ValueError("latency_s and n_records must be >= 0")
    return latency_s * n_records / 86400.0


# ------------------------------------------------------------------------------------------------------------
# printed-precision intervals (the tolerance of arithmetic on the paper's own tables)
#: half a unit of the last printed digit: AUARC (two decimals), Δ / ΔL / ΔC (one decimal, in %), latency (0.1 s)
HALF_AUARC, HALF_PCT, HALF_LATENCY = 0.005, 0.05, 0.05


def drag_intervals(t41: pd.DataFrame | None = None, t42: pd.DataFrame | None = None) -> pd.DataFrame:
    """Implied latency drag factor of each Table 4.2 cell with the interval allowed by the printed precision.

    ``D = ((1 + Δ/100) L_r - L_nr) / ((1-u) L_r)`` rises with ``Δ`` and ``L_r`` and falls with ``L_nr``, so the
    interval ends are the formula at the corners (ΔL ± 0.05 pp, latencies ± 0.05 s). Columns ``model, u, D_L,
    D_L_lo, D_L_hi``.
    """
    t41 = load_table_4_1() if t41 is None else t41
    t42 = load_table_4_2() if t42 is None else t42
    lnr = float(t41.loc[NONREASONING_MODEL, "latency_s"])
    rows = []
    for _, c in t42.iterrows():
        lr = float(t41.loc[c["model"], "latency_s"])
        d, u = float(c["delta_latency_pct"]), float(c["u"])
        rows.append({"model": c["model"], "u": u, "D_L": float(implied_drag(d, lr, lnr, u)),
                     "D_L_lo": float(implied_drag(d - HALF_PCT, lr - HALF_LATENCY, lnr + HALF_LATENCY, u)),
                     "D_L_hi": float(implied_drag(d + HALF_PCT, lr + HALF_LATENCY, lnr - HALF_LATENCY, u))})
    return pd.DataFrame(rows)


def ask_gains(t41: pd.DataFrame | None = None, t42: pd.DataFrame | None = None, n: int = 500, rates=None) -> pd.DataFrame:
    """Per reasoning model: the base AUARC of Table 4.2 against what Table 4.1 implies without a good signal.

    ``gain = base AUARC - (1 - e)`` with its printed-precision interval (AUARC ± 0.005, error ± 0.05 pp), and the
    AUARC of random rejection (``1 - e``) and of the oracle that rejects errors first, at ``n`` queries on the
    0-20 % grid in 0.5 % steps (the thesis does not state its grid). ``within_bounds``: the printed interval meets
    ``[random, oracle]``.
    """
    from capfront_lib.human_in_the_loop.metrics import oracle_curve, rejection_grid, auarc

    t41 = load_table_4_1() if t41 is None else t41
    t42 = load_table_4_2() if t42 is None else t42
    rates = rejection_grid(0.2, 0.005) if rates is None else rates
    rows = []
    for m, base in t42.groupby("model", sort=False)["base_auarc"].first().items():
        e = float(t41.loc[m, "error_rate"])
        k = int(round(n * e))
        oracle = auarc(oracle_curve(n, k, rates))
        rows.append({"model": m, "base_auarc": float(base), "accuracy": 1 - e, "gain": float(base) - (1 - e),
                     "gain_lo": float(base) - HALF_AUARC - (1 - e) - HALF_PCT / 100,
                     "gain_hi": float(base) + HALF_AUARC - (1 - e) + HALF_PCT / 100,
                     "auarc_random": 1 - e, "auarc_oracle": oracle,
                     "within_bounds": bool(float(base) + HALF_AUARC >= 1 - e and float(base) - HALF_AUARC <= oracle)})
    return pd.DataFrame(rows).set_index("model")


def cell(t42: pd.DataFrame, model: str, u: float, column: str) -> float:
    """One printed cell of Table 4.2."""
    sel = t42[(t42["model"] == model) & np.isclose(t42["u"], u)]
    if len(sel) != 1:
        raise KeyError(f"Table 4.2 has no single cell for {model!r} at u = {u}")
    return float(sel[column].iloc[0])
