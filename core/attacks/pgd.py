"""Projected Gradient Descent (L-inf)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..progress import Progress
from .base import Attack, project_linf


class PGD(Attack):
    r"""
    PGD in the paper 'Towards Deep Learning Models Resistant to Adversarial Attacks'
    [https://arxiv.org/abs/1706.06083]

    Distance Measure : Linf

    Arguments:
        model (nn.Module): model to attack.
        eps (float): maximum perturbation in [0, 1] pixel units. (Default: 0.005)
        alpha (float): step size; None means eps / 4. (Default: None)
        steps (int): number of steps. (Default: 10)
        random_start (bool): start from a uniform random point of the eps
            ball (drawn from torch's global generator: seed it with
            ``torch.manual_seed`` for repeatable runs). (Default: True)

    Shape:
        - images: :math:`(N, C, H, W)` in [0, 1].
        - labels: :math:`(N)` class indices.
        - output: :math:`(N, C, H, W)` in [0, 1].

    Examples::
        >>> attack = PGD(model, eps=0.005, alpha=0.00125, steps=10, random_start=True)
        >>> adv_images = attack(images, labels)
    """

    def __init__(self, model, eps: float = 0.005, alpha: float | None = None,
                 steps: int = 10, random_start: bool = True):
        super().__init__("PGD", model)
        self.eps = eps
        self.alpha = eps / 4 if alpha is None else alpha
        self.steps = steps
        self.random_start = random_start

    def _start(self, images: torch.Tensor) -> torch.Tensor:
        adv_images = images.clone().detach()
        if self.random_start:
            adv_images = adv_images + torch.empty_like(adv_images).uniform_(-self.eps, self.eps)
            adv_images = torch.clamp(adv_images, min=0, max=1).detach()
        return adv_images

    def loss(self, adv_images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The objective each step ascends (cross-entropy of the true label)."""
        return F.cross_entropy(self.model(adv_images), labels)

    def forward(self, images, labels, progress: Progress | None = None):
        adv_images = self._start(images)
        for step in range(self.steps):
            adv_images.requires_grad_(True)
            grad = torch.autograd.grad(self.loss(adv_images, labels), adv_images)[0]
            adv_images = project_linf(adv_images.detach() + self.alpha * grad.sign(), images, self.eps)
            self._report(progress, step + 1, self.steps, self.attack)
        return adv_images
