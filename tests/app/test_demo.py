"""Demo mode on tiny real models: each attack's wiring, cancellation, risk
categories, the 8-bit toggle, the DEMO overlay, the set run, the CLI, and
that the opened file is never written."""
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

from app.demo import jobs
from app.demo.params import DemoParams
from app.demo.views import OVERLAY_COLOUR, OVERLAY_TEXT
from app.main import build_parser

from .conftest import INPUT_SIZE, wait_settled

ROOT = Path(__file__).resolve().parents[2]
FAST = dict(eps=0.01, steps=3, cw_steps=10)


def _run(qtbot, w, params: DemoParams, timeout=20000):
    """Set the controls, switch the mode on and wait for that run's result."""
    w.demo.outcome = None
    w.demo.set_params(params)
    w.demo.set_enabled(True)
    qtbot.waitUntil(lambda: w.demo.outcome is not None and w.demo.outcome.params == params
                    and not w.demo.busy(), timeout=timeout)
    return w.demo.outcome


def _model_input(scan_frame):
    from core.preprocess import to_tensor
    return to_tensor(scan_frame, INPUT_SIZE, 1)[0, 0].numpy()


def _digest(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


@pytest.mark.parametrize("attack", ["fgsm", "pgd", "cw", "adaptive"])
def test_each_attack_runs_on_the_open_scan(qtbot, make_window, model_dirs, sample_png, attack):
    w = make_window(model_dirs["accept"], [sample_png])
    o = _run(qtbot, w, DemoParams(attack=attack, **FAST))
    assert o.params.attack == attack
    # the original is the grey model input of the open frame, untouched
    assert np.allclose(o.original, _model_input(w.scan.frames[0]), atol=1e-6)
    assert o.adversarial.shape == (INPUT_SIZE, INPUT_SIZE)
    delta = np.abs(o.adversarial - o.original).max()
    if attack != "cw":
        assert 0 < delta <= FAST["eps"] + 1e-6
    # the views and the panel show this outcome
    views = w.demo.panel.views
    assert np.array_equal(views.panes["adversarial"].image.image, o.adversarial)
    assert np.allclose(views.panes["perturbation"].image.image, (o.adversarial - o.original) * 255)
    assert jobs.CATEGORY_TEXT[o.category] in w.demo.panel.outcome.banner.text()
    assert o.adv.label in w.demo.panel.outcome.adversarial.label.text()


def test_controls_emit_the_chosen_params(qtbot, make_window, model_dirs, sample_png):
    w = make_window(model_dirs["accept"], [sample_png])
    c = w.demo.panel.controls
    c.set_params(DemoParams(attack="cw", eps=0.012, steps=7, c=2.5, eight_bit=True))
    p = c.params()
    assert (p.attack, p.steps, p.c, p.eight_bit) == ("cw", 7, 2.5, True)
    assert p.eps == pytest.approx(0.012)
    assert "3.06 grey levels" in c.eps_label.text()          # 0.012 * 255
    assert not c.eps.isEnabled() and c.c.isEnabled()          # C&W has no eps bound


def test_cancel_stops_a_long_cw_run(qtbot, make_window, model_dirs, sample_png):
    w = make_window(model_dirs["accept"], [sample_png])
    seen = []
    w.demo.outcome_changed.connect(seen.append)
    w.demo.set_params(DemoParams(attack="cw", c=100.0, cw_steps=100000))
    w.demo.set_enabled(True)
    status = w.demo.panel.status
    qtbot.waitUntil(lambda: w.demo.runner.running("attack") and "CW step" in status.text(),
                    timeout=10000)
    assert w.demo.panel.cancel_button.isEnabled()
    w.demo.panel.cancel_button.click()
    qtbot.waitUntil(lambda: w.demo.runner.is_idle(), timeout=3000)
    qtbot.wait(50)
    assert seen == [] and w.demo.outcome is None
    assert "Cancelled" in w.demo.panel.status.text()


def test_a_new_run_replaces_the_running_one(qtbot, make_window, model_dirs, sample_png):
    w = make_window(model_dirs["accept"], [sample_png])
    seen = []
    w.demo.outcome_changed.connect(seen.append)
    w.demo.set_params(DemoParams(attack="cw", c=100.0, cw_steps=100000))
    w.demo.set_enabled(True)
    qtbot.waitUntil(lambda: w.demo.runner.running("attack"), timeout=10000)
    fast = DemoParams(attack="fgsm", eps=0.004)
    w.demo.set_params(fast)                       # debounced, then cancels the C&W run
    qtbot.waitUntil(lambda: bool(seen) and not w.demo.busy(), timeout=10000)
    assert [o.params for o in seen] == [fast]


def test_risk_categories(qtbot, make_window, model_dirs, sample_png, tmp_path):
    from core.analysis import Analyzer
    from core.io import load_scan
    from core.model_store import load_model_dir

    zero = DemoParams(attack="fgsm", eps=0.0)     # no perturbation: the clean answer
    # no label in the file name: "correct" is the clean prediction
    plain = tmp_path / "scan.png"
    shutil.copy(sample_png, plain)
    w = make_window(model_dirs["accept"], [plain])
    o = _run(qtbot, w, zero)
    assert (o.reference_source, o.category) == ("clean prediction", jobs.ACCEPTED_CORRECT)
    assert "clean image" in w.demo.panel.outcome.notes.text()

    # a file-name label the model disagrees with: accepted and wrong
    loaded = load_model_dir(model_dirs["accept"], device="cpu")
    clean = Analyzer(loaded).analyze(load_scan(plain)).frames[0].label
    other = next(c for c in loaded.classes if c != clean)
    named = tmp_path / f"{other}-123-1.png"
    shutil.copy(sample_png, named)
    w2 = make_window(model_dirs["accept"], [named])
    o = _run(qtbot, w2, zero)
    assert (o.reference, o.reference_source, o.category) == (other, "file name",
                                                             jobs.ACCEPTED_WRONG)

    # a gate that rejects everything
    w3 = make_window(model_dirs["reject"], [plain])
    o = _run(qtbot, w3, DemoParams(attack="pgd", **FAST))
    assert o.category == jobs.REJECTED and not o.adv.accepted
    assert "Rejected by the gate" in w3.demo.panel.outcome.banner.text()


def test_known_label_and_category_rules():
    classes = ("CNV", "DME", "DRUSEN", "NORMAL")
    assert jobs.known_label(Path("CNV-1016042-1.jpeg"), classes) == "CNV"
    assert jobs.known_label(Path("x/synthetic-DRUSEN-0000.png"), classes) == "DRUSEN"
    assert jobs.known_label(Path("data/NORMAL/img01.png"), classes) == "NORMAL"
    assert jobs.known_label(Path("patient-7.png"), classes) is None
    assert jobs.known_label(Path("CNV-vs-DME.png"), classes) is None      # ambiguous


def test_eight_bit_toggle_quantises(qtbot, make_window, model_dirs, sample_png):
    w = make_window(model_dirs["accept"], [sample_png])
    p = DemoParams(attack="fgsm", eps=0.003)        # 0.77 grey levels
    o = _run(qtbot, w, p)
    assert o.adv_float is None
    assert not np.allclose(o.adversarial * 255, np.round(o.adversarial * 255), atol=1e-3)
    o8 = _run(qtbot, w, p.with_(eight_bit=True))
    for img in (o8.original, o8.adversarial):
        assert np.allclose(img * 255, np.round(img * 255), atol=1e-3)
    steps = np.unique(np.round((o8.adversarial - o8.original) * 255))
    assert set(steps) <= {-1.0, 0.0, 1.0} and len(steps) > 1    # +-1 level, as the issue says
    assert o8.adv_float is not None
    assert "8-bit file: before rounding" in w.demo.panel.outcome.notes.text()


def test_native_8bit_setting_exports_a_marked_file_the_viewer_flags(
        qtbot, make_window, model_dirs, sample_png, tmp_path):
    """The realistic setting: the full-resolution scan attacked in whole grey
    levels; Export writes that file, which reopens with the demo's verdict and
    shows the "demonstration image" banner in the viewer."""
    from core.analysis import Analyzer
    from core.io import load_scan
    from core.model_store import load_model_dir

    w = make_window(model_dirs["accept"], [sample_png])
    assert w.demonstration_banner.isHidden()
    p = DemoParams(attack="pgd", eps=2 / 255, steps=2, native=True, eight_bit=True)  # native is always on the 8-bit grid
    c = w.demo.panel.controls
    c.set_params(p)
    assert c.params().native and c.params().eight_bit and "native resolution" in c.image_kind.currentText()
    o = _run(qtbot, w, p)
    assert o.original.shape == w.scan.frames[0].shape and np.array_equal(o.original, w.scan.frames[0])
    levels = np.round(o.perturbation * 255)
    assert np.allclose(o.perturbation * 255, levels, atol=1e-3) and 1 <= np.abs(levels).max() <= 2
    h, wd = w.scan.frames[0].shape
    assert w.demo.panel.views.panes["original"].title.text().startswith(
        f"Original (native resolution, {wd} x {h})")
    assert "Export writes this file" in w.demo.panel.outcome.notes.text()

    for suffix in (".png", ".dcm"):
        w.demo.exported = None
        w.demo.export_file(tmp_path / f"adv{suffix}")
        qtbot.waitUntil(lambda: w.demo.exported is not None, timeout=20000)
        out, fr = w.demo.exported
        assert (fr.label, fr.accepted) == (o.adv.label, o.adv.accepted)
        back = load_scan(out)
        assert back.demonstration and np.array_equal(back.frames[0], o.adversarial)
        again = Analyzer(load_model_dir(model_dirs["accept"], device="cpu")).analyze(back).frames[0]
        # the demo's worker runs torch on fewer threads (fewer_threads), and a
        # convolution summed in another order differs in the 7th digit
        assert again.score == pytest.approx(o.adv.score, rel=1e-5)
        assert "demonstration image" in w.statusBar().currentMessage()
    w.open_paths([tmp_path / "adv.png"])
    wait_settled(qtbot, w)
    banner = w.demonstration_banner
    assert not banner.isHidden() and "DEMONSTRATION IMAGE" in banner.text()
    w.demo.set_enabled(False)
    assert banner.isVisible()                                       # over the main image view
    w.open_paths([sample_png])
    wait_settled(qtbot, w)
    assert banner.isHidden()


def test_overlay_on_screen_and_in_exports_and_the_file_is_never_written(
        qtbot, make_window, model_dirs, sample_png, tmp_path):
    scan = tmp_path / "scan.png"
    shutil.copy(sample_png, scan)
    before = _digest(scan)
    w = make_window(model_dirs["accept"], [scan])
    o = _run(qtbot, w, DemoParams(attack="pgd", **FAST))
    panes = w.demo.panel.views.panes
    for key in ("adversarial", "perturbation"):
        assert panes[key].overlay.isVisible() and panes[key].overlay.text() == OVERLAY_TEXT
    assert panes["original"].overlay is None
    shot = w.grab().toImage()
    assert _has_colour(shot, OVERLAY_COLOUR)
    w.demo.panel.views.set_mode("adversarial")          # switchable: the overlay stays
    qtbot.wait(20)
    assert panes["adversarial"].overlay.isVisible()

    out = w.demo.export_adversarial(tmp_path / "exports" / "adv.png")
    img = QImage(str(out))
    assert img.width() >= 512 and img.pixelColor(img.width() // 2, 3).name() == OVERLAY_COLOUR
    assert not list((tmp_path / "exports").glob(".*"))      # no temp file left behind
    # exporting onto the opened scan is refused
    assert w.demo.export_adversarial(scan) is None
    assert "never overwrites" in (w.last_error or "")
    w.demo.set_params(DemoParams(attack="fgsm", eps=0.02, eight_bit=True))
    qtbot.waitUntil(lambda: not w.demo.busy(), timeout=10000)
    assert _digest(scan) == before
    assert np.array_equal(w.scan.frames[0], _load_frames(scan)[0])   # in memory too


def _load_frames(path):
    from core.io import load_scan
    return load_scan(path).frames


def _has_colour(img: QImage, name: str, step: int = 3) -> bool:
    return any(img.pixelColor(x, y).name() == name
               for x in range(0, img.width(), step) for y in range(0, img.height(), step))


def test_run_on_a_set_risk_chart_and_exports(qtbot, make_window, model_dirs, samples_dir,
                                            tmp_path):
    from core.risk import adversarial_risk

    w = make_window(model_dirs["accept"], [samples_dir])
    p = DemoParams(attack="fgsm", eps=0.01)
    w.demo.set_params(p)
    w.demo.open_set_dialog()
    dlg = w.demo.set_dialog
    assert "5 file(s)" in dlg.source.text()
    dlg.run_button.click()
    qtbot.waitUntil(lambda: dlg.result is not None, timeout=30000)
    r = dlg.result
    assert len(r.cases) == 4 + 3 and not r.errors       # four PNGs and a 3-frame volume
    counts = r.counts("adv")
    assert sum(counts.values()) == len(r.cases)
    heights = list(dlg.chart.bars["adv"].opts["height"])
    assert heights == [counts[k] for k in (jobs.REJECTED, jobs.ACCEPTED_CORRECT,
                                           jobs.ACCEPTED_WRONG)]
    idx = {c: i for i, c in enumerate(dlg.classes)}
    expect = adversarial_risk([idx[c.reference] for c in r.cases],
                              [idx[c.clean.label] for c in r.cases],
                              [c.clean.accepted for c in r.cases],
                              [idx[c.adv.label] for c in r.cases],
                              [c.adv.accepted for c in r.cases])
    assert f"r(f) = {expect.r_f:.3f}" in dlg.summary.text()
    assert f"r(f, g) = {expect.r_fg:.3f}" in dlg.summary.text()
    assert "AUPRC" in dlg.summary.text()

    csv_path = dlg.export(tmp_path / "risk.csv")
    lines = csv_path.read_text().splitlines()
    assert lines[0].startswith("# OCTGuard demo") and len(lines) == 3 + len(r.cases)
    png = dlg.export(tmp_path / "risk.png")
    assert QImage(str(png)).width() > 100
    assert _has_colour(QImage(str(png)), OVERLAY_COLOUR)

    # cancel a long run
    w.demo.set_params(DemoParams(attack="cw", c=100.0, cw_steps=100000))
    dlg.run_button.click()
    qtbot.waitUntil(lambda: "CW step" in dlg.status.text(), timeout=10000)
    dlg.cancel_button.click()
    qtbot.waitUntil(lambda: dlg.runner.is_idle(), timeout=3000)
    assert "Cancelled" in dlg.status.text() and dlg.result is None
    dlg.close()


def test_model_choice_lists_siblings_and_no_model_is_a_message(qtbot, make_window, model_dirs,
                                                             sample_png, tmp_path):
    w = make_window(model_dirs["accept"], [sample_png])
    combo = w.demo.panel.controls.model
    names = [combo.itemText(i) for i in range(combo.count())]
    assert names[0].startswith("viewer's model") and "reject" in names
    o = _run(qtbot, w, DemoParams(attack="fgsm", eps=0.0, model_dir=model_dirs["reject"]))
    assert o.category == jobs.REJECTED                 # the other model's gate decided

    w2 = make_window(tmp_path / "no-such-model", [sample_png])
    # no installed models either (the repository ships some under models/)
    w2.demo.models_root = tmp_path / "no-models"
    w2.demo.refresh_models()
    w2.demo.set_enabled(True)
    qtbot.waitUntil(lambda: not w2.demo.busy(), timeout=5000)
    assert "No model to attack" in w2.demo.panel.outcome.banner.text()
    assert w2.demo.outcome is None


def test_d_key_and_menu_toggle_the_mode(qtbot, make_window, model_dirs):
    w = make_window(model_dirs["accept"])
    assert w.demo.action in w.toolbar.actions() and w.demo.action in w.menus["model"].actions()
    assert w.demo.action.shortcut().toString() == "D"
    w.demo.action.trigger()
    assert w.demo.enabled and w.demo.dock.isVisible()
    w.demo.action.trigger()
    assert not w.demo.enabled and not w.demo.dock.isVisible()


def test_parser_demo_options():
    a = build_parser().parse_args(["x.png", "--demo", "PGD", "--eps", "0.005", "--eight-bit"])
    assert (a.demo, a.eps, a.eight_bit) == ("pgd", 0.005, True)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--demo", "nope"])


def test_demo_screenshot_cli(qapp, model_dirs, sample_png, tmp_path):
    scan = tmp_path / "scan.png"
    shutil.copy(sample_png, scan)
    before = _digest(scan)
    out = tmp_path / "demo.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run([sys.executable, "-m", "app", str(scan), "--model",
                        str(model_dirs["accept"]), "--demo", "pgd", "--eps", "0.005",
                        "--steps", "3", "--screenshot", str(out), "--size", "1200x800"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1200, 800)
    assert _has_colour(img, OVERLAY_COLOUR)
    # the category banner (a result, not the waiting message) is in the shot
    from app.demo.outcome import CATEGORY_COLOUR
    assert any(_has_colour(img, c) for c in CATEGORY_COLOUR.values())
    assert _digest(scan) == before
