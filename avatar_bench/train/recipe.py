"""The contract between a model's training recipe and the shared trainer.

A recipe knows its model, how to turn one raw training clip into one sample (run inside
data-loader workers, numpy only), its loss, and its checkpoint layout (the official one for
the baselines, so our checkpoints and theirs are interchangeable). The trainer owns the loop,
devices, AMP, DDP, progress, checkpoint files and resume.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from avatar_bench.data.mini import Clip


class Recipe(ABC):
    """One trainable model family (EZ-VSL, SLAVC, SSL-TIE, TAVLO)."""

    name: ClassVar[str] = ""
    #: Frames the training stream should decode/render per clip (None = every frame).
    frames_per_clip: ClassVar[int | None] = 1

    def __init__(self, **config: Any) -> None:
        self.config = config

    @abstractmethod
    def build_model(self) -> nn.Module:
        """A freshly initialised model (ImageNet init when the config names a weights file)."""

    @abstractmethod
    def sample(self, clip: Clip, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """One training sample from one clip (e.g. a frame + its audio window)."""

    @abstractmethod
    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The published objective on a collated batch; a scalar tensor."""

    def optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        return torch.optim.Adam(model.parameters(), lr=float(self.config.get("lr", 1e-4)))

    def after_step(self, model: nn.Module) -> None:  # noqa: B027 - optional hook
        """Hook after each optimiser step (SLAVC's momentum-encoder update)."""

    def checkpoint(self, model: nn.Module, optimizer: torch.optim.Optimizer, step: int) -> dict:
        """The checkpoint dict to save; override with the official layout."""
        return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step}

    def restore(self, model: nn.Module, optimizer: torch.optim.Optimizer | None,
                ckpt: dict) -> int:
        """Load a checkpoint written by ``checkpoint``; return the step to resume from."""
        model.load_state_dict(ckpt["model"])
        if optimizer is not None and "optimizer" in ckpt:
            optimizer.load_state_dict(ckpt["optimizer"])
        return int(ckpt.get("step", 0))
