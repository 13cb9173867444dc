"""Viewer test fixtures: offscreen Qt, settings in tmp_path, tiny real models.

The model is a real randomly initialised classifier with a real GaussianGate
fitted on its features of a few phantoms; accepted/rejected variants differ
only in the gate's ``offset_`` (its threshold), set from the scores of the
very samples the tests open.
"""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")   # before any Qt import

import shutil
from pathlib import Path

import numpy as np
import pytest

from core.phantoms import write_samples

INPUT_SIZE = 64


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("OCTGUARD_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("OCTGUARD_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def samples_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("samples")
    write_samples(d, 1, height=96, width=128, volume_frames=3)
    return d


@pytest.fixture(scope="session")
def sample_png(samples_dir) -> Path:
    return sorted(samples_dir.glob("*.png"))[0]


def _sample_scores(loaded, samples_dir):
    """Gate scores (under the predicted class) of every frame of every sample."""
    from core.analysis import Analyzer
    from core.io import iter_scan_files, load_scan
    an = Analyzer(loaded)
    return np.array([f.score for p in iter_scan_files(samples_dir)
                     for f in an.analyze(load_scan(p)).frames])


@pytest.fixture(scope="session")
def model_dirs(tmp_path_factory, samples_dir) -> dict[str, Path]:
    """{'accept': dir, 'reject': dir}: same weights and gate, thresholds set
    below every sample's score or above it."""
    import torch

    from core import CLASSES
    from core.classifier import build_classifier
    from core.gate import GaussianGate
    from core.model_store import load_model_dir, save_model_dir
    from core.phantoms import make_phantom
    from core.preprocess import to_tensor

    torch.manual_seed(0)
    model = build_classifier().eval()
    imgs = np.stack([make_phantom(c, 50 + i, 96, 128) for c in CLASSES for i in range(3)])
    with torch.no_grad():
        feats = model.features(to_tensor(imgs, INPUT_SIZE, 3)).double().numpy()
    labels = np.repeat(np.arange(len(CLASSES)), 3)
    gate = GaussianGate(covariance_type="lw").fit(feats, labels)
    meta = {"name": "tiny-test", "input_size": INPUT_SIZE,
            "provenance": "test model with random weights, not for clinical use"}
    card = "# Tiny test model\n\nRandom weights; used by the viewer tests only.\n"
    root = tmp_path_factory.mktemp("models")
    probe = root / "probe"
    gate.offset_ = np.full(len(CLASSES), -np.inf)
    save_model_dir(probe, model, meta, gate=gate, model_card=card)
    scores = _sample_scores(load_model_dir(probe, device="cpu"), samples_dir)
    out = {}
    for name, offset in (("accept", scores.min() - 50.0), ("reject", scores.max() + 50.0)):
        gate.offset_ = np.full(len(CLASSES), offset)
        save_model_dir(root / name, model, meta, gate=gate, model_card=card)
        out[name] = root / name
    out["scores"] = scores
    return out


@pytest.fixture
def make_window(qtbot):
    """Factory: a shown MainWindow on a given model dir, waited until settled."""
    from app.main_window import MainWindow
    from app.settings import Settings

    windows = []

    def make(model_dir, paths=()):
        w = MainWindow(Settings.load(), model_dir=model_dir)
        qtbot.addWidget(w)
        w.show()
        w.start()
        if paths:
            w.open_paths(list(paths))
        windows.append(w)
        wait_settled(qtbot, w)
        return w

    yield make
    for w in windows:
        w.close()


def wait_settled(qtbot, window, timeout=30000):
    qtbot.waitUntil(window.is_settled, timeout=timeout)
    qtbot.wait(20)   # let the last queued signals land


@pytest.fixture
def bad_files(tmp_path, sample_png) -> dict[str, Path]:
    d = tmp_path / "bad"
    d.mkdir()
    raw = sample_png.read_bytes()
    files = {"corrupt": d / "corrupt.png", "truncated": d / "truncated.png",
             "text": d / "notes.png", "empty": d / "empty.dcm"}
    files["corrupt"].write_bytes(raw[:8] + bytes(np.random.default_rng(0).integers(0, 256, 600, dtype=np.uint8)))
    files["truncated"].write_bytes(raw[: len(raw) // 2])
    files["text"].write_text("this is not an image\n")
    files["empty"].write_bytes(b"")
    return files


def tamper(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    w = dst / "weights.safetensors"
    data = bytearray(w.read_bytes())
    data[-10] ^= 0xFF
    w.write_bytes(bytes(data))
    return dst
