"""Guided complement entropy against a hand-computed case."""
import math

import torch

from core.training.losses import gce_objective, guided_complement_entropy


def test_gce_matches_hand_computation():
    # p = softmax(log [0.5, 0.25, 0.125, 0.125]) = that distribution; true class 0
    logits = torch.log(torch.tensor([[0.5, 0.25, 0.125, 0.125]]))
    # complement, renormalised: [0.5, 0.25, 0.25]; entropy = 1.5 log 2
    h = -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))
    expected = 0.5 ** 0.2 * h / math.log(3)
    got = guided_complement_entropy(logits, torch.tensor([0]), alpha=0.2)
    assert abs(float(got) - expected) < 1e-6


def test_flat_complement_maximises_gce():
    flat = torch.log(torch.tensor([[0.7, 0.1, 0.1, 0.1]]))
    peaked = torch.log(torch.tensor([[0.7, 0.28, 0.01, 0.01]]))
    y = torch.tensor([0])
    assert abs(float(guided_complement_entropy(flat, y)) - 0.7 ** 0.2) < 1e-6
    assert guided_complement_entropy(flat, y) > guided_complement_entropy(peaked, y)
    # the objective subtracts it from cross-entropy: flat complement = lower loss
    assert gce_objective(flat, y) < gce_objective(peaked, y)
