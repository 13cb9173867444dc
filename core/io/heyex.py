"""Heidelberg Engineering (Spectralis) exports through eyepy: VOL, XML and E2E.

Before eyepy decodes anything, the VOL header and the XML index are read on
their own, so the size limits are checked on the declared dimensions, a file
too short for them is refused, and an XML export may only name images that
sit in its own folder.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import ScanError
from ..scan import Fundus, Scan
from .limits import DEFAULT_LIMITS, Limits
from .vendor import (EXTRA_HEYEX, import_reader, positive_mm, put, reading, text,
                     unit_frames, unit_image)

VOL_HEADER_BYTES = 2048
VOL_BSCAN_HEADER_MIN = 256
SCAN_PATTERNS = {1: "single line", 2: "circle", 3: "volume (ART mode)", 4: "fast volume",
                 5: "radial"}
UNSUPPORTED_PATTERNS = (2, 5)  # eyepy's EyeVolume holds parallel B-scans only

# What a VOL header holds where a field was never set: 0, and the epochs of its dates.
UNSET = {"0", "1601-01-01T00:00:00", "1899-12-30T00:00:00"}
# (header key, display key, identifies the patient). VOL headers and eyepy's
# parse of an XML export use the same keys.
HEADER_FIELDS = (
    ("version", "Export version", False),
    ("scan_position", "Laterality", False),
    ("field_size_slo", "Fundus field (degrees)", False),
    ("scan_focus", "Scan focus (dpt)", False),
    ("patient_id", "Patient ID", True),
    ("pid", "Internal patient ID", True),
    ("lastname", "Patient last name", True),
    ("firstnames", "Patient first names", True),
    ("dob", "Birth date", True),
    ("visit_id", "Visit ID", True),
    ("vid", "Internal visit ID", True),
    ("visit_date", "Visit date", True),
    ("exam_time", "Exam time", True),
    ("id", "Series ID", True),
    ("reference_id", "Reference series ID", True),
    ("prog_id", "Progression ID", True),
)


# -- VOL --------------------------------------------------------------------
def load_vol(path: Path, limits: Limits = DEFAULT_LIMITS) -> Scan:
    what = "Heidelberg VOL"
    head = _vol_head(path)
    mod = import_reader(path, "eyepy.io.he.vol_reader", what, EXTRA_HEYEX)
    header = _vol_header(path, head, mod, limits)
    with reading(path, what):
        reader = mod.HeVolReader(path)
        volume = reader.volume
        data = volume.data
    md = {"Format": what, "Manufacturer": "Heidelberg Engineering"}
    over = _over_range(reader)
    if over > 0.01:
        md["Intensity"] = (f"{over:.0%} of the raw values lie above the VOL range 0 to 1 and "
                           "show as white, as eyepy reads them")
    return _scan(path, volume, data, dict(header), md, limits)


def _over_range(reader) -> float:
    """Fraction of VOL pixels above 1 (reflectivities are 0 to 1; FLT_MAX
    marks pixels with no data)."""
    raw = np.stack([b.data for b in reader.parsed_file.bscans])
    valid = raw != np.finfo(np.float32).max
    return float((raw[valid] > 1).mean()) if valid.any() else 0.0


@lru_cache(maxsize=1)
def _vol_header_struct(mod):
    import construct as cs
    # eyepy's own VOL layout up to, not including, the SLO image and the B-scans
    return cs.Struct(*[s for s in mod.vol_format.subcons if s.name not in ("localizer", "bscans")])


def _vol_head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        head = fh.read(VOL_HEADER_BYTES)
    if len(head) < VOL_HEADER_BYTES:
        raise ScanError(path, f"the VOL file is truncated: {len(head)} bytes, shorter than its "
                              f"{VOL_HEADER_BYTES}-byte header")
    return head


def _vol_header(path: Path, head: bytes, mod, limits: Limits):
    size = path.stat().st_size
    with reading(path, "Heidelberg VOL"):
        h = _vol_header_struct(mod).parse(head)
    limits.check_dims(path, h.size_y, h.size_x, h.n_bscans)
    limits.check_dims(path, h.size_y_slo, h.size_x_slo)
    if h.scan_pattern in UNSUPPORTED_PATTERNS:
        raise ScanError(path, f"{SCAN_PATTERNS[h.scan_pattern]} scans are not supported "
                              "(volumes and line scans are)")
    need = (VOL_HEADER_BYTES + h.size_x_slo * h.size_y_slo
            + h.n_bscans * (VOL_BSCAN_HEADER_MIN + h.size_x * h.size_y * 4))
    if size < need:
        raise ScanError(path, f"the VOL file is truncated: its header declares {h.n_bscans} "
                              f"B-scans of {h.size_x} x {h.size_y} and a {h.size_x_slo} x "
                              f"{h.size_y_slo} fundus image, at least {need} bytes, but the "
                              f"file holds {size}")
    return {k: v for k, v in h.items() if not k.startswith("_")}


# -- XML --------------------------------------------------------------------
def load_xml(path: Path, limits: Limits = DEFAULT_LIMITS) -> Scan:
    what = "Heidelberg XML"
    root = _xml_root(path)  # the index is checked with the standard library first
    oct_names, _ = _xml_members(path, root)
    _check_xml_images(path, oct_names, limits)
    if path.suffix != ".xml":  # eyepy takes any other name for a folder
        raise ScanError(path, "a Heidelberg XML export must be named *.xml (lower case) to be read")
    mod = import_reader(path, "eyepy.io.he.xml_reader", what, EXTRA_HEYEX)
    with reading(path, what):
        try:
            reader = mod.HeXmlReader(path)
            volume = reader.volume
            data = volume.data
            header = dict(reader.parsed_values)
        finally:
            mod.get_xml_root.cache_clear()  # eyepy caches parsed files by path
    equipment = root.find(".//GeneralEquipment")
    md = {"Format": what}
    put(md, set(), "Manufacturer", equipment.findtext("Manufacturer") if equipment is not None else "")
    put(md, set(), "Device", equipment.findtext("ManufacturerModelName")
        if equipment is not None else "")
    scan = _scan(path, volume, data, header, md, limits)
    for tag, key in (("Operator", "Operator"), ("ReferringPhysician", "Referring physician")):
        put(scan.metadata, scan.phi_keys, key, root.findtext(f".//{tag}"), is_phi=True)
    return scan


def _xml_root(path: Path) -> ET.Element:
    # No DOCTYPE (so no entities) can reach the parser: the sniffer wants
    # <HEDX> as the first element (core/io/formats.py).
    with reading(path, "Heidelberg XML"):
        root = ET.fromstring(path.read_bytes())
    if root.tag != "HEDX" or len(root) == 0:
        raise ScanError(path, "not a Heidelberg XML export (no <HEDX> body)")
    return root


def _xml_members(path: Path, root: ET.Element) -> tuple[list[str], list[str]]:
    """(B-scan file names, fundus file names) the export names, the way eyepy
    reads them: the last backslash-separated part of each ExamURL, in the XML's
    folder. Anything that could point elsewhere is refused."""
    oct_names, fundus = [], []
    for image in root.iter("Image"):
        kind = (image.findtext("ImageType/Type") or "").strip()
        if kind not in ("OCT", "LOCALIZER"):
            continue
        url = image.findtext("ImageData/ExamURL")
        if not url:
            raise ScanError(path, f"an {kind} image in the export has no file name (ExamURL)")
        name = url.split("\\")[-1]
        if "/" in name or name in ("", ".", ".."):
            raise ScanError(path, f"the export names an image outside its folder "
                                  f"({text(url, 80)!r}); refused")
        (oct_names if kind == "OCT" else fundus).append(name)
    if not oct_names:
        raise ScanError(path, "the XML export names no OCT B-scans")
    return oct_names, fundus


def _check_xml_images(path: Path, names: list[str], limits: Limits) -> None:
    """Every B-scan is a regular image file of one size, within the limits,
    checked from the image headers before anything is decoded."""
    from PIL import Image

    from .images import PILLOW_FORMATS
    sizes = set()
    for name in names:
        member = path.parent / name
        if not member.is_file():
            raise ScanError(path, f"the export names {name}, which is not a file in its folder")
        limits.check_file_size(member, member.stat().st_size)
        try:
            with Image.open(member, formats=PILLOW_FORMATS) as im:
                sizes.add(im.size)
        except Exception as exc:  # noqa: BLE001 - Pillow raises many types for bad headers
            raise ScanError(path, f"the export's B-scan {name} is not a readable image "
                                  f"({text(exc, 100)})") from None
    if len(sizes) > 1:
        raise ScanError(path, f"the export's B-scans differ in size ({len(sizes)} sizes)")
    width, height = sizes.pop()
    limits.check_dims(path, height, width, len(names))


def xml_member_files(path: Path) -> set[Path]:
    """The image files a Heidelberg XML export names (for folder listings,
    which show the export once rather than each of its TIFFs). Empty for an
    XML that cannot be read."""
    try:
        oct_names, fundus = _xml_members(path, _xml_root(path))
    except (ScanError, OSError):
        return set()
    return {path.parent / n for n in oct_names + fundus}


# -- E2E --------------------------------------------------------------------
def load_e2e(path: Path, limits: Limits = DEFAULT_LIMITS) -> Scan:
    what = "Heidelberg E2E"
    mod = import_reader(path, "eyepy.io.he.e2e_reader", what, EXTRA_HEYEX)
    with reading(path, what):
        reader = mod.HeE2eReader(path)
        if not reader.series:
            raise ScanError(path, "the E2E file holds no OCT series")
        n_series = len(reader.series)
        with reader as r:
            volume = r.volume  # the first series, as eyepy's import_heyex_e2e does
            data = np.asarray(volume.data)
    # E2E has no up-front size header: the limits apply to what was decoded,
    # which the file-size limit already bounds (E2E pixels are uncompressed).
    md = {"Format": what, "Manufacturer": "Heidelberg Engineering"}
    if n_series > 1:
        md["Series"] = f"first of {n_series} in the file"
    header = {"scan_position": volume.meta.get("laterality")}
    scan = _scan(path, volume, data, header, md, limits)
    _flatten(scan, volume.meta.get("e2e_metadata") or {})
    return scan


def _flatten(scan: Scan, nested: dict, prefix: str = "") -> None:
    """E2E's sectioned metadata; the Patient section, dates and ids are PHI."""
    for key, value in nested.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(scan, value, f"{name}: ")
        else:
            phi = (name.startswith("Patient") or any(w in str(key) for w in ("Date", "Time", "ID")))
            put(scan.metadata, scan.phi_keys, name, value, is_phi=phi)


