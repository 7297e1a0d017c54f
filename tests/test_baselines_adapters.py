"""Baseline adapters end to end on a hand-made root with real mp4 clips (PyAV)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")
import av  # noqa: E402  (a core dependency: never skipped)

from avatar_bench.data import AvatarDataset  # noqa: E402
from avatar_bench.errors import AvatarBenchError  # noqa: E402
from avatar_bench.models import create  # noqa: E402
from avatar_bench.models.baselines.checkpoints import model_class, official_checkpoint  # noqa: E402
from tests.fakeroot import instance, write_frame  # noqa: E402

FPS, SECONDS, SR, W, H = 10, 2, 16000, 96, 64


def write_clip(path: Path, with_audio: bool = True, freq: float = 440.0) -> None:
    """A tiny H.264 clip (moving bright square) with an optional AAC sine track."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = FPS * SECONDS
    audio = (0.4 * np.sin(2 * np.pi * freq * np.arange(SR * SECONDS) / SR)).astype(np.float32)
    with av.open(str(path), "w", format="mp4") as out:
        vs = out.add_stream("libx264", rate=Fraction(FPS))
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        aus = out.add_stream("aac", rate=SR, layout="mono") if with_audio else None
        for i in range(n):
            img = np.full((H, W, 3), 40, np.uint8)
            img[10:30, 4 * i:4 * i + 20] = 230
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts = i
            out.mux(vs.encode(vf))
        out.mux(vs.encode(None))
        if aus is not None:
            chunk = 1024
            for pos in range(0, audio.size, chunk):
                af = av.AudioFrame.from_ndarray(audio[None, pos:pos + chunk], format="fltp",
                                                layout="mono")
                af.sample_rate, af.pts = SR, pos
                out.mux(aus.encode(af))
            out.mux(aus.encode(None))


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("baseline-root")
    box = instance("Single-Sound", "dog", (10.0, 10.0, 30.0, 20.0))
    rng = np.random.default_rng(0)
    for vid, frames, audio, freq in (("aaaaaaaaaaa_00010", (2, 9, 18), True, 440.0),
                                     ("b_b-bbbbbbb_00020", (5,), True, 2000.0),
                                     ("silentclip_00030", (4,), False, 0.0)):
        for f in frames:
            path = write_frame(root, vid, f, [box], width=W, height=H)
            noise = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)   # distinct frame content
            Image.fromarray(noise).save(path.with_suffix(".jpg"))
        write_clip(root / "video" / f"{vid}.mp4", with_audio=audio, freq=freq)
    return root


@pytest.fixture(scope="module")
def dataset(root) -> AvatarDataset:
    return AvatarDataset(root, name="hand-made")


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    out = {}
    folder = tmp_path_factory.mktemp("ckpts")
    for name in ("ezvsl", "slavc", "ssltie"):
        torch.manual_seed(1)
        model = model_class(name)()
        if name == "slavc":   # trained momentum copies differ from the online encoders
            with torch.no_grad():
                for k, v in model.named_parameters():
                    if k.startswith("momentum_"):
                        v.add_(0.05 * torch.randn_like(v))
        ck = official_checkpoint(name, model, None, epoch=5)
        key = "model" if name != "ssltie" else "state_dict"
        ck[key] = {"module." + k: v for k, v in ck[key].items()}   # as saved under DDP
        out[name] = folder / f"{name}.pth.tar"
        torch.save(ck, out[name])
    return out


def voiced(dataset):
    return [f for f in dataset.frames if not f.video_id.startswith("silent")]


@pytest.mark.parametrize("name,side", [("ezvsl", 7), ("slavc", 7), ("ssltie", 14)])
def test_predict_every_frame(dataset, checkpoints, name, side):
    torch.set_num_threads(1)
    frames = voiced(dataset)
    adapter = create(name, checkpoint=str(checkpoints[name]), batch_size=3, device="cpu",
                     audio_window=None, seed=0)
    out = list(adapter.predict(dataset, frames))
    assert [k for k, _ in out] == [f.key for f in frames]
    for _, heat in out:
        assert heat.shape == (side, side) and heat.dtype == np.float32
        assert np.isfinite(heat).all()
    again = dict(create(name, checkpoint=str(checkpoints[name]), batch_size=1)
                 .predict(dataset, frames))
    for key, heat in out:                              # deterministic, batch-size independent
        np.testing.assert_allclose(again[key], heat, rtol=1e-4, atol=1e-4)
    assert not np.allclose(out[0][1], out[-1][1])      # frames really differ
    meta = adapter.meta()
    assert meta["random_init"] is False and meta["skipped"] == []
    assert meta["audio_window_s"] == (10.0 if name == "ssltie" else 3.0)


