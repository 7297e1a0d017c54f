"""Resumable ``predict``: an interrupted run continues to a file byte-identical to an
uninterrupted one; other settings are refused; failures name the model and the frame."""

from __future__ import annotations

import errno
import hashlib
import os
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from avatar_bench.cli import cli
from avatar_bench.data import AvatarDataset
from avatar_bench.data.annotations import Frame
from avatar_bench.errors import AvatarBenchError
from avatar_bench.models import registry
from avatar_bench.models.base import Adapter
from avatar_bench.predict import partial_path, run_predict
from avatar_bench.predict import runner as runner_mod
from avatar_bench.predict.partial import PartialRun
from tests.fakeroot import instance, write_frame

#: Knobs the test adapter reads (set per test, reset by the ``knobs`` fixture).
KNOBS: dict = {}


def _noise(key: str, seed: int) -> np.ndarray:
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    return rng.random((6, 10), dtype=np.float32)


class Flaky(Adapter):
    """Deterministic noise per frame; fails, drops or reorders frames on request."""

    name = "flaky"
    description = "test adapter"

    def predict(self, dataset, frames):
        if KNOBS.get("warn_in_predict"):
            warnings.warn("from predict", stacklevel=1)
        for i, f in enumerate(frames):
            KNOBS["seen"] = KNOBS.get("seen", 0) + 1
            if KNOBS.get("fail_at") is not None and KNOBS["seen"] > KNOBS["fail_at"]:
                raise KNOBS.get("error", RuntimeError)("boom")
            if KNOBS.get("drop_last") and i == len(frames) - 1:
                return
            key = frames[-1 - i].key if KNOBS.get("reverse") else f.key
            yield key, _noise(key, int(self.options.get("seed", 0)))


class Warns(Flaky):
    name = "warns"

    def __init__(self, **options):
        super().__init__(**options)
        warnings.warn("weights are random; pass --checkpoint", UserWarning, stacklevel=2)


class MetaWarns(Flaky):
    """Warns only through its meta, as TAVLO does without a checkpoint."""

    name = "meta-warns"

    def meta(self):
        return {**super().meta(), "warning": "TAVLO has NO checkpoint"}


@pytest.fixture
def knobs(monkeypatch):
    KNOBS.clear()
    monkeypatch.setitem(registry.BUILTIN, "flaky", "tests.test_predict_resume:Flaky")
    monkeypatch.setitem(registry.BUILTIN, "warns", "tests.test_predict_resume:Warns")
    monkeypatch.setitem(registry.BUILTIN, "meta-warns", "tests.test_predict_resume:MetaWarns")
    monkeypatch.setattr(runner_mod, "SEGMENT_FRAMES", 3)
    yield KNOBS
    KNOBS.clear()


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """5 clips, 1-4 annotated frames each: 12 frames, segments of >= 3 cut between clips."""
    root = tmp_path_factory.mktemp("resume-root")
    box = instance("Single-Sound", "dog", (10, 10, 40, 20))
    for v, n in enumerate((4, 1, 3, 2, 2)):
        for k in range(n):
            write_frame(root, f"clip{v}_00010", 5 * k + 1, [box], width=64, height=36,
                        jpeg=False)
    return root


def _predict(tmp_path, root, *extra, out="p.npz"):
    os.chdir(tmp_path)
    return CliRunner().invoke(cli, ["predict", "-m", "flaky", "--root", str(root), "-o", out,
                                    *extra])


def test_segments_are_whole_clips_of_at_least_the_size(root):
    ds = AvatarDataset(root, use_cache=False)
    segs = runner_mod.plan_segments(ds.frames, 3)
    assert segs == [(0, 4), (4, 8), (8, 12)]  # clips of 4 | 1+3 | 2+2 frames
    assert runner_mod.plan_segments(ds.frames, 100) == [(0, 12)]