# -- shared -----------------------------------------------------------------
def _scan(path: Path, volume, data, header: dict, md: dict[str, str], limits: Limits) -> Scan:
    data = np.asarray(data)
    if data.ndim == 3:
        limits.check_dims(path, data.shape[1], data.shape[2], data.shape[0])
    frames = unit_frames(path, data, md)
    phi: set[str] = set()
    pattern = header.get("scan_pattern")
    if pattern in SCAN_PATTERNS:
        md["Scan pattern"] = SCAN_PATTERNS[pattern]
    md["B-scans"] = str(frames.shape[0])
    meta = volume.meta
    spacing = None
    if meta.get("scale_unit") == "mm" and positive_mm(meta.get("scale_y"), meta.get("scale_x")):
        spacing = (float(meta["scale_y"]), float(meta["scale_x"]))
        if frames.shape[0] > 1 and positive_mm(meta.get("scale_z")):
            md["Distance between B-scans"] = f"{float(meta['scale_z']) * 1000:.1f} µm"
    for key, label, is_phi in HEADER_FIELDS:
        if text(header.get(key)) not in UNSET:
            put(md, phi, label, header.get(key), is_phi)
    import eyepy
    md["Reader"] = f"eyepy {eyepy.__version__}"
    fundus = _fundus(path, volume, frames.shape[0], md)
    return Scan(frames, source=path, pixel_spacing=spacing, metadata=md, phi_keys=phi,
                fundus=fundus)


