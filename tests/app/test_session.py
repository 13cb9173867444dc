"""The viewer session on its own: no QApplication, real models and scans.

Its jobs run here directly, as the task runner would run them on a worker.
"""
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from app import jobs
from app.results import NOT_CLINICAL
from app.session import ViewerSession
from app.settings import Settings
from core.analysis import Analyzer, ScanResult
from core.errors import ModelError
from core.io import iter_scan_files, load_scan
from core.model_store import load_model_dir
from core.progress import Progress


def run(job):
    """Run a session job as the task runner does; -> (result, partials)."""
    parts = []
    return job(Progress(), parts.append), parts


@pytest.fixture(scope="module")
def three_frames(model_dirs, sample_png):
    """Real frame results of one scan: accepted, rejected by the gate, unscreened (no gate)."""
    scan = load_scan(sample_png)
    accept = load_model_dir(model_dirs["accept"], device="cpu")
    reject = load_model_dir(model_dirs["reject"], device="cpu")
    models = (accept, reject, dataclasses.replace(accept, gate=None))
    return [Analyzer(m).analyze(scan).frames[0] for m in models]


@pytest.fixture
def loaded_session(model_dirs):
    s = ViewerSession(Settings.load(), model_dirs["accept"])
    s.model_loaded(*run(s.load_model_job())[0])
    return s


def test_importing_the_session_imports_no_qt():
    code = ("import sys, app.session; "
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'shiboken'))]; "
            "sys.exit(', '.join(bad) or None)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stdout + out.stderr


def test_model_dir_comes_from_the_argument_then_the_settings(tmp_path):
    settings = Settings.load()
    settings.model_dir = str(tmp_path / "from-settings")
    assert ViewerSession(settings, tmp_path / "arg").model_dir == tmp_path / "arg"
    assert ViewerSession(settings).model_dir == tmp_path / "from-settings"
    settings.model_dir = None
    assert ViewerSession(settings).model_dir is None


def test_a_real_model_loads_and_the_session_is_ready(loaded_session):
    s = loaded_session
    assert s.model_state == "ready" and s.analyzer is not None and s.is_settled()
    assert s.model_message == f"{s.model.name}: {s.model.provenance}"
    assert s.model_line() == s.model_message
    about = s.about_markdown()
    assert about.startswith("# OCTGuard ") and NOT_CLINICAL in about
    assert "# Tiny test model" in about                 # the model's own card


def test_a_model_without_a_gate_says_so(model_dirs):
    s = ViewerSession(Settings.load(), model_dirs["accept"])
    loaded, _ = run(s.load_model_job())[0]
    s.model_loaded(dataclasses.replace(loaded, gate=None), None)
    assert s.model_message.endswith(" (no detection gate)") and s.model_state == "ready"


def test_a_missing_model_is_none_and_a_broken_one_an_error(tmp_path):
    s = ViewerSession(Settings.load(), tmp_path / "nowhere")
    assert s.model_state == "loading" and not s.is_settled()
    with pytest.raises(ModelError) as info:
        run(s.load_model_job())
    assert s.model_failed(info.value) == "none" and s.model_state == "none"
    assert s.model_message == "No model loaded: predictions unavailable" and s.is_settled()
    s.load_model_job()
    assert s.model_failed(ModelError("weights do not match the manifest")) == "error"
    assert s.model_message == "No model loaded: the model could not be used"
    assert s.model is None and s.analyzer is None
    assert "No model loaded: the model could not be used" in s.about_markdown()


def test_a_scan_opened_while_the_model_loads_waits_for_it(samples_dir, model_dirs):
    s = ViewerSession(Settings.load(), model_dirs["accept"])
    job = s.load_model_job()
    assert s.analysis_request() == "no scan"
    path = sorted(samples_dir.glob("*.png"))[0]
    assert s.scan_opened(load_scan(path), path) is None
    assert s.analysis_request() == "wait" and s.analysis_pending and not s.is_settled()
    s.model_loaded(*run(job)[0])
    assert s.model_settled() == (True, False)
    assert not s.analysis_pending and s.is_settled()
    assert s.model_settled() == (True, False)        # still no result: still to analyse
    assert s.analysis_request() == "run"
    scan, job = s.analysis_job()
    assert scan is s.scan
    result, _ = run(job)
    s.set_result(result)
    assert s.result is result and len(result.frames) == 1
    assert s.folder_results == {}                    # not in a folder: nothing cached
    assert str(path.resolve()) == s.settings.recent_files[0]


