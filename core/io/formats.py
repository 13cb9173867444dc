"""Telling formats apart by their first bytes, never by the file name."""
from __future__ import annotations

import re
from pathlib import Path

SUPPORTED_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".dcm", ".dicom")

FILE_DIALOG_FILTER = ";;".join([
    "OCT scans (*.jpg *.jpeg *.png *.bmp *.tif *.tiff *.dcm *.dicom)",
    "Images (*.jpg *.jpeg *.png *.bmp *.tif *.tiff)",
    "DICOM (*.dcm *.dicom)",
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
    """'DICOM', 'JPEG', 'PNG', 'BMP', 'TIFF' or None, from the first bytes."""
    if len(head) >= HEAD_BYTES and head[128:132] == b"DICM":
        return "DICOM"
    for magic, kind in _IMAGE_MAGIC:
        if head.startswith(magic):
            return kind
    return None


def describe_unknown(head: bytes) -> str:
    """A reason for a file that is not a supported scan."""
    for magic, what in _OTHER_MAGIC:
        if head.startswith(magic):
            return f"not an image: the file is {what}"
    if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        return "not an image: the file is plain text"
    return ("not a supported scan: the content is not JPEG, PNG, BMP, TIFF or DICOM "
            "(DICOM files need the 'DICM' marker after the 128-byte preamble)")


def natural_key(path: Path) -> list:
    """Sort IMG2 before IMG10."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]
