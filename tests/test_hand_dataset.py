"""docs/dataset.md's counting rules on a hand-made root: every field of ``summary`` (what
``avatar-bench info`` prints), the splits table and the per-scenario frame lists, each value
counted by hand in the comments."""

from __future__ import annotations

import pytest

from avatar_bench.data import AvatarDataset
from avatar_bench.data.splits import scenario_frames, splits_table, summary
from tests.fakeroot import instance, write_frame

V1, V2, V3 = "a_b-c_00001", "zz_00002", "tiny_00003"
TINY = {"task": "Single-Sound", "audio_visual_category": "bee", "bbox": [10.1, 10.1, 0.2, 0.2],
        "segmentation": [[10.1, 10.1, 10.3, 10.1, 10.3, 10.3, 10.1, 10.3]]}


def _clip(path) -> None:
    """Three grey frames of H.264 (enough for the index to probe fps and length)."""
    import av
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=5)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        for _ in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 90, np.uint8), "rgb24")
            out.mux(video.encode(frame))
        out.mux(video.encode())


@pytest.fixture()
def ds(tmp_path):
    root = tmp_path / "root"
    box = (100, 50, 64, 36)
    # V1: dog -> dog + drum (new: Cross-event) -> off-screen only.
    write_frame(root, V1, 1, [instance("Single-Sound", "dog", box)], jpeg=False)
    write_frame(root, V1, 2, [instance("Mixed-Sound", "dog", box),
                              instance("Mixed-Sound", "drum", (300, 200, 40, 40))], jpeg=False)
    write_frame(root, V1, 3, [instance("Off-Screen", "man", None)], jpeg=False)
    # V2: car (multi-entity) + off-screen car, then car: not Cross-event.
    write_frame(root, V2, 5, [instance("Multi-Entity", "car", box),
                              instance("Off-Screen", "car", None)], jpeg=False)
    write_frame(root, V2, 6, [instance("Multi-Entity", "car", box)], jpeg=False)
    # V3: one frame; the bee's polygon lies between pixel centres (draws nothing).
    write_frame(root, V3, 1, [TINY, instance("Single-Sound", "dog", box)], jpeg=False)
    _clip(root / "video" / f"{V2}.mp4")  # one clip of three videos
    return AvatarDataset(root, name="hand", use_cache=False)


def test_summary_counts(ds):
    s = summary(ds)
    assert (s["dataset"], s["revision"], s["root"]) == ("hand", None, str(ds.root))
    assert (s["videos"], s["frames"], s["categories"]) == (3, 6, 5)  # dog drum man car bee
    assert s["frames_per_scenario"] == {"single_sound": 2, "mixed_sound": 1,
                                        "multi_entity": 2, "off_screen": 2}
    assert s["instances_per_scenario"] == {"single_sound": 3, "mixed_sound": 2,
                                           "multi_entity": 2, "off_screen": 2}
    assert s["cross_event_videos"] == 1
    assert s["cross_event_frames"] == 3          # all of V1
    assert s["cross_event_scored_frames"] == 2   # V1's frames with an on-screen instance
    assert s["frames_per_video"] == {"min": 1, "mean": 2.0, "max": 3,
                                     "histogram": {1: 1, 2: 1, 3: 1}}
    assert (s["videos_with_clip"], s["skipped_frames"], s["skipped"]) == (1, 0, [])
    [empty] = s["empty_instances"]
    assert empty.startswith(f"{V3}_00001: annotations[0] (bee, single_sound)")
    assert "360x640" in empty
    assert summary(ds, check_masks=False)["empty_instances"] is None


def test_frames_per_video_mean_is_rounded(tmp_path):
    # 2 videos with 1 and 2 frames: mean 1.5; 3 videos with 1, 1, 2: 4 / 3 -> 1.333.
    root = tmp_path / "root"
    for vid, n in (("a_00001", 1), ("b_00002", 1), ("c_00003", 2)):
        for i in range(n):
            write_frame(root, vid, i, [instance("Single-Sound", "dog", (0, 0, 9, 9))],
                        jpeg=False)
    s = summary(AvatarDataset(root, use_cache=False), check_masks=False)
    assert s["frames_per_video"]["mean"] == 1.333


def test_splits_table_rows(ds):
    t = splits_table(ds).set_index("key")
    assert list(t.columns) == ["video_id", "frame", "single_sound", "mixed_sound",
                               "multi_entity", "off_screen", "cross_event", "categories"]
    assert len(t) == 6
    row = t.loc[f"{V1}_00002"]
    assert (row["video_id"], row["frame"]) == (V1, 2)
    assert row[["single_sound", "mixed_sound", "multi_entity", "off_screen"]].tolist() == [
        False, True, False, False]
    assert row["cross_event"] and row["categories"] == "dog;drum"
    off = t.loc[f"{V1}_00003"]  # Cross-event is a property of the video
    assert off["cross_event"] and off["off_screen"] and off["categories"] == "man"
    both = t.loc[f"{V2}_00005"]
    assert both["multi_entity"] and both["off_screen"] and not both["cross_event"]
    assert both["categories"] == "car"
    assert t["cross_event"].sum() == 3


def test_scenario_frames_lists_every_membership(ds):
    f = scenario_frames(ds)
    assert sorted(f["single_sound"]) == [f"{V1}_00001", f"{V3}_00001"]
    assert f["mixed_sound"] == [f"{V1}_00002"]
    assert sorted(f["multi_entity"]) == [f"{V2}_00005", f"{V2}_00006"]
    assert sorted(f["off_screen"]) == [f"{V1}_00003", f"{V2}_00005"]


def test_lenient_summary_lists_skipped_frames(tmp_path):
    root = tmp_path / "root"
    write_frame(root, V1, 1, [instance("Single-Sound", "dog", (0, 0, 9, 9))], jpeg=False)
    bad = write_frame(root, V1, 2, [instance("Loud", "dog", (0, 0, 9, 9))], jpeg=False)
    s = summary(AvatarDataset(root, strict=False, use_cache=False), check_masks=False)
    assert (s["frames"], s["skipped_frames"]) == (1, 1)
    # Scenarios without instances count 0 (not absent, not None).
    assert s["instances_per_scenario"] == {"single_sound": 1, "mixed_sound": 0,
                                           "multi_entity": 0, "off_screen": 0}
    [why] = s["skipped"]
    assert str(bad) in why and "task" in why
