"""Reference predictors: deterministic maps whose scores follow from the GT alone."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from avatar_bench.cli import cli
from avatar_bench.data import AvatarDataset
from avatar_bench.errors import AvatarBenchError
from avatar_bench.eval import PredictionsFile, evaluate, write_predictions
from avatar_bench.models.registry import create
from tests.fakeroot import instance, write_frame


@pytest.fixture()
def big_gt(tmp_path):
    """Boxes on the 4-pixel grid covering >= 25% of each on-screen frame, plus off-screen."""
    root = tmp_path / "root"
    write_frame(root, "v_00001", 8, [instance("Single-Sound", "dog", (0, 0, 320, 180))],
                jpeg=False)
    write_frame(root, "v_00001", 20, [instance("Off-Screen", "man", None)], jpeg=False)
    write_frame(root, "w_00002", 4, [instance("Mixed-Sound", "cat", (320, 0, 320, 360)),
                                     instance("Mixed-Sound", "dog", (0, 0, 160, 360))],
                jpeg=False)
    return AvatarDataset(root, use_cache=False)


def _run(ds, name, tmp_path, **kw):
    adapter = create(name, seed=0)
    path = write_predictions(tmp_path / f"{name}.npz", adapter.predict(ds, ds.frames), len(ds),
                             adapter.meta())
    return evaluate(ds, path, bootstrap=0, **kw)


def _gt_share(ds, scenario):
    shares = [ds.gt_mask(f, scenario).mean() for f in ds.frames
              if ds.instances_for(f, scenario)]
    return float(np.mean(shares)) * 100


def test_uniform_ties_make_every_pixel_positive(big_gt, tmp_path):
    r = _run(big_gt, "uniform", tmp_path)
    assert r["thresholds"]["main"] == 1.0
    assert r["off_screen"]["tn"] == 0.0 and r["off_screen"]["tn_dagger"] == 0.0
    # Every pixel positive: cIoU = |G| / (|G| + |~G|) = the GT's share of the frame.
    for s in ("single_sound", "mixed_sound", "total"):
        assert r["metrics"][s]["ciou"] == pytest.approx(_gt_share(big_gt, s), abs=1e-9)


def test_oracle_near_perfect_when_gt_covers_the_top_share(big_gt, tmp_path):
    r = _run(big_gt, "oracle", tmp_path)
    # The GT covers more than 10% of the pixels, so the threshold is the value 1.0 and the
    # positives are the pixels whose two bilinear neighbours per axis are both inside the
    # 90x160 mask. At 4x upsampling with half-pixel centres a box edge inside the image loses
    # 2 pixels (output x samples (x + 0.5) / 4 - 0.5); edges on the image border lose none.
    assert r["thresholds"]["main"] == 1.0
    inner = {"single_sound": (318 * 178) / (320 * 180),
             "mixed_sound": (158 + 318) / (160 + 320)}
    for s, expected in inner.items():
        assert r["metrics"][s]["ciou"] == pytest.approx(expected * 100, abs=1e-9)
    assert r["off_screen"]["tn"] == 100.0


def test_oracle_with_small_gt_spends_the_budget_around_the_gt(tmp_path):
    root = tmp_path / "root"
    write_frame(root, "v_00001", 1, [instance("Single-Sound", "dog", (0, 0, 64, 36))],
                jpeg=False)
    write_frame(root, "v_00001", 9, [instance("Off-Screen", "dog", None)], jpeg=False)
    ds = AvatarDataset(root, use_cache=False)
    r = _run(ds, "oracle", tmp_path)
    # GT = 1% of one frame's pixels < 10%: a 0/1 mask would tie the background at a threshold
    # of 0. The falloff puts the threshold inside the ring around the GT instead.
    assert r["thresholds"]["main"] > 0.0
    # Slow reference: resize the stored (float16) maps, sort all pixels, take the k-th largest.
    preds = np.load(tmp_path / "oracle.npz", allow_pickle=False)
    from avatar_bench.eval.resize import resize_bilinear

    maps = resize_bilinear(preds["heatmaps"].astype(np.float32), (360, 640))
    k = int(np.ceil(maps.size * 0.10))
    thr = np.sort(maps.ravel())[::-1][k - 1]
    key = {f.key: i for i, f in enumerate(ds.frames)}
    on = maps[list(preds["keys"]).index(ds.frames[0].key)] >= thr
    g = ds.gt_mask(ds.frames[key[ds.frames[0].key]], "total")
    expected = (on & g).sum() / (g.sum() + (on & ~g).sum())
    assert r["metrics"]["total"]["ciou"] == pytest.approx(expected * 100, abs=1e-6)
    # GT share / positive share = 1% / 20% (the top 10% of two frames, one of them empty)
    assert r["metrics"]["total"]["ciou"] > 4 * _gt_share(ds, "total")
    assert r["off_screen"]["tn"] == 100.0  # the off-screen frame's map is all zeros < thr


def test_random_is_deterministic_per_key_and_seed(big_gt):
    a = dict(create("random", seed=1).predict(big_gt, big_gt.frames))
    b = dict(create("random", seed=1).predict(big_gt, list(reversed(big_gt.frames))))
    c = dict(create("random", seed=2).predict(big_gt, big_gt.frames))
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
        assert not np.array_equal(a[k], c[k])
        assert a[k].min() >= 0 and a[k].max() < 1


def test_random_scores_near_chance(big_gt, tmp_path):
    r = _run(big_gt, "random", tmp_path)
    # Noise: about 10% of the off-screen frame's pixels are above the threshold.
    assert r["off_screen"]["tn"] == pytest.approx(90.0, abs=1.5)


def test_center_prior_peaks_in_the_centre():
    (key, m), = create("center-prior").predict(None, [_frame()])
    assert m.shape == (90, 160)
    assert np.unravel_index(m.argmax(), m.shape) in {(44, 79), (44, 80), (45, 79), (45, 80)}
    assert m[0, 0] < m[45, 80]


def _frame():
    from avatar_bench.data.annotations import Frame

    return Frame("v_00001", 1, 640, 360, ())


def test_unknown_option_and_checkpoint_rejected():
    with pytest.raises(AvatarBenchError, match="unknown option"):
        create("uniform", colour="red")
    with pytest.raises(AvatarBenchError, match="no checkpoint"):
        create("oracle", checkpoint="x.pt")


def test_cli_predict_then_evaluate(big_gt, tmp_path):
    out = tmp_path / "u.npz"
    runner = CliRunner()
    res = runner.invoke(cli, ["predict", "--model", "uniform", "--root", str(big_gt.root),
                              "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert PredictionsFile(out).meta == {"model": "uniform",
                                         "options": {"device": "cpu", "seed": 0}}
    res = runner.invoke(cli, ["evaluate", str(out), "--root", str(big_gt.root), "--bootstrap",
                              "20", "-o", str(tmp_path / "r.json"), "--per-frame",
                              str(tmp_path / "f.csv")])
    assert res.exit_code == 0, res.output
    assert "Single CIoU" in res.output and "Cross-event" in res.output
    first = (tmp_path / "r.json").read_bytes()
    runner.invoke(cli, ["evaluate", str(out), "--root", str(big_gt.root), "--bootstrap", "20",
                        "-o", str(tmp_path / "r.json")])
    assert (tmp_path / "r.json").read_bytes() == first
    header = (tmp_path / "f.csv").read_text().splitlines()[0]
    assert header.startswith("key,video_id,frame,ciou_single_sound")
    res = runner.invoke(cli, ["models"])
    assert res.exit_code == 0 and "center-prior" in res.output and "oracle" in res.output
