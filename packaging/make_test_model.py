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
    from core.random_model import write_random_model

    return write_random_model(
        directory, input_size=INPUT_SIZE, name="packaging-test", features="phantoms", offset=None,
        provenance="random weights for packaging checks, not for clinical use",
        model_card="# Packaging test model\n\nRandom weights; packaging checks only.\n")[0]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    print(make_test_model(sys.argv[1]))
