"""Repeated timing: warm-up runs first, then the median of timed runs with
its spread (interquartile range, min, max). CUDA work is synchronised before
the clock is read, so asynchronous kernels are not mistaken for speed."""
from __future__ import annotations

import statistics
import time
from typing import Callable

import torch


def _sync(device) -> None:
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def measure(fn: Callable[[], object], repeat: int = 5, warmup: int = 1, device=None) -> dict:
    """Seconds per call of ``fn``: median, quartiles, min, max over ``repeat`` runs."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(max(repeat, 1)):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return summarize(times)


def measure_interleaved(fns: dict[str, Callable[[], object]], repeat: int = 5, warmup: int = 1,
                        device=None) -> dict[str, dict]:
    """:func:`measure` for several functions at once, timed in rounds (one
    run of each per round), so a slow spell of a shared machine falls on all
    of them alike instead of on whichever ran during it; for figures that
    are a ratio of two of them."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    _sync(device)
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(max(repeat, 1)):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            _sync(device)
            times[k].append(time.perf_counter() - t0)
    return {k: summarize(v) for k, v in times.items()}


def summarize(times: list[float]) -> dict:
    times = sorted(float(t) for t in times)
    if len(times) >= 2:
        q1, _, q3 = statistics.quantiles(times, n=4, method="inclusive")
    else:
        q1 = q3 = times[0]
    return {"median": statistics.median(times), "p25": q1, "p75": q3,
            "min": times[0], "max": times[-1], "n": len(times)}


def scale(stats: dict, factor: float) -> dict:
    """The same statistics in another unit (per image, per 100 steps...)."""
    return {k: (v * factor if k != "n" else v) for k, v in stats.items()}


def rate(stats: dict, items: float) -> dict:
    """Seconds per call -> items per second (quartiles swap ends)."""
    return {"median": items / stats["median"], "p25": items / stats["p75"],
            "p75": items / stats["p25"], "min": items / stats["max"],
            "max": items / stats["min"], "n": stats["n"]}
