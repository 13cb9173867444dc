"""Write adversarial images without losing what makes them adversarial.

The paper's eps of 0.005 is about 1.3 grey levels: an 8-bit file would round
most of the perturbation away. So the default is float32 TIFF (or .npy);
8-bit PNG only when the user asks to see what survives quantisation.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .atomic import atomic_path


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
    with atomic_path(out) as tmp:
        if suffix == ".npy":
            with open(tmp, "wb") as f:
                np.save(f, arr, allow_pickle=False)
        elif suffix == ".png":
            Image.fromarray(np.round(arr * 255).astype(np.uint8)).save(tmp, format="PNG")
        else:
            Image.fromarray(arr).save(tmp, format="TIFF")
    return out
