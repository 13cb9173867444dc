"""Run a loader ahead of its consumer on background threads.

The viewer's folder job decodes the next files (and draws their thumbnails)
on these threads while a batch is in the network: Pillow's decoders release
the GIL, so several load at once, beside the network. Results come back in
order; a loader's exception comes back with its item instead of stopping the
walk, so one bad file is one bad row. What is loaded but not yet taken is
bounded in count and in bytes, so a folder of large volumes cannot fill
memory: at most ``budget`` bytes plus the items being loaded. Loads run side
by side only while that many of the largest result seen fit the budget, and
the first runs alone, so a folder of volumes loads one at a time.
"""
from __future__ import annotations

import threading
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Shared:
    """The state the loader threads and the consumer share. The threads hold
    only this, not the :class:`Prefetch`, so dropping the iterator (a consumer
    that raised) finalises it and stops them, as closing it does."""

    def __init__(self, load, items, ahead, size, budget, workers):
        self.load, self.items, self.ahead, self.size, self.budget = load, iter(items), ahead, size, budget
        self.cond = threading.Condition()
        self.done: dict[int, tuple] = {}     # index -> ((item, result, exc), bytes): loaded, not taken
        self.started = self.taken = 0        # items handed to a loader / to the consumer
        self.held = 0                        # bytes in ``done``
        self.loading = 0                     # items being loaded now
        self.largest = None                  # bytes of the largest result so far
        self.stop = self.exhausted = False
        self.running = workers               # loader threads still alive

    def room(self) -> bool:
        if self.stop or self.exhausted:
            return True
        side_by_side = self.loading == 0 or (
            self.largest is not None and (self.loading + 1) * self.largest <= self.budget)
        return side_by_side and self.started - self.taken < self.ahead and self.held < self.budget

    def work(self) -> None:
        try:
            while True:
                with self.cond:
                    self.cond.wait_for(self.room)
                    if self.stop or self.exhausted:
                        return
                    try:
                        item = next(self.items)
                    except StopIteration:
                        self.exhausted = True
                        return
                    i, self.started = self.started, self.started + 1
                    self.loading += 1
                try:
                    entry = (item, self.load(item), None)
                except Exception as exc:  # noqa: BLE001 - handed to the consumer with its item
                    entry = (item, None, exc)
                nbytes = 0 if entry[1] is None else self.size(entry[1])
                with self.cond:
                    self.done[i] = entry, nbytes
                    self.held += nbytes
                    self.loading -= 1
                    if entry[1] is not None:     # a failed load says nothing of sizes
                        self.largest = max(self.largest or 0, nbytes)
                    self.cond.notify_all()
        finally:
            with self.cond:
                self.running -= 1
                self.cond.notify_all()


class Prefetch(Iterator):
    """Iterator of ``(item, load(item), None)`` or ``(item, None, exc)``, in
    the items' order; see :func:`prefetch`."""

    def __init__(self, load, items, ahead, size, budget, workers):
        self._s = _Shared(load, items, ahead, size, budget, workers)
        self._threads = [threading.Thread(target=self._s.work, name=f"octguard-prefetch-{k}", daemon=True)
                         for k in range(workers)]
        for t in self._threads:
            t.start()

    def __next__(self):
        s = self._s
        with s.cond:
            # every started item is in ``done`` before its thread can end
            s.cond.wait_for(lambda: s.taken in s.done or s.stop or s.running == 0)
            if s.taken not in s.done:
                raise StopIteration
            entry, nbytes = s.done.pop(s.taken)
            s.taken += 1
            s.held -= nbytes
            s.cond.notify_all()
        return entry

    def close(self) -> None:
        """Stop the loaders after the items they are on (a cancel)."""
        with self._s.cond:
            self._s.stop = True
            self._s.cond.notify_all()
        for t in self._threads:
            if t is not threading.current_thread():   # a finaliser may run on any thread
                t.join()

    def __del__(self):
        if hasattr(self, "_threads"):      # not when __init__ failed
            self.close()


def prefetch(load: Callable[[T], R], items: Iterable[T], ahead: int = 8,
             size: Callable[[R], int] = lambda r: 0, budget: float = float("inf"),
             workers: int = 1) -> Prefetch:
    """Load ``items`` on ``workers`` threads while at most ``ahead`` of them,
    of ``size`` bytes in all below ``budget``, wait to be taken. Closing the
    iterator early (a cancel) stops the loaders after the items they are on."""
    return Prefetch(load, items, ahead, size, budget, max(1, int(workers)))
