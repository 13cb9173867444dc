"""Phantoms: seeded, in range, Kermany-like geometry, and each class's hallmark."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from core import CLASSES
from core.io.formats import SYNTHETIC_TEXT_KEY
from core.phantoms import make_phantom, make_phantom_with_lesions, write_samples

H, W = 124, 128  # small but with room for every layer


@pytest.mark.parametrize("label", CLASSES)
def test_shape_range_and_seeding(label):
    a = make_phantom(label, 3, H, W)
    assert a.shape == (H, W) and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 1.0
    np.testing.assert_array_equal(a, make_phantom(label, 3, H, W))
    assert not np.array_equal(a, make_phantom(label, 4, H, W))


@pytest.mark.parametrize("seed", range(4))
def test_kermany_geometry(seed):
    img = make_phantom("NORMAL", seed)  # full 496 x 512
    rows = ndimage.uniform_filter1d(img.mean(axis=1), 5)
    brightest = int(rows.argmax()) / img.shape[0]
    assert 0.3 < brightest < 0.75, "the RPE band belongs in the lower middle"
    assert img[: img.shape[0] // 8].mean() < 0.15, "the vitreous is dark"
    assert img[: img.shape[0] // 8].std() > 0.01, "even the vitreous has speckle"


def _ring(mask, width=3):
    return ndimage.binary_dilation(mask, iterations=width) & ~mask


@pytest.mark.parametrize("seed", range(3))
def test_dme_has_dark_cysts_inside_retina(seed):
    img, lesions = make_phantom_with_lesions("DME", seed, H, W)
    cyst = lesions["cyst"]
    assert ndimage.label(cyst)[1] >= 2
    smooth = ndimage.gaussian_filter(img, 1)
    assert smooth[cyst].mean() < 0.6 * smooth[_ring(cyst)].mean()
    rows = np.nonzero(cyst.any(axis=1))[0]
    assert rows.min() > H * 0.1, "cysts lie below the vitreous"


@pytest.mark.parametrize("seed", range(3))
def test_cnv_has_sub_rpe_lesion_and_fluid(seed):
    img, lesions = make_phantom_with_lesions("CNV", seed, 248, 256)
    smooth = ndimage.gaussian_filter(img, 1)
    assert smooth[lesions["sub_rpe"]].mean() > 0.3
    assert smooth[lesions["fluid"]].mean() < 0.6 * smooth[_ring(lesions["fluid"])].mean()
    assert lesions["sub_rpe"].sum() > lesions["fluid"].sum() * 0.5


@pytest.mark.parametrize("seed", range(3))
def test_drusen_are_small_rpe_bumps(seed):
    _, lesions = make_phantom_with_lesions("DRUSEN", seed, 496, 512)
    labels, n = ndimage.label(lesions["sub_rpe"])
    assert n >= 1
    heights = [sl[0].stop - sl[0].start for sl in ndimage.find_objects(labels)]
    assert max(heights) < 496 * 0.05, "drusen are low elevations, not a CNV dome"


def test_normal_has_no_lesions():
    assert make_phantom_with_lesions("NORMAL", 0, H, W)[1] == {}


def test_volume_slices_lose_the_pit_away_from_fovea():
    centre = make_phantom_with_lesions("DME", 5, H, W, slice_position=0.0)[1]["cyst"].sum()
    edge = make_phantom_with_lesions("DME", 5, H, W, slice_position=1.0)[1].get("cyst")
    assert edge is None or edge.sum() < centre


def test_bad_arguments():
    with pytest.raises(ValueError, match="label"):
        make_phantom("AMD", 0)
    with pytest.raises(ValueError, match="16 x 16"):
        make_phantom("DME", 0, 8, 8)


def test_write_samples(tmp_path):
    paths = write_samples(tmp_path, n=2, height=64, width=80, volume_frames=3)
    names = [p.name for p in paths]
    assert names[:2] == ["synthetic-CNV-0000.png", "synthetic-CNV-0001.png"]
    assert len(names) == 2 * len(CLASSES) + 1 and names[-1] == "synthetic-volume.dcm"
    with Image.open(paths[0]) as im:
        assert im.mode == "L" and im.size == (80, 64)
        assert SYNTHETIC_TEXT_KEY in im.info
    import pydicom
    ds = pydicom.dcmread(paths[-1])
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.77.1.5.4"
    assert str(ds.PatientName) == "SYNTHETIC^PHANTOM" and int(ds.NumberOfFrames) == 3
    # Deterministic: writing again gives the same bytes.
    again = write_samples(tmp_path / "again", n=2, height=64, width=80, volume_frames=3)
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in paths]
