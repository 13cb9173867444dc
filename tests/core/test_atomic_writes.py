"""Every file OCTGuard writes goes through a temp file and a rename: a failure
in the middle of a write (disk full, crash, a bug in the encoder) leaves the
previous file exactly as it was and no temp file behind.

Two kinds of failure are simulated: the rename itself fails (os.replace
raises, as after a crash between write and rename), and the encoder raises
after writing part of its output.

The viewer's settings and report writers are in app/, so those cases need Qt
(offscreen) and skip without PySide6.
"""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")   # before any Qt import

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from core import model_store
from core.classifier import build_classifier
from core.model_store import atomic_write_text, load_model_dir, save_model_dir
from core.random_model import write_random_model
from core.writers import plan_output, write_adversarial


class DiskFull(OSError):
    pass


def _boom(*args, **kwargs):
    raise DiskFull(28, "No space left on device (simulated)")


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _assert_unchanged(folder: Path, before: dict[str, bytes]) -> None:
    after = _snapshot(folder)
    assert sorted(after) == sorted(before), "a file appeared or vanished (temp file left?)"
    for name, data in before.items():
        assert after[name] == data, f"{name} changed"


# -- core ---------------------------------------------------------------------

def test_atomic_write_text_keeps_old_file_when_rename_fails(tmp_path, monkeypatch):
    f = tmp_path / "model.json"
    f.write_text('{"old": true}')
    before = _snapshot(tmp_path)
    monkeypatch.setattr(os, "replace", _boom)
    with pytest.raises(DiskFull):
        atomic_write_text(f, '{"new": true}')
    _assert_unchanged(tmp_path, before)


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    return write_random_model(tmp_path_factory.mktemp("atomic") / "m", name="m", half=True,
                              history=[{"epoch": 1}], model_card="# m\n")


@pytest.fixture
def model_copy(tiny_model_dir, tmp_path):
    import shutil
    src, model, gate = tiny_model_dir
    d = tmp_path / "m"
    shutil.copytree(src, d)
    return d, model, gate


def test_weights_save_failing_mid_write_keeps_old_model(model_copy, monkeypatch):
    d, model, gate = model_copy
    before = _snapshot(d)

    def half_then_fail(state, filename, *a, **k):
        Path(filename).write_bytes(b"\x00" * 1000)     # part of a file...
        raise DiskFull(28, "No space left on device (simulated)")
    monkeypatch.setattr(model_store, "save_file", half_then_fail)
    with pytest.raises(DiskFull):
        save_model_dir(d, model, {"name": "m", "input_size": 32}, gate=gate, half=True)
    _assert_unchanged(d, before)
    load_model_dir(d, device="cpu")           # and it still loads


@pytest.mark.parametrize("target", ["model.json", "manifest.json"])
def test_model_save_failing_at_rename_keeps_files(model_copy, monkeypatch, target):
    """The rename of one metadata file fails; that file is unchanged and no
    temp file is left. (Files renamed before it are new: a model directory is
    not replaced as a whole, and the manifest then refuses the mixture.)"""
    d, model, gate = model_copy
    before = _snapshot(d)
    real = os.replace

    def fail_for_target(src, dst):
        if Path(dst).name == target:
            _boom()
        real(src, dst)
    monkeypatch.setattr(os, "replace", fail_for_target)
    torch.manual_seed(5)
    with pytest.raises(DiskFull):
        save_model_dir(d, build_classifier(), {"name": "m2", "input_size": 32}, gate=gate,
                       half=True)
    assert (d / target).read_bytes() == before[target]
    assert sorted(_snapshot(d)) == sorted(before), "temp file left behind"
    if target == "model.json":
        # new weights beside the old model.json: refused, never silently mixed
        from core.errors import ModelError
        with pytest.raises(ModelError):
            load_model_dir(d, device="cpu")


def test_gate_save_failing_mid_write_keeps_old_gate(model_copy, monkeypatch):
    d, model, gate = model_copy
    before = _snapshot(d)

    def partial_savez(file, **arrays):
        file.write(b"PK\x03\x04 partial")
        raise DiskFull(28, "No space left on device (simulated)")
    monkeypatch.setattr(np, "savez_compressed", partial_savez)
    with pytest.raises(DiskFull):
        gate.save(d, "0" * 64)
    _assert_unchanged(d, before)
    assert load_model_dir(d, device="cpu").gate is not None


@pytest.mark.parametrize("suffix", [".tif", ".npy"])
def test_adversarial_writer_keeps_old_file(tmp_path, monkeypatch, suffix):
    out = tmp_path / f"adv{suffix}"
    write_adversarial(plan_output(out), np.full((8, 8), 0.25, np.float32))
    before = _snapshot(tmp_path)
    monkeypatch.setattr(os, "replace", _boom)
    with pytest.raises(DiskFull):
        write_adversarial(plan_output(out), np.full((8, 8), 0.75, np.float32))
    _assert_unchanged(tmp_path, before)


# -- app (Qt offscreen) -------------------------------------------------------

@pytest.fixture
def config(tmp_path, monkeypatch):
    pytest.importorskip("PySide6")
    monkeypatch.setenv("OCTGUARD_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


def test_settings_keep_old_file_when_rename_fails(config, monkeypatch):
    from app.settings import Settings
    Settings(theme="light", recent_files=["/a.png"]).save()
    before = _snapshot(config)
    monkeypatch.setattr(os, "replace", _boom)
    with pytest.raises(DiskFull):
        Settings(theme="dark").save()
    _assert_unchanged(config, before)
    assert Settings.load().theme == "light"


def test_settings_keep_old_file_when_encoding_fails(config):
    from app.settings import Settings
    Settings(theme="light").save()
    before = _snapshot(config)
    bad = Settings(theme="dark")
    bad.recent_files = [object()]               # not JSON-serialisable
    with pytest.raises(TypeError):
        bad.save()
    _assert_unchanged(config, before)
    assert json.loads((config / "settings.json").read_text())["theme"] == "light"


@pytest.mark.parametrize("suffix", [".png", ".pdf"])
def test_report_export_keeps_old_report(qapp, tmp_path, monkeypatch, suffix):
    from app.report_export import ExportError, export_report
    img = (np.arange(64 * 80) % 256).astype(np.uint8).reshape(64, 80)
    out = export_report(tmp_path / f"r{suffix}", img, "old", "accepted", "body", "model")
    before = _snapshot(tmp_path)
    monkeypatch.setattr(os, "replace", _boom)
    with pytest.raises(ExportError, match="could not write"):
        export_report(out, img, "new", "rejected", "body", "model")
    _assert_unchanged(tmp_path, before)
