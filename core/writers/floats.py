"""float32 TIFF (marked in its ImageDescription) or .npy, for research."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import atomic_path


def write_float(out: Path, image: np.ndarray, fmt: str, text: str) -> Path:
    from PIL import Image

    with atomic_path(out) as tmp:
        if fmt == "npy":
            with open(tmp, "wb") as f:
                np.save(f, image.astype(np.float32), allow_pickle=False)
        else:
            Image.fromarray(image.astype(np.float32)).save(tmp, format="TIFF", description=text)
    return Path(out)
