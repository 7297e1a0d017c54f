"""The paper's frame-sampling rule (section 3.1.2), pure numpy and reusable on real clips.

Audio events are peaks of RMS energy in 0.1 s windows above a threshold (0.01). Each event
spans ~0.2 s; within it the sharpest frame (variance of the Laplacian, to avoid motion blur) is
the candidate. Events are ranked by RMS intensity and taken greedily, up to five per clip,
skipping any candidate within 0.7 s of one already taken, so frames spread over the clip.
"""

from __future__ import annotations

import numpy as np


def laplacian_sharpness(frame: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian of the grey image: high = sharp edges."""
    x = np.asarray(frame)
    if x.ndim == 3:  # integer sum of the channels: exact and fast; rescaled below
        x = x.astype(np.int32)
        g, scale = sum(x[..., c] for c in range(x.shape[2])), x.shape[2]
    else:
        g, scale = x.astype(np.float64), 1
    if g.shape[0] < 3 or g.shape[1] < 3:
        return 0.0
    lap = 4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
    return float(lap.var(dtype=np.float64)) / scale**2


def rms_windows(audio: np.ndarray, sample_rate: int, window_s: float = 0.1) -> np.ndarray:
    """RMS of consecutive non-overlapping windows (a trailing partial window counts if >= half)."""
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    win = max(1, int(round(window_s * sample_rate)))
    n = x.size // win + (1 if x.size % win >= win / 2 else 0)
    out = np.zeros(n)
    for k in range(n):
        seg = x[k * win:(k + 1) * win]
        out[k] = np.sqrt(np.mean(seg**2))
    return out


def audio_events(rms: np.ndarray, threshold: float) -> list[int]:
    """Windows that are local RMS maxima above ``threshold`` (a plateau counts once, at its end)."""
    padded = np.concatenate([[-np.inf], rms, [-np.inf]])
    return [k for k in range(rms.size)
            if rms[k] > threshold and padded[k + 1] >= padded[k] and padded[k + 1] > padded[k + 2]]


def _sharpest_in(centre_s: float, span_s: float, fps: float, sharpness: np.ndarray) -> int:
    eps = 1e-9
    lo = max(0, int(np.ceil((centre_s - span_s / 2) * fps - eps)))
    hi = min(sharpness.size - 1, int(np.floor((centre_s + span_s / 2) * fps + eps)))
    if hi < lo:  # very low frame rates: the nearest frame
        return int(min(sharpness.size - 1, max(0, round(centre_s * fps))))
    cand = np.arange(lo, hi + 1)
    # sharpest first; ties go to the frame closest to the event centre
    order = sorted(cand, key=lambda i: (-sharpness[i], abs(i / fps - centre_s), i))
    return int(order[0])


def select_annotation_frames(audio: np.ndarray, sample_rate: int, fps: float,
                             sharpness: np.ndarray, max_frames: int = 5,
                             min_gap_s: float = 0.7, window_s: float = 0.1,
                             rms_threshold: float = 0.01) -> list[int]:
    """Frames to annotate: sharpest frame of each loud audio event, spread >= ``min_gap_s``.

    ``sharpness[i]`` scores frame ``i`` (e.g. ``laplacian_sharpness``); its length is the
    clip's frame count. Returns sorted frame indices (empty for a silent clip).
    """
    sharp = np.asarray(sharpness, dtype=np.float64).reshape(-1)
    if sharp.size == 0 or max_frames <= 0:
        return []
    rms = rms_windows(audio, sample_rate, window_s)
    events = audio_events(rms, rms_threshold)
    events.sort(key=lambda k: (-rms[k], k))  # loudest first
    taken: list[int] = []
    for k in events:
        f = _sharpest_in((k + 0.5) * window_s, 2 * window_s, fps, sharp)
        if all(abs(f - g) / fps >= min_gap_s - 1e-9 for g in taken):
            taken.append(f)
            if len(taken) == max_frames:
                break
    return sorted(taken)
