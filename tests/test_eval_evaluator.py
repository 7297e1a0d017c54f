"""The evaluator end to end: hand-computed cases, a slow independent reference on generated
data, the legacy protocol, bootstrap reproducibility and byte-identical JSON."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import auc as sk_auc

from avatar_bench.data import AvatarDataset
from avatar_bench.eval import Evaluator, Protocol, evaluate, results_json, write_predictions
from avatar_bench.eval.resize import resize_bilinear
from tests.fakeroot import instance, write_frame

F32 = np.float32


def _write(path, maps: dict[str, np.ndarray], dtype=np.float32):
    return write_predictions(path, iter(maps.items()), len(maps), {"model": "hand"}, dtype)


@pytest.fixture()
def hand(tmp_path):
    """4 frames of 4x4 pixels, evaluated at 4x4 (no resizing), with known answers.

    Pixel values: 0.9 x4 (A1), 0.8 x1 (A2), 0.7 x5 (B1), zeros elsewhere; 64 pixels, top 10%
    -> k = 7 -> threshold 0.7, and the tie makes 10 pixels positive.
    """
    root = tmp_path / "root"
    kw = {"width": 4, "height": 4, "jpeg": False}
    write_frame(root, "v_a_00001", 1, [instance("Single-Sound", "dog", (0, 0, 2, 2))], **kw)
    write_frame(root, "v_a_00001", 2, [instance("Off-Screen", "man", None)], **kw)
    write_frame(root, "vb_00002", 1, [instance("Mixed-Sound", "cat", (2, 2, 2, 2)),
                                      instance("Multi-Entity", "car", (0, 0, 1, 1))], **kw)
    write_frame(root, "vb_00002", 2, [instance("Single-Sound", "dog", (0, 0, 4, 1))], **kw)
    ds = AvatarDataset(root, name="hand", use_cache=False)
    a1, a2, b1, b2 = (np.zeros((4, 4), F32) for _ in range(4))
    a1[:2, :2] = 0.9
    a2[3, 3] = 0.8
    b1[2:, 2:] = 0.7
    b1[0, 3] = 0.7
    maps = {"v_a_00001_00001": a1, "v_a_00001_2": a2, "vb_00002_00001": b1, "vb_00002_2": b2}
    return ds, _write(tmp_path / "hand.npz", maps)


@pytest.mark.parametrize("budget", [10**9, 0])
def test_hand_case_avatar_protocol(hand, budget):
    ds, path = hand
    ev = Evaluator(ds, path, Protocol(resolution=(4, 4), bootstrap=0), boundary_budget=budget)
    r = ev.run()
    assert ev.route == ("two-pass" if budget else "three-pass")
    assert r["thresholds"] == {"main": float(F32(0.7)), "dagger": float(F32(0.9))}
    m = r["metrics"]
    curve = [1.0] + [0.5] * 20
    ts = [0.05 * i for i in range(21)]
    assert m["single_sound"]["ciou"] == pytest.approx(50.0)
    assert m["single_sound"]["ap50"] == pytest.approx(50.0)
    assert m["single_sound"]["auc"] == pytest.approx(sk_auc(ts, curve) * 100)
    assert m["mixed_sound"]["ciou"] == pytest.approx(80.0)  # 4 / (4 + 1)
    assert m["multi_entity"]["ciou"] == pytest.approx(0.0)  # 0 / (1 + 5)
    assert m["total"]["ciou"] == pytest.approx((1 + 4 / 6 + 0) / 3 * 100)
    assert m["total"]["n_frames"] == 3
    # vb shows "dog" in its second frame after "cat"/"car": Cross-event.
    assert m["cross_event"]["ciou"] == pytest.approx((4 / 6 + 0) / 2 * 100)
    assert m["cross_event"]["n_frames"] == 2
    off = r["off_screen"]
    assert off["n_frames"] == 1
    assert off["tn"] == pytest.approx(15 / 16 * 100)  # the 0.8 pixel >= 0.7
    assert off["tn_dagger"] == pytest.approx(100.0)  # top 5% of v_a's 32 px: 0.9 > 0.8
    assert m["single_sound"]["ci"] == {"ciou": None, "auc": None, "ap50": None}


def test_empty_scenario_gives_nulls(tmp_path):
    root = tmp_path / "root"
    write_frame(root, "v_00001", 1, [instance("Single-Sound", "dog", (0, 0, 2, 2))],
                width=4, height=4, jpeg=False)
    ds = AvatarDataset(root, use_cache=False)
    path = _write(tmp_path / "p.npz", {"v_00001_00001": np.eye(4, dtype=F32)})
    r = evaluate(ds, path, resolution=(4, 4), bootstrap=10)
    assert r["metrics"]["mixed_sound"] == {"ciou": None, "auc": None, "ap50": None,
                                           "n_frames": 0,
                                           "ci": {"ciou": None, "auc": None, "ap50": None}}
    assert r["off_screen"]["tn"] is None and r["off_screen"]["n_frames"] == 0
    assert r["thresholds"]["dagger"] is None
    assert r["metrics"]["single_sound"]["n_frames"] == 1


def test_legacy_protocol_hand_case(tmp_path):
    root = tmp_path / "root"
    kw = {"width": 224, "height": 224, "jpeg": False}
    write_frame(root, "v_00001", 1, [instance("Single-Sound", "dog", (0, 0, 112, 112))], **kw)
    write_frame(root, "v_00001", 2, [instance("Single-Sound", "dog", (0, 0, 112, 112))], **kw)
    write_frame(root, "v_00001", 3, [instance("Off-Screen", "man", None)], **kw)
    ds = AvatarDataset(root, use_cache=False)
    left = np.zeros((224, 224), F32)
    left[:, :112] = 5.0            # median of {0, 5} halves = 2.5 -> left half positive
    spike = np.zeros((224, 224), F32)
    spike[0, 0] = 1.0              # median 0 -> every pixel positive
    maps = {"v_00001_1": left, "v_00001_2": np.full((224, 224), 3.0, F32), "v_00001_3": spike}
    r = evaluate(ds, _write(tmp_path / "p.npz", maps), protocol="legacy", bootstrap=0)
    single = r["metrics"]["single_sound"]
    # Frame 1: G = quarter, P = left half -> 1/2; frame 2: constant -> all positive -> 1/4.
    assert single["ciou"] == pytest.approx((0.5 + 0.25) / 2 * 100)
    assert single["ap50"] == pytest.approx(50.0)
    assert r["off_screen"]["tn"] == pytest.approx(0.0)
    assert r["off_screen"]["tn_dagger"] is None
    assert r["thresholds"] == {"main": None, "dagger": None}
    assert r["protocol"]["resolution"] == [224, 224]


# --------------------------------------------------------- generated data (AVATAR-mini)
def slow_reference(ds, keys, maps, size, percent=10.0):
    """Independent reference: all resized pixels, one sort, Python loops over frames."""
    resized = {k: resize_bilinear(m, size) for k, m in zip(keys, maps, strict=True)}
    allpix = np.sort(np.concatenate([r.ravel() for r in resized.values()]))[::-1]
    thr = allpix[math.ceil(allpix.size * percent / 100) - 1]
    off_videos = {f.video_id for f in ds.frames if "off_screen" in f.scenarios}
    dag = np.sort(np.concatenate([resized[f.key].ravel() for f in ds.frames
                                  if f.video_id in off_videos]))[::-1]
    thr_dag = dag[math.ceil(dag.size * 5 / 100) - 1] if dag.size else None
    out = {s: [] for s in ("single_sound", "mixed_sound", "multi_entity", "total")}
    tn, tnd = [], []
    for f in ds.frames:
        hm = resized[f.key]
        pos = hm >= thr
        for s in out:
            inst = ds.instances_for(f, s)
            if not inst:
                continue
            g = ds.gt_mask(f, s, size)
            denom = g.sum() + (pos & ~g).sum()
            out[s].append((pos & g).sum() / denom if denom else 0.0)
        if "off_screen" in f.scenarios:
            outside = ~ds.gt_mask(f, "total", size)
            tn.append((outside & ~pos).sum() / outside.sum())
            tnd.append((outside & (hm < thr_dag)).sum() / outside.sum())
    return thr, thr_dag, out, tn, tnd


@pytest.fixture(scope="module")
def mini_random(mini, tmp_path_factory):
    """Noise maps at an odd size (23x41, float16) so resizing is exercised."""
    rng = np.random.default_rng(7)
    keys = [f.key for f in mini.frames]
    maps = rng.random((len(keys), 23, 41)).astype(np.float16)
    maps[::5] = np.round(maps[::5], 1)  # plenty of ties
    path = tmp_path_factory.mktemp("preds") / "noise.npz"
    write_predictions(path, zip(keys, maps, strict=True), len(keys), {"model": "noise"})
    return keys, maps, path


ROUTES = {  # route -> Evaluator options that force it
    "two-pass": {"chunk": 7, "boundary_budget": 10**9, "sample_every": 1},
    "three-pass": {"chunk": 7, "boundary_budget": 0, "sample_every": 1},
    "sampled": {"chunk": 2, "boundary_budget": 10**6, "sample_every": 3},
    "sampled-missed": {"chunk": 2, "boundary_budget": 10**6, "sample_every": 3},
}


@pytest.mark.parametrize("route", list(ROUTES))
def test_matches_slow_reference_on_mini(mini, mini_random, route, monkeypatch):
    keys, maps, path = mini_random
    size = (90, 160)
    if route == "sampled-missed":  # an interval above every value: the check must catch it
        monkeypatch.setattr("avatar_bench.eval.evaluator.sample_interval",
                            lambda *a: (100.0, 200.0))
    ev = Evaluator(mini, path, Protocol(resolution=size, bootstrap=0), workers=2,
                   **ROUTES[route])
    r = ev.run()
    assert ev.route == ("two-pass" if route == "sampled-missed" else route)
    assert ev.sample_missed == (route == "sampled-missed")
    thr, thr_dag, cious, tn, tnd = slow_reference(mini, keys, maps, size)
    assert r["thresholds"]["main"] == float(thr)
    assert r["thresholds"]["dagger"] == float(thr_dag)
    ts = [0.05 * i for i in range(21)]
    for s, vals in cious.items():
        v = np.array(vals)
        got = r["metrics"][s]
        assert got["n_frames"] == len(v) > 0
        assert got["ciou"] == pytest.approx(v.mean() * 100, abs=1e-9)
        assert got["ap50"] == pytest.approx((v >= 0.5).mean() * 100, abs=1e-9)
        assert got["auc"] == pytest.approx(sk_auc(ts, [np.mean(v >= t) for t in ts]) * 100,
                                           abs=1e-9)
    assert r["off_screen"]["tn"] == pytest.approx(np.mean(tn) * 100, abs=1e-9)
    assert r["off_screen"]["tn_dagger"] == pytest.approx(np.mean(tnd) * 100, abs=1e-9)


def test_bootstrap_reproducible_and_contains_estimate(mini, mini_random, tmp_path):
    _, _, path = mini_random
    kw = {"resolution": (45, 80), "bootstrap": 200}
    a = evaluate(mini, path, seed=3, **kw)
    b = evaluate(mini, path, seed=3, workers=1, **kw)
    c = evaluate(mini, path, seed=4, **kw)
    assert results_json(a) == results_json(b)  # byte-identical, whatever the thread count
    assert a["metrics"]["total"]["ci"] != c["metrics"]["total"]["ci"]
    for s, entry in a["metrics"].items():
        for field in ("ciou", "auc", "ap50"):
            lo, hi = entry["ci"][field]
            assert lo <= entry[field] + 1e-9 and entry[field] <= hi + 1e-9, (s, field)
            assert lo < hi or field != "ciou"
    lo, hi = a["off_screen"]["ci"]["tn"]
    assert lo <= a["off_screen"]["tn"] <= hi
    assert '"schema_version": 1' in results_json(a)


def test_evaluation_never_imports_torch():
    import subprocess
    import sys

    code = ("import sys, avatar_bench.eval, avatar_bench.models.reference, "
            "avatar_bench.cli.evaluate; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_gt_masks_union_equals_total_rasterisation(tmp_path):
    from avatar_bench.eval.counts import GT_SCENARIOS, gt_masks

    tri = {"task": "Multi-Entity", "audio_visual_category": "car", "bbox": [100, 50, 300, 200],
           "segmentation": [[100.5, 50.2, 400.1, 120.7, 210.3, 250.9]]}
    anns = [instance("Single-Sound", "dog", (33.3, 20.1, 200.7, 150.2)),
            instance("Mixed-Sound", "cat", (300, 100, 200, 200)),
            instance("Mixed-Sound", "cow", (350.5, 10.5, 120.2, 300.3)), tri]
    root = tmp_path / "root"
    for i in range(4):  # every combination size: 1, 2, 3 scenarios, and off-screen only
        chosen = [[anns[0]], anns[:2], anns, []][i]
        write_frame(root, "v_00001", i, chosen + [instance("Off-Screen", "man", None)],
                    jpeg=False)
    ds = AvatarDataset(root, use_cache=False)
    for f in ds.frames:
        for size in ((90, 160), (360, 640)):
            masks = gt_masks(ds, f, size)
            np.testing.assert_array_equal(masks[3], ds.gt_mask(f, "total", size))
            for s, m in zip(GT_SCENARIOS[:3], masks[:3], strict=True):
                if ds.instances_for(f, s):
                    np.testing.assert_array_equal(m, ds.gt_mask(f, s, size))
                else:
                    assert m is None


def test_directory_of_npy_scores_like_the_npz(hand, tmp_path):
    ds, path = hand
    folder = tmp_path / "maps"
    folder.mkdir()
    with np.load(path, allow_pickle=False) as z:
        for key, m in zip(z["keys"], z["heatmaps"], strict=True):
            np.save(folder / f"{key}.npy", m)
    a = evaluate(ds, path, resolution=(4, 4), bootstrap=50)
    b = evaluate(ds, folder, resolution=(4, 4), bootstrap=50)
    assert a["metrics"] == b["metrics"] and a["off_screen"] == b["off_screen"]
    assert a["thresholds"] == b["thresholds"]
