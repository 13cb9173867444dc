"""PGD that knows the detection gate (an adaptive, gate-aware attack)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import project_linf
from .pgd import PGD


class AdaptivePGD(PGD):
    r"""
    PGD that also keeps the gate's log-likelihood high, after the
    adaptive-attack recipe of 'On Adaptive Attacks to Adversarial Example
    Defenses' [https://arxiv.org/abs/2002.08347]; the feature-space evasion
    it tests is the one of Yao et al., MICCAI 2021 (HFC).

    Distance Measure : Linf

    Each step ascends, per image,

    .. math:: \mathrm{CE}(f(x'), y) + [\hat y \neq y]\,\frac{w}{D}\,\log p(z(x') \mid \hat y)

    where :math:`z` is the D-dimensional penultimate feature, :math:`\hat y`
    the class the model predicts *now* (the class the gate will score it
    under) and :math:`w` = ``gate_weight``. Choices, and why:

    - the log-likelihood is divided by D (a per-dimension average): a 512-d
      log-density runs to thousands and would drown the cross-entropy;
    - it only counts once the label has flipped: near a clean image the
      cross-entropy gradient is tiny and an always-on gate term would just
      pull the image deeper into its own class;
    - each image keeps the misclassified iterate with the highest gate score
      (the last iterate if it was never misclassified), so a large weight
      that pulls an image back to its true class cannot undo a success.

    Each step scores the image with the gate's own ``score_torch``, one
    differentiable pass that gives logits and gate score (for a squeezing
    gate it includes the squeezed copies, through BPDA), plus one
    gradient-free pass to score the last iterate.

    Arguments:
        model (nn.Module): the classifier the gate scores.
        gate: fitted gate with ``score_torch(model, x) -> (logits, score)``
            and ``attack_scale`` (core.gate.GaussianGate or core.detectors.UADGate).
        eps (float): maximum perturbation in [0, 1] pixel units. (Default: 0.005)
        alpha (float): step size; None means eps / 4. (Default: None)
        steps (int): number of steps. (Default: 10)
        random_start (bool): uniform random start in the eps ball. (Default: True)
        gate_weight (float): weight of the per-dimension log-likelihood;
            0 gives plain PGD steps (each image still returns its
            misclassified iterate with the highest gate score). (Default: 1)

    Shape:
        - images: :math:`(N, C, H, W)` in [0, 1].
        - labels: :math:`(N)` class indices.
        - output: :math:`(N, C, H, W)` in [0, 1].

    Examples::
        >>> attack = AdaptivePGD(model, gate, eps=0.005, steps=10, gate_weight=1)
        >>> adv_images = attack(images, labels)
    """

    def __init__(self, model, gate, eps: float = 0.005, alpha: float | None = None,
                 steps: int = 10, random_start: bool = True, gate_weight: float = 1.0):
        super().__init__(model, eps, alpha, steps, random_start)
        self.attack = "AdaptivePGD"
        if not hasattr(gate, "classes_"):
            raise ValueError("AdaptivePGD needs a fitted gate")
        self.gate = gate
        self.gate_weight = gate_weight

    def _evaluate(self, adv_images, labels):
        """Per-image loss, whether the label flipped, and the gate score."""
        logits, log_lik = self.gate.score_torch(self.model, adv_images)
        pred = logits.argmax(1).detach()
        fooled = pred != labels
        ce = F.cross_entropy(logits, labels, reduction="none")
        loss = ce + self.gate_weight * fooled * (log_lik / self.gate.attack_scale).to(ce.dtype)
        return loss, fooled, log_lik.detach()

    def forward(self, images, labels, progress=None):
        adv_images = self._start(images)
        best = adv_images.clone()
        best_score = torch.full((len(images),), float("-inf"), dtype=torch.float64,
                                device=images.device)
        for step in range(self.steps + 1):
            last = step == self.steps
            adv_images.requires_grad_(not last)
            with torch.set_grad_enabled(not last):
                loss, fooled, log_lik = self._evaluate(adv_images, labels)
            # keep, per image, the misclassified iterate the gate likes best
            better = fooled & (log_lik > best_score)
            best_score = torch.where(better, log_lik, best_score)
            best = torch.where(better.view(-1, 1, 1, 1), adv_images.detach(), best)
            if last:
                break
            grad = torch.autograd.grad(loss.mean(), adv_images)[0]
            adv_images = project_linf(adv_images.detach() + self.alpha * grad.sign(), images, self.eps)
            self._report(progress, step + 1, self.steps, self.attack)
        never_fooled = torch.isinf(best_score).view(-1, 1, 1, 1)
        return torch.where(never_fooled, adv_images.detach(), best)
