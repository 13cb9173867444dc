"""Caliper lengths on a B-scan, in µm when the pixel spacing is known.

Points are (x, y) in image pixels: x along the row (column index), y down the
image (row index). OCT pixels are rarely square: a Spectralis B-scan is
about 11.8 µm across and 3.9 µm deep, so the two axes are scaled apart.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

UNKNOWN_SPACING_NOTE = "pixel spacing unknown"


@dataclass(frozen=True)
class Measurement:
    start: tuple[float, float]   # (x, y) image pixels
    end: tuple[float, float]
    length: float
    unit: str                    # "µm" or "px"
    frame: int = 0

    @property
    def calibrated(self) -> bool:
        return self.unit == "µm"

    def text(self) -> str:
        if self.calibrated:
            return f"{self.length:.1f} µm"
        return f"{self.length:.1f} px ({UNKNOWN_SPACING_NOTE})"


def measure(start, end, pixel_spacing: tuple[float, float] | None, frame: int = 0) -> Measurement:
    """Length from ``start`` to ``end``. ``pixel_spacing`` is the Scan's
    (row, column) spacing in mm, or None for pixels."""
    (x0, y0), (x1, y1) = (float(v) for v in start), (float(v) for v in end)
    dx, dy = x1 - x0, y1 - y0
    if usable_spacing(pixel_spacing):
        row_mm, col_mm = (float(v) for v in pixel_spacing)
        length = math.hypot(dx * col_mm, dy * row_mm) * 1000.0
        unit = "µm"
    else:
        length, unit = math.hypot(dx, dy), "px"
    return Measurement((x0, y0), (x1, y1), length, unit, frame)


def usable_spacing(pixel_spacing) -> bool:
    if not pixel_spacing or len(pixel_spacing) != 2:
        return False
    try:
        return all(math.isfinite(float(v)) and float(v) > 0 for v in pixel_spacing)
    except (TypeError, ValueError):
        return False
