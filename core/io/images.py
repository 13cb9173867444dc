"""JPEG, PNG, BMP and TIFF through Pillow, with the size checked before decoding."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import ScanError
from ..scan import Scan
from .formats import DEMO_METADATA_TEXT, SYNTHETIC_TEXT_KEY, carries_demo_mark
from .limits import DEFAULT_LIMITS, Limits
from .pixels import luminance, scale_float, scale_unsigned

# Pillow may only pick among these decoders, whatever the bytes look like
# (its JPEG decoder also opens multi-picture "MPO" camera JPEGs).
PILLOW_FORMATS = ("JPEG", "PNG", "BMP", "TIFF")

_COLOUR_MODES = {"RGB", "RGBA", "RGBX", "RGBa", "CMYK", "YCbCr", "LAB", "HSV", "P", "PA"}


def load_image(path: Path, limits: Limits = DEFAULT_LIMITS) -> Scan:
    path = Path(path)
    try:
        # Pillow may warn (DecompressionBombWarning) for 89-179 MP; our own limit
        # below decides. No warnings.catch_warnings here: it is not thread-safe.
        im = Image.open(path, formats=PILLOW_FORMATS)
    except Image.DecompressionBombError as exc:
        raise ScanError(path, f"image dimensions exceed the limit, possible decompression bomb ({exc})")
    except Exception as exc:  # Pillow raises many types for bad headers
        raise ScanError(path, f"cannot read the image header ({_short(exc)})") from None
    with im:
        width, height = im.size
        n_frames = _n_frames(path, im)
        limits.check_dims(path, height, width, n_frames)
        fmt, mode, bits = im.format, im.mode, _bits(im)
        synthetic = SYNTHETIC_TEXT_KEY in (im.info or {})
        texts = [v for v in (im.info or {}).values() if isinstance(v, str)]
        demonstration = carries_demo_mark(*texts, getattr(im, "tag_v2", {}).get(270))  # 270: TIFF ImageDescription
        metadata = {
            "Format": "TIFF" if fmt == "TIFF" else ("JPEG" if fmt == "MPO" else str(fmt)),
            "Size": f"{width} x {height}",
            "Bit depth": f"{bits}-bit" + (" float" if mode == "F" else ""),
            "Colour": "colour (shown as luminance)" if mode in _COLOUR_MODES else "grey",
            "Frames": str(n_frames),
        }
        frames = []
        for i in range(n_frames):
            try:
                im.seek(i)
                if im.size != (width, height):
                    raise ScanError(path, f"frame {i + 1} is {im.size[0]} x {im.size[1]} but frame 1 "
                                          f"is {width} x {height}; all frames must be the same size")
                im.load()
                frames.append(_to_unit(path, im, bits, metadata))
            except ScanError:
                raise
            except MemoryError:
                raise ScanError(path, "not enough memory to decode the image") from None
            except Exception as exc:
                raise ScanError(path, f"the image data are damaged or truncated ({_short(exc)})") from None
    if synthetic:
        metadata["Synthetic"] = "yes (OCTGuard phantom)"
    if demonstration:
        metadata["Demonstration"] = DEMO_METADATA_TEXT
    return Scan(np.stack(frames), source=path, metadata=metadata, synthetic=synthetic,
                demonstration=demonstration)


def _n_frames(path: Path, im: Image.Image) -> int:
    try:
        n = int(getattr(im, "n_frames", 1))
    except Exception as exc:  # walking a damaged TIFF IFD chain can fail
        raise ScanError(path, f"cannot count the pages ({_short(exc)})") from None
    return n


def _bits(im: Image.Image) -> int:
    """The file's own bits per sample (TIFF may store 12 bits in 16)."""
    if im.format == "TIFF":
        tag = getattr(im, "tag_v2", {}).get(258)
        if isinstance(tag, tuple) and tag:
            tag = tag[0]
        if isinstance(tag, int) and 1 <= tag <= 64:
            return tag
    mode = im.mode
    if mode == "1":
        return 1
    if mode.startswith("I;16") or (mode == "I" and im.format == "PNG"):
        return 16
    if mode in ("I", "F"):
        return 32
    return 8


def _to_unit(path: Path, im: Image.Image, bits: int, metadata: dict[str, str]) -> np.ndarray:
    mode = im.mode
    if mode == "1":
        return np.asarray(im, dtype=np.float32)
    if mode == "F":
        return scale_float(path, np.asarray(im), metadata)
    if mode == "L":
        return scale_unsigned(np.asarray(im), 8)
    if mode in ("LA", "La"):
        return scale_unsigned(np.asarray(im.getchannel(0)), 8)
    if mode.startswith("I;16"):
        return scale_unsigned(np.asarray(im), min(bits, 16))
    if mode == "I":
        values = np.asarray(im).astype(np.int64)
        bits = min(bits, 32)
        if values.size and values.min() < 0:  # signed storage: shift to unsigned
            values = values + 2 ** (bits - 1)
        return scale_unsigned(values, bits)
    if mode in _COLOUR_MODES:
        rgb = np.asarray(im.convert("RGB"))
        return scale_unsigned(luminance(rgb), 8)
    raise ScanError(path, f"unsupported pixel layout '{mode}'")


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 160 else text[:159] + "\u2026"
