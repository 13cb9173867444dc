"""The PyInstaller bundle (build.spec) builds and runs without Python.

Slow (a full build takes 10+ minutes on two cores): run with
``python -m pytest tests/test_package.py -m slow``. The bundle is built into a
temporary folder; an untrained model made for the test stands in for
models/default, which may not be trained yet.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux bundle only")]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    pytest.importorskip("PyInstaller", reason="pyinstaller not installed (pip install .[build])")
    tmp = tmp_path_factory.mktemp("package")
    proc = subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm",
                           "--distpath", str(tmp / "dist"), "--workpath", str(tmp / "work"),
                           str(ROOT / "build.spec")],
                          cwd=ROOT, capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    exe = tmp / "dist" / "OCTGuard" / "OCTGuard"
    assert exe.is_file()
    return exe


@pytest.fixture(scope="module")
def test_model(tmp_path_factory) -> Path:
    sys.path.insert(0, str(ROOT / "packaging"))
    try:
        from make_test_model import make_test_model
    finally:
        sys.path.remove(str(ROOT / "packaging"))
    return make_test_model(tmp_path_factory.mktemp("model") / "packaging-test")


def _run(exe: Path, *args: str, **env) -> subprocess.CompletedProcess:
    # a clean environment: nothing from this Python may leak into the bundle
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "LD_"))}
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=600,
                          env={**base, **env}, cwd=exe.parent.parent)


def test_bundle_smoke_analyses_phantoms(bundle, test_model):
    proc = _run(bundle, "smoke", "--model", str(test_model))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "smoke OK" in proc.stdout
    assert "packaging-test" in proc.stdout          # the model it was pointed at
    assert "synthetic-volume.dcm frame 1" in proc.stdout  # the DICOM loader works too


def test_bundle_smoke_fails_clearly_without_model(bundle, tmp_path):
    proc = _run(bundle, "smoke", "--model", str(tmp_path / "absent"))
    assert proc.returncode != 0
    assert "FAILED: no model at" in proc.stderr


def test_bundle_keeps_source_layout(bundle):
    internal = bundle.parent / "_internal"
    # where the frozen importer's files("resources") and files("models") point
    assert (internal / "resources" / "octguard.png").is_file()
    assert (internal / "resources" / "samples" / "samples.json").is_file()
    # core/resnet.py builds the network: torchvision stays out of the bundle
    assert not (internal / "torchvision").exists()
    assert not (internal / "triton").exists()
    assert not (internal / "torch" / "include").exists()


def test_bundle_viewer_renders_offscreen(bundle, test_model, tmp_path):
    from core.phantoms import write_samples

    scan = write_samples(tmp_path / "samples", n=1, height=124, width=128, volume_frames=0)[0]
    shot = tmp_path / "shot.png"
    proc = _run(bundle, "view", str(scan), "--model", str(test_model), "--screenshot", str(shot),
                QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert shot.stat().st_size > 10_000


VENDOR = ROOT.parent / "shared" / "data" / "vendor"


@pytest.mark.parametrize("export", ["heyex_vol/test_volume.vol", "heyex_xml/test_dummy.xml"])
def test_bundle_opens_heidelberg_exports_when_built_with_eyepy(bundle, test_model, export):
    """eyepy imports its readers by name at run time; build.spec collects them
    (and scikit-image's lazy-loader stubs), or the bundle says it lacks them."""
    pytest.importorskip("eyepy", reason="built without octguard[heyex]: the bundle has no Heidelberg reader")
    if not (VENDOR / export).is_file():
        pytest.skip(f"{VENDOR} absent: the vendor test exports are not on this machine")
    proc = _run(bundle, "predict", str(VENDOR / export), "--model", str(test_model))
    out = proc.stdout + proc.stderr
    assert "built without" not in out and "Traceback" not in out, out[-2000:]
    assert Path(export).name in out
