"""What the device-export loaders share: importing the optional readers,
turning their arrays into a Scan's frames, and turning their failures into
one-line ScanErrors.

eyepy and oct-converter are imported here, lazily, only when such a file is
opened: the viewer starts as fast without them, and a missing one gives a
message naming the extra that installs it.
"""
from __future__ import annotations

import importlib
import logging
import sys
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Iterator

import numpy as np

from ..errors import ScanError
from .pixels import display_string, scale_float, scale_unsigned

# pip extras (pyproject.toml): "vendor" holds every reader; "heyex" only eyepy,
# about a tenth of the download (oct-converter brings OpenCV and ffmpeg).
EXTRA_ALL = "vendor"
EXTRA_HEYEX = "heyex"


def import_reader(path: Path, module: str, what: str, extra: str = EXTRA_ALL) -> ModuleType:
    """Import an optional reader; ScanError naming the extra when it is missing."""
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        lighter = f" (or the lighter 'octguard[{EXTRA_HEYEX}]')" if extra == EXTRA_HEYEX else ""
        if getattr(sys, "frozen", False):   # the installed package: pip means nothing to its user
            raise ScanError(path, f"{what} files need a reader this OCTGuard package was built "
                                  f"without; it has to be rebuilt with 'octguard[{extra}]' "
                                  f"installed (docs/install.md; {display_string(exc, 100)})") from None
        raise ScanError(path, f"{what} files need the optional vendor readers: install them "
                              f"with pip install 'octguard[{EXTRA_ALL}]'{lighter} "
                              f"({display_string(exc, 100)})") from None
    _quiet(module)
    return mod


def _quiet(module: str) -> None:
    # The readers log notes such as "fewer layers than expected" through
    # logging; without a handler Python prints them on stderr. A NullHandler
    # keeps them off the terminal while an application's own handlers still see them.
    log = logging.getLogger(module.split(".")[0])
    if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
        log.addHandler(logging.NullHandler())


@contextmanager
def reading(path: Path, what: str) -> Iterator[None]:
    """Whatever a third-party reader raises becomes one ScanError line."""
    try:
        yield
    except ScanError:
        raise
    except MemoryError:
        raise ScanError(path, f"not enough memory to read the {what} file") from None
    except RecursionError:
        raise ScanError(path, f"the {what} file is nested too deeply to read safely") from None
    except Exception as exc:  # noqa: BLE001 - construct, numpy, XML and OS errors alike
        raise ScanError(path, f"the {what} file is damaged or truncated ({describe(exc)})") from None


def describe(exc: BaseException) -> str:
    """A short one-line account of a reader's exception."""
    names = {c.__name__ for c in type(exc).__mro__}
    if "StreamError" in names:  # construct: the parser ran past the end of the data
        return "it ends before the data its header declares"
    if isinstance(exc, ValueError) and "fromstring" in str(exc):
        return ("the reader does not work with this NumPy: it uses np.fromstring, "
                "which NumPy 2.3 removed")
    text = display_string(f"{type(exc).__name__}: {exc}", 160)
    return " ".join(text.split())


def unit_frames(path: Path, data, metadata: dict[str, str]) -> np.ndarray:
    """A reader's B-scans, (F, H, W) of any integer or float type, -> [0, 1]."""
    values = np.asarray(data)
    if values.ndim == 2:
        values = values[None]
    if values.ndim != 3 or 0 in values.shape:
        raise ScanError(path, f"the B-scans have an unexpected shape {values.shape}")
    return unit_image(path, values, metadata)


def unit_image(path: Path, values: np.ndarray, metadata: dict[str, str]) -> np.ndarray:
    kind = values.dtype.kind
    if kind == "b":
        return values.astype(np.float32)
    if kind == "u":
        return scale_unsigned(values, 8 * values.dtype.itemsize)
    if kind == "i":  # signed storage: shift to unsigned, as the image loader does
        bits = 8 * values.dtype.itemsize
        return scale_unsigned(values.astype(np.int64) + 2 ** (bits - 1), bits)
    if kind == "f":
        return scale_float(path, values, metadata)
    raise ScanError(path, f"unsupported pixel type {values.dtype}")


def positive_mm(*values) -> bool:
    """True when every value is a finite, positive, plausible spacing in mm."""
    try:
        return all(np.isfinite(float(v)) and 0 < float(v) < 100 for v in values)
    except (TypeError, ValueError):
        return False


def text(value, limit: int = 200) -> str:
    """A metadata value as a display string; '' for empty or missing."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.split(b"\0", 1)[0].decode("ascii", "replace")
    return display_string(str(value).split("\0", 1)[0], limit)


def put(metadata: dict[str, str], phi: set[str], key: str, value, is_phi: bool = False) -> None:
    """Add a non-empty value; remember it as patient-identifying when it is."""
    s = text(value)
    if s and s.lower() not in ("unknown", "none"):
        metadata[key] = s
        if is_phi:
            phi.add(key)
