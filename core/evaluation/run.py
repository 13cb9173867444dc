"""``octguard evaluate``: run the paper's protocol on one or more models and
write report.json (every number), PNG figures and report.md.

    octguard evaluate --models models/nt models/ssat --data ../shared/data/oct \
        --split splits/oct-seed0.json --out docs/results/eval

The test part of the split is evaluated; ``--audit`` evaluates the held-out
``audit/`` rows instead, once, for final figures (never to tune anything).
"""
from __future__ import annotations

import json
import os
import platform
import random
import sys
import time
from pathlib import Path

import torch

from ..batches import decode_items
from ..cli_support import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, err
from ..classifier import default_device
from ..data import Item, index_dataset, read_split, split_items
from ..errors import ModelError, ScanError
from ..gate import describe_gate
from ..hashing import sha256_file
from ..progress import Progress
from ..progress_bar import ProgressBar
from .config import EvalConfig, config_from_args
from .protocol import (attack_row, clean_as_point, clean_section, figure4_point, run_pass,
                       summary_row)

AUDIT_LABEL = "final audit figures, evaluated once"
TEST_LABEL = "split test part"


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return default_device()
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda asked for, but CUDA is not available here")
    return device


def evaluation_items(data: str, split: dict, audit: bool) -> list[Item]:
    """The split's test part, or with ``audit`` the held-out audit/ rows
    (which never appear in any split part)."""
    if not audit:
        return split_items(index_dataset(data), split)["test"]
    items = [i for i in index_dataset(data, include_held_out=True) if Path(i.rel).parts[0] == "audit"]
    used = {r for rels in split["parts"].values() for r in rels}
    overlap = [i.rel for i in items if i.rel in used]
    if overlap:  # read_split/split_items forbid this; checked again because it matters
        raise ValueError(f"audit rows appear in the split, e.g. {overlap[0]}")
    if not items:
        raise FileNotFoundError(f"{data}: no audit/ rows to evaluate")
    return items


def limit_items(items: list[Item], limit: int | None, seed: int) -> list[Item]:
    """At most ``limit`` images per class, a seeded draw; order by path."""
    if limit is None:
        return sorted(items, key=lambda i: i.rel)
    if limit < 1:
        raise ValueError("--limit must be at least 1")
    rng = random.Random(seed)
    out = []
    for label in sorted({i.label for i in items}):
        group = sorted((i for i in items if i.label == label), key=lambda i: i.rel)
        out += rng.sample(group, min(limit, len(group)))
    return sorted(out, key=lambda i: i.rel)


