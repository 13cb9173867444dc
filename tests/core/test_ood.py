"""The non-OCT set is seeded and looks like its kinds; the rejection script
runs end to end on a tiny model and writes well-formed JSON. (The rate itself
is only meaningful for a trained model: see docs/reliability.md.)"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from bench.ood_rejection import main
from bench.ood_set import HEIGHT, KINDS, make_ood, write_ood_set
from core import CLASSES
from core.classifier import build_classifier
from core.model_store import save_model_dir
from core.random_model import write_random_model


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_seeded_sized_and_in_range(kind):
    a, b, c = make_ood(kind, 3), make_ood(kind, 3), make_ood(kind, 4)
    assert a.shape == (HEIGHT, 512) and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 1.0 and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)
    if kind != "blank":        # a blank image may repeat its level
        assert not np.array_equal(a, c)


def test_kinds_look_like_themselves():
    assert len(np.unique(make_ood("blank", 0))) == 1
    assert make_ood("noise_uniform", 0).std() == pytest.approx(1 / np.sqrt(12), rel=0.05)
    text = make_ood("text", 0)
    assert np.median(text) == 1.0 and text.min() < 0.3      # dark glyphs on white
    board = make_ood("checkerboard", 0)
    assert len(np.unique(board)) == 2
    ct = make_ood("ct", 0)
    assert ct[:5, :5].mean() < 0.1 and ct.max() > 0.85       # air outside, bright bone


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown kind"):
        make_ood("mri", 0)


def test_write_ood_set(tmp_path):
    files = write_ood_set(tmp_path, 2, seed=1, kinds=("ct", "text"))
    assert sorted(files) == ["ct", "text"]
    assert [p.name for p in files["ct"]] == ["ct-000.png", "ct-001.png"]
    assert all(p.stat().st_size > 0 for ps in files.values() for p in ps)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return write_random_model(tmp_path_factory.mktemp("ood") / "tiny-ood", name="tiny ood/test", half=True)[0]



def test_rejection_script_writes_well_formed_json(tiny_model, tmp_path, capsys):
    out = main(["--model", str(tiny_model), "--n", "2", "--out", str(tmp_path / "r.json")])
    r = json.loads(out.read_text())
    assert r["model"] == "tiny ood/test" and r["n_per_kind"] == 2
    assert set(r["kinds"]) == set(KINDS)
    for kind, k in r["kinds"].items():
        assert k["n"] == 2
        assert k["rejected_by_loader"] + k["refused_not_oct"] + k["rejected_by_gate"] + k["accepted"] == 2
        assert 0.0 <= k["rejection_rate"] <= 1.0
        assert sum(k["accepted_as"].values()) == k["accepted"]
        assert set(k["accepted_as"]) <= set(CLASSES)
    assert r["overall"]["n"] == 2 * len(KINDS)
    # the CT, MR and X-ray images as DICOM files naming their modality: refused on loading
    assert {k: v["rejected_by_loader"] for k, v in r["dicom"].items()} == \
        {"ct_dicom": 2, "mr_dicom": 2, "xray_dicom": 2}
    assert r["overall"]["rejection_rate"] == pytest.approx(
        r["overall"]["rejected"] / r["overall"]["n"])
    assert "rejected" in capsys.readouterr().out


def test_default_output_name_is_made_safe(tiny_model, monkeypatch, tmp_path):
    import bench.ood_rejection as mod
    monkeypatch.setattr(mod, "RESULTS", tmp_path)
    out = main(["--model", str(tiny_model), "--n", "1", "--kinds", "blank"])
    assert out == tmp_path / "ood-rejection-tiny_ood_test.json"


def test_model_without_gate_is_refused(tmp_path):
    torch.manual_seed(0)
    save_model_dir(tmp_path / "m", build_classifier(), {"name": "m", "input_size": 32},
                   half=True)
    with pytest.raises(SystemExit, match="no detection gate"):
        main(["--model", str(tmp_path / "m"), "--n", "1", "--out", str(tmp_path / "x.json")])
