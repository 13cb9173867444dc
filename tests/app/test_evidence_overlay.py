"""The evidence overlay in the viewer: off the GUI thread, shown, following the
frame, cancellable, in the report, and side by side in demo mode."""
import threading

import numpy as np
import pytest
from PySide6.QtGui import QImage

pytest.importorskip("captum")

from app.demo.params import DemoParams

from .conftest import INPUT_SIZE, wait_settled


def _wait_map(qtbot, w, timeout=30000):
    qtbot.waitUntil(lambda: w.evidence.current is not None and not w.evidence.busy(),
                    timeout=timeout)


def test_toggle_computes_off_the_gui_thread_and_shows_it(qtbot, make_window, model_dirs,
                                                          sample_png, monkeypatch):
    import core.evidence as ce

    threads = []
    real = ce.explain_frame

    def spy(*a, **k):
        threads.append(threading.current_thread())
        return real(*a, **k)

    monkeypatch.setattr(ce, "explain_frame", spy)
    w = make_window(model_dirs["accept"], [sample_png])
    iv = w.image_view
    assert not iv.overlay.isVisible()
    qtbot.keyClick(w, "e")                       # the E key toggles it
    assert w.evidence.enabled
    _wait_map(qtbot, w)
    assert threads and all(t is not threading.main_thread() for t in threads)
    ev = w.evidence.current
    assert ev.heat.shape == w.scan.frames[0].shape
    assert iv.overlay.isVisible() and iv.overlay.image.shape == ev.heat.shape + (4,)
    assert ev.target in w.evidence.status.text()
    # opacity follows the slider
    w.evidence.slider.setValue(25)
    assert iv.overlay.opacity() == pytest.approx(0.25)
    # and off again from the View menu
    w.evidence.action.trigger()
    assert not w.evidence.enabled and not iv.overlay.isVisible()


def test_overlay_follows_the_frame_and_caches(qtbot, make_window, model_dirs, samples_dir):
    vol = next(samples_dir.glob("*.dcm"))
    w = make_window(model_dirs["accept"], [vol])
    assert w.scan.n_frames > 1
    w.evidence.set_enabled(True)
    _wait_map(qtbot, w)
    first = w.evidence.current
    w.image_view.set_frame(1)
    assert w.evidence.current is None            # the old frame's map never lingers
    _wait_map(qtbot, w)
    second = w.evidence.current
    assert second is not first
    w.image_view.set_frame(0)                    # back: from the cache, at once
    assert w.evidence.current is first


def test_turning_off_cancels_a_running_map(qtbot, make_window, model_dirs, sample_png):
    w = make_window(model_dirs["accept"], [sample_png])
    w.evidence.set_method("occlusion")           # the slow one: many forward passes
    w.evidence.set_enabled(True)
    qtbot.waitUntil(lambda: w.evidence.busy(), timeout=5000)
    w.evidence.set_enabled(False)
    wait_settled(qtbot, w)
    assert w.evidence.current is None and not w.image_view.overlay.isVisible()
    assert w.evidence.last_error is None


def test_report_includes_the_map(qtbot, make_window, model_dirs, sample_png, tmp_path):
    w = make_window(model_dirs["accept"], [sample_png])
    plain = w.export(tmp_path / "plain.png")
    w.evidence.set_enabled(True)
    _wait_map(qtbot, w)
    with_map = w.export(tmp_path / "map.png")
    a, b = QImage(str(plain)), QImage(str(with_map))
    assert a.size() == b.size()

    def coloured(img):    # pixels whose red, green and blue differ: not grey
        arr = np.frombuffer(img.convertToFormat(QImage.Format_RGB888).constBits(),
                            np.uint8).reshape(img.height(), -1)[:, :img.width() * 3]
        px = arr.reshape(img.height(), img.width(), 3)[:, : img.width() // 2].astype(int)
        return int((np.ptp(px, axis=2) > 30).sum())

    assert coloured(b) > coloured(a) + 100


@pytest.mark.parametrize("native", [False, True], ids=["model-input", "native"])
def test_demo_shows_clean_and_adversarial_maps(qtbot, make_window, model_dirs, sample_png,
                                               native):
    w = make_window(model_dirs["accept"], [sample_png])
    w.evidence.set_enabled(True)
    w.demo.set_params(DemoParams(attack="fgsm", eps=0.05, native=native))
    w.demo.set_enabled(True)
    qtbot.waitUntil(lambda: w.evidence.demo_maps is not None and not w.demo.busy()
                    and not w.evidence.busy(), timeout=30000)
    clean, adv = w.evidence.demo_maps
    o = w.demo.outcome
    # a native attack's images are whole frames: the map sits on the model's crop of them
    shape = o.original.shape if native else (INPUT_SIZE, INPUT_SIZE)
    assert clean.heat.shape == adv.heat.shape == shape
    if native:
        assert shape != (INPUT_SIZE, INPUT_SIZE) and shape[0] != shape[1]
        top, left, side = clean.box
        assert side == min(shape) and not clean.heat[:, :left].any()
    assert clean.target == o.clean.label and adv.target == o.adv.label
    panes = w.demo.panel.views.panes
    for k, m in (("original", clean), ("adversarial", adv)):
        assert panes[k].evidence.isVisible()
        assert m.target in panes[k].title.text()
    w.evidence.set_enabled(False)
    assert not panes["original"].evidence.isVisible()
