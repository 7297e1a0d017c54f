"""Every number the evaluator reports, against the slow independent reference (test_ref_lib).

The hand-made root has what AVATAR-mini lacks: originals of three sizes (400x300, 640x360,
1280x720, so the GT is scaled by different factors on x and y), frames with both on-screen
and off-screen instances (TN must skip the on-screen GT), an on-screen GT covering the whole
frame, an off-screen entry carrying a stray polygon, multi-polygon instances, videos written
out of time order, and every Cross-event shape of docs/dataset.md.

Exactness: map values are multiples of 2**-16 and every evaluated size is an exact 4x
upsampling, so all bilinear weights are multiples of 1/8 and every resized value is exact in
float32 and float64 alike; polygons lie on grids that scale to whole pixels, so no pixel
centre is near an edge. Numbers are therefore compared to 1e-9, thresholds exactly.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from avatar_bench.cli import cli
from avatar_bench.data import AvatarDataset
from avatar_bench.eval import evaluate, write_predictions
from tests import test_ref_lib as ref

#: Original size (w, h) -> polygon grid (gx, gy) that scales to whole pixels at 360x640
#: and at 224x224.
GRID = {(400, 300): (25, 75), (640, 360): (20, 45), (1280, 720): (40, 90)}
S400, S640, S1280 = GRID

#: video -> frames (index, original size, [(task, category)]), in the order written.
VIDEOS: dict[str, list[tuple[int, tuple[int, int], list[tuple[str, str]]]]] = {
    # {dog, cat} -> {dog} -> {cat}: every category was seen before: NOT Cross-event.
    "dogcat_a-b_00010": [(10, S400, [("Mixed-Sound", "dog"), ("Mixed-Sound", "cat")]),
                         (20, S400, [("Single-Sound", "dog")]),
                         (30, S400, [("Single-Sound", "cat")])],
    # {dog} -> {cat}: Cross-event.
    "dogthencat_00020": [(3, S640, [("Single-Sound", "dog")]),
                         (7, S640, [("Single-Sound", "cat")])],
    # off-screen speech -> on-screen speech: Cross-event (Fig. 4b).
    "off_speech_00030": [(1, S640, [("Off-Screen", "speech")]),
                         (2, S640, [("Multi-Entity", "speech"), ("Multi-Entity", "speech")])],
    # on + off-screen in one frame, twice, same categories: NOT Cross-event.
    "steady_00050": [(100, S1280, [("Single-Sound", "car"), ("Off-Screen", "horn")]),
                     (200, S1280, [("Single-Sound", "car"), ("Off-Screen", "horn*")])],
    # {dog} -> off-screen cat -> {cat}: Cross-event.
    "offmid_00060": [(1, S640, [("Single-Sound", "dog")]),
                     (2, S640, [("Off-Screen", "cat")]),
                     (3, S640, [("Single-Sound", "cat")])],
    # Written out of time order: frame 8 {cat, dog} comes first: NOT Cross-event.
    "reorder_00070": [(40, S1280, [("Single-Sound", "cat")]),
                      (8, S1280, [("Mixed-Sound", "cat"), ("Mixed-Sound", "dog")])],
    # On-screen GT covering the whole frame next to an off-screen source: TN = 1.
    "fullgt_00080": [(1, S640, [("Single-Sound", "wall!"), ("Off-Screen", "man")])],
    # On-screen dog + off-screen cat, then on-screen cat: Cross-event (off-screen is absent).
    "offcat_00090": [(1, S400, [("Single-Sound", "dog"), ("Off-Screen", "cat")]),
                     (2, S400, [("Multi-Entity", "cat"), ("Single-Sound", "dog"),
                                ("Off-Screen", "man")])],
    # Plain clips for the bootstrap's spread.
    "plain1_00100": [(i, S640, [("Single-Sound", "bird")]) for i in (5, 15, 25)],
    "plain2_00110": [(i, S400, [("Mixed-Sound", "bird"), ("Mixed-Sound", "drum")])
                     for i in (2, 4)],
    "plain3_00120": [(9, S1280, [("Multi-Entity", "man"), ("Multi-Entity", "man")]),
                     (19, S1280, [("Off-Screen", "man")])],
}
CROSS_EVENT = {"dogthencat_00020", "off_speech_00030", "offmid_00060", "offcat_00090"}


def _shape(rng: np.random.Generator, size: tuple[int, int]) -> list[float]:
    """A rectangle or an L shape on the size's grid (original pixel coordinates)."""
    (w, h), (gx, gy) = size, GRID[size]
    nx, ny = w // gx, h // gy
    i0, j0 = int(rng.integers(0, nx - 2)), int(rng.integers(0, ny - 1))
    i1, j1 = int(rng.integers(i0 + 2, nx + 1)), int(rng.integers(j0 + 1, ny + 1))
    x0, y0, x1, y1 = i0 * gx, j0 * gy, i1 * gx, j1 * gy
    if j1 - j0 >= 2 and rng.random() < 0.5:  # L: notch out the top-right corner
        xm, ym = (i0 + 1) * gx, (j0 + 1) * gy
        return [x0, y0, xm, y0, xm, ym, x1, ym, x1, y1, x0, y1]
    return [x0, y0, x1, y0, x1, y1, x0, y1]


