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

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import ModelError
from ..preprocess import preprocess, square_box, to_tensor
from ..progress import Progress
from ..risk import ACCEPTED_CORRECT, ACCEPTED_WRONG, REJECTED
from .spec import GREY_LEVELS, NATIVE, AttackSpec

__all__ = ["AttackOutcome", "attack_frame", "attack_batch", "known_label", "category",
           "REJECTED", "ACCEPTED_CORRECT", "ACCEPTED_WRONG"]


def known_label(path: Path | None, classes) -> str | None:
    """The class named in the file name (or its folder), if exactly one is:
    Kermany's ``CNV-123-1.jpeg``, our ``synthetic-DME-0000.png``, ``NORMAL/x.png``."""
    if path is None:
        return None
    p = Path(path)
    tokens = set(re.split(r"[^A-Za-z0-9]+", p.stem.upper()))
    hits = [c for c in classes if c.upper() in tokens]
    if len(hits) == 1:
        return hits[0]
    parent = p.parent.name.upper()
    return next((c for c in classes if c.upper() == parent), None)


def category(reference: str, fr) -> str:
    """The paper's risk category of one verdict (core.risk's names)."""
    if not fr.accepted:
        return REJECTED
    return ACCEPTED_CORRECT if fr.label == reference else ACCEPTED_WRONG


@dataclass
class AttackOutcome:
    spec: AttackSpec
    original: np.ndarray          # (H, W) float32: the grey image attacked
    adversarial: np.ndarray       # same shape: what the model was shown
    clean: Any                    # core.analysis.FrameResult of ``original``
    adv: Any                      # FrameResult of ``adversarial``
    adv_float: Any | None         # before rounding to 8 bits (model resolution, eight_bit)
    reference: str                # the label "correct" is measured against
    reference_source: str         # "file name", "given" or "clean prediction"
    category: str
    seconds: float                # the attack (and repair) only
    model_name: str = ""
    attack_repr: str = ""
    repair: str = ""              # what putting the result on the 8-bit grid took
    extra: dict = field(default_factory=dict)

    @property
    def perturbation(self) -> np.ndarray:
        return self.adversarial - self.original

    @property
    def linf(self) -> float:
        return float(np.abs(self.perturbation).max()) if self.original.size else 0.0

    @property
    def linf_grey(self) -> float:
        return self.linf * GREY_LEVELS

    @property
    def l2(self) -> float:
        return float(np.linalg.norm(self.perturbation.ravel()))

    @property
    def changed_fraction(self) -> float:
        return float(np.mean(np.abs(self.perturbation) * GREY_LEVELS >= 0.5))

    @property
    def fooled(self) -> bool:
        return self.adv.label != self.reference

    @property
    def category_float(self) -> str | None:
        return None if self.adv_float is None else category(self.reference, self.adv_float)

    def as_dict(self) -> dict:
        return {"spec": self.spec.as_dict(), "attack": self.attack_repr, "model": self.model_name,
                "shape": list(self.original.shape), "reference": self.reference,
                "reference_source": self.reference_source, "category": self.category,
                "linf": self.linf, "linf_grey_levels": self.linf_grey, "l2": self.l2,
                "changed_fraction": self.changed_fraction, "seconds": self.seconds,
                "repair": self.repair, "clean": self.clean.as_dict(), "adversarial": self.adv.as_dict(),
                "adversarial_before_rounding": None if self.adv_float is None else self.adv_float.as_dict()}


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
