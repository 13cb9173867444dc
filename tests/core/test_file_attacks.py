"""File-level attacks: the differentiable preprocessing agrees with inference,
8-bit attacks stay on the grid, the writers mark their files and reload bit
for bit, and the use case's verdict is the verdict of the written file."""
import numpy as np
import pydicom
import pytest
import torch

from core.analysis import Analyzer
from core.attacks.frame import attack_frame, known_label
from core.attacks.grid import GridPGD, repair_rounding
from core.attacks.model_input import ModelInput
from core.attacks.levels import level_budget
from core.attacks.spec import NATIVE, AttackSpec
from core.io import load_scan
from core.model_store import load_model_dir
from core.preprocess import preprocess, to_tensor
from core.random_model import write_random_model
from core.writers import plan_output, write_adversarial

SIZE = 32


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, phantom_dir):
    d = write_random_model(tmp_path_factory.mktemp("m") / "model", input_size=SIZE, features="phantoms",
                           offset=None)[0]
    lm = load_model_dir(d, device="cpu")
    # a real threshold (the median phantom score), so a verdict can go either way
    scores = [f.score for p in sorted(phantom_dir.iterdir()) for f in Analyzer(lm).analyze(load_scan(p)).frames]
    lm.gate.offset_ = np.full(len(lm.classes), float(np.median(scores)))
    return lm


@pytest.fixture(scope="module")
def frame(phantom_dir):
    return load_scan(next(phantom_dir.glob("synthetic-DME-*.png"))).frames[0]   # 96 x 128, 8-bit


def test_inference_and_the_attack_path_agree_bit_for_bit(loaded, frame):
    x = torch.from_numpy(frame)[None, None]
    assert torch.equal(to_tensor(frame, SIZE, 3), preprocess(x, SIZE, 3))
    with torch.no_grad():
        direct = loaded.model(to_tensor(frame, SIZE, 3))
        through = ModelInput(loaded.model, SIZE)(x)
    assert torch.equal(direct, through)
    # and the gradient reaches the full-resolution pixels inside the centre square only
    x = x.clone().requires_grad_(True)
    ModelInput(loaded.model, SIZE)(x).sum().backward()
    g = x.grad[0, 0].abs()
    assert g[:, 16:112].sum() > 0 and g[:, :16].sum() == 0 and g[:, 112:].sum() == 0


def test_level_budget():
    assert [level_budget(e) for e in (0, 1 / 255, 2 / 255, 3 / 255, 0.005, 0.01)] == [0, 1, 2, 3, 2, 3]


@pytest.mark.parametrize("quant", [255, 65535])
def test_grid_pgd_moves_whole_grey_levels_within_the_budget(loaded, frame, quant):
    x = torch.round(torch.from_numpy(frame)[None, None] * quant) / quant
    torch.manual_seed(0)
    adv = GridPGD(ModelInput(loaded.model, SIZE), eps=0.005, steps=3, quant=quant)(x, torch.tensor([1]))
    levels = (adv - x) * 255
    assert torch.allclose(levels, torch.round(levels), atol=1e-3)
    assert levels.abs().max() <= 2 + 1e-3 and levels.abs().max() >= 1       # ceil(0.005 * 255) = 2
    codes = adv * quant
    assert torch.equal(codes, torch.round(codes))                           # exactly the file's codes
    assert adv.min() >= 0 and adv.max() <= 1


def test_repair_rounding_keeps_a_float_attack_alive(loaded, frame):
    model = ModelInput(loaded.model, SIZE)
    x = torch.from_numpy(frame)[None, None]
    with torch.no_grad():
        y = model(x).argmax(1)
    from core.attacks import CW
    adv = CW(model, c=10.0, steps=30, lr=0.01)(x, y)
    out, used = repair_rounding(model, x, adv, y, 255)
    assert torch.equal(out * 255, torch.round(out * 255))
    with torch.no_grad():
        fooled = bool(model(out).argmax(1) != y)
    assert fooled == (used[0] is not None)


