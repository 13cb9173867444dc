"""Carlini & Wagner L2 attack (fixed c, no binary search)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..progress import Progress
from .base import Attack

# Carlini's reference code scales by this before arctanh so pixels at exactly
# 0 or 1 map to a finite w (torchattacks maps them to +-inf and freezes them).
_TANH_SCALE = 0.999999


class CW(Attack):
    r"""
    CW in the paper 'Towards Evaluating the Robustness of Neural Networks'
    [https://arxiv.org/abs/1608.04644]

    Distance Measure : L2

    Minimises :math:`\Vert\frac{1}{2}(\tanh(w)+1)-x\Vert^2_2+c\cdot f(\frac{1}{2}(\tanh(w)+1))`
    with :math:`f(x')=\max(Z(x')_y-\max\{Z(x')_i:i\neq y\}, -\kappa)` by Adam,
    and returns, per image, the adversarial example of smallest L2 seen;
    images never misclassified come back unchanged.

    Arguments:
        model (nn.Module): model to attack.
        c (float): weight of the misclassification term. (Default: 1)
        kappa (float): confidence margin. (Default: 0)
        steps (int): number of Adam steps. (Default: 100)
        lr (float): Adam learning rate. (Default: 0.01)
        abort_early (bool): stop when the total cost has not fallen over a
            tenth of the steps, as in the paper's code. (Default: True)

    Differences from torchattacks' CW (same algorithm, same defaults
    otherwise): the gradient is taken with ``torch.autograd.grad`` on ``w``
    only, so no parameter gradients are computed or left on the model; the
    "other" logit is a masked max (torchattacks multiplies by a one-hot mask,
    which picks 0 when every other logit is negative); and saturated pixels
    stay movable (see ``_TANH_SCALE``).

    Shape:
        - images: :math:`(N, C, H, W)` in [0, 1].
        - labels: :math:`(N)` class indices.
        - output: :math:`(N, C, H, W)` in [0, 1].

    Examples::
        >>> attack = CW(model, c=1, kappa=0, steps=100, lr=0.01)
        >>> adv_images = attack(images, labels)
    """

    def __init__(self, model, c: float = 1.0, kappa: float = 0.0, steps: int = 100,
                 lr: float = 0.01, abort_early: bool = True):
        super().__init__("CW", model)
        self.c = c
        self.kappa = kappa
        self.steps = steps
        self.lr = lr
        self.abort_early = abort_early

    def forward(self, images, labels, progress: Progress | None = None):
        w = torch.atanh((images * 2 - 1) * _TANH_SCALE).detach().requires_grad_(True)
        optimizer = torch.optim.Adam([w], lr=self.lr)
        best_adv = images.clone()
        best_l2 = torch.full((len(images),), float("inf"), device=images.device)
        prev_cost = float("inf")
        true_mask = None
        for step in range(self.steps):
            adv = (torch.tanh(w) + 1) / 2
            l2 = (adv - images).pow(2).flatten(1).sum(1)
            logits = self.model(adv)
            if true_mask is None:
                true_mask = F.one_hot(labels, logits.shape[1]).bool()
            real = logits[true_mask]
            other = logits.masked_fill(true_mask, float("-inf")).amax(1)
            f = torch.clamp(real - other, min=-self.kappa)
            cost = l2.sum() + self.c * f.sum()

            w.grad = torch.autograd.grad(cost, w)[0]
            optimizer.step()

            with torch.no_grad():  # keep the smallest successful perturbation
                better = (logits.argmax(1) != labels) & (l2 < best_l2)
                best_l2 = torch.where(better, l2, best_l2)
                best_adv = torch.where(better.view(-1, 1, 1, 1), adv, best_adv)
            self._report(progress, step + 1, self.steps, self.attack)

            if self.abort_early and step % max(self.steps // 10, 1) == 0:
                cost_value = cost.item()
                if cost_value > prev_cost:
                    break
                prev_cost = cost_value
        return torch.clamp(best_adv, min=0, max=1).detach()
