"""The real sample scans shipped in resources/samples/: what they are, that
they are intact, and that the default model never saw them.

The split test follows models/default wherever it goes: its model.json names
the split it was trained on by sha256, and the samples must be test scans of
that split (never labeled, unlabeled or calibration ones, and no patient of
theirs in those parts either)."""
from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from core import CLASSES
from core.errors import OCTGuardError
from core.hashing import sha256_file
from core.package_data import default_model_dir
from core.samples import sample_index, sample_paths, samples_dir, write_samples

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "oct"
NAME = re.compile(r"^(?P<cls>[A-Z]+)-(?P<patient>\d+)-\d+\.jpe?g$")
TRAINING_PARTS = ("labeled", "unlabeled", "calib")


def _patient(path: str) -> str:
    m = NAME.match(Path(path).name)
    assert m, f"not a Kermany file name: {path}"
    return m["patient"]


def test_two_or_three_real_scans_per_class_small_and_intact():
    index = sample_index()
    recs = index["files"]
    assert 8 <= len(recs) <= 12
    per_class = Counter(r["class"] for r in recs)
    assert set(per_class) == set(CLASSES) and all(2 <= n <= 3 for n in per_class.values())
    assert "CC BY 4.0" in index["attribution"] and "Kermany" in index["attribution"]
    assert len({r["patient_id"] for r in recs}) == len(recs)        # no patient twice
    for rec, path in zip(recs, sample_paths()):
        assert path.stat().st_size == rec["bytes"] <= 100_000
        assert sha256_file(path) == rec["sha256"], rec["file"]
        assert rec["license"] == "CC BY 4.0" and not rec["manifest_file"].startswith("audit/")
        assert NAME.match(rec["file"])["cls"] == rec["class"] and _patient(rec["file"]) == rec["patient_id"]
    shipped = sorted(p.name for p in samples_dir().iterdir() if p.suffix == ".jpeg")
    assert shipped == sorted(r["file"] for r in recs)                # nothing unlisted


def default_model_split() -> tuple[Path, dict]:
    """The split file under splits/ whose sha256 models/default names."""
    meta = json.loads((default_model_dir() / "model.json").read_text())
    want = meta.get("split_sha256")
    assert want, "models/default/model.json names no split_sha256"
    for path in sorted((ROOT / "splits").glob("*.json")):
        if sha256_file(path) == want:
            return path, json.loads(path.read_text())
    pytest.fail(f"no split under splits/ has the sha256 {want[:12]}... that models/default was "
                "trained on; commit that split")


def test_no_sample_was_seen_in_training_or_calibration_by_the_default_model():
    # True for splits/oct-pool-holdout-seed0.json (the split the next shipped
    # model is trained on) and for splits/oct-patient-seed0.json (today's
    # models/default): the samples are test scans of both.
    path, split = default_model_split()
    parts = split["parts"]
    seen = {f for part in TRAINING_PARTS for f in parts[part]}
    seen_patients = {_patient(f) for f in seen}
    for rec in sample_index()["files"]:
        where = rec["manifest_file"]
        assert where not in seen, f"{rec['file']} is in a training part of {path.name}"
        assert rec["patient_id"] not in seen_patients, f"{rec['file']}'s patient is in {path.name}'s training parts"
        assert where in parts["test"], f"{rec['file']} is not a test scan of {path.name}"


@pytest.mark.skipif(not (DATA / "MANIFEST.csv").is_file(), reason="../shared/data/oct is absent")
def test_samples_are_the_manifest_bytes():
    with open(DATA / "MANIFEST.csv", newline="") as f:
        manifest = {r["file"]: r for r in csv.DictReader(f)}
    for rec in sample_index()["files"]:
        row = manifest[rec["manifest_file"]]
        assert (row["sha256"], row["class"], row["patient_id"]) == (rec["sha256"], rec["class"], rec["patient_id"])
        assert (row["source_repo"], row["source_commit"]) == (rec["source_repo"], rec["source_commit"])


def test_write_samples_copies_the_bytes_and_refuses_a_damaged_install(tmp_path, monkeypatch):
    out = write_samples(tmp_path / "out")
    assert [p.read_bytes() for p in out] == [p.read_bytes() for p in sample_paths()]
    assert json.loads((tmp_path / "out" / "samples.json").read_text()) == sample_index()

    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for p in samples_dir().iterdir():
        if p.is_file():
            (damaged / p.name).write_bytes(p.read_bytes())
    first = damaged / sample_index()["files"][0]["file"]
    first.write_bytes(first.read_bytes()[:-10])
    monkeypatch.setattr("core.samples.samples_dir", lambda: damaged)
    with pytest.raises(OCTGuardError, match="sha256"):
        write_samples(tmp_path / "again")


def test_the_first_sample_the_viewer_opens_gets_an_accepted_correct_answer():
    # The README's main command opens the samples folder on its first scan:
    # the shipped model must accept it and get it right. If a new
    # models/default fails this, the README's promise and screenshot are wrong.
    from core.analysis import Analyzer
    from core.io import iter_scan_files, load_scan
    from core.model_store import load_model_dir

    first = next(iter(iter_scan_files(samples_dir())))
    truth = NAME.match(first.name)["cls"]
    fr = Analyzer(load_model_dir(device="cpu")).analyze(load_scan(first)).frames[0]
    assert fr.accepted and fr.label == truth, (first.name, fr)
