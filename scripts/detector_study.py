"""Detector study: which unsupervised gate to ship, chosen by AUPRC against
PGD made from the split's *calib* scans (never test, never audit).

Every part is fitted on clean labeled scans only; each candidate gate is the
sum of its parts' z-scores, standardised on the clean calib scans, exactly as
core.detectors.UADGate does. Positives are successful attacks, negatives the
clean calib scans, grouped by true class (core.risk.gate_auprc). Attacks
perturb the grey image (the channel replication is inside the model).

    python scripts/detector_study.py runs/nt160 --out runs/study-nt160.json
"""
from __future__ import annotations

import argparse
import itertools
import json
import time

import numpy as np
import torch

from core.attacks import PGD
from core.data import index_dataset, read_split, split_items
from core.detectors import ClassGaussian, Squeeze, UADGate
from core.gate import GaussianGate
from core.model_store import load_model_dir
from core.risk import gate_auprc
from core.batches import decode_items, extract_features

PARTS = {
    "pen_diag": lambda: ClassGaussian("pen", "diag"),
    "pen_tied": lambda: ClassGaussian("pen", "tied"),
    "pen_full": lambda: ClassGaussian("pen", "full"),
    "layer1_tied": lambda: ClassGaussian("layer1", "tied"),
    "layer2_tied": lambda: ClassGaussian("layer2", "tied"),
    "layer3_tied": lambda: ClassGaussian("layer3", "tied"),
    "layer4_tied": lambda: ClassGaussian("layer4", "tied"),
    "sq_bits4": lambda: Squeeze(("bits4",)),
    "sq_bits5": lambda: Squeeze(("bits5",)),
    "sq_median": lambda: Squeeze(("median3",)),
    "sq_bits4+median": lambda: Squeeze(("bits4", "median3")),
}
DENSITY = ["pen_full", "pen_diag", "pen_tied", "layer1_tied", "layer2_tied", "layer3_tied", "layer4_tied"]
SQUEEZE = ["sq_bits4", "sq_bits5", "sq_median", "sq_bits4+median"]


def candidates() -> dict[str, list[str]]:
    out = {p: [p] for p in PARTS}
    out["all_layers_tied"] = [p for p in DENSITY if p.endswith("tied")]
    for d, s in itertools.product(DENSITY + ["all_layers_tied"], SQUEEZE):
        out[f"{d}+{s}"] = (out[d] if d in out else [d]) + [s]
    for a, b in itertools.combinations(DENSITY, 2):
        out[f"{a}+{b}"] = [a, b]
        out[f"{a}+{b}+sq_bits4+median"] = [a, b, "sq_bits4+median"]
    return out


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
    parts = split_items(index_dataset(a.data), read_split(a.split))
    lab_x, lab_y = decode_items(parts["labeled"], lm.input_size)
    cal_x, cal_y = decode_items(parts["calib"], lm.input_size)
    t0 = time.time()
    names = list(PARTS)
    full = UADGate([PARTS[n]() for n in names]).fit(m, lab_x, lab_y, n_classes=4)
    paper = GaussianGate(1, "full", 1e-3).fit(extract_features(m, lab_x, 3, "cpu"), lab_y.numpy())
    print(f"fitted on {len(lab_x)} labeled scans in {time.time() - t0:.0f} s", flush=True)

    def raw_scores(x):  # x float grey (N,1,S,S)
        with torch.no_grad():  # grey: the model replicates the channel itself
            logits, raw = full.component_scores_torch(m, x)
            _, ll = paper.score_torch(m, x)
        return logits.argmax(1).numpy(), np.c_[raw.numpy(), ll.numpy()]

    def batched(x):
        outs = [raw_scores(x[i:i + 50]) for i in range(0, len(x), 50)]
        return np.concatenate([o[0] for o in outs]), np.concatenate([o[1] for o in outs])

    cal = cal_x.float() / 255
    y = cal_y.numpy()
    pred_c, raw_c = batched(cal)
    loc, scale = raw_c.mean(0), raw_c.std(0) + 1e-12
    cols = {n: i for i, n in enumerate(names + ["paper_gmm_full"])}
    cands = candidates()
    cands["paper_gmm_full"] = ["paper_gmm_full"]

    def combo(raw, keys):
        return sum((raw[:, cols[k]] - loc[cols[k]]) / scale[cols[k]] for k in keys)

    res = {"model": a.model, "split": a.split, "part": "calib", "n": int(len(y)),
           "clean_calib_accuracy": float(np.mean(pred_c == y)), "eps": {}}
    print(f"clean calib accuracy {res['clean_calib_accuracy']:.3f}", flush=True)
    for eps in [float(e) for e in a.eps.split(",")]:
        t = time.time()
        adv = torch.cat([PGD(m, eps=eps, steps=10, random_start=True)(cal[i:i + 50], cal_y[i:i + 50])
                         for i in range(0, len(cal), 50)])
        pred_a, raw_a = batched(adv)
        row = {"accuracy_under_attack": float(np.mean(pred_a == y)), "seconds": time.time() - t, "auprc": {}}
        for name, keys in cands.items():
            row["auprc"][name] = gate_auprc(y, combo(raw_c, keys), pred_a, combo(raw_a, keys),
                                            classes=np.arange(4))["average"]
        res["eps"][str(eps)] = row
        print(f"eps {eps}: accuracy under PGD-10 {row['accuracy_under_attack']:.3f}", flush=True)
        for k, v in sorted(row["auprc"].items(), key=lambda kv: -kv[1])[:12]:
            print(f"  {k:45s} {v:.3f}")
        for k in ["paper_gmm_full", "pen_diag", "layer2_tied", "all_layers_tied", "sq_bits4+median"]:
            print(f"  [{k}] {row['auprc'][k]:.3f}")
    e = list(res["eps"])
    res["mean_auprc"] = {k: float(np.mean([res["eps"][x]["auprc"][k] for x in e])) for k in cands}
    best = sorted(res["mean_auprc"].items(), key=lambda kv: -kv[1])[:10]
    print("best mean AUPRC over the eps:", *[f"{k} {v:.3f}" for k, v in best], sep="\n  ")
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