def test_audio_is_decoded_once_per_clip(dataset, checkpoints, monkeypatch):
    calls = []
    real = AvatarDataset.audio

    def counting(self, video_id, sample_rate=16000):
        calls.append(video_id)
        return real(self, video_id, sample_rate)

    monkeypatch.setattr(AvatarDataset, "audio", counting)
    adapter = create("ezvsl", checkpoint=str(checkpoints["ezvsl"]), audio_window=1.0)
    keys = [k for k, _ in adapter.predict(dataset, voiced(dataset))]
    assert len(keys) == 4 and sorted(calls) == sorted({f.video_id for f in voiced(dataset)})
    frame = voiced(dataset)[0]
    _, spec = adapter.inputs(dataset, frame)
    assert spec.shape == (1, 257, 66)                  # 1 s at 16 kHz


def test_missing_audio_raises_naming_the_file(dataset, checkpoints):
    adapter = create("ezvsl", checkpoint=str(checkpoints["ezvsl"]))
    with pytest.raises(AvatarBenchError, match=r"silentclip_00030\.mp4.*no audio"):
        list(adapter.predict(dataset, dataset.frames))
    skipping = create("ezvsl", checkpoint=str(checkpoints["ezvsl"]), skip_errors=True)
    out = dict(skipping.predict(dataset, dataset.frames))
    assert len(out) == len(dataset.frames) - 1
    assert [s["key"] for s in skipping.meta()["skipped"]] == ["silentclip_00030_00004"]


def test_slavc_inference_leaves_momentum_encoders_alone(dataset, checkpoints):
    torch.set_num_threads(1)
    adapter = create("slavc", checkpoint=str(checkpoints["slavc"]))
    before = {k: v.clone() for k, v in adapter.model.state_dict().items()}
    first = dict(adapter.predict(dataset, voiced(dataset)))
    second = dict(adapter.predict(dataset, voiced(dataset)))
    after = adapter.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])


def test_slavc_adapter_encoders_option(dataset, checkpoints):
    torch.set_num_threads(1)
    frames = voiced(dataset)[:1]
    default = create("slavc", checkpoint=str(checkpoints["slavc"]))
    mom = create("slavc", checkpoint=str(checkpoints["slavc"]), use_mom_eval=True)
    assert default.model.use_mom_eval is False and mom.model.use_mom_eval is True
    assert default.meta()["encoders"] == "online" and mom.meta()["encoders"] == "momentum"
    # The checkpoint's momentum copies differ from its online nets: so must the maps.
    with torch.no_grad():
        img, spec = (torch.from_numpy(x[None]) for x in default.inputs(dataset, frames[0]))
        online = default.model(img, spec)
        default.model.use_mom_eval = True
        momentum = default.model(img, spec)
        default.model.use_mom_eval = False
    got = dict(default.predict(dataset, frames))[frames[0].key]
    got_mom = dict(mom.predict(dataset, frames))[frames[0].key]
    np.testing.assert_allclose(got, online[0].numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got_mom, momentum[0].numpy(), rtol=1e-5, atol=1e-5)
    assert not np.allclose(got, got_mom, atol=1e-3)
    with pytest.raises(AvatarBenchError, match="use_mom_eval"):
        create("slavc", checkpoint=str(checkpoints["slavc"]), use_mom_eval="maybe")
    with pytest.raises(AvatarBenchError, match="unknown option"):
        create("ezvsl", checkpoint=str(checkpoints["ezvsl"]), use_mom_eval=True)


