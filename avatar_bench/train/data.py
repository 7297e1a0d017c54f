"""Training streams: clip sources, and the IterableDataset that turns clips into samples.

Decoding/rendering a clip and ``recipe.sample`` both run inside DataLoader worker processes.
Each (rank, worker) pair reads its own shard with its own seed, derived from
``(seed, rank, worker_id, start_step)``, so runs are reproducible, ranks see different data,
and a resumed run does not replay the clips it already trained on.

Three sources:

* ``MiniSource``: the endless AVATAR-mini training stream (``avatar_bench.data.mini``).
* ``FolderSource``: a folder of VGGSound-style ``.mp4`` clips, optionally selected by a list
  of ids (file stems), decoded with PyAV.
* ``SyntheticSource``: tiny generated clips (a square that pulses with a tone's envelope) for
  tests and benchmarks; needs no files.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from torch.utils.data import IterableDataset, get_worker_info

from avatar_bench.errors import AvatarBenchError


def _clip_type():
    from avatar_bench.data.mini import Clip

    return Clip


def choose_frames(recipe: Any, n_frames: int, fps: float,
                  rng: np.random.Generator) -> list[int]:
    """Which frames of a clip to decode: the recipe's ``select_frames`` hook when it has one,
    else all (``frames_per_clip=None``), else that many distinct random frames."""
    select = getattr(recipe, "select_frames", None)
    if select is not None:
        return sorted(set(select(n_frames, fps, rng)))
    k = recipe.frames_per_clip
    if k is None or k >= n_frames:
        return list(range(n_frames))
    return sorted(rng.choice(n_frames, size=k, replace=False).tolist())


def derived_seed(*parts: int) -> int:
    """A 31-bit seed from several integers (stable across platforms and Python runs)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0] >> 1)


class ClipSource(Protocol):
    """An endless stream of clips for one shard of the data."""

    def clips(self, seed: int, shard: int, n_shards: int, recipe: Any,
              rng: np.random.Generator) -> Iterator[Any]: ...


# --------------------------------------------------------------------------- sources
@dataclass
class MiniSource:
    """AVATAR-mini's generated training clips; shards differ by seed (the world is endless).
    ``version`` picks the world (1: ``mini``, 2: ``mini-v2``)."""

    def __init__(self, version: int = 1) -> None:
        self.version = version

    def clips(self, seed: int, shard: int, n_shards: int, recipe: Any,
              rng: np.random.Generator) -> Iterator[Any]:
        from avatar_bench.data.mini import training_clips

        yield from training_clips(seed=seed, n_clips=None,
                                  frames_per_clip=recipe.frames_per_clip, version=self.version)