def test_no_model_means_no_analysis(tmp_path, sample_png):
    s = ViewerSession(Settings.load(), tmp_path / "nowhere")
    s.load_model_job()
    from core.model_store import load_model_dir
    with pytest.raises(ModelError) as info:    # the error a missing folder really gives
        load_model_dir(tmp_path / "nowhere", device="cpu")
    s.model_failed(info.value)
    s.scan_opened(load_scan(sample_png), sample_png)
    assert s.analysis_request() == "no model"
    assert s.model_settled() == (True, False)        # a scan without a result: try again
    assert s.result_text(0) is None
    assert s.report_body(0) == "No prediction: No model loaded: predictions unavailable"
    assert s.frame_state(0) == "none"


def test_a_folder_is_analysed_and_its_results_are_reused(loaded_session, samples_dir):
    s = loaded_session
    files = list(iter_scan_files(samples_dir))
    assert s.open_folder_list(files, "samples") is False     # the model is ready: no wait
    n, items = run(s.folder_job())
    for it in items:
        s.folder_item(it)
    assert n == len(files) == len(s.folder_results)
    assert all(isinstance(it, jobs.FolderItem) and it.error is None for it in items)
    cached = s.folder_results[files[-1]]
    assert s.scan_opened(load_scan(files[-1]), files[-1]) is cached
    # a new threshold makes every cached result stale
    s.set_threshold_override(-1e9)
    assert s.folder_results == {} and s.settings.threshold_override == -1e9
    assert s.scan_opened(load_scan(files[-1]), files[-1]) is None
    _, job = s.analysis_job()
    result, _ = run(job)
    s.set_result(result)
    assert s.folder_results[files[-1]] is result             # in the folder: cached
    # a new folder drops the old one's results
    assert s.open_folder_list(files[:1], "one") is False
    assert s.folder_paths == files[:1] and s.folder_results == {} and s.folder_title == "one"


def test_a_folder_opened_while_the_model_loads_waits(samples_dir, model_dirs):
    s = ViewerSession(Settings.load(), model_dirs["accept"])
    job = s.load_model_job()
    assert s.open_folder_list(list(iter_scan_files(samples_dir)), "samples") is True
    s.model_loaded(*run(job)[0])
    assert s.model_settled() == (False, True)
    assert not s.folder_pending


def test_a_new_model_dir_is_saved_and_drops_the_result(loaded_session, tmp_path, sample_png,
                                                       three_frames):
    s = loaded_session
    s.scan_opened(load_scan(sample_png), sample_png)
    s.set_result(ScanResult(three_frames[:1]))
    s.set_model_dir(tmp_path / "other")
    assert s.result is None and s.settings.model_dir == str(tmp_path / "other")
    s.set_model_dir(None)
    assert s.model_dir is None and s.settings.model_dir is None


def test_frame_state_text_and_report_body(loaded_session, sample_png, three_frames):
    s = loaded_session
    s.scan_opened(load_scan(sample_png), sample_png)
    assert s.frame_index(0) is None and s.frame_state(0) == "none"
    s.set_result(ScanResult(list(three_frames)))
    assert [s.frame_state(i) for i in range(3)] == ["accepted", "rejected", "unscreened"]
    assert s.frame_index(99) == 2 and s.frame_index(-5) == 0   # out of range never raises
    text = s.result_text(1)
    assert text.startswith(f"OCTGuard result for {s.scan.name}, frame 2 of 3")
    assert f"Model: {s.model_line()}" in text and NOT_CLINICAL in text
    body = s.report_body(1)
    assert "Prediction withheld" in body and three_frames[1].label in body
    assert "Model: " not in body and NOT_CLINICAL not in body and "OCTGuard result" not in body


def test_the_threshold_override_lives_in_the_settings():
    settings = Settings.load()
    s = ViewerSession(settings)
    assert s.threshold_override is None
    s.set_threshold_override(3.5)
    assert settings.threshold_override == 3.5 == s.threshold_override
    s.set_threshold_override(None)
    assert settings.threshold_override is None


def test_a_blank_frame_stays_rejected_under_any_threshold_override(loaded_session, tmp_path):
    """The session's analysis job goes through core.verdict's one rule: no
    content is a rejection, whatever threshold the user sets."""
    import numpy as np
    from core.scan import Scan
    s = loaded_session
    blank = Scan(np.zeros((1, 96, 128), np.float32), source=tmp_path / "blank.png")
    for override in (None, -1e9):
        s.set_threshold_override(override)
        s.scan_opened(blank, blank.source)
        assert s.analysis_request() == "run"
        _, job = s.analysis_job()
        s.set_result(run(job)[0])
        assert s.frame_state(0) == "rejected" and not s.result.frames[0].accepted
        assert "blank" in s.report_body(0)             # the reason, in core.verdict's words
