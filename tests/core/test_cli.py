"""The octguard command line, run as users run it (a subprocess)."""
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
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
    r = octguard("samples", d, "--phantoms", "--n", "1", "--seed", "3")
    assert r.returncode == 0, r.stderr
    return d


def test_samples_phantoms_writes_pngs_and_a_volume(samples):
    names = sorted(p.name for p in samples.iterdir())
    assert len([n for n in names if n.endswith(".png")]) == 4 and "synthetic-volume.dcm" in names


def test_samples_writes_the_real_scans_with_their_attribution(tmp_path):
    from core.samples import sample_index

    r = octguard("samples", tmp_path / "real")
    assert r.returncode == 0, r.stderr
    index = json.loads((tmp_path / "real" / "samples.json").read_text())
    assert index == sample_index() and "CC BY 4.0" in index["attribution"]
    written = sorted(p.name for p in (tmp_path / "real").glob("*.jpeg"))
    assert written == sorted(rec["file"] for rec in index["files"])
    r = octguard("samples", tmp_path / "x", "--n", "2")      # --n is a phantom option
    assert r.returncode == 2 and "--phantoms" in r.stderr and "Traceback" not in r.stderr


def _actions(parser, path=("octguard",)):
    import argparse
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for name, sub in a.choices.items():
                yield from _actions(sub, path + (name,))
        elif not isinstance(a, (argparse._HelpAction, argparse._VersionAction)):
            yield " ".join(path), a


def test_every_option_of_every_command_explains_itself():
    from app.entry import build_parser

    actions = list(_actions(build_parser()))
    missing = [f"{cmd} {a.option_strings or a.dest}" for cmd, a in actions
               if not (a.help or "").strip()]
    assert not missing
    commands = {cmd for cmd, _ in actions}
    assert {"octguard view", "octguard smoke", "octguard train", "octguard predict"} <= commands
    train_flags = {o for cmd, a in actions if cmd == "octguard train" for o in a.option_strings}
    assert {"--input-size", "--ssat-lambda", "--gate-rejection-rate"} <= train_flags


def test_help_lists_view_and_smoke_and_unknown_words_are_not_opened_as_files():
    r = octguard("--help")
    assert r.returncode == 0 and "view" in r.stdout and "smoke" in r.stdout
    r = octguard("predcit", "x.jpg")
    assert r.returncode == 2 and "did you mean `octguard predict`" in r.stderr
    r = octguard("--version")
    from core import __version__
    assert r.returncode == 0 and __version__ in r.stdout


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


def test_predict_writes_one_evidence_png_per_frame(samples, model_dir, tmp_path):
    from PIL import Image

    from core.io import load_scan

    png = next(p for p in sorted(samples.iterdir()) if p.suffix == ".png")
    vol = next(p for p in sorted(samples.iterdir()) if p.suffix == ".dcm")
    out = tmp_path / "maps"
    r = octguard("predict", png, vol, "--model", model_dir, "--json", "--evidence", out)
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert [len(rec["evidence"]) for rec in records] == [1, 8]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{png.stem}-evidence.png"] + [f"{vol.stem}-f{i:03d}-evidence.png" for i in range(8)])
    for rec in records:
        frames = load_scan(rec["file"]).frames
        for i, e in enumerate(rec["evidence"]):
            with Image.open(e) as im:
                assert im.mode == "RGB" and im.size == frames[i].shape[::-1]
                assert "evidence" in im.text["Description"] and "not for clinical use" in im.text["Comment"]
    # the text output names them too; an unknown method is a usage error, not a traceback
    r = octguard("predict", png, "--model", model_dir, "--evidence", out)
    assert r.returncode == 0 and f"evidence map {out / (png.stem + '-evidence.png')}" in r.stdout
    r = octguard("predict", png, "--model", model_dir, "--evidence", out, "--evidence-method", "x")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_predict_without_a_model_says_so(samples, tmp_path):
    r = octguard("predict", next(samples.iterdir()), "--model", tmp_path / "nothing")
    assert r.returncode == 2 and "cannot load model" in r.stderr and "Traceback" not in r.stderr


@pytest.fixture(scope="module")
def gated_model(tmp_path_factory):
    """A random model whose gate threshold is the median phantom score, so a
    verdict can be either; the round trips below check label and verdict."""
    from core.random_model import phantom_features
    d = tmp_path_factory.mktemp("g")
    _, model, gate = write_random_model(d / "probe", features="phantoms", offset=None)
    z, _ = phantom_features(model, 32)
    pred = model.fc(torch.from_numpy(z).float()).argmax(1).numpy()
    median = float(np.median(gate.score_samples(z, pred)))
    return write_random_model(d / "model", name="cli-gated", features="phantoms", offset=median)[0]


