"""SLAVC (Mo & Morgado, NeurIPS 2022): two heads per modality, dropout, momentum encoders.

Test maps come from the online encoders by default: the official ``test.py`` defaults
``--use_mom_eval`` to False and its release test scripts do not pass it (only the training
script's in-loop validation does). ``use_mom_eval=True`` gives the momentum encoders' maps.

Names follow the official ``MoVSL`` class. Differences by design, not in numbers: the
official ``forward(mode='train')`` updates the momentum (EMA) encoders as a side effect; here
the EMA update is the explicit ``momentum_update()``, called by the training recipe after each
optimiser step, so inference can never move it. Their update-before-forward at step k+1 and
our update-after-step k apply the same sequence of EMA updates.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from avatar_bench.models.baselines.ezvsl import DIM, TAU, AudioNet, paired_map
from avatar_bench.models.baselines.resnet import ResNet18, baseline_init

DROPOUT_IMG = 0.9
DROPOUT_AUD = 0.0
MOMENTUM = 0.999

#: (online, momentum) module-name pairs; the image ones use m_img, the audio ones m_aud.
IMAGE_PAIRS = (("imgnet", "momentum_imgnet"), ("img_proj1", "momentum_img_proj1"),
               ("img_proj2", "momentum_img_proj2"))
AUDIO_PAIRS = (("audnet", "momentum_audnet"), ("aud_proj1", "momentum_aud_proj1"),
               ("aud_proj2", "momentum_aud_proj2"))


class SLAVC(nn.Module):
    """Online encoders + heads (the test map), and momentum copies used as training targets."""

    def __init__(self, tau: float = TAU, dim: int = DIM, dropout_img: float = DROPOUT_IMG,
                 dropout_aud: float = DROPOUT_AUD, m_img: float = MOMENTUM,
                 m_aud: float = MOMENTUM, use_mom_eval: bool = False) -> None:
        super().__init__()
        self.tau = tau
        self.m_img = m_img
        self.m_aud = m_aud
        self.use_mom_eval = use_mom_eval
        self.imgnet = ResNet18(in_channels=3)
        self.img_dropout = nn.Dropout(p=dropout_img)
        self.img_proj1 = nn.Conv2d(512, dim, kernel_size=1)
        self.img_proj2 = nn.Conv2d(512, dim, kernel_size=1)
        self.audnet = AudioNet()
        self.aud_proj1 = nn.Linear(512, dim)
        self.aud_proj2 = nn.Linear(512, dim)
        self.aud_dropout = nn.Dropout(p=dropout_aud)
        for net in (self.audnet, self.img_proj1, self.aud_proj1, self.img_proj2, self.aud_proj2):
            baseline_init(net)
        # Momentum copies start equal to the online parameters and never get gradients. The
        # BN buffers are still fresh here; ImageNet init later loads into both visual nets,
        # as the official code builds both from the pretrained torchvision model.
        for online, mom in IMAGE_PAIRS + AUDIO_PAIRS:
            copy_net = copy.deepcopy(getattr(self, online))
            for p in copy_net.parameters():
                p.requires_grad_(False)
            setattr(self, mom, copy_net)

    def image_heads(self, image: torch.Tensor, momentum: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Unit-norm (B,dim,h,w) maps of head 1 and head 2 (dropout is active in train mode)."""
        pre = "momentum_" if momentum else ""
        feat = self.img_dropout(getattr(self, pre + "imgnet")(image))
        return (F.normalize(getattr(self, pre + "img_proj1")(feat), dim=1),
                F.normalize(getattr(self, pre + "img_proj2")(feat), dim=1))

    def audio_heads(self, spec: torch.Tensor, momentum: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Unit-norm (B,dim) vectors of head 1 and head 2."""
        pre = "momentum_" if momentum else ""
        feat = self.aud_dropout(getattr(self, pre + "audnet")(spec))
        return (F.normalize(getattr(self, pre + "aud_proj1")(feat), dim=1),
                F.normalize(getattr(self, pre + "aud_proj2")(feat), dim=1))

    def forward(self, image: torch.Tensor, spec: torch.Tensor, mode: str = "test") -> Any:
        """``mode="test"``: the map (B,h,w), mean of the two heads' cosine/tau maps from the
        online encoders (default, as the official ``test.py`` and its release scripts) or,
        with ``use_mom_eval``, from the momentum encoders.
        ``mode="train"``: (online image heads, online audio heads, momentum image heads,
        momentum audio heads), the momentum ones without gradient. Never updates the EMA."""
        if mode == "train":
            online = (self.image_heads(image, momentum=False),
                      self.audio_heads(spec, momentum=False))
            with torch.no_grad():  # targets: dropout and batch BN statistics as in train mode
                target = (self.image_heads(image, momentum=True),
                          self.audio_heads(spec, momentum=True))
            return online + target
        mom = self.use_mom_eval
        img1, img2 = self.image_heads(image, momentum=mom)
        aud1, aud2 = self.audio_heads(spec, momentum=mom)
        return (paired_map(img1, aud1, self.tau) + paired_map(img2, aud2, self.tau)) / 2

    @torch.no_grad()
    def momentum_update(self) -> None:
        """EMA step ``p_m <- m p_m + (1 - m) p`` over parameters (buffers are not averaged)."""
        for pairs, m in ((IMAGE_PAIRS, self.m_img), (AUDIO_PAIRS, self.m_aud)):
            for online, mom in pairs:
                for p, pm in zip(getattr(self, online).parameters(),
                                 getattr(self, mom).parameters(), strict=True):
                    pm.mul_(m).add_(p.detach(), alpha=1.0 - m)

