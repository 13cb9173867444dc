"""Every real validation scan loads as a plausible grey B-scan (skipped without the data)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.io import iter_scan_files, load_scan
REAL_DATA = Path(os.environ.get("OCTGUARD_DATA", Path(__file__).resolve().parents[3] / "shared" / "data" / "oct"))
VAL = REAL_DATA / "val"

pytestmark = [pytest.mark.realdata,
              pytest.mark.skipif(not VAL.is_dir(), reason=f"real OCT data not found at {VAL}")]


def test_every_val_file_loads(file_guard):
    files = [p for d in sorted(VAL.iterdir()) if d.is_dir() for p in iter_scan_files(d)]
    assert len(files) >= 4
    file_guard(*files)
    for path in files:
        scan = load_scan(path)
        assert scan.n_frames == 1, path.name
        h, w = scan.frames.shape[1:]
        assert 200 <= h <= 2000 and 200 <= w <= 2000, path.name
        assert 0.0 <= scan.frames.min() and scan.frames.max() <= 1.0
        assert scan.frames.std() > 0.02, f"{path.name} looks blank"
        assert not scan.synthetic and scan.metadata["Format"] == "JPEG"
    file_guard.check()
