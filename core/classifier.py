"""ResNet-18 OCT classifier that takes [0, 1] pixels and exposes its features.

Normalisation lives inside ``forward`` (as torchattacks expects), so attacks
and their eps are in pixel units. ``features`` is the 512-d penultimate layer
the detection gate models; ``forward_with_features`` gives both in one pass.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from . import CLASSES
from .errors import ModelError
from .resnet import resnet18


class OCTClassifier(nn.Module):
    def __init__(self, num_classes: int = len(CLASSES), in_channels: int = 3,
                 mean: float = 0.5, std: float = 0.25, init_weights: bool = True):
        super().__init__()
        self.in_channels = in_channels
        self.register_buffer("mean", torch.full((1, in_channels, 1, 1), float(mean)))
        self.register_buffer("std", torch.full((1, in_channels, 1, 1), float(std)))
        net = resnet18(num_classes, init_weights)
        if in_channels != 3:
            net.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        self.backbone = net

    @property
    def fc(self) -> nn.Linear:
        return self.backbone.fc

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """[0, 1] pixels -> network input. A one-channel (grey) image is
        replicated to the model's channels here, inside the differentiable
        path, so an attack on a grey image stays grey, as a file's pixels are."""
        if x.shape[1] == 1 and self.in_channels != 1:
            x = x.expand(-1, self.in_channels, -1, -1)
        return (x - self.mean) / self.std

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C or 1, H, W) in [0, 1] -> (N, 512) penultimate features."""
        b = self.backbone
        x = self.normalise(x)
        x = b.maxpool(b.relu(b.bn1(b.conv1(x))))
        x = b.layer4(b.layer3(b.layer2(b.layer1(x))))
        return torch.flatten(b.avgpool(x), 1)

    def forward_with_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.features(x)
        return self.backbone.fc(z), z

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone.fc(self.features(x))


def build_classifier(num_classes: int = len(CLASSES), in_channels: int = 3,
                     init_weights: str | Path | None = None) -> OCTClassifier:
    """A fresh classifier; ``init_weights`` is an optional local file of
    torchvision-layout ResNet-18 weights (ImageNet, say) in safetensors format.
    Nothing is downloaded and nothing is unpickled."""
    model = OCTClassifier(num_classes, in_channels)
    if init_weights is not None:
        from safetensors.torch import load_file
        try:
            state = load_file(str(init_weights))
        except Exception as exc:  # safetensors raises several types
            raise ModelError(f"{init_weights}: not a readable safetensors file ({exc})") from exc
        # the classification head never matches 4 classes: keep ours
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        missing, unexpected = model.backbone.load_state_dict(state, strict=False)
        if unexpected or any(not k.startswith("fc.") for k in missing):
            raise ModelError(f"{init_weights}: not ResNet-18 weights "
                             f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
        # ImageNet weights expect ImageNet statistics
        model.mean.copy_(torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        model.std.copy_(torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
    return model


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
