"""How an evidence map is drawn over a scan, in one place for the viewer, the
PNG files of ``octguard predict --evidence`` and the reports.

Colour: matplotlib's perceptually even "inferno" map. Transparency follows the
evidence, so where the model found none the scan shows through untouched
(a blend of the whole picture would tint the retina the reader must judge).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from .atomic import atomic_path

COLORMAP = "inferno"
DEFAULT_OPACITY = 0.6


@lru_cache(maxsize=1)
def _lut() -> np.ndarray:
    from matplotlib import colormaps

    return (colormaps[COLORMAP](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)


def rgba(heat: np.ndarray) -> np.ndarray:
    """(H, W) heat in [0, 1] -> (H, W, 4) uint8: colour from the map, alpha = heat."""
    h = np.clip(np.nan_to_num(np.asarray(heat, dtype=np.float32)), 0.0, 1.0)
    idx = np.round(h * 255).astype(np.uint8)
    out = np.empty(h.shape + (4,), dtype=np.uint8)
    out[..., :3] = _lut()[idx]
    out[..., 3] = idx
    return out


def composite(grey: np.ndarray, heat: np.ndarray, opacity: float = DEFAULT_OPACITY) -> np.ndarray:
    """Grey frame (float in [0, 1] or uint8) with the heat drawn over it -> (H, W, 3) uint8."""
    g = np.asarray(grey)
    g = g.astype(np.float32) / 255.0 if g.dtype == np.uint8 else np.clip(g.astype(np.float32), 0, 1)
    if g.shape != np.shape(heat):
        raise ValueError(f"frame {g.shape} and evidence map {np.shape(heat)} differ in shape")
    over = rgba(heat).astype(np.float32) / 255.0
    a = over[..., 3:] * float(np.clip(opacity, 0.0, 1.0))
    out = g[..., None] * (1 - a) + over[..., :3] * a
    return np.round(out * 255).astype(np.uint8)


def write_png(path: str | Path, grey: np.ndarray, evidence, opacity: float = DEFAULT_OPACITY,
              description: str = "") -> Path:
    """The frame with its evidence overlay as an RGB PNG, written atomically; the
    PNG's text chunks say what the colours mean."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Title", "OCTGuard class-evidence map")
    info.add_text("Description", description or evidence.caption())
    info.add_text("Comment", "Demonstration software: not for clinical use.")
    path = Path(path)
    with atomic_path(path) as tmp:
        Image.fromarray(composite(grey, evidence.heat, opacity)).save(tmp, format="PNG",
                                                                       pnginfo=info)
    return path
