"""Seeded synthetic retinal OCT B-scans, one look per class.

Each phantom is a layered retina (nerve fibre layer down to the RPE and the
choroid) with speckle, a curved and tilted fundus and a foveal pit, drawn in
the Kermany geometry: dark vitreous above, bright RPE band in the lower middle.
On top comes each class's hallmark:

- DME: dark round intraretinal cysts in a thickened retina;
- CNV: a dome-shaped sub-RPE lesion with subretinal fluid above it;
- DRUSEN: small bumps of the RPE with material beneath;
- NORMAL: nothing.

They are for demos, tests and smoke checks of the pipeline, not for training:
they only look like OCT. Files written here say they are synthetic (a PNG
text chunk, a DICOM ImageComments value) and load with ``Scan.synthetic``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from . import CLASSES
from .io.formats import SYNTHETIC_DICOM_COMMENT, SYNTHETIC_TEXT_KEY

# (name, fraction of the inner retina thickness, reflectivity); top to bottom.
_INNER_LAYERS = (("RNFL", 0.16, 0.60), ("GCL", 0.16, 0.34), ("IPL", 0.14, 0.44),
                 ("INL", 0.13, 0.20), ("OPL", 0.08, 0.42))
_ONL, _ELM, _ISOS, _OS = (0.33, 0.12), (0.025, 0.38), (0.06, 0.80), (0.05, 0.28)
_RPE = (0.09, 0.97)
_VITREOUS = 0.03
# Kermany (Spectralis) geometry: ~3.9 um axial, ~11.5 um lateral per pixel at 512 wide.
SAMPLE_SPACING_MM = (0.0039, 0.0117)


def make_phantom(label: str, seed: int, height: int = 496, width: int = 512, *,
                 slice_position: float = 0.0, noise_seed: int | None = None) -> np.ndarray:
    """One synthetic B-scan, float32 (height, width) in [0, 1].

    ``seed`` fixes the anatomy and lesions; ``slice_position`` in [-1, 1] moves
    the B-scan away from the fovea (pit and lesions shrink, as in a volume);
    ``noise_seed`` (default ``seed``) fixes the speckle.
    """
    return make_phantom_with_lesions(label, seed, height, width, slice_position=slice_position,
                                     noise_seed=noise_seed)[0]


def make_phantom_with_lesions(label: str, seed: int, height: int = 496, width: int = 512, *,
                              slice_position: float = 0.0, noise_seed: int | None = None
                              ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Like :func:`make_phantom`, plus boolean masks of the drawn hallmarks:
    ``cyst`` (DME), ``fluid`` and ``sub_rpe`` (CNV), ``sub_rpe`` (DRUSEN)."""
    if label not in CLASSES:
        raise ValueError(f"label must be one of {CLASSES}, got {label!r}")
    if height < 16 or width < 16:
        raise ValueError(f"phantoms need at least 16 x 16 pixels, got {height} x {width}")
    rng = np.random.default_rng(seed)
    h, w = float(height), float(width)
    x = np.arange(width, dtype=np.float64)
    y = np.arange(height, dtype=np.float64)[:, None]
    near = float(np.exp(-(slice_position / 0.45) ** 2))  # 1 through the fovea

    # Fundus shape: Bruch's membrane line with curvature and tilt.
    xc = w * rng.uniform(0.4, 0.6)
    bruch = (h * rng.uniform(0.45, 0.55) + h * rng.uniform(-0.05, 0.10) * ((x - xc) / w) ** 2 * 4
             + h * rng.uniform(-0.08, 0.08) * (x - xc) / w)
    fovea = np.exp(-0.5 * ((x - xc) / (w * rng.uniform(0.06, 0.09))) ** 2) * near
    inner = h * rng.uniform(0.06, 0.075) * (1 + 0.25 * (x / w - 0.5) * rng.choice([-1, 1]))
    inner_scale = 1 - rng.uniform(0.85, 0.95) * fovea  # the pit: inner layers thin out
    onl_scale = 1 + 0.35 * fovea

    elevation = np.zeros(width)   # RPE lifted off Bruch's membrane
    fluid = np.zeros(width)       # subretinal fluid between RPE and photoreceptors
    swelling = np.zeros(width)    # extra INL/ONL thickness
    if label == "DME":
        swelling = h * rng.uniform(0.06, 0.1) * np.exp(-0.5 * ((x - xc) / (w * 0.14)) ** 2) * near
        inner_scale = 1 - 0.3 * fovea
    elif label == "CNV":
        cx = xc + w * rng.uniform(-0.08, 0.08)
        dome = np.exp(-0.5 * ((x - cx) / (w * rng.uniform(0.06, 0.1))) ** 2)
        rough = gaussian_filter(rng.normal(0, 1, width), max(w / 120, 1)) * h * 0.006
        elevation = np.clip(h * rng.uniform(0.05, 0.09) * dome * max(near, 0.3) + rough * dome, 0, None)
        side = rng.choice([-1, 1])
        fluid = h * rng.uniform(0.03, 0.05) * np.exp(-0.5 * ((x - cx - side * w * 0.09) / (w * 0.06)) ** 2)
        inner_scale = 1 - 0.2 * fovea
    elif label == "DRUSEN":
        for _ in range(rng.integers(2, 6)):
            dx = xc + w * rng.uniform(-0.3, 0.3)
            elevation += (h * rng.uniform(0.012, 0.03)
                          * np.exp(-0.5 * ((x - dx) / (w * rng.uniform(0.012, 0.03))) ** 2))

    # Boundaries from Bruch's membrane upwards: (top, bottom, reflectivity).
    bands = []
    rpe_bottom = bruch - elevation
    rpe_top = rpe_bottom - inner * _RPE[0] * 1.6
    bands.append((rpe_top, rpe_bottom, _RPE[1]))
    lesions: dict[str, np.ndarray] = {}
    if elevation.any():
        material = 0.62 if label == "CNV" else 0.5
        bands.append((rpe_bottom, bruch, material))
        lesions["sub_rpe"] = (y >= rpe_bottom) & (y < bruch - 1)
    top = rpe_top - fluid
    if fluid.any():
        bands.append((top, rpe_top, 0.03))
        lesions["fluid"] = (y >= top) & (y < rpe_top) & (fluid > 1)
    for frac, refl in (_OS, _ISOS, _ELM):
        bands.append((top - inner * frac * 1.6, top, refl))
        top = bands[-1][0]
    # Drusen push the outer retina up; the ONL absorbs most of it.
    onl = np.maximum(inner * _ONL[0] * 1.6 * onl_scale + swelling * 0.6
                     - (0.7 * elevation if label == "DRUSEN" else 0), 1.0)
    bands.append((top - onl, top, _ONL[1]))
    top = top - onl
    onl_band = bands[-1]
    for name, frac, refl in reversed(_INNER_LAYERS):
        thick = inner * frac * 2.2 * inner_scale + (swelling * 0.4 if name == "INL" else 0)
        bands.append((top - thick, top, refl))
        top = top - thick
    ilm = top

    img = np.full((height, width), _VITREOUS)
    edge = max(h / 500, 0.35)  # soft boundaries, about a pixel wide at full size
    for t, b, refl in bands:
        img += (refl - _VITREOUS) * (_sig((y - t) / edge) - _sig((y - b) / edge))
    img += 0.75 * np.exp(-0.5 * ((y - bruch) / max(h / 400, 0.4)) ** 2)  # Bruch's membrane line
    # Choroid: blobby vessels fading with depth, then dim sclera.
    depth = y - bruch
    texture = gaussian_filter(rng.normal(0, 1, (height, width)), (h / 110, w / 60))
    texture = texture / (texture.std() + 1e-9)
    choroid = (0.36 + 0.15 * np.tanh(texture)) * np.exp(-np.clip(depth, 0, None) / (h * 0.09))
    img = np.where(depth > 0, choroid + _VITREOUS, img)

    if label == "DME":
        top_inl = onl_band[0] - inner * 0.2
        for _ in range(rng.integers(4, 10)):
            cx = xc + w * rng.uniform(-0.14, 0.14)
            i = int(np.clip(cx, 0, width - 1))
            cy = rng.uniform(top_inl[i], onl_band[1][i] - inner[i] * 0.05)
            ry = h * rng.uniform(0.012, 0.028) * (0.4 + 0.6 * near)
            rx = ry * rng.uniform(1.0, 2.2) * w / h
            r = np.sqrt(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2)
            mask = _sig((1 - r) * 6)
            img = img * (1 - mask) + 0.02 * mask
            lesions["cyst"] = lesions.get("cyst", np.zeros(img.shape, bool)) | (r < 0.8)
    if label == "CNV":  # heterogeneous lesion: bright flecks in the sub-RPE material
        lesion = (y > rpe_top) & (y < bruch + h * 0.01) & (elevation > 1)
        img = np.where(lesion, img * (0.7 + 0.6 * rng.random((height, width))), img)

    # Retinal vessels in the inner retina cast shadows down to the choroid.
    for _ in range(rng.integers(1, 4)):
        vx = rng.uniform(0, w)
        vw = w * rng.uniform(0.004, 0.01)
        col = np.exp(-0.5 * ((x - vx) / vw) ** 2)
        i = int(np.clip(vx, 0, width - 1))
        below = _sig((y - (ilm[i] + inner[i] * 0.4)) / edge)
        img = img * (1 - 0.25 * col * below)

    # Speckle: multiplicative gamma noise with a lateral grain, then display gamma.
    noise = np.random.default_rng(seed if noise_seed is None else noise_seed)
    speckle = noise.gamma(2.0, 0.5, (height, width))
    speckle = gaussian_filter(speckle, (max(h / 600, 0.4), max(w / 350, 0.6)))
    speckle /= speckle.mean()
    img = img * speckle + 0.035 * noise.random((height, width))
    img = np.clip(img * rng.uniform(0.9, 1.1), 0, None) ** 0.85
    lesions = {k: v for k, v in lesions.items() if v.any()}
    return np.clip(img, 0.0, 1.0).astype(np.float32), lesions


