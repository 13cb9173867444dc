"""SSAT training throughput: the real ``core.training.train`` on a small
synthetic dataset (noise images in a Kermany-style tree with its own split
file), against the bare forward+backward passes the same batches need.

One SSAT step on B labeled and k unlabeled images needs: forward+backward to
the input for FGSM on the B labeled images, a forward for the k pseudo-labels,
forward+backward to the input for FGSM on the k unlabeled images, and the
training forward+backward of all 2B + 2k images with an SGD step. The
reference does exactly these passes on tensors already on the device, so the
ratio is what the loop around them costs (decoding batches, bookkeeping,
per-epoch calibration check). Epoch 1 is the warm-up; later epochs are timed.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from core import CLASSES
from core.classifier import build_classifier
from core.training import TrainConfig, train

from .context import Context, row
from .timing import measure, rate, summarize


def write_dataset(root: Path, n_labeled: int, n_unlabeled: int, n_calib: int, side: int = 64) -> Path:
    """Noise PNGs named like Kermany's (CLASS-PATIENT-K), one patient per
    image, and a split file listing them; returns the split file's path."""
    from PIL import Image
    rng = np.random.default_rng(0)
    parts = {"labeled": [], "unlabeled": [], "calib": [], "test": []}
    pool = [rng.integers(0, 256, (side, side), dtype=np.uint8) for _ in range(16)]
    k = 0
    for part, n in (("labeled", n_labeled), ("unlabeled", n_unlabeled), ("calib", n_calib)):
        for i in range(n):
            cls = CLASSES[k % len(CLASSES)]
            d = root / "train" / cls
            d.mkdir(parents=True, exist_ok=True)
            name = f"{cls}-{100000 + k}-1.png"
            Image.fromarray(pool[k % len(pool)]).save(d / name, compress_level=1)
            parts[part].append(f"train/{cls}/{name}")
            k += 1
    split = root / "split.json"
    split.write_text(json.dumps({"format": 1, "parts": parts}))
    return split


def _config(ctx: Context, root: Path, split: Path, size: int, batch: int, unl: int, epochs: int,
            out: str) -> TrainConfig:
    return TrainConfig(method="ssat", data=str(root), split=str(split), out=str(root / out),
                       work_dir=str(root / f"ck-{out}"), input_size=size, batch_size=batch,
                       unlabeled_batch_size=unl, epochs=epochs, gate_covariance="lw",
                       device=str(ctx.device))


def bare_step(model, opt, xl, yl, u, eps, lam: float, amp: bool):
    """The passes of one SSAT step and nothing else."""
    xi = xl.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(F.cross_entropy(model(xi), yl), xi)
    xa = (xl + eps.view(-1, 1, 1, 1) * g.sign()).clamp_(0, 1)
    with torch.no_grad():
        model.eval()
        yu = model(u).argmax(1)
        model.train()
    ui = u.detach().requires_grad_(True)
    (gu,) = torch.autograd.grad(F.cross_entropy(model(ui), yu), ui)
    ua = (u + eps[:len(u)].view(-1, 1, 1, 1) * gu.sign()).clamp_(0, 1)
    main_pass(model, opt, torch.cat([xl, xa, u, ua]), torch.cat([yl, yl, yu, yu]), 2 * len(u), lam, amp)


