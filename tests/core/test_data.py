"""Dataset indexing and the patient-wise split."""
import json
from pathlib import Path

import pytest

from core import CLASSES
from core.data import index_dataset, make_split, read_split, split_items, write_split

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
    items = index_dataset(REAL)
    assert len(items) == 932
    split = make_split(items, seed=0)
    every = [r for rels in split["parts"].values() for r in rels]
    assert len(every) == len(set(every)) == 932
    assert not any(r.startswith("audit/") for r in every)
