"""Run a loader ahead of its consumer on one background thread.

The viewer's folder job decodes the next files (and draws their thumbnails)
while the current batch goes through the network: Pillow's decoders and
torch's kernels release the GIL, so the two overlap. Results come back in
order; a loader's exception comes back with its item instead of stopping
the walk, so one bad file is one bad row. What is loaded but not yet taken
is bounded in count and in bytes, so a folder of large volumes cannot fill
memory: at most ``budget`` bytes plus the one item being loaded.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")
_END = object()


def prefetch(load: Callable[[T], R], items: Iterable[T], ahead: int = 8,
             size: Callable[[R], int] = lambda r: 0, budget: float = float("inf"),
             ) -> Iterator[tuple[T, R | None, Exception | None]]:
    """Yield ``(item, load(item), None)`` or ``(item, None, exc)`` in order.
    The loader runs while at most ``ahead`` results, of ``size`` bytes in
    all below ``budget``, wait to be taken. Closing the iterator early (a
    cancel) stops the loader after the item it is on."""
    cond = threading.Condition()
    ready: deque = deque()
    state = {"held": 0, "stop": False}

    def room() -> bool:
        return state["stop"] or (len(ready) < ahead and state["held"] < budget)

    def worker() -> None:
        for item in items:
            with cond:
                cond.wait_for(room)
                if state["stop"]:
                    return
            try:
                entry = (item, load(item), None)
            except Exception as exc:  # noqa: BLE001 - handed to the consumer with its item
                entry = (item, None, exc)
            with cond:
                ready.append(entry)
                state["held"] += 0 if entry[1] is None else size(entry[1])
                cond.notify_all()
        with cond:
            ready.append(_END)
            cond.notify_all()

    thread = threading.Thread(target=worker, name="octguard-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            with cond:
                cond.wait_for(lambda: ready)
                entry = ready.popleft()
                if entry is _END:
                    return
                state["held"] -= 0 if entry[1] is None else size(entry[1])
                cond.notify_all()
            yield entry
    finally:
        with cond:
            state["stop"] = True
            cond.notify_all()
        thread.join()
