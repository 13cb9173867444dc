"""The training loop shared by NT, AT, GCE and SSAT. What a method puts in a
mini-batch and which loss it minimises is its recipe (core/training/recipes);
this loop draws the labeled batches, runs the training pass, keeps the EMA,
evaluates on the calib part and checkpoints every epoch.

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
from .finish import finish
from .parts import load_scans
from .recipes import RECIPES, TrainingContext
from .runtime import amp_supported, barrier, dist_info, training_device
from .sampling import epoch_order, rank_batches, steps_per_epoch
from .schedule import make_scheduler


def _quiet(*a, **k):
    pass


def _start_model(cfg: TrainConfig, device):
    model = load_model_dir(cfg.init, device="cpu").model if cfg.init else \
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


def train(cfg: TrainConfig, progress: Progress | None = None, log=print) -> Path | None:
    """Train, fit the gate and write the model directory; returns its path
    (None on ranks other than 0)."""
    rank, world = dist_info()
    is_main = rank == 0
    say = log if is_main else _quiet
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = training_device(cfg.device)
    torch.manual_seed(cfg.seed)
    work_dir = Path(cfg.work_dir or Path("checkpoints") / Path(cfg.out).name)
    scans = load_scans(cfg, progress, say)

    model = _start_model(cfg, device)
    teacher = _teacher(cfg, device)
    ema = _ema(model, cfg.ema)
    net = model if world == 1 else torch.nn.parallel.DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    use_amp = cfg.amp and amp_supported(device)
    steps = steps_per_epoch(len(scans.lab_y), cfg.batch_size, world)

    history, start_epoch, best = [], 0, (-1.0, None)
    if cfg.resume:
        state = load_checkpoint(work_dir, model, opt, ema.module if ema is not None else None)
        if state is not None:
            if state.get("method") != cfg.method:
                raise ValueError(f"checkpoint in {work_dir} is for method {state.get('method')}")
            history, start_epoch = state["history"], state["epoch"]
            best = (state.get("best_acc", -1.0), None)
            say(f"resumed from {work_dir} after epoch {start_epoch}")
    sched = make_scheduler(opt, cfg.schedule, steps * cfg.epochs, done_steps=steps * start_epoch)
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + rank + start_epoch)
    recipe = RECIPES[cfg.method](TrainingContext(cfg, model, device, gen, use_amp, scans.unl_x, teacher))
    eval_model = ema.module if ema is not None else model
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()} if cfg.select == "best" else None
    bar = ProgressBar(steps * cfg.epochs, enabled=is_main, initial=start_epoch * steps)

    try:
        for epoch in range(start_epoch, cfg.epochs):
            t_epoch = time.perf_counter()
            t_pass = t_attack = 0.0  # training passes; FGSM and pseudo-label passes the recipe needs
            sums = {"loss": 0.0, "clean_correct": 0, "adv_correct": 0, "seen": 0, "adv_seen": 0}
            recipe.start_epoch(epoch)
            order = epoch_order(scans.lab_y, cfg.class_balanced, torch.Generator().manual_seed(cfg.seed + epoch))
            lr = opt.param_groups[0]["lr"]
            for step, idx in enumerate(rank_batches(order, cfg.batch_size, world, rank)):
                if progress is not None:
                    progress.check()
                x, y = as_float(scans.lab_x[idx], model.in_channels, device), scans.lab_y[idx].to(device)
                if cfg.augment:
                    x = augment_batch(x, gen)
                t_a = time.perf_counter()
                batch = recipe.batch(x, y, epoch * steps + step)
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                t0 = time.perf_counter()
                t_attack += t0 - t_a
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                    logits = net(batch.x)
                loss = batch.loss(logits)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                lr = opt.param_groups[0]["lr"]
                sched.step()
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                t_pass += time.perf_counter() - t0
                if ema is not None:
                    ema.update_parameters(model)
                with torch.no_grad():
                    pred, n = logits.argmax(1), len(y)
                    sums["loss"] += float(loss) * n
                    sums["clean_correct"] += int((pred[:n] == y).sum())
                    sums["seen"] += n
                    if batch.n_adv:
                        sums["adv_correct"] += int((pred[n:n + batch.n_adv] == y).sum())
                        sums["adv_seen"] += batch.n_adv
                bar.step(f"ep {epoch + 1}/{cfg.epochs} loss {sums['loss'] / max(sums['seen'], 1):.3f}")
            # -- end of epoch: evaluate on the calibration part, checkpoint
            cal_acc = float((predict_images(eval_model, scans.cal_x, model.in_channels, device) == scans.cal_y)
                            .float().mean()) if len(scans.cal_x) else float("nan")
            wall = time.perf_counter() - t_epoch
            rec = {"epoch": epoch + 1, "loss": sums["loss"] / max(sums["seen"], 1),
                   "train_clean_acc": sums["clean_correct"] / max(sums["seen"], 1),
                   "train_adv_acc": (sums["adv_correct"] / sums["adv_seen"]) if sums["adv_seen"] else None,
                   "calib_acc": cal_acc, "lambda": recipe.lam, "lr": lr,
                   "seconds": wall, "pass_seconds": t_pass, "attack_and_pseudo_label_seconds": t_attack,
                   # time outside every forward/backward pass the recipe needs (data, augmentation,
                   # bookkeeping, the per-epoch calib evaluation)
                   "overhead_share": 1 - (t_pass + t_attack) / wall if wall else None,
                   "images_per_second": sums["seen"] * world / wall if wall else None}
            history.append(rec)
            if cfg.select == "best" and cal_acc > best[0]:
                best = (cal_acc, epoch + 1)
                best_state = {k: v.detach().clone() for k, v in eval_model.state_dict().items()}
            if is_main:
                bar.note(f"epoch {epoch + 1}: loss {rec['loss']:.4f} clean {rec['train_clean_acc']:.3f} "
                         f"adv {rec['train_adv_acc'] if rec['train_adv_acc'] is not None else '-'} "
                         f"calib {cal_acc:.3f} ({wall:.0f} s, {rec['images_per_second']:.1f} img/s)")
                save_checkpoint(work_dir, model, opt, ema.module if ema is not None else None,
                                {"epoch": epoch + 1, "method": cfg.method, "history": history,
                                 "best_acc": best[0], "config": cfg.as_dict()})
    except KeyboardInterrupt:
        bar.close()
        say(f"\ninterrupted: the last finished epoch is checkpointed in {work_dir}; "
            f"rerun with --resume to continue")
        raise
    bar.close()
    if not is_main:
        barrier(world)
        return None
    out = finish(cfg, eval_model, best_state, best[1], scans, history, device, world, say)
    barrier(world)
    return out
