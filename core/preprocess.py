"""Preprocessing as the paper does it: [0, 1] pixels, centre square crop,
resize to the model's input size, grey replicated to the model's channels.
No mean/std normalisation here: the classifier does that inside ``forward`` so
attacks and eps values live in plain [0, 1] pixel space.
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


def center_square(frame: np.ndarray) -> np.ndarray:
    """Centre crop (H, W) to its largest square."""
    top, left, s = square_box(*frame.shape[-2:])
    return frame[..., top : top + s, left : left + s]


def to_tensor(frames: np.ndarray, size: int, channels: int = 3) -> torch.Tensor:
    """(H, W) or (F, H, W) float array in [0, 1] -> (F, C, size, size) tensor."""
    arr = np.asarray(frames, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[None]
    arr = center_square(arr)
    t = torch.from_numpy(np.ascontiguousarray(arr)).unsqueeze(1)
    if t.shape[-1] != size:
        # antialias matters when shrinking 496 px B-scans: speckle would alias
        t = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False,
                          antialias=t.shape[-1] > size)
    t = t.clamp_(0.0, 1.0)
    return t.expand(-1, channels, -1, -1).contiguous()
