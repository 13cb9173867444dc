"""The training recipes, one per method, and the torch pieces the loop is
built from: per-image FGSM eps, the SSAT lambda schedule and pseudo-labels,
the learning-rate schedules, each rank's batches, the EMA and the
keep-if-not-worse BatchNorm re-estimation."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from core.training.config import METHODS, TrainConfig
from core.training.batchnorm import reestimate_if_not_worse
from core.training.loop import _ema
from core.training.losses import gce_objective
from core.training.recipes import AT, GCE, NT, RECIPES, SSAT, TrainingContext
from core.training.recipes.ssat import ssat_lambda
from core.training.sampling import rank_batches, steps_per_epoch
from core.training.schedule import make_scheduler


class Net(nn.Module):
    """A small classifier with BatchNorm and the in_channels the recipes read."""
    in_channels = 3

    def __init__(self, n_classes=4):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.fc = nn.Linear(6, n_classes)

    def forward(self, x):
        return self.fc(F.relu(self.bn(self.conv(x))).mean((2, 3)))


class Constant(nn.Module):
    """A teacher that calls every scan class 2."""
    def forward(self, x):
        return F.one_hot(torch.full((len(x),), 2), 4).float()


def _ctx(method="at", unlabeled=None, teacher=None, **cfg):
    torch.manual_seed(0)
    model = Net().train()
    return TrainingContext(TrainConfig(method=method, **cfg), model, torch.device("cpu"),
                           torch.Generator().manual_seed(0), unlabeled=unlabeled, teacher=teacher)


def _batch(n=8, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, 12, 12, generator=g) * 0.8 + 0.1, torch.randint(0, 4, (n,), generator=g)


def test_every_method_has_a_recipe():
    assert set(RECIPES) == set(METHODS)


def test_fgsm_eps_is_drawn_per_image_within_the_configured_range():
    ctx = _ctx(fgsm_eps_min=0.002, fgsm_eps_max=0.008)
    x, y = _batch(16)
    adv = AT(ctx).fgsm(x, y)
    linf = (adv - x).abs().flatten(1).max(1).values
    assert (linf >= 0.002 - 1e-6).all() and (linf <= 0.008 + 1e-6).all(), linf
    assert len(set(torch.round(linf * 1e6).tolist())) > 8   # one draw per image, not one per batch
    assert ctx.model.training   # attacked in train mode, left in train mode


def test_nt_and_gce_train_on_the_clean_batch_only():
    x, y = _batch()
    for cls, method in ((NT, "nt"), (GCE, "gce")):
        ctx = _ctx(method, label_smoothing=0.1)
        b = cls(ctx).batch(x, y, 0)
        assert b.x is x and b.n_adv == 0
        logits = ctx.model(x)
        want = (F.cross_entropy(logits, y, label_smoothing=0.1) if method == "nt"
                else gce_objective(logits, y, 0.2, 1.0, 0.1))
        assert torch.allclose(b.loss(logits), want)


def test_at_batch_is_the_clean_batch_then_its_fgsm_examples():
    x, y = _batch()
    b = AT(_ctx()).batch(x, y, 0)
    assert torch.equal(b.x[:8], x) and not torch.equal(b.x[8:], x)
    assert torch.equal(b.y, torch.cat([y, y])) and b.n_adv == 8
    assert torch.isfinite(b.loss(torch.randn(16, 4)))


def test_ssat_lambda_waits_for_the_warmup_then_ramps():
    cfg = TrainConfig(method="ssat", ssat_lambda=5.0, warmup_epochs=1, lambda_rampup_epochs=2)
    assert [ssat_lambda(cfg, e) for e in range(4)] == [0.0, 2.5, 5.0, 5.0]
    assert ssat_lambda(TrainConfig(method="ssat"), 0) == 5.0


def test_ssat_adds_a_pseudo_labeled_unlabeled_batch_and_its_fgsm_examples():
    unl = (torch.rand(10, 1, 12, 12) * 255).to(torch.uint8)
    ctx = _ctx("ssat", unlabeled=unl, teacher=Constant(), pseudo_labels="teacher",
               unlabeled_batch_size=4, ssat_lambda=2.0)
    r = SSAT(ctx)
    r.start_epoch(0)
    x, y = _batch()
    b = r.batch(x, y, 0)
    assert len(b.x) == 8 + 8 + 4 + 4 and b.n_adv == 8
    assert (b.y[16:] == 2).all()   # the teacher's labels, for the clean and the FGSM unlabeled images
    logits = torch.randn(24, 4)
    want = F.cross_entropy(logits[:16], b.y[:16]) + 2.0 * F.cross_entropy(logits[16:], b.y[16:])
    assert torch.allclose(b.loss(logits), want)
    warm = SSAT(_ctx("ssat", unlabeled=unl, warmup_epochs=1))
    warm.start_epoch(0)
    assert warm.lam == 0 and len(warm.batch(x, y, 0).x) == 16   # labeled-only during the warm-up


def _lrs(schedule, total, done=0, lr=0.02):
    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr)
    sched = make_scheduler(opt, schedule, total, done_steps=done)
    out = []
    for _ in range(total - done):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_schedules_have_their_documented_shape():
    assert _lrs("constant", 5) == [0.02] * 5
    cos = _lrs("cosine", 10)
    assert cos[0] == 0.02 and cos == sorted(cos, reverse=True)
    assert cos[5] == pytest.approx(0.01) and cos[-1] == pytest.approx(0.01 * (1 + math.cos(0.9 * math.pi)))
    one = _lrs("onecycle", 10)   # linear warm-up over 3 steps from 4%, then cosine to 1e-6
    assert one[:4] == pytest.approx([0.0008, 0.0008 + 0.0064, 0.0008 + 0.0128, 0.02])
    assert one[3:] == sorted(one[3:], reverse=True) and one[-1] < 0.002
    with pytest.raises(ValueError):
        _lrs("step", 3)


@pytest.mark.parametrize("schedule", ["constant", "cosine", "onecycle"])
def test_a_resumed_schedule_continues_where_it_stopped(schedule):
    assert _lrs(schedule, 12, done=5) == pytest.approx(_lrs(schedule, 12)[5:], rel=1e-12)


@pytest.mark.parametrize("n,batch,world", [(37, 8, 1), (37, 8, 2), (64, 16, 2), (5, 8, 2), (30, 8, 3)])
def test_ranks_split_every_global_batch_and_step_together(n, batch, world):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    per_rank = [rank_batches(order, batch, world, r) for r in range(world)]
    assert {len(b) for b in per_rank} == {steps_per_epoch(n, batch, world)}   # DDP needs every rank at every step
    seen = torch.cat([torch.cat(b) for b in per_rank])
    assert set(seen.tolist()) == set(order.tolist())   # every image, padded with repeats at most
    if world == 1:
        assert torch.equal(torch.cat(per_rank[0]), order)
        assert all(len(b) == batch for b in per_rank[0][:-1])
    elif n % batch == 0 and batch % world == 0:   # then rank r's step i is global batch i's r::world
        for i in range(n // batch):
            glob = order[i * batch:(i + 1) * batch]
            for r in range(world):
                assert torch.equal(per_rank[r][i], glob[r::world])


def test_ema_starts_at_the_initial_weights_and_averages():
    model = Net()
    init = {k: v.clone() for k, v in model.state_dict().items()}
    ema = _ema(model, 0.9)
    assert _ema(model, 0.0) is None
    with torch.no_grad():
        model.fc.weight.add_(1.0)
        model.bn.running_mean.add_(2.0)
    ema.update_parameters(model)
    assert torch.allclose(ema.module.fc.weight, init["fc.weight"] + 0.1, atol=1e-6)
    assert torch.allclose(ema.module.bn.running_mean, init["bn.running_mean"] + 0.2, atol=1e-6)


def test_batchnorm_reestimate_is_undone_when_calib_accuracy_drops():
    model = Net().train()
    with torch.no_grad():
        model.bn.running_mean.fill_(7.0)
    images = (torch.rand(32, 1, 12, 12) * 255).to(torch.uint8)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    verdicts = iter([0.9, 0.5])   # the running statistics scored 0.9, the re-estimated 0.5
    acc0, acc1, kept = reestimate_if_not_worse(model, images, 3, "cpu", lambda m: next(verdicts))
    assert (acc0, acc1, kept) == (0.9, 0.5, False)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    verdicts = iter([0.5, 0.5])   # no worse: the new statistics stay
    assert reestimate_if_not_worse(model, images, 3, "cpu", lambda m: next(verdicts))[2]
    assert float(model.bn.running_mean.abs().max()) < 7.0
    assert model.training


# every `octguard train` flag that scripts/defence_runs.sh and scripts/learning_curve.sh pass
SCRIPT_FLAGS = ("--method --data --split --input-size --batch-size --label-smoothing --augment --class-balanced "
                "--threads --out --work-dir --resume --epochs --lr --schedule --select --limit --init "
                "--pseudo-labels --teacher --ssat-lambda --lambda-rampup-epochs --unlabeled-batch-size "
                "--fgsm-eps-min --fgsm-eps-max").split()


def _train_parser():
    import argparse

    from core.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["train"]


def test_the_training_scripts_flags_still_parse():
    import re
    from dataclasses import fields
    from pathlib import Path

    known = {s for a in _train_parser()._actions for s in a.option_strings}
    script = (Path(__file__).resolve().parents[2] / "scripts" / "defence_runs.sh").read_text()
    used = set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", script)) | set(SCRIPT_FLAGS)
    assert used <= known, used - known
    args = _train_parser().parse_args(
        "--method ssat --data d --split s.json --input-size 160 --batch-size 64 --label-smoothing 0.1 --augment "
        "--class-balanced --threads 2 --out runs/x --work-dir ck/x --resume --epochs 5 --lr 0.002 --schedule cosine "
        "--select best --limit 355 --init runs/nt --pseudo-labels teacher --teacher runs/nt --ssat-lambda 5 "
        "--lambda-rampup-epochs 2 --unlabeled-batch-size 32 --fgsm-eps-min 0.002 --fgsm-eps-max 0.008".split())
    cfg = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    assert (cfg.limit, cfg.fgsm_eps_max, cfg.augment, cfg.resume, cfg.schedule) == (355, 0.008, True, True, "cosine")
    assert cfg.ema == 0.0 and cfg.bn_recalibrate and cfg.warmup_epochs == 0   # defaults unchanged
