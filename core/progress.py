"""Qt-free progress reporting with cancellation.

Long work (training, attacks, folder analysis) takes a ``Progress`` and calls
``update``; the GUI or CLI sets ``cancel()`` from another thread and the next
``update`` raises :class:`Cancelled`, so the worker unwinds at a safe point.
"""
from __future__ import annotations

import threading
from typing import Callable

from .errors import Cancelled


class Progress:
    def __init__(self, callback: Callable[[float, str], None] | None = None):
        self._callback = callback
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled("cancelled by the user")

    def update(self, fraction: float, message: str = "") -> None:
        """Report progress in [0, 1]; raise Cancelled if cancel() was called."""
        self.check()
        if self._callback is not None:
            self._callback(min(max(fraction, 0.0), 1.0), message)


    def part(self, start: float, span: float, prefix: str = "") -> "ProgressPart":
        """This progress's [start, start + span] as a progress of its own, for
        one step of several (a frame of a volume, a file of a set)."""
        return ProgressPart(self, start, span, prefix)


class ProgressPart:
    """A stretch of a parent progress: ``update(f)`` moves the parent to
    ``start + span * f`` with ``prefix`` before the message, and cancelling
    the parent stops it at its next update."""

    def __init__(self, parent, start: float, span: float, prefix: str = ""):
        self.parent, self.start, self.span, self.prefix = parent, start, span, prefix

    @property
    def cancelled(self) -> bool:
        return self.parent.cancelled

    def check(self) -> None:
        self.parent.check()

    def update(self, fraction: float, message: str = "") -> None:
        self.parent.update(self.start + self.span * min(max(fraction, 0.0), 1.0), self.prefix + message)

    def part(self, start: float, span: float, prefix: str = "") -> "ProgressPart":
        return ProgressPart(self, start, span, prefix)
