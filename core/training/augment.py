"""Batch augmentation that respects OCT B-scans.

Geometry: a little zoom, shift and tilt, and left-right flips (a B-scan's
left-right orientation carries no diagnosis); never up-down flips, since the
retina's layer order is the signal. Intensity: gamma and contrast changes and
multiplicative speckle, as seen between devices and acquisitions.
Everything runs on whole batches on the model's device, so it costs little
next to the forward pass.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def augment_batch(x: torch.Tensor, gen: torch.Generator | None = None,
                  scale=(0.9, 1.1), shift=0.06, degrees=6.0, flip=True,
                  gamma=(0.8, 1.25), contrast=(0.85, 1.15), speckle=0.08) -> torch.Tensor:
    n, dev = x.shape[0], x.device

    def u(lo, hi):
        return torch.rand(n, generator=gen, device="cpu").to(dev) * (hi - lo) + lo

    s = u(*scale)
    a = u(-degrees, degrees) * math.pi / 180
    sign = torch.where(u(0, 1) < 0.5, -1.0, 1.0) if flip else torch.ones(n, device=dev)
    theta = torch.zeros(n, 2, 3, device=dev)
    theta[:, 0, 0] = torch.cos(a) / s * sign
    theta[:, 0, 1] = -torch.sin(a) / s
    theta[:, 1, 0] = torch.sin(a) / s * sign
    theta[:, 1, 1] = torch.cos(a) / s
    theta[:, 0, 2] = u(-shift, shift) * 2
    theta[:, 1, 2] = u(-shift, shift) * 2
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    g = u(*gamma).view(n, 1, 1, 1)
    c = u(*contrast).view(n, 1, 1, 1)
    out = out.clamp(0, 1) ** g
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    out = (out - mean) * c + mean
    if speckle > 0:
        noise = torch.randn(out.shape, generator=gen, device="cpu").to(dev)
        out = out * (1 + speckle * noise[:, :1].expand_as(out))
    return out.clamp(0, 1)
