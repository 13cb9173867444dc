"""The scans a training run uses: the split's labeled, unlabeled (SSAT
only) and calib parts, subset by --limit and decoded once."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..batches import decode_items
from ..data import index_dataset, read_split, split_items
from .config import TrainConfig


@dataclass
class TrainingScans:
    lab_x: torch.Tensor          # uint8 (N, 1, S, S)
    lab_y: torch.Tensor
    unl_x: torch.Tensor | None   # SSAT's unlabeled scans (their labels are never read)
    cal_x: torch.Tensor
    cal_y: torch.Tensor


def subset(items, n: int, seed: int):
    """At most n items (all when n is 0), dealt round-robin over classes so a
    small subset still holds every class."""
    if not n or n >= len(items):
        return items
    gen = torch.Generator().manual_seed(seed)
    by_class: dict[int, list] = {}
    for i in torch.randperm(len(items), generator=gen).tolist():
        by_class.setdefault(items[i].label, []).append(items[i])
    queues = [by_class[c] for c in sorted(by_class)]
    out = []
    while len(out) < n:
        for q in queues:
            if q and len(out) < n:
                out.append(q.pop())
    return out


def load_scans(cfg: TrainConfig, progress=None, say=print) -> TrainingScans:
    parts = split_items(index_dataset(cfg.data), read_split(cfg.split))
    labeled = subset(parts["labeled"], cfg.limit, cfg.seed)
    say(f"decoding {len(labeled)} labeled, {len(parts['unlabeled'])} unlabeled, "
        f"{len(parts['calib'])} calibration scans at {cfg.input_size} px")
    lab_x, lab_y = decode_items(labeled, cfg.input_size, progress, on_error=lambda e: say(f"skipped {e}"))
    unl_x = None
    if cfg.method == "ssat":
        unl_x, _ = decode_items(subset(parts["unlabeled"], cfg.limit // 4, cfg.seed), cfg.input_size, progress)
    cal_x, cal_y = decode_items(parts["calib"], cfg.input_size, progress)
    return TrainingScans(lab_x, lab_y, unl_x, cal_x, cal_y)
