"""Figure 1: a t-SNE of penultimate features, clean against adversarial.

Clean and adversarial features are embedded together (one t-SNE per model),
so distances between the two groups mean the same as within them. The
coordinates are saved beside report.json and drawn by core.evaluation.figures.
"""
from __future__ import annotations

import numpy as np


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
