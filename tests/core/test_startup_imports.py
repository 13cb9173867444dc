"""What the viewer's first answer waits for: the inference path imports
torch and nothing heavy besides (issue 13 part 4)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torchvision", "sklearn", "scipy", "matplotlib")


def _runs_clean(code: str) -> None:
    """Run ``code`` in a fresh interpreter (imports start from nothing); it
    exits non-zero, printing what it found, when a check fails."""
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def test_loading_a_model_and_analysing_imports_nothing_heavy_but_torch():
    code = ("import sys, core.model_store, core.analysis, core.io, app.jobs; "
            f"bad = [m for m in {HEAVY!r} if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    _runs_clean(code)


def test_help_and_the_viewers_command_line_import_neither_torch_nor_qt():
    code = ("import sys; from app.entry import build_parser; "
            "build_parser().parse_args(['view', 'a.jpg']); "
            "bad = [m for m in ('torch', 'PySide6', 'numpy') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    _runs_clean(code)


def test_the_window_is_built_without_torch():
    """The window paints while torch loads on a worker: building it, demo mode
    included, must not import torch (demo's outcome type once pulled it in,
    and the first window took 2.0 s instead of 0.5 s)."""
    code = ("import sys, app.main_window; "
            "print('torch' in sys.modules); sys.exit(1 if 'torch' in sys.modules else 0)")
    _runs_clean(code)


def test_reading_an_image_does_not_import_pydicom(tmp_path):
    """pydicom costs 0.2 s to import; a JPEG's first answer should not wait for it."""
    from PIL import Image
    import numpy as np
    path = tmp_path / "scan.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 80), dtype=np.uint8)).save(path)
    code = ("import sys, core.io, app.jobs; "
            f"core.io.load_scan({str(path)!r}); "
            "print('pydicom' in sys.modules); sys.exit(1 if 'pydicom' in sys.modules else 0)")
    _runs_clean(code)
