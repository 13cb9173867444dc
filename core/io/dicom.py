"""DICOM through pydicom 3: single- and multi-frame, including Ophthalmic
Tomography (OPT) volumes.

The header is read first with large values deferred, so the size limits and
the pixel-data length are checked before a single pixel is decoded. The
128-byte preamble is only skipped over: whatever it holds is never run.
A DICOMDIR is refused and the paths it references are never opened.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pydicom
from pydicom.pixels import get_decoder
from pydicom.uid import UID

from ..errors import NotOCTError, ScanError
from ..scan import Scan
from .formats import DEMO_METADATA_TEXT, SYNTHETIC_DICOM_COMMENT, carries_demo_mark
from .limits import DEFAULT_LIMITS, Limits
from .modality import refusal
from .pixels import display_string, luminance, require_finite, scale_float

OPT_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.77.1.5.4"  # Ophthalmic Tomography Image Storage
DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"  # Media Storage Directory Storage

PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)  # Pixel Data, Float, Double Float
_UNDEFINED_LENGTH = 0xFFFFFFFF

# Keys copied into Scan.metadata when present.
DISPLAY_TAGS = (
    "Modality", "Manufacturer", "ManufacturerModelName", "SoftwareVersions",
    "StudyDate", "StudyTime", "SeriesDate", "AcquisitionDateTime", "ContentDate",
    "StudyDescription", "SeriesDescription", "ImageLaterality", "Laterality",
    "PatientName", "PatientID", "OtherPatientIDs", "PatientBirthDate", "PatientSex",
    "PatientAge", "PatientAddress", "PatientTelephoneNumbers", "AccessionNumber",
    "StudyID", "InstitutionName", "InstitutionAddress", "ReferringPhysicianName",
    "PerformingPhysicianName", "OperatorsName", "ImageComments",
)
# Identify the patient (HIPAA Safe Harbor: names, ids, dates, places); the viewer hides them.
PHI_TAGS = frozenset({
    "PatientName", "PatientID", "OtherPatientIDs", "PatientBirthDate", "PatientSex",
    "PatientAge", "PatientAddress", "PatientTelephoneNumbers", "AccessionNumber",
    "StudyID", "StudyDate", "StudyTime", "SeriesDate", "AcquisitionDateTime", "ContentDate",
    "InstitutionName", "InstitutionAddress", "ReferringPhysicianName",
    "PerformingPhysicianName", "OperatorsName",
})

# Deferring values above this size keeps the pixel data on disk until checked.
_DEFER = 64 * 1024


def load_dicom(path: Path, limits: Limits = DEFAULT_LIMITS) -> Scan:
    path = Path(path)
    try:
        return _load(path, limits)
    except RecursionError:
        # Crafted files nest sequences thousands deep; pydicom parses them recursively.
        raise ScanError(path, "the DICOM sequences are nested too deeply to read safely") from None


def _load(path: Path, limits: Limits) -> Scan:
    try:
        ds = pydicom.dcmread(path, defer_size=_DEFER)
    except RecursionError:
        raise
    except MemoryError:
        raise ScanError(path, "not enough memory to read the DICOM header") from None
    except Exception as exc:
        raise ScanError(path, f"the DICOM header is damaged ({_short(exc)})") from None

    meta = getattr(ds, "file_meta", None)
    sop_media = str(_get(path, meta, "MediaStorageSOPClassUID", "") or "")
    sop = str(_get(path, ds, "SOPClassUID", "") or sop_media)
    if DICOMDIR_SOP_CLASS in (sop, sop_media) or 0x00041220 in ds:
        raise ScanError(path, "this is a DICOMDIR (an index of a DICOM disc), not an image; "
                              "open the image files in its folder instead")
    why = refusal(display_string(_get(path, ds, "Modality", "") or "", 16), sop)
    if why:   # before any pixel is decoded: a CT slice never gets a diagnosis
        raise NotOCTError(path, why)
    pixel_tag = next((t for t in PIXEL_TAGS if t in ds), None)
    if pixel_tag is None:
        raise ScanError(path, f"the DICOM file has no pixel data (SOP class: {_uid_name(sop)})")

    rows = _int(path, ds, "Rows")
    cols = _int(path, ds, "Columns")
    frames = _int(path, ds, "NumberOfFrames", default=1)
    samples = _int(path, ds, "SamplesPerPixel", default=1)
    bits_alloc = _int(path, ds, "BitsAllocated", default=32 if pixel_tag == 0x7FE00008 else
                      64 if pixel_tag == 0x7FE00009 else None)
    bits_stored = _int(path, ds, "BitsStored", default=bits_alloc)
    signed = _int(path, ds, "PixelRepresentation", default=0) == 1
    photometric = str(_get(path, ds, "PhotometricInterpretation", "MONOCHROME2") or "").strip()

    limits.check_dims(path, rows, cols, frames)
    if samples not in (1, 3):
        raise ScanError(path, f"SamplesPerPixel is {samples}; only 1 (grey) or 3 (colour) are supported")
    if bits_alloc not in (1, 8, 16, 32, 64) or not 1 <= bits_stored <= bits_alloc:
        raise ScanError(path, f"implausible bit depth: BitsAllocated {bits_alloc}, BitsStored {bits_stored}")

    ts = UID(str(_get(path, meta, "TransferSyntaxUID", "") or "1.2.840.10008.1.2"))
    if not ts.is_transfer_syntax:  # private or damaged: pydicom could not even parse it
        raise ScanError(path, f"unknown transfer syntax {display_string(ts, 70)!r}")
    _check_pixel_length(path, ds, pixel_tag, ts, rows * cols * frames * samples * bits_alloc)
    _check_decoder(path, ts)

    try:
        raw = ds.pixel_array
    except MemoryError:
        raise ScanError(path, "not enough memory to decode the pixel data") from None
    except (RecursionError, ScanError):
        raise
    except Exception as exc:
        raise ScanError(path, f"cannot decode the pixel data ({ts.name}): {_short(exc)}") from None

    metadata = _metadata(path, ds, rows, cols, frames, bits_stored, signed, ts, sop, photometric)
    values = _to_unit(path, ds, np.asarray(raw), frames, samples, bits_stored, signed,
                      photometric, metadata)
    synthetic = SYNTHETIC_DICOM_COMMENT.lower() in str(ds.get("ImageComments", "")).lower()
    if synthetic:
        metadata["Synthetic"] = "yes (OCTGuard phantom)"
    demonstration = carries_demo_mark(*(_text(ds, k) for k in ("ImageComments", "DerivationDescription")))
    if demonstration:
        metadata["Demonstration"] = DEMO_METADATA_TEXT
    phi = {k for k in metadata if k in PHI_TAGS}
    return Scan(values, source=path, pixel_spacing=_pixel_spacing(ds), metadata=metadata,
                phi_keys=phi, synthetic=synthetic, demonstration=demonstration)


def _check_pixel_length(path: Path, ds, tag: int, ts: UID, n_bits: int) -> None:
    """Native pixel data must hold exactly Rows x Columns x frames x samples."""
    elem = ds.get_item(tag)
    length = getattr(elem, "length", None)
    if length is None:  # already converted: use the value itself
        length = len(elem.value) if elem.value is not None else 0
    if ts.is_encapsulated or getattr(ts, "is_compressed", False):
        if length != _UNDEFINED_LENGTH and ts.is_encapsulated:
            raise ScanError(path, f"the transfer syntax ({ts.name}) says compressed but the pixel "
                                  "data are not encapsulated")
        return
    if length == _UNDEFINED_LENGTH:
        raise ScanError(path, f"the pixel data are encapsulated but the transfer syntax "
                              f"({ts.name or ts}) is uncompressed")
    expected = math.ceil(n_bits / 8)
    if length not in (expected, expected + (expected % 2)):
        raise ScanError(path, f"Rows, Columns, frames and bit depth need {expected} bytes of pixel "
                              f"data but the file holds {length}")


def _check_decoder(path: Path, ts: UID) -> None:
    if not ts.is_compressed:
        return
    name = f"{ts.name} ({ts})" if ts.name else str(ts)
    try:
        decoder = get_decoder(ts)
    except Exception:
        raise ScanError(path, f"the pixel data are compressed as {name}, which OCTGuard cannot "
                              "decode") from None
    if not decoder.is_available:
        needs = ", ".join(d.split(" - ")[0] for d in decoder.missing_dependencies) or "a decoder plugin"
        raise ScanError(path, f"the pixel data are compressed as {name} and no installed decoder "
                              f"can read it (install one of: {needs})")


def _to_unit(path, ds, raw, frames, samples, bits_stored, signed, photometric, metadata):
    if frames == 1 and raw.ndim == (2 if samples == 1 else 3):
        raw = raw[None]
    if raw.shape[0] != frames or raw.ndim != (3 if samples == 1 else 4):
        raise ScanError(path, f"decoded pixel data have shape {raw.shape}, not {frames} frames")
    if raw.dtype.kind == "f":
        values = raw if samples == 1 else luminance(raw)
        return scale_float(path, values, metadata)
    if samples == 3:
        # pydicom has already turned YBR into RGB; unsigned per channel.
        return np.clip(luminance(raw) / np.float32(2**bits_stored - 1), 0.0, 1.0)
    if photometric == "PALETTE COLOR":
        try:
            rgb = pydicom.pixels.apply_color_lut(raw, ds)
        except Exception as exc:
            raise ScanError(path, f"cannot apply the palette ({_short(exc)})") from None
        bits = 16 if rgb.dtype.itemsize > 1 else 8
        return np.clip(luminance(rgb) / np.float32(2**bits - 1), 0.0, 1.0)
    # Modality LUT, then back to [0, 1] over the rescaled range of the stored bit
    # depth, so a negative slope flips the image the way the modality intends.
    slope, intercept = _rescale(path, ds)
    lo_raw, hi_raw = ((-(2 ** (bits_stored - 1)), 2 ** (bits_stored - 1) - 1) if signed
                      else (0, 2**bits_stored - 1))
    if bits_stored == 1:
        lo_raw, hi_raw = 0, 1
    a, b = sorted((lo_raw * slope + intercept, hi_raw * slope + intercept))
    values = raw.astype(np.float32) * np.float32(slope) + np.float32(intercept)
    values = (values - np.float32(a)) / np.float32(b - a)
    np.clip(values, 0.0, 1.0, out=values)
    if slope != 1 or intercept != 0:
        metadata["Rescale"] = f"slope {slope:g}, intercept {intercept:g}"
    if photometric == "MONOCHROME1":  # 0 is white in MONOCHROME1
        values = 1.0 - values
    require_finite(path, values)
    return values


def _rescale(path: Path, ds) -> tuple[float, float]:
    src = ds
    if "RescaleSlope" not in ds:
        src = _first_item(ds, "SharedFunctionalGroupsSequence", "PixelValueTransformationSequence") or ds
    try:
        slope = float(src.get("RescaleSlope", 1.0) or 1.0)
        intercept = float(src.get("RescaleIntercept", 0.0) or 0.0)
    except (TypeError, ValueError):
        raise ScanError(path, "RescaleSlope or RescaleIntercept is not a number") from None
    if not (math.isfinite(slope) and math.isfinite(intercept)) or slope == 0:
        raise ScanError(path, f"implausible rescale: slope {slope}, intercept {intercept}")
    return slope, intercept


def _pixel_spacing(ds) -> tuple[float, float] | None:
    """(row, column) spacing in mm: top level, else the functional groups (OPT)."""
    candidates = [ds,
                  _first_item(ds, "SharedFunctionalGroupsSequence", "PixelMeasuresSequence"),
                  _first_item(ds, "PerFrameFunctionalGroupsSequence", "PixelMeasuresSequence")]
    for src in candidates:
        try:
            value = src.get("PixelSpacing") if src is not None else None
            if value is None or len(value) != 2:
                continue
            row, col = float(value[0]), float(value[1])
        except (TypeError, ValueError, AttributeError):
            continue
        if all(math.isfinite(v) and 0 < v < 1000 for v in (row, col)):
            return row, col
    return None


def _first_item(ds, outer: str, inner: str):
    try:
        group = ds.get(outer)
        if not group:
            return None
        seq = group[0].get(inner)
        return seq[0] if seq else None
    except (AttributeError, TypeError, IndexError, ValueError, KeyError):
        return None


def _metadata(path, ds, rows, cols, frames, bits_stored, signed, ts, sop, photometric) -> dict[str, str]:
    md = {
        "Format": "DICOM",
        "Size": f"{cols} x {rows}",
        "Bit depth": f"{bits_stored}-bit{' signed' if signed else ''}",
        "Frames": str(frames),
        "Photometric": photometric,
        "Transfer syntax": ts.name or str(ts),
        "SOP class": _uid_name(sop),
        "SOPClassUID": sop,
    }
    for key in DISPLAY_TAGS:
        try:
            value = ds.get(key)
        except RecursionError:
            raise
        except Exception:  # an unparseable value is left out rather than failing the scan
            continue
        if value is not None and str(value).strip():
            md[key] = display_string(value)
    preamble = getattr(ds, "preamble", None) or b""
    if preamble.strip(b"\x00") and not preamble.startswith((b"II*\x00", b"MM\x00*")):
        md["Preamble"] = "non-standard content, ignored (never executed)"
    return md


def _get(path: Path, ds, key: str, default=None):
    if ds is None:
        return default
    try:
        return ds.get(key, default)
    except RecursionError:
        raise
    except Exception as exc:
        raise ScanError(path, f"the DICOM element {key} cannot be read ({_short(exc)})") from None


def _text(ds, key: str) -> str | None:
    """A text element, or None when it is absent or unreadable."""
    try:
        value = ds.get(key)
    except RecursionError:
        raise
    except Exception:
        return None
    return None if value is None else str(value)


def _int(path: Path, ds, key: str, default: int | None = None) -> int:
    value = _get(path, ds, key, None)
    if value is None or (isinstance(value, str) and not value.strip()):
        if default is None:
            raise ScanError(path, f"the DICOM header has no {key}")
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ScanError(path, f"the DICOM element {key} is not a whole number: {display_string(value, 40)!r}") from None


def _uid_name(uid: str) -> str:
    if not uid:
        return "unknown"
    name = UID(uid).name
    return name if name and name != uid else uid


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 160 else text[:159] + "\u2026"
