"""Preprocessing as the paper does it: [0, 1] pixels, centre square crop,
resize to the model's input size, grey replicated to the model's channels.
No mean/std normalisation here: the classifier does that inside ``forward`` so
attacks and eps values live in plain [0, 1] pixel space.

:func:`preprocess` is the one implementation, in torch and differentiable:
inference (:func:`to_tensor`) and the file-level attacks, which optimise the
full-resolution image through it (core.attacks.model_input), run the same
operations, so the attack sees exactly what the viewer will compute.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def square_box(h: int, w: int) -> tuple[int, int, int]:
    """(top, left, side) of the largest centred square of an (h, w) frame;
    evidence maps use it to go back from the model input to the frame."""
    s = min(h, w)
    return (h - s) // 2, (w - s) // 2, s


def preprocess(x: torch.Tensor, size: int, channels: int = 3) -> torch.Tensor:
    """(N, 1, H, W) grey in [0, 1] -> (N, C, size, size): centre square,
    resize, clamp, grey replicated to ``channels``. Differentiable in ``x``;
    the result is a view (``expand``) when ``channels`` > 1."""
    top, left, s = square_box(*x.shape[-2:])
    t = x[..., top : top + s, left : left + s]
    if s != size:
        # antialias matters when shrinking 496 px B-scans: speckle would alias
        t = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False,
                          antialias=s > size)
    return t.clamp(0.0, 1.0).expand(-1, channels, -1, -1)


def to_tensor(frames: np.ndarray, size: int, channels: int = 3) -> torch.Tensor:
    """(H, W) or (F, H, W) float array in [0, 1] -> (F, C, size, size) tensor."""
    arr = np.asarray(frames, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[None]
    # the whole frame: preprocess crops with a view, where a numpy crop first
    # copied every frame (a third of this function's time, same result)
    t = torch.from_numpy(np.ascontiguousarray(arr)).unsqueeze(1)
    with torch.no_grad():
        return preprocess(t, size, channels).contiguous()
