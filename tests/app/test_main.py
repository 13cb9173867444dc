"""Command line entry: --screenshot renders after the analysis and exits 0.

It runs ``python -m app`` in a fresh process, as a user would: ``run()``
owns the application's event loop, so it is not run inside pytest-qt's.
"""
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

from app.main import apply_args, build_parser

from .conftest import wait_settled

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
    assert not a.evidence and build_parser().parse_args(["--evidence"]).evidence


def _warm_pixels(img, x0, x1, y0, y1):
    """Pixels in inferno's orange-yellow end: the scan is grey, the map is not."""
    n = 0
    for x in range(x0, x1, 3):
        for y in range(y0, y1, 3):
            c = img.pixelColor(x, y)
            n += c.red() > 150 and c.red() - c.blue() > 80 and c.green() > 40
    return n


def test_evidence_flag_turns_the_overlay_on(qtbot, make_window, model_dirs, sample_png):
    w = make_window(model_dirs["accept"])
    apply_args(w, build_parser().parse_args([str(sample_png), "--evidence"]))
    assert w.evidence.enabled
    wait_settled(qtbot, w)
    assert w.scan is not None and w.evidence.current is not None
    assert w.image_view.overlay.isVisible()


def test_screenshot_with_evidence_has_the_map(qapp, model_dirs, sample_png, tmp_path):
    shots = {}
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    for name, extra in (("plain", []), ("evidence", ["--evidence"])):
        out = tmp_path / f"{name}.png"
        r = subprocess.run([sys.executable, "-m", "app", str(sample_png), "--model",
                            str(model_dirs["accept"]), "--screenshot", str(out),
                            "--size", "1000x700", *extra],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        shots[name] = QImage(str(out))
    # the image view's half of the window: warm colours only where the map is drawn
    plain = _warm_pixels(shots["plain"], 0, 600, 60, 640)
    shown = _warm_pixels(shots["evidence"], 0, 600, 60, 640)
    assert shown > 50 and shown > 5 * plain, (plain, shown)
