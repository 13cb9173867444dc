"""The viewer end to end, offscreen, on tiny real models and phantom scans."""
from pathlib import Path

import numpy as np
import pytest


from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication, QImage

from app.results import ACCEPTED_TEXT, REJECTED_TEXT
from app.settings import Settings
from core import CLASSES

from .conftest import tamper, wait_settled


def test_good_scan_shows_accepted_prediction(make_window, model_dirs, sample_png):
    w = make_window(model_dirs["accept"], [sample_png])
    assert w.model_state == "ready"
    assert "test model with random weights" in w.model_label.text()
    fr = w.result.frames[0]
    assert fr.accepted and fr.score >= fr.threshold
    p = w.analysis_panel
    assert p.state == "accepted"
    assert p.flag.text() == ACCEPTED_TEXT
    assert p.headline.text() == fr.label
    for c, prob in fr.probabilities.items():
        assert p.bars[c].value() == int(round(prob * 1000))
    assert p.gauge.margin == pytest.approx(fr.score - fr.threshold)
    assert w.image_view.image.image.shape == (96, 128)


def test_rejected_scan_never_shows_class_as_finding(make_window, model_dirs, sample_png):
    w = make_window(model_dirs["reject"], [sample_png])
    fr = w.result.frames[0]
    assert not fr.accepted
    p = w.analysis_panel
    assert p.state == "rejected"
    assert p.flag.text() == REJECTED_TEXT
    assert p.headline.text() == "Withheld"
    assert fr.label not in p.headline.text()
    assert "not reliable" in p.guess.text()
    assert f"{fr.score:,.1f}" in p.score_text.text()
    text = w.current_result_text()
    assert "Prediction withheld" in text and "Prediction: " not in text


@pytest.mark.parametrize("kind", ["corrupt", "truncated", "text", "empty"])
def test_bad_file_shows_message_and_keeps_previous_scan(make_window, model_dirs, sample_png,
                                                        bad_files, qtbot, kind):
    w = make_window(model_dirs["accept"], [sample_png])
    before, before_result = w.scan, w.result
    w.open_file(bad_files[kind])
    wait_settled(qtbot, w)
    assert w.last_error is not None and bad_files[kind].name in w.last_error
    assert w.error_box.isVisible()
    assert w.scan is before and w.result is before_result
    assert w.analysis_panel.state == "accepted"


def test_missing_model_still_opens_scans(make_window, tmp_path, sample_png):
    w = make_window(tmp_path / "nowhere", [sample_png])
    assert w.model_state == "none"
    assert "No model loaded" in w.model_label.text()
    assert w.scan is not None and w.result is None
    assert w.analysis_panel.headline.text() == "No model loaded"


def test_tampered_model_gives_clear_message(make_window, model_dirs, tmp_path, sample_png):
    bad = tamper(model_dirs["accept"], tmp_path / "tampered")
    w = make_window(bad, [sample_png])
    assert w.model_state == "error"
    assert "tampered" in w.last_error
    assert "No model loaded" in w.model_label.text()
    assert w.scan is not None and w.analysis_panel.state == "message"


def test_folder_lists_results_and_navigates(make_window, model_dirs, samples_dir, qtbot):
    w = make_window(model_dirs["accept"], [samples_dir])
    files = sorted(samples_dir.iterdir())
    lst = w.folder_panel.list
    assert lst.count() == len(files)
    qtbot.waitUntil(lambda: len(w.folder_results) == len(files), timeout=20000)
    assert all(lst.item(r).data(Qt.UserRole + 1) == "accepted" for r in range(lst.count()))
    assert not lst.item(0).icon().isNull()
    assert w.scan.source == w.folder_panel.path_at(0)
    w.act_next.trigger()
    wait_settled(qtbot, w)
    assert w.scan.source == w.folder_panel.path_at(1)
    # cached folder results are shown without re-running the analysis
    assert w.result is w.folder_results[w.scan.source]
    w.act_prev.trigger()
    wait_settled(qtbot, w)
    assert w.scan.source == w.folder_panel.path_at(0)
    lst.setFocus()
    qtbot.keyClick(lst, Qt.Key_Down)
    wait_settled(qtbot, w)
    assert w.scan.source == w.folder_panel.path_at(1)


def test_folder_analysis_can_be_cancelled(make_window, model_dirs, samples_dir, qtbot):
    w = make_window(model_dirs["accept"])
    w.open_folder(samples_dir)
    assert w.runner.running("folder")
    w.cancel_folder()
    assert not w.runner.running("folder")
    wait_settled(qtbot, w)
    assert not w.folder_panel.progress_row.isVisible()
    assert w.folder_panel.title.text().endswith(f"of {len(list(samples_dir.iterdir()))} analysed")


