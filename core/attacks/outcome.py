"""What an attack on one frame produced (:class:`AttackOutcome`), the demo's
"correct" label and the risk category: plain data, no torch, so the viewer can
import the demo before torch has loaded (core.attacks.frame does the work)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..risk import ACCEPTED_CORRECT, ACCEPTED_WRONG, REJECTED
from .levels import GREY_LEVELS
from .spec import AttackSpec


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
