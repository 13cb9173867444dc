"""BatchNorm statistics re-estimated at the end of training, on top of
torch.optim.swa_utils.update_bn, and kept only when they do not cost
calibration accuracy."""
from __future__ import annotations

from typing import Callable

import torch
from torch.optim.swa_utils import update_bn

from ..batches import as_float
from .augment import augment_batch


@torch.no_grad()
def recalibrate_batchnorm(model, images_u8, channels, device, batch=64, seed=0, augment=False) -> None:
    """Re-estimate BatchNorm running statistics as exact averages over the
    clean training images. With few steps per epoch (small data) or with
    averaged weights, the running estimates lag the weights and eval-mode
    predictions suffer; a pass over the data fixes that.

    The pass visits the images in a seeded random order. Split parts are
    stored sorted by path, which groups them by class, and a batch of one
    class has only the within-class variance: averaging those batches
    underestimates every channel's variance, by the between-class part that
    the shuffled training batches did include (it cost 9 points of calib
    accuracy on real scans).

    With ``augment`` the pass sees augmented views, the distribution the
    weights were trained under: statistics of un-augmented scans still cost
    2 points (0.945 -> 0.925 calib, NT-160), since the augmentation's zoom,
    speckle and contrast change every layer's variance."""
    if not len(images_u8):
        return   # update_bn would reset the statistics and see nothing
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(images_u8), generator=gen)

    def views():
        for i in range(0, len(images_u8), batch):
            x = as_float(images_u8[order[i:i + batch]], channels, device)
            if augment:
                x = augment_batch(x, gen)
            if len(x) > 1:   # a single image has no batch statistics
                yield x

    update_bn(views(), model)


def reestimate_if_not_worse(model, images_u8, channels, device, calib_acc: Callable, *, seed=0,
                            augment=False) -> tuple[float | None, float | None, bool]:
    """Re-estimate the statistics and keep them unless the calib accuracy
    drops against the running estimates (chosen on calib, never on test).
    Returns (accuracy before, accuracy after, whether the new ones were kept);
    without calib scans the new statistics are kept unjudged."""
    before = calib_acc(model)
    kept = {k: v.detach().clone() for k, v in model.state_dict().items()}
    recalibrate_batchnorm(model, images_u8, channels, device, seed=seed, augment=augment)
    after = calib_acc(model)
    if before is not None and after < before:
        model.load_state_dict(kept)
        return before, after, False
    return before, after, True