def _annotation(rng, size, instances) -> dict:
    anns = []
    for task, cat in instances:
        ann = {"task": task, "audio_visual_category": cat.rstrip("*!")}
        if task != "Off-Screen" or cat.endswith("*"):  # "*": off-screen with a stray shape
            if cat.endswith("!"):
                polys = [[0, 0, size[0], 0, size[0], size[1], 0, size[1]]]
            else:
                polys = [_shape(rng, size) for _ in range(int(rng.integers(1, 3)))]
            xs = [v for p in polys for v in p[0::2]]
            ys = [v for p in polys for v in p[1::2]]
            ann["bbox"] = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
            ann["segmentation"] = polys
        anns.append(ann)
    return {"original_width": size[0], "original_height": size[1], "annotations": anns}


def _map(rng, ann: dict, shape: tuple[int, int]) -> np.ndarray:
    """Values k / 2**16 in [0, 1], hotter on part of the GT; corners 1 and 0 (legacy min-max).

    Fine steps keep ties rare enough for the sampled threshold route; resized values (weights
    k / 64) still need at most 22 bits, exact in float32."""
    g = ref.gt_mask(ann, "total", shape, exact=False)
    quality = rng.random()
    hot = g & (rng.random(shape) < quality)
    ints = np.where(hot, rng.integers(120 << 8, 1 << 16, shape), rng.integers(0, 170 << 8, shape))
    ints[0, 0], ints[-1, -1] = 1 << 16, 0
    return (ints / (1 << 16)).astype(np.float32)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The root on disk, the raw annotations, and two predictions files (90x160, 56x56)."""
    tmp = tmp_path_factory.mktemp("refroot")
    rng = np.random.default_rng(2024)
    frames: dict[tuple[str, int], dict] = {}
    for vid, seq in VIDEOS.items():
        for idx, size, instances in seq:
            ann = _annotation(rng, size, instances)
            folder = tmp / "root" / "metadata" / vid
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{idx:05d}.json").write_text(json.dumps(ann))
            frames[(vid, idx)] = ann
    maps = {}
    for shape in ((90, 160), (56, 56)):
        maps[shape] = {k: _map(rng, a, shape) for k, a in sorted(frames.items())}
        items = [(f"{v}_{i:05d}", m) for (v, i), m in maps[shape].items()]
        write_predictions(tmp / f"p{shape[0]}.npz", iter(items), len(items),
                          {"model": "reference-test"}, np.float32)
    ds = AvatarDataset(tmp / "root", name="ref", use_cache=False)
    return {"tmp": tmp, "frames": frames, "maps": maps, "ds": ds}


def test_the_root_has_the_hard_cases(world):
    """The fixture holds the shapes the planted bugs needed (or the tests below prove less)."""
    frames = world["frames"]
    assert ref.cross_event_videos(frames) == CROSS_EVENT
    both = [k for k, a in frames.items()
            if {"off_screen", "total"} <= ref.frame_scenarios(a)]
    assert len(both) >= 4
    # In those frames TN over the pixels outside the GT differs from TN over all pixels.
    size = (360, 640)
    differs = 0
    for k in both:
        hm = ref.bilinear(world["maps"][(90, 160)][k], size)
        pos = hm >= np.quantile(hm, 0.9)
        g = ref.gt_mask(frames[k], "total", size)
        differs += ref.tn_of(pos, g) != ref.tn_of(pos, np.zeros_like(g))
    assert differs >= 3
    # On 400x300 frames, scaling y by the x factor (or x by the y factor) moves the GT.
    k = ("dogcat_a-b_00010", 20)
    poly = frames[k]["annotations"][0]["segmentation"][0]
    right = ref.polygon_mask(ref.scale_polygon(poly, S400, size), *size)
    wrong = ref.polygon_mask([v * 1.2 for v in poly], *size)
    assert right.sum() != wrong.sum()


def _check(got: dict, want: dict) -> None:
    for s, entry in want["metrics"].items():
        assert got["metrics"][s]["n_frames"] == entry["n_frames"], s
        for f in ("ciou", "auc", "ap50"):
            assert got["metrics"][s][f] == pytest.approx(entry[f], abs=1e-9), (s, f)
    for f in ("tn", "tn_dagger", "n_frames"):
        assert got["off_screen"][f] == pytest.approx(want["off_screen"][f], abs=1e-9), f


@pytest.mark.parametrize("size,shape", [((360, 640), (90, 160)), ((224, 224), (56, 56))])
def test_avatar_protocol_matches_reference(world, size, shape):
    n, seed = 400, 11
    got = evaluate(world["ds"], world["tmp"] / f"p{shape[0]}.npz", resolution=size,
                   bootstrap=n, seed=seed, workers=2)
    want = ref.per_frame(world["frames"], world["maps"][shape], size)
    assert got["thresholds"]["main"] == want["thresholds"]["main"]
    assert got["thresholds"]["dagger"] == want["thresholds"]["dagger"]
    _check(got, ref.aggregate(list(want["rows"].values())))
    assert got["metrics"]["cross_event"]["n_frames"] == 7  # on-screen frames of the 4 videos
    intervals = ref.bootstrap(want["rows"], n, seed)
    agg = ref.aggregate(list(want["rows"].values()))
    assert got["protocol"]["bootstrap"]["level"] == 95
    for s in ref.CIOU_SUBSETS:
        for f in ("ciou", "auc", "ap50"):
            np.testing.assert_allclose(got["metrics"][s]["ci"][f],
                                       ref.hull(intervals[(s, f)], agg["metrics"][s][f]),
                                       atol=1e-9, err_msg=f"{s} {f}")
    for f in ("tn", "tn_dagger"):
        np.testing.assert_allclose(got["off_screen"]["ci"][f],
                                   ref.hull(intervals[("off_screen", f)], agg["off_screen"][f]),
                                   atol=1e-9, err_msg=f)


def test_legacy_protocol_matches_reference(world):
    got = evaluate(world["ds"], world["tmp"] / "p56.npz", protocol="legacy", bootstrap=300,
                   seed=5, workers=1)
    want = ref.per_frame(world["frames"], world["maps"][(56, 56)], (224, 224), "legacy")
    agg = ref.aggregate(list(want["rows"].values()))
    agg["off_screen"]["tn_dagger"] = None
    _check(got, agg)
    assert got["thresholds"] == {"main": None, "dagger": None}
    intervals = ref.bootstrap(want["rows"], 300, 5)
    for s in ref.CIOU_SUBSETS:
        np.testing.assert_allclose(got["metrics"][s]["ci"]["ciou"],
                                   ref.hull(intervals[(s, "ciou")], agg["metrics"][s]["ciou"]),
                                   atol=1e-9, err_msg=s)
    np.testing.assert_allclose(got["off_screen"]["ci"]["tn"],
                               ref.hull(intervals[("off_screen", "tn")], agg["off_screen"]["tn"]),
                               atol=1e-9)


def test_per_frame_csv_matches_reference(world, tmp_path):
    """The CLI's per-frame table, row by row (6 decimals)."""
    out = tmp_path / "frames.csv"
    res = CliRunner().invoke(cli, ["evaluate", str(world["tmp"] / "p90.npz"), "--root",
                                   str(world["tmp"] / "root"), "--per-frame", str(out),
                                   "--bootstrap", "0"])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out, dtype={"video_id": str}).set_index("key")
    want = ref.per_frame(world["frames"], world["maps"][(90, 160)], (360, 640))["rows"]
    assert len(table) == len(want)
    for (vid, idx), row in want.items():
        got = table.loc[f"{vid}_{idx:05d}"]
        for col in ("single_sound", "mixed_sound", "multi_entity", "total"):
            if col in row:
                assert got[f"ciou_{col}"] == pytest.approx(row[col], abs=1e-6), (vid, idx, col)
            else:
                assert np.isnan(got[f"ciou_{col}"]), (vid, idx, col)
        assert bool(got["cross_event"]) == row["cross_event"], (vid, idx)
        for col in ("tn", "tn_dagger"):
            if col in row:
                assert got[col] == pytest.approx(row[col], abs=1e-6), (vid, idx, col)
            else:
                assert np.isnan(got[col]), (vid, idx, col)


