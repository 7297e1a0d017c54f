"""AVATAR-mini: layout, determinism, scenario semantics, media, training stream, caching."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from avatar_bench.data import AvatarDataset
from avatar_bench.data.index import MANIFEST_NAME, rasterise
from avatar_bench.data.mini import (
    CATEGORIES,
    GEN_VERSION,
    ensure_mini,
    generate_mini,
    select_annotation_frames,
    training_clips,
    world,
)
from avatar_bench.data.mini import generate as gen
from avatar_bench.data.mini.render import background, render_audio, render_frame, sprite
from avatar_bench.data.mini.stream import benchmark_clip, benchmark_scene
from avatar_bench.data.splits import cross_event_videos, scenario_frames
from avatar_bench.errors import AvatarBenchError

ID_RE = re.compile(r"^[A-Za-z0-9_-]{11}_\d{5}$")


@pytest.fixture(scope="module")
def scenes() -> dict[str, world.Scene]:
    """video_id -> scene of the default benchmark (seed 0, 60 clips)."""
    return dict(benchmark_scene(0, i) for i in range(60))


def tree_bytes(root: Path) -> dict[str, bytes]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


# ------------------------------------------------------------------ layout, determinism
def test_generation_is_byte_deterministic(tmp_path):
    generate_mini(tmp_path / "a", seed=3, n_clips=4)
    generate_mini(tmp_path / "b", seed=3, n_clips=4)
    a, b = tree_bytes(tmp_path / "a"), tree_bytes(tmp_path / "b")
    assert sorted(a) == sorted(b)
    assert any(k.endswith(".mp4") for k in a) and any(k.endswith(".jpg") for k in a)
    for key in a:  # JSON, JPEG, mp4 (x264 single-threaded) and manifest all identical
        assert a[key] == b[key], key
    generate_mini(tmp_path / "c", seed=4, n_clips=4)
    assert sorted(tree_bytes(tmp_path / "c")) != sorted(a)


def test_layout_manifest_and_ids(mini_root):
    manifest = json.loads((mini_root / MANIFEST_NAME).read_text())
    assert manifest["revision"] == f"mini-v{GEN_VERSION}-seed0-n60"
    assert manifest["generator"]["seed"] == 0 and manifest["generator"]["n_clips"] == 60
    ids = sorted(p.name for p in (mini_root / "metadata").iterdir())
    assert len(ids) == 60 and all(ID_RE.match(v) for v in ids)
    assert any(set(v[:11]) & set("_-") for v in ids)  # ids with '_' / '-', like YouTube's
    for vid in ids:
        assert (mini_root / "video" / f"{vid}.mp4").is_file()
        jsons = sorted((mini_root / "metadata" / vid).glob("*.json"))
        assert 1 <= len(jsons) <= 5
        for j in jsons:
            assert re.match(r"^\d{5}\.json$", j.name) and j.with_suffix(".jpg").is_file()
            data = json.loads(j.read_text())
            assert (data["original_width"], data["original_height"]) == (320, 180)


def test_dataset_reads_strictly_with_every_scenario(mini):
    assert mini.strict and not mini.skipped
    assert len(mini.video_ids) == 60
    assert 200 <= len(mini) <= 300
    per = scenario_frames(mini)
    assert all(len(per[s]) >= 25 for s in per), {s: len(v) for s, v in per.items()}
    assert len(cross_event_videos(mini)) >= 10
    assert mini.categories == sorted(CATEGORIES) and len(CATEGORIES) == 8
    assert mini.revision == f"mini-v{GEN_VERSION}-seed0-n60"


def test_videos_probe_and_decode(mini):
    for vid in mini.video_ids:
        info = mini.video_info(vid)
        assert (info.fps, info.n_frames, info.width, info.height) == (20.0, 100, 320, 180)
        assert info.has_audio and info.sample_rate == 16000
    vid = mini.video_ids[0]
    audio = mini.audio(vid)
    assert audio.size >= world.N_SAMPLES
    index = next(i for i in range(60) if benchmark_scene(0, i)[0] == vid)
    ref = render_audio(benchmark_scene(0, index)[1])
    assert np.corrcoef(audio[: ref.size], ref)[0, 1] > 0.99  # same audio, no offset


def test_mp4_frame_matches_jpeg_and_render(mini, scenes):
    for vid in mini.video_ids[:4]:
        frames = mini.video_frames(vid)
        decoded = mini.clip_frames(vid, [f.frame for f in frames])
        raw = benchmark_clip(0, list(scenes).index(vid)).frames
        for f in frames:
            jpg = mini.image(f).astype(int)
            assert np.abs(decoded[f.frame].astype(int) - jpg).mean() < 6.0, f.key
            assert np.abs(raw[f.frame].astype(int) - jpg).mean() < 4.0, f.key


def test_annotated_frames_follow_the_rule(mini, scenes):
    for vid in mini.video_ids[:10]:
        clip = benchmark_clip(0, list(scenes).index(vid))
        sharp = np.array([gen.laplacian_sharpness(f) for f in clip.frames])
        chosen = select_annotation_frames(clip.audio, clip.sample_rate, clip.fps, sharp)
        annotated = [f.frame for f in mini.video_frames(vid)]
        assert set(annotated) <= set(chosen) and annotated


# -------------------------------------------------------------------- scenario semantics
def _colour_category(rgb: np.ndarray) -> str:
    def dist(c: str) -> float:
        col = np.asarray(world.LOOKS[c][1], float)
        return float(np.linalg.norm(rgb / (rgb.sum() + 1) - col / col.sum()))

    return min(CATEGORIES, key=dist)


def test_polygons_cover_the_sounding_objects(mini):
    """Inside each on-screen instance's mask, the JPEG shows that category's colour."""
    checked = 0
    for f in mini.frames:
        img = mini.image(f).astype(float)
        for inst in mini.instances_for(f, "total"):
            m = mask_utils.decode(rasterise(f, [inst], (180, 320))).astype(bool)
            assert m.sum() > 100
            assert _colour_category(img[m].mean(axis=0)) == inst.category, f.key
            checked += 1
    assert checked > 200


def test_scenarios_mean_what_the_paper_means(mini, scenes):
    same_pair = edge = 0
    for f in mini.frames:
        scene = scenes[f.video_id]
        on = [i for i in f.instances if i.on_screen]
        visible = [o.category for o in scene.objects]
        for inst in f.instances:
            if inst.scenario == "off_screen":
                assert inst.bbox is None and inst.category == world.OFF_SCREEN_CATEGORY
                assert not on  # only the off-screen source is sounding
            elif inst.scenario == "single_sound":
                assert len(on) == 1 and visible.count(inst.category) == 1
            elif inst.scenario == "multi_entity":
                assert len(on) == 1 and visible.count(inst.category) >= 2
            else:
                assert len(on) >= 2
        mixed = [i for i in f.instances if i.scenario == "mixed_sound"]
        same_pair += len({i.category for i in mixed}) < len(mixed)
        edge += any(i.bbox[0] <= 0 or i.bbox[0] + i.bbox[2] >= 320 for i in mixed)
    assert same_pair >= 5 and edge >= 5


def _frame_rms(audio: np.ndarray) -> np.ndarray:
    sr, half = world.SAMPLE_RATE, 0.05
    return np.array([np.sqrt(np.mean(audio[max(0, int((t / world.FPS - half) * sr)):
                                           int((t / world.FPS + half) * sr)] ** 2))
                     for t in range(world.N_FRAMES)])


def _motion_corr(obj: world.Obj, rms: np.ndarray) -> float:
    d = np.r_[0.0, np.hypot(*np.diff(obj.centres, axis=0).T)]
    return float(np.corrcoef(d, rms)[0, 1])


def test_multi_entity_twins_identical_in_a_frame_but_not_in_motion(scenes):
    tested = 0
    for scene in scenes.values():
        if scene.kind != "multi_entity":
            continue
        talker = next(o for o in scene.objects if o.source is not None)
        twins = [o for o in scene.objects if o.category == talker.category and o is not talker]
        assert twins and all(o.radius == talker.radius for o in twins)
        rgb, mask = sprite(talker.category, talker.radius)
        bg = background(scene.background_seed)
        for t in (10, 47, 83):
            img = render_frame(scene, bg, t, blur=False)
            crops = []
            for o in [talker, *twins]:
                x0, y0 = o.centres[t] - o.radius - 1
                crop = img[y0:y0 + mask.shape[0], x0:x0 + mask.shape[1]]
                crops.append(crop[mask])
            for c in crops[1:]:  # identical pixels: a still frame cannot tell them apart
                np.testing.assert_array_equal(c, crops[0])
            np.testing.assert_array_equal(crops[0], rgb[mask])
        # motion: frame-to-frame displacement follows the audio only for the sounding one
        rms = _frame_rms(render_audio(scene).astype(float))
        assert _motion_corr(talker, rms) > 0.35
        assert all(_motion_corr(o, rms) < _motion_corr(talker, rms) - 0.2 for o in twins)
        assert all(o.motion_env.max() > 0.5 for o in twins)  # the silent twins move too
        tested += 1
    assert tested >= 10


# ---------------------------------------------------------------------- training stream
def test_training_clips_are_deterministic_and_disjoint_from_test():
    a = list(training_clips(seed=0, n_clips=6, frames_per_clip=2))
    b = list(training_clips(seed=0, n_clips=6, frames_per_clip=2))
    for x, y in zip(a, b, strict=True):
        assert x.clip_id == y.clip_id
        np.testing.assert_array_equal(x.frames, y.frames)
        np.testing.assert_array_equal(x.audio, y.audio)
    c = next(training_clips(seed=1, n_clips=1, frames_per_clip=2))
    assert not np.array_equal(c.audio, a[0].audio)
    # same seed as the benchmark, still never a test clip
    test_ids = {benchmark_scene(0, i)[0] for i in range(60)}
    test_audio = [render_audio(benchmark_scene(0, i)[1]) for i in range(10)]
    for clip in a:
        assert clip.clip_id not in test_ids and ID_RE.match(clip.clip_id)
        assert not any(np.array_equal(clip.audio, t) for t in test_audio)


def test_training_clip_format_and_frames_per_clip():
    full = next(training_clips(seed=5, n_clips=1))
    assert full.frames.shape == (100, 180, 320, 3) and full.frames.dtype == np.uint8
    np.testing.assert_array_equal(full.frame_indices, np.arange(100))
    assert full.audio.dtype == np.float32 and full.audio.shape == (world.N_SAMPLES,)
    assert np.abs(full.audio).max() <= 1.0 and (full.fps, full.sample_rate) == (20.0, 16000)
    part = next(training_clips(seed=5, n_clips=1, frames_per_clip=8))
    assert part.frames.shape == (8, 180, 320, 3) and part.n_frames_total == 100
    assert len(set(part.frame_indices.tolist())) == 8 and np.all(np.diff(part.frame_indices) > 0)
    np.testing.assert_array_equal(part.frames, full.frames[part.frame_indices])
    np.testing.assert_array_equal(part.audio, full.audio)
    assert len(list(training_clips(seed=5, n_clips=3, frames_per_clip=1))) == 3


def test_training_clips_are_fast():
    stream = training_clips(seed=2, frames_per_clip=8)  # infinite
    next(stream)
    start = time.perf_counter()
    for _ in range(5):
        next(stream)
    assert (time.perf_counter() - start) / 5 < 0.25  # ~0.03 s measured on 2 cores


# ------------------------------------------------------------------------------- caching
def test_ensure_mini_caches_and_ignores_partial_builds(tmp_path, monkeypatch):
    monkeypatch.setenv("AVATAR_BENCH_CACHE", str(tmp_path / "cache"))
    final = gen.mini_path(seed=7, n_clips=2)
    assert final == tmp_path / "cache" / "mini" / f"seed7-n2-v{GEN_VERSION}"
    # an interrupted build: a temp dir and a final dir without manifest
    partial = final.parent / f".{final.name}.tmp-dead"
    (partial / "metadata").mkdir(parents=True)
    (final / "metadata" / "x").mkdir(parents=True)
    root = ensure_mini(seed=7, n_clips=2)
    assert root == final and (root / MANIFEST_NAME).is_file()
    assert len(list((root / "metadata").iterdir())) == 2
    assert not any(p.name.startswith(f".{final.name}.tmp-") and p != partial
                   for p in final.parent.iterdir())
    stamp = (root / MANIFEST_NAME).stat().st_mtime_ns
    start = time.perf_counter()
    assert ensure_mini(seed=7, n_clips=2) == root
    assert time.perf_counter() - start < 0.5
    assert (root / MANIFEST_NAME).stat().st_mtime_ns == stamp


def test_ensure_mini_with_root_and_a_concurrent_winner(tmp_path, monkeypatch):
    busy = tmp_path / "busy"
    (busy / "junk").mkdir(parents=True)
    with pytest.raises(AvatarBenchError, match="not empty"):
        ensure_mini(seed=0, n_clips=1, root=busy)

    target = tmp_path / "target"
    real = gen.generate_mini

    def racing(out_dir, seed=0, n_clips=60, version=1):  # another process finishes first
        real(out_dir, seed, n_clips, version)
        real(target, seed, n_clips, version)

    monkeypatch.setattr(gen, "generate_mini", racing)
    assert ensure_mini(seed=0, n_clips=1, root=target) == target
    assert (target / MANIFEST_NAME).is_file()
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []
    AvatarDataset(target, use_cache=False)  # theirs is a complete, readable tree


def test_write_mp4_any_even_size_and_refuses_odd(tmp_path):
    from avatar_bench.data import media

    frames = np.full((6, 90, 160, 3), 90, np.uint8)
    frames[:, :45] = (200, 40, 40)
    audio = (0.2 * np.sin(np.arange(8000) / 5)).astype(np.float32)
    gen.write_mp4(tmp_path / "a.mp4", frames, 20.0, audio, 16000)
    info = media.probe(tmp_path / "a.mp4")
    assert (info.width, info.height, info.n_frames, info.fps) == (160, 90, 6, 20.0)
    got = media.read_frames(tmp_path / "a.mp4", [5])[5]
    assert np.abs(got.astype(int) - frames[5]).mean() < 3
    assert media.read_audio(tmp_path / "a.mp4").size >= audio.size
    with pytest.raises(ValueError, match="even"):
        gen.write_mp4(tmp_path / "b.mp4", frames[:, :89], 20.0, audio, 16000)


def test_next_build_sweeps_killed_builds_but_not_live_ones(tmp_path, monkeypatch):
    """A build killed mid-way leaves ``.<name>.tmp-<host>-<pid>-*``: the next build removes it
    at once when that pid is dead, keeps it while the pid lives, and removes a temp folder
    whose owner it cannot check once nothing in it changed for 30 minutes."""
    monkeypatch.setenv("AVATAR_BENCH_CACHE", str(tmp_path / "cache"))
    final = gen.mini_path(seed=9, n_clips=1)
    final.parent.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    host = gen._host()
    killed = final.parent / f".{final.name}.tmp-{host}-{int(dead.stdout)}-abc"
    live = final.parent / f".{final.name}.tmp-{host}-{os.getpid()}-def"
    fresh_unknown = final.parent / f".{final.name}.tmp-xyz"  # a v1-style name, just made
    old_unknown = final.parent / f".{final.name}.tmp-old"
    other = final.parent / ".seed1-n60-v1.tmp-other"  # another build's folder: not ours
    for p in (killed, live, fresh_unknown, old_unknown, other):
        (p / "metadata").mkdir(parents=True)
    hour_ago = time.time() - 3600
    for p in (old_unknown, old_unknown / "metadata", other, other / "metadata"):
        os.utime(p, (hour_ago, hour_ago))
    ensure_mini(seed=9, n_clips=1)
    left = {p.name for p in final.parent.iterdir()}
    assert killed.name not in left and old_unknown.name not in left
    assert {live.name, fresh_unknown.name, other.name, final.name} <= left
    assert not any(f"tmp-{host}-{os.getpid()}-" in n and n != live.name for n in left)
