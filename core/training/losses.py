"""Guided Complement Entropy (Chen et al., ICCV 2019, arXiv 1903.09799).

GCE rewards a flat distribution over the *wrong* classes, guided by the
confidence in the right one:

    GCE = mean_i  p_ig^alpha * H(p_i, complement) / log(K - 1)
    H  = -sum_{j != g} q_ij log q_ij,   q_ij = p_ij / (1 - p_ig)

Training maximises it, so the loss term is its negative; following the
method notes we add it to cross-entropy with a weight.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def guided_complement_entropy(logits: torch.Tensor, target: torch.Tensor,
                              alpha: float = 0.2, eps: float = 1e-7) -> torch.Tensor:
    """Mean guided complement entropy in [0, 1] (normalised by log(K-1))."""
    probs = F.softmax(logits.float(), dim=1)
    k = probs.shape[1]
    p_true = probs.gather(1, target[:, None]).squeeze(1)
    q = probs / (1.0 - p_true[:, None]).clamp_min(eps)
    mask = torch.ones_like(q).scatter_(1, target[:, None], 0.0)
    entropy = -(mask * q * torch.log(q.clamp_min(eps))).sum(1)
    return (p_true.clamp_min(eps) ** alpha * entropy).mean() / math.log(k - 1)


def gce_objective(logits, target, alpha=0.2, weight=1.0, label_smoothing=0.0):
    """Cross-entropy minus weight * guided complement entropy (to minimise)."""
    ce = F.cross_entropy(logits, target, label_smoothing=label_smoothing)
    return ce - weight * guided_complement_entropy(logits, target, alpha)
