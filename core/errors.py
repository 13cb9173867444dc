"""The documented error types. Callers catch these, never bare exceptions."""
from __future__ import annotations

from pathlib import Path


class OCTGuardError(Exception):
    """Base class for every error OCTGuard raises on purpose."""


class ScanError(OCTGuardError):
    """A scan could not be read. The message names the file and the reason."""

    def __init__(self, path: str | Path | None, reason: str):
        self.path = None if path is None else Path(path)
        self.reason = reason
        where = f"{self.path.name}: " if self.path is not None else ""
        super().__init__(f"{where}{reason}")


class NotOCTError(ScanError):
    """The file is readable but says it is not an OCT scan (a CT or MR DICOM):
    refused before analysis, like an unreadable file, with the reason named."""


class ModelError(OCTGuardError):
    """A model directory is missing, incomplete, tampered with or mismatched."""


class NoModelError(ModelError):
    """There is no model directory where one was looked for (not a broken one)."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        super().__init__(f"no model at {self.directory}")


class Cancelled(OCTGuardError):
    """Raised from a progress callback when the user cancelled the work."""
