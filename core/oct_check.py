"""Does an image look like a retinal OCT B-scan at all? A cheap check on the
frame, before any verdict of the network or its gate is trusted.

A B-scan is a dark background crossed by a bright, speckled, roughly
horizontal retinal band. Five plain statistics of the grey image, shrunk to
:data:`CHECK_SIZE` pixels square, say so; each has a range, and an image
outside any one range is refused as "not OCT", with that statistic named:

- ``background``: the median grey level (an OCT background is dark);
- ``texture``: the median absolute Laplacian (speckle; smooth images have none);
- ``noise``: that Laplacian over the grey-level spread (pure pixel noise is
  all texture and no structure);
- ``band``: the share of columns whose 95th percentile stands at least
  :data:`BAND_CONTRAST` above their median (the retina crosses the frame);
- ``layering``: log of (spread of the row means / spread of the column
  means); the layers run across the frame, not down it.

Each statistic has a near and a far range. An image is refused when one
statistic is beyond its far range, or two are beyond their near ranges: an
odd real scan (blurred, tilted, half saturated) strays on one statistic, a
non-OCT image on several.

The ranges are not chosen by hand: ``python -m bench.oct_check_fit`` measures
the five statistics on every real scan of ../shared/data/oct pool/, train/ and
val/ (never audit/) and sets each bound at the most extreme value seen,
widened by a share of the range seen (on a log scale for ``texture`` and
``noise``, which are positive and skewed): :data:`NEAR_MARGIN` and
:data:`FAR_MARGIN`. Those two shares were chosen so that neither Kermany
release loses a single scan under bounds fitted on the other. docs/reliability.md has the
command and what the check refuses, real scans and non-OCT images alike.

numpy only, on the image the network is given (the centre square at the
model's input size), so the viewer, ``octguard predict``, the attack
commands and ``octguard evaluate`` all check the same pixels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHECK_SIZE = 128
BAND_CONTRAST = 0.15

NEAR_MARGIN, FAR_MARGIN = 0.15, 1.5

# (low, high) per statistic; None is unbounded. Written by
# `python -m bench.oct_check_fit` (bench/results/oct-check-fit.json); a
# real-data test refits them and compares.
NEAR: dict[str, tuple[float | None, float | None]] = {
    "background": (None, 0.5423),
    "texture": (0.004587, None),
    "noise": (None, 1.72),
    "band": (0.434, None),
    "layering": (-0.539, None),
}
FAR: dict[str, tuple[float | None, float | None]] = {
    "background": (None, 1.154),
    "texture": (0.0001407, None),
    "noise": (None, 387.9),
    "band": (-0.2305, None),
    "layering": (-6.147, None),
}
LOG_SCALE = ("texture", "noise")

WHY = {  # what a statistic out of range means, for the refusal's one line
    ("background", "high"): "no dark background",
    ("texture", "low"): "no speckle texture",
    ("noise", "high"): "pixel noise, no structure",
    ("band", "low"): "no bright band across the frame",
    ("layering", "low"): "no horizontal layers",
}


@dataclass(frozen=True)
class OCTCheck:
    ok: bool
    why: str = ""                     # empty when ok
    stats: dict | None = None


def shrink(grey: np.ndarray, size: int = CHECK_SIZE) -> np.ndarray:
    """(N, S, S) -> (N, size, size) by area averaging (S a multiple of size)
    or bilinear resampling otherwise; float32."""
    g = np.asarray(grey, dtype=np.float32)
    n, h, w = g.shape
    if (h, w) == (size, size):
        return g
    if h % size == 0 and w % size == 0:
        return g.reshape(n, size, h // size, size, w // size).mean((2, 4))
    import torch
    import torch.nn.functional as F
    t = torch.from_numpy(np.ascontiguousarray(g))[:, None]
    return F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False,
                         antialias=h > size or w > size)[:, 0].numpy()


# Medians and the 95th percentile come from sorts along axis 1, bit for bit
# the values np.median and np.quantile (linear method) give: numpy's SIMD sort
# beats their partitions here, and one sort of the columns serves both column
# statistics (the check went from 18 to about 6 ms per batch of 32 at 160 px,
# 2026-12-04; tests/core/test_oct_check.py compares them).
def sorted_median(s: np.ndarray) -> np.ndarray:
    """The median along axis 1 of an array sorted along it."""
    h = s.shape[1]
    return (s[:, (h - 1) // 2] + s[:, h // 2]) / 2


def sorted_quantile(s: np.ndarray, q: float) -> np.ndarray:
    """np.quantile(..., q, axis=1) of an array sorted along axis 1, in numpy
    2's arithmetic: its virtual index, then a lerp from the nearer end."""
    h = s.shape[1]
    at = h * q + (1 - q) - 1
    lo = int(np.floor(at))
    a, b = s[:, lo], s[:, min(lo + 1, h - 1)]
    t = at - lo
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t


