"""GT rasterisation: hand-counted pixels under aspect changes, and the pixel-centre rule.

A 400x300 original evaluated at 360x640 scales x by 1.6 and y by 1.2; at 224x224 (legacy) by
0.56 and 0.74667. The counts below are worked out by hand from those factors; they are read
from ``AvatarDataset.gt_mask`` and, independently of it, from the evaluator's score of a
constant map (every pixel positive, so each frame's cIoU is exactly |G| / (H * W)).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from avatar_bench.data import AvatarDataset
from avatar_bench.eval import evaluate, write_predictions
from tests import test_ref_lib as ref

BOX = [50, 75, 150, 75, 150, 225, 50, 225]      # x 50..150, y 75..225 in the 400x300 original
TRIANGLE = [0, 0, 15, 0, 0, 10]                  # -> (0,0), (24,0), (0,12) at 360x640


def _root(tmp_path, annotations: list[dict], w: int = 400, h: int = 300) -> AvatarDataset:
    folder = tmp_path / "root" / "metadata" / "vid_00001"
    folder.mkdir(parents=True)
    for i, anns in enumerate(annotations):
        (folder / f"{i:05d}.json").write_text(json.dumps(
            {"original_width": w, "original_height": h, "annotations": anns}))
    return AvatarDataset(tmp_path / "root", use_cache=False)


def _inst(task: str, polys: list[list[float]], cat: str = "dog") -> dict:
    xs = [v for p in polys for v in p[0::2]]
    ys = [v for p in polys for v in p[1::2]]
    return {"task": task, "audio_visual_category": cat, "segmentation": polys,
            "bbox": [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]}


def test_box_hand_counted_at_360x640_and_224x224(tmp_path):
    ds = _root(tmp_path, [[_inst("Single-Sound", [BOX])]])
    f = ds.frames[0]
    # 360x640: x 80..240 (160 columns), y 90..270 (180 rows).
    m = ds.gt_mask(f, "total", (360, 640))
    expected = np.zeros((360, 640), bool)
    expected[90:270, 80:240] = True
    np.testing.assert_array_equal(m, expected)
    np.testing.assert_array_equal(ds.gt_mask(f), expected)  # defaults: total at 360x640
    np.testing.assert_array_equal(mask_utils.decode(ds.gt_rle(f)), expected)
    # 224x224: x 28..84 (56 columns), y 56..168 (112 rows).
    m = ds.gt_mask(f, "total", (224, 224))
    expected = np.zeros((224, 224), bool)
    expected[56:168, 28:84] = True
    np.testing.assert_array_equal(m, expected)


def test_triangle_hand_counted(tmp_path):
    # Scaled: x + 2y < 24; row r (centre r + 0.5) holds columns 0 .. 22 - 2r: 23, 21, ..., 1.
    ds = _root(tmp_path, [[_inst("Single-Sound", [TRIANGLE])]])
    m = ds.gt_mask(ds.frames[0], "total", (360, 640))
    assert m[:, 24:].sum() == 0 and m[12:].sum() == 0
    assert m.sum(axis=1)[:12].tolist() == list(range(23, 0, -2))
    for r in range(12):
        assert m[r, :23 - 2 * r].all()


@pytest.mark.parametrize("protocol,size", [("avatar", (360, 640)), ("legacy", (224, 224))])
def test_evaluator_sees_the_hand_counted_gt(tmp_path, protocol, size):
    """Constant maps: all pixels positive, so cIoU = |G| / pixels for each frame."""
    ds = _root(tmp_path, [[_inst("Single-Sound", [BOX, TRIANGLE])], [_inst("Mixed-Sound", [BOX])],
                          [_inst("Off-Screen", [TRIANGLE], "man")]])
    keys = [f.key for f in ds.frames]
    path = write_predictions(tmp_path / "c.npz", ((k, np.full((6, 8), 0.5, np.float32))
                                                  for k in keys), len(keys), {"model": "c"},
                             np.float32)
    r = evaluate(ds, path, protocol=protocol, resolution=size, bootstrap=0, workers=1)
    pixels = size[0] * size[1]
    box = 160 * 180 if protocol == "avatar" else 56 * 112
    if protocol == "avatar":  # box + triangle (disjoint)
        assert r["metrics"]["single_sound"]["ciou"] == pytest.approx(
            (160 * 180 + 144) / pixels * 100, abs=1e-9)
    assert r["metrics"]["mixed_sound"]["ciou"] == pytest.approx(box / pixels * 100, abs=1e-9)
    # The off-screen entry's stray polygon draws nothing: TN counts every pixel (all
    # positive -> 0), and the frame is in no on-screen subset.
    assert r["metrics"]["total"]["n_frames"] == 2
    assert r["off_screen"]["tn"] == 0.0


@pytest.mark.parametrize("size", [(360, 640), (224, 224), (90, 160)])
def test_general_polygons_follow_the_pixel_centre_rule(tmp_path, size):
    """Random polygons (400x300 original): every pixel whose centre is more than 0.2 px from an
    edge is inside the mask exactly when its centre is inside the polygon. pycocotools
    rasterises on a 5x finer grid, so pixels within 0.2 px of an edge may go either way
    (EDGE_BAND, test_ref_lib); they are a small share of the mask."""
    rng = np.random.default_rng(size[0])
    polys = []
    for _ in range(12):
        cx, cy = rng.uniform(40, 360), rng.uniform(30, 270)
        ang = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(3, 9))))
        rad = rng.uniform(5, 60, len(ang))
        xs = np.clip(cx + rad * np.cos(ang), 0, 400)
        ys = np.clip(cy + rad * np.sin(ang), 0, 300)
        polys.append(np.stack([xs, ys], 1).ravel().round(2).tolist())
    ds = _root(tmp_path, [[_inst("Multi-Entity", [p])] for p in polys])
    band_total = 0
    for f, poly in zip(sorted(ds.frames, key=lambda f: f.frame), polys, strict=True):
        got = ds.gt_mask(f, "multi_entity", size)
        scaled = ref.scale_polygon(poly, (400, 300), size)
        want = ref.polygon_mask(scaled, *size)
        band = ref.min_centre_distance(scaled, *size) <= ref.EDGE_BAND
        np.testing.assert_array_equal(got[~band], want[~band])
        band_total += int(band.sum())
        assert int(got.sum()) > 0
    assert band_total < 0.2 * sum(int(ref.polygon_mask(ref.scale_polygon(p, (400, 300), size),
                                                       *size).sum()) for p in polys) + 50


def test_scenario_masks_are_unions_of_their_own_instances(tmp_path):
    # Overlapping instances of two scenarios + a second polygon: hand-placed boxes at 400x300
    # evaluated at 360x640 (x * 1.6, y * 1.2).
    left = [0, 0, 100, 0, 100, 150, 0, 150]        # -> x 0..160, y 0..180
    mid = [50, 0, 150, 0, 150, 75, 50, 75]         # -> x 80..240, y 0..90
    far = [300, 225, 400, 225, 400, 300, 300, 300]  # -> x 480..640, y 270..360
    ds = _root(tmp_path, [[_inst("Single-Sound", [left, far]), _inst("Mixed-Sound", [mid]),
                           _inst("Off-Screen", [[0, 0, 400, 0, 400, 300, 0, 300]], "man")]])
    f = ds.frames[0]
    single = ds.gt_mask(f, "single_sound", (360, 640))
    mixed = ds.gt_mask(f, "mixed_sound", (360, 640))
    total = ds.gt_mask(f, "total", (360, 640))
    assert single.sum() == 160 * 180 + 160 * 90
    assert mixed.sum() == 160 * 90
    assert total.sum() == 160 * 180 + 160 * 90 + 80 * 90  # overlap 80x90 counted once
    assert not ds.gt_mask(f, "multi_entity", (360, 640)).any()
