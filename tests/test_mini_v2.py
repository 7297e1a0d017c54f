"""AVATAR-mini v2: the world's validity criteria (docs/mini.md), measured on the scenes, on a
freshly generated v2 and on the committed v2 reference entries; v1 stays the default."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from avatar_bench.cli import cli
from avatar_bench.data import AvatarDataset, open_dataset
from avatar_bench.data.index import MANIFEST_NAME
from avatar_bench.data.mini import ensure_mini, generate_mini, training_clips, world_v2
from avatar_bench.data.mini.render import render_audio
from avatar_bench.data.mini.stream import benchmark_scene
from avatar_bench.errors import AvatarBenchError
from tests.cli_runs import predict_and_evaluate

SUBMISSIONS = Path(__file__).resolve().parents[1] / "submissions"
#: The v1 annotation checksum every v1 entry cites (submissions/mini-*/results.json).
V1_SHA256 = "8cc62df6f7a15034b03be87ca6fb0549a0b42e69f7e07fe1769d7e238ee6d794"
ON_SCREEN = ("single_sound", "mixed_sound", "multi_entity")


@pytest.fixture(scope="module")
def scenes() -> dict[str, world_v2.SceneV2]:
    """video_id -> scene of v2 seed 0 (60 clips), without rendering."""
    return dict(benchmark_scene(0, i, version=2) for i in range(60))


@pytest.fixture(scope="module")
def mini2() -> AvatarDataset:
    return AvatarDataset(ensure_mini(seed=0, version=2), name="AVATAR-mini")


def _area(pts: np.ndarray) -> float:
    x, y = pts.T
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


# ------------------------------------------------------------------ phantom envelopes
def test_shuffle_keeps_the_values_and_the_local_energy():
    rng = np.random.default_rng(0)
    template = np.zeros(100)
    for start in range(3, 95, 11):  # bursts of 4 frames every 11 frames
        template[start:start + 4] = rng.uniform(0.5, 1.0)
    out = world_v2.shuffle_envelope(template, np.random.default_rng(1))
    np.testing.assert_array_equal(np.sort(out), np.sort(template))
    assert abs(np.corrcoef(out, template)[0, 1]) < 0.5
    # values only move inside one segment: every prefix sum differs by at most one segment's
    # worth of the largest values
    bound = np.sort(template)[-world_v2.SEGMENT:].sum()
    assert np.abs(np.cumsum(out) - np.cumsum(template)).max() <= bound + 1e-9
    # moving values across the clip breaks that bound (so the check can fail)
    moved = np.sort(template)
    assert np.abs(np.cumsum(moved) - np.cumsum(template)).max() > bound


# ------------------------------------------------------------------ world statistics
def test_every_clip_has_silent_movers_and_background_movers(scenes):
    kinds = Counter()
    for scene in scenes.values():
        silent = [o for o in scene.objects if o.source is None]
        assert silent, scene.kind
        assert all(o.motion_env.max() > 0.3 for o in silent), scene.kind
        assert all(np.abs(o.offsets).max() >= 2 for o in silent)  # they really move
        assert len(scene.clutter) >= 16 and all(c.motion_env.max() > 0.3 for c in scene.clutter)
        kinds[scene.kind] += 1
    assert set(kinds) == set(world_v2.KIND_CYCLE)


def test_object_sizes_are_one_range_in_every_kind(scenes):
    sizes: dict[str, list[float]] = {}
    for scene in scenes.values():
        for o in scene.objects:
            size = np.sqrt(_area(o.vertices(0) - o.centres[0]) / np.pi)
            assert 11.0 <= size <= 20.5, (scene.kind, o.category, size)
            sizes.setdefault(scene.kind, []).append(size)
    means = {k: np.mean(v) for k, v in sizes.items()}
    assert max(means.values()) - min(means.values()) < 2.5, means


def test_silent_lookalikes_and_off_screen_categories(scenes):
    lookalike_kinds = set()
    off_cats = set()
    for scene in scenes.values():
        heard = {s.category for s in scene.sources}
        if any(o.source is None and o.category in heard for o in scene.objects):
            lookalike_kinds.add(scene.kind)
        off_cats |= {s.category for s in scene.sources if s.obj is None}
    assert {"mixed", "off_screen"} <= lookalike_kinds, lookalike_kinds
    assert len(off_cats) >= 4, off_cats


def test_switch_objects_stay_visible_and_keep_moving(scenes):
    n = 0
    for scene in scenes.values():
        if scene.kind != "switch":
            continue
        speakers = [o for o in scene.objects if o.source is not None]
        assert len(speakers) == 2
        for o in speakers:
            r = o.radius
            assert (o.centres >= r).all() and (o.centres[:, 0] <= 320 - r).all()
            assert (o.centres[:, 1] <= 180 - r).all()
            assert o.motion_env[:45].max() > 0.3 and o.motion_env[55:].max() > 0.3
        n += 1
    assert n == 6


def _frame_rms(audio: np.ndarray) -> np.ndarray:
    sr, half = 16000, 0.05
    return np.array([np.sqrt(np.mean(audio[max(0, int((t / 20 - half) * sr)):
                                           int((t / 20 + half) * sr)] ** 2))
                     for t in range(100)])


def test_motion_around_annotated_frames_does_not_tell_the_sounding_object(mini2, scenes):
    """At the frames the paper's rule picks (audio peaks), sounding and silent objects move
    equally on average; only the timing, compared with the audio, tells them apart."""
    ratios, motion_hits, sync_hits, chance, n = [], 0, 0, 0.0, 0
    for vid in mini2.video_ids:
        scene = scenes[vid]
        rms = _frame_rms(render_audio(scene).astype(float))
        disp = [np.r_[0.0, np.hypot(*np.diff(o.centres, axis=0).T)] for o in scene.objects]
        for f in mini2.video_frames(vid):
            inst = [i for i in f.instances if i.on_screen]
            if len(inst) != 1:
                continue
            sounding = {scene.sources[s].obj for s in scene.sounding(f.frame)} - {None}
            assert len(sounding) == 1
            (k,) = sounding
            w = slice(max(f.frame - 8, 0), min(f.frame + 9, 100))
            energy = [d[w].mean() for d in disp]
            sync = [np.corrcoef(d[w], rms[w])[0, 1] for d in disp]
            others = [j for j in range(len(disp)) if j != k]
            ratios.append(energy[k] / np.mean([energy[j] for j in others]))
            motion_hits += energy[k] > max(energy[j] for j in others)
            sync_hits += sync[k] > max(sync[j] for j in others)
            chance += 1 / len(disp)
            n += 1
    assert n > 100
    assert 0.85 < np.mean(ratios) < 1.2, np.mean(ratios)
    assert motion_hits / n < chance / n + 0.1, (motion_hits / n, chance / n)
    assert sync_hits / n > 0.8, sync_hits / n


# ------------------------------------------------------------------ the generated v2
def test_v2_scenarios_sizes_and_off_screen_categories(mini2):
    assert mini2.revision == "mini-v2-seed0-n60" and not mini2.skipped
    share: dict[str, list[float]] = {s: [] for s in ON_SCREEN}
    off = Counter()
    for f in mini2.frames:
        for inst in f.instances:
            if inst.on_screen:
                pts = np.asarray(inst.polygons[0], float).reshape(-1, 2)
                assert np.isfinite(pts).all() and _area(pts) > 50
                assert (pts >= 0).all() and (pts[:, 0] <= 320).all() and (pts[:, 1] <= 180).all()
                share[inst.scenario].append(_area(pts) / (320 * 180))
            else:
                off[inst.category] += 1
    means = {s: float(np.mean(v)) for s, v in share.items()}
    assert all(len(v) >= 40 for v in share.values())
    assert max(means.values()) < 1.2 * min(means.values()), means
    assert len(off) >= 4 and sum(off.values()) >= 25, off


def test_v2_switch_clips_change_the_sounding_object(mini2, scenes):
    changed = 0
    for vid in mini2.video_ids:
        if scenes[vid].kind != "switch":
            continue
        objs = set()
        for f in mini2.video_frames(vid):
            objs |= {scenes[vid].sources[s].obj for s in scenes[vid].sounding(f.frame)}
        changed += len(objs - {None}) == 2
    assert changed >= 4


def test_v2_is_deterministic_and_v1_stays_the_default(tmp_path, mini):
    generate_mini(tmp_path / "a", seed=2, n_clips=3, version=2)
    generate_mini(tmp_path / "b", seed=2, n_clips=3, version=2)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*")
                   if p.is_file())
    assert any(str(p).endswith(".mp4") for p in files)
    for p in files:
        assert (tmp_path / "a" / p).read_bytes() == (tmp_path / "b" / p).read_bytes(), p
    manifest = json.loads((tmp_path / "a" / MANIFEST_NAME).read_text())
    assert manifest["revision"] == "mini-v2-seed2-n3"
    assert manifest["generator"]["world"]["version"] == 2
    # v1 is untouched: same checksum as every committed v1 entry, still the default
    assert mini.revision == "mini-v1-seed0-n60" and mini.annotation_checksum == V1_SHA256
    assert open_dataset(None).revision == "mini-v1-seed0-n60"
    assert open_dataset("mini").root == mini.root


def test_v2_training_stream_is_deterministic_and_disjoint(scenes):
    a = list(training_clips(seed=0, n_clips=3, frames_per_clip=2, version=2))
    b = list(training_clips(seed=0, n_clips=3, frames_per_clip=2, version=2))
    for x, y in zip(a, b, strict=True):
        assert x.clip_id == y.clip_id and x.clip_id not in scenes
        np.testing.assert_array_equal(x.frames, y.frames)
    v1 = next(training_clips(seed=0, n_clips=1, frames_per_clip=2))
    assert not np.array_equal(v1.audio, a[0].audio)
    with pytest.raises(ValueError, match="unknown AVATAR-mini version"):
        next(training_clips(seed=0, n_clips=1, version=3))


def test_dataset_option_and_errors(mini2):
    res = CliRunner().invoke(cli, ["info", "--dataset", "mini-v2"])
    assert res.exit_code == 0, res.output
    assert "mini-v2-seed0-n60" in res.output
    with pytest.raises(AvatarBenchError, match="--dataset mini-v2 or --root"):
        open_dataset("mini-v2", "/nonexistent")
    with pytest.raises(AvatarBenchError, match="unknown dataset 'mini-v3'.*'mini-v2'"):
        open_dataset("mini-v3")


# ------------------------------------------------------------------ committed v2 entries
V2_MODELS = ["oracle", "center-prior", "random", "motion", "motion-sync"]
#: Media-dependent entries (they decode video/audio) agree within this many CIoU points.
MEDIA_TOLERANCE = 0.05


def _entry(model: str) -> dict:
    return json.loads((SUBMISSIONS / f"mini-v2-{model}" / "results.json").read_text())


def _ciou(model: str, subset: str) -> float:
    return _entry(model)["metrics"][subset]["ciou"]


def test_committed_v2_entries_cite_v2(mini2):
    for model in V2_MODELS:
        doc = _entry(model)
        assert doc["dataset"]["revision"] == "mini-v2-seed0-n60", model
        assert doc["dataset"]["annotation_sha256"] == mini2.annotation_checksum, model
        meta = json.loads((SUBMISSIONS / f"mini-v2-{model}" / "submission.json").read_text())
        assert meta["dataset"] == "AVATAR-mini" and meta["source"] == "reproduced"


def test_committed_v2_entries_meet_the_validity_criteria():
    """docs/mini.md, "Validity criteria": no audio, at most half of motion-sync; near the
    floors on Multi-entity; the synchrony cue separates what motion cannot."""
    floors = {s: max(_ciou("center-prior", s), _ciou("random", s))
              for s in ("total", "multi_entity")}
    assert _ciou("motion", "total") <= 0.5 * _ciou("motion-sync", "total")
    assert _ciou("motion", "multi_entity") <= floors["multi_entity"] + 1.0
    assert _ciou("motion-sync", "multi_entity") >= 3 * _ciou("motion", "multi_entity")
    for model in ("oracle", "motion-sync"):
        for subset in ("single_sound", "mixed_sound", "multi_entity", "total", "cross_event"):
            assert _ciou(model, subset) > 3 * max(_ciou("center-prior", subset),
                                                  _ciou("random", subset)), (model, subset)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["oracle", "center-prior", "random"])
def test_v2_reference_entries_reproduce_byte_for_byte(model, mini2, tmp_path, monkeypatch):
    out = predict_and_evaluate(model, "mini-v2", tmp_path, monkeypatch)
    assert out.read_bytes() == (SUBMISSIONS / f"mini-v2-{model}" / "results.json").read_bytes()


def _metric_numbers(doc: dict) -> dict[str, float]:
    out = {}
    for subset, m in doc["metrics"].items():
        for k in ("ciou", "auc", "ap50"):
            out[f"{subset}.{k}"] = m[k]
            out.update({f"{subset}.ci.{k}.{j}": v for j, v in enumerate(m["ci"][k])})
        out[f"{subset}.n_frames"] = m["n_frames"]
    out.update({f"off_screen.{k}": v for k, v in doc["off_screen"].items()
                if isinstance(v, int | float)})
    return out


@pytest.mark.slow
@pytest.mark.parametrize("model", ["motion", "motion-sync"])
def test_v2_media_entries_reproduce_within_tolerance(model, mini2, tmp_path, monkeypatch):
    fresh = json.loads(predict_and_evaluate(model, "mini-v2", tmp_path, monkeypatch).read_text())
    committed = _entry(model)
    a, b = _metric_numbers(fresh), _metric_numbers(committed)
    assert a.keys() == b.keys()
    bad = {k: (a[k], b[k]) for k in a if abs(a[k] - b[k]) > MEDIA_TOLERANCE}
    assert not bad, bad
    assert fresh["dataset"] == committed["dataset"]