def statistics(grey: np.ndarray) -> dict[str, np.ndarray]:
    """The five statistics of (N, H, W) grey images in [0, 1], one value each."""
    x = shrink(np.asarray(grey, dtype=np.float32).reshape((-1,) + np.shape(grey)[-2:]))
    n = len(x)
    flat = x.reshape(n, -1)
    lap = np.abs(4 * x[:, 1:-1, 1:-1] - x[:, :-2, 1:-1] - x[:, 2:, 1:-1]
                 - x[:, 1:-1, :-2] - x[:, 1:-1, 2:]).reshape(n, -1)
    texture = sorted_median(np.sort(lap, 1))
    spread = flat.std(1)
    cols = np.sort(x, 1)
    col_med, col_top = sorted_median(cols), sorted_quantile(cols, 0.95)
    return {
        "background": sorted_median(np.sort(flat, 1)),
        "texture": texture,
        "noise": texture / (spread + 1e-3),
        "band": ((col_top - col_med) > BAND_CONTRAST).mean(1),
        "layering": np.log((x.mean(2).std(1) + 1e-3) / (x.mean(1).std(1) + 1e-3)),
    }


def _outside(value: float, bound) -> str:
    lo, hi = bound
    return "low" if lo is not None and value < lo else "high" if hi is not None and value > hi else ""


def judge(stats: dict[str, float], near=None, far=None) -> str:
    """Why one image's statistics are not OCT's ('' when they are): one
    statistic beyond its far bound, or two beyond their near bounds."""
    near, far = near or NEAR, far or FAR
    strays = [(k, _outside(stats[k], near[k])) for k in near]
    strays = [(k, side) for k, side in strays if side]
    gone = [(k, _outside(stats[k], far[k])) for k in far]
    gone = [(k, side) for k, side in gone if side]
    if gone:
        return WHY[gone[0]]
    if len(strays) >= 2:
        return " and ".join(WHY[s] for s in strays[:2])
    return ""


def check(grey: np.ndarray, near=None, far=None) -> list[OCTCheck]:
    """One :class:`OCTCheck` per image of (N, H, W) (or one (H, W)) grey."""
    stats = statistics(grey)
    out = []
    for i in range(len(stats["background"])):
        mine = {k: float(v[i]) for k, v in stats.items()}
        why = judge(mine, near, far)
        out.append(OCTCheck(not why, why, mine))
    return out


def fit_bounds(stats: dict[str, np.ndarray], margin: float) -> dict:
    """Bounds from the statistics of real OCT scans: the most extreme value
    seen on the side each statistic is bounded, widened by ``margin`` of the
    range seen (log scale for :data:`LOG_SCALE`)."""
    out = {}
    for k, (lo, hi) in NEAR.items():     # the sides each statistic is bounded on
        v = np.asarray(stats[k], dtype=np.float64)
        if k in LOG_SCALE:
            v = np.log(np.maximum(v, 1e-6))
        pad = margin * (v.max() - v.min())
        low = None if lo is None else v.min() - pad
        high = None if hi is None else v.max() + pad
        if k in LOG_SCALE:
            low = None if low is None else float(np.exp(low))
            high = None if high is None else float(np.exp(high))
        out[k] = (None if low is None else float(low), None if high is None else float(high))
    return out
