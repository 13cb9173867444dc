"""PGD whose iterates stay on a file's grid: the original plus whole 8-bit
grey levels, so the image written to an 8-bit (or 16-bit) file is exactly
the image the attack optimised. Also the repair pass that puts a float
attack (C&W) onto that grid without undoing it."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..progress import Progress
from .adaptive import AdaptivePGD
from .pgd import PGD
from .levels import GREY_LEVELS, level_budget


def grid_image(codes0: torch.Tensor, k: torch.Tensor, quant: int) -> torch.Tensor:
    """Pixels of the file: original codes (integers in [0, quant]) moved by
    ``k`` 8-bit grey levels, divided by ``quant`` exactly as the loaders do."""
    step = quant / GREY_LEVELS
    return torch.clamp(torch.round(codes0 + k * step), 0, quant) / quant


def to_grid(images: torch.Tensor, quant: int) -> torch.Tensor:
    """Round [0, 1] pixels to the nearest of ``quant + 1`` levels."""
    return torch.round(images * quant) / quant


class _GridSteps:
    """The grid loop shared by GridPGD and GridAdaptivePGD. Subclasses give
    ``_evaluate(adv, labels) -> (per-image loss, fooled, selection score)``."""

    levels: int
    alpha_levels: int
    quant: int

    def _setup_grid(self, eps: float, alpha_levels: int, quant: int) -> None:
        self.levels = level_budget(eps)
        self.alpha_levels = int(alpha_levels)
        self.quant = int(quant)
        if self.quant < GREY_LEVELS or self.alpha_levels < 1:
            raise ValueError("quant must be at least 255 and alpha_levels at least 1")

    def forward(self, images, labels, progress: Progress | None = None):
        codes0 = torch.round(images * self.quant)
        step = self.quant / GREY_LEVELS
        # the level range that keeps every pixel inside [0, quant]
        lo = torch.clamp(torch.ceil(-codes0 / step - 1e-6), min=-self.levels)
        hi = torch.clamp(torch.floor((self.quant - codes0) / step + 1e-6), max=self.levels)
        if self.random_start:
            k = torch.randint(-self.levels, self.levels + 1, images.shape, device=images.device)
            k = torch.minimum(torch.maximum(k.to(images.dtype), lo), hi)
        else:
            k = torch.zeros_like(images)
        best = grid_image(codes0, k, self.quant)
        best_score = torch.full((len(images),), float("-inf"), dtype=torch.float64, device=images.device)
        for i in range(self.steps + 1):
            last = i == self.steps
            adv = grid_image(codes0, k, self.quant).requires_grad_(not last)
            with torch.set_grad_enabled(not last):
                loss, fooled, score = self._evaluate(adv, labels)
            better = fooled & (score.double() > best_score)
            best_score = torch.where(better, score.double(), best_score)
            best = torch.where(better.view(-1, 1, 1, 1), adv.detach(), best)
            if last:
                break
            grad = torch.autograd.grad(loss.sum(), adv)[0]
            k = torch.minimum(torch.maximum(k + self.alpha_levels * grad.sign(), lo), hi)
            self._report(progress, i + 1, self.steps, self.attack)
        never_fooled = torch.isinf(best_score).view(-1, 1, 1, 1)
        return torch.where(never_fooled, adv.detach(), best)


class GridPGD(_GridSteps, PGD):
    r"""
    PGD on the 8-bit grid, for attacks on files [Madry et al.,
    https://arxiv.org/abs/1706.06083, with integer steps].

    Distance Measure : Linf, in whole grey levels

    Every iterate is the original plus whole grey levels (multiples of 1/255),
    at most ``ceil(eps * 255)`` per pixel; each step moves a pixel by
    ``alpha_levels`` levels along the gradient's sign. Pixels are computed as
    the loaders compute them (integer code / ``quant``), so an 8-bit PNG
    (``quant`` 255) or 16-bit file (65535) of the result reloads bit for bit.
    Returns, per image, the misclassified iterate with the highest
    cross-entropy (the most confidently wrong one, which best survives
    re-encoding), or the last iterate if none was misclassified.

    Arguments:
        model (nn.Module): model to attack.
        eps (float): budget in [0, 1] units; rounded up to whole levels. (Default: 0.005)
        steps (int): number of steps. (Default: 10)
        random_start (bool): uniform random whole levels in the budget. (Default: True)
        alpha_levels (int): grey levels per step. (Default: 1)
        quant (int): the file's top code (255 for 8-bit, 65535 for 16-bit). (Default: 255)
        name (str): shown in progress messages and ``repr``. (Default: "PGD-8bit")

    Shape:
        - images: :math:`(N, C, H, W)` in [0, 1], on the ``quant`` grid.
        - labels: :math:`(N)` class indices.
        - output: :math:`(N, C, H, W)` in [0, 1], on the ``quant`` grid.

    Examples::
        >>> attack = GridPGD(model, eps=2 / 255, steps=10)
        >>> adv_images = attack(images, labels)
    """

    def __init__(self, model, eps: float = 0.005, steps: int = 10, random_start: bool = True,
                 alpha_levels: int = 1, quant: int = GREY_LEVELS, name: str = "PGD-8bit"):
        super().__init__(model, eps=level_budget(eps) / GREY_LEVELS, alpha=alpha_levels / GREY_LEVELS,
                         steps=steps, random_start=random_start)
        self.attack = name
        self._setup_grid(eps, alpha_levels, quant)

    def _evaluate(self, adv, labels):
        logits = self.model(adv)
        ce = F.cross_entropy(logits, labels, reduction="none")
        return ce, logits.argmax(1).detach() != labels, ce.detach()


class GridAdaptivePGD(_GridSteps, AdaptivePGD):
    r"""
    The gate-aware AdaptivePGD on the 8-bit grid (see :class:`GridPGD` for
    the grid and :class:`AdaptivePGD` for the objective). Each image keeps the
    misclassified iterate the gate scores highest.

    Arguments:
        model, gate, eps, steps, random_start, gate_weight: as AdaptivePGD.
        alpha_levels, quant: as GridPGD.

    Examples::
        >>> attack = GridAdaptivePGD(model, gate, eps=2 / 255, steps=10)
        >>> adv_images = attack(images, labels)
    """

    def __init__(self, model, gate, eps: float = 0.005, steps: int = 10, random_start: bool = True,
                 gate_weight: float = 1.0, alpha_levels: int = 1, quant: int = GREY_LEVELS):
        super().__init__(model, gate, eps=level_budget(eps) / GREY_LEVELS,
                         alpha=alpha_levels / GREY_LEVELS, steps=steps,
                         random_start=random_start, gate_weight=gate_weight)
        self.attack = "AdaptivePGD-8bit"
        self._setup_grid(eps, alpha_levels, quant)


@torch.no_grad()
def repair_rounding(model, images: torch.Tensor, adv: torch.Tensor, labels: torch.Tensor, quant: int,
                    factors=(1.0, 1.5, 2.0, 3.0, 4.0)) -> tuple[torch.Tensor, list[float | None]]:
    """Put a float attack (C&W) onto the ``quant`` grid. Rounding can undo a
    perturbation smaller than a level; where it does, the perturbation is
    amplified by the next factor before rounding, until the model is fooled
    again. Returns the grid image and, per image, the factor that worked
    (None: still not fooled at the largest factor, which is then returned)."""
    delta = adv - images
    out = to_grid(adv, quant)
    fooled = model(out).argmax(1) != labels
    used: list[float | None] = [factors[0] if f else None for f in fooled.tolist()]
    for factor in factors[1:]:
        if bool(fooled.all()):
            break
        cand = to_grid(torch.clamp(images + factor * delta, 0, 1), quant)
        now = model(cand).argmax(1) != labels
        take = ~fooled
        out = torch.where(take.view(-1, 1, 1, 1), cand, out)
        for i in torch.nonzero(take & now).flatten().tolist():
            used[i] = factor
        fooled = fooled | now
    return out, used
