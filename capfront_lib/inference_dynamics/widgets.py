"""The chapter's explorer: router metrics for any (alpha, beta, gamma, delta), as data and as an ipywidgets panel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from capfront_lib.inference_dynamics.experiments import group_accuracy
from capfront_lib.inference_dynamics.scoring import InferenceDynamicsRouter, Tags, choose, cost_ratio, performance_ratio


@dataclass
class ExplorerData:
    """One index/eval split; the per-alpha decomposition ``(KSq, KSc, CSq, CSc)`` is cached, so any
    (beta, gamma, delta) costs one argmax (spec §1.10: scores are linear in beta, gamma, delta)."""

    index_tags: Sequence[Tags]
    Y_index: np.ndarray
    C_index: np.ndarray
    eval_tags: Sequence[Tags]
    Y_eval: np.ndarray
    C_eval: np.ndarray
    models: Sequence[str]
    groups: np.ndarray
    best: int
    tag_cost_usd: float = 0.0
    _cache: dict = field(default_factory=dict, repr=False)

    def _components(self, alpha: float) -> dict:
        key = round(float(alpha), 6)
        if key not in self._cache:
            r = InferenceDynamicsRouter(alpha=alpha).fit(self.index_tags, self.Y_index, self.C_index, self.models)
            comp = r.components(self.eval_tags)
            gq, gc = r._sum_y / r._n_index, r._sum_c / r._n_index
            self._cache[key] = (comp, gq, gc)
        return self._cache[key]

    def cell(self, alpha: float, beta: float, gamma: float, delta: float) -> dict:
        """Accuracy (macro over groups), PR, CR (tagging included), mean cost and selection shares."""
        comp, gq, gc = self._components(alpha)
        A = gamma * comp["KSq"] + delta * comp["CSq"]
        B = gamma * comp["KSc"] + delta * comp["CSc"]
        e = np.asarray(comp["empty"]) | (gamma == 0 and delta == 0)  # no usable tag: best global model
        if e.any():
            A = np.where(e[:, None], gq[None, :], A)
            B = np.where(e[:, None], gc[None, :], B)
        ch = choose(A - beta * B, B)
        idx = np.arange(len(ch))
        acc = float(group_accuracy(self.Y_eval[idx, ch], self.groups).mean())
        best_acc = float(group_accuracy(self.Y_eval[:, self.best], self.groups).mean())
        return {
            "alpha": alpha, "beta": beta, "gamma": gamma, "delta": delta,
            "accuracy": acc,
            "pr": performance_ratio(acc, best_acc),
            "cr": cost_ratio(self.C_eval[idx, ch], self.C_eval[:, self.best], self.tag_cost_usd),
            "mean_cost_usd": float(self.C_eval[idx, ch].mean()),
            "shares": np.bincount(ch, minlength=len(self.models)) / len(ch),
        }


def make_panel(data: ExplorerData):
    """ipywidgets panel: sliders alpha (0-1), log-beta with a 'beta = 0' checkbox, gamma and delta (0-2)."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    alpha = w.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="α")
    beta = w.FloatLogSlider(value=10.0, base=10, min=-1, max=5, step=0.1, description="β (1/USD)")
    beta0 = w.Checkbox(value=True, description="β = 0")
    gamma = w.FloatSlider(value=1.0, min=0.0, max=2.0, step=0.1, description="γ (knowledge)")
    delta = w.FloatSlider(value=1.0, min=0.0, max=2.0, step=0.1, description="δ (capability)")
    out = w.Output()
    s_acc = [float(group_accuracy(data.Y_eval[:, t], data.groups).mean()) for t in range(len(data.models))]
    s_cost = [float(data.C_eval[:, t].mean()) for t in range(len(data.models))]

    def redraw(*_):
        b = 0.0 if beta0.value else beta.value
        c = data.cell(alpha.value, b, gamma.value, delta.value)
        with out:
            out.clear_output(wait=True)
            fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
            axes[0].bar(range(len(data.models)), c["shares"])
            axes[0].set_xticks(range(len(data.models)), data.models, rotation=35, ha="right", fontsize=7)
            axes[0].set_ylim(0, 1)
            axes[0].set_ylabel("share routed")
            axes[0].set_title(f"accuracy {c['accuracy']:.3f} | PR {c['pr']:.1f}% | CR {c['cr']:.0f}%")
            axes[1].scatter(np.array(s_cost) * 1e3, s_acc, color="grey")
            for m, x, y in zip(data.models, s_cost, s_acc):
                axes[1].annotate(m, (x * 1e3, y), fontsize=7)
            axes[1].scatter([c["mean_cost_usd"] * 1e3], [c["accuracy"]], color="C1", s=80, label="router")
            axes[1].set_xscale("log")
            axes[1].set_xlabel("mean cost per query (USD × 10⁻³)")
            axes[1].set_ylabel("accuracy")
            axes[1].legend()
            plt.show()

    for wd in (alpha, beta, beta0, gamma, delta):
        wd.observe(redraw, names="value")
    redraw()
    return w.VBox([w.HBox([alpha, beta, beta0]), w.HBox([gamma, delta]), out])
