"""Device exports: the Heidelberg VOL and XML test exports open as volumes
with their spacing, fundus and hidden patient fields, go through analysis,
and damaged copies are refused with one line while the originals stay as
they were. Zeiss cubes are headerless, so synthetic ones test that reader."""
from __future__ import annotations

import os
import shutil
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import CLASSES
from core.analysis import Analyzer
from core.errors import ScanError
from core.io import iter_scan_files, load_scan
from core.model_store import load_model_dir
from core.random_model import write_random_model
from core.summary import summarize
from tests.vendor_data import VOL, XML, needs_eyepy, needs_octconv, needs_vol, needs_xml, vol_header


def one_line_refusal(path: Path, pattern: str | None = None) -> ScanError:
    with pytest.raises(ScanError, match=pattern) as info:
        load_scan(path)
    err = info.value
    assert err.path == path and str(err).startswith(f"{path.name}: ")
    assert "\n" not in str(err) and len(str(err)) < 400, str(err)
    return err


# -- the test exports open ------------------------------------------------
@needs_eyepy
@needs_vol
def test_vol_opens_as_a_volume_with_spacing_fundus_and_hidden_patient_fields(file_guard):
    file_guard(VOL)
    scan = load_scan(VOL)
    h = vol_header(VOL)
    assert scan.frames.shape == (h["n"], h["size_y"], h["size_x"]) == (10, 40, 50)
    assert scan.frames.dtype == np.float32 and 0 <= scan.frames.min() < scan.frames.max() <= 1
    assert scan.pixel_spacing == pytest.approx((h["scale_y"], h["scale_x"]))
    assert scan.metadata["Format"] == "Heidelberg VOL"
    assert scan.metadata["Distance between B-scans"] == f"{h['distance'] * 1000:.1f} µm"
    assert {"Patient ID", "Birth date", "Visit date"} <= scan.phi_keys
    assert scan.metadata["Patient ID"] == "Study-01"
    assert scan.fundus is not None and scan.fundus.image.shape == h["slo"]
    assert scan.fundus.bscan_lines.shape == (10, 2, 2)
    # B-scans run left to right, and each lies above the one before
    lines = scan.fundus.bscan_lines
    assert (lines[:, 1, 0] > lines[:, 0, 0]).all() and (np.diff(lines[:, 0, 1]) < 0).all()
    file_guard.check()


@needs_eyepy
@needs_xml
def test_xml_opens_with_the_tiffs_it_names_and_the_spacing_it_states(file_guard):
    folder = XML.parent
    file_guard(*folder.iterdir())
    scan = load_scan(XML)
    root = ET.parse(XML).getroot()
    octs = [im for im in root.iter("Image") if im.findtext("ImageType/Type") == "OCT"]
    names = [im.findtext("ImageData/ExamURL").split("\\")[-1] for im in octs]
    expected = np.stack([np.asarray(Image.open(folder / n).convert("L")) for n in names]) / 255.0
    np.testing.assert_allclose(scan.frames, expected, atol=1e-6)
    ctx = octs[0].find("OphthalmicAcquisitionContext")
    assert scan.pixel_spacing == pytest.approx((float(ctx.findtext("ScaleY")),
                                                float(ctx.findtext("ScaleX"))))
    nir = np.asarray(Image.open(folder / "NIR1.tif").convert("L")) / 255.0
    np.testing.assert_allclose(scan.fundus.image, nir, atol=1e-6)
    assert scan.metadata["Device"] == "Spectralis"
    assert {"Patient last name", "Patient first names", "Birth date", "Operator"} <= scan.phi_keys
    file_guard.check()


@needs_eyepy
@needs_vol
@needs_xml
def test_vendor_volumes_go_through_analysis_like_any_scan(tmp_path):
    d, _, _ = write_random_model(tmp_path / "m", offset=0.0)
    analyzer = Analyzer(load_model_dir(d, device="cpu"), batch_size=4)
    for path in (VOL, XML):
        scan = load_scan(path)
        result = analyzer.analyze(scan)
        assert [f.frame for f in result.frames] == list(range(scan.n_frames))
        s = summarize(result, CLASSES)
        assert s.n_frames == 10 and sum(s.per_class.values()) + s.rejected == 10
        assert list(s.per_class) == list(CLASSES)
        assert s.text().startswith("10 frames: CNV ")


@needs_eyepy
@needs_xml
def test_folder_lists_the_xml_export_once_not_each_tiff(tmp_path):
    copy = tmp_path / "export"
    shutil.copytree(XML.parent, copy)
    listed = [p.name for p in iter_scan_files(copy)]
    # B11.tif is in the folder but the XML does not name it: it lists on its own
    assert listed == ["B11.tif", "test_dummy.xml"]


