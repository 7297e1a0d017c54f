"""SSL-TIE (Liu et al., ACM MM 2022): the official ``AVENet`` layout and its map.

Visual and audio nets are SSL-TIE's ResNet-18 (layer4 stride 1); the audio feature map is
global-max-pooled to 512. No projection heads: the map is the cosine between the audio vector
and each of the 14x14 visual locations. ``vision_fc1``, ``conv3`` and ``norm3`` exist in the
official class and its checkpoints but are not used by the map (``conv3``/``norm3`` feed an
output the official code discards); they are kept so checkpoints load strictly.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from avatar_bench.models.baselines.resnet import SSLTIEResNet18

EPSILON = 0.65       # positive-region threshold of the soft mask
EPSILON2 = 0.40      # tri-map: background threshold
MASK_TAU = 0.03      # sharpness of the sigmoid masks
TEMPERATURE = 0.07   # logits temperature


class SSLTIE(nn.Module):
    """Visual 512x14x14 map and audio 512 vector, both L2-normalised; map = cosine."""

    def __init__(self) -> None:
        super().__init__()
        self.imgnet = SSLTIEResNet18(modal="vision")
        self.audnet = SSLTIEResNet18(modal="audio")
        self.avgpool = nn.AdaptiveMaxPool2d(1)  # the official name; it max-pools the audio
        self.vision_fc1 = nn.Conv2d(1024, 512, kernel_size=1)
        self.conv3 = nn.Conv2d(1, 1, 1)
        self.norm3 = nn.BatchNorm2d(1)
        # Official init over every submodule: Kaiming convs, BN weight ~ N(1, 0.02).
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, mean=1.0, std=0.02)
                nn.init.constant_(m.bias, 0)

    def embed_image(self, image: torch.Tensor) -> torch.Tensor:
        """(B,3,H,W) -> unit-norm (B,512,h,w); 14x14 at 224."""
        return F.normalize(self.imgnet(image), dim=1)

    def embed_audio(self, spec: torch.Tensor) -> torch.Tensor:
        """(B,1,257,T) dB mel spectrogram -> unit-norm (B,512)."""
        return F.normalize(self.avgpool(self.audnet(spec)).flatten(1), dim=1)

    def forward(self, image: torch.Tensor, spec: torch.Tensor, mode: str = "test",
                image_t: torch.Tensor | None = None) -> Any:
        """``mode="test"``: the map (B,h,w), cosine(audio_i, image_i at each location) (their
        ``A``). ``mode="train"``: ``(img, img_t, aud)`` embeddings, ``img_t`` of the
        transformed image when given (one forward, so DDP sees both image passes)."""
        img, aud = self.embed_image(image), self.embed_audio(spec)
        if mode == "train":
            return img, (None if image_t is None else self.embed_image(image_t)), aud
        return torch.einsum("nchw,nc->nhw", img, aud)