def _sig(z):
    return 0.5 * (1 + np.tanh(0.5 * z))  # logistic without overflow warnings


def write_samples(directory: str | Path, n: int = 2, *, seed: int = 0, height: int = 496, width: int = 512,
                  volume_frames: int = 8) -> list[Path]:
    """Write ``n`` PNG phantoms per class and one OPT DICOM volume; return the paths.
    ``seed`` shifts every phantom's seed, so seed 0 always gives the same set.

    PNGs are 8-bit grey named ``synthetic-<CLASS>-<index>.png`` and carry a
    ``synthetic`` text chunk; the volume is ``synthetic-volume.dcm``.
    """
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for c, label in enumerate(CLASSES):
        for i in range(n):
            s = 1000 * (c + 1) + i + 100_000 * seed
            img = make_phantom(label, s, height, width)
            info = PngInfo()
            info.add_text(SYNTHETIC_TEXT_KEY, f"OCTGuard phantom; class={label}; seed={s}")
            path = directory / f"synthetic-{label}-{i:04d}.png"
            Image.fromarray(to_uint8(img)).save(path, pnginfo=info)
            paths.append(path)
    if volume_frames > 0:
        positions = np.linspace(-1, 1, volume_frames)
        frames = np.stack([to_uint8(make_phantom("DME", 7 + seed, height, width, slice_position=float(p),
                                                 noise_seed=700 + k + 100_000 * seed))
                           for k, p in enumerate(positions)])
        path = directory / "synthetic-volume.dcm"
        write_opt_dicom(path, frames, SAMPLE_SPACING_MM, slice_spacing_mm=6.0 / max(volume_frames, 1))
        paths.append(path)
    return paths


