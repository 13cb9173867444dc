"""Datasets: index labelled OCT scans and split them by patient.

Two sources are understood:
- a MANIFEST.csv with columns ``file, class, patient_id`` (and optionally
  ``source_split``), as in ../shared/data/oct; rows whose file lies under
  ``audit/`` are held out and never enter a split;
- a Kermany folder tree, ``OCT2017/{train,val,test}/<CLASS>/`` or the v3
  ``{train,test}/<CLASS>/`` layout, where the patient id comes from the file
  name (``CNV-1016042-1.jpeg``).

A split file (JSON) records which files are labelled, unlabelled, held out
for gate calibration/model selection, and test, with its seed, so every
result can name the split it used.
"""
from __future__ import annotations

import csv
import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from . import CLASSES
from .io.formats import IMAGE_SUFFIXES as _IMAGE_SUFFIXES

HELD_OUT_DIRS = ("audit",)
SPLIT_PARTS = ("labeled", "unlabeled", "calib", "test")
_KERMANY_NAME = re.compile(r"^(CNV|DME|DRUSEN|NORMAL)-(\d+)-(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Item:
    path: Path          # absolute path to the scan
    rel: str            # path relative to the data root, as stored in split files
    label: int          # index into CLASSES
    patient: str


def _is_held_out(rel: str) -> bool:
    return Path(rel).parts[0] in HELD_OUT_DIRS


def index_dataset(source: str | Path, include_held_out: bool = False) -> list[Item]:
    """Index a MANIFEST.csv or a Kermany folder tree."""
    source = Path(source)
    if source.is_file() and source.suffix.lower() == ".csv":
        return _index_manifest(source, include_held_out)
    if source.is_dir():
        manifest = source / "MANIFEST.csv"
        if manifest.is_file():
            return _index_manifest(manifest, include_held_out)
        return _index_tree(source, include_held_out)
    raise FileNotFoundError(f"{source}: neither a MANIFEST.csv nor a folder")


def _index_manifest(path: Path, include_held_out: bool) -> list[Item]:
    root = path.parent
    items = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            rel = row["file"]
            if _is_held_out(rel) and not include_held_out:
                continue
            cls = row["class"].upper()
            if cls not in CLASSES:
                continue
            items.append(Item(root / rel, rel, CLASSES.index(cls), row.get("patient_id") or rel))
    return items


def _index_tree(root: Path, include_held_out: bool) -> list[Item]:
    items = []
    for p in sorted(root.rglob("*")):
        if p.suffix.lower() not in _IMAGE_SUFFIXES or not p.is_file():
            continue
        rel = p.relative_to(root).as_posix()
        if _is_held_out(rel) and not include_held_out:
            continue
        cls = p.parent.name.upper()
        if cls not in CLASSES:
            continue
        m = _KERMANY_NAME.match(p.name)
        patient = m.group(2) if m else rel
        items.append(Item(p, rel, CLASSES.index(cls), patient))
    return items


def make_split(items: list[Item], seed: int = 0, ratios=(4, 1, 1), calib_fraction: float = 0.15,
               source: str = "") -> dict:
    """Seeded, class-balanced split by patient into labeled/unlabeled/test
    (``ratios``), with ``calib_fraction`` of the labeled patients held out
    for gate calibration and model selection.

    Patients are dealt class by class so each part gets its share of every
    class; a patient with scans of several classes goes where its first class
    puts it, with all its scans, so no patient straddles two parts.
    """
    rng = random.Random(seed)
    by_patient: dict[str, list[Item]] = defaultdict(list)
    for it in items:
        by_patient[it.patient].append(it)
    main_class = {p: min(its, key=lambda i: i.rel).label for p, its in by_patient.items()}
    weights = [r / sum(ratios) for r in ratios]
    l_share = weights[0]
    # labeled is cut into train and calib at the patient level too
    shares = {"labeled": l_share * (1 - calib_fraction), "calib": l_share * calib_fraction,
              "unlabeled": weights[1], "test": weights[2]}
    parts: dict[str, list[Item]] = {k: [] for k in SPLIT_PARTS}
    for c in range(len(CLASSES)):
        patients = sorted(p for p, k in main_class.items() if k == c)
        rng.shuffle(patients)
        # big patients first (stable after the shuffle), so the small ones can
        # even out the parts at the end, as in greedy bin packing
        patients.sort(key=lambda p: -len(by_patient[p]))
        total = sum(len(by_patient[p]) for p in patients)
        filled = {k: 0 for k in SPLIT_PARTS}
        for p in patients:
            # give the patient to the part furthest below its target
            k = min(SPLIT_PARTS, key=lambda k: (filled[k] - shares[k] * total) / max(shares[k], 1e-9))
            parts[k].extend(by_patient[p])
            filled[k] += len(by_patient[p])
    return {
        "format": 1, "seed": seed, "ratios": list(ratios), "calib_fraction": calib_fraction,
        "source": str(source), "classes": list(CLASSES),
        "counts": {k: _class_counts(v) for k, v in parts.items()},
        "parts": {k: sorted(i.rel for i in v) for k, v in parts.items()},
    }


def _deal_patients(by_patient: dict[str, list[Item]], patients: list[str], per_class: dict[str, int],
                   rng: random.Random) -> dict[str, list[Item]]:
    """Give whole patients, in a seeded order, to the first part that still
    has room for every class of their scans (``per_class`` scans a class);
    the others go to ``"rest"``. Patients with scans of several classes are
    why this counts per class rather than per patient's first class."""
    order = sorted(patients)
    rng.shuffle(order)
    out: dict[str, list[Item]] = {k: [] for k in (*per_class, "rest")}
    filled = {k: [0] * len(CLASSES) for k in per_class}
    for p in order:
        need = [0] * len(CLASSES)
        for it in by_patient[p]:
            need[it.label] += 1
        k = next((k for k, n in per_class.items()
                  if all(f + m <= n for f, m in zip(filled[k], need))), "rest")
        out[k].extend(by_patient[p])
        if k != "rest":
            filled[k] = [f + m for f, m in zip(filled[k], need)]
    return out


def make_holdout_split(items: list[Item], holdout: str = "pool", seed: int = 0, test_per_class: int = 60,
                       calib_per_class: int = 50, unlabeled_share: float = 0.2, source: str = "") -> dict:
    """A split whose test and calibration parts come from one folder only.

    For ../shared/data/oct, where ``train/`` is another Kermany release and
    unbalanced: test (``test_per_class`` scans a class) and calib
    (``calib_per_class``) are drawn patient-wise from ``holdout/`` (the
    balanced test release), and every other scan of every folder is shared
    between labeled and unlabeled (``unlabeled_share`` of the patients of
    each class), so nothing is wasted. Whole patients only: a part may fall a
    scan or two short of its target rather than split a patient.
    """
    rng = random.Random(seed)
    by_patient: dict[str, list[Item]] = defaultdict(list)
    for it in items:
        by_patient[it.patient].append(it)
    main_class = {p: min(its, key=lambda i: i.rel).label for p, its in by_patient.items()}
    in_holdout = {p for p, its in by_patient.items() if any(Path(i.rel).parts[0] == holdout for i in its)}
    if not in_holdout:
        raise ValueError(f"no scans under {holdout}/ to draw the test part from")
    parts: dict[str, list[Item]] = {k: [] for k in SPLIT_PARTS}
    dealt = _deal_patients(by_patient, list(in_holdout), {"test": test_per_class, "calib": calib_per_class}, rng)
    parts["test"], parts["calib"] = dealt["test"], dealt["calib"]
    rest = {i.patient for i in dealt["rest"]} | (set(by_patient) - in_holdout)
    for c in range(len(CLASSES)):
        # unlabeled takes its share of each class's patients, labeled the rest
        others = sorted(p for p in rest if main_class[p] == c)
        room = round(unlabeled_share * sum(len(by_patient[p]) for p in others))
        rng.shuffle(others)
        for p in others:
            part = "unlabeled" if len(by_patient[p]) <= room else "labeled"
            if part == "unlabeled":
                room -= len(by_patient[p])
            parts[part].extend(by_patient[p])
    return {
        "format": 1, "seed": seed, "holdout": holdout, "test_per_class": test_per_class,
        "calib_per_class": calib_per_class, "unlabeled_share": unlabeled_share,
        "source": str(source), "classes": list(CLASSES),
        "counts": {k: _class_counts(v) for k, v in parts.items()},
        "parts": {k: sorted(i.rel for i in v) for k, v in parts.items()},
    }


def _class_counts(items: list[Item]) -> dict[str, int]:
    counts = {c: 0 for c in CLASSES}
    for i in items:
        counts[CLASSES[i.label]] += 1
    return counts


def write_split(split: dict, path: str | Path) -> None:
    from .atomic import atomic_write_text
    atomic_write_text(Path(path), json.dumps(split, indent=1))


def read_split(path: str | Path) -> dict:
    split = json.loads(Path(path).read_text())
    if split.get("format") != 1 or set(split.get("parts", {})) != set(SPLIT_PARTS):
        raise ValueError(f"{path}: not an OCTGuard split file")
    return split


def split_items(items: list[Item], split: dict) -> dict[str, list[Item]]:
    """Resolve a split file against an index; refuses held-out rows."""
    by_rel = {i.rel: i for i in items}
    out = {}
    for part, rels in split["parts"].items():
        bad = [r for r in rels if _is_held_out(r)]
        if bad:
            raise ValueError(f"split part {part!r} contains held-out files, e.g. {bad[0]}")
        missing = [r for r in rels if r not in by_rel]
        if missing:
            raise FileNotFoundError(f"{len(missing)} files of split part {part!r} are not in the dataset, "
                                    f"e.g. {missing[0]}")
        out[part] = [by_rel[r] for r in rels]
    return out
