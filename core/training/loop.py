"""The training loop shared by NT, AT, GCE and SSAT.

Per mini-batch:
- nt:   cross-entropy on (augmented) clean images;
- gce:  cross-entropy minus the guided complement entropy;
- at:   the batch plus as many FGSM examples (eps ~ U[eps_min, eps_max]);
- ssat: AT on the labeled batch + lambda * AT on an unlabeled batch whose
        labels are pseudo-labels from the current model (the paper's
        notebook) or from a frozen teacher (Stanforth et al.), after
        optional labeled-only warm-up epochs and a lambda ramp. A model
        trained from scratch gives noise as pseudo-labels early on, and
        lambda = 5 then lets the noise dominate: the warm-up/teacher options
        exist to prevent that collapse.

Under ``torchrun`` it runs DistributedDataParallel (NCCL on CUDA, gloo on
the CPU); each rank takes its share of every global batch.
"""
from __future__ import annotations

import math
import os
import platform
import time
from copy import deepcopy
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F

from ..classifier import build_classifier
from ..data import index_dataset, read_split, split_items
from ..hashing import sha256_file
from ..model_store import load_model_dir, save_model_dir
from ..progress import Progress
from .augment import augment_batch
from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig
from .gate_fit import fit_gate
from ..batches import as_float, decode_items, predict_images
from .losses import gce_objective
from ..progress_bar import ProgressBar


def fgsm_examples(model, x, y, eps: torch.Tensor, amp: bool = False) -> torch.Tensor:
    """One-step FGSM with a per-sample eps, in the model's current mode."""
    x = x.detach().clone().requires_grad_(True)
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp):
        logits = model(x)
    loss = F.cross_entropy(logits.float(), y)
    (grad,) = torch.autograd.grad(loss, x)
    return (x + eps.view(-1, 1, 1, 1) * grad.sign()).clamp_(0, 1).detach()


def _dist_info():
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank = dist.get_rank() if world > 1 else 0
    return rank, world


