"""Hand-made motion predictors (no learning, numpy only): is a scenario's cue in the input?

``motion`` marks where pixels change around the frame; ``motion-sync`` marks where they
change *in step with the loudness of the audio*. On AVATAR-mini every sounding object
vibrates with its own loudness, but so do the silent twins of a Multi-entity clip (with
sounds that are never played), so ``motion`` cannot tell twins apart and ``motion-sync`` can.
Their gap on Multi-entity measures how much a model can gain from audio-visual synchrony over
a window, the cue the paper credits TAVLO's temporal modelling with; when a trained model
scores far below ``motion-sync`` there, the information was in its input and the model did
not learn to use it. On real video these are weak priors (camera motion moves everything).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby

import numpy as np
from PIL import Image
from scipy.ndimage import uniform_filter

from avatar_bench.data.annotations import Frame
from avatar_bench.data.index import AvatarDataset
from avatar_bench.models.reference import MAP_SIZE, ReferenceAdapter

#: Audio is read at this rate; loudness is an RMS, so any common rate would do.
SAMPLE_RATE = 16000


def gray_small(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (90, 160) float32 luminance, the map grid."""
    img = Image.fromarray(rgb).convert("L").resize(MAP_SIZE[::-1], Image.BILINEAR)
    return np.asarray(img, np.float32)


def window_indices(center: int, n_frames: int, fps: float, half_s: float) -> list[int]:
    """Consecutive frames within ``half_s`` seconds of ``center``, clipped to the clip."""
    k = max(1, int(round(half_s * fps)))
    return list(range(max(center - k, 0), min(center + k, n_frames - 1) + 1))


def frame_loudness(audio: np.ndarray, rate: int, fps: float, indices: list[int]) -> np.ndarray:
    """RMS of the audio between each pair of consecutive frames in ``indices``."""
    out = []
    for a, b in zip(indices[:-1], indices[1:], strict=True):
        lo, hi = int(round(a / fps * rate)), int(round((b + 1) / fps * rate))
        seg = audio[max(lo, 0):max(min(hi, audio.size), 0)]
        out.append(float(np.sqrt(np.mean(seg.astype(np.float64) ** 2))) if seg.size else 0.0)
    return np.asarray(out)


def motion_maps(frames: list[np.ndarray], loudness: np.ndarray | None,
                smooth_px: int = 5) -> np.ndarray:
    """Mean absolute frame difference per pixel (``loudness`` None), or its covariance with
    the standardised loudness over the window (0 where the loudness is constant)."""
    diffs = np.stack([np.abs(b - a) for a, b in zip(frames[:-1], frames[1:], strict=True)])
    if loudness is None:
        out = diffs.mean(axis=0)
    else:
        std = loudness.std()
        if std < 1e-9:                               # constant sound (or one step): no evidence
            return np.zeros(MAP_SIZE, np.float32)
        z = (loudness - loudness.mean()) / std
        out = np.tensordot(z, diffs, axes=1) / len(z)
    return uniform_filter(out, size=smooth_px, mode="nearest").astype(np.float32)


class MotionEnergy(ReferenceAdapter):
    """Where pixels change in the 0.8 s around the frame (no audio)."""

    name = "motion"
    description = "Frame-difference energy over 0.8 s around the frame; no audio, no learning"
    HALF_WINDOW_S = 0.4
    uses_audio = False

    def _video_maps(self, dataset: AvatarDataset, video_id: str,
                    frames: list[Frame]) -> dict[str, np.ndarray]:
        info = dataset.video_info(video_id)
        windows = {f.key: window_indices(f.frame, info.n_frames, info.fps, self.HALF_WINDOW_S)
                   for f in frames}
        needed = sorted({i for w in windows.values() for i in w})
        gray = {i: gray_small(rgb) for i, rgb in dataset.clip_frames(video_id, needed).items()}
        audio = dataset.audio(video_id, SAMPLE_RATE) if self.uses_audio else None
        out = {}
        for key, idx in windows.items():
            loud = frame_loudness(audio, SAMPLE_RATE, info.fps, idx) if audio is not None else None
            out[key] = motion_maps([gray[i] for i in idx], loud)
        return out

    def predict(self, dataset: AvatarDataset, frames: list[Frame]
                ) -> Iterator[tuple[str, np.ndarray]]:
        """In the caller's order, one run of same-video frames at a time (memory stays at one
        clip; a video split over several runs is decoded once per run)."""
        for video_id, run in groupby(frames, key=lambda f: f.video_id):
            run = list(run)
            maps = self._video_maps(dataset, video_id, run)
            for f in run:
                yield f.key, maps[f.key]


class MotionSync(MotionEnergy):
    """Where pixels change in step with the audio's loudness over 0.8 s around the frame."""

    name = "motion-sync"
    description = ("Covariance of frame-difference energy with audio loudness over 0.8 s; "
                   "no learning")
    uses_audio = True
