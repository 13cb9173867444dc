"""Fit the bounds of core.oct_check on real OCT scans and say how many real
scans each folder loses to them.

    python -m bench.oct_check_fit [--data ../shared/data/oct] [--size 160]

The bounds are fitted on pool/, train/ and val/ only; audit/ is only
measured (a report, not a choice). Two honest estimates of the false-refusal
rate go with it, since on the fitting scans it is 0 by construction: the
audit folder, and each Kermany release refused under bounds fitted on the
other (train/ is the train release; pool/ and val/ the test release).
Writes bench/results/oct-check-fit.json; copy its ``bounds`` into
core.oct_check.NEAR and FAR when they change.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from core import oct_check
from core.io.formats import IMAGE_SUFFIXES as SUFFIXES

RESULTS = Path(__file__).resolve().parent / "results"
FIT_FOLDERS = ("pool", "train", "val")


def real_scans(data: Path, folder: str) -> list[Path]:
    return sorted(p for p in (Path(data) / folder).rglob("*") if p.suffix.lower() in SUFFIXES)


def folder_statistics(paths: list[Path], size: int) -> dict[str, np.ndarray]:
    """The check's statistics of each scan's first frame, as the network sees it."""
    from core.io import load_scan
    from core.preprocess import to_tensor

    parts: dict[str, list] = {}
    for p in paths:
        grey = to_tensor(load_scan(p).frames[:1], size, 1)[:, 0].numpy()
        for k, v in oct_check.statistics(grey).items():
            parts.setdefault(k, []).append(v)
    return {k: np.concatenate(v) for k, v in parts.items()}


def bounds_from(stats) -> tuple[dict, dict]:
    return (oct_check.fit_bounds(stats, oct_check.NEAR_MARGIN),
            oct_check.fit_bounds(stats, oct_check.FAR_MARGIN))


def refused(stats: dict[str, np.ndarray], bounds: tuple[dict, dict]) -> np.ndarray:
    """core.oct_check.judge on every image, under (near, far) bounds."""
    near, far = bounds
    n = len(stats["background"])
    return np.array([bool(oct_check.judge({k: float(v[i]) for k, v in stats.items()}, near, far))
                     for i in range(n)], dtype=bool)


def _join(parts):
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def measure(data: Path, size: int) -> dict:
    folders = sorted(p.name for p in Path(data).iterdir() if p.is_dir())
    stats, files = {}, {}
    for f in folders:
        files[f] = real_scans(data, f)
        stats[f] = folder_statistics(files[f], size)
    fit_on = [f for f in FIT_FOLDERS if f in stats]
    bounds = bounds_from(_join([stats[f] for f in fit_on]))
    per_folder = {}
    for f in folders:
        bad = refused(stats[f], bounds)
        per_folder[f] = {"n": int(len(bad)), "refused": int(bad.sum()), "fitted_on": f in fit_on,
                         "refused_files": [files[f][i].name for i in np.flatnonzero(bad)]}
    cross = {}
    releases = {"train": ["train"], "pool+val": [f for f in ("pool", "val") if f in stats]}
    for name, held in releases.items():
        rest = [f for f in fit_on if f not in held]
        if not rest or not all(h in stats for h in held):
            continue
        b = bounds_from(_join([stats[f] for f in rest]))
        bad = refused(_join([stats[f] for f in held]), b)
        cross[name] = {"fitted_on": rest, "n": int(len(bad)), "refused": int(bad.sum())}
    return {
        "benchmark": "oct-check-fit", "data": str(Path(data).resolve()), "input_size": size,
        "check_size": oct_check.CHECK_SIZE, "fitted_on": fit_on,
        "margins": {"near": oct_check.NEAR_MARGIN, "far": oct_check.FAR_MARGIN},
        "bounds": {"near": bounds[0], "far": bounds[1]},
        "statistics_range": {k: [float(np.min(v)), float(np.max(v))]
                             for k, v in _join([stats[f] for f in fit_on]).items()},
        "false_refusal_per_folder": per_folder,
        "false_refusal_other_release": cross,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "python -m bench.oct_check_fit " + " ".join(sys.argv[1:]),
    }


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(prog="python -m bench.oct_check_fit", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/oct", help="real OCT folders (default ../shared/data/oct)")
    ap.add_argument("--size", type=int, default=160, help="model input size the check sees (default 160, "
                    "the shipped model's)")
    ap.add_argument("--out", metavar="FILE.json", help="default: bench/results/oct-check-fit.json")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    result = measure(Path(args.data), args.size)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    out = Path(args.out) if args.out else RESULTS / "oct-check-fit.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print("bounds:", json.dumps(result["bounds"]))
    for f, r in result["false_refusal_per_folder"].items():
        print(f"  {f:6s} refused {r['refused']} of {r['n']}" + ("" if r["fitted_on"] else "  (not fitted on)"))
    for name, r in result["false_refusal_other_release"].items():
        print(f"  {name} under bounds fitted on {'+'.join(r['fitted_on'])}: refused {r['refused']} of {r['n']}")
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main()
