"""Writing adversarial images as files, marked so they can never pass for a
clinical original.

The suffix chooses the format:

- ``.png``: 8-bit grey, or 16-bit when the source holds more than 8 bits;
- ``.dcm``/``.dicom``: from a DICOM source, a copy of its header with new
  pixel data; from an image file, a new Secondary Capture object;
- ``.tif``/``.tiff``/``.npy``: float32, full precision, for research (the
  paper's eps of 0.005 is about 1.3 grey levels: an 8-bit file would round
  a float perturbation away).

Every file carries core.io.formats.DEMO_MARK (a PNG text chunk, a TIFF
ImageDescription, DICOM ImageComments and DerivationDescription), and the
loaders flag it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io.formats import DEMO_MARK

PNG, DICOM, TIFF, NPY = "png", "dicom", "tiff", "npy"
SUFFIXES = {".png": PNG, ".dcm": DICOM, ".dicom": DICOM, ".tif": TIFF, ".tiff": TIFF, ".npy": NPY}
FILE_FORMATS = (PNG, DICOM)        # what a clinic's system takes: native resolution, on a grid
FLOAT_FORMATS = (TIFF, NPY)


def output_format(out: str | Path) -> str:
    """PNG, DICOM, TIFF or NPY from the suffix; ValueError for anything else."""
    kind = SUFFIXES.get(Path(out).suffix.lower())
    if kind is None:
        raise ValueError(f"{Path(out).name}: write .png or .dcm (an 8-bit file at native resolution), "
                         "or .tif/.tiff/.npy (float32)")
    return kind


def source_bits(scan) -> int:
    """Bits per sample of the scan's file (from its metadata; float counts as 16)."""
    text = str(scan.metadata.get("Bit depth", "8")) if scan is not None else "8"
    if "float" in text:
        return 16
    m = re.match(r"\s*(\d+)", text)
    return int(m.group(1)) if m else 8


@dataclass(frozen=True)
class Plan:
    """What a file written to ``out`` from ``scan`` can hold: its format and
    the top code of its pixel grid (None for float)."""
    out: Path
    format: str
    quant: int | None

    @property
    def is_file_level(self) -> bool:
        return self.format in FILE_FORMATS


def plan_output(out: str | Path, scan=None, bits: int | None = None) -> Plan:
    """Decide the format and grid before the attack runs, so the attack
    optimises on the grid of the file it will write. ``bits`` (8 or 16)
    forces the bit depth of a PNG or new DICOM object."""
    out = Path(out)
    fmt = output_format(out)
    if fmt in FLOAT_FORMATS:
        return Plan(out, fmt, None)
    if bits not in (None, 8, 16):
        raise ValueError("the bit depth of an output file must be 8 or 16")
    if fmt == DICOM and bits is None:
        from .dicom import copyable_bits
        stored = copyable_bits(scan)
        if stored is not None:
            return Plan(out, fmt, 2 ** stored - 1)
    depth = bits or (16 if source_bits(scan) > 8 else 8)
    return Plan(out, fmt, 2 ** depth - 1)


def write_adversarial(plan: Plan, image: np.ndarray, *, scan=None, frame: int = 0,
                      description: str = "") -> Path:
    """Write one adversarial (H, W) frame in [0, 1] as ``plan`` says; a DICOM
    copy of a multi-frame source keeps the other frames. ``description``
    (the attack, the model) goes beside the marking. Atomic; never writes
    over ``scan``'s own file."""
    if scan is not None and scan.source is not None and _same_file(plan.out, scan.source):
        raise ValueError(f"{plan.out.name} is the source scan; an attack never overwrites it")
    arr = np.clip(np.asarray(image, dtype=np.float32), 0, 1)
    if arr.ndim != 2:
        raise ValueError(f"expected one (H, W) frame, got shape {arr.shape}")
    text = DEMO_MARK + (f"; {description}" if description else "")
    if plan.format == PNG:
        from .png import write_png
        return write_png(plan.out, arr, plan.quant, text)
    if plan.format == DICOM:
        from .dicom import write_dicom
        return write_dicom(plan.out, arr, plan.quant, text, scan=scan, frame=frame)
    from .floats import write_float
    return write_float(plan.out, arr, plan.format, text)


def _same_file(a: Path, b: Path) -> bool:
    import os
    try:
        return Path(a).resolve() == Path(b).resolve() or (Path(a).exists() and os.path.samefile(a, b))
    except OSError:
        return False