# ------------------------------------------------------------------ the three threshold routes
@pytest.fixture(scope="module")
def noise_world(tmp_path_factory):
    """64 frames (320x180 originals, 8 videos) with i.i.d. noise maps k / 2**16 at 45x80:
    a sample of every 4th frame represents the whole, so the sampled route can hit."""
    tmp = tmp_path_factory.mktemp("noise")
    rng = np.random.default_rng(99)
    frames, maps = {}, {}
    tasks = ("Single-Sound", "Mixed-Sound", "Multi-Entity")
    for i in range(64):
        vid, idx = f"noise{i % 8}_{i % 8:05d}", i
        anns = [{"task": tasks[i % 3], "audio_visual_category": f"c{i % 5}",
                 "bbox": [10, 20, 100, 60],
                 "segmentation": [[10, 20, 110, 20, 110, 80, 60, 80, 60, 50, 10, 50]]}]
        if i % 7 == 0:
            anns.append({"task": "Off-Screen", "audio_visual_category": "man"})
        ann = {"original_width": 320, "original_height": 180, "annotations": anns}
        folder = tmp / "root" / "metadata" / vid
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{idx:05d}.json").write_text(json.dumps(ann))
        frames[(vid, idx)] = ann
        maps[(vid, idx)] = (rng.integers(0, 1 << 16, (45, 80)) / (1 << 16)).astype(np.float32)
    items = [(f"{v}_{i:05d}", m) for (v, i), m in sorted(maps.items())]
    write_predictions(tmp / "noise.npz", iter(items), len(items), {"model": "noise"},
                      np.float32)
    ds = AvatarDataset(tmp / "root", name="noise", use_cache=False)
    want = ref.per_frame(frames, maps, (180, 320))
    return ds, tmp / "noise.npz", want


