"""Which class-evidence method the viewer uses: cost per scan on this CPU and
whether the map points at what the model uses, on real calib scans.

    nice -n 5 python -m bench.evidence_methods --per-class 10 --threads 1

For every method in ``core.evidence.METHODS``, on ``--per-class`` scans per
class of the split's **calib** part (never test or audit: this is a choice):

- cost: wall and process-CPU ms per scan of preprocessing plus ``explain_input``
  (``explain_frame`` less pasting the map onto the frame), median and p90;
- deletion: blank the top 10 % / 20 % of the map's area in the model input
  (set to the input's median) and measure the drop of the predicted class's
  probability, against the same area chosen at random (mean of 5 draws).
  The random area is the top of a smooth random field (noise on a coarse
  grid, upsampled), so it is as contiguous as a map's top area; scattered
  single pixels would be a weaker, unfair baseline on speckled scans;
- retina mass: share of the map's mass inside a retina mask (blurred input
  above its Otsu threshold), beside the mask's share of the area.

Writes the figures to bench/results/evidence-methods.json and a contact sheet
of 2 scans per class with each method's overlay to
docs/results/evidence/contact-sheet.png (docs/evidence.md reads both).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

FRACTIONS = (0.10, 0.20)
RANDOM_DRAWS = 5
RANDOM_GRID = 5          # the random field's coarse grid: Grad-CAM's own 5x5 at 160 px


def calib_items(data: str, split_path: str, per_class: int, seed: int = 0):
    from core.data import index_dataset, read_split, split_items

    split = read_split(split_path)
    calib = split_items(index_dataset(data), split)["calib"]
    rng = np.random.default_rng(seed)
    by_class: dict[int, list] = {}
    for it in calib:
        by_class.setdefault(it.label, []).append(it)
    out = []
    for label in sorted(by_class):
        group = sorted(by_class[label], key=lambda i: i.rel)
        pick = rng.choice(len(group), size=min(per_class, len(group)), replace=False)
        out += [group[i] for i in sorted(pick)]
    return out


def top_mask(score: np.ndarray, fraction: float) -> np.ndarray:
    """Boolean mask of the ``fraction`` of pixels with the highest score (ties broken by order)."""
    flat = score.ravel()
    k = max(1, int(round(fraction * flat.size)))
    idx = np.argpartition(-flat, k - 1)[:k]
    m = np.zeros(flat.size, dtype=bool)
    m[idx] = True
    return m.reshape(score.shape)


def random_field(rng, size: int) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    g = torch.from_numpy(rng.random((1, 1, RANDOM_GRID, RANDOM_GRID)).astype(np.float32))
    f = F.interpolate(g, size=(size, size), mode="bilinear", align_corners=False)[0, 0].numpy()
    return f + rng.random(f.shape).astype(np.float32) * 1e-6      # break ties


def retina_mask(grey: np.ndarray) -> np.ndarray:
    """The retina band: the largest part of the blurred input above its Otsu threshold, filled down
    each column (cysts and fluid are dark but inside the retina). The white
    wedges some scans carry from rotation are left out before the threshold,
    or Otsu would split padding from everything else."""
    from skimage.filters import gaussian, threshold_otsu

    pad = gaussian((grey >= 0.98).astype(np.float32), sigma=1) > 0.05
    g = np.where(pad, np.median(grey[~pad]) if (~pad).any() else 0.0, grey)
    b = gaussian(g, sigma=3)
    bright = (b > threshold_otsu(b[~pad])) & ~pad
    from skimage.measure import label
    parts = label(bright)
    if parts.max() > 1:                   # the retina is the largest bright part, not speckle
        bright = parts == np.bincount(parts.ravel())[1:].argmax() + 1
    rows = np.arange(bright.shape[0])[:, None]
    has = bright.any(0)
    top = np.where(has, bright.argmax(0), bright.shape[0])
    bottom = np.where(has, bright.shape[0] - 1 - bright[::-1].argmax(0), -1)
    return (rows >= top) & (rows <= bottom) & ~pad


def probs_of(model, xs):
    import torch

    with torch.no_grad():
        return torch.softmax(model(xs).float(), 1).numpy()


def measure_scan(lm, frame, methods, rng):
    """-> per-method dict of cost, deletion drops and retina mass for one frame."""
    import torch

    from core.evidence import explain_input
    from core.preprocess import to_tensor

    x = to_tensor(frame, lm.input_size, lm.model.in_channels)
    p0 = probs_of(lm.model, x)[0]
    target = int(p0.argmax())
    grey = x[0, 0].numpy()
    fill = float(np.median(grey))
    retina = retina_mask(grey)
    size = grey.shape[-1]
    fields = [random_field(rng, size) for _ in range(RANDOM_DRAWS)]
    out = {"target": lm.classes[target], "p": float(p0[target]), "methods": {}}
    for method in methods:
        # the viewer's path (explain_frame) less the paste onto the frame, so the
        # map comes back on the model input where the deletion happens
        t0, c0 = time.perf_counter(), time.process_time()
        xt = to_tensor(frame, lm.input_size, lm.model.in_channels)
        heat = explain_input(lm, xt, (size, size), method=method).heat
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        batch, names = [], []
        for frac in FRACTIONS:
            for name, score in [("map", heat)] + [(f"rand{k}", f) for k, f in enumerate(fields)]:
                m = torch.from_numpy(top_mask(score, frac))
                xi = x.clone()
                xi[:, :, m] = fill
                batch.append(xi)
                names.append((frac, name))
        p = probs_of(lm.model, torch.cat(batch))[:, target]
        drops = {}
        for frac in FRACTIONS:
            mine = [float(p0[target] - pi) for (f, n), pi in zip(names, p) if f == frac]
            drops[f"{int(frac * 100)}"] = {"map": mine[0], "random": float(np.mean(mine[1:]))}
        mass = float(heat.sum())
        out["methods"][method] = {
            "wall_ms": wall * 1e3, "cpu_ms": cpu * 1e3, "drop": drops,
            "retina_mass": float((heat * retina).sum() / mass) if mass > 0 else None,
            "retina_area": float(retina.mean())}
    return out


def summarise(rows, methods, classes):
    def pct(v, q):
        return float(np.percentile(v, q)) if v else None

    s = {}
    for method in methods:
        ms = [r["methods"][method] for r in rows]
        wall = [m["wall_ms"] for m in ms]
        cpu = [m["cpu_ms"] for m in ms]
        d = {"cost": {"wall_ms_median": statistics.median(wall), "wall_ms_p90": pct(wall, 90),
                      "cpu_ms_median": statistics.median(cpu), "cpu_ms_p90": pct(cpu, 90)}}
        for frac in ("10", "20"):
            mp = [m["drop"][frac]["map"] for m in ms]
            rd = [m["drop"][frac]["random"] for m in ms]
            per_class = {}
            for c in classes:
                sel = [m["drop"][frac] for r, m in zip(rows, ms) if r["label"] == c]
                if sel:
                    a, b = np.mean([v["map"] for v in sel]), np.mean([v["random"] for v in sel])
                    per_class[c] = {"map": float(a), "random": float(b),
                                    "ratio": float(a / b) if b > 0 else None}
            d[f"deletion_top{frac}"] = {
                "map_mean_drop": float(np.mean(mp)), "random_mean_drop": float(np.mean(rd)),
                "ratio": float(np.mean(mp) / np.mean(rd)) if np.mean(rd) > 0 else None,
                "map_beats_random_share": float(np.mean([a > b for a, b in zip(mp, rd)])),
                "per_class": per_class}
        rm = [m["retina_mass"] for m in ms if m["retina_mass"] is not None]
        d["retina"] = {"mass_inside_mean": float(np.mean(rm)) if rm else None,
                       "area_inside_mean": float(np.mean([m["retina_area"] for m in ms])),
                       "empty_maps": sum(m["retina_mass"] is None for m in ms)}
        s[method] = d
    return s


def contact_sheet(lm, items, methods, out: Path) -> None:
    """2 scans per class: the scan, then each method's overlay on the frame."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from core.evidence import METHODS, explain_frame
    from core.evidence_image import composite
    from core.io import load_scan

    fig, axes = plt.subplots(len(items), 1 + len(methods),
                             figsize=(3.2 * (1 + len(methods)), 2.3 * len(items)))
    for r, it in enumerate(items):
        frame = load_scan(it.path).frames[0]
        axes[r, 0].imshow(frame, cmap="gray", vmin=0, vmax=1)
        axes[r, 0].set_title(f"{Path(it.rel).name} (true {lm.classes[it.label]})", fontsize=7)
        for c, method in enumerate(methods, 1):
            ev = explain_frame(lm, frame, method=method)
            axes[r, c].imshow(composite(frame, ev.heat))
            axes[r, c].set_title(f"{METHODS[method].split(' (')[0]}: {ev.target} p={ev.probability:.2f}",
                                 fontsize=7)
    for a in axes.ravel():
        a.axis("off")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    from PIL import Image
    with Image.open(out) as im:        # 256 colours: half the bytes, for the repository
        im.convert("RGB").quantize(256).save(out, optimize=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.evidence_methods")
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--data", default="../shared/data/oct")
    ap.add_argument("--split", default="splits/oct-pool-holdout-seed0.json")
    ap.add_argument("--per-class", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="bench/results/evidence-methods.json")
    ap.add_argument("--sheet", default="docs/results/evidence/contact-sheet.png")
    args = ap.parse_args(argv)

    import torch

    from core.evidence import METHODS, explain_frame
    from core.io import load_scan
    from core.model_store import load_model_dir

    torch.set_num_threads(args.threads)
    lm = load_model_dir(args.model, device="cpu")
    items = calib_items(args.data, args.split, args.per_class)
    methods = list(METHODS)
    rng = np.random.default_rng(0)
    frame0 = load_scan(items[0].path).frames[0]
    for m in methods:
        explain_frame(lm, frame0, method=m)                 # warm-up: imports, private copy
    rows = []
    for i, it in enumerate(items):
        frame = load_scan(it.path).frames[0]
        r = measure_scan(lm, frame, methods, rng)
        r.update(rel=it.rel, label=lm.classes[it.label], shape=list(frame.shape))
        rows.append(r)
        print(f"{i + 1}/{len(items)} {it.rel}: " + ", ".join(
            f"{m} {r['methods'][m]['wall_ms']:.0f} ms drop10 {r['methods'][m]['drop']['10']['map']:+.3f}"
            f"/{r['methods'][m]['drop']['10']['random']:+.3f}" for m in methods), flush=True)
    result = {"model": lm.name, "input_size": lm.input_size, "torch_threads": args.threads,
              "split": args.split, "part": "calib", "per_class": args.per_class,
              "n_scans": len(rows), "fractions": list(FRACTIONS), "random_draws": RANDOM_DRAWS,
              "random_grid": RANDOM_GRID, "fill": "median of the model input",
              "retina_mask": "gaussian sigma 3 on the model input (rotation padding left out), above its Otsu threshold, filled down each column",
              "cpu": _cpu_name(), "summary": summarise(rows, methods, lm.classes), "scans": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps(result["summary"], indent=1))
    if args.sheet:
        by_class: dict[int, list] = {}
        for it in items:
            by_class.setdefault(it.label, []).append(it)
        contact_sheet(lm, [it for c in sorted(by_class) for it in by_class[c][:2]], methods,
                      Path(args.sheet))
        print(f"contact sheet: {args.sheet}")
    return 0


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    sys.exit(main())
