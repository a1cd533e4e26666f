"""Like-for-like tests of the paper's empirical claims on the public matrices (CAPFRONT_DATA_DIR).

The authors' per-query matrices are not part of the project's data, so the chapter tests the paper's
general claims on the two public pools whose format matches: ZeroEval's GSM8K (open-ended math, the
format of MATH-500; 42 models) for the open-ended claims and MMLU-Pro (multiple choice, the format of
GPQA-Diamond; 29 models) for the multiple-choice claims. Both go through the core loader and the
coverage rule of spec §1 (drop models answering < 95% of ids, keep complete rows).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import ndtri

from capfront_lib.cofailure import theory
from capfront_lib.cofailure.copula import mean_offdiag, nearest_correlation, orthant_sov, pearson_matrix, tetrachoric_matrix
from capfront_lib.cofailure.ensemble import ols, triplet_index, triplet_regression, triplet_table
from capfront_lib.cofailure.pool import as_correctness, cp_interval, pool_summary
from capfront_lib.cofailure.report import coverage_filter, outcome_frame
from capfront_lib.cofailure.resample import percentile_ci
from capfront_lib.core.parallel import pmap
from capfront_lib.core.resources import data_path
from capfront_lib.core.threads import single_thread_blas

__all__ = [
    "PUBLIC", "PublicPool", "load_public", "provider_families", "jackknife_ci", "family_gap", "triplet_mean_ci",
    "category_router", "cascade_pair", "cascade_study", "escalation_ratio", "full_sigma_bootstrap",
    "accuracy_correlation", "share_interval", "study", "triplet_study", "router_share", "family_subsets",
    "matched_band_study", "heldout_advantage",
]

# name -> (correctness file, items file, extra files, format)
PUBLIC: dict[str, dict] = {
    "GSM8K": {"correct": "ZeroEval/gsm8k_correct.csv", "items": "ZeroEval/gsm8k_items.csv",
              "length": "ZeroEval/gsm8k_output_chars.csv", "preds": None, "format": "open-ended math"},
    "MMLU-Pro": {"correct": "MMLU-Pro/mmlu_pro_correct.csv", "items": "MMLU-Pro/mmlu_pro_items.csv",
                 "length": "MMLU-Pro/mmlu_pro_output_chars.csv", "preds": "MMLU-Pro/mmlu_pro_pred.csv",
                 "format": "multiple choice"},
}


@dataclass
class PublicPool:
    """A public matrix after the coverage rule: ``Y`` (m x n, complete 0/1), aligned extras and bookkeeping."""

    name: str
    format: str
    path: Path
    Y: np.ndarray
    models: list[str]
    ids: np.ndarray
    frame: pd.DataFrame            # the loaded wide frame before the coverage rule (for the certificate)
    dropped_models: list[str]
    n_queries_in: int
    families: np.ndarray
    categories: np.ndarray | None = None
    gold: np.ndarray | None = None
    preds: np.ndarray | None = None
    length: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    @property
    def m(self) -> int:
        return self.Y.shape[0]

    @property
    def n(self) -> int:
        return self.Y.shape[1]


def provider_families(models) -> np.ndarray:
    """Provider family per public model name (shipped table ``public_model_families.csv``), as integer codes.

    Unknown names raise ``KeyError`` naming them (no silent 'other' family).
    """
    tab = pd.read_csv(data_path("co_failure_ceiling", "public_model_families.csv")).set_index("model")["provider"]
    missing = [m for m in models if m not in tab.index]
    if missing:
        raise KeyError(f"public_model_families.csv has no provider for {missing}")
    return pd.factorize(tab.reindex(list(models)).to_numpy())[0]


def load_public(name: str, data_dir: Path, min_model_coverage: float = 0.95) -> PublicPool | None:
    """Load one public matrix through the core loader and apply the coverage rule (None if the file is absent)."""
    from capfront_lib.core.evallog import load_log

    spec = PUBLIC[name]
    path = Path(data_dir) / spec["correct"]
    if not path.is_file():
        return None
    log = load_log(path, missing="keep_partial", min_models=2)
    frame = outcome_frame(log)
    df, dropped = coverage_filter(frame, min_model_coverage)
    df = df.loc[df.notna().all(axis=1)]
    models = [str(c) for c in df.columns]
    ids = df.index.astype(str).to_numpy()
    pool = PublicPool(name=name, format=spec["format"], path=path, Y=df.to_numpy(float).T, models=models, ids=ids,
                      frame=frame, dropped_models=dropped, n_queries_in=int(frame.shape[0]),
                      families=provider_families(models))
    items = pd.read_csv(Path(data_dir) / spec["items"], dtype={"id": str}).set_index("id").reindex(ids)
    if "category" in items.columns:
        pool.categories = items["category"].to_numpy(object)
    gcol = next((c for c in ("answer", "gold_answer") if c in items.columns), None)
    if gcol:
        pool.gold = items[gcol].to_numpy(object)
    lp = Path(data_dir) / spec["length"]
    if lp.is_file():
        pool.length = pd.read_csv(lp, dtype={"id": str}).set_index("id").reindex(ids)[models].to_numpy(float).T
    if spec["preds"] and (Path(data_dir) / spec["preds"]).is_file():
        pool.preds = (pd.read_csv(Path(data_dir) / spec["preds"], dtype=str).set_index("id").reindex(ids)[models]
                      .to_numpy(object).T)
    return pool


# ----------------------------------------------------------------------------------------- intervals


def jackknife_ci(full: float, loo: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Leave-one-model-out jackknife: (SE, lo, hi) with SE_J = sqrt((J-1)/J sum (theta_-l - mean)^2) (spec §2.11)."""
    loo = np.asarray(loo, float)
    loo = loo[np.isfinite(loo)]
    J = loo.size
    se = float(np.sqrt((J - 1) / J * np.sum((loo - loo.mean()) ** 2)))
    z = float(stats.norm.ppf(0.5 + level / 2))
    return se, full - z * se, full + z * se


