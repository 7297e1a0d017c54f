"""TAVLO's windows (frames at the model's stride + their audio span) and training samples."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("torch")

from avatar_bench.errors import AvatarBenchError  # noqa: E402
from avatar_bench.models.tavlo.config import (  # noqa: E402
    SMALL,
    TINY,
    audio_window,
    frame_window,
    load_config,
)
from avatar_bench.models.tavlo.recipe import TAVLORecipe  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.mark.parametrize("center", [0, 1, 2, 30, 50, 97, 99])
def test_window_contains_center_at_the_model_stride(center):
    cfg = SMALL                                   # T = 8, 0.1 s -> stride 2 frames at 20 fps
    idx, pos, first = frame_window(center, 100, 20.0, cfg)
    assert len(idx) == 8 and idx[pos] == center
    assert np.all(np.diff(idx) == 2)
    assert 0 <= idx[0] and idx[-1] <= 99
    assert first == pytest.approx(idx[0] / 20.0)
    if 8 <= center <= 99 - 8:
        assert pos == 4                           # centred away from the edges


def test_window_fractional_stride_and_short_clip():
    idx, pos, _ = frame_window(40, 100, 25.0, SMALL)       # stride 2.5 frames
    assert idx[pos] == 40 and idx == [30, 32, 35, 38, 40, 42, 45, 48]
    idx, pos, _ = frame_window(3, 6, 20.0, SMALL)          # 6-frame clip < 8 x 2 frames
    assert idx[pos] == 3 and min(idx) >= 0 and max(idx) == 5


def test_audio_window_is_one_interval_per_frame_centred():
    cfg = SMALL
    start, stop = audio_window(1.0, cfg)
    assert stop - start == cfg.audio_samples == 8 * 1600
    assert start == int((1.0 - 0.05) * 16000)


def _clip(n=40, fps=20.0, sr=16000, size=(36, 48)):
    """Frame k is uniformly grey level 3k; audio sample s has value s / sr (its time)."""
    frames = np.stack([np.full((*size, 3), 3 * k, np.uint8) for k in range(n)])
    audio = (np.arange(int(n / fps * sr)) / sr).astype(np.float32)
    return SimpleNamespace(clip_id="c", frames=frames, frame_indices=np.arange(n),
                           n_frames_total=n, fps=fps, audio=audio, sample_rate=sr)


def test_sample_takes_a_window_and_its_audio():
    recipe = TAVLORecipe(config="tiny")
    cfg = recipe.model_config
    rng = np.random.default_rng(0)
    for _ in range(5):
        s = recipe.sample(_clip(), rng)
        assert s["frames"].shape == (cfg.frames, cfg.image_size, cfg.image_size, 3)
        assert s["frames"].dtype == np.uint8 and s["audio"].dtype == np.float32
        assert s["audio"].shape == (cfg.audio_samples,)
        idx = s["frames"][:, 0, 0, 0].astype(int) // 3
        assert np.all(np.diff(idx) == 2)          # 0.1 s at 20 fps
        # the audio starts half an interval before the first frame (zeros before 0 s)
        t0 = idx[0] / 20.0 - cfg.frame_interval / 2
        if t0 >= 0:
            assert s["audio"][0] == pytest.approx(t0, abs=1 / 16000)


def test_sample_of_a_prewindowed_clip_keeps_its_frames():
    recipe = TAVLORecipe(config="tiny")
    clip = _clip()
    rng = np.random.default_rng(1)
    keep = recipe.select_frames(40, 20.0, rng)
    assert len(keep) == TINY.frames and np.all(np.diff(keep) == 2)
    clip.frames, clip.frame_indices = clip.frames[keep], np.asarray(keep)
    s = recipe.sample(clip, rng)
    assert list(s["frames"][:, 0, 0, 0].astype(int) // 3) == keep


def test_sample_resamples_other_rates():
    recipe = TAVLORecipe(config="tiny")
    s = recipe.sample(_clip(sr=8000), np.random.default_rng(0))
    assert s["audio"].shape == (recipe.model_config.audio_samples,)


def test_recipe_options_and_errors(tmp_path):
    r = TAVLORecipe(config="tiny", depth=2, lr=1e-3)
    assert r.model_config.depth == 2 and r.model_config == dataclasses.replace(TINY, depth=2)
    path = tmp_path / "c.json"
    path.write_text('{"frames": 4, "image_size": 64, "feature_dim": 32, "temporal_dim": 0,'
                    ' "heads": 2}')
    cfg = load_config(str(path))
    assert cfg.frames == 4 and cfg.n_mels == 64            # missing keys take DEFAULT
    path.write_text('{"frame": 4}')
    with pytest.raises(AvatarBenchError, match="unknown TAVLO config key"):
        load_config(str(path))
    with pytest.raises(AvatarBenchError, match="neither a preset"):
        load_config("huge")