def test_interrupted_run_resumes_to_identical_bytes(knobs, root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = _predict(tmp_path, root, out="whole.npz")
    assert res.exit_code == 0, res.output
    knobs.update(fail_at=6, seen=0)
    res = _predict(tmp_path, root)
    assert res.exit_code == 2
    assert "model 'flaky' raised RuntimeError on frame clip2_00010_00006" in res.stderr
    assert "Traceback" not in res.stderr and "--debug" in res.stderr
    assert "4 of 12 finished frames are kept" in res.stderr
    assert not (tmp_path / "p.npz").exists()
    part = partial_path(tmp_path / "p.npz")
    assert sorted(p.name for p in part.glob("seg-*.npz")) == ["seg-000000.npz"]
    knobs.update(fail_at=None, seen=0)
    res = _predict(tmp_path, root)
    assert res.exit_code == 0, res.output
    assert knobs["seen"] == 8            # the 4 finished frames were not predicted again
    assert "4 resumed" in res.stdout
    assert (tmp_path / "p.npz").read_bytes() == (tmp_path / "whole.npz").read_bytes()
    assert not part.exists()


def test_debug_prints_the_traceback(knobs, root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    knobs.update(fail_at=0)
    res = _predict(tmp_path, root, "--debug")
    assert res.exit_code == 2
    assert "Traceback" in res.stderr and "RuntimeError: boom" in res.stderr


def test_keyboard_interrupt_and_full_disk_keep_finished_segments(knobs, root, tmp_path):
    ds = AvatarDataset(root, use_cache=False)
    whole = run_predict(Flaky(seed=0), ds, tmp_path / "whole.npz").output.read_bytes()
    out = tmp_path / "p.npz"
    knobs.update(fail_at=9, error=KeyboardInterrupt, seen=0)
    with pytest.raises(KeyboardInterrupt):
        run_predict(Flaky(seed=0), ds, out)
    assert len(list(partial_path(out).glob("seg-*.npz"))) == 2
    real_fsync, calls = os.fsync, []

    def full_disk(fd):               # the last segment is saved, then the disk is full
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    knobs.update(fail_at=None)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "fsync", full_disk)
        with pytest.raises(AvatarBenchError, match="No space left on device") as err:
            run_predict(Flaky(seed=0), ds, out)
    assert "12 of 12 finished frames are kept" in str(err.value)
    assert not out.exists() and not list(tmp_path.glob(".*tmp-*"))
    knobs.update(seen=0)
    summary = run_predict(Flaky(seed=0), ds, out)
    assert summary.resumed_frames == 12 and knobs["seen"] == 0
    assert out.read_bytes() == whole
    out.unlink()
    calls.clear()
    knobs.update(fail_at=9, error=KeyboardInterrupt, seen=0)
    with pytest.raises(KeyboardInterrupt):
        run_predict(Flaky(seed=0), ds, out)
    knobs.update(fail_at=None)
    with pytest.MonkeyPatch.context() as mp:    # now the first segment write fails
        mp.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(
            OSError(errno.ENOSPC, "No space left on device")))
        with pytest.raises(AvatarBenchError, match="No space left on device"):
            run_predict(Flaky(seed=0), ds, out)
    assert not list(partial_path(out).glob(".*tmp-*"))
    knobs.update(seen=0)
    summary = run_predict(Flaky(seed=0), ds, out)
    assert summary.resumed_frames == 8 and knobs["seen"] == 4
    assert out.read_bytes() == whole


