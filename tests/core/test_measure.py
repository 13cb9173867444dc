"""Caliper lengths: µm from a file's own pixel spacing (rows and columns
scaled apart), pixels when the file has none, and the summary of a volume."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from core import CLASSES
from core.io import load_scan
from core.measure import measure
from core.phantoms import write_opt_dicom
from core.summary import summarize

from tests.vendor_data import VOL, needs_eyepy, needs_vol, synthetic_vol, vol_header


def test_dicom_spacing_gives_micrometres_with_rows_and_columns_apart(tmp_path):
    path = write_opt_dicom(tmp_path / "v.dcm", np.zeros((2, 40, 60), np.uint8),
                           pixel_spacing_mm=(0.0039, 0.0117))
    scan = load_scan(path)
    assert scan.pixel_spacing == pytest.approx((0.0039, 0.0117))
    across = measure((5, 10), (45, 10), scan.pixel_spacing)
    down = measure((5, 10), (5, 30), scan.pixel_spacing)
    slant = measure((0, 0), (30, 20), scan.pixel_spacing, frame=1)
    assert across.unit == "µm" and across.length == pytest.approx(40 * 11.7)
    assert down.length == pytest.approx(20 * 3.9)
    assert slant.length == pytest.approx(math.hypot(30 * 11.7, 20 * 3.9))
    assert slant.frame == 1 and slant.text() == f"{math.hypot(30 * 11.7, 20 * 3.9):.1f} µm"


@needs_eyepy
@needs_vol
def test_vol_spacing_read_from_the_header_converts_to_micrometres():
    h = vol_header(VOL)
    scan = load_scan(VOL)
    m = measure((10, 5), (40, 35), scan.pixel_spacing)
    expected = math.hypot(30 * h["scale_x"], 30 * h["scale_y"]) * 1000
    assert m.calibrated and m.length == pytest.approx(expected)
    assert 30 * 11.8 < m.length < 30 * 12.5  # about 11.8 µm across, 3.9 µm deep


@needs_eyepy
def test_a_vol_written_with_known_spacing_measures_in_micrometres(tmp_path):
    path = tmp_path / "known.vol"
    path.write_bytes(synthetic_vol(n=3, height=12, width=16, scale=(0.0039, 0.0118),
                                   slo_scale=0.03))
    scan = load_scan(path)
    assert scan.pixel_spacing == pytest.approx((0.0039, 0.0118))
    assert measure((2, 1), (12, 1), scan.pixel_spacing).length == pytest.approx(118.0)
    assert measure((2, 1), (2, 11), scan.pixel_spacing).length == pytest.approx(39.0)
    # B-scan i starts at (0.1 mm, 0.1 + 0.05 i mm) on a fundus of 0.03 mm pixels
    lines = scan.fundus.bscan_lines
    np.testing.assert_allclose(lines[:, 0], [[0.1 / 0.03, (0.1 + 0.05 * i) / 0.03] for i in range(3)])
    assert scan.metadata["Distance between B-scans"] == "50.0 µm"
    assert "Visit date" not in scan.metadata  # 0 in the header: never set


def test_without_spacing_the_length_is_in_pixels_and_says_so(tmp_path):
    path = tmp_path / "plain.png"
    Image.fromarray(np.zeros((20, 30), np.uint8)).save(path)
    scan = load_scan(path)
    m = measure((0, 0), (3, 4), scan.pixel_spacing)
    assert (m.length, m.unit, m.calibrated) == (5.0, "px", False)
    assert m.text() == "5.0 px (pixel spacing unknown)"
    for bad in [(0.0, 0.01), (float("nan"), 0.01), (0.01,), None]:
        assert measure((0, 0), (3, 4), bad).unit == "px"


def test_summary_counts_accepted_frames_per_class_and_rejected_ones():
    def fr(label, accepted, score=1.0):
        return SimpleNamespace(label=label, accepted=accepted, score=score)
    vol = SimpleNamespace(frames=[fr("CNV", True), fr("CNV", True), fr("DME", False),
                                  fr("NORMAL", True, None), fr("DRUSEN", False)])
    s = summarize(vol, CLASSES)
    assert s.per_class == {"CNV": 2, "DME": 0, "DRUSEN": 0, "NORMAL": 1}
    assert (s.n_frames, s.rejected, s.unscreened) == (5, 2, 1)
    assert s.text() == ("5 frames: CNV 2, DME 0, DRUSEN 0, NORMAL 1; 2 rejected "
                        "(1 not screened by a detector)")
    folder = summarize([vol, SimpleNamespace(frames=[fr("DME", True)])], CLASSES)
    assert folder.n_frames == 6 and folder.per_class["DME"] == 1
