"""Attacks: torchattacks as the oracle for FGSM and PGD, behaviour for C&W,
the shared contract (range, eps ball, model mode, input untouched, cancel)
and the gate-aware attack against a gate fitted on a tiny model."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchattacks

from core.attacks import CW, FGSM, PGD, AdaptivePGD, make_attack
from core.errors import Cancelled
from core.gate import GaussianGate
from core.progress import Progress


class TinyNet(nn.Module):
    """Two convolutions on 3x16x16, with BatchNorm and Dropout so that eval
    mode matters, and the classifier's forward_with_features interface."""

    def __init__(self, n_classes=3):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, stride=2)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(16, n_classes)

    def features(self, x):
        return F.relu(self.conv2(F.relu(self.bn(self.conv1(x))))).mean((2, 3))

    def forward_with_features(self, x):
        z = self.features(x)
        return self.fc(self.drop(z)), z

    def forward(self, x):
        return self.forward_with_features(x)[0]


def _data(n, seed):
    """Noise plus a class-specific horizontal stripe pattern in one channel."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    x = 0.5 + 0.15 * torch.randn(n, 3, 16, 16, generator=g)
    rows = torch.arange(16).view(1, 16, 1)
    for c in range(3):
        x[y == c, c] += 0.2 * torch.sin(rows * (c + 1) * 0.7)
    return x.clamp(0, 1), y


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny tensors run faster on one thread, and far faster than two
    threads fighting other work for a shared CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def trained(one_thread):
    torch.manual_seed(0)
    model = TinyNet()
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    x, y = _data(600, 0)
    for _ in range(25):
        for i in range(0, 600, 100):
            loss = F.cross_entropy(model(x[i:i + 100]), y[i:i + 100])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    model.zero_grad(set_to_none=True)
    xt, yt = _data(90, 1)
    assert (model(xt).argmax(1) == yt).float().mean() > 0.9  # the fixture is a real classifier
    return model, x, y, xt, yt


@pytest.fixture
def model(trained):
    m = trained[0]
    m.eval()
    return m


@pytest.fixture
def batch(trained):
    return trained[3][:30], trained[4][:30]


@pytest.fixture(scope="module")
def gate(trained):
    model, x, y, _, _ = trained
    held_x, _ = _data(300, 2)
    with torch.no_grad():
        z = model.features(x).double().numpy()
        logits, zh = model.forward_with_features(held_x)
    return GaussianGate(rejection_rate=0.05).fit(z, y.numpy()).calibrate(
        zh.double().numpy(), logits.argmax(1).numpy())


def _all_attacks(model, gate):
    return [FGSM(model, eps=0.05), PGD(model, eps=0.05, steps=3), CW(model, c=5, steps=10, lr=0.05),
            AdaptivePGD(model, gate, eps=0.05, steps=3)]


# -- torchattacks as the oracle -------------------------------------------
def test_fgsm_matches_torchattacks(model, batch):
    x, y = batch
    ours = FGSM(model, eps=0.03)(x, y)
    theirs = torchattacks.FGSM(model, eps=0.03)(x, y)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)
    assert (ours != x).any()


@pytest.mark.parametrize("eps,alpha,steps", [(0.03, 0.01, 5), (0.05, None, 10)])
def test_pgd_matches_torchattacks(model, batch, eps, alpha, steps):
    x, y = batch
    ours = PGD(model, eps=eps, alpha=alpha, steps=steps, random_start=False)(x, y)
    theirs = torchattacks.PGD(model, eps=eps, alpha=eps / 4 if alpha is None else alpha,
                              steps=steps, random_start=False)(x, y)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)


def test_pgd_random_start_matches_torchattacks_under_one_seed(model, batch):
    x, y = batch
    torch.manual_seed(3)
    ours = PGD(model, eps=0.03, alpha=0.01, steps=3)(x, y)
    torch.manual_seed(3)
    theirs = torchattacks.PGD(model, eps=0.03, alpha=0.01, steps=3)(x, y)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)


def test_pgd_defaults():
    attack = PGD(TinyNet(), eps=0.02)
    assert (attack.alpha, attack.steps, attack.random_start) == (0.005, 10, True)
    assert "eps=0.02" in repr(attack) and "alpha=0.005" in repr(attack)


def test_cw_behaves_like_torchattacks_or_better(model, batch):
    """Not an exact match: torchattacks' CW freezes pixels at exactly 0 or 1
    and picks the 'other' logit with a one-hot product (see CW's docstring).
    So compare behaviour: success rate and L2 of the successes."""
    x, y = batch
    ours = CW(model, c=1, steps=50, lr=0.01)(x, y)
    theirs = torchattacks.CW(model, c=1, steps=50, lr=0.01)(x, y)
    with torch.no_grad():
        ok_ours = model(ours).argmax(1) != y
        ok_theirs = model(theirs).argmax(1) != y
    assert ok_ours.float().mean() >= 0.8
    assert ok_ours.sum() >= ok_theirs.sum()
    l2_ours = (ours - x).flatten(1).norm(dim=1)
    l2_theirs = (theirs - x).flatten(1).norm(dim=1)
    both = ok_ours & ok_theirs
    assert both.any()
    assert l2_ours[both].mean() <= 1.1 * l2_theirs[both].mean()
    # failures come back unchanged
    assert torch.equal(ours[~ok_ours], x[~ok_ours])
    assert 0 <= ours.min() and ours.max() <= 1


def test_cw_leaves_no_parameter_gradients(model, batch):
    x, y = batch
    model.zero_grad(set_to_none=True)
    CW(model, steps=3)(x, y)
    PGD(model, steps=2)(x, y)
    assert all(p.grad is None for p in model.parameters())


def test_cw_stops_early_when_the_cost_stops_falling(model, batch):
    x, y = batch
    calls = []
    CW(model, c=1, steps=200, lr=0.5)(x, y, progress=Progress(lambda f, m: calls.append(f)))
    CW(model, c=1, steps=20, lr=0.5, abort_early=False)(x, y, progress=Progress(lambda f, m: calls.append(-f)))
    assert len([f for f in calls if f > 0]) < 200  # a huge lr overshoots: aborted
    assert len([f for f in calls if f < 0]) == 20


# -- the shared contract --------------------------------------------------
def test_contract(model, gate, batch):
    x, y = batch
    x_before = x.clone()
    for attack in _all_attacks(model, gate):
        adv = attack(x, y)
        assert adv.shape == x.shape and adv.dtype == x.dtype, attack
        assert not adv.requires_grad and adv.grad_fn is None, attack
        assert 0 <= adv.min() and adv.max() <= 1, attack
        if not isinstance(attack, CW):
            assert (adv - x).abs().max() <= attack.eps + 1e-6, attack
        assert (adv != x).any(), attack
        assert torch.equal(x, x_before), f"{attack} modified its input"


def test_model_mode_is_restored(model, gate, batch):
    x, y = batch
    for attack in _all_attacks(model, gate):
        model.train()
        model.bn.eval()  # a partly frozen model must come back exactly so
        seen = []
        hook = model.bn.register_forward_hook(lambda m, i, o: seen.append(model.training))
        try:
            attack(x, y)
        finally:
            hook.remove()
        assert seen and not any(seen), f"{attack} ran the model in train mode"
        assert model.training and model.drop.training and not model.bn.training, attack
        model.eval()
        attack(x, y)
        assert not model.training, attack


@pytest.mark.parametrize("context", [torch.no_grad, torch.inference_mode])
def test_attacks_work_under_no_grad(model, gate, batch, context):
    x, y = batch
    with context():
        x = x.clone()  # an inference tensor under inference_mode
        for attack in _all_attacks(model, gate):
            assert (attack(x, y) != x).any(), attack


@pytest.mark.parametrize("name", ["pgd", "cw", "adaptive"])
def test_cancel_mid_run_raises_and_restores_mode(model, gate, batch, name):
    x, y = batch
    updates = []
    progress = Progress(lambda f, m: updates.append(f))

    def cancel_after_two(f, m):
        updates.append(f)
        if len(updates) == 2:
            progress.cancel()

    progress._callback = cancel_after_two
    attack = make_attack(name, model, gate=gate, steps=50, **({} if name == "cw" else {"eps": 0.05}))
    model.train()
    with pytest.raises(Cancelled):
        attack(x, y, progress=progress)
    assert len(updates) == 2  # stopped at the next step, not at the end
    assert model.training
    model.eval()


def test_progress_once_per_step(model, gate, batch):
    x, y = batch
    for name, steps in [("fgsm", 1), ("pgd", 4), ("cw", 4), ("adaptive", 4)]:
        seen = []
        kw = {} if name == "fgsm" else {"steps": steps}
        if name == "cw":
            kw["abort_early"] = False
        make_attack(name, model, gate=gate, **kw)(x, y, progress=Progress(lambda f, m: seen.append(f)))
        assert seen == pytest.approx([(i + 1) / steps for i in range(steps)]), name


def test_bad_inputs_are_refused(model, batch):
    x, y = batch
    attack = FGSM(model)
    with pytest.raises(ValueError):
        attack(x * 2, y)
    with pytest.raises(ValueError):
        attack(x[0], y[:1])
    with pytest.raises(ValueError):
        attack(x, y[:3])


def test_make_attack(model, gate):
    assert isinstance(make_attack("FGSM", model, eps=0.01), FGSM)
    assert make_attack("pgd", model, steps=3).steps == 3
    assert isinstance(make_attack("cw", model), CW)
    assert make_attack("adaptive", model, gate=gate, gate_weight=2).gate_weight == 2
    with pytest.raises(ValueError):
        make_attack("adaptive", model)
    with pytest.raises(ValueError):
        make_attack("deepfool", model)


# -- the gate-aware attack ------------------------------------------------
def _gate_view(model, gate, adv, y):
    with torch.no_grad():
        logits, z = model.forward_with_features(adv)
    pred = logits.argmax(1).numpy()
    zz = z.double().numpy()
    return pred != y.numpy(), gate.score_samples(zz, pred), gate.predict(zz, pred) == 1


def test_adaptive_attack_evades_the_gate_better_than_pgd(trained, gate):
    model, _, _, x, y = trained
    torch.manual_seed(0)
    plain = PGD(model, eps=0.1, steps=10)(x, y)
    torch.manual_seed(0)
    adaptive = AdaptivePGD(model, gate, eps=0.1, steps=10, gate_weight=5)(x, y)
    fooled_p, score_p, acc_p = _gate_view(model, gate, plain, y)
    fooled_a, score_a, acc_a = _gate_view(model, gate, adaptive, y)
    assert fooled_p.mean() > 0.8  # plain PGD succeeds, and the gate sees it
    assert (fooled_p & acc_p).mean() < 0.2
    assert fooled_a.mean() > 0.6  # the adaptive attack still fools the model...
    assert np.median(score_a[fooled_a]) > np.median(score_p[fooled_p])  # ...with clean-looking features
    assert (fooled_a & acc_a).mean() > (fooled_p & acc_p).mean() + 0.3


def test_adaptive_attack_with_zero_weight_is_pgd_plus_best_iterate(trained, gate):
    model, _, _, x, y = trained
    x, y = x[:30], y[:30]
    adv = AdaptivePGD(model, gate, eps=0.05, steps=5, random_start=False, gate_weight=0)(x, y)
    pgd = PGD(model, eps=0.05, steps=5, random_start=False)(x, y)
    fooled_adv, _, _ = _gate_view(model, gate, adv, y)
    fooled_pgd, _, _ = _gate_view(model, gate, pgd, y)
    # never worse at fooling; images PGD never flips are PGD's own result
    assert fooled_adv.sum() >= fooled_pgd.sum()
    never = torch.as_tensor(~fooled_adv)
    torch.testing.assert_close(adv[never], pgd[never], rtol=0, atol=1e-6)


def test_fgsm_per_image_eps(model, batch):
    """Adversarial training draws one eps per image: each image moves by its
    own eps (where the box allows), and a wrong count is refused."""
    x, y = batch
    x = x * 0.8 + 0.1   # away from the box, so no pixel is clipped
    eps = torch.linspace(0.0, 0.02, len(x))
    adv = FGSM(model, eps=eps)(x, y)
    linf = (adv - x).abs().flatten(1).max(1).values
    assert torch.allclose(linf, eps, atol=1e-6)
    same = FGSM(model, eps=torch.full((len(x),), 0.01))(x, y)
    assert torch.equal(same, FGSM(model, eps=0.01)(x, y))   # one eps for all, as a tensor or a number
    with pytest.raises(ValueError):
        FGSM(model, eps=eps[:-1])(x, y)


def test_fgsm_in_current_mode_runs_batchnorm_on_batch_statistics(model, batch):
    """eval_mode=False is how training attacks: the model stays in train mode,
    so BatchNorm uses (and updates) batch statistics, as the training pass does."""
    import copy

    x, y = batch
    model = copy.deepcopy(model).train()   # the fixture's model is shared: leave its statistics alone
    before = model.bn.running_mean.clone()
    seen = []
    hook = model.bn.register_forward_hook(lambda m, i, o: seen.append(m.training))
    try:
        FGSM(model, eps=0.01, eval_mode=False)(x, y)
    finally:
        hook.remove()
    assert seen == [True] and model.training
    assert not torch.equal(model.bn.running_mean, before)
