"""A model directory that is tampered with, truncated, mismatched or not what
it claims to be is refused with a ModelError that says why, before any of its
tensors reach the classifier.

Each case starts from a copy of one valid tiny model directory and breaks one
thing. Where the attacker is assumed to have edited the manifest too (so that
the manifest check alone would not catch it), the test rewrites it, so the
check further down is the one being tested.
"""
from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from core import CLASSES
from core.classifier import build_classifier
from core.errors import ModelError
from core.gate import GaussianGate
from core.hashing import sha256_file
from core.model_store import load_model_dir, save_model_dir, write_manifest

INPUT_SIZE = 32


def _save_tiny(directory: Path, seed: int) -> Path:
    torch.manual_seed(seed)
    model = build_classifier().eval()
    # the gate only has to be a valid gate for these weights; random features will do
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(4 * len(CLASSES), 512))
    gate = GaussianGate(covariance_type="lw").fit(feats, np.repeat(np.arange(len(CLASSES)), 4))
    gate.offset_ = np.zeros(len(CLASSES))
    save_model_dir(directory, model, {"name": directory.name, "input_size": INPUT_SIZE,
                                      "provenance": "random weights, test only"},
                   gate=gate, half=True, model_card="# test\n")
    return directory


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("safety-models")
    return {"a": _save_tiny(root / "a", 0), "b": _save_tiny(root / "b", 1)}


@pytest.fixture
def model_dir(originals, tmp_path) -> Path:
    d = tmp_path / "model"
    shutil.copytree(originals["a"], d)
    return d


def _refused(directory: Path, *fragments: str) -> str:
    with pytest.raises(ModelError) as info:
        load_model_dir(directory, device="cpu")
    msg = str(info.value)
    for f in fragments:
        assert f in msg, f"{f!r} not in {msg!r}"
    return msg


def _rewrite_weights(directory: Path, data: bytes) -> None:
    """An attacker who replaces the weights and fixes model.json and the
    manifest to match (the gate is re-pointed too, so only the weights are bad)."""
    w = directory / "weights.safetensors"
    w.write_bytes(data)
    sha = sha256_file(w)
    meta = json.loads((directory / "model.json").read_text())
    meta["weights_sha256"] = sha
    (directory / "model.json").write_text(json.dumps(meta))
    gmeta = json.loads((directory / "gate.json").read_text())
    gmeta["classifier_sha256"] = sha
    (directory / "gate.json").write_text(json.dumps(gmeta))
    write_manifest(directory)


def test_valid_copy_loads(model_dir):
    # the baseline every other case breaks: it must load, gate included
    lm = load_model_dir(model_dir, device="cpu")
    assert lm.gate is not None and lm.input_size == INPUT_SIZE
    assert lm.weights_sha256 == sha256_file(model_dir / "weights.safetensors")


def test_loaded_weights_are_the_files_every_one(model_dir):
    # the loader skips the initial random draw, so every tensor must come from the file
    saved = load_file(str(model_dir / "weights.safetensors"))
    loaded = load_model_dir(model_dir, device="cpu", trainable=True).model.state_dict()
    assert saved.keys() == loaded.keys()
    for k, v in saved.items():
        assert torch.equal(loaded[k], v.float() if v.is_floating_point() else v), k


