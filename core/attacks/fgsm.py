"""Fast Gradient Sign Method."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..progress import Progress
from .base import Attack


class FGSM(Attack):
    r"""
    FGSM in the paper 'Explaining and harnessing adversarial examples'
    [https://arxiv.org/abs/1412.6572]

    Distance Measure : Linf

    Arguments:
        model (nn.Module): model to attack.
        eps (float or Tensor): maximum perturbation in [0, 1] pixel units, one
            for the batch or one per image (shape (N,): adversarial training
            draws each image's eps). (Default: 0.005)
        eval_mode (bool): attack the model in eval mode; False attacks it in
            its current mode, as adversarial training does. (Default: True)

    Shape:
        - images: :math:`(N, C, H, W)` in [0, 1].
        - labels: :math:`(N)` class indices.
        - output: :math:`(N, C, H, W)` in [0, 1].

    Examples::
        >>> attack = FGSM(model, eps=0.005)
        >>> adv_images = attack(images, labels)
    """

    def __init__(self, model, eps: float | torch.Tensor = 0.005, eval_mode: bool = True):
        super().__init__("FGSM", model)
        self.eps = eps
        self.eval_mode = eval_mode

    def forward(self, images, labels, progress: Progress | None = None):
        eps = torch.as_tensor(self.eps, dtype=images.dtype, device=images.device)
        if eps.dim() == 1:
            if len(eps) != len(images):
                raise ValueError(f"eps has {len(eps)} values for {len(images)} images")
            eps = eps.view(-1, 1, 1, 1)
        elif eps.dim() != 0:
            raise ValueError("eps must be a number or one value per image")
        images.requires_grad_(True)
        # under autocast the model returns bf16 logits; cross_entropy runs in fp32 either way
        cost = F.cross_entropy(self.model(images), labels)
        grad = torch.autograd.grad(cost, images)[0]
        adv_images = torch.clamp(images.detach() + eps * grad.sign(), min=0, max=1)
        self._report(progress, 1, 1, self.attack)
        return adv_images.detach()
