"""Pick the real sample scans shipped in resources/samples/ and write their
attribution JSON (run once; the result is committed).

    python scripts/pick_samples.py --data ../shared/data/oct \
        --split splits/oct-pool-holdout-seed0.json --also-test-in splits/oct-patient-seed0.json

The rule does not look at any model's answer: per class, the smallest files
(they keep the repository small) from the split's test part, one per patient,
no patient twice in the whole set (a Kermany patient id can carry several
classes). ``--also-test-in`` keeps only scans that are test scans of that
split too, so the samples stay unseen by the models trained on either split.
The original JPEG bytes are copied unchanged.
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import CLASSES  # noqa: E402
from core.hashing import sha256_file  # noqa: E402
from core.samples import ATTRIBUTION, SAMPLES_JSON  # noqa: E402


def pick(rows: list[dict], test: set[str], per_class: int) -> list[dict]:
    chosen, patients = [], set()
    for cls in CLASSES:
        cands = sorted((r for r in rows if r["file"] in test and r["class"] == cls),
                       key=lambda r: (int(r["bytes"]), r["file"]))
        n = 0
        for r in cands:
            if n == per_class:
                break
            if r["patient_id"] not in patients:
                chosen.append(r)
                patients.add(r["patient_id"])
                n += 1
        if n < per_class:
            raise SystemExit(f"only {n} eligible {cls} scans")
    return chosen


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="the real OCT folder with MANIFEST.csv")
    ap.add_argument("--split", type=Path, required=True, help="split whose test part the samples come from")
    ap.add_argument("--also-test-in", type=Path, action="append", default=[],
                    help="another split the samples must be test scans of (repeatable)")
    ap.add_argument("--per-class", type=int, default=2, help="samples per class")
    ap.add_argument("--out", type=Path, default=ROOT / "resources" / "samples", help="output folder")
    args = ap.parse_args()

    with open(args.data / "MANIFEST.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    test = set(json.loads(args.split.read_text())["parts"]["test"])
    for other in args.also_test_in:
        test &= set(json.loads(other.read_text())["parts"]["test"])
    chosen = pick(rows, test, args.per_class)

    args.out.mkdir(parents=True, exist_ok=True)
    files = []
    for r in chosen:
        name = Path(r["file"]).name
        shutil.copyfile(args.data / r["file"], args.out / name)
        if sha256_file(args.out / name) != r["sha256"]:
            raise SystemExit(f"{name}: copied bytes do not match the MANIFEST sha256")
        files.append({"file": name, "class": r["class"], "patient_id": r["patient_id"],
                      "sha256": r["sha256"], "bytes": int(r["bytes"]),
                      "width": int(r["width"]), "height": int(r["height"]),
                      "manifest_file": r["file"], "dataset": r["dataset"], "license": r["license"],
                      "source_repo": r["source_repo"], "source_commit": r["source_commit"],
                      "source_path": r["source_path"]})
    doc = {"attribution": ATTRIBUTION,
           "selection": (f"{args.per_class} per class from the test part of {args.split.as_posix()}"
                         + "".join(f", also test scans of {o.as_posix()}" for o in args.also_test_in)
                         + "; per class the smallest files, one per patient, no patient twice; "
                           "chosen without looking at any model's answer (scripts/pick_samples.py)"),
           "files": files}
    (args.out / SAMPLES_JSON).write_text(json.dumps(doc, indent=1) + "\n")
    for f in files:
        print(f"{f['file']:28s} {f['bytes'] / 1024:5.1f} KiB  patient {f['patient_id']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
