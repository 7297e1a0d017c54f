"""Decoding clips with PyAV: stream facts, video frames by index, mono resampled audio."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from avatar_bench.errors import AvatarBenchError


@dataclass(frozen=True)
class VideoInfo:
    """What the index needs to know about one clip file."""

    path: str
    fps: float
    n_frames: int
    width: int
    height: int
    has_audio: bool
    sample_rate: int | None


def _open(path: Path):
    try:
        return av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise AvatarBenchError(f"{path}: cannot open video: {exc}") from exc


def probe(path: Path) -> VideoInfo:
    """Read a clip's header: real fps (frame timestamps come from it), size, audio presence."""
    with _open(path) as container:
        if not container.streams.video:
            raise AvatarBenchError(f"{path}: no video stream")
        vs = container.streams.video[0]
        rate = vs.average_rate or vs.guessed_rate or Fraction(25)
        n_frames = vs.frames
        if not n_frames and vs.duration is not None and vs.time_base is not None:
            n_frames = int(round(float(vs.duration * vs.time_base) * float(rate)))
        audio = container.streams.audio
        return VideoInfo(
            path=str(path),
            fps=float(rate),
            n_frames=int(n_frames or 0),
            width=int(vs.codec_context.width),
            height=int(vs.codec_context.height),
            has_audio=bool(audio),
            sample_rate=int(audio[0].codec_context.sample_rate) if audio else None,
        )


def read_frames(path: Path, indices: list[int]) -> dict[int, np.ndarray]:
    """Decode the frames at ``indices`` (0-based, in decode order) as HxWx3 uint8 RGB.

    Decodes sequentially once: clips are short (10 s) and seeking in H.264 is not
    frame-exact, so a linear pass is both simpler and correct.
    """
    wanted = set(indices)
    out: dict[int, np.ndarray] = {}
    if not wanted:
        return out
    last = max(wanted)
    with _open(path) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i in wanted:
                out[i] = frame.to_ndarray(format="rgb24")
            if i >= last:
                break
    missing = sorted(wanted - set(out))
    if missing:
        raise AvatarBenchError(
            f"{path}: clip has only {i + 1 if out or wanted else 0} decodable frames; "
            f"frame index {missing[0]} does not exist"
        )
    return out


def read_audio(path: Path, sample_rate: int = 16000) -> np.ndarray:
    """Decode the whole audio track as mono float32 at ``sample_rate``.

    Mono tracks are resampled straight to mono float. Tracks with several channels are
    resampled per channel and then averaged with equal weights, (L + R) / 2 for stereo: the
    downmix the baselines' official loaders get (they ask FFmpeg for 16-bit mono, whose
    rematrixing is normalised to unit gain). Asking FFmpeg for *float* mono instead would mix
    stereo as (L + R) / sqrt(2), 3 dB louder than theirs. A stereo track with two equal
    channels therefore decodes to exactly the samples of its mono twin.
    """
    with _open(path) as container:
        if not container.streams.audio:
            raise AvatarBenchError(
                f"{path}: the clip has no audio track; audio-visual models need one "
                "(re-encode the clip with its sound, or drop it from the evaluation list)"
            )
        stream = container.streams.audio[0]
        n_channels = int(stream.codec_context.channels or 1)
        if n_channels == 1:
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        else:
            resampler = av.AudioResampler(format="fltp", layout=stream.codec_context.layout,
                                          rate=sample_rate)
        chunks = []
        for frame in container.decode(audio=0):
            chunks.extend(_to_mono(out) for out in resampler.resample(frame))
        chunks.extend(_to_mono(out) for out in resampler.resample(None))
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32, copy=False)


def _to_mono(frame: av.AudioFrame) -> np.ndarray:
    """One resampled frame as a 1-D float32 array: channels averaged with equal weights."""
    data = frame.to_ndarray()
    if frame.format.is_planar and data.shape[0] > 1:
        if data.shape[0] == 2:      # (L + R) / 2 in float32: exact for equal channels
            return (data[0] + data[1]) * np.float32(0.5)
        return data.mean(axis=0, dtype=np.float64).astype(np.float32)
    return data.reshape(-1)
