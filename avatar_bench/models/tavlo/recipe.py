"""TAVLO's training recipe: a T-frame window + its audio span per clip, the frame-level loss.

Recipe options (``TAVLORecipe(**options)``): ``config`` (preset name, JSON path, dict or
``TAVLOConfig``; default ``"default"``), ``lr`` (Adam, default 1e-4) and ``weight_decay``
(default 0), plus any ``TAVLOConfig`` field as an override.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from avatar_bench.errors import AvatarBenchError
from avatar_bench.models.tavlo.config import (
    TAVLOConfig,
    audio_window,
    frame_window,
    load_config,
)
from avatar_bench.models.tavlo.loss import frame_mil_loss
from avatar_bench.models.tavlo.model import TAVLO
from avatar_bench.models.tavlo.preprocess import audio_segment, resample, train_frames
from avatar_bench.train.recipe import Recipe

_FIELDS = {f.name for f in fields(TAVLOConfig)}


class TAVLORecipe(Recipe):
    name: ClassVar[str] = "tavlo"
    #: Every frame: the AVATAR-mini stream renders a clip in ~0.1 s, and the window is chosen
    #: in ``sample``. Folder clips decode only the window (``select_frames``).
    frames_per_clip: ClassVar[int | None] = None
    #: Every parameter takes part in the loss: DDP needs no unused-parameter search.
    ddp_find_unused_parameters: ClassVar[bool] = False

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        overrides = {k: v for k, v in options.items() if k in _FIELDS}
        self.model_config = load_config(options.get("config", "default"), **overrides)

    @property
    def sample_rate(self) -> int:
        return self.model_config.sample_rate

    def build_model(self) -> nn.Module:
        return TAVLO(self.model_config)

    # ---------------------------------------------------------------- data
    def select_frames(self, n_frames: int, fps: float, rng: np.random.Generator) -> list[int]:
        """The window to decode from a file: T frames around a uniformly drawn centre."""
        idx, _, _ = frame_window(int(rng.integers(n_frames)), n_frames, fps, self.model_config)
        return idx

    def sample(self, clip: Any, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``frames`` (T, S, S, 3) uint8 and ``audio`` (samples,) float32 of one window.

        A clip with more than T frames gets a random window (centre drawn uniformly); a clip
        already cut to a window (<= T frames) is used as is, padded by repeating its last
        frame.
        """
        cfg = self.model_config
        have = np.asarray(clip.frame_indices)
        if len(have) > cfg.frames:
            center = int(have[rng.integers(len(have))])
            want, _, first_time = frame_window(center, clip.n_frames_total, clip.fps, cfg)
            pos = np.abs(have[None, :] - np.asarray(want)[:, None]).argmin(axis=1)
        else:
            pos = np.minimum(np.arange(cfg.frames), len(have) - 1)
            first_time = float(have[0]) / clip.fps
        frames = train_frames(np.asarray(clip.frames)[pos], cfg.image_size, rng)
        audio = resample(np.asarray(clip.audio), clip.sample_rate, cfg.sample_rate)
        start, stop = audio_window(first_time, cfg)
        return {"frames": frames, "audio": audio_segment(audio, start, stop)}

    # ---------------------------------------------------------------- loss
    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        a, v = model(batch["frames"], batch["audio"])
        return frame_mil_loss(a, v, self.model_config.temperature,
                              self.model_config.negative_pool)

    def optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        return torch.optim.Adam(model.parameters(), lr=float(self.config.get("lr", 1e-4)),
                                weight_decay=float(self.config.get("weight_decay", 0.0)))

    # ---------------------------------------------------------- checkpoint
    def checkpoint(self, model: nn.Module, optimizer: torch.optim.Optimizer, step: int) -> dict:
        """``{"arch", "config", "model", "optimizer", "step"}``; the config rebuilds the model."""
        return {"arch": "tavlo", "config": self.model_config.to_dict(),
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "step": step}

    def restore(self, model: nn.Module, optimizer: torch.optim.Optimizer | None,
                ckpt: dict) -> int:
        """Refuse a checkpoint of another config (a clear message, not a size mismatch)."""
        saved = ckpt.get("config")
        if saved is not None and saved != self.model_config.to_dict():
            mine = self.model_config.to_dict()
            diff = [f"{k}: checkpoint {saved.get(k)!r} vs requested {mine.get(k)!r}"
                    for k in sorted(set(saved) | set(mine)) if saved.get(k) != mine.get(k)]
            raise AvatarBenchError("the checkpoint was trained with another TAVLO config; "
                                   "resume with the same --config", diff)
        getattr(model, "module", model).load_state_dict(
            {k.removeprefix("module."): v for k, v in ckpt["model"].items()})
        if optimizer is not None and "optimizer" in ckpt:
            optimizer.load_state_dict(ckpt["optimizer"])
        return int(ckpt.get("step", 0))


def load_model(ckpt: dict | str, map_location: str | torch.device = "cpu") -> TAVLO:
    """A TAVLO model rebuilt from a checkpoint written by ``TAVLORecipe.checkpoint``."""
    if not isinstance(ckpt, dict):
        path = ckpt
        try:
            ckpt = torch.load(path, map_location=map_location, weights_only=True)
        except (OSError, RuntimeError) as exc:
            raise AvatarBenchError(f"{path}: cannot read TAVLO checkpoint: {exc}") from exc
        if not isinstance(ckpt, dict) or ckpt.get("arch") != "tavlo" or "model" not in ckpt:
            raise AvatarBenchError(f"{path}: not a TAVLO checkpoint (expected keys 'arch': "
                                   "'tavlo', 'config', 'model'; write one with "
                                   "`avatar-bench train --model tavlo`)")
    cfg = TAVLOConfig.from_dict(ckpt["config"])
    model = TAVLO(cfg)
    model.load_state_dict({k.removeprefix("module."): v for k, v in ckpt["model"].items()})
    return model
