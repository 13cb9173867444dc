"""One attack specification, with the one set of defaults that the command
line, demo mode and ``octguard evaluate`` all build from.

Torch-free, so argument parsers can read the defaults without importing torch.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from .levels import GREY_LEVELS, grey_levels, level_budget

METHODS = ("fgsm", "pgd", "cw", "adaptive")
NAMES = {"fgsm": "FGSM", "pgd": "PGD", "cw": "C&W (L2)", "adaptive": "Adaptive PGD (gate-aware)"}
MODEL, NATIVE = "model", "native"    # where the attack perturbs the image


@dataclass(frozen=True)
class AttackSpec:
    """What to attack and how.

    ``resolution``: ``"model"`` perturbs the grey image at the model's input
    size (the paper's tensor-level threat); ``"native"`` perturbs the file's
    full-resolution frame through the same differentiable crop and resize
    inference uses (the file-level threat). ``eight_bit``: at native
    resolution every iterate stays on the 8-bit grid (whole grey levels, at
    most ``level_budget(eps)`` from the original, then a repair pass); at
    model resolution the float result is rounded to 8 bits afterwards, to show
    what a naive 8-bit save keeps of a float attack. Either way the model sees
    the grey image replicated to its channels inside the differentiable path.
    ``seed`` seeds PGD's random start (None: torch's global generator).
    """
    method: str = "pgd"
    eps: float = 0.005            # L-inf budget in [0, 1] pixel units (FGSM, PGD, adaptive)
    steps: int = 10               # PGD and adaptive PGD
    random_start: bool = True
    gate_weight: float = 1.0      # adaptive PGD
    c: float = 1.0                # C&W
    cw_steps: int = 100
    cw_lr: float = 0.01
    resolution: str = MODEL
    eight_bit: bool = False
    seed: int | None = 0

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"unknown attack {self.method!r}; choose from {', '.join(METHODS)}")
        if self.resolution not in (MODEL, NATIVE):
            raise ValueError(f"resolution must be {MODEL!r} or {NATIVE!r}, not {self.resolution!r}")
        if not 0.0 <= self.eps <= 1.0:
            raise ValueError(f"eps must lie in [0, 1] (pixel units), got {self.eps}")
        if self.steps < 1 or self.cw_steps < 1:
            raise ValueError("steps must be at least 1")
        if self.c <= 0 or self.cw_lr <= 0:
            raise ValueError("C&W c and lr must be positive")

    @property
    def on_grid(self) -> bool:
        """Iterates on the 8-bit grid (native resolution, 8-bit)."""
        return self.eight_bit and self.resolution == NATIVE

    @property
    def n_steps(self) -> int:
        return {"fgsm": 1, "pgd": self.steps, "adaptive": self.steps, "cw": self.cw_steps}[self.method]

    @property
    def needs_gate(self) -> bool:
        return self.method == "adaptive"

    def build(self, model, gate=None, quant: int = GREY_LEVELS):
        """The attack object (core.attacks) for ``model``, which takes what this
        spec perturbs: (N, 1, H, W) grey via core.attacks.model_input, or the
        replicated (N, C, S, S) tensor of the evaluation batches. ``quant``:
        the top code of the file an 8-bit native attack writes (its grid)."""
        from . import CW, FGSM, PGD, AdaptivePGD
        from .grid import GridAdaptivePGD, GridPGD
        if self.needs_gate and gate is None:
            raise ValueError("the adaptive attack needs the detection gate (a model with gate.npz)")
        if self.method == "cw":
            return CW(model, c=self.c, steps=self.cw_steps, lr=self.cw_lr)
        if self.on_grid:
            if self.method == "fgsm":     # one step of the whole budget, no random start
                return GridPGD(model, eps=self.eps, steps=1, random_start=False,
                               alpha_levels=max(1, level_budget(self.eps)), quant=quant, name="FGSM-8bit")
            if self.method == "pgd":
                return GridPGD(model, eps=self.eps, steps=self.steps, random_start=self.random_start,
                               quant=quant)
            return GridAdaptivePGD(model, gate, eps=self.eps, steps=self.steps, quant=quant,
                                   random_start=self.random_start, gate_weight=self.gate_weight)
        if self.method == "fgsm":
            return FGSM(model, eps=self.eps)
        if self.method == "pgd":
            return PGD(model, eps=self.eps, steps=self.steps, random_start=self.random_start)
        return AdaptivePGD(model, gate, eps=self.eps, steps=self.steps,
                           random_start=self.random_start, gate_weight=self.gate_weight)

    def describe(self) -> str:
        name = NAMES[self.method]
        if self.method == "cw":
            what = f"{name}, c={self.c:g}, {self.cw_steps} steps"
        else:
            steps = "" if self.method == "fgsm" else f"-{self.steps}"
            if self.on_grid:
                what = f"{name}{steps}, eps={self.eps:.4f} ({level_budget(self.eps)} grey levels)"
            else:
                what = f"{name}{steps}, eps={self.eps:.4f} ({grey_levels(self.eps):.2f} grey levels)"
        if self.on_grid:
            return what + ", native resolution, 8-bit"
        if self.resolution == NATIVE:
            return what + ", native resolution"
        return what + (", as an 8-bit file" if self.eight_bit else "")

    def as_dict(self) -> dict:
        return asdict(self)

    def with_(self, **kw) -> "AttackSpec":
        return replace(self, **kw)


DEFAULTS = AttackSpec()
