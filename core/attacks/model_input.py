"""The differentiable path from a grey image to the classifier.

Scans are grey; the model sees the grey replicated to its channels.
Attacking the replicated (N, C, S, S) tensor would give each channel its own
perturbation, a colour image no scanner makes and no file can carry, so the
attacks perturb the grey image and the replication happens here, inside the
gradient. The same module takes a full-resolution frame: it then runs
inference's own centre crop and resize (core.preprocess.preprocess) first.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..preprocess import preprocess


class ModelInput(nn.Module):
    """(N, 1, H, W) grey at any size -> centre square -> resize to ``size`` ->
    grey replicated to the classifier's channels -> the classifier. At the
    model's own size the crop and resize are the identity."""

    def __init__(self, model: nn.Module, size: int):
        super().__init__()
        self.inner = model
        self.size = int(size)
        self.in_channels = 1

    def to_model(self, x: torch.Tensor) -> torch.Tensor:
        return preprocess(x, self.size, self.inner.in_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(self.to_model(x))

    def forward_with_features(self, x: torch.Tensor):
        return self.inner.forward_with_features(self.to_model(x))
