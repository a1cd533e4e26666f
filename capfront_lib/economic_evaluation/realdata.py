"""Optional real-public-data cascade (not in the thesis): ZeroEval GSM8K small -> big with output length
as the deferral signal (longer answer => defer). Only joint correctness is real; the cost is a *proxy*
(output characters / ``chars_per_token`` x an assumed $/M-token price) and latency is not available.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from capfront_lib.core.evallog import load_log
from capfront_lib.economic_evaluation.cascade import CascadeData

GSM8K_SMALL = "Meta-Llama-3.1-8B-Instruct"
GSM8K_BIG = "gpt-4o-2024-08-06"


def gsm8k_cascade_data(data_dir: str | Path, small: str = GSM8K_SMALL, big: str = GSM8K_BIG, *,
                       small_price_per_mtok: float = 0.2, big_price_per_mtok: float = 10.0,
                       chars_per_token: float = 4.0) -> tuple[CascadeData, dict]:
    """Joint outcomes of ``small`` and ``big`` on the GSM8K items both answered.

    ``p = -output_chars(small)`` so that the cascade's rule ``defer iff p < t`` defers the longest answers.
    Cost proxy: ``chars / chars_per_token * price / 1e6`` for each model (labelled a proxy everywhere).
    Returns the data and a dict with the item count and the models' accuracies.
    """
    root = Path(data_dir) / "ZeroEval"
    log = load_log(root / "gsm8k_correct.csv", form="wide", missing="keep_partial")
    for m in (small, big):
        if m not in log.models:
            raise ValueError(f"model {m!r} not in the GSM8K matrix; available: {log.models}")
    corr = log.wide("correct")[[small, big]]
    chars = pd.read_csv(root / "gsm8k_output_chars.csv", dtype={"id": str}).set_index("id")[[small, big]]
    chars.index = chars.index.astype(str)
    both = corr.dropna().index.intersection(chars.dropna().index)
    if len(both) < 10:
        raise ValueError(f"only {len(both)} GSM8K items answered by both {small!r} and {big!r}")
    c, ch = corr.loc[both], chars.loc[both].astype(float)
    if chars_per_token <= 0 or small_price_per_mtok < 0 or big_price_per_mtok < 0:
        raise ValueError("chars_per_token must be > 0 and prices >= 0")
    data = CascadeData(p=-ch[small].to_numpy(), err_small=1 - c[small].to_numpy(), err_big=1 - c[big].to_numpy(),
                       cost_small=ch[small].to_numpy() / chars_per_token * small_price_per_mtok / 1e6,
                       cost_big=ch[big].to_numpy() / chars_per_token * big_price_per_mtok / 1e6,
                       lat_small=np.zeros(len(both)), lat_big=np.zeros(len(both)))
    info = {"n_items": int(len(both)), "small": small, "big": big,
            "acc_small": float(c[small].mean()), "acc_big": float(c[big].mean())}
    return data, info
