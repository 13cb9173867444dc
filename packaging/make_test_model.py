"""Write a small *untrained* model directory for packaging checks.

The real models/default is trained separately; the packaging test and the
start-up measurement only need a valid directory (weights, gate, manifest) to
prove the bundle loads and runs a model. Random weights: never ship this.

    python packaging/make_test_model.py /tmp/octguard-test-model
"""
from __future__ import annotations

import sys
from pathlib import Path

INPUT_SIZE = 64


def make_test_model(directory: str | Path) -> Path:
    import numpy as np
    import torch

    from core import CLASSES
    from core.classifier import build_classifier
    from core.gate import GaussianGate
    from core.model_store import save_model_dir
    from core.phantoms import make_phantom
    from core.preprocess import to_tensor

    torch.manual_seed(0)
    model = build_classifier().eval()
    imgs = np.stack([make_phantom(c, 50 + i, 96, 128) for c in CLASSES for i in range(3)])
    with torch.no_grad():
        feats = model.features(to_tensor(imgs, INPUT_SIZE, 3)).double().numpy()
    labels = np.repeat(np.arange(len(CLASSES)), 3)
    gate = GaussianGate(covariance_type="lw").fit(feats, labels)
    meta = {"name": "packaging-test", "input_size": INPUT_SIZE,
            "provenance": "random weights for packaging checks, not for clinical use"}
    save_model_dir(directory, model, meta, gate=gate,
                   model_card="# Packaging test model\n\nRandom weights; packaging checks only.\n")
    return Path(directory)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    print(make_test_model(sys.argv[1]))
