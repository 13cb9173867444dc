"""The evaluation protocol for one model: clean pass, attack runs, and the
numbers of each paper figure/table computed from per-image outcomes.

Every attack is white-box on the model being evaluated (each model is
attacked itself), runs batched on the model's device, and sees the images at
the model's own input size. An attack run yields, per test image, the
adversarial prediction, the gate's score and verdict, and the L2 / L-inf
distance from the clean image; the adversarial images themselves are not
kept. Everything downstream (accuracy, risk, AUPRC, bootstrap intervals) is
computed from those arrays with core.risk.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from .. import CLASSES, oct_check
from ..preprocess import preprocess
from ..progress import Progress
from ..risk import (ACCEPTED_CORRECT, ACCEPTED_WRONG, REJECTED, adversarial_risk, bootstrap_ci,
                    gate_auprc, risk_categories)
from ..batches import as_float
from ..verdict import decide_many, has_content
from .config import EvalConfig  # noqa: F401  (re-exported: the protocol's settings)
from .tables import Estimate


@dataclass
class Outcome:
    """Per-image results of one pass (clean or attacked) over the test set."""
    pred: np.ndarray
    score: np.ndarray | None = None      # gate log-likelihood under the predicted class
    accepted: np.ndarray | None = None   # core.verdict's rule, True = let through
    screened_out: np.ndarray | None = None  # refused before the gate: no content, or not OCT
    features: np.ndarray | None = None   # penultimate features, only when asked for
    l2: np.ndarray | None = None         # distance from the clean image (attacks only)
    linf: np.ndarray | None = None
    seconds: float = 0.0


def run_pass(lm, images_u8: torch.Tensor, labels: torch.Tensor, batch_size: int, attack=None,
             keep_features: bool = False, progress: Progress | None = None, on_batch=None) -> Outcome:
    """Classify (and gate-score) the images, attacking each batch first when
    ``attack`` is given. ``on_batch()`` is called after each clean batch;
    attacks report each step through ``progress``."""
    model, device = lm.model, lm.device
    model.eval()
    preds, feats, scores, screens, l2s, linfs = [], [], [], [], [], []
    t0 = time.perf_counter()
    for i in range(0, len(images_u8), batch_size):
        # one grey channel: attacks perturb the image a file would hold, and
        # the model replicates it to its channels inside the gradient path
        x = as_float(images_u8[i:i + batch_size], 1, device)
        y = labels[i:i + batch_size].to(device)
        if attack is not None:
            x_adv = attack(x, y, progress=progress)
            diff = (x_adv - x).flatten(1)
            l2s.append(torch.linalg.vector_norm(diff, dim=1).cpu())
            linfs.append(diff.abs().amax(1).cpu())
            x = x_adv
        pred, z, score, screen = classify(lm, x, features=keep_features)
        preds.append(pred)
        feats.append(z)
        scores.append(score)
        screens.append(screen)
        if on_batch is not None:
            on_batch()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return gather(lm, preds, feats, scores, time.perf_counter() - t0, keep_features,
                  (l2s, linfs) if attack is not None else None, screens)


@torch.no_grad()
def classify(lm, x: torch.Tensor, features: bool = False
             ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None, np.ndarray]:
    """Grey (N, 1, H, W) at any size, through inference's crop and resize ->
    (predicted class, float64 features or None, gate score or None, passes
    the screens), on the CPU. The screens are core.verdict's checks before
    the gate (content, core.oct_check) on the same pixels the viewer checks.
    The gate's own pass gives the logits too; the penultimate features cost a
    separate pass, so they are computed only when asked for (t-SNE)."""
    x = preprocess(x.to(lm.device), lm.input_size, 1)
    grey = x[:, 0].cpu().numpy()
    screen = has_content(grey) & np.array([c.ok for c in oct_check.check(grey)], dtype=bool)
    score = z = None
    if lm.gate is not None:
        logits, score = lm.gate.score_torch(lm.model, x)
        score = score.cpu()
    if features or lm.gate is None:
        logits, z = lm.model.forward_with_features(x)
        z = z.double().cpu()
    return logits.argmax(1).cpu(), z, score, screen


def gather(lm, preds: list, feats: list, scores: list, seconds: float, keep_features: bool = False,
           distances: tuple[list, list] | None = None, screens: list | None = None) -> Outcome:
    """One Outcome from per-batch predictions, features, gate scores and
    screens: the verdicts are computed here, once for every pass, with
    core.verdict's rule (the viewer's)."""
    gate = lm.gate
    pred = torch.cat(preds).numpy() if preds else np.zeros(0, dtype=np.int64)
    z = torch.cat(feats).numpy() if keep_features and feats else None
    out = Outcome(pred=pred, seconds=seconds, features=z)
    if gate is not None and len(pred):
        out.score = torch.cat(scores).numpy()
        passed = np.concatenate(screens) if screens else np.ones(len(pred), dtype=bool)
        out.screened_out = ~passed
        out.accepted = decide_many(out.score, gate.threshold_for(pred), passed)
    if distances is not None:
        l2s, linfs = distances
        out.l2 = torch.cat(l2s).numpy() if l2s else np.zeros(0)
        out.linf = torch.cat(linfs).numpy() if linfs else np.zeros(0)
    return out


# -- statistics ---------------------------------------------------------------
def ci(statistic, n: int, cfg: EvalConfig) -> Estimate:
    """Point estimate with its percentile-bootstrap 95% interval."""
    return Estimate(*bootstrap_ci(statistic, n, n_boot=cfg.n_boot, seed=cfg.seed))


def _class_names(classes) -> list[str]:
    return list(classes) if classes else list(CLASSES)


def clean_section(y: np.ndarray, clean: Outcome, classes, cfg: EvalConfig, gate) -> dict:
    n, k = len(y), len(classes)
    cm = np.zeros((k, k), dtype=int)
    np.add.at(cm, (y, clean.pred), 1)
    correct = clean.pred == y
    out = {
        "n": int(n),
        "per_class_n": {c: int((y == i).sum()) for i, c in enumerate(classes)},
        "accuracy": ci(lambda i: correct[i].mean(), n, cfg),
        "per_class_accuracy": {c: (float(correct[y == i].mean()) if (y == i).any() else None)
                               for i, c in enumerate(classes)},
        "confusion_matrix": {"rows": "true class", "columns": "predicted class", "classes": list(classes),
                             "counts": cm.tolist()},
        "seconds": clean.seconds,
        "images_per_second": n / clean.seconds if clean.seconds > 0 else None,
        "gate": None,
    }
    if gate is not None and clean.accepted is not None:
        rejected = ~clean.accepted
        out["gate"] = {
            "rejection_rate": ci(lambda i: rejected[i].mean(), n, cfg),
            "n_rejected": int(rejected.sum()),
            # of those, refused before the gate (blank, or not OCT by core.oct_check)
            "n_screened_out": int(clean.screened_out.sum()) if clean.screened_out is not None else 0,
            "per_class_rejection_rate": {c: (float(rejected[y == i].mean()) if (y == i).any() else None)
                                         for i, c in enumerate(classes)},
            "calibrated_rejection_rate": float(gate.rejection_rate),
            "thresholds": {classes[int(c)]: float(t) for c, t in zip(gate.classes_, gate.offset_)},
            "score_mean": float(np.mean(clean.score)),
            "accuracy_of_accepted": (float(correct[clean.accepted].mean()) if clean.accepted.any() else None),
        }
    return out


def attack_row(attack: str, budget: float, y: np.ndarray, clean: Outcome, adv: Outcome, classes,
               cfg: EvalConfig, gate, with_auprc_ci: bool = False) -> dict:
    """Every number for one attack at one budget: accuracy under attack,
    successful attacks, distances, and (with a gate) risk Eq. 2-3, risk
    categories and per-class AUPRC; bootstrap intervals on accuracy and risk."""
    n = len(y)
    adv_ok = adv.pred == y
    success = ~adv_ok
    flipped = success & (clean.pred == y)
    key = "c" if attack == "cw" else "eps"
    row = {
        "attack": attack, key: budget, "n": int(n),
        "accuracy": ci(lambda i: adv_ok[i].mean(), n, cfg),
        "n_success": int(success.sum()),
        "n_success_per_class": {c: int(success[y == i].sum()) for i, c in enumerate(classes)},
        # attacks that flipped a correct clean prediction (the rest were wrong already)
        "n_flipped": int(flipped.sum()),
        "mean_l2": float(adv.l2.mean()) if adv.l2 is not None and n else None,
        "mean_l2_success": float(adv.l2[success].mean()) if adv.l2 is not None and success.any() else None,
        "median_l2_success": float(np.median(adv.l2[success])) if adv.l2 is not None and success.any() else None,
        # distances of the attacks that flipped a correct prediction: the
        # successes on images f already got wrong cost nothing (C&W returns
        # those almost unchanged), so they would drag the L2 toward 0
        "median_l2_flipped": float(np.median(adv.l2[flipped])) if adv.l2 is not None and flipped.any() else None,
        "mean_l2_flipped": float(adv.l2[flipped].mean()) if adv.l2 is not None and flipped.any() else None,
        "max_linf": float(adv.linf.max()) if adv.linf is not None and n else None,
        "seconds": adv.seconds,
        "images_per_second": n / adv.seconds if adv.seconds > 0 else None,
    }
    w = dict(r_cln_prd=cfg.r_cln_prd, r_cln_uad=cfg.r_cln_uad, r_adv_prd=cfg.r_adv_prd)
    ones = np.ones(n, dtype=bool)
    # without a gate R(f) still exists: treat everything as accepted
    ca = clean.accepted if clean.accepted is not None else ones
    aa = adv.accepted if adv.accepted is not None else ones
    risk = adversarial_risk(y, clean.pred, ca, adv.pred, aa, **w)
    row["risk"] = risk.as_dict()
    row["r_f"] = ci(lambda i: adversarial_risk(y[i], clean.pred[i], ca[i], adv.pred[i], aa[i], **w).r_f, n, cfg)
    row["gate"] = None
    if gate is None or clean.accepted is None:
        for k in ("n_cln_inc_fg", "n_cln_rej_g", "n_adv_inc_fg", "R_fg", "r_fg"):
            row["risk"][k] = None
        return row
    row["r_fg"] = ci(lambda i: adversarial_risk(y[i], clean.pred[i], ca[i], adv.pred[i], aa[i], **w).r_fg,
                     n, cfg)
    cats = risk_categories(y, adv.pred, adv.accepted)
    auprc = gate_auprc(y, clean.score, adv.pred, adv.score, classes=np.arange(len(classes)))
    g = {
        "categories": {k: int((cats == k).sum()) for k in (REJECTED, ACCEPTED_CORRECT, ACCEPTED_WRONG)},
        "adv_rejection_rate": float((~adv.accepted).mean()),
        "n_screened_out": int(adv.screened_out.sum()) if adv.screened_out is not None else 0,
        "success_rejection_rate": float((~adv.accepted[success]).mean()) if success.any() else None,
        "auprc": {classes[i]: auprc[i] for i in range(len(classes))},
        "auprc_average": auprc["average"],
        # average precision of a detector that guesses: positives / (positives + negatives)
        "auprc_chance": {c: (int(success[y == i].sum()) / (int(success[y == i].sum()) + int((y == i).sum()))
                             if (y == i).any() else None) for i, c in enumerate(classes)},
    }
    if with_auprc_ci:
        def avg(i):
            return gate_auprc(y[i], clean.score[i], adv.pred[i], adv.score[i],
                              classes=np.arange(len(classes)))["average"]
        g["auprc_average_ci"] = ci(avg, n, cfg)
    row["gate"] = g
    return row


def figure4_point(row: dict) -> dict:
    keep = ("attack", "eps", "c", "n", "accuracy", "n_success", "n_flipped", "mean_l2", "mean_l2_success",
            "median_l2_success", "mean_l2_flipped", "median_l2_flipped", "max_linf")
    return {k: row[k] for k in keep if k in row}


def summary_row(row: dict) -> dict:
    """Risk, gate AUPRC and accuracy of one attack run, for the all-attacks
    table (the model card reports FGSM and C&W risk too, not only PGD)."""
    g = row.get("gate") or {}
    return {"attack": row["attack"], "budget": row.get("eps", row.get("c")),
            "budget_kind": "c" if row["attack"] == "cw" else "eps",
            "accuracy": row["accuracy"], "n_success": row["n_success"], "n": row["n"],
            "r_f": row["r_f"], "r_fg": row.get("r_fg"), "auprc_average": g.get("auprc_average"),
            "categories": g.get("categories"), "median_l2_flipped": row.get("median_l2_flipped")}


def clean_as_point(attack: str, y: np.ndarray, clean: Outcome, cfg: EvalConfig) -> dict:
    """The eps 0 point of an L-inf attack whose eps ball is a single point."""
    ok = clean.pred == y
    return {"attack": attack, "eps": 0.0, "n": int(len(y)), "accuracy": ci(lambda i: ok[i].mean(), len(y), cfg),
            "n_success": int((~ok).sum()), "n_flipped": 0, "mean_l2": 0.0, "mean_l2_success": None,
            "median_l2_success": None, "mean_l2_flipped": None, "median_l2_flipped": None, "max_linf": 0.0, "from_clean": True}