def test_multiframe_scan_slider_scale_bar_and_phi(make_window, model_dirs, samples_dir, qtbot):
    vol = samples_dir / "synthetic-volume.dcm"
    w = make_window(model_dirs["accept"], [vol])
    v = w.image_view
    assert not v.slider_row.isHidden() and v.slider.maximum() == 2
    assert v.scale_bar is not None and v.scale_bar.text.textItem.toPlainText().endswith("mm")
    v.set_frame(2)
    assert "Frame 3 of 3" in w.analysis_panel.frame_note.text()
    np.testing.assert_array_equal(v.image.image, w.scan.frames[2])
    keys = [k for k, _ in w.metadata_panel.rows()]
    assert "PatientName" not in keys and "(hidden)" in keys
    w.metadata_panel.hide_phi.setChecked(False)
    assert "PatientName" in [k for k, _ in w.metadata_panel.rows()]


def test_view_actions(make_window, model_dirs, sample_png):
    w = make_window(model_dirs["accept"], [sample_png])
    v = w.image_view
    w.act_fit.trigger()
    before = v.view.viewRange()[0]
    w.act_zoom_in.trigger()
    after = v.view.viewRange()[0]
    assert after[1] - after[0] < before[1] - before[0]
    w.act_invert.trigger()
    assert v.inverted and v.rendered_frame()[0, 0] == 255 - int(w.scan.frames[0, 0, 0] * 255)
    shortcuts = {a.text(): a.shortcut().toString() for a in w.findChildren(type(w.act_open))}
    assert [t for t, k in shortcuts.items() if k == "D"] == ["&Demo Mode"]  # D is the demo's


def test_export_png_and_pdf(make_window, model_dirs, sample_png, tmp_path):
    w = make_window(model_dirs["reject"], [sample_png])
    png = w.export(tmp_path / "out" / "report.png")
    img = QImage(str(png))
    assert not img.isNull() and img.width() == 1600
    pdf = w.export(tmp_path / "out" / "report.pdf")
    assert pdf.read_bytes()[:4] == b"%PDF" and pdf.stat().st_size > 2000
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.pdf", "report.png"]
    assert w.export(tmp_path / "report.txt") is None and "png or .pdf" in w.last_error


def test_copy_result_as_text(make_window, model_dirs, sample_png):
    w = make_window(model_dirs["accept"], [sample_png])
    w.act_copy.trigger()
    text = QGuiApplication.clipboard().text()
    assert sample_png.name in text and w.result.frames[0].label in text
    assert "not for clinical use" in text


def test_settings_persist_and_survive_garbage(tmp_path):
    s = Settings(model_dir="/x", threshold_override=-12.5, theme="light")
    s.add_recent(tmp_path / "a.png")
    s.save()
    t = Settings.load()
    assert (t.model_dir, t.threshold_override, t.theme) == ("/x", -12.5, "light")
    assert t.recent_files == [str((tmp_path / "a.png").resolve())]
    assert not [p for p in Settings.path().parent.iterdir() if p.name != "settings.json"]
    Settings.path().write_text("{not json")
    assert Settings.load() == Settings()


def test_threshold_override_and_recent_files(make_window, model_dirs, sample_png, qtbot):
    w = make_window(model_dirs["accept"], [sample_png])
    assert w.analysis_panel.state == "accepted"
    w.set_threshold_override(float(model_dirs["scores"].max()) + 1.0)
    wait_settled(qtbot, w)
    assert w.analysis_panel.state == "rejected"
    again = Settings.load()
    assert again.threshold_override == pytest.approx(model_dirs["scores"].max() + 1.0)
    assert again.recent_files[0] == str(sample_png.resolve())
    assert w.recent_menu.actions()[0].text() == str(sample_png.resolve())


def test_drag_and_drop_opens_file(make_window, model_dirs, sample_png, qtbot):
    w = make_window(model_dirs["accept"])
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(sample_png))])
    ev = QDropEvent(QPointF(20, 20), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    w.dropEvent(ev)
    wait_settled(qtbot, w)
    assert w.scan is not None and w.scan.source == sample_png


def test_open_samples_from_help_menu(make_window, model_dirs, qtbot, tmp_path):
    w = make_window(model_dirs["accept"])
    w.act_sample.trigger()
    qtbot.waitUntil(lambda: w.folder_panel.list.count() > 0, timeout=20000)
    wait_settled(qtbot, w)
    # the real Kermany sample scans, not phantoms
    assert w.scan is not None and not w.scan.synthetic
    assert w.scan.source is not None and Path(w.scan.source).name.split("-")[0] in CLASSES


def test_about_shows_model_card(make_window, model_dirs):
    w = make_window(model_dirs["accept"])
    assert "# Tiny test model" in w.about_markdown()
    w.about()
    from PySide6.QtWidgets import QTextBrowser
    assert "Tiny test model" in w.about_dialog.findChild(QTextBrowser).toPlainText()


def test_closing_while_busy_does_not_hang(make_window, model_dirs, samples_dir, qtbot):
    import time
    w = make_window(model_dirs["accept"])
    w.open_folder(samples_dir)
    t = time.perf_counter()
    w.close()
    assert time.perf_counter() - t < 3.5
