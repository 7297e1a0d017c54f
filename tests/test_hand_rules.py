"""One hand-computed case per rule of docs/evaluation.md and docs/dataset.md, through the
public entry points (``evaluate``, ``cross_event_videos``). Each expected value is worked out
in the comment beside it; none comes from running the code."""

from __future__ import annotations

import numpy as np
import pytest

from avatar_bench.data import AvatarDataset
from avatar_bench.data.splits import cross_event_videos
from avatar_bench.eval import evaluate, write_predictions
from avatar_bench.eval.threshold import top_count
from tests.fakeroot import instance, write_frame

F32 = np.float32
SMALL = {"width": 4, "height": 4, "jpeg": False}


def _score(tmp_path, maps: dict[str, np.ndarray], **kw) -> dict:
    ds = AvatarDataset(tmp_path / "root", name="hand", use_cache=False)
    path = write_predictions(tmp_path / "p.npz", iter(maps.items()), len(maps),
                             {"model": "hand"}, np.float32)
    shape = next(iter(maps.values())).shape
    kw.setdefault("resolution", shape)
    return evaluate(ds, path, bootstrap=kw.pop("bootstrap", 0), workers=1, **kw)


# ------------------------------------------------------------------ Cross-event (dataset.md)
def _on(cat: str) -> dict:
    return instance("Single-Sound", cat, (0, 0, 2, 2))


def _off(cat: str) -> dict:
    return instance("Off-Screen", cat, None)


CROSS_EVENT_SHAPES = {
    # name: ([(frame index, instances)] in the order written, Cross-event?)
    "dog+cat, dog, cat (seen before: compare with ALL earlier)":
        ([(1, [_on("dog"), _on("cat")]), (2, [_on("dog")]), (3, [_on("cat")])], False),
    "dog+cat, cat, dog": ([(1, [_on("dog"), _on("cat")]), (2, [_on("cat")]),
                           (3, [_on("dog")])], False),
    "dog, cat": ([(1, [_on("dog")]), (2, [_on("cat")])], True),
    "dog, dog+cat": ([(1, [_on("dog")]), (2, [_on("dog"), _on("cat")])], True),
    "dog, cat, dog": ([(1, [_on("dog")]), (2, [_on("cat")]), (3, [_on("dog")])], True),
    "dog, off-screen cat, cat": ([(1, [_on("dog")]), (2, [_off("cat")]), (3, [_on("cat")])],
                                 True),
    "dog, off-screen, dog": ([(1, [_on("dog")]), (2, [_off("x")]), (3, [_on("dog")])], False),
    "off-screen speech, speech (Fig. 4b)": ([(1, [_off("speech")]), (2, [_on("speech")])],
                                            True),
    "off-screen speech twice": ([(1, [_off("speech")]), (2, [_off("speech")])], False),
    "dog + off-screen cat, cat": ([(1, [_on("dog"), _off("cat")]), (2, [_on("cat")])], True),
    "single frame": ([(1, [_on("dog"), _on("cat")])], False),
    "time order, not file order: 40 {cat} written before 8 {cat, dog}":
        ([(40, [_on("cat")]), (8, [_on("cat"), _on("dog")])], False),
    "time order: 8 {cat} then 40 {cat, dog}": ([(40, [_on("cat"), _on("dog")]),
                                               (8, [_on("cat")])], True),
    "frame 9 before frame 10 (numeric order)": ([(10, [_on("cat")]), (9, [_on("dog")])], True),
}


