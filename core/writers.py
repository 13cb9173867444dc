"""Write adversarial images without losing what makes them adversarial.

The paper's eps of 0.005 is about 1.3 grey levels: an 8-bit file would round
most of the perturbation away. So the default is float32 TIFF (or .npy);
8-bit PNG only when the user asks to see what survives quantisation.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np


def check_adversarial_path(out: str | Path, quantize: bool = False) -> None:
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".tif", ".tiff", ".npy", ".png"):
        raise ValueError(f"{out.name}: write .tif, .tiff or .npy (float) or .png (8-bit)")
    if suffix == ".png" and not quantize:
        raise ValueError(f"{out.name}: a PNG holds 8 bits and would destroy the perturbation; "
                         "use .tif/.npy, or pass --quantize")


def write_adversarial(image: np.ndarray, out: str | Path, quantize: bool = False) -> Path:
    from PIL import Image

    out = Path(out)
    suffix = out.suffix.lower()
    arr = np.clip(np.asarray(image, dtype=np.float32), 0, 1)
    check_adversarial_path(out, quantize)
    fd, tmp = tempfile.mkstemp(dir=out.parent if str(out.parent) else ".", suffix=suffix)
    os.close(fd)
    try:
        if suffix == ".npy":
            np.save(tmp, arr, allow_pickle=False)
        elif suffix == ".png":
            Image.fromarray(np.round(arr * 255).astype(np.uint8)).save(tmp)
        else:
            Image.fromarray(arr).save(tmp)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
