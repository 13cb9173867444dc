"""Detector study: score candidate unsupervised detectors by AUPRC against
PGD made from the split's *calib* scans (never test, never audit).

Every detector is fitted on clean labeled scans only; z-normalisation of a
component uses clean labeled scans too. Positives are successful attacks,
negatives the clean calib scans, grouped by true class (core.risk.gate_auprc).

    python scripts/detector_study.py runs/nt160 --out runs/study-nt160.json
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F

from core.attacks import PGD
from core.data import index_dataset, read_split, split_items
from core.model_store import load_model_dir
from core.risk import gate_auprc
from core.training.images import decode_items


class Grey(torch.nn.Module):
    """The model on one grey channel, as a file's pixels are (the channel
    replication is inside the differentiable path)."""
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x.expand(-1, self.m.in_channels, -1, -1))


def layer_feats(m, x):
    """Mean- and std-pooled features after each residual stage, and the penultimate."""
    b = m.backbone
    h = (x.expand(-1, m.in_channels, -1, -1) - m.mean) / m.std
    h = b.maxpool(b.relu(b.bn1(b.conv1(h))))
    out = {}
    for name in ("layer1", "layer2", "layer3", "layer4"):
        h = getattr(b, name)(h)
        out[name] = torch.cat([h.mean((2, 3)), h.flatten(2).std(2)], 1)
    out["pen"] = torch.flatten(b.avgpool(h), 1)
    out["logits"] = b.fc(out["pen"])
    return out


@torch.no_grad()
def feats_of(m, x, bs=50):
    parts = [layer_feats(m, x[i:i + bs]) for i in range(0, len(x), bs)]
    return {k: torch.cat([p[k] for p in parts]).double().numpy() for k in parts[0]}


def squeeze_bits(x, bits):
    q = 2 ** bits - 1
    return torch.round(x * q) / q


def median3(x):
    p = F.pad(x, (1, 1, 1, 1), mode="reflect")
    return p.unfold(2, 3, 1).unfold(3, 3, 1).reshape(*x.shape, 9).median(-1).values


@torch.no_grad()
def consistency(m, x, bs=50, noise_sd=0.01, n_noise=4, seed=0):
    """Xu et al.'s squeezing scores and a noise-consistency score: L1 between
    the softmax of the input and of its transformed copies (higher = more
    suspicious), returned negated so higher = more normal."""
    g = torch.Generator().manual_seed(seed)
    out = {"sq_bits4": [], "sq_bits5": [], "sq_median": [], "noise": [], "sq_max": []}
    for i in range(0, len(x), bs):
        xb = x[i:i + bs]
        p = F.softmax(m(xb), 1)
        d4 = (F.softmax(m(squeeze_bits(xb, 4)), 1) - p).abs().sum(1)
        d5 = (F.softmax(m(squeeze_bits(xb, 5)), 1) - p).abs().sum(1)
        dm = (F.softmax(m(median3(xb)), 1) - p).abs().sum(1)
        dn = sum((F.softmax(m((xb + noise_sd * torch.randn(xb.shape, generator=g)).clamp(0, 1)), 1) - p)
                 .abs().sum(1) for _ in range(n_noise)) / n_noise
        out["sq_bits4"].append(-d4); out["sq_bits5"].append(-d5); out["sq_median"].append(-dm)
        out["noise"].append(-dn); out["sq_max"].append(-torch.maximum(torch.maximum(d4, d5), dm))
    return {k: torch.cat(v).double().numpy() for k, v in out.items()}


def fit_class_gaussians(Z, y, kind, reg=1e-3):
    """Per-class mean; covariance per class ('diag', 'full') or tied across
    classes ('tied', Lee et al. 2018). Returns a scorer (Z, pred) -> log-lik-like."""
    classes = np.unique(y)
    mus = np.stack([Z[y == c].mean(0) for c in classes])
    if kind == "tied":
        R = Z - mus[np.searchsorted(classes, y)]
        cov = np.cov(R, rowvar=False) + reg * np.eye(Z.shape[1])
        from sklearn.covariance import LedoitWolf
        cov = LedoitWolf().fit(R).covariance_ + reg * np.eye(Z.shape[1])
        P = np.linalg.inv(cov)
        def score(Zq, pred):
            D = Zq - mus[np.searchsorted(classes, pred)]
            return -0.5 * np.einsum("nd,de,ne->n", D, P, D)
        return score
    if kind == "diag":
        var = np.stack([Z[y == c].var(0) for c in classes]) + reg
        def score(Zq, pred):
            k = np.searchsorted(classes, pred)
            D = Zq - mus[k]
            return -0.5 * ((D * D) / var[k] + np.log(var[k])).sum(1)
        return score
    from core.gate import GaussianGate
    gate = GaussianGate(1, kind, reg).fit(Z, y)
    return lambda Zq, pred: gate.score_samples(Zq, pred)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--data", default="../shared/data/oct")
    ap.add_argument("--split", default="splits/oct-pool-holdout-seed0.json")
    ap.add_argument("--eps", default="0.005,0.01")
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    lm = load_model_dir(a.model, device="cpu")
    m = lm.model.float().eval()
    gm = Grey(m).eval()
    parts = split_items(index_dataset(a.data), read_split(a.split))
    lab_x, lab_y = decode_items(parts["labeled"], lm.input_size)
    cal_x, cal_y = decode_items(parts["calib"], lm.input_size)
    lab = lab_x.float() / 255
    cal = cal_x.float() / 255
    t = time.time()
    F_lab, F_cal = feats_of(m, lab), feats_of(m, cal)
    y_lab = lab_y.numpy()
    pred_lab = F_lab["logits"].argmax(1)
    pred_cal = F_cal["logits"].argmax(1)
    y_cal = cal_y.numpy()
    print(f"clean calib accuracy {np.mean(pred_cal == y_cal):.3f}; features {time.time() - t:.0f} s", flush=True)
    C_lab, C_cal = consistency(gm, lab), consistency(gm, cal)

    # density scorers fitted on clean labeled features (true labels, as the paper)
    dens = {}
    for layer in ("pen", "layer1", "layer2", "layer3", "layer4"):
        for kind in (("full", "diag", "tied") if layer == "pen" else ("tied",)):
            dens[f"{layer}_{kind}"] = (layer, fit_class_gaussians(F_lab[layer], y_lab, kind))

    def all_scores(Fd, C, pred):
        s = {name: f(Fd[layer], pred) for name, (layer, f) in dens.items()}
        s.update(C)
        p = torch.softmax(torch.as_tensor(Fd["logits"]), 1).numpy()
        s["msp"] = p.max(1)
        return s

    S_lab = all_scores(F_lab, C_lab, pred_lab)
    S_cal = all_scores(F_cal, C_cal, pred_cal)
    # unsupervised combinations: z-scores against clean labeled scans, summed
    stats = {k: (np.mean(v), np.std(v) + 1e-12) for k, v in S_lab.items()}
    combos = {
        "layers_tied_sum": ["layer1_tied", "layer2_tied", "layer3_tied", "layer4_tied", "pen_tied"],
        "pen_diag+sq_max": ["pen_diag", "sq_max"],
        "pen_diag+noise": ["pen_diag", "noise"],
        "layers_tied+sq_max": ["layer1_tied", "layer2_tied", "layer3_tied", "layer4_tied", "pen_tied", "sq_max"],
        "layer2_tied+pen_diag+sq_max": ["layer2_tied", "pen_diag", "sq_max"],
        "sq_max+noise": ["sq_max", "noise"],
    }

    def with_combos(S):
        S = dict(S)
        for name, keys in combos.items():
            S[name] = sum((S[k] - stats[k][0]) / stats[k][1] for k in keys)
        return S

    S_cal = with_combos(S_cal)
    results = {"model": a.model, "split_part": "calib", "n": int(len(cal_y)),
               "clean_calib_accuracy": float(np.mean(pred_cal == y_cal)), "eps": {}}
    for eps in [float(e) for e in a.eps.split(",")]:
        t = time.time()
        adv = torch.cat([PGD(gm, eps=eps, steps=10, random_start=True)(cal[i:i + 50], cal_y[i:i + 50])
                         for i in range(0, len(cal), 50)])
        F_adv = feats_of(m, adv)
        pred_adv = F_adv["logits"].argmax(1)
        S_adv = with_combos(all_scores(F_adv, consistency(gm, adv), pred_adv))
        acc = float(np.mean(pred_adv == y_cal))
        row = {"accuracy_under_attack": acc, "seconds": time.time() - t, "auprc": {}}
        for k in S_cal:
            row["auprc"][k] = gate_auprc(y_cal, S_cal[k], pred_adv, S_adv[k], classes=np.arange(4))["average"]
        results["eps"][str(eps)] = row
        print(f"eps {eps}: acc {acc:.3f}", flush=True)
        for k, v in sorted(row["auprc"].items(), key=lambda kv: -kv[1]):
            print(f"  {k:32s} {v:.3f}")
    with open(a.out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