@torch.no_grad()
def recalibrate_batchnorm(model, images_u8, channels, device, batch=64, seed=0, augment=False) -> None:
    """Re-estimate BatchNorm running statistics as exact averages over the
    clean training images. With few steps per epoch (small data) or with
    averaged weights, the running estimates lag the weights and eval-mode
    predictions suffer; a pass over the data fixes that.

    The pass visits the images in a seeded random order. Split parts are
    stored sorted by path, which groups them by class, and a batch of one
    class has only the within-class variance: averaging those batches
    underestimates every channel's variance, by the between-class part that
    the shuffled training batches did include (it cost 9 points of calib
    accuracy on real scans).

    With ``augment`` the pass sees augmented views, the distribution the
    weights were trained under: statistics of un-augmented scans still cost
    2 points (0.945 -> 0.925 calib, NT-160), since the augmentation's zoom,
    speckle and contrast change every layer's variance."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns or not len(images_u8):
        return
    saved = [(m.momentum, m.training) for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
        m.train()
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(images_u8), generator=gen)
    for i in range(0, len(images_u8), batch):
        x = as_float(images_u8[order[i:i + batch]], channels, device)
        if augment:
            x = augment_batch(x, gen)
        if len(x) > 1:
            model(x)
    for m, (mom, tr) in zip(bns, saved):
        m.momentum = mom
        m.train(tr)


def amp_supported(device: torch.device) -> bool:
    """bf16 autocast pays on CUDA and on CPUs with native bf16 (AVX512-BF16,
    AMX): measured 1.9-2.2x for a ResNet-18 training step at 128-224 px on
    the 2-core EPYC these models were trained on. Elsewhere it would be slower."""
    if device.type == "cuda":
        return True
    return device.type == "cpu" and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def _epoch_order(labels: torch.Tensor, balanced: bool, gen: torch.Generator) -> torch.Tensor:
    """An epoch's order of labeled images: a permutation, or as many draws
    with replacement, weighted so every class is equally likely (the test
    part is balanced; the labeled part is not)."""
    if not balanced:
        return torch.randperm(len(labels), generator=gen)
    counts = torch.bincount(labels, minlength=int(labels.max()) + 1).double()
    weights = (1.0 / counts.clamp_min(1))[labels]
    return torch.multinomial(weights, len(labels), replacement=True, generator=gen)


def _subset(items, n: int, seed: int):
    """At most n items (all when n is 0), dealt round-robin over classes so a
    small subset still holds every class."""
    if not n or n >= len(items):
        return items
    gen = torch.Generator().manual_seed(seed)
    by_class: dict[int, list] = {}
    for i in torch.randperm(len(items), generator=gen).tolist():
        by_class.setdefault(items[i].label, []).append(items[i])
    queues = [by_class[c] for c in sorted(by_class)]
    out = []
    while len(out) < n:
        for q in queues:
            if q and len(out) < n:
                out.append(q.pop())
    return out


def _lr_at(cfg: TrainConfig, step: int, total: int) -> float:
    if cfg.schedule == "constant":
        return cfg.lr
    t = step / max(total, 1)
    if cfg.schedule == "cosine":
        return 0.5 * cfg.lr * (1 + math.cos(math.pi * t))
    if cfg.schedule == "onecycle":  # linear warm-up over 30%, cosine down to ~0
        if t < 0.3:
            return cfg.lr * (0.04 + 0.96 * t / 0.3)
        return 0.5 * cfg.lr * (1 + math.cos(math.pi * (t - 0.3) / 0.7)) + 1e-6
    raise ValueError(f"unknown schedule {cfg.schedule!r}")


def train(cfg: TrainConfig, progress: Progress | None = None, log=print) -> Path | None:
    """Train, fit the gate and write the model directory; returns its path
    (None on ranks other than 0)."""
    rank, world = _dist_info()
    is_main = rank == 0
    say = log if is_main else (lambda *a, **k: None)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.device:
        device = torch.device(cfg.device)
    elif torch.cuda.is_available():
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    else:
        device = torch.device("cpu")
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    work_dir = Path(cfg.work_dir or Path("checkpoints") / out.name)

    # -- data --------------------------------------------------------------
    items = index_dataset(cfg.data)
    split = read_split(cfg.split)
    parts = split_items(items, split)
    labeled = _subset(parts["labeled"], cfg.limit, cfg.seed)
    say(f"decoding {len(labeled)} labeled, {len(parts['unlabeled'])} unlabeled, "
        f"{len(parts['calib'])} calibration scans at {cfg.input_size} px")
    lab_x, lab_y = decode_items(labeled, cfg.input_size, progress, on_error=lambda e: say(f"skipped {e}"))
    unl_x = None
    if cfg.method == "ssat":
        unlabeled = _subset(parts["unlabeled"], cfg.limit // 4, cfg.seed)
        unl_x, _ = decode_items(unlabeled, cfg.input_size, progress)  # labels never used
    cal_x, cal_y = decode_items(parts["calib"], cfg.input_size, progress)

    # -- model -------------------------------------------------------------
    if cfg.init:
        model = load_model_dir(cfg.init, device="cpu").model
    else:
        model = build_classifier(init_weights=cfg.init_weights or None)
    model.to(device).train()
    channels = model.in_channels
    teacher = None
    if cfg.method == "ssat" and cfg.pseudo_labels == "teacher":
        if not cfg.teacher:
            raise ValueError("--pseudo-labels teacher needs --teacher MODEL_DIR")
        teacher = load_model_dir(cfg.teacher, device=device).model.eval()
    ema = deepcopy(model).eval() if cfg.ema > 0 else None
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                          weight_decay=cfg.weight_decay)
    use_amp = cfg.amp and amp_supported(device)

    per_rank = max(cfg.batch_size // world, 1)
    steps_per_epoch = max(math.ceil(len(lab_x) / cfg.batch_size), 1)
    total_steps = steps_per_epoch * cfg.epochs
    history, start_epoch, best = [], 0, (-1.0, None)
    if cfg.resume:
        state = load_checkpoint(work_dir, model, opt, ema)
        if state is not None:
            if state.get("method") != cfg.method:
                raise ValueError(f"checkpoint in {work_dir} is for method {state.get('method')}")
            history, start_epoch = state["history"], state["epoch"]
            best = (state.get("best_acc", -1.0), None)
            say(f"resumed from {work_dir} after epoch {start_epoch}")
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + rank + start_epoch)
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()} if cfg.select == "best" else None
    bar = ProgressBar(total_steps, enabled=is_main, initial=start_epoch * steps_per_epoch)

    try:
        for epoch in range(start_epoch, cfg.epochs):
            t_epoch = time.perf_counter()
            t_pass = t_attack = 0.0  # training passes; FGSM and pseudo-label passes the recipe needs
            sums = {"loss": 0.0, "clean_correct": 0, "adv_correct": 0, "seen": 0, "adv_seen": 0}
            perm = _epoch_order(lab_y, cfg.class_balanced, torch.Generator().manual_seed(cfg.seed + epoch))
            uperm = (torch.randperm(len(unl_x), generator=torch.Generator().manual_seed(cfg.seed + 7 * epoch))
                     if unl_x is not None and len(unl_x) else None)
            lam = 0.0
            if cfg.method == "ssat" and epoch >= cfg.warmup_epochs:
                ramp = cfg.lambda_rampup_epochs
                lam = cfg.ssat_lambda * min(1.0, (epoch - cfg.warmup_epochs + 1) / ramp) if ramp else cfg.ssat_lambda
            for step in range(steps_per_epoch):
                if progress is not None:
                    progress.check()
                gstep = epoch * steps_per_epoch + step
                for g in opt.param_groups:
                    g["lr"] = _lr_at(cfg, gstep, total_steps)
                idx = perm[step * cfg.batch_size:(step + 1) * cfg.batch_size][rank::world][:per_rank]
                if len(idx) == 0:
                    continue
                x = as_float(lab_x[idx], channels, device)
                y = lab_y[idx].to(device)
                if cfg.augment:
                    x = augment_batch(x, gen)
                inputs, targets, n_lab = [x], [y], len(x)
                adversarial = cfg.method in ("at", "ssat")
                t_a = time.perf_counter()
                if adversarial:
                    eps = (torch.rand(len(x), generator=gen) * (cfg.fgsm_eps_max - cfg.fgsm_eps_min)
                           + cfg.fgsm_eps_min).to(device)
                    inputs.append(fgsm_examples(model, x, y, eps, use_amp))
                    targets.append(y)
                n_unl = 0
                if lam > 0 and uperm is not None:
                    k = cfg.unlabeled_batch_size
                    uidx = uperm[(gstep * k) % len(uperm):][:k]
                    u = as_float(unl_x[uidx], channels, device)
                    if cfg.augment:
                        u = augment_batch(u, gen)
                    with torch.no_grad():
                        src = teacher if teacher is not None else model
                        was = src.training
                        src.eval()
                        yhat = src(u).argmax(1)
                        src.train(was)
                    ueps = (torch.rand(len(u), generator=gen) * (cfg.fgsm_eps_max - cfg.fgsm_eps_min)
                            + cfg.fgsm_eps_min).to(device)
                    inputs += [u, fgsm_examples(model, u, yhat, ueps, use_amp)]
                    targets += [yhat, yhat]
                    n_unl = 2 * len(u)
                xb, yb = torch.cat(inputs), torch.cat(targets)
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                t0 = time.perf_counter()
                t_attack += t0 - t_a
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                    logits = net(xb)
                n_sup = len(xb) - n_unl
                if cfg.method == "gce":
                    loss = gce_objective(logits.float(), yb, cfg.gce_alpha, cfg.gce_weight, cfg.label_smoothing)
                else:
                    loss = F.cross_entropy(logits[:n_sup].float(), yb[:n_sup], label_smoothing=cfg.label_smoothing)
                    if n_unl:
                        loss = loss + lam * F.cross_entropy(logits[n_sup:].float(), yb[n_sup:],
                                                            label_smoothing=cfg.label_smoothing)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                t_pass += time.perf_counter() - t0
                if ema is not None:
                    with torch.no_grad():
                        for pe, pm in zip(ema.state_dict().values(), model.state_dict().values()):
                            if pe.is_floating_point():
                                pe.mul_(cfg.ema).add_(pm.detach(), alpha=1 - cfg.ema)
                            else:
                                pe.copy_(pm)
                with torch.no_grad():
                    pred = logits.argmax(1)
                    sums["loss"] += float(loss) * n_lab
                    sums["clean_correct"] += int((pred[:n_lab] == y).sum())
                    sums["seen"] += n_lab
                    if adversarial:
                        sums["adv_correct"] += int((pred[n_lab:2 * n_lab] == y).sum())
                        sums["adv_seen"] += n_lab
                bar.step(f"ep {epoch + 1}/{cfg.epochs} loss {sums['loss'] / max(sums['seen'], 1):.3f}")
            # -- end of epoch: evaluate on the calibration part, checkpoint
            eval_model = ema if ema is not None else model
            cal_acc = float((predict_images(eval_model, cal_x, channels, device) == cal_y).float().mean()) \
                if len(cal_x) else float("nan")
            wall = time.perf_counter() - t_epoch
            rec = {"epoch": epoch + 1, "loss": sums["loss"] / max(sums["seen"], 1),
                   "train_clean_acc": sums["clean_correct"] / max(sums["seen"], 1),
                   "train_adv_acc": (sums["adv_correct"] / sums["adv_seen"]) if sums["adv_seen"] else None,
                   "calib_acc": cal_acc, "lambda": lam, "lr": opt.param_groups[0]["lr"],
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
                save_checkpoint(work_dir, model, opt, ema,
                                {"epoch": epoch + 1, "method": cfg.method, "history": history,
                                 "best_acc": best[0], "config": cfg.as_dict()})
    except KeyboardInterrupt:
        bar.close()
        say(f"\ninterrupted: the last finished epoch is checkpointed in {work_dir}; "
            f"rerun with --resume to continue")
        raise
    bar.close()
    if not is_main:
        if world > 1:
            dist.barrier()
        return None

    final = ema if ema is not None else model
    if cfg.select == "best" and best_state is not None:
        final.load_state_dict(best_state)
    def calib_acc(m):
        return float((predict_images(m, cal_x, channels, device) == cal_y).float().mean()) if len(cal_x) else None

    final_acc = calib_acc(final)
    if cfg.bn_recalibrate:
        # exact statistics, kept only when they do not lose calib accuracy
        # against the running estimates (choosing on calib, never on test)
        kept = {k: v.detach().clone() for k, v in final.state_dict().items()}
        recalibrate_batchnorm(final, lab_x, channels, device, seed=cfg.seed, augment=cfg.augment)
        after = calib_acc(final)
        if final_acc is not None:
            history[-1]["calib_acc_running_bn"], history[-1]["calib_acc_recalibrated_bn"] = final_acc, after
            if after < final_acc:
                final.load_state_dict(kept)
                say(f"kept the running BatchNorm statistics (calib {final_acc:.3f}; re-estimated {after:.3f})")
            else:
                final_acc = after
    final.eval()
    if final_acc is not None:
        history[-1]["calib_acc_final"] = final_acc
        say(f"calibration-part accuracy of the final model: {history[-1]['calib_acc_final']:.3f}")
    # -- gate: fitted on clean training features, calibrated on held-out clean
    say("fitting the detection gate")
    gate = fit_gate(final, lab_x, lab_y, cal_x, device, n_components=cfg.gate_components,
                    covariance=cfg.gate_covariance, reg_covar=cfg.gate_reg_covar,
                    rejection_rate=cfg.gate_rejection_rate, seed=cfg.seed)
    n_real = len(lab_x) + (len(unl_x) if unl_x is not None else 0)
    meta = {
        "name": cfg.name or out.name,
        "method": cfg.method,
        "input_size": cfg.input_size,
        "recipe": cfg.as_dict(),
        "provenance": (f"{cfg.method.upper()} demonstration model trained from scratch on {n_real} "
                       f"real OCT scans; not for clinical use"),
        "split_sha256": sha256_file(cfg.split),
        "trained_on": {"labeled": len(lab_x), "unlabeled": 0 if unl_x is None else len(unl_x),
                       "calib": len(cal_x)},
        "selected_epoch": best[1] if cfg.select == "best" else len(history),
        "calib_accuracy": history[-1].get("calib_acc_final") if history else None,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"platform": platform.platform(), "device": str(device),
                    "torch": torch.__version__, "world_size": world},
    }
    save_model_dir(out, final.cpu(), meta, gate, history, half=cfg.half)
    say(f"wrote {out}")
    if world > 1:
        dist.barrier()
    return out