def read_clip_list(path: str | os.PathLike) -> list[str]:
    """Ids one per line (``.mp4`` suffix, blank lines and ``#`` comments ignored)."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise AvatarBenchError(f"{path}: cannot read the clip list: {exc}") from exc
    ids = [ln.strip().removesuffix(".mp4") for ln in lines]
    return [i for i in ids if i and not i.startswith("#")]


@dataclass
class FolderSource:
    """``*.mp4`` files under ``root`` (recursive); with ``clip_list``, only those stems.

    Unreadable clips, clips without audio, and listed ids with no file raise by default;
    with ``skip_bad`` they are skipped, warned about on stderr and counted in ``bad``
    (a shared counter, so the main process sees the workers' counts).
    """

    root: str
    clip_list: str | None = None
    skip_bad: bool = False
    files: list[str] = field(default_factory=list, init=False)
    missing: list[str] = field(default_factory=list, init=False)
    bad: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        root = Path(self.root)
        if not root.is_dir():
            raise AvatarBenchError(f"--data-dir {root} is not a folder")
        by_stem: dict[str, Path] = {}
        for path in sorted(root.rglob("*.mp4")):
            by_stem.setdefault(path.stem, path)
        if self.clip_list is not None:
            ids = read_clip_list(self.clip_list)
            self.missing = [i for i in ids if i not in by_stem]
            chosen = [by_stem[i] for i in ids if i in by_stem]
            if self.missing and not self.skip_bad:
                raise AvatarBenchError(
                    f"{len(self.missing)} of {len(ids)} ids in {self.clip_list} have no "
                    f"<id>.mp4 under {root} (use --skip-bad to train on the rest)",
                    self.missing[:10])
        else:
            chosen = list(by_stem.values())
        if not chosen:
            raise AvatarBenchError(f"no usable .mp4 clips under {root}"
                                   + (f" for the ids in {self.clip_list}" if self.clip_list
                                      else ""))
        self.files = [str(p) for p in chosen]
        self.bad = mp.get_context().Value("i", 0)

    def load(self, path: str, recipe: Any, rng: np.random.Generator) -> Any:
        """Decode one file into a Clip (frames chosen by ``choose_frames``)."""
        from avatar_bench.data import media

        info = media.probe(Path(path))
        if not info.has_audio:
            raise AvatarBenchError(f"{path}: the clip has no audio track")
        if info.n_frames <= 0:
            raise AvatarBenchError(f"{path}: the clip has no video frames")
        indices = choose_frames(recipe, info.n_frames, info.fps, rng)
        frames = media.read_frames(Path(path), indices)
        rate = getattr(recipe, "sample_rate", None) or info.sample_rate or 16000
        audio = media.read_audio(Path(path), int(rate))
        if audio.size == 0:
            raise AvatarBenchError(f"{path}: the audio track is empty")
        return _clip_type()(
            clip_id=Path(path).stem, frames=np.stack([frames[i] for i in indices]),
            frame_indices=np.asarray(indices, dtype=np.int64), n_frames_total=info.n_frames,
            fps=info.fps, audio=audio, sample_rate=int(rate))

    def clips(self, seed: int, shard: int, n_shards: int, recipe: Any,
              rng: np.random.Generator) -> Iterator[Any]:
        mine = self.files[shard::n_shards] or self.files   # fewer files than shards: share
        while True:
            yielded = 0
            for k in rng.permutation(len(mine)):
                try:
                    clip = self.load(mine[k], recipe, rng)
                except AvatarBenchError as exc:
                    if not self.skip_bad:
                        raise
                    with self.bad.get_lock():
                        self.bad.value += 1
                    print(f"warning: skipping {mine[k]}: {exc}", file=sys.stderr)
                    continue
                yielded += 1
                yield clip
            if not yielded:
                raise AvatarBenchError(f"every clip of this data shard was unreadable "
                                       f"({len(mine)} files under {self.root})")

    @property
    def bad_count(self) -> int:
        return int(self.bad.value) + len(self.missing)


@dataclass
class SyntheticSource:
    """Generated clips: noise, two identical squares; the one whose size pulses with the
    tone's envelope is the sound source. Cheap, deterministic, file-free."""

    height: int = 72
    width: int = 128
    fps: float = 20.0
    seconds: float = 2.0
    sample_rate: int = 16000

    def make(self, rng: np.random.Generator, recipe: Any, clip_id: str) -> Any:
        n = int(round(self.fps * self.seconds))
        samples = int(round(self.seconds * self.sample_rate))
        t_audio = np.arange(samples) / self.sample_rate
        rate, freq = rng.uniform(1.0, 4.0), rng.uniform(200.0, 2000.0)
        phase = rng.uniform(0, 2 * np.pi)
        envelope = 0.5 + 0.5 * np.sin(2 * np.pi * rate * t_audio + phase)
        audio = (0.5 * envelope * np.sin(2 * np.pi * freq * t_audio)
                 + 0.01 * rng.standard_normal(samples)).astype(np.float32)
        indices = choose_frames(recipe, n, self.fps, rng)
        color = rng.integers(64, 256, size=3)
        centers = rng.uniform(0.2, 0.8, size=(2, 2)) * (self.height, self.width)
        frames = rng.integers(0, 64, size=(len(indices), self.height, self.width, 3),
                              dtype=np.uint8)
        yy, xx = np.mgrid[:self.height, :self.width]
        for k, f in enumerate(indices):
            env = 0.5 + 0.5 * np.sin(2 * np.pi * rate * f / self.fps + phase)
            for s, (cy, cx) in enumerate(centers):
                half = self.height * (0.06 + (0.08 * env if s == 0 else 0.04))
                box = (np.abs(yy - cy) <= half) & (np.abs(xx - cx) <= half)
                frames[k][box] = color
        return _clip_type()(
            clip_id=clip_id, frames=frames, frame_indices=np.asarray(indices, dtype=np.int64),
            n_frames_total=n, fps=self.fps, audio=audio, sample_rate=self.sample_rate)

    def clips(self, seed: int, shard: int, n_shards: int, recipe: Any,
              rng: np.random.Generator) -> Iterator[Any]:
        local = np.random.default_rng(seed)
        k = 0
        while True:
            yield self.make(local, recipe, f"synthetic-{seed}-{k}")
            k += 1


# --------------------------------------------------------------------------- dataset
class ClipSampleStream(IterableDataset):
    """Endless samples ``recipe.sample(clip, rng)`` from one source, sharded by rank/worker."""

    def __init__(self, source: ClipSource, recipe: Any, seed: int = 0, rank: int = 0,
                 world_size: int = 1, start_step: int = 0) -> None:
        super().__init__()
        self.source, self.recipe = source, recipe
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.start_step = start_step

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        info = get_worker_info()
        worker, n_workers = (info.id, info.num_workers) if info else (0, 1)
        shard = self.rank * n_workers + worker
        parts = (self.seed, self.rank, worker, self.start_step)
        rng = np.random.default_rng(np.random.SeedSequence(list(parts)))
        clips = self.source.clips(derived_seed(*parts), shard, self.world_size * n_workers,
                                  self.recipe, rng)
        for clip in clips:
            yield self.recipe.sample(clip, rng)


def make_source(data: str = "mini", data_dir: str | None = None, clip_list: str | None = None,
                skip_bad: bool = False) -> ClipSource:
    """The source named by the CLI flags."""
    if data_dir is not None:
        return FolderSource(data_dir, clip_list, skip_bad)
    if clip_list is not None:
        raise AvatarBenchError("--clip-list needs --data-dir (the folder holding the clips)")
    if data == "mini":
        return MiniSource()
    if data == "mini-v2":
        return MiniSource(version=2)
    if data == "synthetic":
        return SyntheticSource()
    raise AvatarBenchError(f"unknown training data {data!r}: expected 'mini', 'mini-v2', "
                           "'synthetic', or --data-dir DIR")