@pytest.mark.parametrize("name", list(CROSS_EVENT_SHAPES))
def test_cross_event_shapes(tmp_path, name):
    frames, expected = CROSS_EVENT_SHAPES[name]
    vid = "yt_id-x_00010"
    for idx, anns in frames:
        write_frame(tmp_path / "root", vid, idx, anns, **SMALL)
    ds = AvatarDataset(tmp_path / "root", use_cache=False)
    assert cross_event_videos(ds) == ([vid] if expected else [])
    on_screen = sum(any(a["task"] != "Off-Screen" for a in anns) for _, anns in frames)
    maps = {f"{vid}_{i:05d}": np.eye(4, dtype=F32) for i, _ in frames}
    r = _score(tmp_path, maps)
    # Cross-event scores the on-screen frames of Cross-event videos, and nothing else.
    assert r["metrics"]["cross_event"]["n_frames"] == (on_screen if expected else 0)
    if expected:
        assert r["metrics"]["cross_event"]["ciou"] == r["metrics"]["total"]["ciou"]


# ------------------------------------------------------------------ threshold (section 2)
def test_top_count_is_exact_decimal_where_floats_disagree():
    assert 3000 * 1.1 / 100 > 33  # floats: 33.000000000000004 -> ceil 34
    assert top_count(3000, 1.1) == 33


def test_threshold_is_the_kth_largest_with_exact_k(tmp_path):
    # One 30x100 frame holding 0..2999 once each. p = 1.1: k = ceil(3000 * 1.1 / 100) = 33,
    # so the threshold is the 33rd largest value, 2999 - 32 = 2967 (float k = 34: 2966).
    write_frame(tmp_path / "root", "v_00001", 1, [_on("dog")], width=100, height=30,
                jpeg=False)
    m = np.arange(3000, dtype=F32).reshape(30, 100)
    r = _score(tmp_path, {"v_00001_00001": m}, top_percent=1.1)
    assert r["thresholds"]["main"] == 2967.0


def test_ties_at_the_threshold_are_all_positive(tmp_path):
    # 16 px, p = 10 -> k = 2; three pixels tie at 0.9 -> threshold 0.9, 3 positives.
    # GT = the 2x2 top-left box, which holds two of them: cIoU = 2 / (4 + 1) = 0.4.
    write_frame(tmp_path / "root", "v_00001", 1, [_on("dog")], **SMALL)
    m = np.zeros((4, 4), F32)
    m[0, 0] = m[1, 1] = m[3, 3] = 0.9
    r = _score(tmp_path, {"v_00001_00001": m})
    assert r["thresholds"]["main"] == float(F32(0.9))
    assert r["metrics"]["total"]["ciou"] == pytest.approx(40.0)


def test_constant_map_makes_every_pixel_positive(tmp_path):
    # All 16 pixels tie: GT share 4 / 16 is the cIoU; TN of the off-screen frame is 0.
    write_frame(tmp_path / "root", "v_00001", 1, [_on("dog")], **SMALL)
    write_frame(tmp_path / "root", "v_00001", 2, [_off("man")], **SMALL)
    c = np.full((4, 4), 0.3, F32)
    r = _score(tmp_path, {"v_00001_00001": c, "v_00001_00002": c})
    assert r["metrics"]["total"]["ciou"] == pytest.approx(25.0)
    assert r["off_screen"]["tn"] == 0.0 and r["off_screen"]["tn_dagger"] == 0.0


def test_sparse_binary_map_gets_threshold_zero(tmp_path):
    # Ones on 2 of 32 pixels (6%) < 10%: k = 4 -> the 4th largest is 0 -> all positive.
    write_frame(tmp_path / "root", "v_00001", 1, [_on("dog")], **SMALL)
    write_frame(tmp_path / "root", "v_00001", 2, [_off("man")], **SMALL)
    a = np.zeros((4, 4), F32)
    a[0, 0] = a[0, 1] = 1.0
    r = _score(tmp_path, {"v_00001_00001": a, "v_00001_00002": np.zeros((4, 4), F32)})
    assert r["thresholds"]["main"] == 0.0
    assert r["metrics"]["total"]["ciou"] == pytest.approx(25.0)
    assert r["off_screen"]["tn"] == 0.0


