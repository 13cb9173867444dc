"""The vendor test exports in ../shared/data/vendor (eyepy's own test data,
MIT; dummy content, not retinas) and the skips for when they or the optional
readers are absent."""
from __future__ import annotations

import os
import struct
from importlib.util import find_spec
from pathlib import Path

import pytest

VENDOR = Path(os.environ.get("OCTGUARD_VENDOR_DATA",
                             Path(__file__).resolve().parents[2] / "shared" / "data" / "vendor"))
VOL = VENDOR / "heyex_vol" / "test_volume.vol"
XML = VENDOR / "heyex_xml" / "test_dummy.xml"

needs_eyepy = pytest.mark.skipif(find_spec("eyepy") is None,
                                 reason="eyepy not installed (pip install 'octguard[heyex]')")
needs_octconv = pytest.mark.skipif(find_spec("oct_converter") is None,
                                   reason="oct-converter not installed (pip install 'octguard[vendor]')")
needs_vol = pytest.mark.skipif(not VOL.is_file(), reason=f"vendor test export not found at {VOL}")
needs_xml = pytest.mark.skipif(not XML.is_file(), reason=f"vendor test export not found at {XML}")


def vol_header(path: Path) -> dict:
    """The VOL header fields this test needs, read with struct, not eyepy."""
    head = path.read_bytes()[:2048]
    size_x, n, size_y = struct.unpack_from("<3I", head, 12)
    scale_x, distance, scale_y = struct.unpack_from("<3d", head, 24)
    slo_x, slo_y = struct.unpack_from("<2I", head, 48)
    return dict(size_x=size_x, n=n, size_y=size_y, scale_x=scale_x, scale_y=scale_y,
                distance=distance, slo=(slo_y, slo_x))


def synthetic_vol(n: int = 3, height: int = 12, width: int = 16, slo: int = 20, *,
                  scale=(0.0039, 0.0118), slo_scale: float = 0.03, seed: int = 0) -> bytes:
    """A Heidelberg VOL written with struct from the published layout (2048-byte
    header, the SLO image, then per B-scan a 256-byte header and float32
    pixels): horizontal B-scans 0.05 mm apart, for a known spacing."""
    import numpy as np
    rng = np.random.default_rng(seed)
    head = bytearray(2048)
    head[0:12] = b"HSF-OCT-103\0"
    struct.pack_into("<3I3d2I2dId4s", head, 12, width, n, height, scale[1], 0.05, scale[0],
                     slo, slo, slo_scale, slo_scale, 30, 0.0, b"OD\0\0")
    struct.pack_into("<QiI16s16sI24s", head, 88, 0, 3, 256, b"1", b"", 7, b"SYNTHETIC-01")
    bscans = []
    for i in range(n):
        bh = bytearray(256)
        bh[0:12] = b"HSF-BS-103\0\0"
        struct.pack_into("<I4dIIfI", bh, 12, 256, 0.1, 0.1 + 0.05 * i, 0.1 + width * scale[1],
                         0.1 + 0.05 * i, 0, 256, 20.0, 0)
        bscans.append(bytes(bh) + rng.random((height, width), dtype=np.float32).tobytes())
    fundus = rng.integers(0, 256, (slo, slo), dtype=np.uint8).tobytes()
    return bytes(head) + fundus + b"".join(bscans)
