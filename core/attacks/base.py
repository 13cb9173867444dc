"""What every attack shares (torchattacks' ``Attack`` base class, trimmed).

The base class checks the inputs, puts the model in eval mode for the attack
and restores every module's own train/eval flag afterwards (also when the
attack is cancelled or fails), takes the device from the model, and returns
detached images in [0, 1]. Subclasses implement ``forward`` only. An attack
with ``eval_mode = False`` runs the model as it stands instead: adversarial
training attacks the model in training mode (BatchNorm on batch statistics).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..progress import Progress


class Attack:
    """Base class: ``attack(images, labels, progress=None) -> adv_images``.

    Arguments:
        name (str): attack name shown by ``repr``.
        model (nn.Module): classifier taking (N, C, H, W) pixels in [0, 1]
            (normalisation inside ``forward``) and returning logits.
    """

    eval_mode = True   # attack the model in eval mode (False: in its current mode)

    def __init__(self, name: str, model: nn.Module):
        self.attack = name
        self.model = model
        try:
            self.device = next(model.parameters()).device
        except StopIteration:  # a parameter-free model: stay on the CPU
            self.device = torch.device("cpu")

    def forward(self, images: torch.Tensor, labels: torch.Tensor,
                progress: Progress | None = None) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, images: torch.Tensor, labels: torch.Tensor, *,
                 progress: Progress | None = None) -> torch.Tensor:
        # callers may sit inside torch.no_grad() or inference_mode() (the
        # viewer does); the clone in _check_inputs must happen outside both
        with torch.inference_mode(False), torch.enable_grad():
            images, labels = self._check_inputs(images, labels)
            # remember each module's flag: a model can be partly frozen in eval
            modes = [m.training for m in self.model.modules()]
            if self.eval_mode:
                self.model.eval()
            try:
                adv = self.forward(images, labels, progress=progress)
            finally:
                for m, mode in zip(self.model.modules(), modes):
                    m.training = mode
        return adv.detach()

    def _check_inputs(self, images, labels) -> tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(images, torch.Tensor) or images.dim() != 4:
            raise ValueError("images must be a (N, C, H, W) tensor")
        if not images.is_floating_point():
            raise ValueError(f"images must be floating point, got {images.dtype}")
        labels = torch.as_tensor(labels)
        if labels.shape != (images.shape[0],):
            raise ValueError(f"labels must have shape ({images.shape[0]},), got {tuple(labels.shape)}")
        if images.numel() and (images.min() < 0 or images.max() > 1):
            raise ValueError("images must lie in [0, 1]")
        # clone + detach: the caller's tensor is never modified or tracked
        return (images.clone().detach().to(self.device),
                labels.clone().detach().to(self.device, torch.long))

    @staticmethod
    def _report(progress: Progress | None, step: int, steps: int, name: str) -> None:
        """Once per step; ``Progress.update`` raises Cancelled after cancel()."""
        if progress is not None:
            progress.update(step / steps, f"{name} step {step}/{steps}")

    def _params(self) -> dict:
        return {k: v for k, v in vars(self).items()
                if k not in ("attack", "model", "device", "gate") and not k.startswith("_")}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v}" for k, v in self._params().items())
        return f"{self.attack}(model_name={type(self.model).__name__}, device={self.device}, {params})"


def project_linf(adv: torch.Tensor, images: torch.Tensor, eps: float) -> torch.Tensor:
    """Project ``adv`` onto the L-inf ball of radius ``eps`` around ``images``
    and the [0, 1] box, in torchattacks' order (ball, then box)."""
    delta = torch.clamp(adv - images, min=-eps, max=eps)
    return torch.clamp(images + delta, min=0, max=1).detach()
