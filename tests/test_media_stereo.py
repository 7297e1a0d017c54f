"""Stereo audio is mixed to mono as the baselines' official loaders do: (L + R) / 2.

The clips are written here with PyAV using FLAC in MP4 (lossless), so the decoded samples are
exactly the 16-bit values written and the expected output can be computed by hand.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av  # noqa: E402  (a core dependency: never skipped)
import numpy as np
import pytest
from PIL import Image

from avatar_bench.data import media  # noqa: E402
from tests.fakeroot import instance, write_frame  # noqa: E402

SR, FPS, SECONDS, W, H = 16000, 10, 2, 64, 48


def write_clip(path: Path, channels: np.ndarray, rate: int = SR) -> None:
    """An MP4 with a tiny H.264 video and a FLAC track holding ``channels`` (C x N int16)."""
    layout = {1: "mono", 2: "stereo"}[channels.shape[0]]
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4") as out:
        vs = out.add_stream("libx264", rate=Fraction(FPS))
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        aus = out.add_stream("flac", rate=rate, layout=layout)
        for i in range(FPS * SECONDS):
            vf = av.VideoFrame.from_ndarray(np.full((H, W, 3), 3 * i, np.uint8), format="rgb24")
            vf.pts = i
            out.mux(vs.encode(vf))
        out.mux(vs.encode(None))
        for pos in range(0, channels.shape[1], 1024):
            packed = np.ascontiguousarray(channels[:, pos:pos + 1024].T).reshape(1, -1)
            af = av.AudioFrame.from_ndarray(packed, format="s16", layout=layout)
            af.sample_rate, af.pts = rate, pos
            out.mux(aus.encode(af))
        out.mux(aus.encode(None))


def tone(freq: float, amp: float, seed: int, rate: int = SR) -> np.ndarray:
    t = np.arange(SECONDS * rate) / rate
    noise = np.random.default_rng(seed).standard_normal(t.size)
    return np.round((amp * np.sin(2 * np.pi * freq * t) + 0.03 * noise) * 32767).astype(np.int16)


def test_distinct_channels_are_averaged(tmp_path):
    left, right = tone(440, 0.5, 0), tone(1000, 0.3, 1)
    write_clip(tmp_path / "lr.mp4", np.stack([left, right]))
    got = media.read_audio(tmp_path / "lr.mp4", SR)
    # Hand-computed: 16-bit samples become x / 32768 in float; the mix is (L + R) / 2.
    want = (left.astype(np.float64) + right.astype(np.float64)) / 2 / 32768
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-7)
    # Not PyAV's float downmix, which is (L + R) / sqrt(2): 3 dB louder.
    assert np.abs(got).max() < 0.75 * np.abs(want * np.sqrt(2)).max()


def test_mono_track_is_the_plain_16_bit_values(tmp_path):
    mono = tone(440, 0.5, 2)
    write_clip(tmp_path / "m.mp4", mono[None])
    got = media.read_audio(tmp_path / "m.mp4", SR)
    np.testing.assert_array_equal(got, (mono.astype(np.float64) / 32768).astype(np.float32))


@pytest.mark.parametrize("rate", [SR, 8000, 22050])
def test_equal_channels_give_the_mono_twin_bit_for_bit(tmp_path, rate):
    mono = tone(440, 0.6, 3, rate=44100)
    write_clip(tmp_path / "mono.mp4", mono[None], rate=44100)
    write_clip(tmp_path / "stereo.mp4", np.stack([mono, mono]), rate=44100)
    a = media.read_audio(tmp_path / "mono.mp4", rate)
    b = media.read_audio(tmp_path / "stereo.mp4", rate)
    assert a.size == pytest.approx(SECONDS * rate, abs=rate * 0.05)
    np.testing.assert_array_equal(a, b)


def test_baseline_maps_of_stereo_clip_equal_its_mono_twin(tmp_path):
    torch = pytest.importorskip("torch")
    from avatar_bench.data import AvatarDataset
    from avatar_bench.models import create
    from avatar_bench.models.baselines.checkpoints import model_class, official_checkpoint

    torch.set_num_threads(1)
    root = tmp_path / "root"
    mono = tone(440, 0.6, 4)
    image = np.random.default_rng(5).integers(0, 256, (H, W, 3), dtype=np.uint8)
    box = instance("Single-Sound", "dog", (5.0, 5.0, 20.0, 15.0))
    for vid, channels in (("monotwin000_00010", mono[None]),
                          ("stereotwin0_00010", np.stack([mono, mono]))):
        write_clip(root / "video" / f"{vid}.mp4", channels)
        jpg = write_frame(root, vid, 7, [box], width=W, height=H).with_suffix(".jpg")
        Image.fromarray(image).save(jpg)
    dataset = AvatarDataset(root, name="stereo-twins")
    torch.manual_seed(0)
    ckpt = tmp_path / "ezvsl.pth.tar"
    torch.save(official_checkpoint("ezvsl", model_class("ezvsl")(), None, epoch=1), ckpt)
    adapter = create("ezvsl", checkpoint=str(ckpt), audio_window=1.0)
    maps = dict(adapter.predict(dataset, dataset.frames))
    twin_mono, twin_stereo = (maps[f"{v}_00007"] for v in ("monotwin000_00010",
                                                           "stereotwin0_00010"))
    np.testing.assert_array_equal(twin_mono, twin_stereo)
    # The mix matters: PyAV's float downmix ((L + R) / sqrt(2)) would give another map.
    from avatar_bench.models.baselines.audio import centred_window, front_end

    frame = next(f for f in dataset.frames if f.video_id.startswith("stereo"))
    image, _ = adapter.inputs(dataset, frame)
    loud = centred_window(dataset.audio(frame.video_id) * np.float32(np.sqrt(2)), SR,
                          dataset.timestamp(frame), 1.0)
    with torch.no_grad():
        other = adapter.model(torch.from_numpy(image[None]),
                              torch.from_numpy(front_end("ezvsl", loud, SR)[None]))[0].numpy()
    assert not np.allclose(other, twin_stereo, atol=1e-4)
