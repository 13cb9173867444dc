"""A background runner for long jobs (Orange3's ``concurrent`` style). The
window, demo mode and the risk dialog each own one (docs/architecture.md).

A task is a plain function ``fn(progress, partial)``: ``progress`` is a
:class:`core.progress.Progress` (``update`` raises ``Cancelled`` once the task
is cancelled) and ``partial(obj)`` hands an intermediate result to the GUI.
Results, errors and progress come back on the GUI thread through queued
signals. Tasks have a *kind*; starting a task cancels the running task of the
same kind, and results of cancelled tasks are dropped.
"""
from __future__ import annotations

import itertools
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from core.errors import Cancelled, OCTGuardError
from core.progress import Progress

Callback = Callable[[Any], None] | None

_collector = None


def collect_garbage_on_gui_thread() -> None:
    """Python's cyclic GC runs in whichever thread allocates when a threshold
    is crossed. On a worker it frees dead windows' Qt wrappers there, deleting
    QGraphicsItems while the GUI thread paints their scene: a core dump caught
    it ("pure virtual method called" in QGraphicsScene's posted events while a
    worker built a model). pyqtgraph's collector disables the automatic GC
    and collects from a GUI-thread timer instead; installed once per process."""
    global _collector
    if _collector is None and threading.current_thread() is threading.main_thread():
        from pyqtgraph.util.garbage_collector import GarbageCollector
        _collector = GarbageCollector(interval=1.0)


class _Relay(QObject):
    """Lives on the GUI thread; the worker emits, Qt queues the call."""
    finished = Signal(int, object)
    failed = Signal(int, object)
    progressed = Signal(int, float, str)
    partial = Signal(int, object)


@dataclass
class Task:
    id: int
    kind: str
    progress: Progress
    on_done: Callback = None
    on_error: Callback = None
    on_progress: Callable[[float, str], None] | None = None
    on_partial: Callback = None
    done: bool = field(default=False)

    def cancel(self) -> None:
        self.progress.cancel()

    @property
    def cancelled(self) -> bool:
        return self.progress.cancelled


class _Job(QRunnable):
    def __init__(self, task: Task, fn: Callable, relay: _Relay):
        super().__init__()
        self.setAutoDelete(True)
        self.task, self.fn, self.relay = task, fn, relay

    def run(self) -> None:  # worker thread
        t, relay = self.task, self.relay
        try:
            t.progress.check()          # cancelled while queued: don't start
            out = self.fn(t.progress, lambda obj: relay.partial.emit(t.id, obj))
        except Cancelled:
            relay.failed.emit(t.id, Cancelled("cancelled"))
        except OCTGuardError as exc:
            relay.failed.emit(t.id, exc)
        except Exception as exc:  # noqa: BLE001 - a bug must become a message, not a crash
            exc.details = traceback.format_exc()
            relay.failed.emit(t.id, exc)
        else:
            relay.finished.emit(t.id, out)


class TaskRunner(QObject):
    """Runs tasks on a small private thread pool.

    Two threads: a folder analysis may run while the user opens one scan;
    model loading is ordered by the caller (analysis waits for the model).
    """
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, max_threads: int = 2):
        super().__init__(parent)
        collect_garbage_on_gui_thread()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._relay = _Relay(self)
        self._relay.finished.connect(self._on_finished)
        self._relay.failed.connect(self._on_failed)
        self._relay.progressed.connect(self._on_progress)
        self._relay.partial.connect(self._on_partial)
        self._tasks: dict[int, Task] = {}
        self._ids = itertools.count(1)
        self._closed = False

    # -- public ------------------------------------------------------------
    def start(self, kind: str, fn: Callable[[Progress, Callable[[Any], None]], Any], *,
              on_done: Callback = None, on_error: Callback = None,
              on_progress: Callable[[float, str], None] | None = None,
              on_partial: Callback = None) -> Task:
        if self._closed:
            raise RuntimeError("task runner is shut down")
        self.cancel(kind)
        tid = next(self._ids)
        relay = self._relay
        progress = Progress(lambda f, m: relay.progressed.emit(tid, f, m))
        task = Task(tid, kind, progress, on_done, on_error, on_progress, on_partial)
        was_idle = not self._tasks
        self._tasks[tid] = task
        self._pool.start(_Job(task, fn, relay))
        if was_idle:
            self.busy_changed.emit(True)
        return task

    def cancel(self, kind: str | None = None) -> None:
        """Cancel running tasks of ``kind`` (all kinds when None)."""
        for t in list(self._tasks.values()):
            if kind is None or t.kind == kind:
                t.cancel()

    def running(self, kind: str | None = None) -> bool:
        return any(not t.cancelled and (kind is None or t.kind == kind)
                   for t in self._tasks.values())

    def is_idle(self) -> bool:
        return not self._tasks

    def shutdown(self, wait_ms: int = 3000) -> bool:
        """Cancel everything and wait briefly; True if every worker stopped."""
        self._closed = True
        self.cancel()
        return self._pool.waitForDone(wait_ms)

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until the pool is empty (tests, --screenshot)."""
        return self._pool.waitForDone(timeout_ms)

    # -- GUI-thread slots ------------------------------------------------------
    def _finish(self, tid: int) -> Task | None:
        t = self._tasks.pop(tid, None)
        if not self._tasks:
            self.busy_changed.emit(False)
        return t

    @Slot(int, object)
    def _on_finished(self, tid: int, out: object) -> None:
        t = self._finish(tid)
        if t is not None and not t.cancelled and t.on_done is not None:
            t.on_done(out)

    @Slot(int, object)
    def _on_failed(self, tid: int, exc: object) -> None:
        t = self._finish(tid)
        if t is None or t.on_error is None:
            return
        # a cancelled task reports only that it was cancelled, and only if asked
        if t.cancelled and not isinstance(exc, Cancelled):
            exc = Cancelled("cancelled")
        t.on_error(exc)

    @Slot(int, float, str)
    def _on_progress(self, tid: int, fraction: float, message: str) -> None:
        t = self._tasks.get(tid)
        if t is not None and not t.cancelled and t.on_progress is not None:
            t.on_progress(fraction, message)

    @Slot(int, object)
    def _on_partial(self, tid: int, obj: object) -> None:
        t = self._tasks.get(tid)
        if t is not None and not t.cancelled and t.on_partial is not None:
            t.on_partial(obj)
