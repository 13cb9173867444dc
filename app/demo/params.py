"""What the demo's controls choose, as one value the worker can take. The
attack's defaults are core's (core.attacks.spec): the demo only adds which
model to attack, and builds an :class:`AttackSpec` from its fields."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from core.attacks.spec import DEFAULTS, MODEL, NATIVE, NAMES, AttackSpec  # noqa: F401

ATTACK_NAMES = NAMES
EPS_MAX = 0.03            # slider range in [0, 1] pixel units
EPS_TICKS = 300           # slider steps: 0.0001 per step
DEBOUNCE_MS = 250
# (native, eight_bit) -> what the "Image" control calls it
REALISM = {(False, False): "model input, float (research)",
           (False, True): "model input, rounded to 8 bits",
           (True, True): "native resolution, 8-bit (realistic file)"}


@dataclass(frozen=True)
class DemoParams:
    attack: str = DEFAULTS.method
    eps: float = DEFAULTS.eps
    steps: int = DEFAULTS.steps       # PGD and adaptive PGD
    c: float = DEFAULTS.c             # C&W
    cw_steps: int = DEFAULTS.cw_steps
    eight_bit: bool = DEFAULTS.eight_bit
    native: bool = False              # the file's full-resolution frame (always 8-bit)
    model_dir: Path | None = None     # None: the viewer's own model

    def spec(self) -> AttackSpec:
        return AttackSpec(method=self.attack, eps=self.eps, steps=self.steps, c=self.c,
                          cw_steps=self.cw_steps, resolution=NATIVE if self.native else MODEL,
                          eight_bit=self.eight_bit or self.native)

    def describe(self) -> str:
        return self.spec().describe()

    def with_(self, **kw) -> "DemoParams":
        return replace(self, **kw)