@pytest.mark.parametrize("suffix,bits", [(".png", 8), (".png", 16), (".dcm", 8)])
def test_native_8bit_attack_writes_a_marked_file_that_reloads_exactly(loaded, frame, phantom_dir, tmp_path,
                                                                     suffix, bits):
    src = load_scan(next(phantom_dir.glob("synthetic-DME-*.png")))
    spec = AttackSpec("pgd", eps=2 / 255, steps=3, resolution=NATIVE, eight_bit=True)
    plan = plan_output(tmp_path / f"adv{suffix}", src, bits)
    o = attack_frame(loaded, frame, spec, quant=plan.quant)
    assert o.adversarial.shape == frame.shape and np.array_equal(o.original, frame)
    d = np.round(o.perturbation * 255)
    assert np.allclose(o.perturbation * 255, d, atol=1e-3) and np.abs(d).max() <= 2
    assert np.array_equal(o.adversarial[:, :16], frame[:, :16])         # outside the crop: untouched
    out = write_adversarial(plan, o.adversarial, scan=src, description="test")
    back = load_scan(out)
    assert back.demonstration and back.metadata["Demonstration"].startswith("yes")
    assert np.array_equal(back.frames[0], o.adversarial)                 # bit for bit
    again = Analyzer(loaded).analyze(back).frames[0]
    assert (again.label, again.accepted) == (o.adv.label, o.adv.accepted)
    assert again.score == pytest.approx(o.adv.score, abs=1e-6)
    if suffix == ".dcm":
        ds = pydicom.dcmread(out)
        assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7" and list(ds.ImageType)[0] == "DERIVED"
        assert "adversarial demonstration image, not for clinical use" in ds.DerivationDescription
        assert "adversarial demonstration image, not for clinical use" in ds.ImageComments


def test_dicom_copy_of_a_dicom_source_keeps_its_header_and_other_frames(loaded, phantom_dir, tmp_path):
    path = phantom_dir / "synthetic-volume.dcm"
    src = load_scan(path)
    spec = AttackSpec("fgsm", eps=1 / 255, resolution=NATIVE, eight_bit=True)
    plan = plan_output(tmp_path / "adv.dcm", src)
    assert plan.quant == 255
    o = attack_frame(loaded, src.frames[2], spec, quant=plan.quant)
    out = write_adversarial(plan, o.adversarial, scan=src, frame=2)
    before, after = pydicom.dcmread(path), pydicom.dcmread(out)
    assert after.SOPClassUID == before.SOPClassUID                      # Ophthalmic Tomography, copied
    assert after.SOPInstanceUID != before.SOPInstanceUID
    assert after.file_meta.MediaStorageSOPInstanceUID == after.SOPInstanceUID
    assert after.SeriesInstanceUID != before.SeriesInstanceUID
    assert after.StudyInstanceUID == before.StudyInstanceUID and after.PatientID == before.PatientID
    assert list(after.ImageType)[:2] == ["DERIVED", "SECONDARY"]
    assert after.SourceImageSequence[0].ReferencedSOPInstanceUID == before.SOPInstanceUID
    back = load_scan(out)
    assert back.demonstration and back.synthetic and back.n_frames == src.n_frames
    assert np.array_equal(back.frames[2], o.adversarial)
    for k in (0, 1, 3):
        assert np.array_equal(back.frames[k], src.frames[k])
    assert back.pixel_spacing == src.pixel_spacing


def test_the_source_is_never_overwritten(loaded, phantom_dir):
    path = next(phantom_dir.glob("synthetic-CNV-*.png"))
    src = load_scan(path)
    with pytest.raises(ValueError, match="never overwrites"):
        write_adversarial(plan_output(path, src), src.frames[0], scan=src)


def test_model_resolution_attack_perturbs_the_grey_image(loaded, frame, tmp_path):
    """The bug of issue 14: the attack perturbed the 3-channel tensor and the
    file carried channel 0 only. Now the grey image is attacked, so the
    float file reproduces the attack's verdict exactly."""
    o = attack_frame(loaded, frame, AttackSpec("pgd", eps=0.01, steps=3))
    assert o.adversarial.shape == (SIZE, SIZE)
    out = write_adversarial(plan_output(tmp_path / "adv.tif"), o.adversarial)
    back = Analyzer(loaded).analyze(load_scan(out)).frames[0]
    assert (back.label, back.accepted) == (o.adv.label, o.adv.accepted)
    assert back.score == pytest.approx(o.adv.score, abs=1e-6)
    assert load_scan(out).demonstration


def test_plain_files_are_not_flagged(phantom_dir):
    for p in phantom_dir.iterdir():
        assert not load_scan(p).demonstration


def test_known_label():
    classes = ("CNV", "DME", "DRUSEN", "NORMAL")
    assert known_label("CNV-1016042-1.jpeg", classes) == "CNV"
    assert known_label("x/NORMAL/img.png", classes) == "NORMAL"
    assert known_label("CNV-vs-DME.png", classes) is None


def test_spec_refuses_nonsense():
    for bad in ({"method": "deepfool"}, {"eps": 2.0}, {"resolution": "full"}, {"steps": 0}):
        with pytest.raises(ValueError):
            AttackSpec(**bad)
    with pytest.raises(ValueError, match="gate"):
        AttackSpec("adaptive").build(torch.nn.Linear(1, 1))
