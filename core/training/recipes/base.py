"""What every recipe gets (the training context) and gives back (a batch
with its loss), and the FGSM examples AT and SSAT add."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from ...attacks.fgsm import FGSM
from ..config import TrainConfig


@dataclass
class TrainingContext:
    cfg: TrainConfig
    model: torch.nn.Module               # the bare model (not the DDP wrapper), in train mode
    device: torch.device
    gen: torch.Generator                 # the run's generator: augmentation and eps draws
    amp: bool = False                    # bf16 autocast for the passes
    unlabeled: torch.Tensor | None = None  # uint8 unlabeled scans (SSAT)
    teacher: torch.nn.Module | None = None  # frozen pseudo-labeller (SSAT --pseudo-labels teacher)

    @property
    def channels(self) -> int:
        return self.model.in_channels


@dataclass
class Batch:
    """The training pass's input and targets, and the loss of its logits.
    The first len(y_clean) images are the clean labeled batch; the n_adv after
    them are its FGSM examples (both counted in the epoch's accuracies)."""
    x: torch.Tensor
    y: torch.Tensor
    loss: Callable[[torch.Tensor], torch.Tensor]
    n_adv: int = 0


class Recipe:
    """A training method. ``batch`` gets the (augmented) labeled images of
    one step; ``start_epoch`` sets what changes per epoch."""
    lam = 0.0   # weight of an unlabeled term in the current epoch (SSAT)

    def __init__(self, ctx: TrainingContext):
        self.ctx = ctx

    def start_epoch(self, epoch: int) -> None:
        pass

    def batch(self, x: torch.Tensor, y: torch.Tensor, step: int) -> Batch:
        raise NotImplementedError

    def ce(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.float(), y, label_smoothing=self.ctx.cfg.label_smoothing)

    def fgsm(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One FGSM example per image, each with its own eps drawn uniformly
        in [--fgsm-eps-min, --fgsm-eps-max], on the model in train mode."""
        c = self.ctx
        eps = (torch.rand(len(x), generator=c.gen) * (c.cfg.fgsm_eps_max - c.cfg.fgsm_eps_min)
               + c.cfg.fgsm_eps_min).to(c.device)
        with torch.autocast(c.device.type, dtype=torch.bfloat16, enabled=c.amp):
            return FGSM(c.model, eps=eps, eval_mode=False)(x, y)