def to_uint8(img: np.ndarray) -> np.ndarray:
    return np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)


def write_opt_dicom(path: str | Path, frames: np.ndarray, pixel_spacing_mm: tuple[float, float],
                    slice_spacing_mm: float = 0.1) -> Path:
    """Write uint8 (F, H, W) frames as an Ophthalmic Tomography Image Storage
    file for a fake patient SYNTHETIC^PHANTOM, marked synthetic in ImageComments."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    n, rows, cols = frames.shape
    uid = lambda part: generate_uid(entropy_srcs=["octguard-phantom", Path(path).name, part])  # noqa: E731
    sop_class = "1.2.840.10008.5.1.4.1.1.77.1.5.4"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = uid("sop")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uid("study"), uid("series")
    ds.Modality, ds.Manufacturer = "OPT", "OCTGuard (synthetic)"
    ds.PatientName, ds.PatientID = "SYNTHETIC^PHANTOM", "SYNTHETIC-0000"
    ds.PatientBirthDate, ds.PatientSex = "", "O"
    ds.StudyDate, ds.SeriesDescription = "20000101", "Synthetic OCT volume"
    ds.ImageLaterality, ds.ImageType = "R", ["DERIVED", "SECONDARY"]
    ds.ImageComments = SYNTHETIC_DICOM_COMMENT
    ds.InstanceNumber = 1
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, cols, n
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelSpacing = [f"{pixel_spacing_mm[0]:.6g}", f"{pixel_spacing_mm[1]:.6g}"]
    measures = Dataset()
    measures.PixelSpacing = ds.PixelSpacing
    measures.SliceThickness = f"{slice_spacing_mm:.6g}"
    shared = Dataset()
    shared.PixelMeasuresSequence = Sequence([measures])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    ds.PixelData = frames.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return Path(path)
