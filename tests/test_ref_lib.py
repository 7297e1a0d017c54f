"""Slow, independent references for every number the evaluator reports (and their own checks).

Written from docs/evaluation.md and docs/dataset.md only: nothing here imports the code under
test. The references read the raw annotation dicts a test wrote (not the parsed ``Frame``s),
resize with a per-pixel loop, rasterise polygons by testing each pixel centre, pick instances
and Cross-event videos themselves, select the threshold by sorting every pixel, and bootstrap
one replicate at a time by expanding the drawn videos' frames.

Rasterisation convention (checked against pycocotools in test_ref_rasterise.py): a pixel
``(row r, col c)`` belongs to a polygon when its centre ``(c + 0.5, r + 0.5)`` is inside
(even-odd rule). pycocotools rasterises on a 5x finer grid, so it can disagree only on pixels
whose centre lies within 0.2 px of an edge; the references either use shapes with no centre
that close (asserted by ``min_centre_distance``) or exclude that band explicitly.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from sklearn.metrics import auc as sk_auc

#: docs/evaluation.md section 5: ``t = [0.05 * i for i in range(21)]`` (floats, as written).
AUC_TS = [0.05 * i for i in range(21)]
ON_SCREEN = {"Single-Sound": "single_sound", "Mixed-Sound": "mixed_sound",
             "Multi-Entity": "multi_entity"}
CIOU_SUBSETS = ("single_sound", "mixed_sound", "multi_entity", "total", "cross_event")
#: Documented tolerance band of the pixel-centre rule against pycocotools (pixels).
EDGE_BAND = 0.2


# ------------------------------------------------------------------ resize (section 1)
def _axis(n_in: int, n_out: int) -> list[tuple[int, int, float]]:
    """For each output index: the two input neighbours and the weight of the second."""
    out = []
    for i in range(n_out):
        src = max((i + 0.5) * n_in / n_out - 0.5, 0.0)
        i0 = min(int(math.floor(src)), n_in - 1)
        i1 = min(i0 + 1, n_in - 1)
        out.append((i0, i1, src - i0))
    return out


def bilinear(m: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Half-pixel-centre bilinear resize in float64, one output pixel at a time (per row)."""
    m = np.asarray(m, dtype=np.float64)
    rows, cols = _axis(m.shape[0], size[0]), _axis(m.shape[1], size[1])
    c0 = np.array([c[0] for c in cols])
    c1 = np.array([c[1] for c in cols])
    wc = np.array([c[2] for c in cols])
    out = np.empty(size)
    for r, (r0, r1, wr) in enumerate(rows):
        top = m[r0, c0] * (1 - wc) + m[r0, c1] * wc
        bottom = m[r1, c0] * (1 - wc) + m[r1, c1] * wc
        out[r] = top * (1 - wr) + bottom * wr
    return out


