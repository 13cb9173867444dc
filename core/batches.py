"""Scans as batches: a list of dataset items decoded once into a compact
in-memory tensor, and the batched model passes over it that training,
evaluation and the detectors share.

Scans go through exactly the loader and preprocessing the viewer uses
(core.io.load_scan + core.preprocess.to_tensor), so training sees what
inference sees. They are kept as uint8 (N, 1, S, S): at 224 px the full
84k-image Kermany set fits in about 4 GB, and rounding a resized 8-bit JPEG
to 8 bits again loses at most half a grey level.
"""
from __future__ import annotations

import numpy as np
import torch

from .data import Item
from .preprocess import to_tensor
from .progress import Progress


def decode_items(items: list[Item], size: int, progress: Progress | None = None,
                 on_error=None) -> tuple[torch.Tensor, torch.Tensor]:
    from .errors import ScanError
    from .io import load_scan

    images = torch.empty((len(items), 1, size, size), dtype=torch.uint8)
    labels = torch.empty(len(items), dtype=torch.long)
    keep = np.ones(len(items), dtype=bool)
    for i, it in enumerate(items):
        if progress is not None and i % 16 == 0:
            progress.update(i / max(len(items), 1), f"decoding {i}/{len(items)}")
        try:
            frame = load_scan(it.path).frames[0]
        except ScanError as exc:
            keep[i] = False
            if on_error is not None:
                on_error(exc)
            continue
        images[i] = (to_tensor(frame, size, 1)[0] * 255).round_().to(torch.uint8)
        labels[i] = it.label
    if not keep.all():
        idx = torch.from_numpy(np.flatnonzero(keep))
        images, labels = images[idx], labels[idx]
    return images, labels


def as_float(images_u8: torch.Tensor, channels: int, device) -> torch.Tensor:
    x = images_u8.to(device, non_blocking=True).float().div_(255)
    return x.expand(-1, channels, -1, -1)


@torch.no_grad()
def predict_images(model, images_u8, channels, device, batch=64):
    was = model.training
    model.eval()
    out = []
    for i in range(0, len(images_u8), batch):
        out.append(model(as_float(images_u8[i:i + batch], channels, device)).argmax(1).cpu())
    model.train(was)
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)


@torch.no_grad()
def extract_features(model, images_u8, channels, device, batch=64) -> np.ndarray:
    was = model.training
    model.eval()
    feats = [model.features(as_float(images_u8[i:i + batch], channels, device)).double().cpu()
             for i in range(0, len(images_u8), batch)]
    model.train(was)
    return torch.cat(feats).numpy()
