"""Command line entry: --screenshot renders after the analysis and exits 0.

It runs ``python -m app`` in a fresh process, as a user would: ``run()``
owns the application's event loop, so it is not run inside pytest-qt's.
"""
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

from app.main import build_parser

ROOT = Path(__file__).resolve().parents[2]


def test_screenshot_after_analysis(qapp, model_dirs, sample_png, tmp_path):
    out = tmp_path / "shots" / "viewer.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run([sys.executable, "-m", "app", str(sample_png), "--model",
                        str(model_dirs["reject"]), "--screenshot", str(out), "--size", "1200x800"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1200, 800)
    # the rejected banner's red is in the picture, so it was taken after the result
    red = img.pixelColor(0, 0)
    found = any(img.pixelColor(x, y).name() == "#d2423b"
                for x in range(800, 1200, 4) for y in range(0, 400, 4))
    assert found, red.name()


def test_parser_takes_paths_and_model():
    a = build_parser().parse_args(["a.png", "b", "--model", "m"])
    assert a.paths == ["a.png", "b"] and a.model == "m" and a.screenshot is None