def test_half_pixel_resize_sets_the_threshold(tmp_path):
    # 2x2 map [[0, 1], [0, 1]] at 4x4: columns sample x = -0.25 (-> 0), 0.25, 0.75, 1.25
    # (-> 1): rows are [0, .25, .75, 1]. p = 50 -> k = 8 -> 8th largest = 0.75
    # (align_corners would give 2/3). Positives: the two right columns; GT = left 2x2 box.
    write_frame(tmp_path / "root", "v_00001", 1, [_on("dog")], **SMALL)
    m = np.array([[0, 1], [0, 1]], F32)
    r = _score(tmp_path, {"v_00001_00001": m}, resolution=(4, 4), top_percent=50)
    assert r["thresholds"]["main"] == 0.75
    assert r["metrics"]["total"]["ciou"] == 0.0  # 0 / (4 + 8)


# ------------------------------------------------------------------ per-frame (section 3)
def test_tn_counts_only_pixels_outside_the_on_screen_gt(tmp_path):
    # Frame with an on-screen dog (2x2 box, 4 px) AND an off-screen man. Positives: the 4 GT
    # pixels and 1 outside. TN = (12 - 1) / 12 (outside the GT), not (16 - 5) / 16.
    write_frame(tmp_path / "root", "v_00001", 1, [_on("dog"), _off("man")], **SMALL)
    m = np.zeros((4, 4), F32)
    m[:2, :2] = 1.0
    m[3, 3] = 1.0
    r = _score(tmp_path, {"v_00001_00001": m}, top_percent=25)  # k = 4 -> threshold 1
    assert r["off_screen"]["tn"] == pytest.approx(11 / 12 * 100)
    assert r["metrics"]["total"]["ciou"] == pytest.approx(4 / 5 * 100)
    assert r["metrics"]["single_sound"]["n_frames"] == 1 and r["off_screen"]["n_frames"] == 1


def test_tn_is_one_when_the_gt_covers_the_frame(tmp_path):
    write_frame(tmp_path / "root", "v_00001", 1,
                [instance("Multi-Entity", "wall", (0, 0, 4, 4)), _off("man")], **SMALL)
    m = np.arange(16, dtype=F32).reshape(4, 4)
    r = _score(tmp_path, {"v_00001_00001": m})
    assert r["off_screen"]["tn"] == 100.0 and r["off_screen"]["tn_dagger"] == 100.0
    # The frame counts in both scenarios it has an instance of.
    assert r["metrics"]["multi_entity"]["n_frames"] == 1


def test_ciou_is_zero_when_gt_draws_nothing_and_nothing_is_positive(tmp_path):
    # Frame 1's polygon lies between pixel centres (no pixel); its map is all 0 while frame 2
    # holds the top pixels, so frame 1 has |G| = 0 and |P| = 0: cIoU 0 (not NaN, not 1).
    tiny = {"task": "Single-Sound", "audio_visual_category": "bee", "bbox": [0.6, 0.6, 0.3, 0.3],
            "segmentation": [[0.6, 0.6, 0.9, 0.6, 0.9, 0.9, 0.6, 0.9]]}
    write_frame(tmp_path / "root", "v_00001", 1, [tiny], **SMALL)
    write_frame(tmp_path / "root", "v_00001", 2, [_on("dog")], **SMALL)
    hot = np.zeros((4, 4), F32)
    hot[:2, :2] = 1.0
    r = _score(tmp_path, {"v_00001_00001": np.zeros((4, 4), F32), "v_00001_00002": hot},
               top_percent=12.5)  # 32 px -> k = 4 -> threshold 1.0
    assert r["metrics"]["single_sound"]["ciou"] == pytest.approx(50.0)  # (0 + 1) / 2


