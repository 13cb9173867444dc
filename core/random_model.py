"""A valid model directory with *random* weights, for tests, packaging checks
and screenshots: real classifier, real fitted gate, real manifest, so the
code paths that load and run a model are exercised for real. Never ship it:
its provenance says so, and it is never written under models/.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from . import CLASSES
from .classifier import OCTClassifier, build_classifier
from .gate import GaussianGate
from .model_store import save_model_dir


def phantom_features(model: OCTClassifier, input_size: int, per_class: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Penultimate features of small phantoms of every class, with labels."""
    from .phantoms import make_phantom
    from .preprocess import to_tensor

    imgs = np.stack([make_phantom(c, 50 + i, 96, 128) for c in CLASSES for i in range(per_class)])
    with torch.no_grad():
        feats = model.features(to_tensor(imgs, input_size, model.in_channels)).double().numpy()
    return feats, np.repeat(np.arange(len(CLASSES)), per_class)


def write_random_model(directory: str | Path, *, input_size: int = 32, name: str = "random-test",
                       features: str = "random", offset: float | None = 0.0, half: bool = False,
                       provenance: str = "random weights for tests, not for clinical use",
                       **save_kwargs) -> tuple[Path, OCTClassifier, GaussianGate]:
    """Seeded random-weight classifier plus a Ledoit-Wolf gate fitted on
    ``features`` ("random" normal vectors, or "phantoms"); ``offset`` sets
    every class threshold (None keeps the unset -inf, i.e. accept all)."""
    torch.manual_seed(0)
    model = build_classifier().eval()
    if features == "phantoms":
        z, y = phantom_features(model, input_size)
    else:
        z = np.random.default_rng(0).normal(size=(4 * len(CLASSES), 512))
        y = np.repeat(np.arange(len(CLASSES)), 4)
    gate = GaussianGate(covariance_type="lw").fit(z, y)
    if offset is not None:
        gate.offset_ = np.full(len(CLASSES), float(offset))
    meta = {"name": name, "input_size": input_size, "provenance": provenance}
    save_model_dir(directory, model, meta, gate=gate, half=half, **save_kwargs)
    return Path(directory), model, gate