def test_the_inference_network_is_the_saved_one_with_batchnorm_folded(model_dir, tmp_path):
    folded, plain = load_model_dir(model_dir, device="cpu"), load_model_dir(model_dir, device="cpu", trainable=True)
    assert folded.model.backbone.batchnorm_folded
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.model.modules())
    x = torch.rand(4, 1, INPUT_SIZE, INPUT_SIZE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a, b = folded.model(x), plain.model(x)
    assert torch.allclose(a, b, rtol=1e-4, atol=1e-4), (a - b).abs().max()
    with pytest.raises(ModelError, match="folded"):
        save_model_dir(tmp_path / "copy", folded.model, {"name": "copy", "input_size": INPUT_SIZE})


def test_one_flipped_byte_in_weights(model_dir):
    w = model_dir / "weights.safetensors"
    data = bytearray(w.read_bytes())
    data[len(data) // 2] ^= 0x01
    w.write_bytes(bytes(data))
    _refused(model_dir, "weights.safetensors", "tampered or truncated", "refusing")


def test_truncated_weights(model_dir):
    w = model_dir / "weights.safetensors"
    w.write_bytes(w.read_bytes()[: w.stat().st_size // 3])
    _refused(model_dir, "weights.safetensors", "tampered or truncated")


def test_manifest_matches_tampered_weights_but_model_json_does_not(model_dir):
    w = model_dir / "weights.safetensors"
    data = bytearray(w.read_bytes())
    data[-5] ^= 0x80
    w.write_bytes(bytes(data))
    write_manifest(model_dir)   # the manifest now agrees with the tampered file
    _refused(model_dir, "weights do not match the sha256 in model.json")


def test_gate_from_another_classifier(model_dir, originals):
    for name in ("gate.json", "gate.npz"):
        shutil.copy(originals["b"] / name, model_dir / name)
    write_manifest(model_dir)
    _refused(model_dir, "gate was fitted for a different classifier")


def test_gate_npz_swapped_under_its_json(model_dir, originals):
    shutil.copy(originals["b"] / "gate.npz", model_dir / "gate.npz")
    write_manifest(model_dir)
    _refused(model_dir, "gate.npz does not match the sha256 in gate.json")


def test_gate_added_after_the_manifest_is_refused(model_dir, originals):
    """A gate that is present but not listed in the manifest was never checked
    by it; it decides what the clinician is shown, so it must not load."""
    manifest = json.loads((model_dir / "manifest.json").read_text())
    del manifest["files"]["gate.json"], manifest["files"]["gate.npz"]
    (model_dir / "manifest.json").write_text(json.dumps(manifest))
    _refused(model_dir, "gate.json", "not listed in the manifest")


@pytest.mark.parametrize("name", ["weights.safetensors", "model.json", "gate.npz",
                                  "gate.json", "manifest.json"])
def test_missing_file(model_dir, name):
    (model_dir / name).unlink()
    msg = _refused(model_dir)
    assert name in msg and ("missing" in msg or "unreadable" in msg), msg


def test_missing_directory(tmp_path):
    _refused(tmp_path / "nowhere", "no model at")


def test_weights_with_wrong_tensor_shapes(model_dir):
    state = load_file(str(model_dir / "weights.safetensors"))
    state["backbone.fc.weight"] = torch.zeros(7, 512, dtype=state["backbone.fc.weight"].dtype)
    tmp = model_dir.parent / "wrong.safetensors"
    save_file(state, str(tmp))
    _rewrite_weights(model_dir, tmp.read_bytes())
    _refused(model_dir, "weights do not fit a ResNet-18 classifier", "fc.weight")


def test_weights_with_missing_tensors(model_dir):
    state = load_file(str(model_dir / "weights.safetensors"))
    tmp = model_dir.parent / "partial.safetensors"
    save_file({k: v for k, v in state.items() if "layer4" not in k}, str(tmp))
    _rewrite_weights(model_dir, tmp.read_bytes())
    _refused(model_dir, "weights do not fit a ResNet-18 classifier", "layer4")


def test_pickle_renamed_to_safetensors_is_never_unpickled(model_dir, tmp_path):
    """A protocol-0 pickle that would create a file if anything unpickled it."""
    marker = tmp_path / "pwned"
    payload = (b"cposix\nsystem\n(V" + f"touch {marker}".encode() + b"\ntR.")
    _rewrite_weights(model_dir, payload)
    _refused(model_dir, "weights unreadable")
    assert not marker.exists()


@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n" + bytes(200),                        # an image renamed
    b"PK\x03\x04" + bytes(300),                              # a zip (torch.save) renamed
    struct.pack("<Q", 1 << 60) + b"{}",                      # header length beyond the file
    struct.pack("<Q", 20) + b'{"x": "not a tensor"}',       # header that is not a tensor table
    b"",                                                     # empty
], ids=["png", "zip", "huge-header", "bad-header", "empty"])
def test_non_safetensors_renamed(model_dir, data):
    _rewrite_weights(model_dir, data)
    _refused(model_dir, "weights unreadable")


def test_model_json_not_json(model_dir):
    (model_dir / "model.json").write_text("{not json")
    write_manifest(model_dir)
    _refused(model_dir, "model.json is not valid JSON")


def test_manifest_path_traversal_is_refused(model_dir, tmp_path):
    """A manifest naming a file outside the directory must not be followed."""
    outside = tmp_path / "outside.txt"
    outside.write_text("x")
    manifest = json.loads((model_dir / "manifest.json").read_text())
    manifest["files"]["../outside.txt"] = sha256_file(outside)
    (model_dir / "manifest.json").write_text(json.dumps(manifest))
    _refused(model_dir, "../outside.txt")
