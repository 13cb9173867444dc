"""A dependency-free text progress bar with ETA for the command line."""
from __future__ import annotations

import sys
import time


class ProgressBar:
    def __init__(self, total: int, enabled: bool = True, initial: int = 0, stream=None):
        self.total, self.done, self.enabled = max(total, 1), initial, enabled
        self.stream = stream or sys.stderr
        self.t0, self.start_done, self._last = time.perf_counter(), initial, 0.0
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def step(self, message: str = "", n: int = 1) -> None:
        self.done += n
        now = time.perf_counter()
        if not self.enabled or (now - self._last < (0.5 if self._tty else 30) and self.done < self.total):
            return
        self._last = now
        rate = (self.done - self.start_done) / max(now - self.t0, 1e-9)
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        frac = self.done / self.total
        bar = "#" * int(30 * frac) + "-" * (30 - int(30 * frac))
        eta_s = time.strftime("%H:%M:%S", time.gmtime(eta)) if eta != float("inf") else "--:--:--"
        line = f"[{bar}] {100 * frac:5.1f}% ETA {eta_s} {message}"
        self.stream.write(("\r" + line) if self._tty else line + "\n")
        self.stream.flush()

    def note(self, message: str) -> None:
        if self.enabled:
            self.stream.write(("\n" if self._tty else "") + message + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._tty:
            self.stream.write("\n")
            self.stream.flush()
