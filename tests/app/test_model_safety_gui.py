"""A tampered model never stops the viewer: it starts, says why the model was
refused, opens single scans, volumes and folders without predictions, and
picks up a good model when one is chosen."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.model_store import write_manifest

from .conftest import tamper, wait_settled


def _pickle_as_weights(src: Path, dst: Path) -> Path:
    """Weights replaced by a pickle, with model.json and the manifest fixed to
    match; the gate is dropped so only the weights file is wrong."""
    shutil.copytree(src, dst)
    w = dst / "weights.safetensors"
    w.write_bytes(b"cposix\nsystem\n(Vtouch " + str(dst / "pwned").encode() + b"\ntR.")
    from core.hashing import sha256_file
    meta = json.loads((dst / "model.json").read_text())
    meta["weights_sha256"] = sha256_file(w)
    (dst / "model.json").write_text(json.dumps(meta))
    (dst / "gate.json").unlink()
    (dst / "gate.npz").unlink()
    write_manifest(dst)
    return dst


def _foreign_gate(src: Path, dst: Path) -> Path:
    """The gate's classifier hash no longer names these weights."""
    shutil.copytree(src, dst)
    g = json.loads((dst / "gate.json").read_text())
    g["classifier_sha256"] = "0" * 64
    (dst / "gate.json").write_text(json.dumps(g))
    write_manifest(dst)
    return dst


def _truncated(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    w = dst / "weights.safetensors"
    w.write_bytes(w.read_bytes()[:1000])
    return dst


BREAKERS = {
    "flipped-byte": (tamper, "tampered"),
    "truncated": (_truncated, "tampered or truncated"),
    "pickle-weights": (_pickle_as_weights, "weights unreadable"),
    "foreign-gate": (_foreign_gate, "different classifier"),
}


@pytest.mark.parametrize("kind", list(BREAKERS))
def test_viewer_starts_and_opens_scans_without_the_tampered_model(
        kind, make_window, model_dirs, samples_dir, sample_png, tmp_path, qtbot):
    breaker, words = BREAKERS[kind]
    bad = breaker(model_dirs["accept"], tmp_path / f"bad-{kind}")
    w = make_window(bad, [sample_png])

    # refused, said so, and nothing of it is in use
    assert w.model_state == "error" and w.model is None and w.analyzer is None
    assert words in w.model_label.text() and "No model loaded" in w.model_label.text()
    assert w.error_box.isVisible() and words in w.error_box.text()
    assert not (bad / "pwned").exists()

    # the scan is on screen, with no prediction rather than a wrong one
    assert w.scan is not None and w.scan.source == sample_png
    assert w.result is None and w.analysis_panel.state == "message"
    assert w.analysis_panel.headline.text() == "No model loaded"
    assert w.current_result_text() is None

    # a volume and a whole folder still open
    w.open_file(samples_dir / "synthetic-volume.dcm")
    wait_settled(qtbot, w)
    assert w.scan.n_frames == 3 and w.result is None
    w.open_folder(samples_dir)
    n = len(list(samples_dir.iterdir()))
    qtbot.waitUntil(lambda: w.folder_panel.list.count() == n, timeout=10000)
    wait_settled(qtbot, w)
    assert w.folder_results == {}
    w.act_next.trigger()
    wait_settled(qtbot, w)
    assert w.scan.source == w.folder_panel.path_at(1)

    # export still works and says there was no prediction
    out = w.export(tmp_path / "report.png")
    assert out is not None and out.stat().st_size > 0

    # and choosing a good model afterwards brings predictions back
    w.set_model_dir(model_dirs["accept"])
    wait_settled(qtbot, w)
    assert w.model_state == "ready" and w.result is not None
    assert w.result.frames[0].accepted
