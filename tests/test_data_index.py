"""The dataset index on hand-made roots in the real layout: counts, masks, errors, cache."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from avatar_bench.cli import cli
from avatar_bench.data import AvatarDataset, split_key
from avatar_bench.data.splits import cross_event_videos, scenario_frames, summary
from avatar_bench.errors import AvatarBenchError
from tests.fakeroot import instance, write_frame

VID_A = "l_7B1wnTNtA_00020"  # a YouTube id with '_' in it
VID_B = "ab-cd_ef-gh_00000"
VID_C = "zzzzzzzzzzz_00100"


def _root(tmp_path):
    """Three clips; the expected counts are written next to each frame."""
    root = tmp_path / "avatar"
    # A: single -> single -> (new category 'drum' appears) mixed  => Cross-event
    write_frame(root, VID_A, 10, [instance("Single-Sound", "dog", (10, 10, 100, 50))])
    write_frame(root, VID_A, 40, [instance("Single-Sound", "dog", (20, 10, 100, 50))])
    write_frame(root, VID_A, 90, [instance("Mixed-Sound", "dog", (0, 0, 64, 36)),
                                  instance("Mixed-Sound", "drum", (320, 180, 64, 36))])
    # B: off-screen speech, then on-screen speech => Cross-event (off-screen never 'present')
    write_frame(root, VID_B, 5, [instance("Off-Screen", "speech", None)])
    write_frame(root, VID_B, 50, [instance("Multi-Entity", "speech", (100, 100, 50, 80))])
    # C: the same category throughout => not Cross-event; one frame in two scenarios
    write_frame(root, VID_C, 1, [instance("Single-Sound", "car", (0, 0, 640, 360))])
    write_frame(root, VID_C, 30, [instance("Multi-Entity", "car", (0, 0, 320, 360)),
                                  instance("Off-Screen", "car", None)])
    return root


def test_counts_scenarios_and_cross_event(tmp_path):
    ds = AvatarDataset(_root(tmp_path))
    assert len(ds) == 7
    assert ds.video_ids == sorted([VID_A, VID_B, VID_C])
    frames = scenario_frames(ds)
    assert len(frames["single_sound"]) == 3
    assert len(frames["mixed_sound"]) == 1
    assert len(frames["multi_entity"]) == 2
    assert len(frames["off_screen"]) == 2
    assert sorted(cross_event_videos(ds)) == sorted([VID_A, VID_B])
    s = summary(ds)
    assert s["categories"] == 4  # dog, drum, speech, car
    assert s["cross_event_frames"] == 5
    assert s["frames_per_video"]["min"] == 2 and s["frames_per_video"]["max"] == 3


def test_keys_split_on_last_underscore(tmp_path):
    ds = AvatarDataset(_root(tmp_path))
    assert f"{VID_A}_00040" in ds.keys()
    assert split_key(f"{VID_A}_40") == (VID_A, 40)
    assert ds.frame(f"{VID_A}_00040").frame == 40
    with pytest.raises(AvatarBenchError, match="not in dataset"):
        ds.frame(f"{VID_A}_00041")


def test_gt_masks_are_scaled_unions(tmp_path):
    ds = AvatarDataset(_root(tmp_path))
    f = ds.frame(f"{VID_A}_00090")
    total = ds.gt_mask(f, "total", (360, 640))
    # Two disjoint 64x36 rectangles at the original (= evaluation) resolution.
    assert total.shape == (360, 640) and total.dtype == bool
    assert abs(int(total.sum()) - 2 * 64 * 36) <= 2 * (64 + 36)  # polygon edge convention
    assert total[18, 32] and total[198, 352] and not total[100, 200]
    half = ds.gt_mask(f, "total", (180, 320))
    assert half[9, 16] and half[99, 176] and not half[50, 100]
    assert ds.gt_mask(f, "single_sound").sum() == 0
    # Off-screen instances never draw pixels; Multi-Entity part of the frame still does.
    g = ds.gt_mask(ds.frame(f"{VID_C}_00030"), "total")
    assert g[:, :300].all() and not g[:, 340:].any()
    assert not ds.gt_mask(ds.frame(f"{VID_B}_00005"), "total").any()


@pytest.mark.parametrize(
    ("ann", "field"),
    [
        ({"task": "Loud-Sound", "audio_visual_category": "dog"}, "annotations[0].task"),
        ({"task": "Single-Sound"}, "annotations[0].audio_visual_category"),
        ({"task": "Single-Sound", "audio_visual_category": "dog", "bbox": [0, 0, 5, 5],
          "segmentation": [[0, 0, 5, 0, 5]]}, "annotations[0].segmentation[0]"),
        ({"task": "Single-Sound", "audio_visual_category": "dog", "bbox": [600, 0, 100, 5],
          "segmentation": [[0, 0, 5, 0, 5, 5]]}, "annotations[0].bbox"),
        ({"task": "Mixed-Sound", "audio_visual_category": "dog",
          "segmentation": [[0, 0, 5, 0, 5, 5]]}, "annotations[0].bbox"),
    ],
)
def test_malformed_annotation_names_file_and_field(tmp_path, ann, field):
    root = _root(tmp_path)
    bad = write_frame(root, VID_C, 77, [ann])
    with pytest.raises(AvatarBenchError) as err:
        AvatarDataset(root, use_cache=False)
    assert str(bad) in str(err.value) and field in str(err.value)
    # Lenient: the rest loads and the bad frame is reported, never half-used.
    ds = AvatarDataset(root, strict=False, use_cache=False)
    assert len(ds) == 7 and len(ds.skipped) == 1 and str(bad) in ds.skipped[0]


def test_missing_and_empty_roots(tmp_path):
    with pytest.raises(AvatarBenchError, match="does not exist"):
        AvatarDataset(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AvatarBenchError, match="no metadata/ folder"):
        AvatarDataset(tmp_path / "empty")
    (tmp_path / "empty" / "metadata" / "vid_00000").mkdir(parents=True)
    with pytest.raises(AvatarBenchError, match="empty or partial"):
        AvatarDataset(tmp_path / "empty")


def test_index_cache_is_used_and_invalidated(tmp_path):
    root = _root(tmp_path)
    first = AvatarDataset(root)
    cache = first._cache_path()
    assert cache.is_file()
    data = json.loads(cache.read_text())
    data["frames"] = data["frames"][:1]  # a cache hit would now show 1 frame
    cache.write_text(json.dumps(data))
    assert len(AvatarDataset(root)) == 1
    write_frame(root, VID_C, 200, [instance("Single-Sound", "car", (0, 0, 10, 10))])
    assert len(AvatarDataset(root)) == 8  # a changed tree invalidates the cache
    assert first.annotation_checksum != AvatarDataset(root).annotation_checksum


def test_nested_video_folder_and_missing_clip(tmp_path):
    root = _root(tmp_path)
    ds = AvatarDataset(root)
    assert all(v is None for v in ds.videos.values())
    with pytest.raises(AvatarBenchError, match="no clip for video"):
        ds.audio(VID_A)
    img = ds.image(ds.frames[0])
    assert img.shape == (360, 640, 3) and np.all(img == 128)


def test_info_cli_on_hand_made_root(tmp_path):
    root = _root(tmp_path)
    res = CliRunner().invoke(cli, ["info", "--root", str(root), "--json"])
    assert res.exit_code == 0, res.output
    s = json.loads(res.output)
    assert s["frames_per_scenario"] == {"single_sound": 3, "mixed_sound": 1,
                                        "multi_entity": 2, "off_screen": 2}
    assert s["cross_event_videos"] == 2 and s["videos"] == 3
    out = tmp_path / "splits.csv"
    res = CliRunner().invoke(cli, ["splits", "--root", str(root), "--export", str(out)])
    assert res.exit_code == 0, res.output
    import pandas as pd

    table = pd.read_csv(out)
    assert len(table) == 7 and int(table["cross_event"].sum()) == 5


def test_cli_errors_are_messages_not_tracebacks(tmp_path):
    root = _root(tmp_path)
    write_frame(root, VID_C, 78, [{"task": "Loud", "audio_visual_category": "x"}])
    res = CliRunner().invoke(cli, ["info", "--root", str(root)])
    assert res.exit_code == 2
    assert "error:" in res.output and "annotations[0].task" in res.output
    res = CliRunner().invoke(cli, ["info", "--root", str(root), "--lenient"])
    assert res.exit_code == 0 and "skipped 1 malformed" in res.output
    res = CliRunner().invoke(cli, ["info", "--root", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "does not exist" in res.output


def test_info_labels_the_scored_cross_event_frames(tmp_path):
    """Cross-event lists 5 frames (A: 10, 40, 90; B: 5, 50) but B's frame 5 is off-screen
    only, so evaluate scores 4; info shows both counts, and evaluate agrees."""
    root = _root(tmp_path)
    res = CliRunner().invoke(cli, ["info", "--root", str(root)])
    assert res.exit_code == 0, res.output
    assert "cross-event  2 videos, 5 frames" in res.output
    assert "4 of them scored by evaluate (on-screen frames only" in res.output
    s = summary(AvatarDataset(root))
    assert (s["cross_event_frames"], s["cross_event_scored_frames"]) == (5, 4)

    from avatar_bench.eval import evaluate, write_predictions

    ds = AvatarDataset(root)
    maps = [np.full((36, 64), 0.5, np.float32) for _ in ds.keys()]
    preds = tmp_path / "p.npz"
    write_predictions(preds, zip(ds.keys(), maps, strict=True), len(maps), {"model": "flat"})
    result = evaluate(ds, preds, bootstrap=0)
    assert result["metrics"]["cross_event"]["n_frames"] == 4


def test_gt_rle_keep_false_gives_the_same_mask_without_storing_it(mini):
    frame = next(f for f in mini.frames if mini.instances_for(f, "total"))
    size = (36, 64)
    fresh = mini.gt_rle(frame, "total", size, keep=False)
    assert (frame.key, "total", size) not in mini._rle_cache
    kept = mini.gt_rle(frame, "total", size)
    assert (frame.key, "total", size) in mini._rle_cache
    assert fresh == kept and mini.gt_rle(frame, "total", size, keep=False) is kept