# ------------------------------------------------------------------ summarise (section 5)
def test_auc_uses_the_float_thresholds_0_05_times_i(tmp_path):
    # cIoU = 3 / 20 = 0.15 exactly, but 0.05 * 3 = 0.15000000000000002 > 0.15: the success
    # curve is 1, 1, 1, 0, ... -> AUC = 0.05 * 2 + 0.05 / 2 = 0.125. AP50: 0 (0.15 < 0.5).
    write_frame(tmp_path / "root", "v_00001", 1,
                [instance("Single-Sound", "dog", (0, 0, 3, 1))], width=10, height=4, jpeg=False)
    m = np.zeros((4, 10), F32)
    m[0, :3] = 1.0            # the 3 GT pixels
    m[1:, :6] = 1.0           # 18 more... minus one:
    m[3, 5] = 0.0             # 17 outside the GT -> 20 positives
    r = _score(tmp_path, {"v_00001_00001": m}, top_percent=50)  # 40 px -> k = 20
    t = r["metrics"]["total"]
    assert t["ciou"] == pytest.approx(15.0)
    assert t["auc"] == pytest.approx(12.5, abs=1e-9)
    assert t["ap50"] == 0.0


def test_ap50_counts_ciou_of_exactly_one_half(tmp_path):
    # |G| = 4 (2x2 box), positives: 2 in G + 2 outside -> 2 / (4 + 2) = 1/3; and a second
    # frame with 2 in G of |G| = 2 and 2 outside -> 2 / (2 + 2) = 0.5 -> AP50 = 50.
    write_frame(tmp_path / "root", "v_00001", 1, [_on("dog")], **SMALL)
    write_frame(tmp_path / "root", "v_00001", 2,
                [instance("Single-Sound", "cat", (0, 0, 2, 1))], **SMALL)
    a = np.zeros((4, 4), F32)
    a[0, :2] = a[3, :2] = 1.0
    b = np.zeros((4, 4), F32)
    b[0, :2] = b[3, :2] = 1.0
    r = _score(tmp_path, {"v_00001_00001": a, "v_00001_00002": b}, top_percent=25,
               bootstrap=20)
    s = r["metrics"]["single_sound"]
    assert s["ciou"] == pytest.approx((1 / 3 + 0.5) / 2 * 100)
    assert s["ap50"] == 50.0
    assert s["ci"]["ap50"] == [50.0, 50.0]  # one video: every replicate is the same frames


def test_dagger_threshold_uses_only_videos_with_an_off_screen_frame(tmp_path):
    # Video A (with an off-screen frame): 2 frames of 16 px, values 0 except 0.9 and 0.8 on the
    # off-screen frame. Video B (no off-screen frame): 16 px of 1.0.
    # †TN: top 5% of A's 32 px -> k = 2 -> threshold 0.8 -> 2 positives -> †TN = 14/16.
    # (With B's pixels included it would be 1.0 and †TN 100.) Main: 48 px, k = 5 -> 1.0 ->
    # TN = 100.
    write_frame(tmp_path / "root", "a_00001", 1, [_on("dog")], **SMALL)
    write_frame(tmp_path / "root", "a_00001", 2, [_off("man")], **SMALL)
    write_frame(tmp_path / "root", "b_00002", 1, [_on("dog")], **SMALL)
    off = np.zeros((4, 4), F32)
    off[3, 3], off[3, 2] = 0.9, 0.8
    maps = {"a_00001_00001": np.zeros((4, 4), F32), "a_00001_00002": off,
            "b_00002_00001": np.ones((4, 4), F32)}
    r = _score(tmp_path, maps)
    assert r["thresholds"]["dagger"] == float(F32(0.8))
    assert r["off_screen"]["tn_dagger"] == pytest.approx(14 / 16 * 100)
    assert r["off_screen"]["tn"] == 100.0