def _predicted(line: str) -> tuple[str, str]:
    """(label, verdict) from a text line of `predict` or `attack`."""
    label = re.search(r":? ([A-Z]+) +p=", line).group(1)
    return label, "accepted" if line.rstrip().endswith("accepted") else "rejected"


def test_attack_writes_the_file_whose_verdict_it_prints(samples, gated_model, tmp_path):
    """The file `octguard attack` writes, reopened by `octguard predict`, gives
    the label and verdict `attack` printed: as an 8-bit PNG at the scan's
    native resolution, and as a float TIFF of the model input (the grey image
    is attacked, not the 3-channel tensor whose channel 0 alone was written)."""
    from core.io import load_scan

    scan = next(p for p in sorted(samples.iterdir()) if p.suffix == ".png")
    png, tif = tmp_path / "adv.png", tmp_path / "adv.tif"
    r = octguard("attack", scan, "--eps", 2 / 255, "--steps", "3", "--model", gated_model, "--out", png)
    assert r.returncode == 0, r.stderr
    printed = _predicted(next(l for l in r.stdout.splitlines() if l.startswith("adversarial")))
    r = octguard("attack", scan, "--method", "pgd", "--eps", "0.01", "--steps", "2",
                 "--model", gated_model, "--out", tif, "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["linf"] <= 0.01 + 1e-6 and rep["resolution"] == "model" and rep["verified"]
    adv = load_scan(tif).frames[0]
    assert adv.shape == (32, 32) and len(np.unique(adv)) > 256    # float, not 8-bit levels
    native = load_scan(png)
    assert native.frames.shape == load_scan(scan).frames.shape and native.demonstration
    levels = np.round((native.frames - load_scan(scan).frames) * 255)
    assert np.abs(levels).max() <= 2                                # ceil(2/255 * 255) grey levels

    r = octguard("predict", png, tif, "--model", gated_model)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert _predicted(lines[0]) == printed
    assert _predicted(lines[1]) == (rep["adversarial"]["label"],
                                    "accepted" if rep["adversarial"]["accepted"] else "rejected")
    r = octguard("attack", scan, "--model", gated_model, "--out", tmp_path / "a.jpg")
    assert r.returncode != 0 and ".png or .dcm" in r.stderr and "Traceback" not in r.stderr


def test_batch_attack_writes_one_file_and_one_json_line_per_input(samples, gated_model, tmp_path):
    png = next(p for p in sorted(samples.iterdir()) if p.suffix == ".png")
    vol = samples / "synthetic-volume.dcm"
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    out = tmp_path / "adv"
    r = octguard("attack", png, vol, bad, "--out-dir", out, "--frame", "3", "--eps", 2 / 255,
                 "--steps", "2", "--model", gated_model, "--json")
    assert r.returncode == 2 and "broken.png" in r.stderr and "Traceback" not in r.stderr
    recs = [json.loads(line) for line in r.stdout.splitlines()]
    assert [rec["ok"] for rec in recs] == [True, True, False]
    assert [Path(rec["out"]).suffix for rec in recs[:2]] == [".png", ".dcm"]
    assert recs[0]["frame"] == 0 and recs[1]["frame"] == 3
    assert sorted(p.name for p in out.iterdir()) == sorted(Path(rec["out"]).name for rec in recs[:2])
    for rec in recs[:2]:
        for key in ("clean", "adversarial"):
            f = rec[key]
            assert isinstance(f["score"], float) and isinstance(f["accepted"], bool)
        assert rec["verified"] and rec["demonstration_marked"] and rec["linf_grey_levels"] <= 2 + 1e-3
    r = octguard("predict", *(rec["out"] for rec in recs[:2]), "--model", gated_model, "--json")
    assert r.returncode == 0, r.stderr
    again = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(again[1]["frames"]) == 8                              # the DICOM copy keeps every frame
    for rec, pr in zip(recs, again):
        f = pr["frames"][rec["frame"]]
        assert (f["label"], f["accepted"]) == (rec["adversarial"]["label"], rec["adversarial"]["accepted"])
        assert f["score"] == pytest.approx(rec["adversarial"]["score"], abs=1e-4)
        assert f["accepted"] == (f["score"] >= f["threshold"])       # higher = more normal
    r = octguard("attack", png, "--label", "AMD", "--model", gated_model, "--out", tmp_path / "b.png")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "'AMD'" in r.stderr and "CNV, DME, DRUSEN, NORMAL" in r.stderr


@pytest.mark.skipif(not REAL_VAL.is_dir(), reason="real OCT scans in ../shared/data/oct/val are absent")
def test_predict_on_the_32_real_val_scans(model_dir):
    files = sorted(REAL_VAL.glob("*/*"))
    r = octguard("predict", *files, "--model", model_dir, "--json")
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(records) == 32 and all(rec["ok"] and len(rec["frames"]) == 1 for rec in records)
