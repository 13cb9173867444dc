"""The use case "attack one frame of a scan": what ``octguard attack``, demo
mode and the file-level rows of ``octguard evaluate`` all run.

The attack perturbs the grey image (core.attacks.model_input replicates it
to the model's channels inside the gradient), at the model's input size or at
the file's native resolution, as the :class:`AttackSpec` says. The clean and
adversarial verdicts come from core.analysis, the viewer's own rule.

"Correct" is the caller's reference label (the demo takes it from the file
name, see :func:`known_label`) or else the model's answer on the clean image.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from ..errors import ModelError
from ..preprocess import preprocess, square_box, to_tensor
from ..progress import Progress
from ..risk import ACCEPTED_CORRECT, ACCEPTED_WRONG, REJECTED
from .outcome import AttackOutcome, category, known_label
from .levels import GREY_LEVELS
from .spec import NATIVE, AttackSpec

__all__ = ["AttackOutcome", "attack_frame", "attack_batch", "known_label", "category",
           "REJECTED", "ACCEPTED_CORRECT", "ACCEPTED_WRONG"]


def _analyze(loaded, x: torch.Tensor):
    """Verdicts of grey (N, 1, H, W) images through inference's own path."""
    from ..analysis import Analyzer
    with torch.no_grad():
        return Analyzer(loaded).analyze_tensor(preprocess(x, loaded.input_size, loaded.model.in_channels))


def _grey_input(loaded, frame: np.ndarray, spec: AttackSpec, quant: int) -> torch.Tensor:
    """The (1, 1, H, W) image the attack perturbs, on the grid it must keep."""
    if spec.resolution == NATIVE:
        x = torch.from_numpy(np.array(frame, dtype=np.float32, copy=True))[None, None]
        return torch.round(x * quant) / quant if spec.eight_bit else x
    x = to_tensor(np.array(frame, copy=True), loaded.input_size, 1)
    return torch.round(x * GREY_LEVELS) / GREY_LEVELS if spec.eight_bit else x


def attack_batch(loaded, x: torch.Tensor, labels: torch.Tensor, spec: AttackSpec, quant: int = GREY_LEVELS,
                 progress: Progress | None = None) -> tuple[torch.Tensor, str, list]:
    """Attack grey (N, 1, H, W) images (all one size) with ``spec``; returns
    the adversarial images, the attack's repr and, for an 8-bit float attack
    at native resolution (C&W), the repair factor per image."""
    from .grid import repair_rounding
    from .model_input import ModelInput
    if spec.needs_gate and loaded.gate is None:
        raise ModelError("the adaptive attack needs a model with a detection gate")
    model = ModelInput(loaded.model, loaded.input_size)
    attack = spec.build(model, loaded.gate, quant=quant)
    device = loaded.device
    x, labels = x.to(device), labels.to(device)
    with torch.random.fork_rng(devices=[]):   # the same picture for the same settings
        if spec.seed is not None:
            torch.manual_seed(spec.seed)
        adv = attack(x, labels, progress=progress)
    if spec.resolution == NATIVE:
        # the model never sees what lies outside the centre square: leave it untouched
        top, left, s = square_box(*x.shape[-2:])
        keep = torch.zeros_like(x, dtype=torch.bool)
        keep[..., top:top + s, left:left + s] = True
        adv = torch.where(keep, adv, x)
    factors: list = []
    if spec.on_grid and spec.method == "cw":
        adv, factors = repair_rounding(model, x, adv, labels, quant)
    return adv.cpu(), repr(attack), factors


def attack_frame(loaded, frame: np.ndarray, spec: AttackSpec, *, reference: str | None = None,
                 reference_source: str = "given", quant: int = GREY_LEVELS,
                 progress: Progress | None = None) -> AttackOutcome:
    """Attack one (H, W) grey frame in [0, 1], as loaded from its file. The
    frame is never modified. ``quant`` is the top code of the file the result
    will be written to (255: 8-bit, 65535: 16-bit); it sets the grid of an
    8-bit attack at native resolution."""
    if spec.needs_gate and loaded.gate is None:
        raise ModelError("the adaptive attack needs a model with a detection gate")
    progress = progress or Progress()
    x = _grey_input(loaded, frame, spec, quant)
    clean = _analyze(loaded, x)[0]
    if reference is None:
        reference, reference_source = clean.label, "clean prediction"
    elif reference not in loaded.classes:
        raise ValueError(f"unknown label {reference!r}; the model knows {', '.join(loaded.classes)}")
    y = torch.tensor([loaded.classes.index(reference)])
    progress.update(0.0, "attacking")
    t0 = time.perf_counter()
    adv, attack_repr, factors = attack_batch(loaded, x, y, spec, quant, progress)
    adv_float = None
    if spec.eight_bit and spec.resolution != NATIVE:
        adv_float = _analyze(loaded, adv)[0]
        adv = torch.round(adv * GREY_LEVELS) / GREY_LEVELS
    seconds = time.perf_counter() - t0
    progress.check()
    adv_res = _analyze(loaded, adv)[0]
    return AttackOutcome(spec, x[0, 0].numpy().copy(), adv[0, 0].numpy().copy(), clean, adv_res,
                         adv_float, reference, reference_source, category(reference, adv_res), seconds,
                         loaded.name, attack_repr, _repair_note(spec, factors))


def _repair_note(spec: AttackSpec, factors: list) -> str:
    if not spec.eight_bit:
        return ""
    if spec.resolution != NATIVE:
        return "rounded to 8 bits after the attack"
    if spec.method != "cw":
        return "every step on the 8-bit grid; nothing to round"
    f = factors[0] if factors else None
    if f is None:
        return "rounded to the grid; the model was not fooled even at 4x the perturbation"
    return "rounded to the grid" + ("" if f == 1.0 else f"; the perturbation needed {f:g}x to survive rounding")
