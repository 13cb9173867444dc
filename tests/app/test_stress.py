"""Heavy use: many scans opened in quick succession while a folder is being
analysed, cancelling mid-run, closing the window in the middle of work.

Each test checks that nothing crashed (pytest-qt fails a test on an exception
raised in a Qt callback), nothing deadlocked (every wait has a timeout), the
last thing asked for is what is shown, and every worker thread is gone
afterwards. The short versions run in the normal suite; the 200-file ones are
marked slow.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QApplication

from app import jobs
from core.errors import Cancelled
from core.phantoms import write_samples
from core.progress import Progress

from .conftest import wait_settled

SETTLE_MS = 180_000    # generous: the CI machine is small and shared


def _pngs(directory: Path, n_files: int) -> list[Path]:
    """n_files small phantom PNGs (a quarter per class)."""
    paths = write_samples(directory, n_files // 4, height=64, width=80, volume_frames=0)
    assert len(paths) == n_files
    return paths


def _python_threads() -> int:
    """Threads Python started. A Qt pool worker that touched ``threading``
    is listed as a _DummyThread for good, though the pool (counted apart)
    has it back; counting it would report a leak that is not there."""
    return sum(not isinstance(t, threading._DummyThread) for t in threading.enumerate())


@pytest.fixture
def thread_baseline(qtbot):
    """Python threads and global-pool threads before the test; checks after
    that both are back, allowing idle pool threads a moment to exit."""
    QThreadPool.globalInstance().waitForDone(5000)
    before = _python_threads()
    yield before

    def back() -> bool:
        QApplication.processEvents()
        return (_python_threads() <= before
                and QThreadPool.globalInstance().activeThreadCount() == 0)
    qtbot.waitUntil(back, timeout=10_000)


def _assert_stopped(w, qtbot) -> None:
    # no worker is running now; the signals they queued land on the next event loop turn
    assert w.runner._pool.activeThreadCount() == 0
    qtbot.waitUntil(w.runner.is_idle, timeout=2000)


def _open_rapidly(w, files: list[Path], every: int = 5) -> None:
    """Open one file after another as a user holding an arrow key would: the
    event loop runs only now and then, so most requests are overtaken."""
    for k, p in enumerate(files):
        w.open_file(p)
        if k % every == 0:
            QApplication.processEvents()


def _rapid_open_while_folder_runs(make_window, model_dirs, tmp_path, qtbot, n_files):
    files = _pngs(tmp_path / "many", n_files)
    w = make_window(model_dirs["accept"])
    w.open_folder(tmp_path / "many")
    assert w.runner.running("folder")
    _open_rapidly(w, files[::-1])
    wait_settled(qtbot, w, timeout=SETTLE_MS)
    # the last request wins, with its own result, and nothing was reported as an error
    assert w.scan is not None and w.scan.source == files[0]
    assert w.result is not None and len(w.result.frames) == 1
    assert w.last_error is None
    # the folder analysis was not disturbed by the opening
    assert len(w.folder_results) == n_files
    assert w.folder_panel.title.text().endswith(f"{n_files} scan(s)")
    _assert_stopped(w, qtbot)
    w.close()
    _assert_stopped(w, qtbot)


def test_open_many_files_while_folder_analysis_runs(make_window, model_dirs, tmp_path,
                                                    qtbot, thread_baseline):
    _rapid_open_while_folder_runs(make_window, model_dirs, tmp_path, qtbot, 40)


@pytest.mark.slow
def test_open_200_files_while_folder_analysis_runs(make_window, model_dirs, tmp_path,
                                                   qtbot, thread_baseline):
    _rapid_open_while_folder_runs(make_window, model_dirs, tmp_path, qtbot, 200)


def test_cancel_folder_mid_run_then_open_again(make_window, model_dirs, tmp_path, qtbot,
                                               thread_baseline):
    n = 40
    files = _pngs(tmp_path / "many", n)
    w = make_window(model_dirs["accept"])
    w.open_folder(tmp_path / "many")
    qtbot.waitUntil(lambda: len(w.folder_results) >= 3, timeout=SETTLE_MS)
    w.cancel_folder()
    assert not w.runner.running("folder")
    wait_settled(qtbot, w, timeout=SETTLE_MS)
    done = len(w.folder_results)
    assert 3 <= done < n
    assert w.folder_panel.title.text().endswith(f"{done} of {n} analysed")
    assert not w.folder_panel.progress_row.isVisible()
    # results stop arriving once cancelled
    qtbot.wait(200)
    assert len(w.folder_results) == done
    # and the viewer works normally afterwards: a new folder run goes to the end
    w.open_folder(tmp_path / "many")
    wait_settled(qtbot, w, timeout=SETTLE_MS)
    assert len(w.folder_results) == n and w.last_error is None
    w.open_file(files[-1])
    wait_settled(qtbot, w)
    assert w.scan.source == files[-1] and w.result is not None
    _assert_stopped(w, qtbot)


def test_folder_cancel_stops_inside_a_long_volume(model_dirs, tmp_path):
    """Cancelling must not wait for a whole volume to be analysed: the folder
    job hands the analysis a progress that checks the folder's cancel."""
    from core.analysis import Analyzer
    from core.model_store import load_model_dir

    vol = write_samples(tmp_path, 0, height=48, width=64, volume_frames=64)[-1]
    analyzer = Analyzer(load_model_dir(model_dirs["accept"], device="cpu"), batch_size=4)
    messages = []

    def seen(fraction, message):
        messages.append(message)
        if "frame 9 of 64" in message:
            progress.cancel()
    progress = Progress(seen)
    rows = []
    with pytest.raises(Cancelled):
        jobs.analyze_folder([vol], analyzer, None, progress, rows.append)
    assert rows == []                    # no half-analysed row
    assert not any("frame 13 of 64" in m for m in messages)


