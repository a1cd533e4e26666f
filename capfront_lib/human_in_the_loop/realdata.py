"""The Ask mechanism on real public matrices (optional; not in the thesis).

The thesis's MATH per-query data are not public. The project's public matrices (``CAPFRONT_DATA_DIR``) hold, per
model and item, correctness and the length of the model's full output in characters: ZeroEval GSM8K (42 models x
1,319) and MMLU-Pro (29 models x 12,032, with a category). Output length stands in for the reasoning-trace length
of §4.3: reject the longest answers, compare the accuracy-rejection curve with random rejection (``1 - e``) and the
oracle (errors first). Each model is scored on the items it answered. The matrices have no latency, cost or
self-verification probability, so Fail Fast, or Ask and latency drag stay on the simulator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from capfront_lib.core.evallog import load_log
from capfront_lib.human_in_the_loop.metrics import accuracy_rejection_curve, auarc, oracle_curve

__all__ = ["DATASETS", "load_length_matrices", "ask_table", "category_table"]

DATASETS = {
    "gsm8k": ("ZeroEval", "gsm8k_correct.csv", "gsm8k_output_chars.csv", None),
    "mmlu_pro": ("MMLU-Pro", "mmlu_pro_correct.csv", "mmlu_pro_output_chars.csv", "mmlu_pro_items.csv"),
}


def load_length_matrices(data_dir: str | Path, dataset: str = "gsm8k") -> tuple[pd.DataFrame, pd.DataFrame, pd.Series | None]:
    """Correctness (via the core's wide-log loader) and output characters (items x models), aligned; categories.

    Cells where either is missing are NaN in both.
    """
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {list(DATASETS)}, got {dataset!r}")
    folder, corr_f, chars_f, items_f = DATASETS[dataset]
    root = Path(data_dir) / folder
    for f in (corr_f, chars_f):
        if not (root / f).is_file():
            raise FileNotFoundError(f"public data file {root / f} does not exist")
    log = load_log(root / corr_f, form="wide", missing="keep_partial",
                   items_path=(root / items_f) if items_f else None)
    corr = log.wide("correct")
    chars = pd.read_csv(root / chars_f, dtype={"id": str}).set_index("id")
    chars.index = chars.index.astype(str)
    models = [m for m in corr.columns if m in chars.columns]
    if not models:
        raise ValueError(f"{root / chars_f}: no model column in common with {root / corr_f}")
    chars = chars.reindex(index=corr.index, columns=models).astype(float)
    corr = corr[models].astype(float)
    both = corr.notna() & chars.notna()
    return corr.where(both), chars.where(both), log.categories


def _one(c: np.ndarray, length: np.ndarray, ids: np.ndarray, rates) -> dict:
    curve = accuracy_rejection_curve(c, length, rates, ids=ids)
    n, e = c.size, int(round(c.size - c.sum()))
    rho = stats.spearmanr(length, c).statistic if 0 < e < n else np.nan
    return {
        "n_items": n,
        "accuracy": float(c.mean()),
        "auarc_length": auarc(curve),
        "auarc_random": float(c.mean()),
        "auarc_oracle": auarc(oracle_curve(n, e, rates)),
        "A_at_7.5": float(curve[int(np.argmin(np.abs(np.asarray(rates) - 0.075)))]),
        "A_at_20": float(curve[-1]),
        "spearman_length_correct": float(rho),
        "curve": curve,
    }


def ask_table(corr: pd.DataFrame, chars: pd.DataFrame, rates, min_items: int = 50,
              models: Sequence[str] | None = None) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Per model: accuracy, AUARC of length-based rejection vs random (``1 - e``) and oracle, A(7.5 %), A(20 %),
    Spearman correlation of length with correctness, and ``beats_random`` (length AUARC > random AUARC).

    Ties in length are broken by item position. Returns the table (sorted by accuracy) and the curves.
    """
    rows, curves = [], {}
    ids = np.arange(len(corr))
    for m in (models or list(corr.columns)):
        ok = corr[m].notna().to_numpy()
        if ok.sum() < min_items:
            continue
        res = _one(corr[m].to_numpy()[ok], chars[m].to_numpy()[ok], ids[ok], rates)
        curves[m] = res.pop("curve")
        rows.append({"model": m, **res})
    if not rows:
        raise ValueError(f"no model answered at least {min_items} items")
    df = pd.DataFrame(rows)
    df["gain_vs_random"] = df["auarc_length"] - df["auarc_random"]
    df["beats_random"] = df["gain_vs_random"] > 0
    return df.sort_values("accuracy", ascending=False).reset_index(drop=True), curves


def category_table(corr: pd.DataFrame, chars: pd.DataFrame, categories: pd.Series, rates,
                   models: Sequence[str], min_items: int = 50) -> pd.DataFrame:
    """AUARC gain of length-based rejection over random, per (model, category) of MMLU-Pro."""
    if categories is None:
        raise ValueError("category_table needs item categories")
    cats = categories.reindex(corr.index)
    rows = []
    for cat in sorted(cats.dropna().unique()):
        sel = (cats == cat).to_numpy()
        t, _ = ask_table(corr[sel], chars[sel], rates, min_items=min_items, models=models)
        t.insert(1, "category", cat)
        rows.append(t)
    return pd.concat(rows, ignore_index=True)


def median_gain_interval(table: pd.DataFrame, n_boot: int = 2000, seed: int = 0,
                         level: float = 0.95) -> tuple[float, tuple[float, float], int]:
    """Median over models of the AUARC gain of length-based rejection over random rejection, with a percentile
    bootstrap interval that resamples models (``n_boot`` resamples, seeded). Returns (median, (lo, hi), n models).

    The models of a public matrix are not a random sample of all models; the interval says how much the median
    rests on a few of them, not how it would generalise.
    """
    g = table["gain_vs_random"].to_numpy(float)
    if g.size == 0:
        raise ValueError("median_gain_interval: no models")
    med = float(np.median(g))
    rng = np.random.default_rng(seed)
    meds = np.median(g[rng.integers(0, g.size, (int(n_boot), g.size))], axis=1)
    lo, hi = np.quantile(meds, [(1 - level) / 2, (1 + level) / 2])
    return med, (float(min(lo, med)), float(max(hi, med))), int(g.size)
