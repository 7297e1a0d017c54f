"""EZ-VSL (Mo & Morgado, ECCV 2022): the official module layout and test-time map.

Module names follow the official ``EZVSL`` class (``imgnet``, ``img_proj``, ``audnet``,
``aud_proj``) so released checkpoints load strictly. The map is the cosine between the
projected audio vector and every projected visual location, divided by tau (their ``Savl``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from avatar_bench.models.baselines.resnet import ResNet18, baseline_init

TAU = 0.03
DIM = 512


class AudioNet(ResNet18):
    """The baselines' audio ResNet-18: 1-channel conv1, global max pool to a 512 vector."""

    def __init__(self) -> None:
        super().__init__(in_channels=1)
        self.avgpool = nn.AdaptiveMaxPool2d(1)  # torchvision's name, max-pooling as in theirs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.avgpool(super().forward(x)).flatten(1)


class EZVSL(nn.Module):
    """Visual ResNet-18 map -> 1x1 conv; audio ResNet-18 vector -> linear; both L2-normalised."""

    def __init__(self, tau: float = TAU, dim: int = DIM) -> None:
        super().__init__()
        self.tau = tau
        self.imgnet = ResNet18(in_channels=3)
        self.img_proj = nn.Conv2d(512, dim, kernel_size=1)
        self.audnet = AudioNet()
        self.aud_proj = nn.Linear(512, dim)
        for net in (self.audnet, self.img_proj, self.aud_proj):
            baseline_init(net)

    def embed_image(self, image: torch.Tensor) -> torch.Tensor:
        """(B,3,H,W) -> unit-norm (B,dim,h,w); 7x7 at 224 (their ``unflatten(1,(512,7,7))``)."""
        return F.normalize(self.img_proj(self.imgnet(image)), dim=1)

    def embed_audio(self, spec: torch.Tensor) -> torch.Tensor:
        """(B,1,F,T) log spectrogram -> unit-norm (B,dim)."""
        return F.normalize(self.aud_proj(self.audnet(spec)), dim=1)

    def forward(self, image: torch.Tensor, spec: torch.Tensor, mode: str = "test") -> Any:
        """``mode="test"``: the map (B,h,w), cosine(audio_i, image_i at each location) / tau.
        ``mode="train"``: the embeddings ``(img, aud)`` for the loss (through ``forward`` so
        DDP sees the computation)."""
        img, aud = self.embed_image(image), self.embed_audio(spec)
        if mode == "train":
            return img, aud
        return paired_map(img, aud, self.tau)


def paired_map(img: torch.Tensor, aud: torch.Tensor, tau: float) -> torch.Tensor:
    """Per-sample map: (B,C,h,w) x (B,C) -> (B,h,w), divided by tau."""
    return torch.einsum("nchw,nc->nhw", img, aud) / tau


def all_pairs_map(img: torch.Tensor, aud: torch.Tensor, tau: float) -> torch.Tensor:
    """Every image against every audio: (N,C,h,w) x (M,C) -> (N,M,h,w), divided by tau."""
    return torch.einsum("nchw,mc->nmhw", img, aud) / tau