def test_close_during_work_stops_every_thread(make_window, model_dirs, tmp_path, qtbot,
                                              thread_baseline):
    files = _pngs(tmp_path / "many", 40)
    w = make_window(model_dirs["accept"])
    w.open_folder(tmp_path / "many")
    _open_rapidly(w, files[:10])
    assert not w.runner.is_idle()
    t = time.perf_counter()
    w.close()
    assert time.perf_counter() - t < 3.5
    _assert_stopped(w, qtbot)
    # queued results from before the close land without raising (pytest-qt
    # would fail the test) and change nothing
    scan = w.scan
    qtbot.wait(300)
    assert w.scan is scan


@pytest.mark.parametrize("cycles", [3, pytest.param(15, marks=pytest.mark.slow)])
def test_windows_opened_and_closed_mid_work_leak_no_threads(make_window, model_dirs,
                                                           samples_dir, qtbot,
                                                           thread_baseline, cycles):
    for _ in range(cycles):
        w = make_window(model_dirs["accept"])
        w.open_folder(samples_dir)
        w.open_file(samples_dir / "synthetic-volume.dcm")
        w.close()
        _assert_stopped(w, qtbot)


def test_opening_scans_does_not_drain_references_to_none(make_window, model_dirs,
                                                          samples_dir, qtbot):
    """PySide6 6.12.0 drops a reference to None on every void Qt call (about
    540 per opened scan here); at zero the interpreter aborts with
    'none_dealloc', which took the viewer down after about 300 scans in the
    memory soak. This catches that class of bug in any C extension we use."""
    import gc
    import sys

    files = sorted(samples_dir.iterdir())
    w = make_window(model_dirs["accept"], [files[0]])
    gc.collect()
    before = sys.getrefcount(None)
    for k in range(20):
        w.open_file(files[k % len(files)])
        wait_settled(qtbot, w)
    gc.collect()
    lost = before - sys.getrefcount(None)
    assert lost < 500, (f"{lost} references to None lost over 20 openings: a C extension "
                        "(PySide6 6.12.0?) decrements None without owning it; the viewer "
                        "would abort after a few hundred scans")