def _fundus(path: Path, volume, n_frames: int, md: dict[str, str]) -> Fundus | None:
    """eyepy's localizer and the B-scan positions, in fundus pixels."""
    loc = volume.localizer
    image = np.asarray(loc.data)
    if image.ndim == 3:
        image = image[..., 0]
    if image.ndim != 2 or min(image.shape) < 2:
        return None
    lm = loc.meta
    scale = (lm.get("scale_y"), lm.get("scale_x"))
    spacing = (float(scale[0]), float(scale[1])) if (lm.get("scale_unit") == "mm"
                                                     and positive_mm(*scale)) else None
    lines = []
    for bm in volume.meta.get("bscan_meta") or []:
        start, end = bm.get("start_pos"), bm.get("end_pos")
        if start is None or end is None:
            break
        xy = np.array([start, end], dtype=np.float64)
        if bm.get("pos_unit") == "mm":
            if spacing is None:
                break
            xy = xy / np.array([spacing[1], spacing[0]])
        lines.append(xy)
    # eyepy draws a projection of the B-scans when a file has no fundus image
    modality = text(lm.get("modality")) or "projection of the B-scans"
    md["Fundus"] = f"{image.shape[1]} x {image.shape[0]} px" + (f", {modality}" if modality else "")
    return Fundus(unit_image(path, image, {}), pixel_spacing=spacing,
                  bscan_lines=np.stack(lines) if len(lines) == n_frames else None,
                  modality=modality)
