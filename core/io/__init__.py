"""Loading scans: ``load_scan(path) -> Scan`` for JPEG, PNG, BMP, TIFF, DICOM
and, with the optional vendor readers, Heidelberg, Topcon and Zeiss exports.

The format is detected from the file's content, never its name, so a PNG
called ``scan.jpg`` or a DICOM called ``scan.png`` loads. Every failure is a
:class:`~core.errors.ScanError` naming the file and the reason. Files are
only ever opened for reading.

The DICOM and vendor readers are imported on their first file: pydicom alone
takes 0.2 s to import, and the viewer's first answer on a JPEG waits for
every import on its path (issue 13, bench/cases_viewer.py).
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import ScanError
from ..scan import Scan
from .formats import (FILE_DIALOG_FILTER, HEAD_BYTES, SNIFFED_SUFFIXES, SUPPORTED_SUFFIXES,
                      VENDOR_KINDS, describe_unknown, natural_key, sniff)
from .images import load_image
from .limits import DEFAULT_LIMITS, Limits

__all__ = ["load_scan", "iter_scan_files", "SUPPORTED_SUFFIXES", "FILE_DIALOG_FILTER",
           "Limits", "DEFAULT_LIMITS"]


def load_scan(path: str | os.PathLike, *, limits: Limits = DEFAULT_LIMITS) -> Scan:
    """Read one scan file into a :class:`~core.scan.Scan`.

    Raises ScanError for anything that is not a readable, plausible scan.
    """
    path = Path(path)
    kind = _kind(path, limits)
    if kind in VENDOR_KINDS:
        scan = _load_vendor(kind, path, limits)
    elif kind == "DICOM":
        from .dicom import load_dicom
        scan = load_dicom(path, limits)
    else:
        scan = load_image(path, limits)
    # Last line of defence for the Scan contract: finite and in [0, 1].
    if not np.isfinite(scan.frames).all():
        raise ScanError(path, "the pixel data contain NaN or infinite values")
    np.clip(scan.frames, 0.0, 1.0, out=scan.frames)
    return scan


def _load_vendor(kind: str, path: Path, limits: Limits) -> Scan:
    """A device export (core.io.formats.VENDOR_KINDS) through its reader."""
    from . import heyex, zeiss_topcon
    loader = {"HEYEX_VOL": heyex.load_vol, "HEYEX_XML": heyex.load_xml,
              "HEYEX_E2E": heyex.load_e2e, "TOPCON": zeiss_topcon.load_topcon,
              "ZEISS_IMG": zeiss_topcon.load_zeiss_img}[kind]
    return loader(path, limits)


def _kind(path: Path, limits: Limits) -> str:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ScanError(path, "file not found") from None
    except OSError as exc:
        raise ScanError(path, f"cannot access the file ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ScanError(path, "this is a folder, not a scan file")
    if not stat.S_ISREG(st.st_mode):  # FIFOs and devices would block or never end
        raise ScanError(path, "not a regular file")
    limits.check_file_size(path, st.st_size)
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
    except OSError as exc:
        raise ScanError(path, f"cannot read the file ({exc.strerror or exc})") from None
    kind = sniff(head)
    if kind in (None, "BMP") and path.suffix.lower() == ".img":
        # headerless raw data, known by its name alone (its first two bytes
        # may well read "BM", the only magic short enough to match by chance)
        kind = "ZEISS_IMG"
    if kind is None:
        raise ScanError(path, describe_unknown(head))
    return kind


def is_scan_file(path: Path) -> bool:
    """True for files that look like a supported scan by name or, for names
    without a known suffix (DICOM often has none), by content. DICOMDIR is not."""
    if not path.is_file() or path.name.startswith(".") or path.name.upper() == "DICOMDIR":
        return False
    if path.suffix.lower() in SUPPORTED_SUFFIXES:
        return True
    if path.suffix.lower() not in SNIFFED_SUFFIXES:
        return False
    try:
        with open(path, "rb") as fh:
            return sniff(fh.read(HEAD_BYTES)) in ("DICOM", "HEYEX_XML")
    except OSError:
        return False


def iter_scan_files(folder: str | os.PathLike, recursive: bool = False) -> Iterator[Path]:
    """Supported scan files in ``folder``, in natural order (IMG2 before IMG10)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ScanError(folder, "not a folder")
    found = folder.rglob("*") if recursive else folder.iterdir()
    files = [p for p in found if is_scan_file(p)]
    # a Heidelberg XML export lists once, not once more per TIFF it names
    xmls = [p for p in files if p.suffix.lower() == ".xml"]
    if xmls:
        from .heyex import xml_member_files
        members = set().union(*(xml_member_files(x) for x in xmls))
        files = [p for p in files if p not in members]
    yield from sorted(files, key=lambda p: (natural_key(p.parent), natural_key(p)))
