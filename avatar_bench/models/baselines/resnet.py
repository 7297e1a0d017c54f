"""ResNet-18 written with torchvision's exact module names, so state dicts interchange.

torchvision is not a dependency; the official checkpoints store torchvision-layout keys
(``conv1``, ``bn1``, ``layer1.0.conv1`` ... ``downsample.0/1``, ``fc``), and ImageNet
initialisation reads a torchvision ``resnet18`` state-dict file, so the layout must match.
"""

from __future__ import annotations

import torch
from torch import nn


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convs with a residual; ``downsample`` (1x1 conv + BN) when shapes change."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample: nn.Module | None = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


def _make_layer(inplanes: int, planes: int, stride: int) -> nn.Sequential:
    return nn.Sequential(BasicBlock(inplanes, planes, stride), BasicBlock(planes, planes))


def torchvision_init(module: nn.Module) -> None:
    """torchvision's ResNet init: Kaiming-normal (fan_out) convs, BN weight 1 / bias 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)


def baseline_init(module: nn.Module) -> None:
    """The baselines' init for non-pretrained parts: Kaiming convs, trunc-normal(0.01) linears,
    BN weight ~ N(1, 0.02), bias 0 (EZ-VSL/SLAVC audio net and projections, all of SSL-TIE)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, mean=1.0, std=0.02)
            nn.init.constant_(m.bias, 0)


class ResNet18(nn.Module):
    """torchvision ResNet-18 trunk; ``forward`` returns the layer4 feature map (no pooling).

    ``in_channels=1`` gives the baselines' audio net (``conv1 = Conv2d(1, 64, 7, 2, 3)``).
    ``with_fc`` keeps torchvision's unused ``fc`` (absent from EZ-VSL/SLAVC checkpoints, whose
    ``fc`` was replaced by Identity).
    """

    def __init__(self, in_channels: int = 3, with_fc: bool = False,
                 layer4_stride: int = 2) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self._build_trunk(layer4_stride)
        self.fc = nn.Linear(512, 1000) if with_fc else None
        torchvision_init(self)

    def _build_trunk(self, layer4_stride: int) -> None:
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = _make_layer(64, 64, 1)
        self.layer2 = _make_layer(64, 128, 2)
        self.layer3 = _make_layer(128, 256, 2)
        self.layer4 = _make_layer(256, 512, layer4_stride)

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv1(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.stem(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class SSLTIEResNet18(ResNet18):
    """SSL-TIE's ResNet-18: layer4 stride 1 (512x14x14 at 224), three stems, unused ``fc``.

    The official class builds ``conv1_a`` (1-channel audio), ``conv1`` (RGB) and ``conv1_flow``
    (6-channel, unused) in every instance and picks one by modality; all three (and ``fc``)
    are in its checkpoints, so they exist here for strict loading.
    """

    def __init__(self, modal: str) -> None:
        if modal not in ("vision", "audio"):
            raise ValueError(f"modal must be 'vision' or 'audio', got {modal!r}")
        nn.Module.__init__(self)
        self.modal = modal
        self.conv1_a = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.conv1_flow = nn.Conv2d(6, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self._build_trunk(layer4_stride=1)
        self.fc = nn.Linear(512, 1000)
        torchvision_init(self)

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv1_a(x) if self.modal == "audio" else self.conv1(x)
