"""A documented, seeded generator of **simulated** evaluation logs (the book's embedded default).

The generative model (every number below is a parameter):

* queries ``n = 1..N`` fall into ``K`` categories with probabilities ``pi ~ Dirichlet(2)``;
  each has a difficulty ``d_n ~ Normal(0, 1)``;
* model ``l`` has a general skill ``s_l`` spread evenly over ``[-skill_spread, +skill_spread]``
  (plus noise) and a per-category aptitude ``a_{lk} ~ Normal(0, specialisation)``;
* the success probability is ``p_{nl} = sigmoid(s_l + a_{l,k(n)} - difficulty_scale * d_n)``; each of
  ``G`` generations is an independent Bernoulli(``p_{nl}``) draw;
* a model's price per output token rises with its skill (stronger models cost more), the number of
  output tokens is log-normal around a model-specific mean and grows with difficulty, cost is
  ``tokens * price`` and latency ``overhead + tokens / speed``;
* the reported confidence is the true probability seen through logit noise (``confidence_noise``).

Because the truth ``p`` is known, chapters can compare any estimate against it. Results computed on
this log are simulated and the book labels them so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from capfront_lib.core.checks import check_float, check_int, check_seed
from capfront_lib.core.evallog import EvalLog, MissingReport


@dataclass(frozen=True)
class DemoTruth:
    """The known truth behind a demo log."""

    p: np.ndarray  # N x L success probabilities
    category: np.ndarray  # N category indices
    difficulty: np.ndarray  # N
    skill: np.ndarray  # L
    price_per_token: np.ndarray  # L, USD


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def demo_log(
    n_queries: int = 2000,
    n_models: int = 8,
    n_generations: int = 1,
    n_categories: int = 6,
    *,
    seed: int = 0,
    skill_spread: float = 1.5,
    specialisation: float = 0.8,
    difficulty_scale: float = 1.5,
    confidence_noise: float = 0.5,
    return_truth: bool = False,
) -> EvalLog | tuple[EvalLog, DemoTruth]:
    """Simulate an evaluation log (long form with cost, latency, confidence, tokens, category).

    Set ``return_truth=True`` to also get the :class:`DemoTruth` (success probabilities etc.).
    """
    check_int("n_queries", n_queries, minimum=1)
    check_int("n_models", n_models, minimum=1)
    check_int("n_generations", n_generations, minimum=1)
    check_int("n_categories", n_categories, minimum=1)
    check_seed("seed", seed)
    for name, v in (
        ("skill_spread", skill_spread),
        ("specialisation", specialisation),
        ("difficulty_scale", difficulty_scale),
        ("confidence_noise", confidence_noise),
    ):
        check_float(name, v, minimum=0.0)
    rng = np.random.default_rng(seed)
    n, l, g, k = n_queries, n_models, n_generations, n_categories

    pi = rng.dirichlet(np.full(k, 2.0))
    cat = rng.choice(k, size=n, p=pi)
    diff = rng.normal(size=n)
    skill = np.linspace(-skill_spread, skill_spread, l) + rng.normal(scale=0.1, size=l)
    apt = rng.normal(scale=specialisation, size=(l, k))
    logit = skill[None, :] + apt[:, cat].T - difficulty_scale * diff[:, None]
    p = _sigmoid(logit)

    correct = (rng.random((n, l, g)) < p[:, :, None]).astype(float)
    # price per output token: ~0.1 to ~15 USD per million tokens, rising with skill
    z = (skill - skill.min()) / max(np.ptp(skill), 1e-9)
    price = 1e-6 * np.exp(np.log(0.1) + z * (np.log(15.0) - np.log(0.1)))
    mean_tokens = rng.uniform(150, 900, size=l)
    tokens = np.round(
        mean_tokens[None, :, None] * np.exp(0.25 * diff[:, None, None] + rng.normal(scale=0.4, size=(n, l, g)))
    )
    cost = tokens * price[None, :, None]
    speed = rng.uniform(40, 160, size=l)  # tokens per second
    latency = 0.3 + tokens / speed[None, :, None]
    conf = _sigmoid(np.log(p / (1 - p))[:, :, None] + rng.normal(scale=confidence_noise, size=(n, l, g)))

    qids = np.array([f"q{i:05d}" for i in range(n)])
    models = [f"model_{j:02d}" for j in range(l)]
    cat_names = np.array([f"topic_{c}" for c in range(k)])
    categories = pd.Series(cat_names[cat], index=pd.Index(qids, name="query_id"), name="category")
    arrays = {
        "correct": correct,
        "cost_usd": cost,
        "latency_s": latency,
        "confidence": conf,
        "output_tokens": tokens,
    }
    log = EvalLog(
        arrays,
        qids,
        models,
        categories=categories,
        source=f"demo_log(seed={seed}) [simulated]",
        binary=True,
        missing=MissingReport(policy="drop_queries", n_cells=correct.size, n_missing_cells=0, n_queries_in=n),
    )
    if return_truth:
        return log, DemoTruth(p=p, category=cat, difficulty=diff, skill=skill, price_per_token=price)
    return log
