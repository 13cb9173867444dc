"""Every ``octguard evaluate`` setting, with its default and help, in one
place: ``options.add_evaluate_args`` generates the flags from these fields
(as ``octguard train`` does from TrainConfig). Torch-free, so ``--help``
stays light.

``EvalConfig`` is the protocol (attacks, budgets, statistics); ``RunOptions``
is what to evaluate and where to write it.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field, fields

from ..attacks.spec import DEFAULTS, AttackSpec

ATTACK_NAMES = ("fgsm", "pgd", "cw", "adaptive")
DEFAULT_EPS = "0,0.001,0.0025,0.005,0.01,0.02"
DEFAULT_TABLE_EPS = "0.005,0.01"
DEFAULT_CW_C = "0.01,0.1,1,10"


def float_list(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not values or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected non-negative numbers, got {text!r}")
    return values


def level_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole grey levels, got {text!r}") from None
    if any(v < 1 or v > 255 for v in values):
        raise argparse.ArgumentTypeError(f"grey levels must lie in 1..255, got {text!r}")
    return values


def attack_list(text: str) -> list[str]:
    names = [v.strip().lower() for v in text.split(",") if v.strip()]
    bad = [n for n in names if n not in ATTACK_NAMES]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"unknown attack(s) {bad or text!r}; choose from {','.join(ATTACK_NAMES)}")
    return names


def _opt(default, help: str, *, parse=None, flag: str | None = None, **argparse_kw):
    """A field that is also a flag: ``parse`` reads the flag's text (lists
    are given comma-separated), ``flag`` overrides the name derived from the
    field, the rest goes to ``add_argument``."""
    meta = {"help": help, "parse": parse, "flag": flag, "argparse": argparse_kw}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class EvalConfig:
    attacks: list[str] = _opt(list(ATTACK_NAMES), "comma-separated subset of fgsm,pgd,cw,adaptive (default: all)",
                              parse=attack_list)
    eps: list[float] = _opt(float_list(DEFAULT_EPS),
                            f"L-inf budgets for Figure 4 (FGSM, PGD), pixel units in [0, 1] (default {DEFAULT_EPS})",
                            parse=float_list)
    table_eps: list[float] = _opt(float_list(DEFAULT_TABLE_EPS), "PGD/adaptive budgets for Tables 1-2; Table 1 "
                                  f"uses the first (default {DEFAULT_TABLE_EPS})", parse=float_list)
    pgd_steps: int = _opt(DEFAULTS.steps, f"PGD and adaptive-PGD steps (default {DEFAULTS.steps})")
    cw_c: list[float] = _opt(float_list(DEFAULT_CW_C),
                             f"C&W constants c for Figure 4's C&W panel (default {DEFAULT_CW_C})", parse=float_list)
    cw_steps: int = _opt(DEFAULTS.cw_steps, f"C&W Adam steps (default {DEFAULTS.cw_steps})")
    cw_lr: float = _opt(DEFAULTS.cw_lr, f"C&W Adam learning rate (default {DEFAULTS.cw_lr:g})")
    gate_weight: float = _opt(DEFAULTS.gate_weight, "adaptive attack: weight of the per-dimension gate "
                              f"log-likelihood (default {DEFAULTS.gate_weight:g})")
    file_levels: list[int] = _opt([], "also run the file-level threat: PGD on each scan at its native resolution, "
                                  "on the 8-bit grid, moving pixels by at most this many whole grey levels (e.g. "
                                  "2,3 for eps 2/255 and 3/255); scans are re-read from their files (default: off)",
                                  parse=level_list, flag="--file-pgd-levels", metavar="L1,L2")
    r_cln_prd: float = _opt(1.0, "risk weight of a misclassified clean image")
    r_cln_uad: float = _opt(1.0, "risk weight of a clean image the gate rejects")
    r_adv_prd: float = _opt(1.0, "risk weight of an accepted, misclassified adversarial example")
    n_boot: int = _opt(1000, "bootstrap resamples for 95%% intervals")
    seed: int = _opt(0, "seeds attacks' random starts, --limit, bootstrap, t-SNE")
    batch_size: int = _opt(32, "images per attack batch")
    tsne: bool = _opt(True, "skip Figure 1 (t-SNE)", flag="--no-tsne")

    def __post_init__(self):
        # budgets are grid points: each is run once, in order
        self.eps = sorted(set(self.eps))
        self.cw_c = sorted(set(self.cw_c))

    def runs(self) -> list[tuple[str, float]]:
        """(attack, budget) pairs to run, in order; budget is eps, or c for C&W.
        PGD at eps 0 is the clean image (its eps ball is a point), so it is
        not run; FGSM at eps 0 *is* run, as a check that the attack pipeline
        reproduces the clean predictions."""
        out: list[tuple[str, float]] = []
        if "fgsm" in self.attacks:
            out += [("fgsm", e) for e in self.eps]
        if "pgd" in self.attacks:
            out += [("pgd", e) for e in sorted(set(self.eps) | set(self.table_eps)) if e > 0]
        if "cw" in self.attacks:
            out += [("cw", c) for c in self.cw_c]
        if "adaptive" in self.attacks:
            out += [("adaptive", e) for e in self.table_eps if e > 0]
        return out

    def steps_of(self, attack: str) -> int:
        return {"fgsm": 1, "pgd": self.pgd_steps, "adaptive": self.pgd_steps, "cw": self.cw_steps}[attack]

    def spec(self, attack: str, budget: float, **kw) -> AttackSpec:
        """The attack as core.attacks.spec describes it; budget is eps, or c for C&W.
        Seeding is the caller's (torch.manual_seed before each run), so seed=None."""
        budget_kw = {"c": budget} if attack == "cw" else {"eps": budget}
        return AttackSpec(method=attack, steps=self.pgd_steps, cw_steps=self.cw_steps, cw_lr=self.cw_lr,
                          gate_weight=self.gate_weight, random_start=True, seed=None, **budget_kw, **kw)

    def build(self, attack: str, budget: float, model, gate):
        return self.spec(attack, budget).build(model, gate)


