"""ResNet-18 with torchvision's module names, parameter layout and
initialisation, so torchvision weights and our saved models load unchanged.

Why not ``torchvision.models.resnet18``: importing torchvision (its
``__init__`` pulls in datasets, io, ops and, through ops, ``torch._dynamo``)
costs about as long again as importing torch itself, and the viewer's first
answer waits for it (issue 13 part 4: first result within import-torch time
plus 1 s). tests/core/test_resnet.py pins this copy to torchvision's: same
state-dict keys and shapes, the same initial weights from the same seed, and
the same outputs from the same weights.
"""
from __future__ import annotations

import torch
import torch.nn as nn


def _conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = _conv3x3(cin, cout, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(cout, cout)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet18(nn.Module):
    def __init__(self, num_classes: int = 1000, init_weights: bool = True):
        super().__init__()
        # modules are built in torchvision's order: each constructor draws
        # from the RNG, so the same seed gives the same initial weights
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._layer(64, 64, 1)
        self.layer2 = self._layer(64, 128, 2)
        self.layer3 = self._layer(128, 256, 2)
        self.layer4 = self._layer(256, 512, 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)
        if not init_weights:   # weights about to be loaded: skip a second 11M-value draw (50 ms)
            return
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    @staticmethod
    def _layer(cin: int, cout: int, stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or cin != cout:
            downsample = nn.Sequential(nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False),
                                       nn.BatchNorm2d(cout))
        return nn.Sequential(BasicBlock(cin, cout, stride, downsample), BasicBlock(cout, cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def fold_batchnorm(net: ResNet18) -> ResNet18:
    """Fold each BatchNorm into the convolution before it, in place, for
    inference: the network computes the same function (eval mode, to float
    rounding) without a separate normalisation pass, about 12% faster at 160 px
    on the CPU (328.9 against 288.5 ms for the gate's two passes over 32
    scans, 2026-12-04). The folded network cannot be trained or saved as a
    model: its BatchNorm layers are gone, and ``batchnorm_folded`` says so."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    def fold(parent: nn.Module, conv: str, bn: str) -> None:
        setattr(parent, conv, fuse_conv_bn_eval(getattr(parent, conv), getattr(parent, bn)))
        setattr(parent, bn, nn.Identity())

    net.eval()
    fold(net, "conv1", "bn1")
    for layer in (net.layer1, net.layer2, net.layer3, net.layer4):
        for block in layer:
            fold(block, "conv1", "bn1")
            fold(block, "conv2", "bn2")
            if block.downsample is not None:
                fold(block.downsample, "0", "1")
    net.batchnorm_folded = True
    return net


def resnet18(num_classes: int = 1000, init_weights: bool = True) -> ResNet18:
    """``torchvision.models.resnet18(weights=None, num_classes=...)``, without
    torchvision. ``init_weights=False`` leaves the layers' own default
    initialisation, for a model whose every weight is loaded next."""
    return ResNet18(num_classes, init_weights)
