"""How every evaluation figure looks: matplotlib on the Agg backend
(imported on first use, so nothing that only reads numbers pays for it), one
paper style, one colour per model, saved as 200 dpi PNG and optionally PDF.
"""
from __future__ import annotations

from pathlib import Path

# Okabe-Ito: distinguishable with colour-vision deficiency. Models take them
# in report order, so a model has the same colour in every figure.
MODEL_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
MARKERS = "os^Dvp*h"
# classes (t-SNE) take a palette of their own, so they never read as models
CLASS_COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"]
DPI = 200

STYLE = {
    "font.size": 9, "axes.titlesize": 9.5, "axes.labelsize": 9, "legend.fontsize": 8, "xtick.labelsize": 8,
    "ytick.labelsize": 8, "figure.titlesize": 10.5, "axes.spines.top": False, "axes.spines.right": False,
    "axes.grid": True, "grid.alpha": 0.25, "grid.linewidth": 0.6, "lines.linewidth": 1.6, "lines.markersize": 5,
    "errorbar.capsize": 2.5, "legend.frameon": False, "savefig.bbox": "tight", "savefig.pad_inches": 0.05,
    "pdf.fonttype": 42,   # TrueType in PDFs: the text stays text for journals
}


def pyplot():
    """matplotlib.pyplot on Agg with the paper style."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(STYLE)
    return plt


def model_colour(index: int) -> str:
    return MODEL_COLOURS[index % len(MODEL_COLOURS)]


def model_marker(index: int) -> str:
    return MARKERS[index % len(MARKERS)]


def class_colour(index: int) -> str:
    return CLASS_COLOURS[index % len(CLASS_COLOURS)]


def grey_level_axis(ax) -> None:
    """A top axis that reads an L-inf eps in [0, 1] units as 8-bit grey levels."""
    top = ax.secondary_xaxis("top", functions=(lambda e: e * 255, lambda g: g / 255))
    top.set_xlabel("eps in 8-bit grey levels (x 255)", fontsize=8)
    top.tick_params(labelsize=7)


def errors(values, lo, hi):
    """Asymmetric error-bar lengths from interval bounds; an unknown bound
    draws no bar on that side."""
    import numpy as np

    v = np.asarray(values, float)
    lo = np.asarray([np.nan if b is None else b for b in lo], float)
    hi = np.asarray([np.nan if b is None else b for b in hi], float)
    return np.nan_to_num(np.vstack([v - lo, hi - v]), nan=0.0).clip(min=0)


def save(fig, path: str | Path, pdf: bool = False) -> Path:
    """Write the figure as PNG (and PDF beside it), without timestamps, so the
    same report draws the same files; closes the figure."""
    plt = pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(path, dpi=DPI, metadata={"Software": None})
        if pdf:
            fig.savefig(path.with_suffix(".pdf"), metadata={"Creator": None, "Producer": None,
                                                            "CreationDate": None})
    finally:
        plt.close(fig)
    return path
