"""Does a trained TAVLO listen? The audio-reliance probe behind docs/tavlo.md.

A localizer must answer differently when it hears a different sound. The probe runs the same
windows twice, once with their own audio and once with the audio of another window in the
batch, and compares the positive response the loss rewards (max over locations of
cos(A'(t), V'(t))). When the two are equal the model solves its objective without the audio:
with the paper's cross-modal spatial attention the audio token reads its own frame, so it can
match each frame to itself (the shortcut measured in docs/tavlo.md).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

from avatar_bench.models.tavlo.model import TAVLO, localization_maps


def _positive(a: torch.Tensor, v: torch.Tensor, grid: int) -> torch.Tensor:
    """(B,) mean over t of the map's peak: max over locations of cos(A'_i(t), V'_i(t, loc))."""
    return localization_maps(a, v, grid).flatten(2).amax(dim=-1).mean(dim=-1)


@torch.no_grad()
def audio_reliance(model: TAVLO, frames: torch.Tensor, audio: torch.Tensor) -> dict[str, float]:
    """Positive responses of B >= 2 windows: ``own`` (own frames, own audio),
    ``swapped_audio`` (own frames, window i-1's audio run through the model in their place),
    ``other_frames`` (own audio's A' against window i-1's V', what a negative sees) and
    ``reliance`` = own - swapped_audio (0: the maps do not depend on what is heard)."""
    if frames.shape[0] < 2:
        raise ValueError("audio_reliance needs at least 2 windows to swap audio between")
    was_training = model.training
    model.eval()
    try:
        a, v = model(frames, audio)
        a_swap, v_swap = model(frames, audio.roll(1, dims=0))
    finally:
        model.train(was_training)
    grid = model.cfg.grid
    own = _positive(a, v, grid).mean().item()
    swapped = _positive(a_swap, v_swap, grid).mean().item()
    other = _positive(a, v.roll(1, dims=0), grid).mean().item()
    return {"own": own, "swapped_audio": swapped, "other_frames": other,
            "reliance": own - swapped}


def stack_windows(samples: Iterable[dict[str, np.ndarray]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Recipe samples (``frames``, ``audio``) -> batched tensors for ``audio_reliance``."""
    samples = list(samples)
    frames = torch.from_numpy(np.stack([s["frames"] for s in samples]))
    audio = torch.from_numpy(np.stack([s["audio"] for s in samples]))
    return frames, audio
