"""How often does the detection gate reject images that are not retinal OCT?

    python -m bench.ood_rejection --model models/default [--n 25] [--seed 0]

Writes the seeded non-OCT set of :mod:`bench.ood_set` as 8-bit PNGs, opens
each one the way the viewer does (``core.io.load_scan``, then
``core.analysis.Analyzer``), and counts, per kind, how many the loader
refused, how many the gate rejected and how many were accepted (and so would
have been shown with a class). An image counts as rejected when any of its
frames is rejected. Results: ``bench/results/ood-rejection-<model name>.json``.

The rate is only meaningful for a trained model with a calibrated gate; on a
random-weights test model it measures nothing.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .ood_set import KINDS, write_ood_set

RESULTS = Path(__file__).resolve().parent / "results"


def measure(model_dir: str | Path, n_per_kind: int = 25, seed: int = 0,
            kinds=KINDS, threads: int = 1) -> dict:
    import torch

    from core.analysis import Analyzer
    from core.errors import ScanError
    from core.io import load_scan
    from core.model_store import load_model_dir

    torch.set_num_threads(threads)
    loaded = load_model_dir(model_dir, device="cpu")
    if loaded.gate is None:
        raise SystemExit(f"{model_dir}: this model has no detection gate; nothing to measure")
    analyzer = Analyzer(loaded)
    t0 = time.perf_counter()
    per_kind = {}
    with tempfile.TemporaryDirectory(prefix="octguard-ood-") as tmp:
        files = write_ood_set(tmp, n_per_kind, seed, kinds)
        for kind, paths in files.items():
            counts = Counter()
            labels = Counter()
            reasons = set()
            margins = []
            for p in paths:
                try:
                    scan = load_scan(p)
                except ScanError as exc:
                    counts["rejected_by_loader"] += 1
                    reasons.add(exc.reason)
                    continue
                frames = analyzer.analyze(scan).frames
                if all(f.accepted for f in frames):
                    counts["accepted"] += 1
                    labels.update(f.label for f in frames)
                else:
                    counts["rejected_by_gate"] += 1
                margins.extend(f.score - f.threshold for f in frames)
            n = len(paths)
            rejected = counts["rejected_by_loader"] + counts["rejected_by_gate"]
            per_kind[kind] = {
                "n": n,
                "rejected_by_loader": counts["rejected_by_loader"],
                "rejected_by_gate": counts["rejected_by_gate"],
                "accepted": counts["accepted"],
                "rejection_rate": rejected / n if n else None,
                "accepted_as": dict(sorted(labels.items())),
                # score - threshold: negative is rejected; how far in or out they are
                "margin_median": float(np.median(margins)) if margins else None,
                "margin_max": float(np.max(margins)) if margins else None,
                "loader_reasons": sorted(reasons),
            }
    total = sum(k["n"] for k in per_kind.values())
    rejected = sum(k["rejected_by_loader"] + k["rejected_by_gate"] for k in per_kind.values())
    return {
        "benchmark": "ood-rejection",
        "model": loaded.name,
        "model_dir": str(Path(model_dir).resolve()),
        "weights_sha256": loaded.weights_sha256,
        "input_size": loaded.input_size,
        "provenance": loaded.provenance,
        "n_per_kind": n_per_kind,
        "seed": seed,
        "image_size": [496, 512],
        "kinds": per_kind,
        "overall": {"n": total, "rejected": rejected,
                    "rejection_rate": rejected / total if total else None,
                    "worst_kind": min(per_kind, key=lambda k: per_kind[k]["rejection_rate"])
                    if per_kind else None},
        "seconds": round(time.perf_counter() - t0, 1),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "python -m bench.ood_rejection " + " ".join(sys.argv[1:]),
    }


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(prog="python -m bench.ood_rejection", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, metavar="DIR", help="model directory")
    ap.add_argument("--n", type=int, default=25, help="images per kind (default 25)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--out", metavar="FILE.json",
                    help="default: bench/results/ood-rejection-<model name>.json")
    args = ap.parse_args(argv)
    result = measure(args.model, args.n, args.seed, tuple(args.kinds), args.threads)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in result["model"])
    out = Path(args.out) if args.out else RESULTS / f"ood-rejection-{safe}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"{result['model']}: rejected {result['overall']['rejected']} of "
          f"{result['overall']['n']} non-OCT images "
          f"({100 * result['overall']['rejection_rate']:.1f}%)")
    for kind, r in result["kinds"].items():
        print(f"  {kind:15s} {100 * r['rejection_rate']:5.1f}%  "
              f"(loader {r['rejected_by_loader']}, gate {r['rejected_by_gate']}, "
              f"accepted {r['accepted']})")
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main()
