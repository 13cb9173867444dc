"""The benchmark suite: run the cases, write JSON + Markdown, print the table.

Every figure is the median of repeated runs after warm-up, with its spread;
where a figure has a reference (a bare forward, torchattacks, the bare
training passes) the reference is measured in the same run, on the same
machine and inputs, and the ratio ours / reference is reported.
"""
from __future__ import annotations

import cProfile
import io
import json
import pstats
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

import torch

from core.classifier import default_device

from . import cases_attacks, cases_scans, cases_training, cases_viewer
from .context import Context
from .fixtures import default_or_untrained
from .machine import describe, is_busy, load_average, machine_name

RESULTS = Path(__file__).resolve().parent / "results"

CASES = {
    "load": cases_scans.load_preprocess,
    "analyse": cases_scans.analyse_one,
    "folder": cases_scans.folder,
    "gate": cases_scans.gate_score,
    "attacks": cases_attacks.attacks,
    "training": cases_training.ssat_training,
    "paper_recipe": cases_training.paper_recipe,
    "viewer": cases_viewer.viewer,
}


def run_suite(only: list[str] | None = None, skip: list[str] | None = None, quick: bool = False,
              device: str | None = None, out_dir: Path = RESULTS, name: str | None = None,
              repeat: int | None = None, profile: bool = False,
              log=print, notes: list[str] | None = None) -> tuple[dict, Path, Path]:
    dev = torch.device(device) if device else default_device()
    selected = [c for c in CASES if (not only or c in only) and c not in (skip or [])]
    unknown = set(only or []) - set(CASES)
    if unknown:
        raise ValueError(f"unknown case(s) {sorted(unknown)}; choose from {list(CASES)}")
    info = describe(dev)
    started = datetime.now(timezone.utc)
    rows, errors = [], {}
    with tempfile.TemporaryDirectory(prefix="octguard-bench-") as tmp:
        tmp = Path(tmp)
        ctx = Context(device=dev, tmp=tmp, quick=quick)
        for text in notes or []:
            ctx.note(text)
        if quick:
            ctx.repeat, ctx.warmup, ctx.scan_hw, ctx.attack_size, ctx.train_size = 3, 1, (64, 64), 32, 32
        if repeat:
            ctx.repeat = repeat
        if dev.type == "cuda" and not quick:
            ctx.train_steps, ctx.repeat = 20, max(ctx.repeat, 20)
        ctx.model_dir, ctx.model_note = default_or_untrained(tmp, 32 if quick else None)
        ctx.attack_model_dir, ctx.attack_model_note = default_or_untrained(tmp, ctx.attack_size)
        if not quick:
            from core.model_store import load_model_dir
            ctx.train_size = load_model_dir(ctx.model_dir, device="cpu").input_size
        for case in selected:
            log(f"[bench] {case} ...", flush=True)
            t0 = time.perf_counter()
            try:
                got = CASES[case](ctx)
            except Exception as exc:  # one broken case must not lose the others
                errors[case] = f"{type(exc).__name__}: {exc}"
                log(traceback.format_exc())
                continue
            rows.extend(got)
            log(f"[bench] {case} done in {time.perf_counter() - t0:.1f} s", flush=True)
        worst = worst_row(rows)
        prof = None
        if profile and worst is not None:
            log(f"[bench] profiling {worst['case']} (worst ratio: {worst['name']}) ...", flush=True)
            prof = profile_case(ctx, worst)
    info["load_average_end"] = load_average()
    result = {
        "format": 1,
        "machine_name": name or machine_name(info),
        "started": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "finished": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "quick": quick,
        "machine": info,
        "busy": is_busy(info),
        "settings": {"repeat": ctx.repeat, "warmup": ctx.warmup, "scan": list(ctx.scan_hw),
                     "attack_size": ctx.attack_size, "train_size": ctx.train_size,
                     "train_steps_per_epoch": ctx.train_steps, "cases": selected},
        "models": {"default_size": ctx.model_note, "attacks": ctx.attack_model_note},
        "rows": rows,
        "worst": None if worst is None else {"case": worst["case"], "name": worst["name"],
                                             "ratio": worst["ratio"], "target": worst["target"]},
        "profile": None if prof is None else prof["top"],
        "errors": errors,
        "notes": ctx.notes,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{result['machine_name']}-{started.strftime('%Y-%m-%d')}" + ("-quick" if quick else "")
    json_path, md_path = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    json_path.write_text(json.dumps(result, indent=1) + "\n")
    md_path.write_text(markdown(result))
    if prof is not None:
        (out_dir / f"{stem}-profile.txt").write_text(prof["text"])
    return result, json_path, md_path


def shortfall(r: dict) -> float | None:
    """How far a ratio is from its target (> 1: missed by that factor)."""
    if r["ratio"] is None or r["target"] is None:
        return None
    if r.get("target_margin") is not None:
        return r["value"]["median"] / (r["reference"]["median"] + r["target_margin"])
    target = float(r["target"].split()[-1])
    return target / r["ratio"] if r["higher_is_better"] else r["ratio"] / target


def worst_row(rows: list[dict]) -> dict | None:
    scored = [(shortfall(r), i) for i, r in enumerate(rows) if shortfall(r) is not None]
    return rows[max(scored)[1]] if scored else None


def profile_case(ctx: Context, worst: dict, top: int = 25) -> dict:
    """Run the worst row's case again under cProfile: the functions it spends
    its time in, by own time and by cumulative time."""
    prof = cProfile.Profile()
    prof.runcall(CASES[worst["case"]], ctx)
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    buf.write(f"profile of case {worst['case']!r}, worst ratio {worst['ratio']:.2f} "
              f"(target {worst['target']}): {worst['name']}\n")
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:10]
    total = sum(v[2] for v in stats.stats.values()) or 1.0
    top_rows = [{"function": f"{Path(f).name}:{line}({fn})", "own_s": v[2], "cumulative_s": v[3],
                 "share_of_own_time": v[2] / total} for (f, line, fn), v in rows]
    return {"text": buf.getvalue(), "top": top_rows}


