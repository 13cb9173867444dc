"""One test per nasty file: each gives a ScanError with a clear reason (or,
for the few harmless ones, a Scan), and no input file is ever modified."""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from core.errors import ScanError
from core.io import Limits, load_scan
from tests.corpus import make_corpus as mc

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom complains about bad values

# corpus file -> regular expression the reason must match
REJECTED = {
    "empty.png": r"empty",
    "truncated.jpg": r"truncated",
    "truncated.png": r"truncated",
    "corrupt_idat.png": r"damaged",
    "notes_as.jpg": r"not an image.*plain text",
    "archive_as.dcm": r"not an image.*ZIP",
    "no_pixels.dcm": r"no pixel data",
    "rows_mismatch.dcm": r"need 4096 bytes of pixel data but the file holds 2048",
    "jpegls_no_decoder.dcm": r"JPEG-LS.*1\.2\.840\.10008\.1\.2\.4\.80.*decoder",
    "nested_sequences.dcm": r"nested too deeply",
    "DICOMDIR": r"DICOMDIR.*not an image",
    "huge_dims.dcm": r"implausible image height 60000",
    "too_many_frames.dcm": r"100000 frames",
    "bad_number_of_frames.dcm": r"NumberOfFrames is not a whole number",
    "unknown_transfer_syntax.dcm": r"unknown transfer syntax '0\.2\.840",  # found by fuzzing
    "inf_pixels.dcm": r"1 infinite",
    "nan_pixels.tif": r"1 NaN",
    "zero_width.bmp": r"cannot read the image header",
    "mixed_page_sizes.tif": r"same size",
    "vol_short_header.vol": r"VOL file is truncated: 512 bytes, shorter than its 2048-byte header",
    "zeiss_no_size.img": r"raw data without a header",
    "zeiss_wrong_size_512x128.img": r"512 x 128 cube, which needs 67108864 bytes",
    "heyex_escape.xml": r"names an image outside its folder",
    "heyex_no_bscans.xml": r"names no OCT B-scans",
    "heyex_missing_tiff.xml": r"names B1\.tif, which is not a file in its folder",
}


def test_corpus_is_complete_and_small(corpus):
    stored = {p.name for p in corpus.iterdir() if p.suffix != ".py" and p.name != "__pycache__"}
    assert stored == set(mc.corpus_files()), "run python -m tests.corpus.make_corpus"
    assert all((corpus / n).stat().st_size < 64 * 1024 for n in stored)


def test_corpus_is_reproducible(corpus):
    for name, data in mc.corpus_files().items():
        assert (corpus / name).read_bytes() == data, f"{name} differs from make_corpus.py output"


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_nasty_file_is_rejected_with_reason(corpus, file_guard, name):
    path = corpus / name
    file_guard(path)
    with pytest.raises(ScanError) as info:
        load_scan(path)
    assert info.value.path == path
    assert re.search(REJECTED[name], info.value.reason), info.value.reason
    assert str(info.value).startswith(f"{name}: ")
    file_guard.check()


def test_wrong_extensions_load_by_content(corpus):
    png = load_scan(corpus / "png_named_as.jpg")
    dcm = load_scan(corpus / "dicom_named_as.png")
    assert png.metadata["Format"] == "PNG" and dcm.metadata["Format"] == "DICOM"
    expected = mc.noise_image(16, 16, seed=3) / 255.0
    np.testing.assert_allclose(png.frames[0], expected, atol=1e-6)
    np.testing.assert_allclose(dcm.frames[0], expected, atol=1e-6)


def test_executable_preamble_is_read_not_run(corpus, file_guard):
    marker = Path(mc.PREAMBLE_MARKER)
    marker.unlink(missing_ok=True)
    path = corpus / "preamble_executable.dcm"
    assert path.read_bytes()[:2] == b"MZ"
    file_guard(path)
    scan = load_scan(path)
    assert scan.frames.shape == (1, 16, 16)
    assert "never executed" in scan.metadata["Preamble"]
    assert not marker.exists()
    file_guard.check()


def test_dicomdir_references_are_not_followed(corpus, monkeypatch):
    opened = []
    real_open = open

    def spy(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", spy)
    with pytest.raises(ScanError, match="DICOMDIR"):
        load_scan(corpus / "DICOMDIR")
    assert not [f for f in opened if "passwd" in f]


def test_png_header_bomb_rejected_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(mc.png_header_bomb(100_000, 100_000))
    assert path.stat().st_size < 200_000
    with pytest.raises(ScanError, match=r"exceed|megapixels|implausible"):
        load_scan(path)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_deflate_bomb_over_our_limit_rejected(tmp_path):
    # 10001 x 10000 = 100.01 MP: between Pillow's warning (89 MP) and error
    # (179 MP) bands, so only our own 100 MP limit stops it.
    path = tmp_path / "zeros.png"
    path.write_bytes(mc.png_deflate_bomb(10_001, 10_000))
    assert path.stat().st_size < 200_000
    with pytest.raises(ScanError, match=r"100 megapixels.*decompression bomb"):
        load_scan(path)


def test_total_voxel_cap_checked_on_header(tmp_path):
    path = tmp_path / "volume.dcm"
    path.write_bytes(mc.dicom_bytes(mc.dicom_dataset(np.zeros((5, 10, 10), np.uint8))))
    assert load_scan(path, limits=Limits(max_total_voxels=500)).n_frames == 5
    with pytest.raises(ScanError, match=r"limit is 0 million"):
        load_scan(path, limits=Limits(max_total_voxels=499))


def test_thousand_frame_dicom_loads(tmp_path):
    frames = np.random.default_rng(0).integers(0, 256, (1000, 24, 32), dtype=np.uint8)
    path = tmp_path / "thousand.dcm"
    path.write_bytes(mc.dicom_bytes(mc.dicom_dataset(frames)))
    scan = load_scan(path)
    assert scan.frames.shape == (1000, 24, 32)
    np.testing.assert_allclose(scan.frames, frames / 255.0, atol=1e-6)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ScanError, match="not found"):
        load_scan(tmp_path / "nope.png")
    with pytest.raises(ScanError, match="folder"):
        load_scan(tmp_path)


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(ScanError, match="not a regular file"):
        load_scan(fifo)