def machine_info(device: torch.device) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "cpu_cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(), "python": platform.python_version(),
            "torch": torch.__version__, "device": str(device), "gpu": None}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def evaluate_model(lm, images_u8: torch.Tensor, labels: torch.Tensor, cfg: EvalConfig,
                   bar: ProgressBar, items: list[Item] | None = None) -> tuple[dict, dict | None]:
    """Every section for one model; returns (result, t-SNE inputs or None).
    ``items`` (the scans' files) are needed for the file-level rows."""
    y = labels.numpy()
    classes = list(lm.classes)
    n_batches = -(-len(y) // cfg.batch_size)
    progress = Progress(lambda f, m: bar.step(f"{lm.name}: {m}"))
    clean = run_pass(lm, images_u8, labels, cfg.batch_size, keep_features=cfg.tsne,
                     on_batch=lambda: bar.step(f"{lm.name}: clean"))
    result = {"clean": clean_section(y, clean, classes, cfg, lm.gate), "figure4": {}, "notes": []}
    fig4 = {a: [] for a in cfg.attacks if a != "adaptive"}
    if "pgd" in fig4 and 0.0 in cfg.eps:
        fig4["pgd"].append(clean_as_point("pgd", y, clean, cfg))
    rows, tsne_adv = {}, None
    for attack, budget in cfg.runs():
        expected_end = bar.done + n_batches * cfg.steps_of(attack)
        if attack == "adaptive" and lm.gate is None:
            result["notes"].append("no gate in this model directory: adaptive attack and gate figures skipped")
            bar.step("", n=expected_end - bar.done)
            continue
        torch.manual_seed(cfg.seed)  # same random starts whatever ran before
        atk = cfg.build(attack, budget, lm.model, lm.gate)
        keep = cfg.tsne and attack == "pgd" and cfg.table_eps and budget == cfg.table_eps[0]
        adv = run_pass(lm, images_u8, labels, cfg.batch_size, attack=atk, keep_features=keep,
                       progress=progress)
        bar.step(f"{lm.name}: {attack} {budget:g} done", n=max(0, expected_end - bar.done))
        in_table = attack in ("pgd", "adaptive") and budget in cfg.table_eps
        row = attack_row(attack, budget, y, clean, adv, classes, cfg, lm.gate, with_auprc_ci=in_table)
        row["attack_repr"] = repr(atk)
        result.setdefault("all_attacks", []).append(summary_row(row))
        if attack == "cw" or (attack in fig4 and budget in cfg.eps):
            fig4[attack].append(figure4_point(row))
        if in_table:
            rows[(attack, budget)] = row
        if keep:
            tsne_adv = {"attack": "pgd", "eps": budget, "adv": adv.features}
    if cfg.file_levels and items:
        from .file_level import evaluate_file_level, summary_rows
        result["file_level"] = evaluate_file_level(lm, items, cfg, bar)
        result.setdefault("all_attacks", []).extend(summary_rows(result["file_level"]))
    for a, pts in fig4.items():
        pts.sort(key=lambda p: p.get("c", p.get("eps", 0.0)))
    result["figure4"] = fig4
    t1 = cfg.table_eps[0] if cfg.table_eps else None
    result["table1"] = rows.get(("pgd", t1))
    result["table2"] = [rows[("pgd", e)] for e in cfg.table_eps if ("pgd", e) in rows]
    result["adaptive"] = [rows[("adaptive", e)] for e in cfg.table_eps if ("adaptive", e) in rows]
    tsne_in = None
    if tsne_adv is not None:
        tsne_in = {"clean": clean.features, "adv": tsne_adv["adv"], "y": y, "classes": classes,
                   "attack": tsne_adv["attack"], "eps": tsne_adv["eps"]}
    return result, tsne_in


def main(args) -> int:
    t_start = time.perf_counter()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    from ..model_store import load_model_dir
    try:
        cfg = config_from_args(args)
        if cfg.batch_size < 1 or cfg.pgd_steps < 1 or cfg.cw_steps < 1 or cfg.n_boot < 1:
            raise ValueError("--batch-size, --pgd-steps, --cw-steps and --n-boot must be at least 1")
        device = pick_device(args.device)
        split_path = Path(args.split)
        split = read_split(split_path)
        items = limit_items(evaluation_items(args.data, split, args.audit), args.limit, args.seed)
        models = [load_model_dir(d, device=device) for d in args.models]
    except (ModelError, ValueError, FileNotFoundError, OSError, KeyError, RuntimeError) as exc:
        err(str(exc), "evaluate")  # RuntimeError: torch.device("nonsense")
        return EXIT_USAGE
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    quiet = getattr(args, "quiet", False)
    n_batches = -(-len(items) // cfg.batch_size)
    per_model = n_batches * (1 + sum(cfg.steps_of(a) for a, _ in cfg.runs()))
    if cfg.file_levels:
        from .file_level import n_batches as file_batches
        per_model += file_batches(items, cfg.batch_size) * (1 + cfg.pgd_steps * len(cfg.file_levels)) \
            + len(cfg.file_levels)
    bar = ProgressBar(per_model * len(models), enabled=not quiet)
    bar.note(f"evaluating {len(models)} model(s) on {len(items)} images "
             f"({AUDIT_LABEL if args.audit else TEST_LABEL}), device {device}")
    decoded: dict[int, tuple] = {}
    decode_errors: list[str] = []
    results, tsne_inputs = [], []
    try:
        for lm in models:
            size = lm.input_size
            if size not in decoded:
                bar.note(f"decoding {len(items)} images at {size} px")
                decoded[size] = decode_items(items, size, on_error=lambda e: decode_errors.append(str(e)))
            images_u8, labels = decoded[size]
            t0 = time.perf_counter()
            res, tsne_in = evaluate_model(lm, images_u8, labels, cfg, bar, items)
            res["seconds"] = time.perf_counter() - t0
            res["model"] = _model_info(lm, split_path)
            if res["model"]["warning"]:
                res["notes"].append(res["model"]["warning"])
            results.append(res)
            tsne_inputs.append(tsne_in)
    except KeyboardInterrupt:
        bar.close()
        err("interrupted; no report written", "evaluate")
        return EXIT_INTERRUPTED
    except (ScanError, ValueError, RuntimeError) as exc:
        bar.close()
        err(f"evaluation failed: {exc}", "evaluate")
        return EXIT_USAGE
    bar.close()
    bar.note("writing the report" + (" (t-SNE first)" if cfg.tsne else ""))

    from .paper import PAPER
    from .report import write_outputs
    counts = {}
    for it in items:
        counts[models[0].classes[it.label]] = counts.get(models[0].classes[it.label], 0) + 1
    report = {
        "format": 1,
        "evaluated_on": AUDIT_LABEL if args.audit else TEST_LABEL,
        "audit": bool(args.audit),
        "started": started,
        "data": {"source": str(args.data), "n_images": len(items), "per_class": counts,
                 "limit_per_class": args.limit, "decode_errors": decode_errors,
                 "part": "audit/ (held out)" if args.audit else "test"},
        "split": {"path": str(split_path), "sha256": sha256_file(split_path), "seed": split.get("seed"),
                  "counts": split.get("counts")},
        "seeds": {"seed": cfg.seed, "uses": "torch.manual_seed before each attack run (PGD random starts), "
                                             "--limit draw, bootstrap resampling, t-SNE"},
        "settings": {
            "attacks": cfg.attacks, "eps": cfg.eps, "table_eps": cfg.table_eps, "pgd_steps": cfg.pgd_steps,
            "pgd_alpha": "eps / 4", "pgd_random_start": True, "cw_c": cfg.cw_c, "cw_steps": cfg.cw_steps,
            "cw_lr": cfg.cw_lr, "cw_kappa": 0.0, "gate_weight": cfg.gate_weight,
            "risk_weights": {"r_cln_prd": cfg.r_cln_prd, "r_cln_uad": cfg.r_cln_uad, "r_adv_prd": cfg.r_adv_prd},
            "n_boot": cfg.n_boot, "batch_size": cfg.batch_size, "tsne": cfg.tsne,
            "file_pgd_levels": cfg.file_levels,
            "adversarial_images": "float32, not rounded to 8 bits; the grey image perturbed at the model's "
                                  "input size and replicated to its C channels inside the gradient "
                                  "(OCTClassifier.normalise)",
        },
        "machine": machine_info(device),
        "paper": PAPER,
        "models": results,
    }
    try:
        write_outputs(report, tsne_inputs, out, seed=cfg.seed, wall_start=t_start)
    except OSError as exc:
        err(f"cannot write the report: {exc}", "evaluate")
        return EXIT_USAGE
    if not quiet:
        print(f"wrote {out / 'report.md'} and {out / 'report.json'}", file=sys.stderr)
    return EXIT_OK


def _model_info(lm, split_path: Path) -> dict:
    meta = lm.meta
    split_sha = sha256_file(split_path)
    trained_sha = meta.get("split_sha256")
    warning = None
    if trained_sha and trained_sha != split_sha:
        warning = (f"{lm.name} was trained with a different split file (sha256 {trained_sha[:12]}...): "
                   "its test figures may include images it was trained on")
    return {"name": lm.name, "directory": str(lm.directory), "method": meta.get("method"),
            "input_size": lm.input_size, "in_channels": lm.model.in_channels,
            "weights_sha256": lm.weights_sha256, "trained_on": meta.get("trained_on"),
            "trained_split_sha256": trained_sha, "selected_epoch": meta.get("selected_epoch"),
            "has_gate": lm.gate is not None,
            "gate": None if lm.gate is None else {
                **json.loads((lm.directory / "gate.json").read_text()),
                "summary": describe_gate(json.loads((lm.directory / "gate.json").read_text()))},
            "warning": warning}