def test_other_settings_are_refused_until_restart(knobs, root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    knobs.update(fail_at=5)
    assert _predict(tmp_path, root).exit_code == 2
    knobs.update(fail_at=None)
    res = _predict(tmp_path, root, "--seed", "1")
    assert res.exit_code == 2
    assert "other settings" in res.stderr and "--restart" in res.stderr
    assert "meta.options.seed: was 0, now 1" in res.stderr
    res = _predict(tmp_path, root, "--seed", "1", "--restart")
    assert res.exit_code == 0, res.output
    fresh = _predict(tmp_path, root, "--seed", "1", out="fresh.npz")
    assert fresh.exit_code == 0
    assert (tmp_path / "p.npz").read_bytes() == (tmp_path / "fresh.npz").read_bytes()


def test_changed_checkpoint_or_annotations_are_refused(knobs, tmp_path):
    root = tmp_path / "root"
    for v in range(3):
        write_frame(root, f"v{v}_00010", 1, [instance("Single-Sound", "dog", (1, 1, 9, 9))],
                    width=64, height=36, jpeg=False)
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"one")
    out = tmp_path / "p.npz"
    knobs.update(fail_at=1, seen=0)
    monkey_ds = AvatarDataset(root, use_cache=False)
    with pytest.raises(AvatarBenchError, match="raised RuntimeError"):
        run_predict(Flaky(checkpoint=str(weights)), monkey_ds, out, segment_frames=1)
    weights.write_bytes(b"two")
    knobs.update(fail_at=None)
    with pytest.raises(AvatarBenchError, match="checkpoint.sha256: was") as err:
        run_predict(Flaky(checkpoint=str(weights)), monkey_ds, out, segment_frames=1)
    weights.write_bytes(b"one")
    write_frame(root, "v0_00010", 1, [instance("Single-Sound", "cat", (1, 1, 9, 9))],
                width=64, height=36, jpeg=False)
    changed = AvatarDataset(root, use_cache=False)
    with pytest.raises(AvatarBenchError, match="annotation_sha256: was"):
        run_predict(Flaky(checkpoint=str(weights)), changed, out, segment_frames=1)
    with pytest.raises(AvatarBenchError, match="run.segment_frames: was 1, now 2"):
        run_predict(Flaky(checkpoint=str(weights)), monkey_ds, out, segment_frames=2)
    assert "other settings" in str(err.value)


def test_damaged_segment_is_recomputed_and_lock_is_exclusive(knobs, root, tmp_path):
    ds = AvatarDataset(root, use_cache=False)
    whole = run_predict(Flaky(), ds, tmp_path / "whole.npz").output.read_bytes()
    out = tmp_path / "p.npz"
    knobs.update(fail_at=9, seen=0)
    with pytest.raises(AvatarBenchError, match="raised RuntimeError"):
        run_predict(Flaky(), ds, out)
    seg = partial_path(out) / "seg-000001.npz"
    seg.write_bytes(seg.read_bytes()[:100])         # torn by something outside our control
    holder = PartialRun(out, {"any": 1})
    holder.folder.mkdir(exist_ok=True)
    holder._lock()
    with pytest.raises(AvatarBenchError, match="another predict run"):
        run_predict(Flaky(), ds, out)
    with pytest.raises(AvatarBenchError, match="another predict run"):
        run_predict(Flaky(), ds, out, restart=True)
    assert seg.exists()                              # --restart did not touch a live run
    holder.close()
    (tmp_path / ".p.npz.tmp-abc").write_bytes(b"half a file from a killed final write")
    knobs.update(fail_at=None, seen=0)
    run_predict(Flaky(), ds, out)
    assert knobs["seen"] == 8
    assert out.read_bytes() == whole
    assert not (tmp_path / ".p.npz.tmp-abc").exists()


