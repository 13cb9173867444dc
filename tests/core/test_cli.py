"""The octguard command line, run as users run it (a subprocess)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from core.random_model import write_random_model


ROOT = Path(__file__).resolve().parents[2]
REAL_VAL = ROOT.parent / "shared" / "data" / "oct" / "val"


def octguard(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "app.entry", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    # accept everything: these tests check the plumbing, not the gate
    return write_random_model(tmp_path_factory.mktemp("m") / "model", name="cli-test", offset=None)[0]


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    d = tmp_path_factory.mktemp("s")
    r = octguard("samples", d, "--n", "1", "--seed", "3")
    assert r.returncode == 0, r.stderr
    return d


def test_samples_writes_pngs_and_a_volume(samples):
    names = sorted(p.name for p in samples.iterdir())
    assert len([n for n in names if n.endswith(".png")]) == 4 and "synthetic-volume.dcm" in names


def test_predict_json_for_good_and_bad_files(samples, model_dir, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    files = sorted(samples.iterdir())
    r = octguard("predict", *files, bad, "--model", model_dir, "--json")
    assert r.returncode == 2                       # one file could not be read
    assert "Traceback" not in r.stderr and "broken.png" in r.stderr
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert [rec["ok"] for rec in records] == [True] * len(files) + [False]
    vol = next(rec for rec in records if rec["file"].endswith(".dcm"))
    assert len(vol["frames"]) == 8
    for rec in records[:-1]:
        for f in rec["frames"]:
            assert set(f["probabilities"]) == {"CNV", "DME", "DRUSEN", "NORMAL"}
            assert abs(sum(f["probabilities"].values()) - 1) < 1e-5
            assert f["accepted"] == (f["score"] >= f["threshold"])
        assert rec["model"]["name"] == "cli-test" and len(rec["model"]["sha256"]) == 64


def test_predict_without_a_model_says_so(samples, tmp_path):
    r = octguard("predict", next(samples.iterdir()), "--model", tmp_path / "nothing")
    assert r.returncode == 2 and "cannot load model" in r.stderr and "Traceback" not in r.stderr


def test_attack_writes_float_tiff_and_refuses_8bit_png(samples, model_dir, tmp_path):
    from core.io import load_scan

    scan = next(p for p in sorted(samples.iterdir()) if p.suffix == ".png")
    out = tmp_path / "adv.tif"
    r = octguard("attack", scan, "--method", "pgd", "--eps", "0.005", "--steps", "2",
                 "--model", model_dir, "--out", out, "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["linf"] <= 0.005 + 1e-6 and out.exists()
    adv = load_scan(out).frames[0]
    assert adv.shape == (32, 32) and len(np.unique(adv)) > 256   # float, not 8-bit levels
    r = octguard("attack", scan, "--method", "fgsm", "--model", model_dir, "--out", tmp_path / "a.png")
    assert r.returncode != 0 and "8 bits" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.skipif(not REAL_VAL.is_dir(), reason="real OCT scans in ../shared/data/oct/val are absent")
def test_predict_on_the_32_real_val_scans(model_dir):
    files = sorted(REAL_VAL.glob("*/*"))
    r = octguard("predict", *files, "--model", model_dir, "--json")
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(records) == 32 and all(rec["ok"] and len(rec["frames"]) == 1 for rec in records)
