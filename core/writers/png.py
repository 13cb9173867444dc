"""8- and 16-bit grey PNG with the demonstration marking in a text chunk."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..io.formats import DEMO_TEXT_KEY


def codes(image: np.ndarray, quant: int) -> np.ndarray:
    """[0, 1] pixels -> integer codes 0..quant (uint8 or uint16)."""
    dtype = np.uint8 if quant <= 255 else np.uint16
    return np.round(np.clip(image, 0, 1) * quant).astype(dtype)


def write_png(out: Path, image: np.ndarray, quant: int, text: str) -> Path:
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    if quant not in (255, 65535):
        raise ValueError("a PNG holds 8 or 16 bits")
    info = PngInfo()
    info.add_text(DEMO_TEXT_KEY, text)
    info.add_text("Software", "OCTGuard")
    with atomic_path(out) as tmp:
        Image.fromarray(codes(image, quant)).save(tmp, format="PNG", pnginfo=info)
    return Path(out)
