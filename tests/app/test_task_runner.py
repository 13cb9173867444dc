"""The background runner: results on the GUI thread, same-kind cancellation,
errors as values, and a shutdown that does not hang."""
import threading
import time

import pytest

from app.task_runner import TaskRunner
from core.errors import Cancelled, ScanError


def _slow(progress, partial, steps=200):
    for i in range(steps):
        progress.update(i / steps, "working")
        time.sleep(0.01)
    return "slow done"


def test_result_arrives_on_gui_thread(qtbot):
    r = TaskRunner()
    got = {}

    def fn(progress, partial):
        partial(1)
        return threading.get_ident()

    def done(worker_ident):
        got["worker"] = worker_ident
        got["gui"] = threading.get_ident()

    parts = []
    r.start("x", fn, on_done=done, on_partial=parts.append)
    qtbot.waitUntil(lambda: "gui" in got, timeout=5000)
    assert got["gui"] == threading.main_thread().ident != got["worker"]
    assert parts == [1]
    assert r.is_idle()


def test_new_task_of_same_kind_cancels_old(qtbot):
    r = TaskRunner()
    results, errors = [], []
    r.start("scan", _slow, on_done=results.append, on_error=errors.append)
    r.start("scan", lambda p, part: "second", on_done=results.append, on_error=errors.append)
    qtbot.waitUntil(r.is_idle, timeout=5000)
    assert results == ["second"]
    assert len(errors) == 1 and isinstance(errors[0], Cancelled)


def test_errors_come_back_as_values(qtbot):
    r = TaskRunner()
    errors = []

    def bad(progress, partial):
        raise ScanError("x.png", "broken")

    def bug(progress, partial):
        return 1 / 0

    r.start("a", bad, on_error=errors.append)
    r.start("b", bug, on_error=errors.append)
    qtbot.waitUntil(r.is_idle, timeout=5000)
    kinds = sorted(type(e).__name__ for e in errors)
    assert kinds == ["ScanError", "ZeroDivisionError"]


def test_shutdown_cancels_and_waits(qtbot):
    r = TaskRunner()
    r.start("folder", lambda p, part: _slow(p, part, steps=10_000))
    time.sleep(0.05)
    t = time.perf_counter()
    assert r.shutdown(3000)
    assert time.perf_counter() - t < 1.0
    with pytest.raises(RuntimeError):
        r.start("x", _slow)


def test_garbage_is_collected_on_the_gui_thread_only(qtbot):
    """A worker that allocates reference cycles past the GC threshold must not
    run the collector itself (it would delete Qt wrappers off the GUI thread);
    the GUI thread's timer collects them instead."""
    import gc

    runner = TaskRunner()
    where: list[int] = []

    def seen(phase, info):
        if phase == "start":
            where.append(threading.get_ident())
    gc.callbacks.append(seen)
    try:
        def make_cycles(progress, partial):
            for _ in range(50 * gc.get_threshold()[0]):
                a = []
                a.append(a)
            return True
        done = []
        runner.start("cycles", make_cycles, on_done=done.append)
        qtbot.waitUntil(lambda: bool(done), timeout=20000)
        qtbot.waitUntil(lambda: bool(where), timeout=5000)   # the GUI-thread timer collected
    finally:
        gc.callbacks.remove(seen)
    assert set(where) == {threading.main_thread().ident}
    assert not gc.isenabled()