def _num(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def _stat(s: dict | None, unit: str) -> str:
    if not s:
        return "—"
    return f"{_num(s['median'])} {unit} [{_num(s['p25'])}–{_num(s['p75'])}]"


def markdown(result: dict) -> str:
    m = result["machine"]
    dev = m["gpu"] or "CPU"
    lines = [
        f"### OCTGuard benchmarks: {result['machine_name']} ({result['started'][:10]})",
        "",
        f"Machine: {m['cpu']}, {m['usable_cores']} cores, {m['memory_gib']} GiB; device {dev}; "
        f"torch {m['torch']} ({m['torch_threads']} threads), torchattacks {m['torchattacks']}, "
        f"Python {m['python']}. Load average at start {m['load_average_start']}, "
        f"at end {m['load_average_end']}.",
        "",
    ]
    if result["busy"]:
        lines += [f"**The machine was busy** (load average above its {m['usable_cores']} cores): "
                  "absolute figures are pessimistic; the ratios compare runs made under the same "
                  "load, back to back, and are the figures to judge.", ""]
    if result["quick"]:
        lines += ["*Quick smoke run: tiny images and models, not representative.*", ""]
    lines += [f"Models: {result['models']['default_size']}; attacks: {result['models']['attacks']}.",
              "",
              "| figure | ours | reference | ratio | target |",
              "|---|---|---|---|---|"]
    for r in result["rows"]:
        ref = f"{r['reference_name']}: {_stat(r['reference'], r['unit'])}" if r["reference"] else "—"
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "—"
        target = "—"
        if r["target"]:
            target = f"{r['target']} {'met' if r['met'] else '**missed**'}"
        name = r["name"]
        if "identical" in r:
            name += f" (same output as torchattacks: {'yes' if r['identical'] else 'no, max diff %.2g' % r['max_abs_difference']})"
        if "ms_per_step_ours" in r:
            name += (f" ({r['forward_passes_ours']:.0f} vs {r['forward_passes_torchattacks']:.0f} steps; "
                     f"{r['ms_per_step_ours']:.1f} vs {r['ms_per_step_torchattacks']:.1f} ms/step)")
        if "bare_contiguous_scans_per_s" in r:
            ref += (f" (contiguous {r['bare_contiguous_scans_per_s']:.1f}, channels_last "
                    f"{r['bare_channels_last_scans_per_s']:.1f} scans/s)")
        if "ratio_to_one_forward" in r:
            ratio += f" ({r['ratio_to_one_forward']:.2f} of one forward)"
        if "train_pass_only_labeled_images_per_s" in r:
            ref += f" (training pass alone: {r['train_pass_only_labeled_images_per_s']:.1f})"
        lines.append(f"| {name} | {_stat(r['value'], r['unit'])} | {ref} | {ratio} | {target} |")
    lines += ["", "Medians of repeated runs after warm-up; brackets give the interquartile range. "
              "Ratio = ours / reference, both measured in the same run.", ""]
    if result.get("profile"):
        w = result["worst"]
        lines += [f"Worst ratio: {w['name']} ({w['ratio']:.2f}, target {w['target']}). "
                  "Where its case spends its own time (cProfile, rerun after the timed runs):", ""]
        for p in result["profile"][:8]:
            lines.append(f"- `{p['function']}`: {p['own_s']:.2f} s own "
                         f"({100 * p['share_of_own_time']:.0f}%)")
        lines.append("")
    for note in result["notes"]:
        lines.append(f"- {note}")
    for case, err in result["errors"].items():
        lines.append(f"- case `{case}` failed: {err}")
    return "\n".join(lines).rstrip() + "\n"
