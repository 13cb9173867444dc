"""The multi-part gate (core.detectors): fitted on clean scans only, scored
through one differentiable path, stored without pickle and bound to its
classifier, and used by the analyser and the adaptive attack like any gate."""
import json

import numpy as np
import pytest
import torch

from core import CLASSES
from core.analysis import Analyzer
from core.attacks import make_attack
from core.classifier import build_classifier
from core.detectors import ClassGaussian, Squeeze, UADGate
from core.detectors.components import median3
from core.errors import ModelError
from core.model_store import load_model_dir, save_model_dir


def _images(n_per_class=12, size=32, seed=0):
    """Four classes that differ by where a bright band sits, as uint8."""
    g = torch.Generator().manual_seed(seed)
    xs, ys = [], []
    for c in range(len(CLASSES)):
        x = torch.rand(n_per_class, 1, size, size, generator=g) * 60
        x[:, :, 4 + 6 * c:8 + 6 * c] += 150
        xs.append(x)
        ys.append(torch.full((n_per_class,), c))
    return torch.cat(xs).round().to(torch.uint8), torch.cat(ys)


@pytest.fixture(scope="module")
def fitted():
    torch.manual_seed(0)
    model = build_classifier().eval()
    x, y = _images()
    xc, _ = _images(seed=1)
    gate = UADGate([ClassGaussian("layer2", "tied"), ClassGaussian("pen", "diag"), Squeeze(("bits4", "median3"))])
    gate.fit(model, x, y, n_classes=len(CLASSES)).calibrate(model, xc)
    return model, gate, xc


def test_calibration_rejects_the_stated_share_of_held_out_clean_scans(fitted):
    model, gate, xc = fitted
    with torch.no_grad():
        logits, s = gate.score_torch(model, xc.float() / 255 * torch.ones(1, 3, 1, 1))
    pred = logits.argmax(1).numpy()
    rejected = gate.predict_scores(s.numpy(), pred) == -1
    # per-class 5% quantiles over 48 scans: a few rejected, never most
    assert 0 < rejected.sum() <= 6
    # each part is standardised on the held-out clean scans
    _, raw = gate.component_scores_torch(model, xc.float().div(255).expand(-1, 3, -1, -1))
    z = (raw.detach().numpy() - gate.loc_) / gate.scale_
    assert np.allclose(z.mean(0), 0, atol=1e-6) and np.allclose(z.std(0), 1, atol=1e-3)


def test_score_is_differentiable_through_every_part_including_squeezing(fitted):
    model, gate, xc = fitted
    x = (xc[:4].float() / 255).expand(-1, 3, -1, -1).clone().requires_grad_(True)
    _, s = gate.score_torch(model, x)
    (grad,) = torch.autograd.grad(s.sum(), x)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    # squeezing alone still passes a gradient (straight-through rounding)
    sq = UADGate([Squeeze(("bits4",))])
    sq.fit(model, xc, torch.zeros(len(xc), dtype=torch.long), n_classes=4)
    sq.loc_, sq.scale_ = np.zeros(1), np.ones(1)
    x2 = (xc[:4].float() / 255).expand(-1, 3, -1, -1).clone().requires_grad_(True)
    (g2,) = torch.autograd.grad(sq.score_torch(model, x2)[1].sum(), x2)
    assert g2.abs().sum() > 0


def test_median3_is_a_3x3_median():
    x = torch.arange(25.0).view(1, 1, 5, 5)
    x[0, 0, 2, 2] = 1000  # an outlier the median removes
    m = median3(x)
    assert m.shape == x.shape
    assert float(m[0, 0, 2, 2]) == 13.0  # median of 6,7,8,11,1000,13,16,17,18


def test_saved_gate_round_trips_and_refuses_tampering(fitted, tmp_path):
    model, gate, xc = fitted
    save_model_dir(tmp_path / "m", model, {"name": "t", "input_size": 32}, gate=gate)
    lm = load_model_dir(tmp_path / "m", device="cpu", require_gate=True)
    assert isinstance(lm.gate, UADGate) and lm.gate.name == gate.name
    x = (xc[:8].float() / 255).expand(-1, 3, -1, -1)
    with torch.no_grad():
        a, b = gate.score_torch(model, x)[1], lm.gate.score_torch(lm.model, x)[1]
    # the loaded network has its BatchNorm folded: the same function, to float rounding
    assert torch.allclose(a, b, rtol=1e-4, atol=1e-4), (a - b).abs().max()
    assert json.loads((tmp_path / "m" / "gate.json").read_text())["format"] == 2
    npz = tmp_path / "m" / "gate.npz"
    data = bytearray(npz.read_bytes())
    data[len(data) // 2] ^= 0xFF
    npz.write_bytes(bytes(data))
    with pytest.raises(ModelError):
        load_model_dir(tmp_path / "m", device="cpu")


def test_analyser_and_adaptive_attack_use_the_multi_part_gate(fitted, tmp_path):
    model, gate, xc = fitted
    save_model_dir(tmp_path / "m", model, {"name": "t", "input_size": 32}, gate=gate)
    lm = load_model_dir(tmp_path / "m", device="cpu")
    x = (xc[:6].float() / 255).expand(-1, 3, -1, -1).contiguous()
    frames = Analyzer(lm).analyze_tensor(x)
    with torch.no_grad():
        _, s = gate.score_torch(model, x)
    # the loaded network has its BatchNorm folded: the same function, to float rounding
    assert [f.score for f in frames] == pytest.approx(s.tolist(), rel=1e-4, abs=1e-4)
    y = torch.as_tensor([CLASSES.index(f.label) for f in frames])
    adv = make_attack("adaptive", model, gate=gate, eps=0.02, steps=3)(x, y)
    assert (adv - x).abs().max() <= 0.02 + 1e-6


def test_full_covariance_part_is_the_papers_one_component_gmm():
    from core.gate import GaussianGate

    rng = np.random.default_rng(0)
    Z, y = rng.normal(size=(120, 8)), np.repeat(np.arange(4), 30)
    part = ClassGaussian("pen", "full").fit(Z, y, 4)
    ours = part.score_torch({"pen": torch.as_tensor(Z)}, torch.as_tensor(y)).numpy()
    paper = GaussianGate(1, "full", 1e-3).fit(Z, y).score_samples(Z, y)
    # equal up to the constant d/2 log(2 pi), which standardisation removes
    assert np.ptp(ours - paper) < 1e-9
    assert (ours - paper)[0] == pytest.approx(0.5 * 8 * np.log(2 * np.pi))


def test_taps_asked_for_are_the_same_and_the_others_are_skipped():
    import torch
    from core.classifier import OCTClassifier
    from core.detectors.taps import forward_with_taps

    torch.manual_seed(0)
    model = OCTClassifier().eval()
    x = torch.rand(2, 1, 64, 64)   # one grey channel: the classifier replicates it
    with torch.no_grad():
        logits, every = forward_with_taps(model, x)
        logits1, some = forward_with_taps(model, x, {"layer3"})
        full = model(x.expand(-1, 3, -1, -1).contiguous())
    assert set(some) == {"layer3", "pen"}
    assert torch.equal(some["layer3"], every["layer3"]) and torch.equal(logits1, logits)
    assert torch.allclose(full, logits)