@dataclass
class RunOptions:
    models: list[str] = _opt([], "model directories to compare", required=True, nargs="+")
    data: str = _opt("", "dataset folder or MANIFEST.csv", required=True)
    split: str = _opt("", "split file; its 'test' part is evaluated", required=True)
    out: str = _opt("", "report directory", required=True)
    audit: bool = _opt(False, "evaluate on the held-out audit/ rows of --data instead of the split's test part "
                              "(final audit figures: run once, never to tune anything)")
    limit: int | None = _opt(None, "evaluate at most N images per class (a seeded draw) to fit a CPU budget",
                             parse=int)
    device: str = _opt("auto", "auto (CUDA when present), cpu, cuda or cuda:N")
    quiet: bool = _opt(False, "no progress bars")


# the order flags appear in ``--help``: what to evaluate, then the protocol
FLAG_ORDER = ("models", "data", "split", "out", "audit", "attacks", "eps", "table_eps", "pgd_steps", "cw_c",
              "cw_steps", "cw_lr", "gate_weight", "file_levels", "r_cln_prd", "r_cln_uad", "r_adv_prd", "limit",
              "n_boot", "tsne", "seed", "batch_size", "device", "quiet")


def flag_fields() -> list:
    by_name = {f.name: f for cls in (EvalConfig, RunOptions) for f in fields(cls)}
    assert set(by_name) == set(FLAG_ORDER), "every setting has a place in --help"
    return [by_name[n] for n in FLAG_ORDER]


def flag_of(f) -> str:
    return f.metadata["flag"] or "--" + f.name.replace("_", "-")


def dest_of(f) -> str:
    """The argparse attribute: the flag's own name (``--file-pgd-levels`` ->
    file_pgd_levels), except for ``--no-*`` switches, which set the field."""
    flag = flag_of(f)
    return f.name if flag.startswith("--no-") else flag[2:].replace("-", "_")


def config_from_args(args) -> EvalConfig:
    """The protocol from parsed flags; an attribute that is missing takes
    the field's default (callers may pass a namespace of their own)."""
    kw = {}
    for f in fields(EvalConfig):
        dest = dest_of(f)
        if hasattr(args, dest) and getattr(args, dest) is not None:
            value = getattr(args, dest)
            kw[f.name] = list(value) if isinstance(value, (list, tuple)) else value
    return EvalConfig(**kw)
