"""Clips as in-memory arrays: the test clips of the benchmark and an unlabeled training stream.

Seeds: test clip ``i`` of benchmark seed ``s`` comes from ``SeedSequence(s, spawn_key=(0, i))``
and training clip ``j`` of stream seed ``s`` from ``SeedSequence(s, spawn_key=(1, j))``. The
spawn keys differ in their first word, so no training clip can reproduce a test clip whatever
the two seeds are.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from avatar_bench.data.mini import world, world_v2
from avatar_bench.data.mini.render import render_audio, render_frames

TEST_DOMAIN = 0
TRAIN_DOMAIN = 1
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


@dataclass
class Clip:
    """One clip: some rendered frames, the whole clip's audio, and the timing to align them."""

    clip_id: str
    frames: np.ndarray  # (T, H, W, 3) uint8, the frames listed in frame_indices
    frame_indices: np.ndarray  # (T,) int indices into the clip's full frame sequence
    n_frames_total: int
    fps: float
    audio: np.ndarray  # (S,) float32 mono in [-1, 1], the whole clip
    sample_rate: int


def clip_rng(seed: int, domain: int, index: int) -> np.random.Generator:
    """The generator of one clip; ``domain`` separates test (0) from training (1) clips."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(domain, index)))


def youtube_like_id(rng: np.random.Generator) -> str:
    """``<11 chars of [A-Za-z0-9_-]>_<5-digit start second>``, like real AVATAR ids."""
    chars = "".join(_ID_ALPHABET[i] for i in rng.integers(0, len(_ID_ALPHABET), size=11))
    return f"{chars}_{int(rng.integers(0, 300)) // 10 * 10:05d}"


#: World versions: 1 (the default benchmark) and 2 (docs/mini.md, "AVATAR-mini v2").
VERSIONS = (1, 2)


def check_version(version: int) -> int:
    if version not in VERSIONS:
        raise ValueError(f"unknown AVATAR-mini version {version!r}: expected one of {VERSIONS}")
    return version


def benchmark_scene(seed: int, index: int, version: int = 1) -> tuple[str, world.Scene]:
    """The id and scene of test clip ``index`` of benchmark seed ``seed``."""
    rng = clip_rng(seed, TEST_DOMAIN, index)
    clip_id = youtube_like_id(rng)
    if check_version(version) == 2:
        return clip_id, world_v2.build_scene(rng, *world_v2.kind_for(index))
    kind, variant = world.kind_for(index)
    return clip_id, world.build_scene(rng, kind, variant)


def train_scene(seed: int, index: int, version: int = 1) -> tuple[str, world.Scene]:
    """The id and scene of training clip ``index``: kinds drawn at random from the same mix."""
    rng = clip_rng(seed, TRAIN_DOMAIN, index)
    clip_id = youtube_like_id(rng)
    if check_version(version) == 2:
        return clip_id, world_v2.build_scene(rng, *world_v2.random_kind(rng))
    kind = str(rng.choice(world.KIND_CYCLE))
    variant = str(rng.choice(world.MIXED_VARIANTS)) if kind == "mixed" else ""
    return clip_id, world.build_scene(rng, kind, variant)


def frame_subset(n_total: int, k: int | None) -> np.ndarray:
    """``k`` evenly spaced frame indices (segment centres); all frames when ``k`` is None."""
    if k is None or k >= n_total:
        return np.arange(n_total)
    if k <= 0:
        raise ValueError("frames_per_clip must be positive")
    return ((np.arange(k) + 0.5) * n_total / k).astype(int)


def make_clip(clip_id: str, scene: world.Scene, frames_per_clip: int | None = None) -> Clip:
    """Render a scene's selected frames and its audio into a ``Clip``."""
    idx = frame_subset(world.N_FRAMES, frames_per_clip)
    return Clip(clip_id, render_frames(scene, idx), idx, world.N_FRAMES, world.FPS,
                render_audio(scene), world.SAMPLE_RATE)


def benchmark_clip(seed: int, index: int, frames_per_clip: int | None = None,
                   version: int = 1) -> Clip:
    """Test clip ``index`` of AVATAR-mini seed ``seed`` in memory (what the mp4 holds)."""
    return make_clip(*benchmark_scene(seed, index, version), frames_per_clip)


def training_clips(seed: int = 1, n_clips: int | None = None,
                   frames_per_clip: int | None = None, version: int = 1) -> Iterator[Clip]:
    """Unlabeled training clips from the AVATAR-mini world; infinite when ``n_clips`` is None.

    Never overlaps the test clips (distinct seed-sequence spawn keys), deterministic per seed;
    ``version`` picks the world (1 or 2).
    """
    check_version(version)
    indices = itertools.count() if n_clips is None else range(n_clips)
    for j in indices:
        yield make_clip(*train_scene(seed, j, version), frames_per_clip)
