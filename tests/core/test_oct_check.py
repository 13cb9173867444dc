"""core.oct_check: what has no OCT structure is refused; real scans are not.
Generated images always run; the real-data tests need ../shared/data/oct."""
import json
from pathlib import Path

import numpy as np
import pytest

from bench.ood_set import KINDS, make_ood
from core import oct_check
from core.io import load_scan
from core.phantoms import make_phantom
from core.preprocess import to_tensor
from core.samples import sample_paths

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "oct"
FIT = Path(__file__).resolve().parents[2] / "bench" / "results" / "oct-check-fit.json"
SIZE = 160


def _check(frame):
    return oct_check.check(to_tensor(frame, SIZE, 1)[:, 0].numpy())[0]


@pytest.mark.parametrize("kind", ["blank", "gradient", "text", "noise_uniform", "fundus", "xray"])
def test_images_without_oct_structure_are_refused(kind):
    results = [_check(make_ood(kind, s)) for s in range(6)]
    assert sum(not r.ok for r in results) >= 5, [r.why for r in results]
    assert all(r.why for r in results if not r.ok)


def test_shipped_sample_scans_and_phantoms_pass():
    for p in sample_paths():
        assert _check(load_scan(p).frames[0]).ok, p.name
    for c in ("CNV", "DME", "DRUSEN", "NORMAL"):
        assert _check(make_phantom(c, 7)).ok


@pytest.mark.parametrize("h", [5, 6, 127, 128, 129, 160, 16384])
def test_sorted_median_and_quantile_are_numpys_bit_for_bit(h):
    # the statistics take them from sorts; the fitted bounds were measured with
    # np.median and np.quantile, so the values must not move by one ulp
    rng = np.random.default_rng(h)
    x = rng.random((9, h, 7), dtype=np.float32) ** 3       # skewed, like speckle
    x[0, : h // 2] = 0.25                                  # ties, like flat background
    s = np.sort(x, 1)
    assert np.array_equal(oct_check.sorted_median(s), np.median(x, 1))
    assert np.array_equal(oct_check.sorted_quantile(s, 0.95), np.quantile(x, 0.95, axis=1))
    assert np.array_equal(oct_check.sorted_quantile(s, 0.3), np.quantile(x, 0.3, axis=1))


def test_each_refusal_names_its_statistic():
    flat = oct_check.check(np.full((64, 64), 0.2, np.float32))[0]
    assert not flat.ok and flat.why == "no speckle texture"
    stats = dict(flat.stats, texture=1.0, band=0.0, noise=0.1, background=0.1, layering=1.0)
    assert oct_check.judge(stats) == ""                      # one near stray alone passes
    stats["background"] = 0.9
    assert oct_check.judge(stats) == "no dark background and no bright band across the frame"


def test_the_committed_bounds_are_the_fitted_ones():
    fit = json.loads(FIT.read_text())
    for which, bounds in (("near", oct_check.NEAR), ("far", oct_check.FAR)):
        for k, (lo, hi) in fit["bounds"][which].items():
            for mine, theirs in zip(bounds[k], (lo, hi)):
                assert (mine is None) == (theirs is None)
                if mine is not None:
                    assert mine == pytest.approx(theirs, rel=1e-3), (which, k)


@pytest.mark.skipif(not (DATA / "pool").is_dir(), reason="real OCT data (../shared/data/oct) not present")
def test_refit_on_real_scans_reproduces_the_bounds_and_refuses_none_of_them():
    from bench.oct_check_fit import bounds_from, folder_statistics, real_scans, refused
    parts = [folder_statistics(real_scans(DATA, f), SIZE) for f in ("pool", "train", "val")]
    stats = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    near, far = bounds_from(stats)
    for k in near:
        for mine, refit in zip(oct_check.NEAR[k] + oct_check.FAR[k], near[k] + far[k]):
            assert (mine is None) == (refit is None)
            if mine is not None:
                assert mine == pytest.approx(refit, rel=1e-3), k
    assert refused(stats, (oct_check.NEAR, oct_check.FAR)).sum() == 0
