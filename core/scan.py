"""The in-memory scan every loader returns."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Fundus:
    """The en-face image (SLO, near-infrared or colour fundus) of a volume.

    ``image`` is float32 (H, W) in [0, 1]; ``pixel_spacing`` is (row, column)
    in mm. ``bscan_lines`` is (F, 2, 2) float: for each frame of the scan the
    start and end point of that B-scan as (x, y) in fundus pixels, or None
    when the file does not say where the B-scans lie.
    """

    image: np.ndarray
    pixel_spacing: tuple[float, float] | None = None
    bscan_lines: np.ndarray | None = None
    modality: str = ""

    def __post_init__(self) -> None:
        self.image = np.ascontiguousarray(self.image, dtype=np.float32)
        if self.image.ndim != 2:
            raise ValueError(f"a fundus image must be (H, W), got shape {self.image.shape}")
        if self.bscan_lines is not None:
            self.bscan_lines = np.asarray(self.bscan_lines, dtype=np.float64).reshape(-1, 2, 2)


@dataclass
class Scan:
    """One or more OCT B-scans from a single source.

    ``frames`` is float32, shape (F, H, W), grey, scaled to [0, 1] from the
    file's own bit depth (RGB is converted to luminance). ``pixel_spacing`` is
    (row, column) in millimetres when the file says so. ``metadata`` holds
    display strings; ``phi_keys`` names the entries that identify a patient
    so the viewer can hide them. ``fundus`` is the en-face image a vendor
    volume comes with, if any. ``demonstration`` is set for files that
    carry OCTGuard's adversarial-demonstration marking (core.io.formats).
    """

    frames: np.ndarray
    source: Path | None = None
    pixel_spacing: tuple[float, float] | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    phi_keys: set[str] = field(default_factory=set)
    synthetic: bool = False
    fundus: Fundus | None = None
    demonstration: bool = False

    def __post_init__(self) -> None:
        f = np.asarray(self.frames)
        if f.ndim == 2:
            f = f[None]
        if f.ndim != 3:
            raise ValueError(f"frames must be (F, H, W), got shape {f.shape}")
        self.frames = np.ascontiguousarray(f, dtype=np.float32)

    @property
    def n_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def name(self) -> str:
        return self.source.name if self.source is not None else "<memory>"
