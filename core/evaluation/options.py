"""Command-line options of ``octguard evaluate`` (kept light: no torch import)."""
from __future__ import annotations

import argparse

from ..attacks.spec import DEFAULTS

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


def add_evaluate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--models", nargs="+", required=True, help="model directories to compare")
    p.add_argument("--data", required=True, help="dataset folder or MANIFEST.csv")
    p.add_argument("--split", required=True, help="split file; its 'test' part is evaluated")
    p.add_argument("--out", required=True, help="report directory")
    p.add_argument("--audit", action="store_true",
                   help="evaluate on the held-out audit/ rows of --data instead of the split's test part "
                        "(final audit figures: run once, never to tune anything)")
    p.add_argument("--attacks", type=attack_list, default=list(ATTACK_NAMES),
                   help="comma-separated subset of fgsm,pgd,cw,adaptive (default: all)")
    p.add_argument("--eps", type=float_list, default=float_list(DEFAULT_EPS),
                   help=f"L-inf budgets for Figure 4 (FGSM, PGD), pixel units in [0, 1] (default {DEFAULT_EPS})")
    p.add_argument("--table-eps", type=float_list, default=float_list(DEFAULT_TABLE_EPS),
                   help="PGD/adaptive budgets for Tables 1-2; Table 1 uses the first "
                        f"(default {DEFAULT_TABLE_EPS})")
    p.add_argument("--pgd-steps", type=int, default=DEFAULTS.steps,
                   help=f"PGD and adaptive-PGD steps (default {DEFAULTS.steps})")
    p.add_argument("--cw-c", type=float_list, default=float_list(DEFAULT_CW_C),
                   help=f"C&W constants c for Figure 4's C&W panel (default {DEFAULT_CW_C})")
    p.add_argument("--cw-steps", type=int, default=DEFAULTS.cw_steps,
                   help=f"C&W Adam steps (default {DEFAULTS.cw_steps})")
    p.add_argument("--cw-lr", type=float, default=DEFAULTS.cw_lr,
                   help=f"C&W Adam learning rate (default {DEFAULTS.cw_lr:g})")
    p.add_argument("--gate-weight", type=float, default=DEFAULTS.gate_weight,
                   help=f"adaptive attack: weight of the per-dimension gate log-likelihood "
                        f"(default {DEFAULTS.gate_weight:g})")
    p.add_argument("--file-pgd-levels", type=level_list, default=[], metavar="L1,L2",
                   help="also run the file-level threat: PGD on each scan at its native resolution, on the "
                        "8-bit grid, moving pixels by at most this many whole grey levels (e.g. 2,3 for eps "
                        "2/255 and 3/255); scans are re-read from their files (default: off)")
    p.add_argument("--r-cln-prd", type=float, default=1.0, help="risk weight of a misclassified clean image")
    p.add_argument("--r-cln-uad", type=float, default=1.0, help="risk weight of a clean image the gate rejects")
    p.add_argument("--r-adv-prd", type=float, default=1.0,
                   help="risk weight of an accepted, misclassified adversarial example")
    p.add_argument("--limit", type=int, default=None,
                   help="evaluate at most N images per class (a seeded draw) to fit a CPU budget")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples for 95%% intervals")
    p.add_argument("--no-tsne", dest="tsne", action="store_false", help="skip Figure 1 (t-SNE)")
    p.add_argument("--seed", type=int, default=0, help="seeds attacks' random starts, --limit, bootstrap, t-SNE")
    p.add_argument("--batch-size", type=int, default=32, help="images per attack batch")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
