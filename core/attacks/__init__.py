"""torchattacks-style white-box attacks: ``attack(images, labels) -> adv``.

Images are (N, C, H, W) pixels in [0, 1]; the model normalises inside
``forward``, so every eps is in pixel units. Each call takes an optional
``progress=`` (core.progress.Progress), updated once per step, so long runs
can be cancelled.

Where things live: one class per attack (fgsm, pgd, cw, adaptive), the 8-bit
grid variants (grid), the attack specification and its defaults (spec), the
differentiable grey-to-model path (model_input), and the use case "attack one
frame of a scan" (frame). The classes load lazily, so ``core.attacks.spec``
can be read without importing torch.
"""
from __future__ import annotations

import importlib

_CLASSES = {"Attack": "base", "FGSM": "fgsm", "PGD": "pgd", "CW": "cw", "AdaptivePGD": "adaptive",
            "GridPGD": "grid", "GridAdaptivePGD": "grid"}

__all__ = [*_CLASSES, "ATTACKS", "make_attack"]


def __getattr__(name: str):
    if name in _CLASSES:
        return getattr(importlib.import_module(f".{_CLASSES[name]}", __name__), name)
    if name == "ATTACKS":
        return {k: __getattr__(v) for k, v in
                (("fgsm", "FGSM"), ("pgd", "PGD"), ("cw", "CW"), ("adaptive", "AdaptivePGD"))}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_attack(name: str, model, gate=None, **kw):
    """Build an attack by name ('fgsm', 'pgd', 'cw', 'adaptive'); keyword
    arguments are the attack's hyper-parameters. Only 'adaptive' uses the gate.

    >>> attack = make_attack("pgd", model, eps=0.01, steps=20)
    """
    attacks = __getattr__("ATTACKS")
    key = name.lower()
    if key not in attacks:
        raise ValueError(f"unknown attack {name!r}; choose from {sorted(attacks)}")
    if key == "adaptive":
        if gate is None:
            raise ValueError("the adaptive attack needs the detection gate (gate=...)")
        return attacks[key](model, gate, **kw)
    return attacks[key](model, **kw)