def test_too_few_or_reordered_maps_name_the_frames(knobs, root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    knobs.update(drop_last=True)
    res = _predict(tmp_path, root)
    assert res.exit_code == 2
    assert "returned 3 maps for 4 frames" in res.stderr
    assert "first missing: clip0_00010_00016" in res.stderr
    knobs.update(drop_last=False, reverse=True)
    res = _predict(tmp_path, root)
    assert res.exit_code == 2
    assert "map for 'clip0_00010_00016' where frame clip0_00010_00001 was expected" in \
        res.stderr


def test_constructor_warning_is_one_clean_line(knobs, root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli, ["predict", "-m", "warns", "--root", str(root), "-o",
                                   "w.npz"])
    assert res.exit_code == 0, res.output
    assert res.stderr.count("weights are random") == 1
    assert "warning: weights are random; pass --checkpoint\n" in res.stderr
    assert "UserWarning" not in res.stderr and "warnings.warn" not in res.stderr
    res = CliRunner().invoke(cli, ["predict", "-m", "meta-warns", "--root", str(root), "-o",
                                   "m.npz"])
    assert res.exit_code == 0, res.output
    assert res.stderr == "warning: TAVLO has NO checkpoint\n"


def test_reduced_precision_is_refused_for_a_numpy_model(knobs, root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = _predict(tmp_path, root, "--precision", "bf16")
    assert res.exit_code == 2
    assert "cannot run with precision 'bf16'; it supports: fp32" in res.stderr


class _FakeDataset:
    """Enough of AvatarDataset for the generic path: many frames, no files."""

    def __init__(self, n: int) -> None:
        self.frames = [Frame(f"vid{i // 5:05d}_00001", i % 5, 640, 360, ()) for i in range(n)]
        self.name, self.revision, self.annotation_checksum = "fake", None, "0" * 64


class Big(Adapter):
    name = "big"

    def predict(self, dataset, frames):
        for f in frames:
            yield f.key, np.full((90, 160), 0.5, np.float32)


def test_memory_does_not_grow_with_the_dataset(tmp_path):
    """3,000 maps of 90x160 float32 are 173 MB; the run holds one segment (256 maps)."""
    tracemalloc.start()
    try:
        run_predict(Big(), _FakeDataset(3000), tmp_path / "big.npz")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40e6, f"peak {peak / 1e6:.0f} MB"
    with np.load(tmp_path / "big.npz") as data:
        assert data["heatmaps"].shape == (3000, 90, 160)


class Slow(Flaky):
    """Sleeps per frame once the first segment is done, so a test can kill it mid-run."""

    name = "slow"

    def predict(self, dataset, frames):
        import time

        for item in super().predict(dataset, frames):
            if KNOBS.get("seen", 0) > 4:
                time.sleep(0.5)
            yield item


KILL_RUNNER = ("import sys; from avatar_bench.models import registry; "
               "from avatar_bench.predict import runner; runner.SEGMENT_FRAMES = 3; "
               "registry.BUILTIN['slow'] = 'tests.test_predict_resume:Slow'; "
               "sys.argv[0] = 'avatar-bench'; from avatar_bench.cli import main; main()")


def test_killed_process_resumes_to_identical_bytes(root, tmp_path):
    """SIGKILL (no cleanup at all) after the first segment, then the same command again."""
    import signal
    import subprocess
    import sys
    import time

    repo = Path(__file__).resolve().parents[1]
    cmd = [sys.executable, "-c", KILL_RUNNER, "predict", "-m", "slow", "--root", str(root)]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    whole = subprocess.run([*cmd, "-o", "whole.npz"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120)
    assert whole.returncode == 0, whole.stderr
    proc = subprocess.Popen([*cmd, "-o", "p.npz"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = partial_path(tmp_path / "p.npz") / "seg-000000.npz"
    deadline = time.monotonic() + 60
    while not first.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert first.exists() and not (tmp_path / "p.npz").exists()
    again = subprocess.run([*cmd, "-o", "p.npz"], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "resuming" in again.stderr and "resumed" in again.stdout
    assert (tmp_path / "p.npz").read_bytes() == (tmp_path / "whole.npz").read_bytes()
    assert not partial_path(tmp_path / "p.npz").exists()


def test_progress_lines_count_resumed_frames_out_of_the_rate(monkeypatch, capsys):
    """100 frames resumed, then 200 in 10 s: 20 frames/s, 800 left -> ETA 40 s."""
    from avatar_bench import progress

    monkeypatch.delenv("AVATAR_BENCH_QUIET", raising=False)
    monkeypatch.setattr(progress, "enabled", lambda: False)        # not a terminal
    now = [0.0]
    meter = progress.Meter("predict x", 1100, initial=100, unit="frame", every_s=30,
                           clock=lambda: now[0])
    now[0] = 10.0
    meter.update(200)
    assert meter.eta_s() == pytest.approx(40.0)
    assert capsys.readouterr().err == ""                           # not 30 s yet
    now[0] = 31.0
    meter.update(0)
    assert capsys.readouterr().err == ("predict x: 300/1,100 frames (27%), 6.5 frames/s, "
                                       "ETA 2 min\n")
