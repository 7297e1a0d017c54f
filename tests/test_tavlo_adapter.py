"""TAVLOAdapter: windows around annotated frames, order, and save -> load -> same maps."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from avatar_bench.data import AvatarDataset  # noqa: E402
from avatar_bench.data.mini.generate import write_mp4  # noqa: E402
from avatar_bench.errors import AvatarBenchError  # noqa: E402
from avatar_bench.models.registry import create  # noqa: E402
from avatar_bench.models.tavlo.config import audio_window, frame_window  # noqa: E402
from avatar_bench.models.tavlo.model import TAVLO, localization_maps  # noqa: E402
from avatar_bench.models.tavlo.preprocess import audio_segment, resize_frames  # noqa: E402
from avatar_bench.models.tavlo.recipe import TAVLORecipe  # noqa: E402
from tests.fakeroot import instance, write_frame  # noqa: E402

pytestmark = pytest.mark.torch
FPS, SR, N = 20.0, 16000, 40


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """Two 2-s clips (moving bright square, tone) with annotated frames at the edges too."""
    root = tmp_path_factory.mktemp("tavlo-root")
    (root / "video").mkdir()
    rng = np.random.default_rng(0)
    for vid, frames in (("vidA_00010", (0, 5, 39)), ("vidB_00020", (20,))):
        video = rng.integers(0, 60, size=(N, 64, 96, 3), dtype=np.uint8)
        for k in range(N):
            video[k, 10:30, 2 * k:2 * k + 20] = 250
        t = np.arange(int(N / FPS * SR)) / SR
        audio = (0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 2 * t))
                 ).astype(np.float32)
        write_mp4(root / "video" / f"{vid}.mp4", video, FPS, audio, SR)
        for f in frames:
            write_frame(root, vid, f, [instance("Single-Sound", "dog", (10, 10, 50, 40))],
                        width=96, height=64)
    return root


@pytest.fixture()
def checkpoint(tmp_path):
    torch.set_num_threads(1)
    torch.manual_seed(3)
    recipe = TAVLORecipe(config="tiny")
    model = recipe.build_model()
    opt = recipe.optimizer(model)
    path = tmp_path / "checkpoint.pth"
    torch.save(recipe.checkpoint(model, opt, 7), path)
    return path, model.eval()


def _direct_map(model: TAVLO, ds: AvatarDataset, video_id: str, frame: int) -> np.ndarray:
    cfg = model.cfg
    info = ds.video_info(video_id)
    idx, pos, first = frame_window(frame, info.n_frames, info.fps, cfg)
    decoded = ds.clip_frames(video_id, sorted(set(idx)))
    frames = resize_frames(np.stack([decoded[i] for i in idx]), cfg.image_size)
    start, stop = audio_window(first, cfg)
    audio = audio_segment(ds.audio(video_id, cfg.sample_rate), start, stop)
    with torch.no_grad():
        a, v = model(torch.from_numpy(frames)[None], torch.from_numpy(audio)[None])
    return localization_maps(a, v, cfg.grid)[0, pos].numpy()


def test_save_load_gives_identical_heatmaps(root, checkpoint):
    path, model = checkpoint
    ds = AvatarDataset(root, name="fake")
    frames = list(ds)
    adapter = create("tavlo", checkpoint=str(path), device="cpu", batch_size=3)
    maps = dict(adapter.predict(ds, frames))
    assert list(maps) == [f.key for f in frames]
    for f in frames:
        m = maps[f.key]
        assert m.shape == (model.cfg.grid, model.cfg.grid) and m.dtype == np.float32
        # same numbers as the in-memory model (batching changes only float rounding)
        np.testing.assert_allclose(m, _direct_map(model, ds, f.video_id, f.frame), atol=1e-5)
    again = dict(create("tavlo", checkpoint=str(path), batch_size=3).predict(ds, frames))
    for k in maps:
        np.testing.assert_array_equal(maps[k], again[k])
    # a different model gives different maps (the comparison above can fail)
    torch.manual_seed(99)
    other = TAVLO(model.cfg).eval()
    f = frames[1]
    assert not np.allclose(_direct_map(other, ds, f.video_id, f.frame), maps[f.key])


def test_order_is_the_callers_even_when_videos_interleave(root, checkpoint):
    path, _ = checkpoint
    ds = AvatarDataset(root, name="fake")
    frames = list(ds)
    shuffled = [frames[3], frames[0], frames[2], frames[1]]
    keys = [k for k, _ in create("tavlo", checkpoint=str(path)).predict(ds, shuffled)]
    assert keys == [f.key for f in shuffled]


def test_options_are_checked(tmp_path):
    with pytest.raises(AvatarBenchError, match="unknown option"):
        create("tavlo", checkpoint=None, colour="red")
    with pytest.raises(AvatarBenchError, match="audio span is fixed"):
        create("tavlo", config="tiny", audio_window=3.0)
    bad = tmp_path / "bad.pth"
    torch.save({"model": {}}, bad)
    with pytest.raises(AvatarBenchError, match="not a TAVLO checkpoint"):
        create("tavlo", checkpoint=str(bad))
    adapter = create("tavlo", config="tiny", device="cpu")
    assert "NO checkpoint" in adapter.meta()["warning"]
