"""--lenient is usable: maps for frames the index skipped are ignored with one warning, are
outside the threshold population and every subset, and the results record the skipped frames."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from avatar_bench.cli import cli
from avatar_bench.data import AvatarDataset
from avatar_bench.eval import Evaluator, Protocol, results_json, write_predictions
from avatar_bench.eval.validate import skipped_keys
from tests.fakeroot import instance, write_frame

KW = {"width": 64, "height": 36, "jpeg": False}


@pytest.fixture()
def root(tmp_path):
    root = tmp_path / "root"
    write_frame(root, "va_00001", 1, [instance("Single-Sound", "dog", (0, 0, 16, 9))], **KW)
    write_frame(root, "va_00001", 2, [instance("Off-Screen", "man", None)], **KW)
    write_frame(root, "vb_00002", 1, [instance("Mixed-Sound", "cat", (32, 18, 32, 18))], **KW)
    write_frame(root, "vb_00002", 2, [instance("Single-Sound", "dog", (0, 0, 64, 9))], **KW)
    # Two malformed frames: a missing field, and a frame that would dominate the threshold.
    bad = root / "metadata" / "vb_00002" / "00003.json"
    bad.write_text(json.dumps({"original_width": 64, "annotations": []}))
    bad = root / "metadata" / "vc_00003" / "00007.json"
    bad.parent.mkdir()
    bad.write_text("{not json")
    return root


def _maps(keys):
    rng = np.random.default_rng(0)
    return {k: rng.random((9, 16), dtype=np.float32) for k in keys}


def _write(path, maps):
    return write_predictions(path, iter(maps.items()), len(maps), {"model": "t"}, np.float32)


def test_skipped_keys_come_from_the_skip_messages(root):
    ds = AvatarDataset(root, strict=False, use_cache=False)
    assert len(ds.skipped) == 2
    assert skipped_keys(ds) == ["vb_00002_00003", "vc_00003_00007"]


def test_maps_of_skipped_frames_are_ignored_and_recorded(root, tmp_path):
    ds = AvatarDataset(root, strict=False, use_cache=False)
    maps = _maps(ds.keys())
    only = _write(tmp_path / "only.npz", maps)
    # The same maps plus maps for the two skipped frames, far above every other value:
    # were they in the threshold population, the threshold would be 1e30.
    full = dict(maps)
    full["vb_00002_3"] = np.full((9, 16), 1e30, np.float32)
    full["vc_00003_00007"] = np.full((9, 16), np.nan, np.float32)  # not even checked
    full_path = _write(tmp_path / "full.npz", full)

    ref = Evaluator(ds, only, Protocol(bootstrap=20), workers=1).run()
    ev = Evaluator(ds, full_path, Protocol(bootstrap=20), workers=1)
    got = ev.run()
    assert got["thresholds"] == ref["thresholds"] and got["thresholds"]["main"] < 1
    assert got["metrics"] == ref["metrics"] and got["off_screen"] == ref["off_screen"]
    assert got["dataset"]["skipped_frames"] == ["vb_00002_00003", "vc_00003_00007"]
    assert ev.report.ignored == ["vb_00002_00003", "vc_00003_00007"]
    warnings = [w for w in ev.report.warnings if "--lenient" in w]
    assert len(warnings) == 1 and "ignored 2 map(s)" in warnings[0]
    assert "'vb_00002_00003', 'vc_00003_00007'" in warnings[0]
    assert len(ev.per_frame_table()) == 4


def test_no_skipped_frames_no_new_field(tmp_path):
    root = tmp_path / "root"
    write_frame(root, "va_00001", 1, [instance("Single-Sound", "dog", (0, 0, 16, 9))], **KW)
    ds = AvatarDataset(root, strict=False, use_cache=False)
    r = Evaluator(ds, _write(tmp_path / "p.npz", _maps(ds.keys())), Protocol(bootstrap=0)).run()
    assert "skipped_frames" not in r["dataset"]
    assert "skipped_frames" not in results_json(r)


def test_cli_lenient_evaluates_a_complete_file(root, tmp_path):
    ds = AvatarDataset(root, strict=False, use_cache=False)
    maps = _maps(ds.keys())
    maps["vb_00002_00003"] = np.zeros((9, 16), np.float32)
    path = _write(tmp_path / "p.npz", maps)
    out = tmp_path / "r.json"
    res = CliRunner().invoke(cli, ["evaluate", str(path), "--root", str(root), "--lenient",
                                   "--bootstrap", "0", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert res.output.count("ignored 1 map(s) for frames --lenient skipped") == 1
    assert "skipped 2 malformed frame(s) (--lenient): not scored" in res.output
    assert json.loads(out.read_text())["dataset"]["skipped_frames"] == [
        "vb_00002_00003", "vc_00003_00007"]
    # Strict mode stops at the malformed file instead.
    res = CliRunner().invoke(cli, ["evaluate", str(path), "--root", str(root)])
    assert res.exit_code == 2 and "00003.json" in res.output
