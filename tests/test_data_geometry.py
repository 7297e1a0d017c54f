"""Annotation geometry, sizes, frame names and duplicate keys: the hostile cases of issue 10
(Infinity, 1e9, outside or zero-area polygons, absurd or mismatched original sizes,
non-ASCII digits, two files for one frame) give an error naming file and field, are skipped
by --lenient, and never reach pycocotools."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from avatar_bench.cli import cli
from avatar_bench.data import AvatarDataset, split_key
from avatar_bench.data.annotations import clip_polygon, has_area, read_frame
from avatar_bench.errors import AvatarBenchError
from tests.fakeroot import instance, write_frame

CLI = str(Path(sys.executable).parent / "avatar-bench")
GOOD_A, GOOD_B, BAD = "good_a_00001", "good-b_00002", "bad_vid_00003"


def _good_root(tmp_path: Path) -> Path:
    """Two valid frames (640x360); tests add one hostile frame beside them."""
    root = tmp_path / "avatar"
    write_frame(root, GOOD_A, 1, [instance("Single-Sound", "dog", (10, 10, 100, 50))])
    write_frame(root, GOOD_B, 2, [instance("Mixed-Sound", "car", (200, 100, 60, 40))])
    return root


def _write_raw(root: Path, video_id: str, frame: int, text: str, jpeg_size=None) -> Path:
    """An annotation file with exactly this JSON text (Infinity, NaN, 1e400 stay literal)."""
    folder = root / "metadata" / video_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{frame:05d}.json"
    path.write_text(text)
    if jpeg_size:
        from PIL import Image

        Image.new("RGB", jpeg_size, (90, 90, 90)).save(path.with_suffix(".jpg"))
    return path


def _ann_text(seg: str, width: str = "640", height: str = "360",
              bbox: str = "[0, 0, 10, 10]") -> str:
    ann = ('{"task": "Single-Sound", "audio_visual_category": "dog", '
           f'"bbox": {bbox}, "segmentation": [{seg}]}}')
    return (f'{{"original_width": {width}, "original_height": {height}, '
            f'"annotations": [{ann}]}}')


SQUARE = "[0, 0, 10, 0, 10, 10, 0, 10]"
HOSTILE = {
    "infinity": (_ann_text("[0, 0, Infinity, 0, 10, 10]"), "annotations[0].segmentation[0]"),
    "nan": (_ann_text("[0, 0, NaN, 0, 10, 10]"), "annotations[0].segmentation[0]"),
    "1e400": (_ann_text("[0, 0, 1e400, 0, 10, 10]"), "annotations[0].segmentation[0]"),
    "10**400": (_ann_text("[0, 0, 1" + "0" * 400 + ", 0, 10, 10]"),
                "annotations[0].segmentation[0]"),
    "1e9": (_ann_text("[0, 0, 1e9, 0, 10, 10]"), "annotations[0].segmentation[0]"),
    # 1 % of 640 is 6.4 px: 7 px outside is too far.
    "outside_x": (_ann_text("[-7, 0, 10, 0, 10, 10]"), "annotations[0].segmentation[0]"),
    "outside_y": (_ann_text("[0, 0, 10, 0, 10, 364]"), "annotations[0].segmentation[0]"),
    "far_outside": (_ann_text("[1000, 1000, 1100, 1000, 1100, 1100]"),
                    "annotations[0].segmentation[0]"),
    "zero_area_line": (_ann_text("[0, 0, 5, 5, 10, 10, 20, 20]"),
                       "annotations[0].segmentation[0]"),
    "zero_area_point": (_ann_text("[3, 3, 3, 3, 3, 3]"), "annotations[0].segmentation[0]"),
    # Inside the tolerance band but wholly outside the frame: nothing left after clipping.
    "only_in_band": (_ann_text("[-3, 10, -1, 10, -1, 20, -3, 20]"),
                     "annotations[0].segmentation[0]"),
    "width_1e30": (_ann_text(SQUARE, width="1e30"), "original_width"),
    "width_10**30": (_ann_text(SQUARE, width="1" + "0" * 30), "original_width"),
    "width_8193": (_ann_text(SQUARE, width="8193"), "original_width"),
    "height_0": (_ann_text(SQUARE, height="0"), "original_height"),
    "height_inf": (_ann_text(SQUARE, height="Infinity"), "original_height"),
    "bbox_nan": (_ann_text(SQUARE, bbox="[0, 0, NaN, 10]"), "annotations[0].bbox"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_geometry_names_file_and_field(tmp_path, case):
    text, field = HOSTILE[case]
    root = _good_root(tmp_path)
    bad = _write_raw(root, BAD, 3, text)
    with pytest.raises(AvatarBenchError) as err:
        AvatarDataset(root, use_cache=False)
    assert str(bad) in str(err.value) and f"field '{field}'" in str(err.value)
    ds = AvatarDataset(root, strict=False, use_cache=False)
    assert sorted(f.key for f in ds) == sorted([f"{GOOD_A}_00001", f"{GOOD_B}_00002"])
    assert len(ds.skipped) == 1 and str(bad) in ds.skipped[0]


def test_original_size_must_match_the_jpeg(tmp_path):
    root = _good_root(tmp_path)
    bad = _write_raw(root, BAD, 3, _ann_text(SQUARE, "1280", "720"), jpeg_size=(640, 360))
    with pytest.raises(AvatarBenchError) as err:
        AvatarDataset(root, use_cache=False)
    msg = str(err.value)
    assert str(bad) in msg and "original_width" in msg and "1280x720" in msg and "640x360" in msg
    # Same size: accepted. No JPEG at all: nothing to compare, accepted.
    _write_raw(root, BAD, 3, _ann_text(SQUARE), jpeg_size=(640, 360))
    assert len(AvatarDataset(root, use_cache=False)) == 3
    bad.with_suffix(".jpg").unlink()
    _write_raw(root, BAD, 3, _ann_text(SQUARE, "1280", "720"))
    assert len(AvatarDataset(root, use_cache=False)) == 3


def test_jpeg_check_reads_only_the_header(tmp_path):
    """A JPEG cut after its header still gives its size: no pixel is decoded."""
    root = _good_root(tmp_path)
    path = _write_raw(root, BAD, 3, _ann_text(SQUARE, "320", "200"), jpeg_size=(320, 200))
    jpg = path.with_suffix(".jpg")
    jpg.write_bytes(jpg.read_bytes()[:700])
    assert read_frame(path).width == 320
    _write_raw(root, BAD, 3, _ann_text(SQUARE, "320", "240"))
    with pytest.raises(AvatarBenchError, match="320x240 disagrees with 00003.jpg, which is 320x"):
        read_frame(path)


def test_slightly_outside_polygons_are_clipped(tmp_path):
    root = _good_root(tmp_path)
    # 3 px left of / 2 px above the frame (tolerance 6.4 x 3.6 px): clipped to 0..20 x 0..10.
    write_frame(root, BAD, 3, [{"task": "Single-Sound", "audio_visual_category": "dog",
                                "bbox": [0, 0, 20, 10],
                                "segmentation": [[-3, -2, 20, -2, 20, 10, -3, 10]]}])
    ds = AvatarDataset(root, use_cache=False)
    frame = ds.frame(f"{BAD}_00003")
    poly = frame.instances[0].polygons[0]
    assert sorted(zip(poly[0::2], poly[1::2], strict=True)) == [(0, 0), (0, 10), (20, 0), (20, 10)]
    mask = ds.gt_mask(frame, "total", (360, 640))
    assert mask[:10, :20].all() and mask.sum() == 200  # 20 x 10 pixels, hand-counted


def test_clip_polygon_hand_computed():
    # Triangle (-10, 0), (10, 0), (10, 20) cut at x = 0: the edge y = x + 10 meets x = 0 at
    # y = 10, so the part inside is the quadrilateral (0,0) (10,0) (10,20) (0,10), area 150.
    got = clip_polygon((-10.0, 0.0, 10.0, 0.0, 10.0, 20.0), 100, 100)
    pts = list(zip(got[0::2], got[1::2], strict=True))
    assert sorted(pts) == [(0, 0), (0, 10), (10, 0), (10, 20)]
    edges = zip(pts, pts[1:] + pts[:1], strict=True)
    area = 0.5 * abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in edges))
    assert area == 150
    inside = (1.0, 1.0, 5.0, 1.0, 5.0, 5.0)
    assert clip_polygon(inside, 10, 10) is inside  # in-frame polygons are never touched


def test_has_area():
    assert not has_area((0, 0, 1, 1, 2, 2, 3, 3))
    assert not has_area((5, 5, 5, 5, 5, 5))
    assert has_area((0, 0, 1, 0, 0, 1))
    assert has_area((0, 0, 2, 2, 2, 0, 0, 2))  # a bowtie: signed area 0, but it draws pixels


def test_tiny_instances_are_reported_by_info(tmp_path):
    root = _good_root(tmp_path)
    write_frame(root, BAD, 3, [{"task": "Single-Sound", "audio_visual_category": "ant",
                                "bbox": [100, 100, 1, 1],
                                "segmentation": [[100, 100, 100.5, 100, 100, 100.5]]}])
    res = CliRunner().invoke(cli, ["info", "--root", str(root), "--json"])
    assert res.exit_code == 0, res.output
    empty = json.loads(res.output)["empty_instances"]
    assert empty == [f"{BAD}_00003: annotations[0] (ant, single_sound) draws no pixel at 360x640"]
    res = CliRunner().invoke(cli, ["info", "--root", str(root)])
    assert "1 on-screen instance(s) draw no pixel" in res.output


@pytest.mark.parametrize("case", ["infinity", "1e9", "width_1e30", "only_in_band"])
def test_info_reports_hostile_frames(tmp_path, case):
    root = _good_root(tmp_path)
    _write_raw(root, BAD, 3, HOSTILE[case][0])
    res = CliRunner().invoke(cli, ["info", "--root", str(root)])
    assert res.exit_code == 2 and HOSTILE[case][1] in res.output
    res = CliRunner().invoke(cli, ["info", "--root", str(root), "--lenient", "--json"])
    assert res.exit_code == 0
    got = json.loads(res.stdout)
    assert got["frames"] == 2 and got["skipped_frames"] == 1
    assert HOSTILE[case][1] in got["skipped"][0]


# ------------------------------------------------------------------- frame names and keys


def test_duplicate_frame_keys_are_refused(tmp_path):
    root = _good_root(tmp_path)
    write_frame(root, BAD, 4, [instance("Single-Sound", "dog", (0, 0, 5, 5))])
    twin = root / "metadata" / BAD / "0004.json"
    twin.write_text((root / "metadata" / BAD / "00004.json").read_text())
    with pytest.raises(AvatarBenchError) as err:
        AvatarDataset(root, use_cache=False)
    msg = str(err.value)
    assert "0004.json" in msg and "00004.json" in msg and f"{BAD}_00004" in msg
    ds = AvatarDataset(root, strict=False, use_cache=False)  # lenient: neither is trusted
    assert f"{BAD}_00004" not in ds.keys() and len(ds) == 2 and len(ds.skipped) == 1
    res = subprocess.run([CLI, "validate", "--root", str(root), str(tmp_path / "none.npz")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "name the same frame" in res.stderr


@pytest.mark.parametrize("name", ["0_²", "²", "\uff10\uff10\uff10\uff10\uff14", "1234567890"])
def test_frame_file_names_are_ascii_digits(tmp_path, name):
    root = _good_root(tmp_path)
    folder = root / "metadata" / BAD
    folder.mkdir(parents=True)
    (folder / f"{name}.json").write_text(_ann_text(SQUARE))
    res = subprocess.run([CLI, "info", "--root", str(root)], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stderr.startswith("error: ") and "Traceback" not in res.stderr
    assert "ASCII digits" in res.stderr
    res = CliRunner().invoke(cli, ["info", "--root", str(root), "--lenient", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["frames"] == 2


@pytest.mark.parametrize("key", ["vid_²", "vid_\uff14", "vid_0_²", "vid_1234567890", "vid_"])
def test_split_key_takes_ascii_digits_only(key):
    with pytest.raises(AvatarBenchError, match="ASCII digits"):
        split_key(key)


def test_split_key_accepts_plain_keys():
    assert split_key("a_b_00004") == ("a_b", 4)
    assert split_key("a_b_4") == ("a_b", 4)


# --------------------------------------------------- evaluate never reaches pycocotools


def _predictions(tmp_path: Path, keys: list[str]) -> Path:
    from avatar_bench.eval import write_predictions

    maps = [np.full((36, 64), 0.5, np.float32) for _ in keys]
    path = tmp_path / "preds.npz"
    write_predictions(path, zip(keys, maps, strict=True), len(keys), {"model": "flat"})
    return path


@pytest.mark.parametrize("case", ["infinity", "1e9", "width_1e30", "far_outside"])
def test_evaluate_on_hostile_root_is_an_error_not_a_crash(tmp_path, case):
    """Before: pycocotools segfaulted (Infinity) or allocated ~19 GB (1e9)."""
    root = _good_root(tmp_path)
    _write_raw(root, BAD, 3, HOSTILE[case][0])
    preds = _predictions(tmp_path, [f"{GOOD_A}_00001", f"{GOOD_B}_00002"])
    res = subprocess.run([CLI, "evaluate", str(preds), "--root", str(root), "--bootstrap", "10"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stdout + res.stderr  # not -11 (SIGSEGV) or -9 (OOM)
    assert res.stderr.startswith("error: ") and HOSTILE[case][1] in res.stderr

    from avatar_bench.eval import evaluate

    with pytest.raises(AvatarBenchError, match="field"):
        evaluate(AvatarDataset(root, use_cache=False), preds, bootstrap=10)
    ds = AvatarDataset(root, strict=False, use_cache=False)
    result = evaluate(ds, preds, bootstrap=10)
    assert result["dataset"]["n_frames"] == 2  # the hostile frame is out, the rest is scored


def test_image_with_other_padding_is_never_another_frames(tmp_path):
    from PIL import Image

    root = _good_root(tmp_path)
    write_frame(root, BAD, 14, [instance("Single-Sound", "dog", (0, 0, 5, 5))])
    write_frame(root, BAD, 4, [instance("Single-Sound", "dog", (0, 0, 5, 5))], jpeg=False)
    Image.new("RGB", (640, 360), (10, 200, 30)).save(root / "metadata" / BAD / "4.jpg")
    ds = AvatarDataset(root, use_cache=False)
    assert tuple(ds.image(ds.frame(f"{BAD}_00004"))[0, 0]) == pytest.approx((10, 200, 30), abs=3)
    assert tuple(ds.image(ds.frame(f"{BAD}_00014"))[0, 0]) == (128, 128, 128)


def test_annotation_that_is_a_fifo_is_reported_not_read(tmp_path):
    import os

    root = _good_root(tmp_path)
    folder = root / "metadata" / BAD
    folder.mkdir(parents=True)
    os.mkfifo(folder / "00003.json")  # open() on it would block forever
    with pytest.raises(AvatarBenchError, match="FIFO"):
        AvatarDataset(root, use_cache=False)