def share_interval(K: int, n: int, a_sb: float, delta: float = 0.05) -> tuple[float, float, float]:
    """Co-failure share s = beta/(1 - a_sb) with the interval of the two-sided CP limits of beta (spec §2.17)."""
    lo, hi = cp_interval(int(K), int(n), delta)
    d = 1 - a_sb
    return K / n / d, lo / d, min(hi / d, 1.0)


def family_subsets(families, reps: int, rng: np.random.Generator) -> np.ndarray:
    """``reps`` seeded pools of one model per provider family (rows of sorted model indices, one per family).

    v1 (Section 5) restricts the pool to one model per provider family to show that the underpricing is not a
    same-vendor artifact; the family a pool keeps a model of is drawn uniformly among its members.
    """
    fam = np.asarray(families)
    groups = [np.flatnonzero(fam == f) for f in np.unique(fam)]
    return np.array([np.sort([int(rng.choice(g)) for g in groups]) for _ in range(int(reps))], dtype=int)


# ----------------------------------------------------------------------------------------- Table 1


def family_gap(Y, families) -> dict:
    """Within- minus cross-family mean Pearson of error indicators, with a leave-one-model-out jackknife 95% CI."""
    A = as_correctness(Y)
    fam = np.asarray(families)
    phi = pearson_matrix(A)

    def gap(keep: np.ndarray) -> tuple[float, float, float]:
        f = fam[keep]
        P = phi[np.ix_(keep, keep)]
        iu = np.triu_indices(len(f), 1)
        same = f[iu[0]] == f[iu[1]]
        v = P[iu]
        w, c = v[same & np.isfinite(v)], v[~same & np.isfinite(v)]
        return (float(w.mean() - c.mean()) if w.size and c.size else np.nan,
                float(w.mean()) if w.size else np.nan, float(c.mean()) if c.size else np.nan)

    m = A.shape[0]
    full, within, cross = gap(np.ones(m, bool))
    loo = np.array([gap(np.arange(m) != l)[0] for l in range(m)])
    se, lo, hi = jackknife_ci(full, loo)
    return {"gap": full, "within": within, "cross": cross, "se": se, "ci": (lo, hi), "n": int(np.isfinite(loo).sum()),
            "n_within_pairs": int(sum(np.sum(fam == f) * (np.sum(fam == f) - 1) // 2 for f in np.unique(fam)))}


# ----------------------------------------------------------------------------------------- Pillar B


def triplet_mean_ci(tab: dict, m: int) -> dict:
    """Mean triplet vote gain with a leave-one-model-out jackknife 95% CI (triplets share models)."""
    trip = tab["trip"]
    g = tab["gain"]
    loo = np.array([g[~np.any(trip == l, axis=1)].mean() for l in range(m)])
    se, lo, hi = jackknife_ci(float(g.mean()), loo)
    return {"mean": float(g.mean()), "se": se, "ci": (lo, hi), "n": m, "frac_negative": float(np.mean(g < 0))}


def triplet_study(Y, rng: np.random.Generator, max_triplets: int | None = None, n_boot: int = 200) -> dict:
    """All (or ``max_triplets``) triplets: binary majority gain, OLS slope on rho with jackknife and i.i.d. CIs."""
    A = as_correctness(Y)
    m = A.shape[0]
    trip = triplet_index(m, max_triplets, rng)
    tab = triplet_table(A, trip)
    reg = triplet_regression(tab, m, n_boot=n_boot, rng=rng)
    mean = triplet_mean_ci(tab, m)
    return {"tab": tab, "reg": reg, "mean": mean, "n_triplets": len(trip)}


def _band(acc: np.ndarray, size: int) -> np.ndarray:
    """The ``size`` models with the closest accuracies (the window of consecutive accuracy ranks with the smallest
    range; ties broken by the higher accuracy), as sorted model indices."""
    order = np.argsort(acc, kind="stable")
    a = acc[order]
    spans = a[size - 1:] - a[: len(a) - size + 1]
    best = np.flatnonzero(spans <= spans.min() + 1e-15)[-1]
    return np.sort(order[best: best + size])


def _band_design(A: np.ndarray, phi: np.ndarray, band: np.ndarray, sizes=(3, 5, 7, 9)) -> tuple[list, np.ndarray, np.ndarray]:
    """Sub-bands (all odd-size subsets of ``band`` with at least 3 members), their vote gain over the best member and
    the design [1, mean pairwise phi, mean member accuracy, size]."""
    from itertools import combinations

    acc = A.mean(axis=1)
    subs, y, X = [], [], []
    for k in sizes:
        if k > len(band):
            continue
        for sub in combinations(band.tolist(), k):
            s = list(sub)
            vote = float(np.mean(A[s].sum(axis=0) * 2 > k))
            iu = np.triu_indices(k, 1)
            subs.append(s)
            y.append(vote - acc[s].max())
            X.append([1.0, float(phi[np.ix_(s, s)][iu].mean()), float(acc[s].mean()), float(k)])
    return subs, np.array(y), np.array(X)


def matched_band_study(Y, band_size: int = 9) -> dict:
    """v1 Figure 10 on a public pool: the accuracy-controlled gain-vs-rho slope over matched-quality sub-bands.

    The band is the ``band_size`` models with the closest accuracies; every odd-size subset of at least 3 members is
    a sub-band (binary strict majority vote). OLS of the sub-band's vote gain over its best member on its mean
    pairwise phi, controlling for mean member accuracy and size. Inference: leave-one-model-out jackknife over the
    band's models (sub-bands sharing models are not independent), 95% interval.
    """
    A = as_correctness(Y)
    acc = A.mean(axis=1)
    band = _band(acc, int(band_size))
    phi = pearson_matrix(A)
    subs, y, X = _band_design(A, phi, band)
    b = ols(X, y)
    member = np.array([[l in s for l in band] for s in subs])
    loo = []
    for j in range(len(band)):
        keep = ~member[:, j]
        loo.append(ols(X[keep], y[keep])[1] if keep.sum() > X.shape[1] else np.nan)
    se, lo, hi = jackknife_ci(float(b[1]), np.array(loo))
    return {"slope": float(b[1]), "ci": (lo, hi), "se": se, "n": int(np.isfinite(loo).sum()), "n_subbands": len(subs),
            "band": band.tolist(), "acc_range": (float(acc[band].min()), float(acc[band].max())),
            "mean_gain": float(y.mean())}


# ----------------------------------------------------------------------------------------- routing


def _router_split(A: np.ndarray, onehot: np.ndarray, w: np.ndarray, train: np.ndarray) -> tuple[float, float, float]:
    """One split with query weights ``w`` (n,): models chosen per category on the ``train`` mask, scored on the rest.

    Returns weighted sums on the test half: (router correct, single-best correct, oracle correct); the single best
    is chosen on the training half, as a deployed system would.
    """
    wt, we = w * train, w * ~train
    tr_counts = A @ (onehot * wt[:, None])                  # m x C correct counts on train
    te_counts = A @ (onehot * we[:, None])                  # m x C correct counts on test
    best = int(np.argmax(A @ wt))
    has = (onehot * wt[:, None]).sum(axis=0) > 0             # categories seen in training
    choice = np.where(has, np.argmax(tr_counts, axis=0), best)
    router = float(te_counts[choice, np.arange(onehot.shape[1])].sum())
    single = float(A[best] @ we)
    oracle = float((A.max(axis=0)) @ we)
    return router, single, oracle


def router_share(A: np.ndarray, cats: np.ndarray, rng: np.random.Generator, n_splits: int = 10,
                 w: np.ndarray | None = None) -> dict:
    """Share of the oracle gain a category router realises out of sample (2-fold cross-fits, ``n_splits`` splits).

    Share = sum(router - single best) / sum(oracle - single best) over held-out halves, with optional query weights
    ``w`` (a bootstrap replicate). The router picks the best model of each category on the training half.
    """
    n = A.shape[1]
    codes, uniq = pd.factorize(pd.Series(cats))
    onehot = np.zeros((n, len(uniq)))
    onehot[np.arange(n), codes] = 1.0
    w = np.ones(n) if w is None else np.asarray(w, float)
    num = den = 0.0
    with single_thread_blas():
        for _ in range(int(n_splits)):
            mask = np.zeros(n, bool)
            mask[rng.permutation(n)[: n // 2]] = True
            for tr in (mask, ~mask):
                r, b, o = _router_split(A, onehot, w, tr)
                num += r - b
                den += o - b
    tot = w.sum() * n_splits
    return {"share": num / den if den > 0 else np.nan, "realized": num / tot, "gain": den / tot}


def _router_boot_chunk(item: dict) -> np.ndarray:
    A, cats = item["A"], item["cats"]
    rng = np.random.default_rng(item["seed"])
    n = A.shape[1]
    W = rng.multinomial(n, np.full(n, 1.0 / n), size=int(item["n_rep"])).astype(float)
    return np.array([router_share(A, cats, rng, n_splits=item["n_splits"], w=w)["share"] for w in W])


def category_router(Y, categories, n_boot: int, seed: int, n_splits: int = 10, chunk: int = 100) -> dict:
    """Category router's share of the oracle gain with a query-bootstrap 95% interval (seeded chunks via pmap).

    The point value averages ``n_splits`` random half splits; each bootstrap replicate uses one split, so the
    interval carries both the query sampling and the split randomness.
    """
    A = as_correctness(Y)
    cats = np.asarray(categories, dtype=object)
    point = router_share(A, cats, np.random.default_rng(seed), n_splits)
    sizes = [min(chunk, n_boot - s) for s in range(0, int(n_boot), chunk)]
    seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    draws = np.concatenate(pmap(_router_boot_chunk, [{"A": A, "cats": cats, "seed": s, "n_rep": k, "n_splits": 1}
                                                    for k, s in zip(sizes, seeds)]))
    lo, hi = percentile_ci(draws, 0.95)
    return {**point, "ci": (min(lo, point["share"]), max(hi, point["share"])), "n": int(np.isfinite(draws).sum()),
            "n_categories": int(len(np.unique(cats)))}


# ----------------------------------------------------------------------------------------- cascades


def cascade_pair(Y, ratio: float = 0.748 / 0.921) -> tuple[int, int]:
    """(L, H) for a real-data cascade: H = single best; L = the model whose accuracy is nearest ``ratio`` x a_H.

    The default ratio is the paper's a_L / a_H (0.748 / 0.921), so the pair has the paper's relative gap.
    """
    acc = as_correctness(Y).mean(axis=1)
    H = int(np.argmax(acc))
    cand = np.arange(len(acc)) != H
    L = int(np.flatnonzero(cand)[np.argmin(np.abs(acc[cand] - ratio * acc[H]))])
    return L, H


def _max_advantage(yL: np.ndarray, yH: np.ndarray, s: np.ndarray) -> float:
    """max over escalation shares of the cascade's accuracy minus random mixing (Prop. 8), ties broken by order."""
    order = np.argsort(s, kind="stable")
    n = len(s)
    gam = np.arange(n + 1) / n
    Hgain = np.concatenate([[0.0], np.cumsum(yH[order] - yL[order])]) / n
    return float(np.max(Hgain - gam * (yH.mean() - yL.mean())))


def heldout_advantage(yL: np.ndarray, yH: np.ndarray, s: np.ndarray, rng: np.random.Generator, folds: int = 5) -> float:
    """One random ``folds``-fold cross-fit of the cascade (v1 Section 5, Pillar C held-out check): the escalation
    threshold maximising the advantage over random mixing on the training folds is applied to the held-out fold;
    the fold's advantage is the cascade's accuracy minus random mixing at the realised escalation share. Returns
    the mean over folds."""
    n = len(s)
    perm = rng.permutation(n)
    fold_adv = []
    for f in range(folds):
        te = perm[f::folds]
        tr = np.setdiff1d(perm, te)
        thr = _best_threshold(yL[tr], yH[tr], s[tr])
        esc = s[te] < thr
        q = np.where(esc, yH[te], yL[te]).mean()
        g = esc.mean()
        fold_adv.append(q - (yL[te].mean() + g * (yH[te].mean() - yL[te].mean())))
    return float(np.mean(fold_adv))


def cascade_study(yL, yH, score, rng: np.random.Generator, n_boot: int, n_repeats: int, folds: int = 5) -> dict:
    """Prop. 8 on a real pair: collapse (clean vs fully random score, query bootstrap) and held-out advantage.

    ``score``: higher = more confident for L. Collapse value = max_A(clean) - max_A(uniform noise score).
    Held-out: :func:`heldout_advantage`, averaged over ``n_repeats`` random fold assignments (the point value);
    its 95% interval is a query bootstrap (each replicate resamples the queries and runs one cross-fit), so it
    carries the sampling of queries and not only the fold assignment. ``heldout_sd`` is the spread over fold
    assignments on the full data (v1's "cross-fold sd").
    """
    yL, yH, s = (np.asarray(x, float) for x in (yL, yH, score))
    n = len(s)
    noise = rng.uniform(size=n)
    clean = _max_advantage(yL, yH, s)
    rand = _max_advantage(yL, yH, noise)
    diffs, held_boot = [], []
    for _ in range(int(n_boot)):
        i = rng.integers(0, n, n)
        diffs.append(_max_advantage(yL[i], yH[i], s[i]) - _max_advantage(yL[i], yH[i], noise[i]))
        held_boot.append(heldout_advantage(yL[i], yH[i], s[i], rng, folds))
    lo, hi = percentile_ci(diffs, 0.95)
    reps = np.array([heldout_advantage(yL, yH, s, rng, folds) for _ in range(int(n_repeats))])
    R = len(reps)
    held = float(reps.mean())
    hlo, hhi = percentile_ci(held_boot, 0.95)
    return {"collapse": clean - rand, "collapse_ci": (min(lo, clean - rand), max(hi, clean - rand)), "n_boot": int(n_boot),
            "max_A_clean": clean, "max_A_random": rand, "heldout": held,
            "heldout_ci": (min(hlo, held), max(hhi, held)), "heldout_sd": float(reps.std(ddof=1)) if R > 1 else np.nan,
            "n_repeats": R}


def _best_threshold(yL, yH, s) -> float:
    """Score threshold (escalate iff s < threshold) maximising the in-sample advantage over random mixing."""
    order = np.argsort(s, kind="stable")
    n = len(s)
    gam = np.arange(n + 1) / n
    adv = np.concatenate([[0.0], np.cumsum(yH[order] - yL[order])]) / n - gam * (yH.mean() - yL.mean())
    k = int(np.argmax(adv))
    ss = s[order]
    if k == 0:
        return -np.inf
    if k == n:
        return np.inf
    return 0.5 * (ss[k - 1] + ss[k])


def escalation_ratio(yL, yH, rng: np.random.Generator, n_boot: int) -> dict:
    """Prop. 8's perfect-verifier escalation ratio measured on a pair, relative to 1 - a_L/a_H.

    A perfect verifier escalates L's errors first; random mixing escalates a random share. For a quality
    gain reachable within L's errors, the calls needed are in the ratio (a_H - a_L) / P(H right | L wrong);
    the proposition's value 1 - a_L/a_H assumes P(H right | L wrong) = a_H. Returns measured / predicted
    = a_H / P(H right | L wrong) with a query-bootstrap 95% interval.
    """
    yL, yH = np.asarray(yL, float), np.asarray(yH, float)

    def stat(a, b):
        aL, aH = a.mean(), b.mean()
        err = a == 0
        aHe = b[err].mean() if err.any() else np.nan
        with np.errstate(divide="ignore", invalid="ignore"):  # a replicate where H never fixes L: ratio infinite
            return (aH - aL) / aHe, 1 - aL / aH, aH / aHe, aHe

    meas, pred, rel, aHe = stat(yL, yH)
    n = len(yL)
    draws = []
    for _ in range(int(n_boot)):
        i = rng.integers(0, n, n)
        draws.append(stat(yL[i], yH[i])[2])
    lo, hi = percentile_ci(draws, 0.95)
    return {"measured": meas, "predicted": pred, "relative": rel, "aH_on_L_errors": aHe, "a_L": yL.mean(), "a_H": yH.mean(),
            "ci": (min(lo, rel), max(hi, rel)), "n": int(n_boot)}


# ----------------------------------------------------------------------------------------- full copula bootstrap


def _full_sigma_chunk(item: dict) -> np.ndarray:
    with single_thread_blas():  # 41 x 41 eigendecompositions: threaded BLAS only adds contention
        return _full_sigma_reps(item)


def _full_sigma_reps(item: dict) -> np.ndarray:
    from capfront_lib.cofailure.resample import _tetrachoric_pairs

    A = item["A"]
    rng = np.random.default_rng(item["seed"])
    m, n = A.shape
    W = 1.0 - A
    iu = np.triu_indices(m, 1)
    a0 = np.clip(W.mean(axis=1), 1e-12, 1 - 1e-12)
    r0 = _tetrachoric_pairs(a0[None, :], (W @ W.T / n)[iu][None, :], iu)[0]  # full-sample solution: warm start
    allw = (A.sum(axis=0) == 0).astype(float)
    out = []
    for _ in range(int(item["n_rep"])):
        w = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        alpha = w @ W.T / n
        if np.any((alpha <= 0) | (alpha >= 1)):
            out.append(np.nan)  # a model right (or wrong) everywhere in this replicate: no copula fit
            continue
        p11 = ((W * w) @ W.T / n)[iu]
        r = _tetrachoric_pairs(alpha[None, :], p11[None, :], iu, r0=r0)[0]
        S = np.eye(m)
        S[iu] = r
        S[(iu[1], iu[0])] = r
        S, _ = nearest_correlation(S)
        b, _ = orthant_sov(S, ndtri(alpha), item["n_sov"], rng, n_rand=4)
        beta = float(w @ allw / n)
        out.append(beta / b if b > 0 else np.inf)
    return np.array(out)


def full_sigma_bootstrap(Y, n_boot: int, seed: int, n_sov: int = 1024, chunk: int = 25) -> dict:
    """Query bootstrap of the full-copula residual beta_hat / beta_full (Higham projection refitted per replicate).

    Each replicate re-solves all tetrachorics (Newton warm-started at the full-sample solution), projects with
    Higham's algorithm and integrates the orthant by separation of variables (``n_sov`` randomised Sobol points in
    4 scramblings; a relative error of about 1%, far below the bootstrap spread).
    """
    A = as_correctness(Y)
    sizes = [min(chunk, n_boot - s) for s in range(0, int(n_boot), chunk)]
    seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    draws = np.concatenate(pmap(_full_sigma_chunk, [{"A": A, "seed": s, "n_rep": k, "n_sov": n_sov}
                                                   for k, s in zip(sizes, seeds)], desc="full copula bootstrap"))
    return {"draws": draws, "ci90": percentile_ci(draws, 0.90), "n": int(np.isfinite(draws).sum()),
            "n_dropped": int(np.isnan(draws).sum())}


# ----------------------------------------------------------------------------------------- Corollary 2 premise


def accuracy_correlation(Y) -> dict:
    """Spearman correlation between a pair's mean accuracy and its tetrachoric error correlation, with a
    leave-one-model-out jackknife 95% CI (Corollary 2's premise: correlation rises with accuracy)."""
    A = as_correctness(Y)
    m = A.shape[0]
    tet = tetrachoric_matrix(A)
    acc = A.mean(axis=1)

    def rho(keep: np.ndarray) -> float:
        idx = np.flatnonzero(keep)
        iu = np.triu_indices(len(idx), 1)
        r = tet.r[np.ix_(idx, idx)][iu]
        a = (acc[idx][iu[0]] + acc[idx][iu[1]]) / 2
        ok = np.isfinite(r)
        return float(stats.spearmanr(a[ok], r[ok]).statistic)

    full = rho(np.ones(m, bool))
    loo = np.array([rho(np.arange(m) != l) for l in range(m)])
    se, lo, hi = jackknife_ci(full, loo)
    return {"spearman": full, "ci": (lo, hi), "se": se, "n": m}


# ----------------------------------------------------------------------------------------- the whole study


def study(data_dir, *, seed: int, min_model_coverage: float = 0.95, delta: float = 0.05, n_boot: int = 200,
          n_boot_full: int = 40, half_subsets: int = 20, n_mc: int = 200_000, audit_consensus: float = 0.5,
          cascade_repeats: int = 5, noise_levels=(0.0, 0.25, 0.5, 0.75, 1.0), regime_tau: float = 0.25) -> dict | None:
    """Every like-for-like analysis of the chapter on GSM8K (open-ended math) and MMLU-Pro (multiple choice).

    Returns None when either matrix is absent. Each analysis draws from its own SeedSequence child of ``seed``.
    """
    import warnings as _w

    from capfront_lib.cofailure import analysis, chapter, resample, verify
    from capfront_lib.cofailure.report import certificate

    pools = {k: load_public(k, data_dir, min_model_coverage) for k in PUBLIC}
    if any(p is None for p in pools.values()):
        return None
    ss = np.random.SeedSequence(seed).spawn(16)
    rngs = [np.random.default_rng(s) for s in ss]
    out: dict = {"pools": pools}
    with _w.catch_warnings():
        _w.simplefilter("ignore")
        out["cert"] = {k: certificate(p.frame, alpha=delta, min_model_coverage=min_model_coverage, input=p.name,
                                      regime_tau=regime_tau) for k, p in pools.items()}
        out["pred"] = {k: analysis.predictions(p.Y, n_mc=n_mc, rng=rngs[i]) for i, (k, p) in enumerate(pools.items())}
    g, mm = pools["GSM8K"], pools["MMLU-Pro"]
    subsets = resample.half_pool_subsets(g.m, half_subsets, rngs[2])
    fam_subsets = family_subsets(g.families, half_subsets, rngs[12])
    out["half_subsets"] = subsets
    out["family_subsets"] = fam_subsets
    point = resample.replicate_stats(g.Y, np.ones((1, g.n)), subsets=subsets, clayton=False, implied=False,
                                     groups={"family": fam_subsets})
    out["half_point"] = float(point["ratio_half"][0])
    out["family_point"] = float(point["ratio_family"][0])
    out["family_beta"] = float(np.mean([np.mean(g.Y[sub].sum(axis=0) == 0) for sub in fam_subsets]))
    out["boot"] = {"GSM8K": resample.bootstrap_pool(g.Y, n_boot, int(ss[3].generate_state(1)[0]), subsets=subsets,
                                                    groups={"family": fam_subsets}),
                   "MMLU-Pro": resample.bootstrap_pool(mm.Y, n_boot, int(ss[4].generate_state(1)[0]), implied=False)}
    out["full"] = full_sigma_bootstrap(g.Y, n_boot_full, int(ss[5].generate_state(1)[0]))
    out["share"] = {k: share_interval(out["cert"][k]["n_all_wrong"], p.n, out["cert"][k]["single_best_accuracy"], delta)
                    for k, p in pools.items()}
    out["fam"] = {k: family_gap(p.Y, p.families) for k, p in pools.items()}
    out["trip"] = {k: triplet_study(p.Y, rngs[6 + i]) for i, (k, p) in enumerate(pools.items())}
    out["band"] = {k: matched_band_study(p.Y) for k, p in pools.items()}
    out["router"] = category_router(mm.Y, mm.categories, n_boot, int(ss[8].generate_state(1)[0]))
    out["cor2"] = {k: accuracy_correlation(p.Y) for k, p in pools.items()}
    # open-ended cascade on GSM8K: score = minus output length (longer answers are less sure)
    L, H = cascade_pair(g.Y)
    score = -g.length[L]
    out["cascade_pair"] = (g.models[L], g.models[H])
    out["cascade_runs"] = chapter.cascade_runs(g.Y[L], g.Y[H], score, list(noise_levels), cascade_repeats, rngs[9])
    out["cascade"] = cascade_study(g.Y[L], g.Y[H], score, rngs[10], n_boot, cascade_repeats)
    out["escalation"] = escalation_ratio(g.Y[L], g.Y[H], rngs[11], n_boot)
    out["cor1"] = verify.cor1_check(g.Y[L], g.Y[H], score)
    out["localisation"] = {k: _localisation(p.Y) for k, p in pools.items()}
    if mm.preds is not None and mm.gold is not None:
        out["audit"] = analysis.audit_all_wrong(mm.Y, mm.preds, mm.gold, ids=mm.ids, categories=mm.categories,
                                                consensus=audit_consensus, delta=delta)
    return out


def _localisation(Y) -> dict:
    """Prop. 1(ii) in integers on a pool: n G == #resolvable and V_o == 1 - K/n."""
    S = pool_summary(Y)
    return {"holds": bool(S.n_resolvable == round(S.gain * S.n) and S.oracle == 1 - S.K / S.n),
            "n_resolvable": S.n_resolvable, "K": S.K, "n": S.n, "gain": S.gain}