@pytest.mark.parametrize("route,options", [
    ("two-pass", {}),
    ("sampled", {"chunk": 1, "sample_every": 4}),
    ("three-pass", {"boundary_budget": 0}),
])
def test_every_threshold_route_matches_reference(noise_world, route, options):
    from avatar_bench.eval import Evaluator, Protocol

    ds, path, want = noise_world
    ev = Evaluator(ds, path, Protocol(resolution=(180, 320), bootstrap=0), workers=2, **options)
    got = ev.run()
    assert (ev.route, ev.sample_missed) == (route, False)  # the route really ran, and hit
    assert got["thresholds"] == want["thresholds"]
    _check(got, ref.aggregate(list(want["rows"].values())))


def test_sampled_route_when_the_sample_misses_every_dagger_frame(tmp_path):
    """40 one-frame-per-row maps; the only off-screen video's frame is file row 39, which a
    sample of every 4th chunk never reads: the †TN sample is empty, so its interval cannot be
    estimated and the exact route must run (not fail on an empty sample)."""
    from avatar_bench.eval import Evaluator, Protocol

    rng = np.random.default_rng(4)
    frames, maps = {}, {}
    for i in range(40):
        vid = "a_00001" if i < 39 else "z_00002"
        anns = ([{"task": "Off-Screen", "audio_visual_category": "man"}] if i == 39 else
                [{"task": "Single-Sound", "audio_visual_category": "dog", "bbox": [0, 0, 4, 2],
                  "segmentation": [[0, 0, 4, 0, 4, 2, 0, 2]]}])
        ann = {"original_width": 8, "original_height": 8, "annotations": anns}
        folder = tmp_path / "root" / "metadata" / vid
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i:05d}.json").write_text(json.dumps(ann))
        frames[(vid, i)] = ann
        maps[(vid, i)] = (rng.integers(0, 1 << 16, (8, 8)) / (1 << 16)).astype(np.float32)
    items = [(f"{v}_{i:05d}", m) for (v, i), m in sorted(maps.items())]
    path = write_predictions(tmp_path / "p.npz", iter(items), 40, {"model": "n"}, np.float32)
    ds = AvatarDataset(tmp_path / "root", use_cache=False)
    ev = Evaluator(ds, path, Protocol(resolution=(8, 8), bootstrap=0), workers=1, chunk=1,
                   sample_every=4)
    got = ev.run()
    assert ev.route == "two-pass"
    want = ref.per_frame(frames, maps, (8, 8))
    assert got["thresholds"] == want["thresholds"]
    _check(got, ref.aggregate(list(want["rows"].values())))
