"""The staged pipeline (decode in DataLoader workers, batched forward in the main process):
same maps as the adapters' own ``predict``, resumable to identical bytes, bf16 autocast within
the tolerance docs/predict.md states."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from avatar_bench.data import AvatarDataset  # noqa: E402
from avatar_bench.data.mini.generate import write_mp4  # noqa: E402
from avatar_bench.errors import AvatarBenchError  # noqa: E402
from avatar_bench.models.base import Adapter, Stages  # noqa: E402
from avatar_bench.models.registry import create  # noqa: E402
from avatar_bench.predict import PredictError, partial_path, run_predict  # noqa: E402
from tests.fakeroot import instance, write_frame  # noqa: E402

pytestmark = pytest.mark.torch
FPS, SR, N, W, H = 20.0, 16000, 40, 96, 64
#: Autocast vs fp32, per map: max |difference| <= TOLERANCE x (max - min) of the fp32 map
#: (docs/predict.md). bf16 keeps 8 mantissa bits (relative step 2^-8), fp16 11; rounding
#: errors add up over channels and layers. Measured worst here: bf16 0.011 (EZ-VSL),
#: 0.056 (SSL-TIE), 0.013 (TAVLO tiny); fp16 0.002-0.007.
TOLERANCE = {"bf16": 0.1, "fp16": 0.02}


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """Three 2-s clips (moving square, amplitude-modulated tone); 7 annotated frames."""
    root = tmp_path_factory.mktemp("stages-root")
    (root / "video").mkdir()
    rng = np.random.default_rng(1)
    for v, frames in enumerate(((0, 9, 18, 39), (5,), (12, 30))):
        vid = f"clip{v}_00010"
        video = rng.integers(0, 60, size=(N, H, W, 3), dtype=np.uint8)
        for k in range(N):
            video[k, 10:30, 2 * k:2 * k + 20] = 250
        t = np.arange(int(N / FPS * SR)) / SR
        audio = (0.3 * np.sin(2 * np.pi * (300 + 200 * v) * t) * (1 + np.sin(4 * np.pi * t))
                 ).astype(np.float32)
        write_mp4(root / "video" / f"{vid}.mp4", video, FPS, audio, SR)
        for f in frames:
            path = write_frame(root, vid, f, [instance("Single-Sound", "dog", (10, 10, 40, 30))],
                               width=W, height=H)
            from PIL import Image

            Image.fromarray(video[f]).save(path.with_suffix(".jpg"))
    return root


@pytest.fixture(scope="module")
def ds(root) -> AvatarDataset:
    return AvatarDataset(root, use_cache=False)


def _maps(path: Path) -> np.ndarray:
    with np.load(path, allow_pickle=False) as data:
        return data["heatmaps"].astype(np.float32)


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("model, options", [("ezvsl", {}), ("ssltie", {"batch_size": 3}),
                                            ("tavlo", {"config": "tiny", "batch_size": 2})])
def test_staged_maps_equal_the_adapters_predict(model, options, ds, tmp_path, recwarn):
    adapter = create(model, device="cpu", **options)
    direct = np.stack([m for _, m in adapter.predict(ds, ds.frames)]).astype(np.float16)
    summary = run_predict(adapter, ds, tmp_path / "p.npz", workers=1)
    assert summary.staged and summary.workers == 1
    np.testing.assert_array_equal(_maps(tmp_path / "p.npz"), direct.astype(np.float32))
    run_predict(adapter, ds, tmp_path / "q.npz", workers=0)
    assert (tmp_path / "p.npz").read_bytes() == (tmp_path / "q.npz").read_bytes()


@pytest.mark.parametrize("model, options, precision", [
    ("ezvsl", {}, "bf16"), ("ssltie", {}, "bf16"), ("tavlo", {"config": "tiny"}, "bf16"),
    ("ezvsl", {}, "fp16")])
def test_autocast_is_within_the_stated_tolerance(model, options, precision, ds, tmp_path,
                                                 recwarn):
    adapter = create(model, device="cpu", **options)
    run_predict(adapter, ds, tmp_path / "fp32.npz", workers=0)
    run_predict(adapter, ds, tmp_path / "low.npz", workers=0, precision=precision)
    ref, low = _maps(tmp_path / "fp32.npz"), _maps(tmp_path / "low.npz")
    assert not np.array_equal(ref, low)          # autocast really ran in low precision
    span = ref.max(axis=(1, 2)) - ref.min(axis=(1, 2))
    worst = (np.abs(ref - low).max(axis=(1, 2)) / span).max()
    assert worst <= TOLERANCE[precision], worst
    with np.load(tmp_path / "low.npz", allow_pickle=False) as data:
        assert f'"precision": "{precision} autocast"' in str(data["meta"])
    with np.load(tmp_path / "fp32.npz", allow_pickle=False) as data:
        assert "precision" not in str(data["meta"])


# ------------------------------------------------------------ a fake staged model
CALLS: dict = {}


class _Prepare:
    """Picklable: runs in the worker processes."""

    def __call__(self, dataset, frames):
        if any(f.video_id == CALLS.get("bad_clip") for f in frames):
            raise ValueError("cannot decode this clip")
        return [np.frombuffer(hashlib.sha256(f.key.encode()).digest(), np.uint8)
                .astype(np.float32).reshape(4, 8) for f in frames]


class Staged(Adapter):
    name = "staged"

    def predict(self, dataset, frames):
        raise AssertionError("the runner must use the stages")

    def stages(self) -> Stages:
        def forward(inputs):
            CALLS.setdefault("batches", []).append(len(inputs))
            if CALLS.get("fail_after") is not None and \
                    len(CALLS["batches"]) > CALLS["fail_after"]:
                raise RuntimeError("forward broke")
            return [torch.from_numpy(np.stack(inputs)).mul(0.01).numpy()[i]
                    for i in range(len(inputs))]

        return Stages(prepare=_Prepare(), forward=forward, batch_size=2)


def test_staged_run_resumes_to_identical_bytes(ds, tmp_path):
    CALLS.clear()
    whole = run_predict(Staged(), ds, tmp_path / "whole.npz", workers=1,
                        segment_frames=3).output.read_bytes()
    # segments (whole clips, >= 3 frames): clip0 (4 frames) | clip1 + clip2 (3 frames);
    # batches of 2 restart at each segment
    assert CALLS["batches"] == [2, 2, 2, 1]
    out = tmp_path / "p.npz"
    CALLS.clear()
    CALLS["fail_after"] = 2
    with pytest.raises(PredictError, match=r"raised RuntimeError on the batch of frames "
                                           r"clip1_00010_00005 \.\. clip2_00010_00012"):
        run_predict(Staged(), ds, out, workers=1, segment_frames=3)
    assert len(list(partial_path(out).glob("seg-*.npz"))) == 1
    CALLS.clear()
    summary = run_predict(Staged(), ds, out, workers=0, segment_frames=3)
    assert summary.resumed_frames == 4 and CALLS["batches"] == [2, 1]
    assert out.read_bytes() == whole


def test_a_clip_that_cannot_be_prepared_is_named(ds, tmp_path):
    CALLS.clear()
    CALLS["bad_clip"] = "clip1_00010"
    with pytest.raises(PredictError) as err:
        run_predict(Staged(), ds, tmp_path / "p.npz", workers=1)
    assert "failed preparing the inputs of clip clip1_00010 (frames clip1_00010_00005" in \
        str(err.value)
    assert "ValueError: cannot decode this clip" in str(err.value)
    assert "Traceback" in err.value.debug_text
    CALLS.clear()


def test_precision_must_be_one_the_model_allows(ds, tmp_path):
    with pytest.raises(AvatarBenchError, match="it supports: fp32$"):
        run_predict(Staged(), ds, tmp_path / "p.npz", precision="bf16")
