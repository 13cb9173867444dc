"""The training loop shared by NT, AT, GCE and SSAT. What a method puts in a
mini-batch and which loss it minimises is its recipe (core/training/recipes);
this loop draws the labeled batches, runs the training pass, keeps the EMA,
evaluates on the calib part and checkpoints every epoch; core/training/finish.py
writes the model directory.

Under ``torchrun`` it runs DistributedDataParallel (NCCL on CUDA, gloo on
the CPU); each rank takes its share of every global batch.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ..batches import as_float, predict_images
from ..classifier import build_classifier
from ..model_store import load_model_dir
from ..progress import Progress
from ..progress_bar import ProgressBar
from .augment import augment_batch
from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig
from .epoch_stats import EpochStats, describe
from .finish import finish
from .parts import load_scans
from .recipes import RECIPES, Recipe, TrainingContext
from .runtime import amp_supported, barrier, dist_info, training_device
from .sampling import epoch_order, rank_batches, steps_per_epoch
from .schedule import make_scheduler


def _quiet(*a, **k):
    pass


def _start_model(cfg: TrainConfig, device):
    model = load_model_dir(cfg.init, device="cpu", trainable=True).model if cfg.init else \
        build_classifier(init_weights=cfg.init_weights or None)
    return model.to(device).train()


def _teacher(cfg: TrainConfig, device):
    if cfg.method != "ssat" or cfg.pseudo_labels != "teacher":
        return None
    if not cfg.teacher:
        raise ValueError("--pseudo-labels teacher needs --teacher MODEL_DIR")
    return load_model_dir(cfg.teacher, device=device).model.eval()


def _ema(model, decay: float):
    """An exponential moving average of the weights and BatchNorm buffers,
    starting from the initial weights (the first update averages, not copies)."""
    if decay <= 0:
        return None
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
    ema.update_parameters(model)   # AveragedModel's first update is a copy
    return ema.eval()


def _resume(cfg: TrainConfig, work_dir: Path, model, opt, ema, say):
    """(history, epochs done, best calib accuracy so far) from the checkpoint, if any."""
    state = load_checkpoint(work_dir, model, opt, ema.module if ema is not None else None) \
        if cfg.resume else None
    if state is None:
        return [], 0, -1.0
    if state.get("method") != cfg.method:
        raise ValueError(f"checkpoint in {work_dir} is for method {state.get('method')}")
    say(f"resumed from {work_dir} after epoch {state['epoch']}")
    return state["history"], state["epoch"], state.get("best_acc", -1.0)


def _step(net, opt, sched, recipe: Recipe, x, y, step: int, stats: EpochStats, amp: bool) -> float:
    """One optimiser step on the recipe's batch; returns the learning rate it used."""
    device = x.device
    t_a = time.perf_counter()
    batch = recipe.batch(x, y, step)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    stats.t_attack += t0 - t_a
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
        logits = net(batch.x)
    loss = batch.loss(logits)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    lr = opt.param_groups[0]["lr"]
    sched.step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    stats.t_pass += time.perf_counter() - t0
    stats.add(loss, logits, y, batch.n_adv)
    return lr


def train(cfg: TrainConfig, progress: Progress | None = None, log=print) -> Path | None:
    """Train, fit the gate and write the model directory; returns its path
    (None on ranks other than 0)."""
    rank, world = dist_info()
    say = log if rank == 0 else _quiet
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = training_device(cfg.device)
    torch.manual_seed(cfg.seed)
    work_dir = Path(cfg.work_dir or Path("checkpoints") / Path(cfg.out).name)
    scans = load_scans(cfg, progress, say)

    model = _start_model(cfg, device)
    channels = model.in_channels
    teacher = _teacher(cfg, device)
    ema = _ema(model, cfg.ema)
    net = model if world == 1 else torch.nn.parallel.DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    amp = cfg.amp and amp_supported(device)
    steps = steps_per_epoch(len(scans.lab_y), cfg.batch_size, world)
    history, start_epoch, best_acc = _resume(cfg, work_dir, model, opt, ema, say)
    best_epoch = None
    sched = make_scheduler(opt, cfg.schedule, steps * cfg.epochs, done_steps=steps * start_epoch)
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + rank + start_epoch)
    recipe = RECIPES[cfg.method](TrainingContext(cfg, model, device, gen, amp, scans.unl_x, teacher))
    eval_model = ema.module if ema is not None else model   # what is evaluated, selected and saved
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()} if cfg.select == "best" else None
    bar = ProgressBar(steps * cfg.epochs, enabled=rank == 0, initial=start_epoch * steps)
    try:
        for epoch in range(start_epoch, cfg.epochs):
            stats, lr = EpochStats(), opt.param_groups[0]["lr"]
            recipe.start_epoch(epoch)
            order = epoch_order(scans.lab_y, cfg.class_balanced, torch.Generator().manual_seed(cfg.seed + epoch))
            for step, idx in enumerate(rank_batches(order, cfg.batch_size, world, rank)):
                if progress is not None:
                    progress.check()
                x, y = as_float(scans.lab_x[idx], channels, device), scans.lab_y[idx].to(device)
                if cfg.augment:
                    x = augment_batch(x, gen)
                lr = _step(net, opt, sched, recipe, x, y, epoch * steps + step, stats, amp)
                if ema is not None:
                    ema.update_parameters(model)
                bar.step(f"ep {epoch + 1}/{cfg.epochs} loss {stats.mean_loss():.3f}")
            # end of epoch: evaluate on the calibration part, checkpoint
            cal_acc = float((predict_images(eval_model, scans.cal_x, channels, device) == scans.cal_y)
                            .float().mean()) if len(scans.cal_x) else float("nan")
            history.append(stats.record(epoch, cal_acc, recipe.lam, lr, world))
            if cfg.select == "best" and cal_acc > best_acc:
                best_acc, best_epoch = cal_acc, epoch + 1
                best_state = {k: v.detach().clone() for k, v in eval_model.state_dict().items()}
            if rank == 0:
                bar.note(describe(history[-1]))
                save_checkpoint(work_dir, model, opt, ema.module if ema is not None else None,
                                {"epoch": epoch + 1, "method": cfg.method, "history": history,
                                 "best_acc": best_acc, "config": cfg.as_dict()})
    except KeyboardInterrupt:
        bar.close()
        say(f"\ninterrupted: the last finished epoch is checkpointed in {work_dir}; "
            f"rerun with --resume to continue")
        raise
    bar.close()
    out = finish(cfg, eval_model, best_state, best_epoch, scans, history, device, world, say) \
        if rank == 0 else None
    barrier(world)
    return out
