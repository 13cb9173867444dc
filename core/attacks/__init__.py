"""torchattacks-style white-box attacks: ``attack(images, labels) -> adv``.

Images are (N, C, H, W) pixels in [0, 1]; the model normalises inside
``forward``, so every eps is in pixel units. Each call takes an optional
``progress=`` (core.progress.Progress), updated once per step, so long runs
can be cancelled.
"""
from __future__ import annotations

from .adaptive import AdaptivePGD
from .base import Attack
from .cw import CW
from .fgsm import FGSM
from .pgd import PGD

ATTACKS = {"fgsm": FGSM, "pgd": PGD, "cw": CW, "adaptive": AdaptivePGD}

__all__ = ["Attack", "FGSM", "PGD", "CW", "AdaptivePGD", "ATTACKS", "make_attack"]


def make_attack(name: str, model, gate=None, **kw) -> Attack:
    """Build an attack by name ('fgsm', 'pgd', 'cw', 'adaptive'); keyword
    arguments are the attack's hyper-parameters. Only 'adaptive' uses the gate.

    >>> attack = make_attack("pgd", model, eps=0.01, steps=20)
    """
    key = name.lower()
    if key not in ATTACKS:
        raise ValueError(f"unknown attack {name!r}; choose from {sorted(ATTACKS)}")
    if key == "adaptive":
        if gate is None:
            raise ValueError("the adaptive attack needs the detection gate (gate=...)")
        return AdaptivePGD(model, gate, **kw)
    return ATTACKS[key](model, **kw)
