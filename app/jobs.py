"""The plain functions the task runner runs, one per kind of long work.

They import torch and ``core.model_store`` lazily, on the worker thread, so
the window is on screen before torch has finished importing.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import Future
from contextlib import closing, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from core.errors import Cancelled, OCTGuardError, ScanError
from core.progress import Progress
from core.scan import Scan

THUMB = 96
PREFETCH_BYTES = 128 * 2**20   # decoded frames waiting for the network: ~130 B-scans
# Pillow decodes with the GIL released, so loaders on several cores decode
# side by side; a few are enough to keep ahead of a batch
LOAD_WORKERS = max(1, min(4, os.cpu_count() or 1))


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
    with progress and cancellation inside them. Files are decoded, and their
    thumbnails drawn, on :data:`LOAD_WORKERS` prefetch threads at once. On an
    accelerator they run on while a batch is in the network; on the CPU they
    pause for it, since its threads already take every core (measured on 2
    cores, 2026-12-04: a loader beside the forwards cost more than it hid)."""
    from core.io import load_scan as _load
    from core.prefetch import prefetch

    def load(p: Path) -> tuple[Scan, np.ndarray]:
        scan = _load(p)
        return scan, thumbnail(scan)

    n = len(paths)
    pending: list[tuple[int, Path, object, np.ndarray]] = []
    batch = 32                  # rows shown together when there is no model
    if analyzer is not None:
        analyzer = analyzer.with_threshold(override)
        batch = analyzer.batch_size   # the network's own batch: one forward per flush

    def network():
        """Around the network's work: the loaders pause when it runs on the CPU."""
        on_cpu = analyzer is not None and analyzer.loaded.device.type == "cpu"
        return loads.paused() if on_cpu else nullcontext()

    def flush() -> None:
        if not pending:
            return
        results, err = [None] * len(pending), None
        if analyzer is not None:
            try:
                with network():
                    results = analyzer.analyze_many([s for _, _, s, _ in pending])
            except (OCTGuardError, RuntimeError, ValueError) as exc:
                err = f"analysis failed: {exc}"
        for (i, p, scan, thumb), res in zip(pending, results):
            partial(FolderItem(i, p, thumb, res, err))
        pending.clear()

    # closing: a cancel (raised by progress.update) stops the prefetch thread at once
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
            scan, thumb = loaded
            if scan.n_frames == 1:
                pending.append((i, p, scan, thumb))
                if len(pending) >= batch:
                    flush()
                continue
            flush()
            res, err = None, None
            if analyzer is not None:
                # per-batch progress inside a volume: the bar moves, and a cancel
                # stops mid-volume instead of after it (and before the window's
                # close gives up waiting)
                inner = Progress(lambda f, m, i=i, p=p: progress.update(
                    (i + f) / max(n, 1), f"{i + 1} of {n}: {p.name}, {m}"))
                try:
                    with network():
                        res = analyzer.analyze(scan, inner)
                except Cancelled:
                    raise
                except (OCTGuardError, RuntimeError, ValueError) as exc:
                    err = f"analysis failed: {exc}"
            partial(FolderItem(i, p, thumb, res, err))
        flush()
    progress.update(1.0, f"{n} scans")
    return n
