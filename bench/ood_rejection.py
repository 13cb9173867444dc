"""How often does the detection gate reject images that are not retinal OCT?

    python -m bench.ood_rejection --model models/default [--n 25] [--seed 0] [--data ../shared/data/oct]

Writes the seeded non-OCT set of :mod:`bench.ood_set` as 8-bit PNGs, and CT,
MR and X-ray (DX) slices of it as DICOM files with their modality, opens
each one the way the viewer does (``core.io.load_scan``, then
``core.analysis.Analyzer``), and counts, per kind, how many the loader
refused (a DICOM that says it is not OCT), how many core.oct_check refused
(``not OCT``), how many the gate rejected and how many were accepted (and so
would have been shown with a class). An image counts as rejected when any of
its frames is rejected. In the same run, with ``--data``, every real scan of
every folder is opened the same way and its refusals counted by reason (audit/
only measured: nothing is chosen here). Results:
``bench/results/ood-rejection-<model name>.json``.

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

from core.verdict import NO_CONTENT, NOT_OCT

from .ood_set import KINDS, make_ood, write_ood_set

RESULTS = Path(__file__).resolve().parent / "results"


DICOM_KINDS = {"ct": "CT", "mr": "MR", "xray": "DX"}


def write_dicom_kinds(directory: Path, n: int, seed: int, kinds=KINDS) -> dict[str, list[Path]]:
    """CT, MR and X-ray images of the set as DICOM slices that name their modality."""
    from .ood_kinds import write_dicom
    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for kind, modality in DICOM_KINDS.items():
        if kind not in kinds:
            continue
        out[f"{kind}_dicom"] = [write_dicom(directory / f"{kind}-{i:03d}.dcm", modality, modality,
                                            make_ood(kind, seed * 100_003 + i)) for i in range(n)]
    return out


def real_refusals(analyzer, data: Path, batch: int = 32) -> dict:
    """Real OCT scans of every folder of ``data``: how many are refused, by reason."""
    from bench.oct_check_fit import real_scans
    from core.io import load_scan
    out = {}
    for folder in sorted(p.name for p in Path(data).iterdir() if p.is_dir()):
        paths, counts, refused = real_scans(data, folder), Counter(), []
        for i in range(0, len(paths), batch):
            chunk = paths[i:i + batch]
            for p, res in zip(chunk, analyzer.analyze_many([load_scan(p) for p in chunk])):
                fr = res.frames[0]
                counts[fr.reason or fr.verdict] += 1
                if fr.reason in (NOT_OCT, NO_CONTENT):
                    refused.append(f"{p.name}: {fr.why or fr.reason}")
        n = len(paths)
        n_ref = counts[NOT_OCT] + counts[NO_CONTENT]
        out[folder] = {"n": n, "refused_not_oct": n_ref, "false_refusal_rate": n_ref / n if n else None,
                       "rejected_by_gate": counts["gate"], "accepted": counts["accepted"],
                       "refused_files": refused, "used_to_fit_the_check": folder in ("pool", "train", "val")}
    return out


def measure(model_dir: str | Path, n_per_kind: int = 25, seed: int = 0,
            kinds=KINDS, threads: int = 1, data: Path | None = None) -> dict:
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
        dicom_files = write_dicom_kinds(Path(tmp) / "dicom", n_per_kind, seed, kinds)
        for kind, paths in {**files, **dicom_files}.items():
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
                elif any(f.reason in (NOT_OCT, NO_CONTENT) for f in frames):
                    counts["refused_not_oct"] += 1
                else:
                    counts["rejected_by_gate"] += 1
                margins.extend(f.score - f.threshold for f in frames)
            n = len(paths)
            rejected = counts["rejected_by_loader"] + counts["refused_not_oct"] + counts["rejected_by_gate"]
            per_kind[kind] = {
                "n": n,
                "rejected_by_loader": counts["rejected_by_loader"],
                "refused_not_oct": counts["refused_not_oct"],
                "rejected_by_gate": counts["rejected_by_gate"],
                "accepted": counts["accepted"],
                "rejection_rate": rejected / n if n else None,
                "accepted_as": dict(sorted(labels.items())),
                # score - threshold: negative is rejected; how far in or out they are
                "margin_median": float(np.median(margins)) if margins else None,
                "margin_max": float(np.max(margins)) if margins else None,
                "loader_reasons": sorted(reasons),
            }
    dicom = {k: per_kind.pop(k) for k in dicom_files}
    total = sum(k["n"] for k in per_kind.values())
    rejected = sum(k["n"] - k["accepted"] for k in per_kind.values())
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
        "dicom": dicom,       # the same CT, MR and X-ray images as DICOM files naming their modality
        "real_oct": real_refusals(analyzer, data) if data else None,
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
    ap.add_argument("--data", type=Path, help="real OCT folders to count false refusals in, "
                    "e.g. ../shared/data/oct (every folder; audit/ is only measured)")
    ap.add_argument("--out", metavar="FILE.json",
                    help="default: bench/results/ood-rejection-<model name>.json")
    args = ap.parse_args(argv)
    result = measure(args.model, args.n, args.seed, tuple(args.kinds), args.threads, args.data)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in result["model"])
    out = Path(args.out) if args.out else RESULTS / f"ood-rejection-{safe}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"{result['model']}: rejected {result['overall']['rejected']} of "
          f"{result['overall']['n']} non-OCT images "
          f"({100 * result['overall']['rejection_rate']:.1f}%)")
    for kind, r in {**result["kinds"], **result["dicom"]}.items():
        print(f"  {kind:15s} {100 * r['rejection_rate']:5.1f}%  "
              f"(loader {r['rejected_by_loader']}, not OCT {r['refused_not_oct']}, "
              f"gate {r['rejected_by_gate']}, accepted {r['accepted']})")
    for folder, r in (result["real_oct"] or {}).items():
        print(f"  real {folder:6s} refused as not OCT {r['refused_not_oct']} of {r['n']}"
              f" (gate rejected {r['rejected_by_gate']})")
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main()
