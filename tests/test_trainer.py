"""The shared trainer: determinism, checkpoints + resume, data sources, registry, CLI."""

from __future__ import annotations

import itertools
import json
from fractions import Fraction

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from avatar_bench.errors import AvatarBenchError  # noqa: E402
from avatar_bench.train.data import (  # noqa: E402
    ClipSampleStream,
    FolderSource,
    SyntheticSource,
    make_source,
)
from avatar_bench.train.registry import RECIPES, create_recipe  # noqa: E402
from avatar_bench.train.trainer import (  # noqa: E402
    CHECKPOINT,
    RUN_CONFIG,
    TRAINER_STATE,
    TrainConfig,
    train,
)

pytestmark = pytest.mark.torch
TINY_OPTS = {"config": "tiny"}


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(1)


def _cfg(**kw) -> TrainConfig:
    base = dict(model="tavlo", recipe_options=TINY_OPTS, data="synthetic", steps=2,
                batch_size=2, num_workers=0, seed=0, device="cpu", log_every=0)
    base.update(kw)
    return TrainConfig(**base)


def _weights(path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)["model"]


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_same_seed_same_weights_on_cpu(tmp_path):
    r1 = train(_cfg(checkpoint_dir=str(tmp_path / "a")))
    r2 = train(_cfg(checkpoint_dir=str(tmp_path / "b")))
    train(_cfg(checkpoint_dir=str(tmp_path / "c"), seed=1))
    assert r1.losses == r2.losses and len(r1.losses) == 2
    assert _same(_weights(tmp_path / "a" / CHECKPOINT), _weights(tmp_path / "b" / CHECKPOINT))
    assert not _same(_weights(tmp_path / "a" / CHECKPOINT),
                     _weights(tmp_path / "c" / CHECKPOINT))
    assert r1.final_loss == pytest.approx(np.mean(r1.losses)) and r1.clips_per_s > 0


def test_worker_processes_are_seeded_deterministically():
    recipe = create_recipe("tavlo", config="tiny")

    def first_batches(seed):
        stream = ClipSampleStream(SyntheticSource(seconds=1.0), recipe, seed=seed)
        loader = torch.utils.data.DataLoader(stream, batch_size=2, num_workers=2)
        it = iter(loader)
        return [next(it)["audio"] for _ in range(2)]

    a, b, c = first_batches(0), first_batches(0), first_batches(5)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0], a[1])                  # the two workers differ
    assert not torch.equal(a[0], c[0])                  # and so do seeds


def test_checkpoint_files_and_resume_continue_from_the_saved_step(tmp_path):
    out = tmp_path / "run"
    first = train(_cfg(checkpoint_dir=str(out), steps=2, checkpoint_every=1))
    assert first.step == 2
    for name in (CHECKPOINT, TRAINER_STATE, RUN_CONFIG):
        assert (out / name).is_file()
    ckpt = torch.load(out / CHECKPOINT, weights_only=False)
    assert ckpt["step"] == 2 and ckpt["arch"] == "tavlo" and ckpt["config"]["frames"] == 4
    meta = json.loads((out / RUN_CONFIG).read_text())
    assert meta["result"]["step"] == 2 and meta["model_config"]["image_size"] == 64
    before = _weights(out / CHECKPOINT)

    resumed = train(_cfg(checkpoint_dir=str(out), steps=3, resume=True))
    assert resumed.step == 3 and len(resumed.losses) == 1    # one more step, not three
    ckpt = torch.load(out / CHECKPOINT, weights_only=False)
    assert ckpt["step"] == 3
    adam_steps = {float(s["step"]) for s in ckpt["optimizer"]["state"].values()}
    assert adam_steps == {3.0}                               # optimizer state carried over
    assert not _same(before, ckpt["model"])

    done = train(_cfg(checkpoint_dir=str(out), steps=3, resume=True))
    assert done.step == 3 and done.losses == []


def test_resume_needs_a_checkpoint_and_the_same_model(tmp_path):
    with pytest.raises(AvatarBenchError, match="no checkpoint.pth"):
        train(_cfg(checkpoint_dir=str(tmp_path), resume=True))
    train(_cfg(checkpoint_dir=str(tmp_path), steps=1))
    with pytest.raises(AvatarBenchError, match="another TAVLO config") as err:
        train(_cfg(checkpoint_dir=str(tmp_path), resume=True,
                   recipe_options={"config": "tiny", "depth": 2}))
    assert "depth: checkpoint 1 vs requested 2" in str(err.value)
    state = torch.load(tmp_path / TRAINER_STATE, weights_only=False)
    state["model"] = "ezvsl"
    torch.save(state, tmp_path / TRAINER_STATE)
    with pytest.raises(AvatarBenchError, match="holds a 'ezvsl' run"):
        train(_cfg(checkpoint_dir=str(tmp_path), resume=True))


def test_registry_names_and_unknown_name():
    assert set(RECIPES) == {"ezvsl", "slavc", "ssltie", "tavlo"}
    assert create_recipe("tavlo", config="tiny").name == "tavlo"
    with pytest.raises(AvatarBenchError, match="Did you mean tavlo"):
        create_recipe("tavlp")