# -- damaged copies are refused -----------------------------------------
@needs_eyepy
@needs_vol
@pytest.mark.parametrize("keep", [100, 2047, 2048, 4000, 60_000, -1])
def test_truncated_vol_is_refused_in_one_line(tmp_path, file_guard, keep):
    file_guard(VOL)
    data = VOL.read_bytes()
    bad = tmp_path / "cut.vol"
    bad.write_bytes(data[:keep])
    one_line_refusal(bad, r"truncated")
    file_guard.check()


@needs_eyepy
@needs_vol
@pytest.mark.parametrize("offset,fmt,value,pattern", [
    (16, "<I", 10**6, r"frames; the limit is"),          # n_bscans
    (12, "<I", 0, r"implausible image width 0"),          # size_x
    (48, "<I", 40_000, r"implausible image width 40000"),  # SLO width
    (96, "<i", 2, r"circle scans are not supported"),     # scan pattern
    (20, "<I", 400, r"truncated"),                        # size_y larger than the data
])
def test_corrupted_vol_header_is_refused(tmp_path, offset, fmt, value, pattern):
    data = bytearray(VOL.read_bytes())
    struct.pack_into(fmt, data, offset, value)
    bad = tmp_path / "bad.vol"
    bad.write_bytes(bytes(data))
    one_line_refusal(bad, pattern)


def _xml_copy(tmp_path: Path, edit=None, drop: str | None = None) -> Path:
    copy = tmp_path / "export"
    shutil.copytree(XML.parent, copy)
    if drop:
        (copy / drop).unlink()
    if edit:
        xml = copy / XML.name
        xml.write_text(edit(xml.read_text(encoding="utf-8")), encoding="utf-8")
    return copy / XML.name


