"""Dataset indexing and the patient-wise split."""
import json
from pathlib import Path

import pytest

from core import CLASSES
from core.data import index_dataset, make_holdout_split, make_split, read_split, split_items, write_split

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "oct"


def _tree(root: Path, layout: str) -> Path:
    """A tiny Kermany-style tree with empty files (indexing never decodes)."""
    parts = {"oct2017": ["train", "val", "test"], "v3": ["train", "test"]}[layout]
    for part in parts:
        for c in CLASSES:
            d = root / part / c
            d.mkdir(parents=True)
            for pid in range(6):
                for k in range(2):
                    (d / f"{c}-{1000 * (CLASSES.index(c) + 1) + pid}-{k + 1}.jpeg").write_bytes(b"")
    (root / "audit" / "CNV").mkdir(parents=True)
    (root / "audit" / "CNV" / "CNV-999-1.jpeg").write_bytes(b"")
    return root


@pytest.mark.parametrize("layout", ["oct2017", "v3"])
def test_tree_index_reads_labels_and_patients(tmp_path, layout):
    items = index_dataset(_tree(tmp_path, layout))
    n_parts = 3 if layout == "oct2017" else 2
    assert len(items) == n_parts * 4 * 12
    assert all(i.patient.isdigit() for i in items)
    assert {CLASSES[i.label] for i in items} == set(CLASSES)
    assert not any(i.rel.startswith("audit/") for i in items)


def test_split_is_patient_disjoint_seeded_and_balanced(tmp_path):
    items = index_dataset(_tree(tmp_path, "oct2017"))
    a, b = make_split(items, seed=3), make_split(items, seed=3)
    assert a == b
    assert make_split(items, seed=4)["parts"] != a["parts"]
    owner = {}
    for part, rels in a["parts"].items():
        for r in rels:
            pid = Path(r).name.split("-")[1]
            assert owner.setdefault(pid, part) == part, f"patient {pid} in two parts"
    # every class shows up in labeled, unlabeled and test
    for part in ("labeled", "unlabeled", "test"):
        assert all(n > 0 for n in a["counts"][part].values()), (part, a["counts"][part])
    path = tmp_path / "split.json"
    write_split(a, path)
    assert read_split(path) == json.loads(path.read_text())


def test_split_refuses_held_out_rows(tmp_path):
    items = index_dataset(_tree(tmp_path, "v3"))
    split = make_split(items)
    split["parts"]["test"].append("audit/CNV/CNV-999-1.jpeg")
    with pytest.raises(ValueError, match="held-out"):
        split_items(index_dataset(tmp_path, include_held_out=True), split)


@pytest.mark.skipif(not (REAL / "MANIFEST.csv").exists(), reason="real OCT data folder ../shared/data/oct is absent")
def test_real_manifest_split_never_contains_audit():
    import csv

    with open(REAL / "MANIFEST.csv", newline="") as f:
        non_audit = sum(1 for row in csv.DictReader(f) if not row["file"].startswith("audit/"))
    items = index_dataset(REAL)
    assert len(items) == non_audit  # whatever the folder holds today
    split = make_split(items, seed=0)
    every = [r for rels in split["parts"].values() for r in rels]
    assert len(every) == len(set(every)) == len(items)
    assert not any(r.startswith("audit/") for r in every)


def _two_release_tree(root: Path) -> Path:
    """A balanced ``pool/`` and an unbalanced ``train/``, with some patients
    holding scans of two classes, as in the real data."""
    for c in CLASSES:
        for pid in range(12):
            d = root / "pool" / c
            d.mkdir(parents=True, exist_ok=True)
            (d / f"{c}-{5000 + 100 * CLASSES.index(c) + pid}-1.jpeg").write_bytes(b"")
        n = 20 if c == "NORMAL" else 6
        for pid in range(n):
            d = root / "train" / c
            d.mkdir(parents=True, exist_ok=True)
            (d / f"{c}-{9000 + 100 * CLASSES.index(c) + pid}-1.jpeg").write_bytes(b"")
    # one pool patient with a CNV and a DRUSEN scan
    (root / "pool" / "DRUSEN" / "DRUSEN-5000-2.jpeg").write_bytes(b"")
    return root


def test_holdout_split_tests_on_one_folder_balanced_and_uses_every_other_scan(tmp_path):
    items = index_dataset(_two_release_tree(tmp_path))
    split = make_holdout_split(items, "pool", seed=1, test_per_class=4, calib_per_class=3)
    assert split == make_holdout_split(items, "pool", seed=1, test_per_class=4, calib_per_class=3)
    for part, per_class in (("test", 4), ("calib", 3)):
        assert all(r.startswith("pool/") for r in split["parts"][part])
        assert set(split["counts"][part].values()) == {per_class}, split["counts"][part]
    every = [r for rels in split["parts"].values() for r in rels]
    assert sorted(every) == sorted(i.rel for i in items)
    assert any(r.startswith("train/") for r in split["parts"]["unlabeled"])
    owner = {}
    for part, rels in split["parts"].items():
        for r in rels:
            pid = Path(r).name.split("-")[1]
            assert owner.setdefault(pid, part) == part, f"patient {pid} in two parts"


@pytest.mark.skipif(not (REAL / "MANIFEST.csv").exists(), reason="real OCT data folder ../shared/data/oct is absent")
def test_shipped_holdout_split_matches_the_data():
    split = read_split(Path(__file__).resolve().parents[2] / "splits" / "oct-pool-holdout-seed0.json")
    parts = split_items(index_dataset(REAL), split)  # every file still exists
    assert len(parts["test"]) >= 200 and set(split["counts"]["test"].values()) == {60}
    assert all(i.rel.startswith("pool/") for i in parts["test"] + parts["calib"])