def test_bad_settings_are_refused():
    with pytest.raises(AvatarBenchError, match="CUDA only"):
        train(_cfg(amp=True))
    with pytest.raises(AvatarBenchError, match="unknown training data"):
        make_source("vggsound")
    with pytest.raises(AvatarBenchError, match="needs --data-dir"):
        make_source("mini", clip_list="x.txt")


# ------------------------------------------------------------------ folder of clips
def _write_video_only(path, n=10, fps=20):
    import av

    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=Fraction(fps))
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        for k in range(n):
            img = np.full((48, 64, 3), 10 * k, np.uint8)
            for pkt in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(pkt)
        for pkt in vs.encode():
            out.mux(pkt)


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    from avatar_bench.data.mini.generate import write_mp4

    root = tmp_path_factory.mktemp("vggsound")
    (root / "sub").mkdir()
    rng = np.random.default_rng(0)
    for name in ("good_a", "sub/good_b"):
        frames = rng.integers(0, 255, size=(30, 48, 64, 3), dtype=np.uint8)
        audio = (0.1 * rng.standard_normal(int(1.5 * 16000))).astype(np.float32)
        write_mp4(root / f"{name}.mp4", frames, 20.0, audio, 16000)
    _write_video_only(root / "silent.mp4")
    (root / "broken.mp4").write_bytes(b"not a video")
    return root


def test_folder_source_reads_clips_and_reports_bad_ones(clip_dir, tmp_path):
    recipe = create_recipe("tavlo", config="tiny")
    rng = np.random.default_rng(0)
    src = FolderSource(str(clip_dir))
    assert len(src.files) == 4
    clip = src.load(str(clip_dir / "sub" / "good_b.mp4"), recipe, rng)
    assert clip.clip_id == "good_b" and clip.frames.shape[1:] == (48, 64, 3)
    assert len(clip.frames) == 4 and clip.sample_rate == 16000 and clip.fps == 20.0
    with pytest.raises(AvatarBenchError, match="no audio"):
        src.load(str(clip_dir / "silent.mp4"), recipe, rng)
    with pytest.raises(AvatarBenchError, match="cannot open|no audio"):
        list(itertools.islice(src.clips(0, 0, 1, recipe, rng), 8))

    skipping = FolderSource(str(clip_dir), skip_bad=True)
    got = [c.clip_id for c in itertools.islice(skipping.clips(0, 0, 1, recipe, rng), 4)]
    assert set(got) == {"good_a", "good_b"} and skipping.bad_count == 2

    ids = tmp_path / "ids.txt"
    ids.write_text("# training ids\ngood_a\nmissing_1\n\ngood_b.mp4\n")
    with pytest.raises(AvatarBenchError, match="1 of 3 ids"):
        FolderSource(str(clip_dir), str(ids))
    listed = FolderSource(str(clip_dir), str(ids), skip_bad=True)
    assert sorted(p.rsplit("/", 1)[-1] for p in listed.files) == ["good_a.mp4", "good_b.mp4"]
    assert listed.bad_count == 1


def test_training_from_a_folder(clip_dir, tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text("good_a\ngood_b\n")
    result = train(_cfg(data_dir=str(clip_dir), clip_list=str(ids), steps=1,
                        checkpoint_dir=str(tmp_path / "out")))
    assert result.step == 1 and np.isfinite(result.final_loss) and result.skipped_clips == 0
    ids.write_text("good_a\nsilent\nmissing\n")
    result = train(_cfg(data_dir=str(clip_dir), clip_list=str(ids), steps=2, skip_bad=True))
    assert result.step == 2 and result.skipped_clips >= 2      # the missing id + silent.mp4


# ------------------------------------------------------------------------------ CLI
def test_cli_train_writes_checkpoint_and_reports(tmp_path):
    from avatar_bench.cli.train import COMMANDS

    out = tmp_path / "cli"
    res = CliRunner().invoke(COMMANDS[0], [
        "--model", "tavlo", "--config", "tiny", "--dataset", "synthetic", "--steps", "1",
        "--batch-size", "2", "--num-workers", "0", "--device", "cpu", "--output", str(out),
        "--option", "depth=2"])
    assert res.exit_code == 0, res.output
    assert "wall time" in res.output and "final loss" in res.output
    assert (out / CHECKPOINT).is_file() and (out / RUN_CONFIG).is_file()
    assert torch.load(out / CHECKPOINT, weights_only=False)["config"]["depth"] == 2
    bad = CliRunner().invoke(COMMANDS[0], ["--model", "tavlo", "--option", "nokey"])
    assert bad.exit_code != 0 and "KEY=VALUE" in str(bad.exception)


def test_training_on_the_avatar_mini_stream(tmp_path):
    recipe = create_recipe("tavlo", config="tiny")
    stream = ClipSampleStream(make_source("mini"), recipe, seed=0)
    sample = next(iter(stream))
    assert sample["frames"].shape == (4, 64, 64, 3)
    frames = sample["frames"].astype(int)
    assert np.abs(np.diff(frames, axis=0)).sum() > 0        # real, distinct frames
    result = train(_cfg(data="mini", steps=1, checkpoint_dir=str(tmp_path)))
    assert result.step == 1 and np.isfinite(result.final_loss)
