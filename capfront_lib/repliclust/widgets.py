"""The chapter's explorer: draw a 2-D data set from an archetype built from slider values."""

from __future__ import annotations

from typing import Any

import numpy as np

from .archetype import Archetype, synthesize
from .postprocess import distort


def explorer_dataset(
    seed: int = 0,
    n_clusters: int = 5,
    aspect_ref: float = 1.5,
    aspect_maxmin: float = 2.0,
    radius_maxmin: float = 3.0,
    imbalance_ratio: float = 2.0,
    max_overlap: float = 0.05,
    distribution: str = "normal",
    distorted: bool = False,
    n_samples: int = 600,
) -> dict[str, Any]:
    """One 2-D data set with min_overlap = max_overlap/10 (the widget's and the static grid's cell)."""
    arch = Archetype(
        n_clusters=n_clusters, dim=2, n_samples=n_samples, aspect_ref=aspect_ref, aspect_maxmin=aspect_maxmin,
        radius_maxmin=radius_maxmin, imbalance_ratio=imbalance_ratio, max_overlap=max_overlap,
        min_overlap=max_overlap / 10, distributions=[distribution],
    )
    rng = np.random.default_rng(seed)
    X, y, model = synthesize(arch, rng)
    if distorted:
        X = distort(X, rng).astype(float)
    L = model.pairwise_overlaps("exact")
    return dict(X=X, y=y, max_pair_overlap=float(np.nanmax(L)) if n_clusters > 1 else float("nan"))


def explorer_panel(seed: int = 0):
    """ipywidgets panel: sliders over the archetype parameters, redrawing one data set."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from .distributions import SUPPORTED_DISTRIBUTIONS

    out = w.Output()
    ctl = dict(
        n_clusters=w.IntSlider(5, 1, 15, description="clusters"),
        aspect_ref=w.FloatSlider(1.5, min=1, max=8, step=0.1, description="aspect_ref"),
        aspect_maxmin=w.FloatSlider(2, min=1, max=8, step=0.1, description="aspect_maxmin"),
        radius_maxmin=w.FloatSlider(3, min=1, max=10, step=0.1, description="radius_maxmin"),
        imbalance_ratio=w.FloatSlider(2, min=1, max=10, step=0.1, description="imbalance"),
        max_overlap=w.FloatLogSlider(0.05, base=10, min=-6, max=-0.1, description="max_overlap"),
        distribution=w.Dropdown(options=list(SUPPORTED_DISTRIBUTIONS), value="normal", description="family"),
        distorted=w.Checkbox(False, description="distort"),
        seed=w.IntText(seed, description="seed"),
    )

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            d = explorer_dataset(**{k: c.value for k, c in ctl.items()})
            fig, ax = plt.subplots(figsize=(5, 4.5))
            ax.scatter(d["X"][:, 0], d["X"][:, 1], c=d["y"], cmap="tab20", s=5)
            ax.set_title(f"largest exact pairwise overlap {d['max_pair_overlap']:.2g} [simulated data]")
            ax.set_xlabel("$x_1$")
            ax.set_ylabel("$x_2$")
            plt.show()

    for c in ctl.values():
        c.observe(redraw, names="value")
    redraw()
    return w.HBox([w.VBox(list(ctl.values())), out])
