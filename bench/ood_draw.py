"""Drawing primitives the non-OCT images are made of (bench.ood_set and
bench.ood_kinds): coordinate grids, filled ellipses, a cheap blur, words."""
from __future__ import annotations

import numpy as np

WORDS = ("patient", "retina", "report", "the", "of", "scan", "left", "right", "eye",
         "invoice", "total", "date", "signature", "lorem", "ipsum", "dolor", "amet",
         "2024", "page", "clinic", "summary", "result", "normal", "follow-up")


def grid(h: int, w: int):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return yy, xx


def ellipse(yy, xx, cy, cx, ry, rx, angle=0.0):
    c, s = np.cos(angle), np.sin(angle)
    y, x = yy - cy, xx - cx
    u, v = x * c + y * s, -x * s + y * c
    return (u / rx) ** 2 + (v / ry) ** 2 <= 1.0


def smooth(a: np.ndarray, passes: int = 3) -> np.ndarray:
    """Cheap blur (repeated 3x3 box) so texture is not pure pixel noise."""
    for _ in range(passes):
        a = (a + np.roll(a, 1, 0) + np.roll(a, -1, 0) + np.roll(a, 1, 1) + np.roll(a, -1, 1)) / 5
    return a
