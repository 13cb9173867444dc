"""Topcon .fda/.fds and Zeiss Cirrus .img through oct-converter.

No test file of these formats is available here: only synthetic Zeiss cubes
(which are headerless raw bytes) and damaged Topcon headers are tested.
oct-converter prints progress notes; they go to stderr so that
``octguard predict --json`` keeps a clean stdout.
"""
from __future__ import annotations

import contextlib
import re
import sys
from pathlib import Path

import numpy as np

from ..errors import ScanError
from ..scan import Fundus, Scan
from .limits import DEFAULT_LIMITS, Limits
from .pixels import luminance
from .vendor import import_reader, positive_mm, put, reading, unit_frames, unit_image

ZEISS_DEPTH = 1024  # samples per A-scan in every Cirrus cube export
# Cirrus cube sizes (A-scans x B-scans) for files whose name does not say
ZEISS_CUBES = ((512, 128), (200, 200))
_CUBE_IN_NAME = re.compile(r"(\d{2,4})\s*x\s*(\d{1,4})")


def _quiet():
    # redirect_stdout swaps sys.stdout for the whole process while it runs;
    # the readers' prints are all it catches in practice.
    return contextlib.redirect_stdout(sys.stderr)


# -- Topcon -----------------------------------------------------------------
def load_topcon(path: Path, limits: Limits = DEFAULT_LIMITS) -> Scan:
    fds = path.suffix.lower() == ".fds"
    what = "Topcon FDS" if fds else "Topcon FDA"
    readers = import_reader(path, "oct_converter.readers", what)
    with reading(path, what), _quiet():
        reader = (readers.FDS if fds else readers.FDA)(path)
        volume = reader.read_oct_volume()
        data = np.asarray(volume.volume)
        if data.ndim == 3:
            limits.check_dims(path, data.shape[1], data.shape[2], data.shape[0])
        fundus_obj = reader.read_fundus_image()
    md: dict[str, str] = {"Format": what, "Manufacturer": "Topcon"}
    phi: set[str] = set()
    frames = unit_frames(path, data, md)
    md["B-scans"] = str(frames.shape[0])
    spacing = None
    ps = volume.pixel_spacing  # (x, between B-scans, axial) in mm
    if ps is not None and len(ps) == 3 and positive_mm(ps[0], ps[2]):
        spacing = (float(ps[2]), float(ps[0]))
        if positive_mm(ps[1]):
            md["Distance between B-scans"] = f"{float(ps[1]) * 1000:.1f} µm"
    put(md, phi, "Laterality", volume.laterality)
    put(md, phi, "Patient ID", volume.patient_id, True)
    put(md, phi, "Patient first name", volume.first_name, True)
    put(md, phi, "Patient last name", volume.surname, True)
    put(md, phi, "Patient sex", volume.sex, True)
    put(md, phi, "Birth date", volume.DOB, True)
    put(md, phi, "Acquisition date", volume.acquisition_date, True)
    md["Reader"] = f"oct-converter {_version()}"
    fundus = _topcon_fundus(path, fundus_obj, getattr(volume, "metadata", None) or {},
                            frames.shape[0], limits, md)
    return Scan(frames, source=path, pixel_spacing=spacing, metadata=md, phi_keys=phi,
                fundus=fundus)


def _topcon_fundus(path: Path, obj, meta: dict, n: int, limits: Limits,
                   md: dict[str, str]) -> Fundus | None:
    image = None if obj is None else np.asarray(obj.image)
    if image is None or image.ndim not in (2, 3):
        return None
    limits.check_dims(path, image.shape[0], image.shape[1])
    if image.ndim == 3:
        image = luminance(image).astype(np.uint8)
    md["Fundus"] = f"{image.shape[1]} x {image.shape[0]} px, colour fundus"
    lines = None
    box = (meta.get("regist_info") or {}).get("bounding_box_in_fundus_pixels")
    if box is not None and len(box) == 4 and n > 1:
        # as eyepy's import_topcon_fda: a horizontal raster filling the box
        x0, y0, x1, y1 = (float(v) for v in box)
        ys = y0 + (y1 - y0) * np.arange(n) / (n - 1)
        lines = np.stack([[[x0, y], [x1, y]] for y in ys])
    return Fundus(unit_image(path, image, {}), bscan_lines=lines, modality="colour fundus")


# -- Zeiss ------------------------------------------------------------------
def load_zeiss_img(path: Path, limits: Limits = DEFAULT_LIMITS) -> Scan:
    what = "Zeiss .img"
    a_scans, b_scans = zeiss_cube(path, path.stat().st_size)
    limits.check_dims(path, ZEISS_DEPTH, a_scans, b_scans)
    readers = import_reader(path, "oct_converter.readers", what)
    with reading(path, what), _quiet():
        volume = readers.IMG(path).read_oct_volume(rows=ZEISS_DEPTH, cols=a_scans)
        data = np.stack(volume.volume)
    md: dict[str, str] = {"Format": what, "Manufacturer": "Carl Zeiss Meditec",
                          "Cube": f"{a_scans} x {b_scans} (A-scans x B-scans), "
                                  f"{ZEISS_DEPTH} deep"}
    phi: set[str] = set()
    frames = unit_frames(path, data, md)
    md["B-scans"] = str(frames.shape[0])
    md["Pixel spacing"] = "not stored in .img files"
    meta = volume.metadata or {}
    put(md, phi, "Laterality", meta.get("laterality"))
    put(md, phi, "Patient ID (from the file name)", meta.get("patient_id"), True)
    put(md, phi, "Acquisition date (from the file name)", meta.get("acquisition_date"), True)
    put(md, phi, "Device serial (from the file name)", meta.get("sn"), True)
    md["Reader"] = f"oct-converter {_version()}"
    return Scan(frames, source=path, metadata=md, phi_keys=phi)


def zeiss_cube(path: Path, size: int) -> tuple[int, int]:
    """(A-scans, B-scans) of a headerless Cirrus cube, from the file name
    ("Macular Cube 512x128") or, failing that, from a known cube's byte count."""
    m = _CUBE_IN_NAME.search(path.name)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        if a * b * ZEISS_DEPTH == size:
            return a, b
        raise ScanError(path, f"the name says a {a} x {b} cube, which needs "
                              f"{a * b * ZEISS_DEPTH} bytes, but the file holds {size}")
    for a, b in ZEISS_CUBES:
        if a * b * ZEISS_DEPTH == size:
            return a, b
    raise ScanError(path, "a Zeiss .img file is raw data without a header; its name must say "
                          "the cube size (as in 'Macular Cube 512x128'), or its size must be "
                          "that of a 512x128 or 200x200 cube")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("oct-converter")
    except PackageNotFoundError:
        return "unknown version"
