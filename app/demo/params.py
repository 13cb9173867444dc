"""What the demo's controls choose, as one value the worker can take."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

ATTACK_NAMES = {"fgsm": "FGSM", "pgd": "PGD", "cw": "C&W (L2)", "adaptive": "Adaptive PGD (gate-aware)"}
EPS_MAX = 0.03            # slider range in [0, 1] pixel units
EPS_TICKS = 300           # slider steps: 0.0001 per step
CW_STEPS = 100
DEBOUNCE_MS = 250


@dataclass(frozen=True)
class DemoParams:
    attack: str = "pgd"
    eps: float = 0.005
    steps: int = 10               # PGD and adaptive PGD
    c: float = 1.0                # C&W
    cw_steps: int = CW_STEPS
    eight_bit: bool = False       # quantise to what an 8-bit file can carry
    model_dir: Path | None = None  # None: the viewer's own model

    def attack_kwargs(self) -> dict:
        if self.attack == "fgsm":
            return {"eps": self.eps}
        if self.attack in ("pgd", "adaptive"):
            return {"eps": self.eps, "steps": self.steps}
        if self.attack == "cw":
            return {"c": self.c, "steps": self.cw_steps}
        raise ValueError(f"unknown attack {self.attack!r}")

    def describe(self) -> str:
        name = ATTACK_NAMES.get(self.attack, self.attack)
        if self.attack == "cw":
            what = f"{name}, c={self.c:g}, {self.cw_steps} steps"
        elif self.attack == "fgsm":
            what = f"{name}, eps={self.eps:.4f} ({grey_levels(self.eps):.2f} grey levels)"
        else:
            what = (f"{name}-{self.steps}, eps={self.eps:.4f} "
                    f"({grey_levels(self.eps):.2f} grey levels)")
        return what + (", as an 8-bit file" if self.eight_bit else "")

    def with_(self, **kw) -> "DemoParams":
        return replace(self, **kw)


def grey_levels(eps: float) -> float:
    """eps in [0, 1] units -> steps of an 8-bit image."""
    return eps * 255.0
