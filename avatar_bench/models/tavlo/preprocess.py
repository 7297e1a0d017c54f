"""Numpy/PIL preprocessing shared by training samples and the adapter (no torch: it runs in
data-loader workers). Frames stay uint8 until the model normalises them on its device."""

from __future__ import annotations

import numpy as np
from PIL import Image

#: Training crop: resize to 1.1 x size, then a random size x size crop (EZ-VSL's recipe).
TRAIN_SCALE = 1.1


def resize_frames(frames: np.ndarray, size: int) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (T, size, size, 3) uint8, bilinear, aspect not kept (as the
    baselines do: the map then covers the whole frame)."""
    return np.stack([np.asarray(Image.fromarray(f).resize((size, size), Image.BILINEAR))
                     for f in frames])


def train_frames(frames: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """One random crop and flip shared by all T frames, so motion is not disturbed."""
    big = int(round(size * TRAIN_SCALE))
    x = resize_frames(frames, big)
    top, left = rng.integers(0, big - size + 1, size=2)
    x = x[:, top:top + size, left:left + size]
    if rng.random() < 0.5:
        x = x[:, :, ::-1]
    return np.ascontiguousarray(x)


def resample(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Linear-interpolation resampling (only used when a source's rate differs)."""
    if rate == target or audio.size == 0:
        return audio.astype(np.float32, copy=False)
    n = int(round(audio.size * target / rate))
    t = np.arange(n) * (rate / target)
    return np.interp(t, np.arange(audio.size), audio).astype(np.float32)


def audio_segment(audio: np.ndarray, start: int, stop: int) -> np.ndarray:
    """``audio[start:stop]`` with zeros where the range overhangs the clip."""
    out = np.zeros(stop - start, dtype=np.float32)
    lo, hi = max(start, 0), min(stop, audio.size)
    if hi > lo:
        out[lo - start:hi - start] = audio[lo:hi]
    return out
