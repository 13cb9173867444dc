"""Fuzzing the loaders: random bytes and mutated valid files give a Scan or a
ScanError, never another exception, and each example stays quick and small.

Seeded (derandomized) with 200 examples per test by default; set
OCTGUARD_FUZZ_EXAMPLES=5000 for a longer run.
"""
from __future__ import annotations

import os
import resource
import warnings
from datetime import timedelta
from importlib.util import find_spec

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import ScanError
from core.io import Limits, load_scan
from core.scan import Scan
from tests.corpus import make_corpus as mc
from tests.vendor_data import synthetic_vol

N_EXAMPLES = int(os.environ.get("OCTGUARD_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=N_EXAMPLES, derandomize=True, database=None,
                deadline=timedelta(seconds=3),
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# Small caps so a mutated header cannot make one example allocate much.
LIMITS = Limits(max_frame_pixels=4_000_000, max_total_voxels=8_000_000)


def _seeds() -> dict[str, bytes]:
    px = mc.noise_image(24, 32, seed=1)
    px16 = mc.noise_image(12, 16, seed=2, dtype=np.uint16)
    rgb = np.stack([px, px[::-1], px[:, ::-1]], -1)
    return {
        "png": mc.image_bytes(px, "PNG"),
        "png16": mc.image_bytes(px16, "PNG"),
        "jpeg": mc.image_bytes(rgb, "JPEG", quality=80),
        "bmp": mc.image_bytes(px, "BMP"),
        "tiff": mc.tiff_bytes([px, px[::-1]]),
        "tiff_float": mc.tiff_bytes([px.astype(np.float32) / 255]),
        "dicom": mc.dicom_bytes(mc.dicom_dataset(np.stack([px, px]))),
        "dicom16": mc.dicom_bytes(mc.dicom_dataset(px16, bits_stored=12, RescaleSlope="2")),
        "dicom_nested": mc.nested_sequence_dicom(depth=20),
        "vol": synthetic_vol(n=2, height=8, width=12, slo=8),
    }


SEEDS = _seeds()


@st.composite
def mutated(draw):
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete", "dup"]))
        i = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[i] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80, 0x01]))
        elif op == "truncate":
            del data[i:]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[i:i + draw(st.integers(1, 16))]
        elif op == "dup":
            data[i:i] = data[i:i + draw(st.integers(1, 64))]
    return bytes(data)


def _check(path, data: bytes) -> None:
    path.write_bytes(data)
    mtime = path.stat().st_mtime_ns
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom and Pillow warn about what they repair
        try:
            scan = load_scan(path, limits=LIMITS)
        except ScanError as exc:
            assert exc.reason and exc.path == path
        else:
            assert isinstance(scan, Scan)
            f = scan.frames
            assert f.dtype == np.float32 and f.ndim == 3 and f.size <= LIMITS.max_total_voxels
            assert np.isfinite(f).all() and f.min() >= 0 and f.max() <= 1
    assert path.read_bytes() == data and path.stat().st_mtime_ns == mtime


@pytest.fixture(scope="module", autouse=True)
def warm_vendor_readers():
    """Import the optional readers once, up front: their first import takes
    seconds and would count against one example's deadline."""
    for name in ("eyepy.io.he.vol_reader", "eyepy.io.he.e2e_reader", "skimage.transform",
                 "oct_converter.readers"):
        if find_spec(name.split(".")[0]) is not None:
            __import__(name)


@pytest.fixture(scope="module")
def rss_guard():
    """Peak memory of the whole fuzz run must stay modest (ru_maxrss is in kB on Linux)."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    yield
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 512, f"fuzzing raised peak memory by {grown_mb:.0f} MB"


@FUZZ
@given(data=st.binary(max_size=2048), magic=st.sampled_from(
    [b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM", b"II*\x00", b"MM\x00*", bytes(128) + b"DICM",
     b"HSF-OCT-103", b"CMDb", b"FOCTFDA", b"<HEDX>"]))
def test_random_bytes(tmp_path, rss_guard, data, magic):
    _check(tmp_path / "fuzz.bin", magic + data)


@FUZZ
@given(data=mutated())
def test_mutated_valid_files(tmp_path, rss_guard, data):
    _check(tmp_path / "fuzz.bin", data)


def test_seeds_are_valid(tmp_path):
    """The unmutated seeds must load, or the mutation test fuzzes nothing useful."""
    for name, data in SEEDS.items():
        if name == "vol" and find_spec("eyepy") is None:
            continue
        path = tmp_path / name
        path.write_bytes(data)
        if name == "dicom_nested":
            assert load_scan(path).frames.shape == (1, 8, 8)
        else:
            assert load_scan(path).n_frames >= 1, name
