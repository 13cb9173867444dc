"""The paper's adversarial risk (Li, Pan, Zhu 2021, Eq. 2 and 3), the gate's
per-class AUPRC (its Table 1) and bootstrap confidence intervals.

Every function takes plain arrays over the N test cases; the clean and the
adversarial arrays are paired (case i is clean image i and its attack).
``accepted`` flags are True where the gate let the input through.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

REJECTED = "rejected"
ACCEPTED_CORRECT = "accepted_correct"
ACCEPTED_WRONG = "accepted_wrong"


@dataclass(frozen=True)
class Risk:
    """Counts and risks of one system on N paired clean/adversarial cases.

    ``R_fg`` is Eq. 2 (with the gate), ``R_f`` Eq. 3 (without it); ``r_*``
    are the average risks R / N. Attribute names follow the paper's symbols:
    ``n_cln_inc_fg`` is N_cln^inc(f, g) and so on.
    """
    n: int
    n_cln_inc_fg: int   # clean, accepted by g, misclassified by f
    n_cln_rej_g: int    # clean, rejected by g
    n_adv_inc_fg: int   # adversarial, accepted by g, misclassified by f
    n_cln_inc_f: int    # clean, misclassified by f
    n_adv_inc_f: int    # adversarial, misclassified by f
    R_fg: float
    R_f: float
    r_fg: float
    r_f: float

    def as_dict(self) -> dict:
        return asdict(self)


def _paired(*arrays) -> list[np.ndarray]:
    out = [np.asarray(a).ravel() for a in arrays]
    if len({len(a) for a in out}) != 1:
        raise ValueError(f"arrays must have one length (paired test cases), got {[len(a) for a in out]}")
    return out


def adversarial_risk(y_true, clean_pred, clean_accepted, adv_pred, adv_accepted, *,
                     r_cln_prd: float = 1.0, r_cln_uad: float = 1.0,
                     r_adv_prd: float = 1.0) -> Risk:
    """Eq. 2 and 3 of the paper.

    R(f, g) = N_cln^inc(f, g) r_cln^prd + N_cln^rej(g) r_cln^uad + N_adv^inc(f, g) r_adv^prd
    R(f)    = N_cln^inc(f) r_cln^prd + N_adv^inc(f) r_adv^prd

    A clean image the gate rejects counts once, as a rejection, whether f was
    right or not; an adversarial example the gate rejects costs nothing, nor
    does an accepted one f still gets right. N is the number of test cases
    (one clean image and its attack each), so r can exceed 1.

    >>> risk = adversarial_risk([0, 1], [0, 0], [True, True], [1, 1], [False, True])
    >>> risk.R_fg, risk.R_f
    (1.0, 2.0)
    """
    y, cp, ca, ap, aa = _paired(y_true, clean_pred, clean_accepted, adv_pred, adv_accepted)
    ca, aa = ca.astype(bool), aa.astype(bool)
    n = len(y)
    cln_wrong, adv_wrong = cp != y, ap != y
    n_cln_inc_fg = int(np.sum(ca & cln_wrong))
    n_cln_rej_g = int(np.sum(~ca))
    n_adv_inc_fg = int(np.sum(aa & adv_wrong))
    n_cln_inc_f = int(np.sum(cln_wrong))
    n_adv_inc_f = int(np.sum(adv_wrong))
    R_fg = n_cln_inc_fg * r_cln_prd + n_cln_rej_g * r_cln_uad + n_adv_inc_fg * r_adv_prd
    R_f = n_cln_inc_f * r_cln_prd + n_adv_inc_f * r_adv_prd
    return Risk(n, n_cln_inc_fg, n_cln_rej_g, n_adv_inc_fg, n_cln_inc_f, n_adv_inc_f,
                float(R_fg), float(R_f),
                R_fg / n if n else float("nan"), R_f / n if n else float("nan"))


def risk_categories(y_true, adv_pred, adv_accepted) -> np.ndarray:
    """Per adversarial example: 'rejected' (the gate stopped it),
    'accepted_correct' (let through, f still right) or 'accepted_wrong'
    (let through and misclassified: the only case that carries risk)."""
    y, ap, aa = _paired(y_true, adv_pred, adv_accepted)
    aa = aa.astype(bool)
    return np.where(~aa, REJECTED, np.where(ap == y, ACCEPTED_CORRECT, ACCEPTED_WRONG))


def gate_auprc(y_true, clean_scores, adv_pred, adv_scores, classes=None) -> dict:
    """Per-class average precision of the gate at finding successful attacks.

    Positives are the *successful* adversarial examples (adv_pred != y_true),
    negatives all clean test images; the detection score is minus the gate
    score (a lower likelihood is more suspicious). Both are grouped by the
    **true** class: each class compares the attacks on its images with its own
    clean images, so a class's figure does not depend on where the attacker
    sent its images. Returns {class: AUPRC} (NaN for a class with no
    successful attack) plus 'average', the mean over classes that have one
    (the paper's "Average" column is the mean of its four classes).
    Chance level for a class is positives / (positives + negatives).
    """
    from sklearn.metrics import average_precision_score  # not on the viewer's start-up path

    y, cs, ap, as_ = _paired(y_true, clean_scores, adv_pred, adv_scores)
    classes = np.unique(y) if classes is None else classes
    success = ap != y
    out = {}
    for c in classes:
        neg = -cs[y == c]
        pos = -as_[(y == c) & success]
        if len(pos) == 0 or len(neg) == 0:
            out[c] = float("nan")
            continue
        labels = np.r_[np.zeros(len(neg)), np.ones(len(pos))]
        out[c] = float(average_precision_score(labels, np.r_[neg, pos]))
    per_class = np.array([out[c] for c in classes], dtype=float)
    out["average"] = float(np.nanmean(per_class)) if np.isfinite(per_class).any() else float("nan")
    return out


def bootstrap_ci(statistic: Callable[[np.ndarray], float], n: int, n_boot: int = 1000,
                 seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """Percentile bootstrap over test cases: (estimate, low, high).

    ``statistic(idx)`` computes the figure from the cases ``idx`` (an index
    array, with repeats). Index every paired array with the same ``idx`` so
    a clean image and its attack are resampled together:

    >>> acc = lambda i: np.mean(adv_pred[i] == y[i])
    >>> est, lo, hi = bootstrap_ci(acc, len(y))
    """
    if n < 1:
        raise ValueError("need at least one test case")
    rng = np.random.default_rng(seed)
    estimate = float(statistic(np.arange(n)))
    draws = np.array([statistic(rng.integers(0, n, n)) for _ in range(n_boot)], dtype=float)
    tail = (1 - level) / 2 * 100
    lo, hi = np.nanpercentile(draws, [tail, 100 - tail])
    return estimate, float(lo), float(hi)
