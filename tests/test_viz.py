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


def _ramp_file(tmp_path: Path) -> Path:
    """A left-to-right ramp on every frame of the root (the evaluator needs them all)."""
    ramp = {k: np.tile(np.linspace(0, 1, W, dtype=np.float32), (H, 1)) for k in _maps()}
    ramp["other_00001_00001"] = np.zeros((H, W), np.float32)
    return _npz(tmp_path / "r.npz", ramp)


def test_default_threshold_is_the_evaluators(root, tmp_path) -> None:
    import pandas as pd

    preds = _ramp_file(tmp_path)
    runner = CliRunner()
    res = runner.invoke(cli, ["evaluate", str(preds), "--root", str(root), "--bootstrap", "0",
                              "-o", str(tmp_path / "res.json"),
                              "--per-frame", str(tmp_path / "frames.csv")])
    assert res.exit_code == 0, res.output
    want_thr = json.loads((tmp_path / "res.json").read_text())["thresholds"]["main"]
    per_frame = pd.read_csv(tmp_path / "frames.csv").set_index("key")
    out = tmp_path / "ramp.png"
    result = runner.invoke(cli, ["visualize", "--root", str(root), "--video", VIDEO,
                                 "--predictions", str(preds), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"r: threshold {want_thr:.6g} (evaluator's" in result.output
    # The per-frame cIoU shown is the evaluator's number for that frame.
    for key in (f"{VIDEO}_00005", f"{VIDEO}_00015"):
        assert f"{key}: {per_frame.loc[key, 'ciou_total']:.3f}" in result.output
    # Over the whole file 2/5 of the pixels are zero maps: the threshold sits lower on the
    # ramp than the video's own top 10% (the rightmost 64 columns: outside the GT box).
    assert want_thr < 0.9
    assert out.is_file()


def test_other_thresholds_are_labelled(root, tmp_path) -> None:
    assert top_percent_threshold([np.arange(100, dtype=np.float32)]) == 90.0
    preds = _ramp_file(tmp_path)
    runner = CliRunner()
    video = runner.invoke(cli, ["visualize", "--root", str(root), "--video", VIDEO,
                                "--predictions", str(preds), "--threshold", "video",
                                "-o", str(tmp_path / "v.png")])
    assert video.exit_code == 0, video.output
    assert "NOT the evaluator's" in video.output
    assert f"r: cIoU {VIDEO}_00005: 0.000" in video.output   # rightmost 64 columns only
    fixed = runner.invoke(cli, ["visualize", "--root", str(root), "--video", VIDEO,
                                "--predictions", str(preds), "--threshold", "0.25",
                                "-o", str(tmp_path / "f.png")])
    assert fixed.exit_code == 0 and "threshold 0.25 (given with --threshold, NOT" in fixed.output
    bad = runner.invoke(cli, ["visualize", "--root", str(root), "--video", VIDEO,
                              "--predictions", str(preds), "--threshold", "median",
                              "-o", str(tmp_path / "b.png")])
    assert bad.exit_code == 2 and "--threshold must be" in bad.output


def test_partial_predictions_explain_the_evaluator_threshold(root, tmp_path) -> None:
    partial = _npz(tmp_path / "p.npz", _maps())            # no map for other_00001
    result = CliRunner().invoke(cli, ["visualize", "--root", str(root), "--video", VIDEO,
                                      "--predictions", str(partial), "-o",
                                      str(tmp_path / "p.png")])
    assert result.exit_code == 2
    assert "evaluator's threshold" in result.output and "--threshold video" in result.output
    assert "Traceback" not in result.output


def test_results_of_another_predictions_file_are_refused(root, tmp_path) -> None:
    preds = _ramp_file(tmp_path)
    res = tmp_path / "res.json"
    res.write_text(json.dumps({"thresholds": {"main": 0.5},
                               "predictions": {"sha256": "0" * 64}}))
    result = CliRunner().invoke(cli, ["visualize", "--root", str(root), "--video", VIDEO,
                                      "--predictions", str(preds), "--results", str(res),
                                      "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 2 and "another predictions file" in result.output


def test_dash_output_writes_png_to_stdout(root, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    preds = _ramp_file(tmp_path)
    result = CliRunner().invoke(cli, ["visualize", "--root", str(root), "--video", VIDEO,
                                      "--predictions", str(preds), "-o", "-"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes.startswith(b"\x89PNG\r\n\x1a\n")
    assert "cIoU" in result.stderr and "cIoU" not in result.stdout_bytes.decode("latin-1")
    assert not (tmp_path / "-").exists()
    bars = CliRunner().invoke(cli, ["plot", str(_results_file(tmp_path, "avatar")), "-o", "-"])
    assert bars.exit_code == 0, bars.stderr
    assert bars.stdout_bytes.startswith(b"\x89PNG") and not (tmp_path / "-").exists()
    help_text = " ".join(CliRunner().invoke(cli, ["plot", "--help"]).output.split())
    assert "'-' writes PNG to standard" in help_text
    bad = CliRunner().invoke(cli, ["plot", str(_results_file(tmp_path, "avatar")), "-o", "x.gif"])
    assert bad.exit_code == 2 and "unknown figure type" in bad.output


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


def _results_file(tmp_path: Path, protocol: str, tn_dagger: float | None = 95.0) -> Path:
    doc = json.loads(json.dumps(fixture_entries()["mini-a"][1]))
    doc["protocol"] = dict(doc.get("protocol") or {}, name=protocol)
    doc["off_screen"]["tn_dagger"] = tn_dagger
    if tn_dagger is None:
        doc["off_screen"]["ci"] = {"tn": None, "tn_dagger": None}
    path = tmp_path / f"{protocol}-{tn_dagger}.json"
    path.write_text(json.dumps(doc))
    return path


def _ink_columns(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        grey = np.asarray(img.convert("L"))
    return np.flatnonzero((grey < 200).any(axis=0))


def test_plot_of_legacy_results_keeps_full_axes(tmp_path: Path) -> None:
    """Legacy results have no †TN: "n/a" stays inside the axes, which keep their size."""
    avatar = plot_results([json.loads(_results_file(tmp_path, "avatar").read_text())],
                          ["a"], tmp_path / "avatar.png")
    legacy = plot_results([json.loads(_results_file(tmp_path, "legacy", None).read_text())],
                          ["a"], tmp_path / "legacy.png")
    with Image.open(avatar) as a, Image.open(legacy) as b:
        assert a.size == b.size
        pa, pb = np.asarray(a.convert("RGB")), np.asarray(b.convert("RGB"))
    blue = np.array([0x00, 0x72, 0xB2])
    bars_a = (pa == blue).all(axis=-1).sum()
    bars_b = (pb == blue).all(axis=-1).sum()
    # Same CIoU/AUC bars, one bar fewer in the TN panel: the axes did not shrink.
    assert 0.8 * bars_a < bars_b <= bars_a
    assert _ink_columns(legacy).max() <= _ink_columns(avatar).max() + 5


def test_plot_refuses_mixed_protocols_unless_asked(tmp_path: Path) -> None:
    a, b = _results_file(tmp_path, "avatar"), _results_file(tmp_path, "legacy", None)
    runner = CliRunner()
    refused = runner.invoke(cli, ["plot", str(a), str(b), "-o", str(tmp_path / "m.png")])
    assert refused.exit_code == 2 and "different protocols" in refused.output
    assert not (tmp_path / "m.png").exists()
    ok = runner.invoke(cli, ["plot", str(a), str(b), "--allow-mixed-protocols",
                             "-o", str(tmp_path / "m.png")])
    assert ok.exit_code == 0, ok.output
    from avatar_bench.viz.plots import check_protocols

    assert check_protocols([{"protocol": {"name": "avatar"}}, {"protocol": {"name": "legacy"}}],
                           ["x", "y"], True) == ["x [avatar]", "y [legacy]"]


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
