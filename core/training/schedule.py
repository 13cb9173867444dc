"""Learning-rate schedules, from torch.optim.lr_scheduler; the scheduler
steps once per optimiser step.

- constant: --lr throughout;
- cosine: cosine from --lr down to 0 over the run;
- onecycle: linear warm-up from 4% of --lr over the first 30% of the steps,
  then cosine down to 1e-6. (torch's OneCycleLR would warm up on a cosine
  and cycle the momentum: not the schedule the models were trained with.)
"""
from __future__ import annotations

import math
import warnings

from torch.optim import lr_scheduler

SCHEDULES = ("constant", "cosine", "onecycle")


def make_scheduler(opt, schedule: str, total_steps: int, done_steps: int = 0):
    """The scheduler of a run of total_steps, advanced past done_steps (resume)."""
    total = max(total_steps, 1)
    if schedule == "constant":
        sched = lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=0)
    elif schedule == "cosine":
        sched = lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    elif schedule == "onecycle":
        warm = math.ceil(0.3 * total)
        sched = lr_scheduler.SequentialLR(opt, [
            lr_scheduler.LinearLR(opt, start_factor=0.04, end_factor=1.0, total_iters=warm),
            lr_scheduler.CosineAnnealingLR(opt, T_max=max(total - warm, 1), eta_min=1e-6)],
            milestones=[warm])
    else:
        raise ValueError(f"unknown schedule {schedule!r}; one of {SCHEDULES}")
    with warnings.catch_warnings():  # "step() before optimizer.step()": intended when resuming
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(done_steps):
            sched.step()
    return sched
