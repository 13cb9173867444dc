"""Inputs and models for the benchmarks, built in a temp folder: phantom
scans (never real ones), a 1,000-frame volume, and a model (models/default
when it is there, else an untrained ResNet-18 with a gate fitted on random
features: timing does not depend on the weights' values)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from core import CLASSES
from core.classifier import build_classifier
from core.errors import ModelError
from core.gate import GaussianGate
from core.model_store import DEFAULT_MODEL_DIR, load_model_dir, save_model_dir
from core.phantoms import SAMPLE_SPACING_MM, make_phantom, to_uint8, write_opt_dicom


def phantom_u8(i: int, height: int = 496, width: int = 512) -> np.ndarray:
    label = CLASSES[i % len(CLASSES)]
    return to_uint8(make_phantom(label, 1000 + i, height, width))


def write_jpegs(directory: Path, n: int, height: int = 496, width: int = 512) -> list[Path]:
    """n phantom B-scans as JPEGs (the Kermany format); only 8 distinct
    images are drawn and reused, since drawing phantoms is slow."""
    from PIL import Image
    directory.mkdir(parents=True, exist_ok=True)
    pool = [phantom_u8(i, height, width) for i in range(min(n, 8))]
    paths = []
    for i in range(n):
        p = directory / f"scan-{i:04d}.jpeg"
        Image.fromarray(pool[i % len(pool)]).save(p, quality=90)
        paths.append(p)
    return paths


def write_dicom(path: Path, frames: int, height: int = 496, width: int = 512) -> Path:
    """An OPT DICOM volume; frames repeat a few phantoms with fresh noise so
    the file is not trivially compressible (it is stored uncompressed anyway)."""
    base = [phantom_u8(i, height, width) for i in range(min(frames, 4))]
    rng = np.random.default_rng(0)
    vol = np.empty((frames, height, width), np.uint8)
    for k in range(frames):
        noise = rng.integers(-8, 9, (height, width), dtype=np.int16)
        vol[k] = np.clip(base[k % len(base)].astype(np.int16) + noise, 0, 255)
    return write_opt_dicom(path, vol, SAMPLE_SPACING_MM, slice_spacing_mm=0.01)


def untrained_model_dir(directory: Path, size: int, seed: int = 0) -> Path:
    """A random-weights classifier plus a gate fitted on random features."""
    torch.manual_seed(seed)
    model = build_classifier().eval()
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(40 * len(CLASSES), 512))
    y = np.repeat(np.arange(len(CLASSES)), 40)
    gate = GaussianGate(covariance_type="lw").fit(z, y).calibrate(z, y)
    meta = {"name": f"untrained-{size}", "method": "none", "input_size": size,
            "provenance": "untrained ResNet-18 for timing only"}
    save_model_dir(directory, model, meta, gate)
    return directory


def default_or_untrained(tmp: Path, size: int | None = None) -> tuple[Path, str]:
    """(model dir, note). ``size`` forces an untrained model at that size
    unless the default model already has it."""
    try:
        lm = load_model_dir(DEFAULT_MODEL_DIR, device="cpu", require_gate=True)
        if size is None or lm.input_size == size:
            return DEFAULT_MODEL_DIR, f"models/default ({lm.name}, {lm.input_size} px)"
    except ModelError:
        pass
    size = size or 128
    d = untrained_model_dir(tmp / f"untrained-{size}", size)
    return d, f"untrained ResNet-18 at {size} px (no models/default with that size; timing only)"
