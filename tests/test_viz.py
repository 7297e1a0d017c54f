"""Visual reports: overlay strips (per-frame cIoU in titles), comparison grid, result bars."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from avatar_bench.cli import cli
from avatar_bench.data import AvatarDataset
from avatar_bench.errors import AvatarBenchError
from avatar_bench.viz import (
    ModelMaps,
    plot_results,
    read_maps,
    render_video,
    top_percent_threshold,
)
from tests.fakeroot import instance, write_frame
from tests.test_leaderboard_fixtures import fixture_entries

VIDEO = "a_b-c_00010"  # ids contain '_' and '-'
H, W = 360, 640


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    write_frame(root, VIDEO, 5, [instance("Single-Sound", "dog", (100, 50, 200, 100))])
    write_frame(root, VIDEO, 15, [instance("Mixed-Sound", "dog", (50, 200, 100, 100)),
                                  instance("Mixed-Sound", "cat", (400, 200, 100, 100))])
    write_frame(root, VIDEO, 25, [instance("Off-Screen", "car", None)])
    write_frame(root, "other_00001", 1, [instance("Single-Sound", "dog", (0, 0, 10, 10))])
    return root


def _maps(shift: int = 0) -> dict[str, np.ndarray]:
    a = np.zeros((H, W), np.float32)
    a[50:150, 150 + shift:350 + shift] = 1.0  # overlaps the GT box x 100..300 on 150..300
    b = np.zeros((H, W), np.float32)
    b[200:300, 50:150] = 1.0  # exactly the first mixed-sound box
    c = np.zeros((H, W), np.float32)
    c[:36, :64] = 1.0  # 1% of an off-screen frame lit
    return {f"{VIDEO}_00005": a, f"{VIDEO}_00015": b, f"{VIDEO}_00025": c}


def _npz(path: Path, maps: dict[str, np.ndarray]) -> Path:
    np.savez(path, keys=np.array(list(maps)), heatmaps=np.stack(list(maps.values())))
    return path


def _expected(ds: AvatarDataset, key: str, heat: np.ndarray, thr: float) -> float:
    gt = ds.gt_mask(ds.frame(key), "total", (H, W))
    pred = heat >= thr
    return float((pred & gt).sum() / (gt.sum() + (pred & ~gt).sum()))


def test_strip_titles_carry_the_frames_ciou(root: Path, tmp_path: Path) -> None:
    ds = AvatarDataset(root, name="AVATAR")
    maps = _maps()
    model = ModelMaps("m", maps, 0.5, "given")
    report = render_video(ds, VIDEO, [model], tmp_path / "strip.png")
    e5 = _expected(ds, f"{VIDEO}_00005", maps[f"{VIDEO}_00005"], 0.5)
    e15 = _expected(ds, f"{VIDEO}_00015", maps[f"{VIDEO}_00015"], 0.5)
    assert abs(e5 - 0.6) < 0.02 and abs(e15 - 0.5) < 0.02  # 15000/25000, 10000/20000
    assert report.titles == [[f"#00005 cIoU {e5:.3f}", f"#00015 cIoU {e15:.3f}",
                              "#00025 off-screen TN 99.0%"]]
    assert report.ciou["m"][f"{VIDEO}_00005"] == pytest.approx(e5)
    with Image.open(report.path) as img:
        w, h = img.size
    assert 900 < w < 1500 and 250 < h < 500  # one row of three 16:9 panels


def test_compare_puts_gt_first_and_a_row_per_model(root: Path, tmp_path: Path) -> None:
    a, b = _npz(tmp_path / "a.npz", _maps()), _npz(tmp_path / "b.npz", _maps(shift=100))
    res = tmp_path / "a_results.json"
    res.write_text(json.dumps({"thresholds": {"main": 0.5, "dagger": None}}))
    out = tmp_path / "cmp.png"
    result = CliRunner().invoke(cli, [
        "visualize", "--root", str(root), "--video", VIDEO, "--compare", str(a), str(b),
        "--results", str(res), "--results", str(res), "-o", str(out)])
    assert result.exit_code == 0, result.output
    ds = AvatarDataset(root, name="AVATAR")
    # b's box sits at x 250..450: 50 px of the 200 px GT width -> 5000/(20000+15000)
    eb = _expected(ds, f"{VIDEO}_00005", _maps(shift=100)[f"{VIDEO}_00005"], 0.5)
    assert abs(eb - 5000 / 35000) < 0.02
    assert f"b: cIoU {VIDEO}_00005: {eb:.3f}" in result.output
    with Image.open(out) as img:
        w, h = img.size
    assert 900 < w < 1500 and 600 < h < 1100  # GT row + two model rows


def test_default_threshold_is_top_10_percent_of_the_videos_maps(root, tmp_path) -> None:
    assert top_percent_threshold([np.arange(100, dtype=np.float32)]) == 90.0
    ramp = {k: np.tile(np.linspace(0, 1, W, dtype=np.float32), (H, 1)) for k in _maps()}
    out = tmp_path / "ramp.png"
    result = CliRunner().invoke(cli, ["visualize", "--root", str(root), "--video", VIDEO,
                                      "--predictions", str(_npz(tmp_path / "r.npz", ramp)),
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    # Top 10% of a left-to-right ramp = the rightmost 64 columns: outside the GT box.
    assert f"r: cIoU {VIDEO}_00005: 0.000" in result.output
    assert out.is_file()


def test_unknown_video_and_missing_maps_are_clear_errors(root, tmp_path) -> None:
    ds = AvatarDataset(root, name="AVATAR")
    with pytest.raises(AvatarBenchError, match="no annotated frames"):
        render_video(ds, "nope_00001", [ModelMaps("m", {}, 0.5, "")], tmp_path / "x.png")
    with pytest.raises(AvatarBenchError, match="no heatmap for any frame"):
        render_video(ds, "other_00001", [ModelMaps("m", _maps(), 0.5, "")], tmp_path / "x.png")
    bad = tmp_path / "bad.npz"
    np.savez(bad, keys=np.array(["k"]))
    with pytest.raises(AvatarBenchError, match="expected arrays 'keys' and 'heatmaps'"):
        read_maps(bad, ["k"])


def test_plot_results_bars(tmp_path: Path) -> None:
    a, b = fixture_entries()["mini-a"][1], fixture_entries()["tavlo-10k"][1]
    out = plot_results([a, b], ["mini-a", "tavlo"], tmp_path / "bars.png")
    with Image.open(out) as img:
        w, h = img.size
        pixels = np.asarray(img.convert("RGB"))
    assert 1500 < w < 2000 and 450 < h < 700
    assert (pixels == np.array([0x00, 0x72, 0xB2])).all(axis=-1).sum() > 1000  # first colour
    with pytest.raises(AvatarBenchError, match="label"):
        plot_results([a], ["x", "y"], tmp_path / "no.png")


def test_plot_cli_labels_results_by_folder(tmp_path: Path) -> None:
    for slug in ("mini-a", "slavc-144k"):
        (tmp_path / slug).mkdir()
        (tmp_path / slug / "results.json").write_text(json.dumps(fixture_entries()[slug][1]))
    out = tmp_path / "bars.png"
    result = CliRunner().invoke(cli, ["plot", str(tmp_path / "mini-a" / "results.json"),
                                      str(tmp_path / "slavc-144k" / "results.json"),
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 10_000
