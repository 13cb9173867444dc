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
        eps (float): maximum perturbation in [0, 1] pixel units. (Default: 0.005)

    Shape:
        - images: :math:`(N, C, H, W)` in [0, 1].
        - labels: :math:`(N)` class indices.
        - output: :math:`(N, C, H, W)` in [0, 1].

    Examples::
        >>> attack = FGSM(model, eps=0.005)
        >>> adv_images = attack(images, labels)
    """

    def __init__(self, model, eps: float = 0.005):
        super().__init__("FGSM", model)
        self.eps = eps

    def forward(self, images, labels, progress: Progress | None = None):
        images.requires_grad_(True)
        cost = F.cross_entropy(self.model(images), labels)
        grad = torch.autograd.grad(cost, images)[0]
        adv_images = torch.clamp(images.detach() + self.eps * grad.sign(), min=0, max=1)
        self._report(progress, 1, 1, self.attack)
        return adv_images.detach()
