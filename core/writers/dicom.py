"""DICOM output: a copy of a DICOM source's header with new pixel data, or a
new Secondary Capture object for an image source. Either way a new SOP
Instance UID and Series Instance UID, Image Type DERIVED\\SECONDARY, a
reference to the source image, and the demonstration marking in Derivation
Description and Image Comments."""
from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from ..atomic import atomic_path
from ..io.dicom import _rescale
from ..io.formats import DEMO_MARK
from .png import codes

SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
SERIES_DESCRIPTION = "OCTGuard adversarial demonstration (not for clinical use)"


def _grey_integer_source(scan):
    """The source's header (no pixels) when it can be copied with new pixel
    data: grey, integer, 8 or 16 bits allocated; None otherwise."""
    if scan is None or scan.source is None or scan.metadata.get("Format") != "DICOM":
        return None
    try:
        ds = pydicom.dcmread(scan.source, stop_before_pixels=True)
        samples = int(ds.get("SamplesPerPixel", 1))
        photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip()
        allocated = int(ds.get("BitsAllocated", 0))
        stored = int(ds.get("BitsStored", allocated))
    except Exception:   # unreadable now: write a new object instead
        return None
    if samples != 1 or photometric not in ("MONOCHROME1", "MONOCHROME2") or allocated not in (8, 16):
        return None
    return ds if 2 <= stored <= allocated else None


def copyable_bits(scan) -> int | None:
    """BitsStored of a DICOM source whose header can be copied, else None."""
    ds = _grey_integer_source(scan)
    return None if ds is None else int(ds.get("BitsStored", ds.BitsAllocated))


def write_dicom(out: Path, image: np.ndarray, quant: int, text: str, *, scan=None, frame: int = 0) -> Path:
    if _grey_integer_source(scan) is not None:
        ds = _copy_with_pixels(scan, image, quant, frame)
    else:
        ds = _secondary_capture(image, quant, scan)
    _mark(ds, text)
    with atomic_path(out) as tmp:
        ds.save_as(tmp, enforce_file_format=True)
    return Path(out)


def _now() -> tuple[str, str]:
    t = _dt.datetime.now()
    return t.strftime("%Y%m%d"), t.strftime("%H%M%S")


def _copy_with_pixels(scan, image: np.ndarray, quant: int, frame: int) -> Dataset:
    ds = pydicom.dcmread(scan.source)
    if ds.file_meta.TransferSyntaxUID.is_compressed:
        ds.decompress()            # decoders are there: the loader just decoded it
    raw = np.array(ds.pixel_array, copy=True)
    n = int(ds.get("NumberOfFrames", 1) or 1)
    if n == 1:
        raw = raw[None]
    bits = int(ds.get("BitsStored", ds.BitsAllocated))
    if quant != 2 ** bits - 1:
        raise ValueError(f"the source stores {bits} bits; the attack's grid must match them")
    signed = int(ds.get("PixelRepresentation", 0)) == 1
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)
    slope, _ = _rescale(Path(scan.source), ds)      # where the loader finds it (OPT: functional groups)
    monochrome1 = str(ds.PhotometricInterpretation).strip() == "MONOCHROME1"
    # the loader maps raw codes linearly onto [0, 1] (core.io.dicom): invert it
    c = codes(image, quant).astype(np.int64)
    flip = (slope < 0) != monochrome1
    raw[frame] = (hi - c) if flip else (lo + c)
    dtype = f"<{'i' if signed else 'u'}{int(ds.BitsAllocated) // 8}"
    data = raw.astype(dtype).tobytes()
    del ds.PixelData
    ds.add_new(0x7FE00010, "OW" if int(ds.BitsAllocated) > 8 else "OB", data + b"\0" * (len(data) % 2))
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    source = Dataset()
    source.ReferencedSOPClassUID = ds.SOPClassUID
    source.ReferencedSOPInstanceUID = ds.SOPInstanceUID
    if n > 1:
        source.ReferencedFrameNumber = frame + 1
    ds.SourceImageSequence = Sequence([source])
    old = list(ds.get("ImageType", []) or [])
    ds.ImageType = ["DERIVED", "SECONDARY", *old[2:]]
    return ds


def _secondary_capture(image: np.ndarray, quant: int, scan) -> Dataset:
    pixels = codes(image, quant)
    bits = 8 if quant <= 255 else 16
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SECONDARY_CAPTURE
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SECONDARY_CAPTURE
    date, time = _now()
    ds.PatientName, ds.PatientID = "ADVERSARIAL^DEMONSTRATION", "OCTGUARD-DEMO"
    ds.PatientBirthDate, ds.PatientSex = "", "O"
    ds.StudyInstanceUID = generate_uid()
    ds.StudyDate, ds.StudyTime, ds.StudyID, ds.AccessionNumber = date, time, "", ""
    ds.ReferringPhysicianName = ""
    ds.Modality, ds.ConversionType, ds.Manufacturer = "OT", "WSD", "OCTGuard"
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    if scan is not None and scan.pixel_spacing:
        ds.PixelSpacing = [f"{v:.6g}" for v in scan.pixel_spacing]
    data = pixels.astype(f"<u{bits // 8}").tobytes()
    ds.add_new(0x7FE00010, "OW" if bits > 8 else "OB", data + b"\0" * (len(data) % 2))
    return ds


def _mark(ds: Dataset, text: str) -> None:
    """New identity, and the marking nobody can miss."""
    uid = generate_uid()
    ds.SOPInstanceUID = uid
    ds.file_meta.MediaStorageSOPInstanceUID = uid
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesDescription = SERIES_DESCRIPTION
    ds.DerivationDescription = text[:1024]            # ST
    old = str(ds.get("ImageComments", "") or "")
    comments = DEMO_MARK + (f". Source comments: {old}" if old and DEMO_MARK not in old.lower() else "")
    ds.ImageComments = comments[:10240]                # LT
    ds.BurnedInAnnotation = "NO"
    ds.InstanceCreationDate, ds.InstanceCreationTime = _now()