def test_bootstrap_of_one_video_is_a_point(tmp_path):
    # Every replicate draws the only video once: each interval is [estimate, estimate].
    write_frame(tmp_path / "root", "v_00001", 1, [_on("dog")], **SMALL)
    write_frame(tmp_path / "root", "v_00001", 2, [_on("dog"), _off("x")], **SMALL)
    m = np.zeros((4, 4), F32)
    m[0, 0] = m[3, 3] = 1.0
    r = _score(tmp_path, {"v_00001_00001": m, "v_00001_00002": m}, bootstrap=50)
    for f in ("ciou", "auc", "ap50"):
        lo, hi = r["metrics"]["total"]["ci"][f]
        assert lo == pytest.approx(r["metrics"]["total"][f]) == pytest.approx(hi)
    assert r["off_screen"]["ci"]["tn"] == pytest.approx([r["off_screen"]["tn"]] * 2)


def test_one_replicate_and_one_frame_still_give_intervals(tmp_path):
    # A subset of a single frame, a single replicate: the interval is [value, value], not None.
    write_frame(tmp_path / "root", "v_00001", 1, [_on("dog"), _off("x")], **SMALL)
    m = np.zeros((4, 4), F32)
    m[0, 0] = 1.0  # k = 2 of 16 -> threshold 0 -> every pixel positive: cIoU 4 / 16
    r = _score(tmp_path, {"v_00001_00001": m}, bootstrap=1)
    assert r["metrics"]["single_sound"]["ci"]["ciou"] == [25.0, 25.0]
    assert r["metrics"]["single_sound"]["ci"]["ap50"] == [0.0, 0.0]
    assert r["off_screen"]["ci"]["tn"] == [0.0, 0.0]


def test_replicates_without_a_subset_are_skipped_silently(tmp_path):
    # Mixed-sound frames exist in one of two videos only: about half the replicates lack them.
    # They are skipped (docs) without a numpy RuntimeWarning reaching the user.
    import warnings

    write_frame(tmp_path / "root", "a_00001", 1, [instance("Mixed-Sound", "dog", (0, 0, 2, 2))],
                **SMALL)
    write_frame(tmp_path / "root", "b_00002", 1, [_on("cat")], **SMALL)
    write_frame(tmp_path / "root", "b_00002", 2, [_off("man")], **SMALL)
    maps = {k: np.eye(4, dtype=F32) for k in ("a_00001_00001", "b_00002_00001", "b_00002_2")}
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        r = _score(tmp_path, maps, bootstrap=40)
    assert r["metrics"]["mixed_sound"]["ci"]["ciou"] is not None
    assert r["off_screen"]["ci"]["tn"] is not None


def test_three_pass_route_without_off_screen_frames(tmp_path):
    # Heavy-tie route (forced) with no †TN population: the dagger threshold is None, and the
    # main one is exact: 32 px, k = 4 -> 4th largest of {0.9, 0.8, 0.7, 0.6, 0.5, 0...} = 0.6.
    from avatar_bench.eval import Evaluator, Protocol

    write_frame(tmp_path / "root", "v_00001", 1, [_on("dog")], **SMALL)
    write_frame(tmp_path / "root", "v_00001", 2, [_on("dog")], **SMALL)
    a = np.zeros((4, 4), F32)
    a[0, 0], a[0, 1], a[1, 0] = 0.9, 0.8, 0.7
    b = np.zeros((4, 4), F32)
    b[0, 0], b[3, 3] = 0.6, 0.5
    ds = AvatarDataset(tmp_path / "root", use_cache=False)
    path = write_predictions(tmp_path / "p.npz", iter({"v_00001_00001": a,
                                                       "v_00001_00002": b}.items()), 2,
                             {"model": "hand"}, np.float32)
    ev = Evaluator(ds, path, Protocol(resolution=(4, 4), bootstrap=0), boundary_budget=0)
    r = ev.run()
    assert ev.route == "three-pass"
    assert r["thresholds"] == {"main": float(F32(0.6)), "dagger": None}
    # Frame 1: 3 positives in the 2x2 GT -> 3 / 4; frame 2: 1 of 4 -> 1 / 4.
    assert r["metrics"]["total"]["ciou"] == pytest.approx(50.0)