def test_wrong_checkpoint_and_options(checkpoints):
    with pytest.raises(AvatarBenchError, match="looks like an SSL-TIE checkpoint"):
        create("slavc", checkpoint=str(checkpoints["ssltie"]))
    with pytest.raises(AvatarBenchError, match="unknown option"):
        create("ezvsl", checkpoint=str(checkpoints["ezvsl"]), temperature=3)
    with pytest.raises(AvatarBenchError, match="batch_size"):
        create("ezvsl", checkpoint=str(checkpoints["ezvsl"]), batch_size=0)
    with pytest.raises(AvatarBenchError, match="audio_window"):
        create("ezvsl", checkpoint=str(checkpoints["ezvsl"]), audio_window="long")


def test_random_init_is_loud_and_seeded():
    state = torch.get_rng_state()
    with pytest.warns(UserWarning, match="NO checkpoint"):
        adapter = create("ezvsl", seed=3)
    assert torch.equal(torch.get_rng_state(), state)          # caller's RNG untouched
    meta = adapter.meta()
    assert meta["random_init"] is True and "NO checkpoint" in meta["warning"]
    with pytest.warns(UserWarning):
        same = create("ezvsl", seed=3)
        other = create("ezvsl", seed=4)
    w = "aud_proj.weight"
    assert torch.equal(adapter.model.state_dict()[w], same.model.state_dict()[w])
    assert not torch.equal(adapter.model.state_dict()[w], other.model.state_dict()[w])


@pytest.mark.parametrize("name,size,side", [("ezvsl", 112, 4), ("slavc", 96, 3),
                                            ("ssltie", 112, 7)])
def test_image_size_option_sets_input_and_map(dataset, checkpoints, name, size, side, monkeypatch):
    """A checkpoint trained small is scored at its own size: the input and the map follow."""
    torch.set_num_threads(1)
    seen = []
    real = torch.nn.Module.__call__

    def spy(module, *args, **kwargs):
        if module is adapter.model:
            seen.append(tuple(args[0].shape[-2:]))
        return real(module, *args, **kwargs)

    adapter = create(name, checkpoint=str(checkpoints[name]), image_size=size)
    monkeypatch.setattr(torch.nn.Module, "__call__", spy)
    out = list(adapter.predict(dataset, voiced(dataset)[:2]))
    assert seen and set(seen) == {(size, size)}
    assert all(heat.shape == (side, side) for _, heat in out)
    meta = adapter.meta()
    assert meta["image_size"] == size and meta["map"].startswith(f"{side}x{side} ")


@pytest.mark.parametrize("bad", [0, 31, 1025, "big", 112.5])
def test_image_size_option_is_checked(checkpoints, bad):
    with pytest.raises(AvatarBenchError, match="image_size"):
        create("ezvsl", checkpoint=str(checkpoints["ezvsl"]), image_size=bad)


def test_training_record_names_the_size_to_score_at(checkpoints, tmp_path):
    """Our trainer's train_config.json beside a checkpoint: a size mismatch warns, naming the
    option; a match, another model's record or an unreadable record says nothing."""
    import json
    import shutil
    import warnings

    ck = tmp_path / "checkpoint.pth"
    shutil.copy(checkpoints["ezvsl"], ck)
    record = tmp_path / "train_config.json"
    record.write_text(json.dumps({"train": {"model": "ezvsl", "recipe_options": {}}}))
    with pytest.warns(UserWarning, match=r"trained at 112 px .* scored at 224 px \(the default\)"
                      r".*--option image_size=112"):
        adapter = create("ezvsl", checkpoint=str(ck))
    assert "112" in adapter.meta()["size_warning"]
    record.write_text(json.dumps({"train": {"model": "ezvsl",
                                            "recipe_options": {"image_size": 96}}}))
    for options, quiet in (({"image_size": 96}, True), ({}, False)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            adapter = create("ezvsl", checkpoint=str(ck), **options)
        assert any("trained at 96 px" in str(w.message) for w in caught) is not quiet
        assert ("size_warning" in adapter.meta()) is not quiet
    for text in (json.dumps({"train": {"model": "slavc", "recipe_options": {}}}), "{not json"):
        record.write_text(text)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert "size_warning" not in create("ezvsl", checkpoint=str(ck)).meta()
