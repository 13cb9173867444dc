"""Volumes in the viewer: the frame slider, the fundus dock with the current
B-scan's position, the per-volume summary, and calipers in µm or pixels that
reach the exported report."""
from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtGui import QImage

from core import CLASSES
from core.summary import summarize
from tests.vendor_data import VOL, needs_eyepy, needs_vol, synthetic_vol, vol_header

from .conftest import wait_settled


@pytest.fixture
def known_vol(tmp_path):
    path = tmp_path / "known.vol"
    path.write_bytes(synthetic_vol(n=3, height=40, width=48, slo=30, scale=(0.0039, 0.0118),
                                   slo_scale=0.03))
    return path


@needs_eyepy
@needs_vol
def test_vol_export_shows_frames_fundus_position_and_summary(make_window, model_dirs):
    w = make_window(model_dirs["accept"], [VOL])
    assert w.last_error is None, w.last_error
    assert w.scan.n_frames == 10 and not w.image_view.slider_row.isHidden()
    tools, panel = w.volume, w.volume.panel
    assert not tools.dock.isHidden() and not panel.graphics.isHidden()
    assert panel.image.image.shape == vol_header(VOL)["slo"]
    w.step_frame(3)
    assert w.image_view.current_frame == 3 and panel.frame == 3
    x, y = panel.current.getData()
    np.testing.assert_allclose(np.c_[x, y], w.scan.fundus.bscan_lines[3])
    # this test export's B-scan positions lie beyond its 50 x 50 fundus: said, not hidden
    assert "outside its 50 x 50 px fundus image" in panel.position.text()
    s = summarize(w.result, CLASSES)
    assert panel.summary.text() == f"Volume: {s.text()}"
    assert s.n_frames == 10 and sum(s.per_class.values()) + s.rejected == 10


@needs_eyepy
def test_fundus_line_follows_the_slider(make_window, model_dirs, known_vol):
    w = make_window(model_dirs["accept"], [known_vol])
    panel = w.volume.panel
    for i in (2, 0, 1):
        w.image_view.set_frame(i)
        x, y = panel.current.getData()
        assert y[0] == pytest.approx((0.1 + 0.05 * i) / 0.03)
        assert panel.position.text() == f"B-scan {i + 1} of 3 (blue line)."


@needs_eyepy
def test_caliper_in_micrometres_on_a_vol_and_in_the_report(make_window, model_dirs, known_vol,
                                                           tmp_path):
    w = make_window(model_dirs["accept"], [known_vol])
    m = w.volume.add_caliper((4, 10), (34, 30))
    assert m.calibrated and m.length == pytest.approx(math.hypot(30 * 11.8, 20 * 3.9))
    line = w.volume.caliper.lines[0]
    assert line.label.toPlainText() == f"1: {m.length:.1f} µm"
    # dragging an end updates the length
    line.roi.movePoint(line.roi.getHandles()[1], (44, 10))
    assert w.volume.caliper.measurements()[0].length == pytest.approx(40 * 11.8)
    text = w.volume.report_text()
    assert f"Measurements:\n1. {40 * 11.8:.1f} µm" in text and "Volume: 3 frames" in text
    out = w.export(tmp_path / "report.png")
    img = QImage(str(out)).convertToFormat(QImage.Format_RGB32)
    px = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.width(), 4)
    caliper = (px[..., 2] == 0xE6) & (px[..., 1] == 0xA1) & (px[..., 0] == 0x00)
    assert caliper.sum() > 50, "the caliper line is not drawn on the report image"
    assert w.export(tmp_path / "report.pdf").stat().st_size > 1000


def test_caliper_without_spacing_reports_pixels_and_says_so(make_window, model_dirs,
                                                            sample_png):
    w = make_window(model_dirs["accept"], [sample_png])
    assert w.scan.pixel_spacing is None and w.volume.dock.isHidden()
    m = w.volume.add_caliper((0, 0), (30, 40))
    assert (m.length, m.unit) == (50.0, "px")
    assert "pixels" in w.statusBar().currentMessage()
    assert w.volume.report_text() == ("Measurements (in pixels: no pixel spacing):\n"
                                      "1. 50.0 px (pixel spacing unknown)")


def test_calipers_belong_to_their_frame_and_clear_with_a_new_scan(make_window, model_dirs,
                                                                  samples_dir, sample_png, qtbot):
    volume = next(samples_dir.glob("*.dcm"))
    w = make_window(model_dirs["accept"], [volume])
    assert w.scan.n_frames == 3 and not w.volume.dock.isHidden()
    assert w.volume.panel.caption.text() == "This file has no fundus image."
    assert w.volume.panel.summary.text().startswith("Volume: 3 frames: CNV ")
    w.volume.add_caliper()
    line = w.volume.caliper.lines[0]
    assert line.roi.isVisible()
    w.step_frame(1)
    assert not line.roi.isVisible() and w.volume.report_measurements() == []
    w.step_frame(-1)
    assert line.roi.isVisible() and len(w.volume.report_measurements()) == 1
    w.open_file(sample_png)
    wait_settled(qtbot, w)
    assert w.volume.caliper.lines == [] and line.roi.scene() is None
    assert w.volume.dock.isHidden()
