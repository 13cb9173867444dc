"""The viewer refuses what is not OCT in one clear line, and a blank frame
stays rejected under a user threshold override (the bug of issue 14)."""
import numpy as np
from PIL import Image

from app.results import NO_CONTENT_TEXT, NOT_OCT_TEXT
from bench.ood_kinds import write_dicom

from .conftest import wait_settled


def test_a_ct_dicom_is_refused_by_name(make_window, model_dirs, tmp_path):
    p = write_dicom(tmp_path / "slice.dcm", "CT")
    w = make_window(model_dirs["accept"], [p])
    assert w.result is None
    assert w.last_error == "Not an OCT scan: slice.dcm: not an OCT scan (modality CT)"
    assert w.analysis_panel.headline.text() == "Not an OCT scan"
    assert "modality CT" in w.analysis_panel.guess.text()


def test_a_gradient_is_refused_as_not_oct_without_a_class(make_window, model_dirs, tmp_path):
    p = tmp_path / "gradient.png"
    Image.fromarray(np.tile(np.linspace(0, 255, 128).astype(np.uint8), (96, 1))).save(p)
    w = make_window(model_dirs["accept"], [p])
    fr = w.result.frames[0]
    assert (fr.verdict, fr.reason) == ("rejected", "not OCT")
    panel = w.analysis_panel
    assert panel.state == "rejected" and panel.flag.text().startswith(NOT_OCT_TEXT)
    assert fr.label not in panel.headline.text() + panel.guess.text()


def test_blank_frame_with_override_is_rejected_in_the_viewer(make_window, model_dirs, tmp_path, qtbot):
    p = tmp_path / "blank.png"
    Image.fromarray(np.full((96, 128), 90, np.uint8)).save(p)
    w = make_window(model_dirs["accept"], [p])
    w.set_threshold_override(float(model_dirs["scores"].min()) - 1e6)    # accepts every score
    wait_settled(qtbot, w)
    fr = w.result.frames[0]
    assert fr.score >= fr.threshold                # the override alone would accept it
    assert (fr.verdict, fr.reason) == ("rejected", "no content")
    assert w.analysis_panel.state == "rejected" and w.analysis_panel.flag.text() == NO_CONTENT_TEXT
