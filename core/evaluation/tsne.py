"""Figure 1: a t-SNE of penultimate features, clean against adversarial.

Clean and adversarial features are embedded together (one t-SNE per model),
so distances between the two groups mean the same as within them. Colour is
the true class, the marker says clean (dot) or adversarial (cross).
"""
from __future__ import annotations

import numpy as np

from .plots import PALETTE, Series, scatter_plot

ADV_GREY = "#555555"


def embed(clean: np.ndarray, adv: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """2-D t-SNE of clean and adversarial features -> (clean_xy, adv_xy)."""
    from sklearn.manifold import TSNE

    z = np.concatenate([clean, adv]).astype(np.float64)
    n = len(z)
    if n < 4:
        raise ValueError("t-SNE needs at least 4 points")
    # perplexity must stay below the number of points
    perplexity = float(min(30.0, max(2.0, (n - 1) / 3)))
    # exact gradients are faster than Barnes-Hut below about a thousand
    # points (a test set here is a few hundred images, times two)
    method = "exact" if n <= 1000 else "barnes_hut"
    xy = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed,
              learning_rate="auto", method=method).fit_transform(z)
    return xy[:len(clean)], xy[len(clean):]


def panel(name: str, clean_xy: np.ndarray, adv_xy: np.ndarray, y: np.ndarray, classes, title_note: str = ""):
    series = []
    for i, c in enumerate(classes):
        m = y == i
        if m.any():
            series.append(Series(f"{c} clean", clean_xy[m, 0].tolist(), clean_xy[m, 1].tolist(),
                                 color=PALETTE[i], marker="o", size=3.5))
            series.append(Series(f"{c} adversarial", adv_xy[m, 0].tolist(), adv_xy[m, 1].tolist(),
                                 color=PALETTE[i], marker="x", size=3.5))
    legend = [(c, PALETTE[i], "s") for i, c in enumerate(classes)]
    legend += [("clean", ADV_GREY, "o"), ("adversarial", ADV_GREY, "x")]
    return scatter_plot(series, f"{name}{title_note}", "t-SNE 1", "t-SNE 2", legend_entries=legend)
