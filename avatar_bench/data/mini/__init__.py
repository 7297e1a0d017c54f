"""AVATAR-mini: a small synthetic audio-visual benchmark in the real AVATAR layout.

Generated deterministically from a seed and cached; read with the same ``AvatarDataset`` as
the real data. See ``docs/mini.md`` for the world, the scenarios and the clip format.
"""

from __future__ import annotations

from avatar_bench.data.mini.generate import GEN_VERSION, ensure_mini, generate_mini
from avatar_bench.data.mini.sampling import laplacian_sharpness, select_annotation_frames
from avatar_bench.data.mini.stream import Clip, training_clips
from avatar_bench.data.mini.world import CATEGORIES

__all__ = [
    "CATEGORIES", "GEN_VERSION", "Clip", "ensure_mini", "generate_mini",
    "laplacian_sharpness", "select_annotation_frames", "training_clips",
]
