"""The paper's frame-sampling rule on hand-made signals with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from avatar_bench.data.mini import laplacian_sharpness, select_annotation_frames
from avatar_bench.data.mini.sampling import audio_events, rms_windows

SR, FPS, DUR = 8000, 20.0, 5.0
WIN = int(0.1 * SR)
N_FRAMES = int(DUR * FPS)


def bursts(*spec: tuple[int, float]) -> np.ndarray:
    """A 5 s signal with a 440 Hz burst filling each given 0.1 s window at the given amplitude."""
    x = np.zeros(int(DUR * SR), np.float32)
    t = np.arange(WIN) / SR
    for k, amp in spec:
        x[k * WIN:(k + 1) * WIN] = amp * np.sin(2 * np.pi * 440 * t)
    return x


def flat() -> np.ndarray:
    return np.ones(N_FRAMES)


def select(audio: np.ndarray, sharp: np.ndarray | None = None, **kw) -> list[int]:
    return select_annotation_frames(audio, SR, FPS, flat() if sharp is None else sharp, **kw)


def test_rms_windows_and_peaks():
    x = bursts((3, 0.5), (7, 0.2))
    rms = rms_windows(x, SR)
    assert rms.size == 50
    assert rms[3] == pytest.approx(0.5 / np.sqrt(2), rel=1e-3)
    assert rms[7] == pytest.approx(0.2 / np.sqrt(2), rel=1e-3)
    assert audio_events(rms, 0.01) == [3, 7]
    assert audio_events(rms, 0.2) == [3]


def test_known_peaks_give_the_event_centre_frames():
    # windows 10, 25, 40 are centred at 1.05, 2.55, 4.05 s -> frames 21, 51, 81 (flat sharpness)
    assert select(bursts((10, 0.5), (25, 0.4), (40, 0.3))) == [21, 51, 81]


def test_sharpest_frame_within_the_event_span_is_chosen():
    sharp = flat()
    sharp[23] = 10.0  # inside [0.95, 1.15] s = frames 19..23
    sharp[24] = 100.0  # sharper, but outside the event's 0.2 s span
    sharp[19] = 5.0
    assert select(bursts((10, 0.5)), sharp) == [23]


def test_min_gap_excludes_the_quieter_nearby_event():
    # 1.05 s (loud) and 1.45 s (quiet): 0.4 s apart -> only the loud one
    assert select(bursts((10, 0.5), (14, 0.3))) == [21]
    # ranking is by intensity, not time: the later, louder event wins
    assert select(bursts((10, 0.3), (14, 0.5))) == [29]
    # exactly 0.7 s apart (frames 21 and 35) is allowed
    assert select(bursts((10, 0.5), (17, 0.3))) == [21, 35]
    assert select(bursts((10, 0.5), (17, 0.3)), min_gap_s=0.8) == [21]


def test_at_most_max_frames_keeping_the_loudest():
    spec = [(k, 0.1 + 0.05 * j) for j, k in enumerate((2, 10, 18, 26, 34, 42))]
    got = select(bursts(*spec))
    assert len(got) == 5
    assert 5 not in got  # window 2 (0.25 s -> frame 5) is the quietest
    assert got == sorted(got)
    assert select(bursts(*spec), max_frames=2) == [69, 85]


def test_silence_and_sub_threshold_audio_give_nothing():
    assert select(np.zeros(int(DUR * SR), np.float32)) == []
    assert select(bursts((10, 0.01))) == []  # RMS 0.007 < 0.01
    assert select(np.zeros(0, np.float32)) == []
    assert select(bursts((10, 0.5)), max_frames=0) == []


def test_laplacian_sharpness_prefers_edges():
    rng = np.random.default_rng(0)
    sharp = rng.integers(0, 256, size=(40, 60, 3)).astype(np.uint8)
    blurred = ((sharp[:-1].astype(float) + sharp[1:]) / 2).astype(np.uint8)
    assert laplacian_sharpness(sharp) > 2 * laplacian_sharpness(blurred)
    assert laplacian_sharpness(np.full((10, 10, 3), 77, np.uint8)) == 0.0
    assert laplacian_sharpness(np.zeros((2, 2), np.uint8)) == 0.0
