"""Tables the chapter page shows (frames only; ``capfront_lib.core.tables.show_table`` formats them)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

ALG4 = ["EM-GMM", "K-Means", "Spectral", "Hierarchical"]


def ledger_rows(ledger, ids: Sequence[str]) -> pd.DataFrame:
    """The ledger rows of one section: id, the thesis's value, ours (with interval), verdict, reason (the
    claims' full wording is in the chapter's ledger table)."""
    f = ledger.frame().set_index("claim_id")
    ids = [i for i in ids if i in f.index]
    out = f.loc[ids, ["verdict", "our_value", "paper_value", "reason"]].reset_index()
    return out.rename(columns={"claim_id": "id", "paper_value": "thesis", "our_value": "this run"})


def benchmark_table(summ: pd.DataFrame, thesis52: pd.DataFrame, metric: str, convexity: str,
                    algorithms: Sequence[str] = ALG4) -> pd.DataFrame:
    """One row per archetype: our mean (SE) and the thesis's value per algorithm, plus the difference."""
    rows = []
    o = summ[(summ.convexity == convexity) & (summ.archetype != "avg")]
    for a in sorted(o.archetype.unique(), key=int):
        row = {"archetype": int(a)}
        for alg in algorithms:
            r = o[(o.archetype == a) & (o.algorithm == alg)]
            t = thesis52[(thesis52.archetype == str(a)) & (thesis52.algorithm == alg) & (thesis52.metric == metric)
                         & (thesis52.convexity == convexity)]
            if r.empty or t.empty:
                continue
            row[f"{alg} ours"] = float(r[metric].iloc[0])
            row[f"{alg} thesis"] = float(t.value.iloc[0])
        rows.append(row)
    return pd.DataFrame(rows)


def hdbscan_table(summ: pd.DataFrame, thesis53: pd.DataFrame) -> pd.DataFrame:
    """Per convexity and archetype: our AMI, ARI and noise share for HDBSCAN beside the thesis's."""
    h = summ[(summ.algorithm == "HDBSCAN") & (summ.archetype != "avg")]
    rows = []
    for _, r in h.sort_values(["convexity", "archetype"]).iterrows():
        t = thesis53[(thesis53.archetype == str(r.archetype)) & (thesis53.convexity == r.convexity)].set_index("metric").value
        rows.append({"data": "convex" if r.convexity == "convex" else "non-convex", "archetype": int(r.archetype),
                     "AMI ours": r.AMI, "AMI thesis": t.get("AMI", np.nan), "ARI ours": r.ARI, "ARI thesis": t.get("ARI", np.nan),
                     "noise ours": r.p_noise, "noise thesis": t.get("p_noise", np.nan)})
    return pd.DataFrame(rows)


def fig54_table(acc: dict, paper: dict) -> pd.DataFrame:
    """Fig 5.4 summary statistics, ours beside the values recomputed from the authors' published CSV."""
    names = {"r_lda": "Pearson r, LDA", "r_c2c": "Pearson r, C2C", "median_rel_err_lda": "median relative error, LDA",
             "median_rel_err_c2c": "median relative error, C2C", "share_within_10pct_lda": "share within 10 %, LDA",
             "share_within_10pct_c2c": "share within 10 %, C2C"}
    return pd.DataFrame([dict(statistic=names[k], ours=acc[k], authors_csv=paper[k]) for k in names])


def control_table(summary: pd.DataFrame, archetypes: Sequence[dict]) -> pd.DataFrame:
    """Fig 5.11 per archetype: its overlap settings and what the drawn models achieved."""
    rows = []
    for _, r in summary.iterrows():
        a = archetypes[int(r.archetype) - 1]
        rows.append({"archetype": int(r.archetype), "k": a["n_clusters"], "p": a["dim"], "max_overlap": a["max_overlap"],
                     "min_overlap": a["min_overlap"], "models": int(r.models),
                     "largest exact / max": r.largest_exact_over_max,
                     "models meeting min (exact)": r.share_models_min_ok_exact,
                     "worst nearest / min": r.smallest_nearest_exact_over_min,
                     "pairs below min": r.share_pairs_below_min})
    return pd.DataFrame(rows)
