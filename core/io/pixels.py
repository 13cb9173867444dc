"""Turning decoded pixel arrays into float32 in [0, 1], the way Scan wants them."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ScanError

# ITU-R BT.601 luma weights, the same ones Pillow uses for RGB -> "L".
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) colour -> (...) luminance, float32, same scale as the input."""
    return np.tensordot(rgb[..., :3].astype(np.float32, copy=False), LUMA, axes=([-1], [0]))


def require_finite(path: Path, values: np.ndarray) -> None:
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        counts = ((int(np.isnan(values).sum()), "NaN"), (int(np.isinf(values).sum()), "infinite"))
        what = " and ".join(f"{n} {name}" for n, name in counts if n)
        raise ScanError(path, f"the pixel data contain {what} values; a scan must be finite")


def scale_unsigned(values: np.ndarray, bits: int) -> np.ndarray:
    """Integers stored with ``bits`` bits -> [0, 1] (the file's own bit depth)."""
    top = float(2 ** max(int(bits), 1) - 1)
    out = values.astype(np.float32) / np.float32(top)
    return np.clip(out, 0.0, 1.0, out=out)


def scale_float(path: Path, values: np.ndarray, metadata: dict[str, str]) -> np.ndarray:
    """Float pixels carry no bit depth: keep them if already in [0, 1], else
    stretch min..max to [0, 1] and say so in the metadata."""
    require_finite(path, values)
    values = values.astype(np.float32, copy=False)
    lo, hi = float(values.min()), float(values.max())
    if lo >= 0.0 and hi <= 1.0:
        return values
    metadata["Intensity"] = f"float values {lo:.4g} to {hi:.4g} stretched to 0 to 1"
    if hi == lo:
        return np.zeros_like(values)
    # float64 for the range: hi - lo can overflow float32 for extreme inputs.
    out = (values.astype(np.float64) - lo) / (hi - lo)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def display_string(value: object, limit: int = 200) -> str:
    """A safe one-line string for the metadata panel (no control characters)."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(value)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
