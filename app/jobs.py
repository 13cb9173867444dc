"""The plain functions the task runner runs, one per kind of long work.

They import torch and ``core.model_store`` lazily, on the worker thread, so
the window is on screen before torch has finished importing.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import Future
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from core.errors import Cancelled, OCTGuardError, ScanError
from core.progress import Progress
from core.scan import Scan

THUMB = 96
PREFETCH_BYTES = 128 * 2**20   # decoded frames waiting for the network: ~130 B-scans


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))     # a container's or taskset's share
    except AttributeError:                      # not on Linux
        return os.cpu_count() or 1


# Pillow decodes with the GIL released, so loaders on several cores decode
# side by side. Four: on a 16-core H200 host the folder job ran at 526 scans/s
# on CUDA with four and 423 with eight (the GIL), 2026-12-04
LOAD_WORKERS = max(1, min(4, _usable_cpus()))


def _read_model(model_dir: Path | str | None) -> Any:
    from core import model_store
    from core.analysis import Analyzer
    directory = Path(model_dir) if model_dir else model_store.DEFAULT_MODEL_DIR
    loaded = model_store.load_model_dir(directory, device="cpu")
    return loaded, Analyzer(loaded)


def _key(model_dir: Path | str | None) -> str:
    return str(Path(model_dir).resolve()) if model_dir else ""


_preloads: dict[str, Future] = {}
_preloads_lock = threading.Lock()


def preload_model(model_dir: Path | str | None) -> None:
    """Import torch and read the model on a plain thread, started before Qt
    builds the window: torch's native work and the hashing release the GIL,
    so both run at once (first result 0.2 s sooner on 2 cores, A/B measured).
    The model job below takes the result, or the error, the first time it
    asks for the same directory; later loads read the files again."""
    future: Future = Future()
    with _preloads_lock:
        _preloads[_key(model_dir)] = future

    def work() -> None:
        try:
            future.set_result(_read_model(model_dir))
        except BaseException as exc:  # noqa: BLE001 - handed to the model job, which reports it
            future.set_exception(exc)
    threading.Thread(target=work, name="octguard-preload", daemon=True).start()


def load_model(model_dir: Path | None, progress: Progress, partial: Callable) -> Any:
    """-> (LoadedModel, Analyzer). Raises ModelError with a readable message."""
    with _preloads_lock:
        preloaded = _preloads.pop(_key(model_dir), None)
    progress.update(0.0, "loading torch and checking model files")
    # a preload's errors are this job's errors
    result = preloaded.result() if preloaded is not None else _read_model(model_dir)
    progress.update(1.0, "model ready")
    return result


def load_scan(path: Path, progress: Progress, partial: Callable) -> Scan:
    progress.update(0.0, f"reading {Path(path).name}")
    from core.io import load_scan as _load
    try:
        return _load(Path(path))
    except OCTGuardError:
        raise
    except (OSError, ValueError, MemoryError) as exc:  # a loader bug must still read well
        raise ScanError(path, f"cannot read this file ({exc})") from exc


def analyze(analyzer, scan: Scan, override: float | None, progress: Progress,
            partial: Callable):
    """``override``: the user's gate threshold (None: the model's own); the
    analyser applies it inside core.verdict's rule."""
    return analyzer.with_threshold(override).analyze(scan, progress)


@dataclass
class FolderItem:
    """One row of a folder: what the list shows."""
    index: int
    path: Path
    thumbnail: np.ndarray | None      # uint8 (h, w)
    result: Any = None                # core.analysis.ScanResult
    error: str | None = None


def thumbnail(scan: Scan, size: int = THUMB) -> np.ndarray:
    f = scan.frames[0]
    step = max(1, int(np.ceil(max(f.shape) / size)))
    return np.ascontiguousarray((np.clip(f[::step, ::step], 0, 1) * 255).astype(np.uint8))


def analyze_folder(paths: list[Path], analyzer, override: float | None,
                   progress: Progress, partial: Callable) -> int:
    """Load and analyse every file; each row goes to ``partial`` as it is done,
    in order. Bad files become rows with an error, never an exception.

    Single-frame scans are analysed in batches (a profile of the folder job
    showed batch-1 convolutions taking most of its time); volumes go alone,
    with progress and cancellation inside them. Files are decoded, their
    thumbnails drawn and single B-scans resized to the network's input on
    :data:`LOAD_WORKERS` prefetch threads at once, while a batch is in the
    network. Pausing them while the network ran on the CPU was tried and
    measured slower (2026-12-04, 2 cores: 15 of 20 interleaved rounds, twice,
    faster without; 16 cores: 712 against 734 ms for 96 scans)."""
    from core.io import load_scan as _load
    from core.prefetch import prefetch

    def load(p: Path) -> tuple[Scan, np.ndarray, Any]:
        scan = _load(p)
        # a single B-scan's network input too, here on the loader threads,
        # side by side (a volume is prepared a batch at a time as it is analysed)
        ready = None
        if analyzer is not None and scan.n_frames == 1:
            try:
                ready = analyzer.prepare(scan)
            except (RuntimeError, ValueError):
                pass                   # prepared again in the batch, which reports it
        return scan, thumbnail(scan), ready

    n = len(paths)
    pending: list[tuple[int, Path, Scan, np.ndarray, Any]] = []
    batch = 32                  # rows shown together when there is no model
    if analyzer is not None:
        analyzer = analyzer.with_threshold(override)
        batch = analyzer.batch_size   # the network's own batch: one forward per flush

    def flush() -> None:
        if not pending:
            return
        results, err = [None] * len(pending), None
        if analyzer is not None:
            try:
                results = analyzer.analyze_many([e[2] for e in pending], inputs=[e[4] for e in pending])
            except (OCTGuardError, RuntimeError, ValueError) as exc:
                err = f"analysis failed: {exc}"
        for (i, p, scan, thumb, _), res in zip(pending, results):
            partial(FolderItem(i, p, thumb, res, err))
        pending.clear()

    # closing: a cancel (raised by progress.update) stops the prefetch threads at once
    with closing(prefetch(load, paths, ahead=2 * batch, size=lambda got: got[0].frames.nbytes,
                          budget=PREFETCH_BYTES, workers=LOAD_WORKERS)) as loads:
        for i, (p, loaded, exc) in enumerate(loads):
            progress.update(i / max(n, 1), f"{i + 1} of {n}: {p.name}")
            if exc is not None:
                if not isinstance(exc, (OCTGuardError, OSError, ValueError, MemoryError)):
                    raise exc      # a bug: the task runner reports it
                flush()
                partial(FolderItem(i, p, None, None, str(exc)))
                continue
            scan, thumb, ready = loaded
            if scan.n_frames == 1:
                pending.append((i, p, scan, thumb, ready))
                if len(pending) >= batch:
                    flush()
                continue
            flush()
            res, err = None, None
            if analyzer is not None:
                # per-batch progress inside a volume: the bar moves, and a cancel
                # stops mid-volume instead of after it (and before the window's
                # close gives up waiting)
                inner = progress.part(i / max(n, 1), 1 / max(n, 1), f"{i + 1} of {n}: {p.name}, ")
                try:
                    res = analyzer.analyze(scan, inner)
                except Cancelled:
                    raise
                except (OCTGuardError, RuntimeError, ValueError) as exc:
                    err = f"analysis failed: {exc}"
            partial(FolderItem(i, p, thumb, res, err))
        flush()
    progress.update(1.0, f"{n} scans")
    return n