# ------------------------------------------------------------------ GT (section 1, dataset.md)
def _centres(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    return xs + 0.5, ys + 0.5


def polygon_mask(poly: list[float], h: int, w: int) -> np.ndarray:
    """Pixels whose centre is inside ``poly`` (flat x, y list in pixel units), even-odd rule."""
    pts = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
    xs, ys = _centres(h, w)
    inside = np.zeros((h, w), bool)
    for (x1, y1), (x2, y2) in zip(pts, np.roll(pts, -1, axis=0), strict=True):
        if y1 == y2:
            continue
        crosses = (y1 > ys) != (y2 > ys)
        x_at = x1 + (ys - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (xs < x_at)
    return inside


def min_centre_distance(poly: list[float], h: int, w: int) -> np.ndarray:
    """Distance from each pixel centre to the polygon's boundary."""
    pts = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
    xs, ys = _centres(h, w)
    d = np.full((h, w), np.inf)
    for (x1, y1), (x2, y2) in zip(pts, np.roll(pts, -1, axis=0), strict=True):
        vx, vy = x2 - x1, y2 - y1
        t = np.clip(((xs - x1) * vx + (ys - y1) * vy) / max(vx * vx + vy * vy, 1e-300), 0, 1)
        d = np.minimum(d, np.hypot(xs - (x1 + t * vx), ys - (y1 + t * vy)))
    return d


def scale_polygon(poly: list[float], orig_wh: tuple[int, int],
                  size: tuple[int, int]) -> list[float]:
    """x by width ratio, y by height ratio (never one factor for both)."""
    sx, sy = size[1] / orig_wh[0], size[0] / orig_wh[1]
    return [v * (sx if j % 2 == 0 else sy) for j, v in enumerate(poly)]


def gt_mask(ann: dict, scenario: str, size: tuple[int, int], exact: bool = True) -> np.ndarray:
    """Union of the frame's instances of ``scenario`` ("total": every on-screen instance).

    ``ann`` is the raw annotation JSON object. Off-Screen entries never draw, even with a
    shape. With ``exact`` it asserts that no pixel centre is within the tolerance band.
    """
    h, w = size
    out = np.zeros(size, bool)
    for inst in ann["annotations"]:
        scen = ON_SCREEN.get(inst["task"])
        if scen is None or (scenario != "total" and scen != scenario):
            continue
        for poly in inst["segmentation"]:
            p = scale_polygon(poly, (ann["original_width"], ann["original_height"]), size)
            if exact:
                assert min_centre_distance(p, h, w).min() > EDGE_BAND, "ambiguous pixel"
            out |= polygon_mask(p, h, w)
    return out


# ------------------------------------------------------------------ subsets (dataset.md)
def frame_scenarios(ann: dict) -> set[str]:
    tasks = {i["task"] for i in ann["annotations"]}
    out = {ON_SCREEN[t] for t in tasks if t in ON_SCREEN}
    if out:
        out.add("total")
    if "Off-Screen" in tasks:
        out.add("off_screen")
    return out


def cross_event_videos(frames: dict[tuple[str, int], dict]) -> set[str]:
    """Videos where a later frame (time order) shows an on-screen category no earlier frame
    showed; off-screen instances never make a category present."""
    videos: dict[str, list[tuple[int, set[str]]]] = {}
    for (vid, idx), ann in frames.items():
        present = {i["audio_visual_category"] for i in ann["annotations"]
                   if i["task"] in ON_SCREEN}
        videos.setdefault(vid, []).append((idx, present))
    out = set()
    for vid, seq in videos.items():
        seq.sort()
        for j in range(1, len(seq)):
            earlier = set().union(*(s for _, s in seq[:j]))
            if seq[j][1] - earlier:
                out.add(vid)
    return out


# ------------------------------------------------------------------ numbers (sections 2-5)
def kth_largest(values: np.ndarray, percent: float) -> float:
    """The k-th largest value, ``k = ceil(M * p / 100)`` in exact decimal arithmetic."""
    v = np.sort(np.asarray(values, dtype=np.float64).ravel())[::-1]
    k = math.ceil(Fraction(v.size) * Fraction(str(percent)) / 100)
    return float(v[max(k, 1) - 1])


def ciou_of(pos: np.ndarray, g: np.ndarray) -> float:
    denom = int(g.sum()) + int((pos & ~g).sum())
    return int((pos & g).sum()) / denom if denom else 0.0


def tn_of(pos: np.ndarray, g_total: np.ndarray) -> float:
    outside = ~g_total
    n = int(outside.sum())
    return int((outside & ~pos).sum()) / n if n else 1.0


def summary(cious: list[float]) -> dict[str, float | None]:
    if not cious:
        return {"ciou": None, "auc": None, "ap50": None}
    c = np.array(cious, dtype=np.float64)
    curve = [float(np.mean(c >= t)) for t in AUC_TS]
    return {"ciou": float(c.mean() * 100), "auc": float(sk_auc(AUC_TS, curve) * 100),
            "ap50": float(np.mean(c >= 0.5) * 100)}


def per_frame(frames: dict, maps: dict, size: tuple[int, int], protocol: str = "avatar",
              percent: float = 10.0) -> dict:
    """Every per-frame number and both thresholds. ``frames``: {(video, idx): annotation}."""
    keys = sorted(frames)
    resized = {k: bilinear(maps[k], size) for k in keys}
    off_videos = {k[0] for k in keys if "off_screen" in frame_scenarios(frames[k])}
    thr = thr_dag = None
    if protocol == "avatar":
        thr = kth_largest(np.concatenate([resized[k].ravel() for k in keys]), percent)
        dag = [resized[k].ravel() for k in keys if k[0] in off_videos]
        thr_dag = kth_largest(np.concatenate(dag), 5.0) if dag else None
    cross = cross_event_videos(frames)
    rows = {}
    for k in keys:
        ann, hm = frames[k], resized[k]
        if protocol == "avatar":
            pos = hm >= thr
        else:
            lo, hi = hm.min(), hm.max()
            norm = (hm - lo) / (hi - lo) if hi > lo else np.zeros_like(hm)
            pos = norm >= np.median(norm)
        scen = frame_scenarios(ann)
        row = {"video": k[0], "scenarios": scen, "cross_event": "total" in scen and k[0] in cross}
        for s in CIOU_SUBSETS[:4]:
            if s in scen:
                row[s] = ciou_of(pos, gt_mask(ann, s, size))
        if "off_screen" in scen:
            g = gt_mask(ann, "total", size)
            row["tn"] = tn_of(pos, g)
            if thr_dag is not None:
                row["tn_dagger"] = tn_of(hm >= thr_dag, g)
        rows[k] = row
    return {"thresholds": {"main": thr, "dagger": thr_dag}, "rows": rows}


def _subset_values(rows: list[dict], subset: str) -> list[float]:
    if subset == "cross_event":
        return [r["total"] for r in rows if r["cross_event"]]
    if subset in ("tn", "tn_dagger"):
        return [r[subset] for r in rows if subset in r]
    return [r[subset] for r in rows if subset in r]


def aggregate(rows: list[dict]) -> dict:
    """The ``metrics`` and ``off_screen`` sections (no intervals) from per-frame rows."""
    metrics = {}
    for s in CIOU_SUBSETS:
        vals = _subset_values(rows, s)
        metrics[s] = dict(summary(vals), n_frames=len(vals))
    off = {}
    for f in ("tn", "tn_dagger"):
        vals = _subset_values(rows, f)
        off[f] = float(np.mean(vals) * 100) if vals else None
    off["n_frames"] = len(_subset_values(rows, "tn"))
    return {"metrics": metrics, "off_screen": off}


def bootstrap(rows: dict, n: int, seed: int) -> dict:
    """Intervals, one replicate at a time: draw videos, concatenate their frames, summarise.

    The draws are ``Generator(PCG64(seed)).integers(0, V, size=(n, V))`` over the sorted video
    ids (the documented generator; the draw layout is the one fixed by the results already
    published). The interval is the 2.5th and 97.5th percentile (a 95% interval) of the
    replicates that have at least one frame of the subset.
    """
    videos = sorted({r["video"] for r in rows.values()})
    by_video = {v: [r for r in rows.values() if r["video"] == v] for v in videos}
    draws = np.random.Generator(np.random.PCG64(seed)).integers(0, len(videos),
                                                                 size=(n, len(videos)))
    reps: dict[tuple[str, str], list[float]] = {}
    for draw in draws:
        sample = [r for d in draw for r in by_video[videos[d]]]
        for s in CIOU_SUBSETS:
            vals = _subset_values(sample, s)
            if vals:  # a replicate without frames of the subset is skipped
                for f, v in summary(vals).items():
                    reps.setdefault((s, f), []).append(v)
        for f in ("tn", "tn_dagger"):
            vals = _subset_values(sample, f)
            if vals:
                reps.setdefault(("off_screen", f), []).append(sum(vals) / len(vals) * 100)
    return {key: [float(x) for x in np.percentile(v, [2.5, 97.5])] for key, v in reps.items()}


def hull(interval: list[float], estimate: float | None) -> list[float]:
    """The reported interval: the percentile interval widened to contain the estimate."""
    if estimate is None:
        return interval
    return [min(interval[0], estimate), max(interval[1], estimate)]


# ------------------------------------------------------------------ the references' own checks
def test_bilinear_half_pixel_hand_values():
    # 2 -> 4 samples at -0.25 (clamped to 0), 0.25, 0.75, 1.25 (both neighbours = 1).
    out = bilinear(np.array([[0.0, 1.0]]), (1, 4))
    np.testing.assert_array_equal(out, [[0.0, 0.25, 0.75, 1.0]])
    # 4 -> 2 samples at 0.5 and 2.5: means of neighbours, no antialiasing.
    np.testing.assert_array_equal(bilinear(np.array([[0.0, 2.0, 4.0, 8.0]]), (1, 2)),
                                  [[1.0, 6.0]])


def test_polygon_mask_hand_counts():
    # Right triangle x + 2y < 8: rows have 7, 5, 3, 1 pixel centres inside.
    m = polygon_mask([0, 0, 8, 0, 0, 4], 5, 10)
    assert m.sum(axis=1).tolist() == [7, 5, 3, 1, 0]
    assert polygon_mask([1, 1, 3, 1, 3, 2, 1, 2], 4, 4).sum() == 2


def test_kth_largest_exact_decimal():
    v = np.arange(3000, dtype=np.float64)  # k = 33 (float arithmetic would give 34)
    assert kth_largest(v, 1.1) == 2967.0


def test_cross_event_reference_rule():
    def f(*cats):
        return {"annotations": [{"task": "Single-Sound", "audio_visual_category": c}
                                for c in cats]}
    frames = {("a", 1): f("dog", "cat"), ("a", 2): f("dog"), ("a", 3): f("cat"),
              ("b", 1): f("dog"), ("b", 2): f("cat")}
    assert cross_event_videos(frames) == {"b"}


def test_summary_reference_against_hand_values():
    s = summary([1.0, 0.0])
    assert s["ciou"] == 50.0 and s["ap50"] == 50.0
    assert s["auc"] == pytest.approx((0.05 * 1.5 / 2 + 19 * 0.05 * 0.5) * 100, abs=1e-12)
