"""Motion predictors: hand cases, a slow reference, and what they show on AVATAR-mini."""

import numpy as np
import pytest

from avatar_bench.errors import AvatarBenchError
from avatar_bench.models import create
from avatar_bench.models.motion import frame_loudness, motion_maps, window_indices
from avatar_bench.models.reference import MAP_SIZE


def test_window_indices_clip_at_the_edges():
    assert window_indices(50, 100, 20.0, 0.4) == list(range(42, 59))
    assert window_indices(2, 100, 20.0, 0.4) == list(range(0, 11))
    assert window_indices(99, 100, 20.0, 0.4) == list(range(91, 100))


def test_frame_loudness_is_the_rms_between_frames():
    rate, fps = 100, 10.0
    audio = np.concatenate([np.full(10, 0.5), np.full(10, -2.0), np.zeros(10)]).astype(np.float32)
    # frames 0,1: samples [0, 20) -> rms of 10 x 0.5 and 10 x 2; frames 1,2: [10, 30)
    got = frame_loudness(audio, rate, fps, [0, 1, 2])
    assert got == pytest.approx([np.sqrt((10 * 0.25 + 10 * 4) / 20), np.sqrt(40 / 20)])


def _two_blocks(loud: np.ndarray, other: np.ndarray) -> list[np.ndarray]:
    """Block A's brightness jumps by ``loud[k]`` between frames k and k+1, block B's by
    ``other[k]`` (alternating up and down, so both stay bounded)."""
    frames, a, b = [np.zeros(MAP_SIZE, np.float32)], 0.0, 0.0
    for k in range(len(loud)):
        sign = 1.0 if k % 2 == 0 else -1.0
        a, b = a + sign * loud[k], b + sign * other[k]
        f = np.zeros(MAP_SIZE, np.float32)
        f[10:20, 10:20] = a
        f[60:70, 100:110] = b
        frames.append(f)
    return frames


def test_sync_map_picks_the_block_moving_with_the_sound():
    rng = np.random.default_rng(0)
    loud = rng.uniform(0, 1, 16)
    other = rng.permutation(loud)                 # same motion energy, other timing
    frames = _two_blocks(loud, other)
    energy = motion_maps(frames, None, smooth_px=1)
    sync = motion_maps(frames, loud, smooth_px=1)
    assert energy[15, 15] == pytest.approx(energy[65, 105], rel=1e-6)   # motion can't tell
    # covariance of the standardised loudness with itself: exactly its standard deviation
    assert sync[15, 15] == pytest.approx(loud.std(), rel=1e-4)
    assert sync[15, 15] > 2 * abs(sync[65, 105])
    assert sync[40, 40] == 0.0


def test_sync_map_matches_a_slow_reference():
    rng = np.random.default_rng(1)
    frames = [rng.uniform(0, 255, MAP_SIZE).astype(np.float32) for _ in range(6)]
    loud = rng.uniform(0, 1, 5)
    got = motion_maps(frames, loud, smooth_px=1)
    z = (loud - loud.mean()) / loud.std()
    for y, x in [(0, 0), (45, 80), (89, 159)]:
        ref = sum(z[k] * abs(float(frames[k + 1][y, x]) - float(frames[k][y, x]))
                  for k in range(5)) / 5
        assert got[y, x] == pytest.approx(ref, rel=1e-4, abs=1e-4)
    assert not motion_maps(frames, np.full(5, 0.3)).any()   # constant sound: no evidence


def test_options_are_checked():
    with pytest.raises(AvatarBenchError, match="motion-sync.*has no checkpoint"):
        create("motion-sync", checkpoint="x.pth")
    with pytest.raises(AvatarBenchError, match="unknown option"):
        create("motion", frames=3)
