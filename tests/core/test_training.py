"""Training end to end on a tiny synthetic dataset: every method writes a
loadable model directory, checkpoints resume, and DDP runs under gloo."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core import CLASSES
from core.data import index_dataset, make_split, write_split
from core.model_store import load_model_dir
from core.training import TrainConfig, train
from core.attacks.fgsm import FGSM

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """Four visibly different classes (a bright band at a class-specific
    height), Kermany file names, 10 patients x 2 scans per class."""
    root = tmp_path_factory.mktemp("oct")
    rng = np.random.default_rng(0)
    for c, name in enumerate(CLASSES):
        d = root / "train" / name
        d.mkdir(parents=True)
        for pid in range(10):
            for k in range(2):
                img = rng.uniform(0, 60, (40, 48))
                img[4 + 8 * c: 10 + 8 * c] += 160
                Image.fromarray(img.astype(np.uint8)).save(d / f"{name}-{100 * c + pid}-{k + 1}.png")
    split = make_split(index_dataset(root), seed=0, ratios=(2, 1, 1), calib_fraction=0.25)
    write_split(split, root / "split.json")
    return root


def _cfg(data, tmp_path, method, **kw):
    base = dict(method=method, data=str(data), split=str(data / "split.json"), out=str(tmp_path / method),
                work_dir=str(tmp_path / f"ck-{method}"), input_size=32, batch_size=16, epochs=2,
                lr=0.01, gate_covariance="lw", threads=1)
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.parametrize("method", ["nt", "at", "gce", "ssat"])
def test_every_method_writes_a_loadable_model(tiny_data, tmp_path, method):
    out = train(_cfg(tiny_data, tmp_path, method, warmup_epochs=1), log=lambda *a: None)
    lm = load_model_dir(out, device="cpu", require_gate=True)
    assert lm.meta["method"] == method and lm.input_size == 32
    hist = json.loads((out / "history.json").read_text())
    assert len(hist) == 2 and all(np.isfinite(h["loss"]) for h in hist)
    if method in ("at", "ssat"):
        assert hist[-1]["train_adv_acc"] is not None
    if method == "ssat":
        assert hist[0]["lambda"] == 0 and hist[1]["lambda"] == 5.0   # warm-up, then the unlabeled term


def test_resume_continues_from_the_last_epoch(tiny_data, tmp_path):
    train(_cfg(tiny_data, tmp_path, "nt", epochs=1), log=lambda *a: None)
    logs = []
    out = train(_cfg(tiny_data, tmp_path, "nt", epochs=2, resume=True), log=logs.append)
    assert any("resumed" in m and "epoch 1" in m for m in logs)
    hist = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in hist] == [1, 2]


def test_fgsm_examples_respect_per_sample_eps():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 4))
    x = torch.rand(5, 3, 8, 8) * 0.8 + 0.1
    eps = torch.tensor([0.001, 0.002, 0.003, 0.0, 0.01])
    adv = FGSM(model, eps=eps, eval_mode=False)(x, torch.zeros(5, dtype=torch.long))
    linf = (adv - x).abs().flatten(1).max(1).values
    assert torch.allclose(linf, eps, atol=1e-6)


def test_ssat_with_teacher_does_not_collapse(tiny_data, tmp_path):
    """The collapse the probes saw: lambda = 5 with noisy pseudo-labels drove
    the model to one class. With a teacher's pseudo-labels it must keep
    predicting every class."""
    teacher = train(_cfg(tiny_data, tmp_path, "nt", epochs=4), log=lambda *a: None)
    out = train(_cfg(tiny_data, tmp_path, "ssat", epochs=2, init=str(teacher),
                     pseudo_labels="teacher", teacher=str(teacher)), log=lambda *a: None)
    lm = load_model_dir(out, device="cpu")
    from core.io import load_scan
    from core.preprocess import to_tensor
    files = sorted((tiny_data / "train").rglob("*.png"))
    x = torch.cat([to_tensor(load_scan(f).frames, 32) for f in files])
    with torch.no_grad():
        preds = lm.model(x).argmax(1)
    labels = torch.tensor([CLASSES.index(f.parent.name) for f in files])
    assert len(set(preds.tolist())) == 4, f"collapsed to {set(preds.tolist())}"
    assert (preds == labels).float().mean() >= 0.9


@pytest.mark.slow
def test_ddp_gloo_two_processes(tiny_data, tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "core.cli", "train", "--method", "at", "--data", str(tiny_data),
           "--split", str(tiny_data / "split.json"), "--out", str(tmp_path / "ddp"),
           "--work-dir", str(tmp_path / "ck"), "--input-size", "32", "--batch-size", "8",
           "--epochs", "1", "--gate-covariance", "lw", "--threads", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    lm = load_model_dir(tmp_path / "ddp", device="cpu")
    assert lm.meta["machine"]["world_size"] == 2


def test_fp16_copy_with_refitted_gate(tiny_data, tmp_path):
    from core.training.gate_fit import refit_model_gate

    src = train(_cfg(tiny_data, tmp_path, "nt", epochs=1), log=lambda *a: None)
    gate = refit_model_gate(src, str(tiny_data), str(tiny_data / "split.json"), out=tmp_path / "half",
                            half=True, gate_parts="paper", covariance="diag")
    lm = load_model_dir(tmp_path / "half", device="cpu", require_gate=True)
    assert lm.meta["dtype"] == "float16" and lm.meta["method"] == "nt"
    assert (tmp_path / "half" / "weights.safetensors").stat().st_size < (src / "weights.safetensors").stat().st_size * 0.6
    assert lm.gate.covariance_type == "diag" and (lm.gate.offset_ == gate.offset_).all()


def test_batchnorm_recalibration_sees_the_between_class_variance():
    """Images arrive grouped by class (split parts are sorted by path). The
    re-estimated variance must be the variance over all images, as in the
    shuffled training batches, not the mean within-class variance."""
    from core.training.batchnorm import recalibrate_batchnorm

    gen = torch.Generator().manual_seed(0)
    # four "classes" at grey levels 30, 90, 150, 210 with small noise, sorted by class
    levels = torch.tensor([30.0, 90.0, 150.0, 210.0]).repeat_interleave(64)
    images = (levels.view(-1, 1, 1, 1) + 4 * torch.randn(256, 1, 8, 8, generator=gen)).clamp(0, 255)
    images = images.round().to(torch.uint8)
    bn = torch.nn.BatchNorm2d(1)
    recalibrate_batchnorm(bn, images, 1, "cpu", batch=64)
    x = images.float() / 255
    assert float(bn.running_mean) == pytest.approx(float(x.mean()), rel=0.02)
    assert float(bn.running_var) == pytest.approx(float(x.var()), rel=0.15)  # a class-sorted pass gives ~0.0003


def test_class_balanced_order_draws_every_class_about_equally():
    from core.training.sampling import epoch_order as _epoch_order

    labels = torch.tensor([0] * 300 + [1] * 60 + [2] * 30 + [3] * 10)
    order = _epoch_order(labels, True, torch.Generator().manual_seed(0))
    counts = torch.bincount(labels[order], minlength=4)
    assert len(order) == len(labels)
    assert counts.min() > 60 and counts.max() < 140, counts  # 100 each expected
    plain = _epoch_order(labels, False, torch.Generator().manual_seed(0))
    assert sorted(plain.tolist()) == list(range(len(labels)))


def test_fit_gate_parts_replaces_the_gate_with_a_multi_part_one(tiny_data, tmp_path):
    from core.cli import main as cli_main
    from core.detectors import UADGate

    out = train(_cfg(tiny_data, tmp_path, "nt", epochs=1), log=lambda *a: None)
    rc = cli_main(["fit-gate", str(out), "--data", str(tiny_data), "--split", str(tiny_data / "split.json"),
                   "--parts", "layer2:tied,pen:diag,squeeze:bits4+median3"])
    assert rc == 0
    lm = load_model_dir(out, device="cpu", require_gate=True)
    assert isinstance(lm.gate, UADGate)
    assert [c.name for c in lm.gate.components] == ["layer2_tied", "pen_diag", "squeeze_bits4+median3"]
    assert np.isfinite(lm.gate.offset_).all()
    # an unknown part is a one-line error, not a traceback
    assert cli_main(["fit-gate", str(out), "--data", str(tiny_data), "--split", str(tiny_data / "split.json"),
                     "--parts", "layer9:tied"]) != 0


def test_train_fits_the_shipped_gate_unless_told_the_papers(tiny_data, tmp_path):
    """A researcher's `octguard train` gives the gate design the viewer ships
    (models/default), and `--gate-parts paper` the paper's GMM."""
    from core.detectors import UADGate
    from core.gate import GaussianGate

    shipped = load_model_dir(ROOT / "models" / "default", device="cpu", require_gate=True).gate
    out = train(_cfg(tiny_data, tmp_path, "nt", epochs=1), log=lambda *a: None)
    gate = load_model_dir(out, device="cpu", require_gate=True).gate
    assert isinstance(gate, UADGate)
    assert [c.spec() for c in gate.components] == [c.spec() for c in shipped.components]
    paper = train(_cfg(tiny_data, tmp_path / "p", "nt", epochs=1, gate_parts="paper"), log=lambda *a: None)
    gate = load_model_dir(paper, device="cpu", require_gate=True).gate
    assert isinstance(gate, GaussianGate) and gate.covariance_type == "lw"


def test_batchnorm_reestimation_never_loses_calib_accuracy(tiny_data, tmp_path):
    out = train(_cfg(tiny_data, tmp_path, "nt", epochs=2, augment=True, select="best"), log=lambda *a: None)
    last = json.loads((out / "history.json").read_text())[-1]
    assert last["calib_acc_final"] == max(last["calib_acc_running_bn"], last["calib_acc_recalibrated_bn"])


def test_batchnorm_reestimation_can_see_augmented_views():
    from core.training.batchnorm import recalibrate_batchnorm

    images = torch.full((64, 1, 16, 16), 128, dtype=torch.uint8)   # one flat grey: no variance at all
    plain, aug = torch.nn.BatchNorm2d(1), torch.nn.BatchNorm2d(1)
    recalibrate_batchnorm(plain, images, 1, "cpu")
    recalibrate_batchnorm(aug, images, 1, "cpu", augment=True)
    assert float(plain.running_var) < 1e-6
    assert float(aug.running_var) > 1e-3   # zoom padding, gamma, contrast and speckle of the training views
