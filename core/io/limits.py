"""Size limits checked on the header, before any pixel data are decoded.

A file that claims 100k x 100k pixels (a decompression bomb) or a million
frames is refused from its header alone, so loading never allocates more than
``max_total_voxels`` float32 values (1 GiB with the defaults).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ScanError


@dataclass(frozen=True)
class Limits:
    """Bounds on what a loader accepts. The defaults fit any clinical OCT.

    max_frame_pixels : pixels in one frame (Pillow's own bomb limit is ~89 MP).
    max_total_voxels : pixels over all frames; 256 Mi float32 = 1 GiB in memory.
    max_frames       : frames in one file (volumes have 19-1024 B-scans).
    min_side, max_side : bounds on height and width.
    max_file_bytes   : size of the file on disk.
    """

    max_frame_pixels: int = 100_000_000
    max_total_voxels: int = 256 * 2**20
    max_frames: int = 10_000
    min_side: int = 2
    max_side: int = 32_768
    max_file_bytes: int = 2 * 2**30

    def check_file_size(self, path: Path, n_bytes: int) -> None:
        if n_bytes == 0:
            raise ScanError(path, "the file is empty (0 bytes)")
        if n_bytes > self.max_file_bytes:
            raise ScanError(path, f"the file is {n_bytes / 2**30:.1f} GiB; the limit is "
                                  f"{self.max_file_bytes / 2**30:.1f} GiB")

    def check_dims(self, path: Path, height: int, width: int, frames: int = 1) -> None:
        """Raise ScanError unless frames x height x width is plausible."""
        if frames < 1:
            raise ScanError(path, f"the header says {frames} frames")
        if frames > self.max_frames:
            raise ScanError(path, f"the header says {frames} frames; the limit is {self.max_frames}")
        for name, side in (("height", height), ("width", width)):
            if side < self.min_side or side > self.max_side:
                raise ScanError(path, f"implausible image {name} {side} in the header "
                                      f"(accepted: {self.min_side} to {self.max_side} pixels)")
        if height * width > self.max_frame_pixels:
            raise ScanError(path, f"the header claims {width} x {height} pixels per frame "
                                  f"({height * width / 1e6:.0f} megapixels); the limit is "
                                  f"{self.max_frame_pixels / 1e6:.0f} megapixels "
                                  "(possible decompression bomb)")
        if frames * height * width > self.max_total_voxels:
            raise ScanError(path, f"{frames} frames of {width} x {height} pixels are "
                                  f"{frames * height * width / 1e6:.0f} million pixels; the limit "
                                  f"is {self.max_total_voxels / 1e6:.0f} million")


DEFAULT_LIMITS = Limits()
