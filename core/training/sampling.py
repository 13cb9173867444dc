"""Which labeled scans each step sees: an epoch's order (a permutation, or
class-balanced draws) and this rank's share of every global batch."""
from __future__ import annotations

import math

import torch
from torch.utils.data import BatchSampler, DistributedSampler, WeightedRandomSampler


def epoch_order(labels: torch.Tensor, balanced: bool, gen: torch.Generator) -> torch.Tensor:
    """An epoch's order of labeled images: a permutation, or as many draws
    with replacement, weighted so every class is equally likely (the test
    part is balanced; the labeled part is not)."""
    if not balanced:
        return torch.randperm(len(labels), generator=gen)
    counts = torch.bincount(labels, minlength=int(labels.max()) + 1).double()
    weights = (1.0 / counts.clamp_min(1))[labels]
    return torch.tensor(list(WeightedRandomSampler(weights, len(labels), replacement=True, generator=gen)))


def rank_batches(order: torch.Tensor, batch_size: int, world: int = 1, rank: int = 0) -> list[torch.Tensor]:
    """This rank's mini-batches of one epoch. Global batch i is
    order[i*B:(i+1)*B] and rank r takes every world-th image of it from the
    r-th on; DistributedSampler pads the epoch so that every rank makes the
    same number of steps (DDP's all-reduce needs each rank at every step)."""
    per_rank = max(batch_size // world, 1)
    mine = DistributedSampler(order, num_replicas=world, rank=rank, shuffle=False)
    return [order[b] for b in BatchSampler(mine, per_rank, drop_last=False)]


def steps_per_epoch(n_images: int, batch_size: int, world: int = 1) -> int:
    """len(rank_batches(...)) for an epoch of n_images, known before any is drawn."""
    return math.ceil(math.ceil(n_images / world) / max(batch_size // world, 1))
