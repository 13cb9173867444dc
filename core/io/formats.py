"""Telling formats apart by their first bytes, never by the file name."""
from __future__ import annotations

import re
from pathlib import Path

# Device exports read through the optional vendor readers (core/io/vendor.py).
VENDOR_SUFFIXES = (".vol", ".e2e", ".fda", ".fds", ".img")
# Single B-scans and DICOM, the files a dataset folder holds (core.data).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".dcm", ".dicom")
SUPPORTED_SUFFIXES = (*IMAGE_SUFFIXES, *VENDOR_SUFFIXES)
# Listed in a folder only when their content says they are a scan (any XML is not).
SNIFFED_SUFFIXES = ("", ".xml")

FILE_DIALOG_FILTER = ";;".join([
    "OCT scans (*.jpg *.jpeg *.png *.bmp *.tif *.tiff *.dcm *.dicom *.vol *.xml *.e2e *.fda "
    "*.fds *.img)",
    "Images (*.jpg *.jpeg *.png *.bmp *.tif *.tiff)",
    "DICOM (*.dcm *.dicom)",
    "Device exports (*.vol *.xml *.e2e *.fda *.fds *.img)",
    "All files (*)",
])

# How a phantom says it is synthetic: a PNG text chunk key, a DICOM ImageComments value.
SYNTHETIC_TEXT_KEY = "synthetic"
SYNTHETIC_DICOM_COMMENT = "OCTGuard synthetic phantom"

# How an adversarial file OCTGuard wrote says so: this phrase in a PNG text
# chunk (under DEMO_TEXT_KEY), a TIFF ImageDescription, or a DICOM
# ImageComments / DerivationDescription. Any file carrying it loads with
# ``Scan.demonstration`` set, and the viewer shows a banner.
DEMO_MARK = "adversarial demonstration image, not for clinical use"
DEMO_TEXT_KEY = "octguard-adversarial"
DEMO_METADATA_TEXT = "yes: adversarially perturbed by OCTGuard, not for clinical use"


def carries_demo_mark(*texts: object) -> bool:
    return any(DEMO_MARK in str(t).lower() for t in texts if t is not None)


HEAD_BYTES = 132  # 128-byte DICOM preamble + "DICM"

_IMAGE_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),  # BigTIFF
    (b"MM\x00+", "TIFF"),
)

# Vendor formats by their first bytes. Zeiss Cirrus .img is headerless raw
# data and is known by its suffix alone (core/io/__init__.py).
_VENDOR_MAGIC = (
    (b"HSF-OCT-", "HEYEX_VOL"),
    (b"ep-v", "HEYEX_VOL"),  # a VOL written by eyepy's HeVolWriter names eyepy's version
    (b"CMDb", "HEYEX_E2E"),
    (b"FOCT", "TOPCON"),
)
VENDOR_KINDS = ("HEYEX_VOL", "HEYEX_XML", "HEYEX_E2E", "TOPCON", "ZEISS_IMG")

# Things people drop on a viewer by mistake, so the error can say what they are.
_OTHER_MAGIC = (
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"\x7fELF", "a Linux executable"),
    (b"MZ", "a Windows executable"),
    (b"GIF8", "a GIF image (not supported)"),
    (b"RIFF", "a RIFF file such as WebP or WAV (not supported)"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image (not supported outside DICOM)"),
)


def sniff(head: bytes) -> str | None:
    """'DICOM', 'JPEG', 'PNG', 'BMP', 'TIFF', one of VENDOR_KINDS or None,
    from the first bytes."""
    if len(head) >= HEAD_BYTES and head[128:132] == b"DICM":
        return "DICOM"
    for magic, kind in _IMAGE_MAGIC + _VENDOR_MAGIC:
        if head.startswith(magic):
            return kind
    if _is_heyex_xml(head):
        return "HEYEX_XML"
    return None


def _is_heyex_xml(head: bytes) -> bool:
    """A Heidelberg XML export: optional BOM and XML declaration, then <HEDX>."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<?xml"):
        end = text.find(b"?>")
        if end < 0:
            return False
        text = text[end + 2:].lstrip()
    return text.startswith(b"<HEDX")


def describe_unknown(head: bytes) -> str:
    """A reason for a file that is not a supported scan."""
    for magic, what in _OTHER_MAGIC:
        if head.startswith(magic):
            return f"not an image: the file is {what}"
    if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        return "not an image: the file is plain text"
    return ("not a supported scan: the content is not JPEG, PNG, BMP, TIFF, DICOM or a "
            "device export (DICOM files need the 'DICM' marker after the 128-byte preamble)")


def natural_key(path: Path) -> list:
    """Sort IMG2 before IMG10."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]
