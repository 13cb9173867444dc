"""Attacks on one 224 px scan: ours against torchattacks with the same
settings, model and inputs in the same run, and PGD-10 against its physical
floor, ten bare forward+backward passes to the input.

C&W stops early when its cost stops falling (both implementations use the
same rule), so the two may run different numbers of steps: the forward
passes are counted and the figure is given per 100 steps as well.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from core.attacks import CW, FGSM, PGD
from core.model_store import load_model_dir
from core.preprocess import to_tensor

from .context import Context, row
from .fixtures import phantom_u8
from .timing import measure, scale

MS = 1e3
EPS = 0.005


class _Counter:
    def __init__(self, model):
        self.n = 0
        self.handle = model.register_forward_hook(self)

    def __call__(self, *args):
        self.n += 1


def _setup(ctx: Context):
    lm = load_model_dir(ctx.attack_model_dir, device=ctx.device)
    model = lm.model.eval()
    x = to_tensor(phantom_u8(0, *ctx.scan_hw) / 255.0, lm.input_size, model.in_channels).to(ctx.device)
    with torch.no_grad():
        y = model(x).argmax(1)
    return model, x, y


def attacks(ctx: Context) -> list[dict]:
    import torchattacks

    model, x, y = _setup(ctx)
    size = x.shape[-1]
    cw_steps = 10 if ctx.quick else 100
    pairs = {
        "FGSM": (FGSM(model, eps=EPS), torchattacks.FGSM(model, eps=EPS)),
        "PGD-10": (PGD(model, eps=EPS, alpha=EPS / 4, steps=10, random_start=True),
                   torchattacks.PGD(model, eps=EPS, alpha=EPS / 4, steps=10, random_start=True)),
        f"C&W-{cw_steps}": (CW(model, c=1.0, kappa=0.0, steps=cw_steps, lr=0.01),
                            torchattacks.CW(model, c=1.0, kappa=0.0, steps=cw_steps, lr=0.01)),
    }
    rows = []
    counter = _Counter(model)
    try:
        for name, (mine, theirs) in pairs.items():
            def run(attack):
                torch.manual_seed(0)        # PGD's random start draws from the global RNG
                return attack(x, y)
            # C&W-100 is ten times PGD-10's work: fewer runs keep the suite short
            repeat = ctx.repeat if not name.startswith("C&W") else max(3, ctx.repeat // 2)
            warmup = ctx.warmup if not name.startswith("C&W") else 1
            counter.n = 0
            t_ours = measure(lambda: run(mine), repeat, warmup, ctx.device)
            steps_ours = counter.n / (repeat + warmup)
            counter.n = 0
            t_ta = measure(lambda: run(theirs), repeat, warmup, ctx.device)
            steps_ta = counter.n / (repeat + warmup)
            extra = {"forward_passes_ours": steps_ours, "forward_passes_torchattacks": steps_ta}
            if not name.startswith("C&W"):
                diff = (run(mine) - run(theirs)).abs().max().item()
                extra["max_abs_difference"] = diff
                extra["identical"] = diff == 0.0
            else:
                # per step, so an early stop on either side does not flatter it
                extra["ms_per_step_ours"] = t_ours["median"] * MS / max(steps_ours, 1)
                extra["ms_per_step_torchattacks"] = t_ta["median"] * MS / max(steps_ta, 1)
            rows.append(row("attacks", f"{name} on one {size} px scan", scale(t_ours, MS), "ms",
                            ref_name=f"torchattacks {torchattacks.__version__} {name}",
                            ref=scale(t_ta, MS), target=1.0, extra=extra))
    finally:
        counter.handle.remove()

    # the floor: PGD-10 cannot beat ten forward+backward passes to the input
    def floor():
        for _ in range(10):
            xi = x.detach().requires_grad_(True)
            torch.autograd.grad(F.cross_entropy(model(xi), y), xi)
    pgd = PGD(model, eps=EPS, alpha=EPS / 4, steps=10, random_start=True)
    t_pgd = measure(lambda: pgd(x, y), ctx.repeat, ctx.warmup, ctx.device)
    t_floor = measure(floor, ctx.repeat, ctx.warmup, ctx.device)
    rows.append(row("attacks", f"PGD-10 on one {size} px scan (vs its floor)", scale(t_pgd, MS), "ms",
                    ref_name="10 x bare forward+backward to the input", ref=scale(t_floor, MS)))
    return rows