def main_pass(model, opt, xb, yb, n_unl, lam, amp):
    with torch.autocast(xb.device.type, dtype=torch.bfloat16, enabled=amp):
        logits = model(xb)
    n_sup = len(xb) - n_unl
    loss = F.cross_entropy(logits[:n_sup].float(), yb[:n_sup])
    if n_unl:
        loss = loss + lam * F.cross_entropy(logits[n_sup:].float(), yb[n_sup:])
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def _reference(ctx: Context, size: int, batch: int, unl: int, repeat: int) -> tuple[dict, dict]:
    """Seconds per step of the bare SSAT passes, and of the training pass alone."""
    torch.manual_seed(0)
    dev = ctx.device
    model = build_classifier().to(dev).train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=5e-4)
    xl = torch.rand(batch, 3, size, size, device=dev)
    yl = torch.arange(batch, device=dev) % len(CLASSES)
    u = torch.rand(unl, 3, size, size, device=dev)
    eps = torch.full((batch,), 0.002, device=dev)
    amp = dev.type == "cuda"
    t_all = measure(lambda: bare_step(model, opt, xl, yl, u, eps, 5.0, amp), repeat, 1, dev)
    xb = torch.rand(2 * batch + 2 * unl, 3, size, size, device=dev)
    yb = torch.arange(len(xb), device=dev) % len(CLASSES)
    t_main = measure(lambda: main_pass(model, opt, xb, yb, 2 * unl, 5.0, amp), repeat, 1, dev)
    return t_all, t_main


def _train_epochs(ctx: Context, root: Path, size: int, batch: int, unl: int, steps: int,
                  epochs: int, n_calib: int, out: str) -> list[dict]:
    split = write_dataset(root, batch * steps, unl * steps, n_calib)
    path = train(_config(ctx, root, split, size, batch, unl, epochs, out), log=lambda *a: None)
    return json.loads((Path(path) / "history.json").read_text())


def ssat_training(ctx: Context) -> list[dict]:
    size = ctx.train_size
    batch, unl = (8, 4) if ctx.quick else (64, 16)
    steps = 2 if ctx.quick else ctx.train_steps
    epochs = 2 if ctx.quick else ctx.train_epochs
    hist = _train_epochs(ctx, ctx.tmp / "ssat", size, batch, unl, steps, epochs, 8, "ssat")
    timed = hist[1:] if len(hist) > 1 else hist
    # images/s as train() counts them: labeled images per second of epoch wall time
    ours = summarize([h["seconds"] / (batch * steps) for h in timed])
    t_all, t_main = _reference(ctx, size, batch, unl, max(3, steps))
    return [row("training", f"SSAT training, {size} px, batch {batch} labeled + {unl} unlabeled "
                f"({steps} steps/epoch, real train())", rate(ours, 1), "labeled images/s",
                ref_name="bare passes of the same SSAT step (FGSM x2, pseudo-labels, train pass)",
                ref=rate(t_all, batch), higher_is_better=True, target=0.85,
                extra={"train_pass_only_labeled_images_per_s": batch / t_main["median"],
                       "loop_pass_share": float(np.mean([h["pass_seconds"] / h["seconds"] for h in timed])),
                       "epochs_timed": len(timed)})]


def paper_recipe(ctx: Context) -> list[dict]:
    """The paper's SSAT recipe (224 px, batch 64, 4,000 labeled + 1,000
    unlabeled images, 63 steps per epoch): seconds per epoch of the real
    train(). Run where a GPU is present; a CPU would take hours."""
    if ctx.device.type != "cuda" and not ctx.quick:
        ctx.note("paper-recipe epoch time: measured on CUDA only (skipped on the CPU)")
        return []
    if ctx.quick:
        hist = _train_epochs(ctx, ctx.tmp / "paper", 32, 8, 4, 2, 2, 8, "paper")
        steps, n_lab = 2, 16
    else:
        n_lab, n_unl = 4000, 1000
        steps = math.ceil(n_lab / 64)
        split = write_dataset(ctx.tmp / "paper", n_lab, n_unl, 200)
        cfg = _config(ctx, ctx.tmp / "paper", split, 224, 64, 16, 3, "paper")
        cfg.gate_covariance = "full"
        hist = json.loads((Path(train(cfg, log=lambda *a: None)) / "history.json").read_text())
    timed = hist[1:] if len(hist) > 1 else hist
    t = summarize([h["seconds"] for h in timed])
    return [row("training", f"SSAT paper recipe: seconds per epoch ({n_lab} labeled, {steps} steps)",
                t, "s", extra={"amp": ctx.device.type == "cuda",
                               "labeled_images_per_s": [h["images_per_second"] for h in timed]})]
