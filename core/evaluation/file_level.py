"""The file-level threat: 8-bit PGD on each test scan at its native
resolution, through inference's own crop and resize, every iterate on the
8-bit grid (core.attacks.grid). The image an attacker would hand over is the
one scored, so these rows sit beside the paper's tensor-level rows.

Scans are read again from their files (the tensor-level rows use images
decoded once at the model's size); the clean pass here runs the same
native-resolution path, so the clean and attacked rows compare like with like.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from ..attacks.frame import attack_batch
from ..attacks.levels import GREY_LEVELS
from ..attacks.spec import NATIVE
from ..errors import ScanError
from ..progress import Progress
from .protocol import EvalConfig, Outcome, attack_row, classify, ci, gather, summary_row

ATTACK = "pgd-file-8bit"


def _frames(items) -> tuple[list[np.ndarray], np.ndarray, list[str]]:
    from ..io import load_scan
    frames, labels, errors = [], [], []
    for it in items:
        try:
            frames.append(load_scan(it.path).frames[0])
            labels.append(it.label)
        except ScanError as exc:
            errors.append(str(exc))
    return frames, np.asarray(labels, dtype=np.int64), errors


def _batches(frames: list[np.ndarray], batch_size: int) -> list[np.ndarray]:
    """Index batches of equal-shape frames (Kermany has 512, 768, 1024 and
    1536 px wide scans), in order."""
    by_shape: dict[tuple, list[int]] = {}
    for i, f in enumerate(frames):
        by_shape.setdefault(f.shape, []).append(i)
    out = []
    for idx in by_shape.values():
        out += [np.asarray(idx[j:j + batch_size]) for j in range(0, len(idx), batch_size)]
    return out


def _stack(frames, idx) -> torch.Tensor:
    return torch.from_numpy(np.stack([frames[i] for i in idx]))[:, None]


def _pass(lm, frames, labels, batches, spec=None, progress: Progress | None = None, on_batch=None) -> Outcome:
    n = len(frames)
    preds, feats, scores, screens = ([None] * len(batches) for _ in range(4))
    l2 = np.zeros(n)
    linf = np.zeros(n)
    t0 = time.perf_counter()
    for b, idx in enumerate(batches):
        x = _stack(frames, idx)
        if spec is not None:
            x_adv, _, _ = attack_batch(lm, x, torch.from_numpy(labels[idx]), spec, GREY_LEVELS, progress)
            diff = (x_adv - x).flatten(1)
            l2[idx] = torch.linalg.vector_norm(diff, dim=1).numpy()
            linf[idx] = diff.abs().amax(1).numpy()
            x = x_adv
        preds[b], feats[b], scores[b], screens[b] = classify(lm, x)
        if on_batch is not None:
            on_batch()
    order = np.argsort(np.concatenate(batches)) if batches else np.zeros(0, dtype=np.int64)
    def ordered(parts):
        return [torch.cat(parts)[order]] if parts and parts[0] is not None else []
    passed = [np.concatenate(screens)[order]] if batches else []
    out = gather(lm, ordered(preds), ordered(feats), ordered(scores), time.perf_counter() - t0,
                 screens=passed)
    if spec is not None:
        out.l2, out.linf = l2, linf
    return out


def n_batches(items, batch_size: int) -> int:
    """An upper bound used for progress totals before the shapes are known."""
    return -(-len(items) // batch_size) + 4


def evaluate_file_level(lm, items, cfg: EvalConfig, bar) -> dict:
    """The file-level section of one model's result: the native clean pass
    and one row per budget in ``cfg.file_levels`` (grey levels)."""
    classes = list(lm.classes)
    frames, y, errors = _frames(items)
    batches = _batches(frames, cfg.batch_size)
    progress = Progress(lambda f, m: bar.step(f"{lm.name}: {m}"))
    clean = _pass(lm, frames, y, batches, on_batch=lambda: bar.step(f"{lm.name}: file-level clean"))
    ok = clean.pred == y
    section = {"attack": ATTACK, "n": int(len(y)), "decode_errors": errors,
               "clean_accuracy": ci(lambda i: ok[i].mean(), len(y), cfg),
               "shapes": sorted({f"{f.shape[1]}x{f.shape[0]}" for f in frames}), "rows": []}
    for levels in cfg.file_levels:
        torch.manual_seed(cfg.seed)
        spec = cfg.spec("pgd", levels / GREY_LEVELS, resolution=NATIVE, eight_bit=True)
        adv = _pass(lm, frames, y, batches, spec, progress)
        row = attack_row(ATTACK, levels / GREY_LEVELS, y, clean, adv, classes, cfg, lm.gate, with_auprc_ci=True)
        row["grey_levels"] = int(levels)
        row["max_linf_grey_levels"] = float(np.round(adv.linf.max() * GREY_LEVELS, 3)) if len(y) else None
        row["attack_repr"] = spec.describe()
        section["rows"].append(row)
        bar.step(f"{lm.name}: {ATTACK} {levels} levels done")
    return section


def summary_rows(section: dict) -> list[dict]:
    return [summary_row(r) for r in section["rows"]]