@needs_eyepy
@needs_xml
@pytest.mark.parametrize("case,pattern", [
    ("truncated", r"damaged or truncated \(ParseError"),
    ("missing_tiff", r"names B5\.tif, which is not a file in its folder"),
    ("outside", r"names an image outside its folder"),
    ("absolute", r"names an image outside its folder"),
    ("doctype", r"plain text"),  # only <HEDX> first is a Heidelberg export
    ("broken_tiff", r"B3\.tif is not a readable image"),
    ("truncated_tiff", r"damaged or truncated"),
])
def test_damaged_xml_export_is_refused_in_one_line(tmp_path, file_guard, case, pattern):
    file_guard(*XML.parent.iterdir())
    if case == "truncated":
        path = _xml_copy(tmp_path, lambda t: t[: len(t) // 2])
    elif case == "missing_tiff":
        path = _xml_copy(tmp_path, drop="B5.tif")
    elif case == "outside":
        path = _xml_copy(tmp_path, lambda t: t.replace("folder\\B2.tif", "../../../etc/passwd"))
    elif case == "absolute":
        path = _xml_copy(tmp_path, lambda t: t.replace("file:///\\\\domain\\folder\\folder\\B2.tif",
                                                       "/dev/zero"))
    elif case == "doctype":
        path = _xml_copy(tmp_path, lambda t: '<!DOCTYPE HEDX [<!ENTITY a "aaaa">]>\n' + t)
    else:
        path = _xml_copy(tmp_path)
        tif = path.parent / "B3.tif"
        data = tif.read_bytes()
        tif.write_bytes(b"garbage!" * 4 if case == "broken_tiff" else data[: len(data) // 2])
    one_line_refusal(path, pattern)
    file_guard.check()


@needs_eyepy
@pytest.mark.parametrize("magic,name", [(b"CMDb", "x.e2e"), (b"HSF-OCT-103", "x.vol")])
def test_garbage_behind_a_heidelberg_magic_is_refused(tmp_path, magic, name):
    bad = tmp_path / name
    bad.write_bytes(magic + bytes(range(256)) * 8)
    one_line_refusal(bad)


@needs_octconv
def test_garbage_behind_the_topcon_magic_is_refused(tmp_path):
    bad = tmp_path / "x.fda"
    bad.write_bytes(b"FOCTFDA" + struct.pack("<II", 1, 0) + b"\x05@JUNK" + bytes(40))
    one_line_refusal(bad, r"Topcon FDA file is damaged or truncated")


# -- Zeiss Cirrus cubes (headerless raw bytes) -----------------------------
@needs_octconv
def test_zeiss_cube_named_with_its_size_opens_in_cirrus_layout(tmp_path, file_guard):
    a_scans, b_scans, depth = 64, 8, 1024
    raw = np.random.default_rng(0).integers(0, 256, a_scans * b_scans * depth, dtype=np.uint8)
    path = tmp_path / "P12345_Macular Cube 64x8_1-2-2020_10-11-12_OD_sn9876_cube_z.img"
    path.write_bytes(raw.tobytes())
    file_guard(path)
    scan = load_scan(path)
    assert scan.frames.shape == (b_scans, depth, a_scans)
    # Cirrus stores A-scans contiguously, A-scan after A-scan, B-scan after B-scan
    cube = raw.reshape((depth, a_scans, b_scans), order="F")
    np.testing.assert_allclose(scan.frames[3], cube[:, :, 3] / 255.0, atol=1e-6)
    assert scan.pixel_spacing is None
    assert scan.metadata["Laterality"] == "OD"
    assert "Patient ID (from the file name)" in scan.phi_keys
    file_guard.check()


@needs_octconv
def test_zeiss_cube_of_the_wrong_size_is_refused(tmp_path):
    named = tmp_path / "Macular Cube 512x128_cube_z.img"
    named.write_bytes(bytes(1000))
    one_line_refusal(named, r"needs 67108864 bytes, but the file holds 1000")
    unnamed = tmp_path / "scan.img"
    unnamed.write_bytes(bytes(1000))
    one_line_refusal(unnamed, r"raw data without a header")


# -- without the extra ----------------------------------------------------
BLOCKER = '''
import sys

class BlockVendorReaders:
    """What a default install looks like: the vendor readers are not there."""
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("eyepy", "oct_converter"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, BlockVendorReaders())
'''

PROBE = '''
import sys
from pathlib import Path
from core.errors import ScanError
from core.io import load_scan
for p in sys.argv[1:]:
    try:
        scan = load_scan(p)
        print(Path(p).name, "LOADED", scan.n_frames)
    except ScanError as exc:
        print(exc)
print("imported:", sorted(m for m in sys.modules if m.split(".")[0] in ("eyepy", "oct_converter")))
'''


def _run_probe(tmp_path: Path, files, block: bool, frozen: bool = False) -> list[str]:
    import subprocess
    import sys
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    if block:
        # frozen: as PyInstaller's bootloader sets it, for the installed package
        (site / "sitecustomize.py").write_text(BLOCKER + ("\nsys.frozen = True\n" if frozen else ""))
    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(repo)]))
    out = subprocess.run([sys.executable, "-c", PROBE, *map(str, files)], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()


def _some_files(tmp_path: Path) -> list[Path]:
    png = tmp_path / "plain.png"
    Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8)).save(png)
    vol = tmp_path / "a.vol"
    vol.write_bytes(VOL.read_bytes() if VOL.is_file() else b"HSF-OCT-103" + bytes(4096))
    img = tmp_path / "Macular Cube 8x2_cube_z.img"
    img.write_bytes(bytes(8 * 2 * 1024))
    return [png, vol, img]


def test_without_the_extra_a_vendor_file_names_the_extra_to_install(tmp_path):
    png, vol, img = _some_files(tmp_path)
    lines = _run_probe(tmp_path, [png, vol, img], block=True)
    assert lines[0] == "plain.png LOADED 1"  # the default formats need no extra
    assert lines[1].startswith("a.vol: Heidelberg VOL files need the optional vendor readers: "
                               "install them with pip install 'octguard[vendor]' (or the "
                               "lighter 'octguard[heyex]')")
    assert "No module named 'eyepy" in lines[1]
    # a Zeiss .img has no header: its size is checked (one line) before any reader is imported
    assert lines[2].startswith(f"{img.name}: ") and "\n" not in lines[2]
    assert lines[3] == "imported: []"


def test_the_installed_package_without_a_reader_says_so_without_pip(tmp_path):
    """A clinician with the installer cannot pip install: the message says the
    package lacks the reader and how IT rebuilds it."""
    _, vol, _ = _some_files(tmp_path)
    line = _run_probe(tmp_path, [vol], block=True, frozen=True)[0]
    assert line.startswith("a.vol: Heidelberg VOL files need a reader this OCTGuard package was "
                           "built without; it has to be rebuilt with 'octguard[heyex]' installed")
    assert "pip install" not in line


def test_vendor_readers_are_imported_only_when_a_vendor_file_opens(tmp_path):
    png, *_ = _some_files(tmp_path)
    assert _run_probe(tmp_path, [png], block=False) == ["plain.png LOADED 1", "imported: []"]
