"""Every supported format written with known pixels loads back to those
pixels, scaled by the file's own bit depth, without touching the file."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.errors import ScanError
from core.io import FILE_DIALOG_FILTER, SUPPORTED_SUFFIXES, iter_scan_files, load_scan
from tests.corpus import make_corpus as mc


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_png_8bit(tmp_path, file_guard):
    px = mc.noise_image(30, 40, seed=1)
    path = _write(tmp_path / "a.png", mc.image_bytes(px, "PNG"))
    file_guard(path)
    scan = load_scan(path)
    file_guard.check()
    assert scan.frames.shape == (1, 30, 40) and scan.frames.dtype == np.float32
    np.testing.assert_allclose(scan.frames[0], px / 255.0, atol=1e-6)
    assert scan.metadata["Bit depth"] == "8-bit" and scan.metadata["Size"] == "40 x 30"
    assert not scan.synthetic and scan.pixel_spacing is None


def test_png_16bit(tmp_path, file_guard):
    px = mc.noise_image(30, 40, seed=2, dtype=np.uint16)
    path = _write(tmp_path / "a.png", mc.image_bytes(px, "PNG"))
    file_guard(path)
    scan = load_scan(path)
    file_guard.check()
    np.testing.assert_allclose(scan.frames[0], px / 65535.0, atol=1e-6)
    assert scan.metadata["Bit depth"] == "16-bit"


def test_rgb_jpeg_becomes_luminance(tmp_path, file_guard):
    rgb = np.zeros((32, 32, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 100, 50
    path = _write(tmp_path / "a.jpg", mc.image_bytes(rgb, "JPEG", quality=100, subsampling=0))
    file_guard(path)
    scan = load_scan(path)
    file_guard.check()
    expected = (0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255
    assert scan.frames.shape == (1, 32, 32)
    assert abs(float(scan.frames.mean()) - expected) < 3 / 255  # JPEG is lossy
    assert scan.metadata["Format"] == "JPEG" and "colour" in scan.metadata["Colour"]


def test_bmp(tmp_path):
    px = mc.noise_image(20, 24, seed=3)
    scan = load_scan(_write(tmp_path / "a.bmp", mc.image_bytes(px, "BMP")))
    np.testing.assert_allclose(scan.frames[0], px / 255.0, atol=1e-6)


def test_float_tiff_in_unit_range_kept(tmp_path, file_guard):
    px = np.random.default_rng(4).random((16, 20)).astype(np.float32)
    path = _write(tmp_path / "a.tif", mc.tiff_bytes([px]))
    file_guard(path)
    scan = load_scan(path)
    file_guard.check()
    np.testing.assert_array_equal(scan.frames[0], px)
    assert "float" in scan.metadata["Bit depth"]


def test_float_tiff_out_of_range_is_stretched(tmp_path):
    px = np.linspace(-50, 150, 16 * 20, dtype=np.float32).reshape(16, 20)
    scan = load_scan(_write(tmp_path / "a.tif", mc.tiff_bytes([px])))
    np.testing.assert_allclose(scan.frames[0], (px + 50) / 200, atol=1e-6)
    assert "stretched" in scan.metadata["Intensity"]


def test_multipage_tiff(tmp_path):
    pages = [mc.noise_image(12, 14, seed=s) for s in range(5)]
    scan = load_scan(_write(tmp_path / "a.tiff", mc.tiff_bytes(pages)))
    assert scan.n_frames == 5 and scan.metadata["Frames"] == "5"
    np.testing.assert_allclose(scan.frames, np.stack(pages) / 255.0, atol=1e-6)


def test_16bit_tiff(tmp_path):
    px = mc.noise_image(12, 14, seed=6, dtype=np.uint16)
    scan = load_scan(_write(tmp_path / "a.tif", mc.tiff_bytes([px])))
    np.testing.assert_allclose(scan.frames[0], px / 65535.0, atol=1e-6)


def test_single_frame_dicom_with_tags(tmp_path, file_guard):
    px = mc.noise_image(20, 30, seed=7)
    ds = mc.dicom_dataset(px, PixelSpacing=["0.0039", "0.0117"], Manufacturer="Acme",
                          StudyDate="20240102")
    path = _write(tmp_path / "a.dcm", mc.dicom_bytes(ds))
    file_guard(path)
    scan = load_scan(path)
    file_guard.check()
    np.testing.assert_allclose(scan.frames[0], px / 255.0, atol=1e-6)
    assert scan.pixel_spacing == (0.0039, 0.0117)
    md = scan.metadata
    assert md["Modality"] == "OPT" and md["Manufacturer"] == "Acme"
    assert md["SOPClassUID"] == mc.OPT_SOP and md["SOP class"] == "Ophthalmic Tomography Image Storage"
    assert md["PatientName"] == "DOE^JANE"
    assert {"PatientName", "PatientID", "PatientBirthDate", "StudyDate"} <= scan.phi_keys
    assert "Manufacturer" not in scan.phi_keys and scan.phi_keys <= set(md)


def test_multiframe_16bit_dicom_with_rescale(tmp_path):
    px = mc.noise_image(6, 10, seed=8, dtype=np.uint16).reshape(1, 6, 10).repeat(3, 0)
    px = px >> 4  # 12 bits stored
    ds = mc.dicom_dataset(px, bits_stored=12, RescaleSlope="2", RescaleIntercept="-100")
    scan = load_scan(_write(tmp_path / "a.dcm", mc.dicom_bytes(ds)))
    assert scan.n_frames == 3
    # A positive rescale maps the stored range onto itself: same as raw / (2**12 - 1).
    np.testing.assert_allclose(scan.frames, px / 4095.0, atol=1e-6)
    assert scan.metadata["Rescale"] == "slope 2, intercept -100"
    assert scan.metadata["Bit depth"] == "12-bit"


def test_negative_slope_flips(tmp_path):
    px = mc.noise_image(6, 10, seed=9)
    ds = mc.dicom_dataset(px, RescaleSlope="-1", RescaleIntercept="0")
    scan = load_scan(_write(tmp_path / "a.dcm", mc.dicom_bytes(ds)))
    np.testing.assert_allclose(scan.frames[0], 1 - px / 255.0, atol=1e-6)


def test_monochrome1_is_inverted(tmp_path):
    px = mc.noise_image(6, 10, seed=10)
    scan = load_scan(_write(tmp_path / "a.dcm", mc.dicom_bytes(mc.dicom_dataset(px, photometric="MONOCHROME1"))))
    np.testing.assert_allclose(scan.frames[0], 1 - px / 255.0, atol=1e-6)


def test_signed_dicom(tmp_path):
    px = np.array([[-32768, 0, 32767]], np.int16).repeat(4, 0)
    scan = load_scan(_write(tmp_path / "a.dcm", mc.dicom_bytes(mc.dicom_dataset(px, signed=True))))
    np.testing.assert_allclose(scan.frames[0, 0], [0, 32768 / 65535, 1], atol=1e-6)


def test_rgb_dicom_becomes_luminance(tmp_path):
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 1] = 255
    scan = load_scan(_write(tmp_path / "a.dcm", mc.dicom_bytes(mc.dicom_dataset(rgb, photometric="RGB"))))
    np.testing.assert_allclose(scan.frames, 0.587, atol=1e-6)


def test_opt_spacing_from_functional_groups(tmp_path):
    from core.phantoms import write_opt_dicom
    frames = np.stack([mc.noise_image(8, 9, seed=s) for s in range(3)])
    path = write_opt_dicom(tmp_path / "v.dcm", frames, (0.004, 0.012))
    import pydicom
    ds = pydicom.dcmread(path)
    del ds.PixelSpacing  # only the shared functional group keeps it
    ds.save_as(path)
    scan = load_scan(path)
    assert scan.pixel_spacing == (0.004, 0.012)
    np.testing.assert_allclose(scan.frames, frames / 255.0, atol=1e-6)


def test_jpeg2000_dicom_decodes_or_names_the_syntax(tmp_path):
    """Pillow can usually decode JPEG 2000; if it cannot, the reason must name the syntax."""
    from pydicom.encaps import encapsulate
    px = mc.noise_image(16, 16, seed=11)
    j2k = mc.image_bytes(px, "JPEG2000", irreversible=False, no_jp2=True)
    ds = mc.dicom_dataset(px, transfer_syntax="1.2.840.10008.1.2.4.90")
    ds.PixelData = encapsulate([j2k])
    ds["PixelData"].VR = "OB"
    path = _write(tmp_path / "j2k.dcm", mc.dicom_bytes(ds))
    try:
        scan = load_scan(path)
    except ScanError as exc:
        assert "JPEG 2000" in exc.reason and "1.2.840.10008.1.2.4.90" in exc.reason
    else:
        np.testing.assert_allclose(scan.frames[0], px / 255.0, atol=1e-6)


def test_jpeg2000_without_decoder_names_the_syntax(tmp_path, monkeypatch):
    """Simulate a machine without a JPEG 2000 decoder (pydicom's, not ours)."""
    from pydicom.pixels import get_decoder
    from pydicom.uid import JPEG2000Lossless
    decoder = get_decoder(JPEG2000Lossless)
    monkeypatch.setattr(type(decoder), "is_available", property(lambda self: False))
    ds = mc.dicom_dataset(mc.noise_image(8, 8), transfer_syntax=JPEG2000Lossless)
    from pydicom.encaps import encapsulate
    ds.PixelData = encapsulate([b"\xff\x4f\xff\x51" + bytes(40)])
    ds["PixelData"].VR = "OB"
    with pytest.raises(ScanError, match=r"JPEG 2000 Image Compression \(Lossless Only\).*no installed decoder"):
        load_scan(_write(tmp_path / "j2k.dcm", mc.dicom_bytes(ds)))


def test_phantom_files_are_synthetic(phantom_dir, file_guard):
    paths = sorted(phantom_dir.iterdir())
    file_guard(*paths)
    scans = {p.name: load_scan(p) for p in paths}
    file_guard.check()
    assert all(s.synthetic for s in scans.values())
    vol = scans["synthetic-volume.dcm"]
    assert vol.n_frames == 4 and vol.metadata["PatientName"] == "SYNTHETIC^PHANTOM"
    assert vol.metadata["SOPClassUID"] == "1.2.840.10008.5.1.4.1.1.77.1.5.4"
    assert vol.pixel_spacing is not None


def test_iter_scan_files(tmp_path):
    names = ["img10.png", "img2.png", "IMG1.JPG", "notes.txt", ".hidden.png", "DICOMDIR"]
    for n in names:
        (tmp_path / n).write_bytes(b"x")
    (tmp_path / "IM0001").write_bytes(mc.dicom_bytes(mc.dicom_dataset(mc.noise_image(4, 4))))
    (tmp_path / "README").write_bytes(b"text")
    found = [p.name for p in iter_scan_files(tmp_path)]
    assert found == ["IM0001", "IMG1.JPG", "img2.png", "img10.png"]
    with pytest.raises(ScanError):
        list(iter_scan_files(tmp_path / "img2.png"))


def test_dialog_filter_lists_every_suffix():
    for suffix in SUPPORTED_SUFFIXES:
        assert f"*{suffix}" in FILE_DIALOG_FILTER
    assert FILE_DIALOG_FILTER.endswith("All files (*)")
