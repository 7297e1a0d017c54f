"""The evaluate screen: dataset named with its revision, thresholds rounded for display only,
one signed format for the Cross-event drop; compare refuses mixed protocols."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from avatar_bench.cli import cli
from avatar_bench.data import AvatarDataset
from avatar_bench.errors import AvatarBenchError
from avatar_bench.eval import Evaluator, Protocol, format_table, write_predictions
from avatar_bench.eval.compare import compare, format_comparison, read_per_frame
from avatar_bench.eval.table import signed
from tests.fakeroot import instance, write_frame


def _results(total: float, cross: float, thr: float = 0.123456789) -> dict:
    entry = {"ciou": total, "auc": 1.0, "ap50": 0.0, "n_frames": 3,
             "ci": {"ciou": None, "auc": None, "ap50": None}}
    return {
        "dataset": {"name": "AVATAR", "revision": "v1.0", "n_frames": 3, "n_videos": 2},
        "protocol": {"name": "avatar", "resolution": [360, 640], "top_percent": 10.0},
        "thresholds": {"main": thr, "dagger": 0.5},
        "metrics": {"single_sound": entry, "mixed_sound": entry, "multi_entity": entry,
                    "total": entry, "cross_event": dict(entry, ciou=cross)},
        "off_screen": {"tn": None, "tn_dagger": None, "n_frames": 0,
                       "ci": {"tn": None, "tn_dagger": None}},
    }


def test_header_names_dataset_and_rounds_thresholds():
    text = format_table(_results(10.0, 9.04))
    first = text.splitlines()[0]
    assert first == "dataset AVATAR  revision v1.0  3 frames, 2 videos"
    assert "threshold 0.123457, †0.5" in text and "0.123456789" not in text
    assert "on-screen frames of Cross-event videos only" in text


@pytest.mark.parametrize("total,cross,shown", [(10.0, 9.04, "-0.96"), (10.0, 10.8, "+0.80"),
                                               (10.0, 10.0, "+0.00")])
def test_drop_is_signed(total, cross, shown):
    assert f"Cross-event drop vs Total: {shown} CIoU" in format_table(_results(total, cross))
    assert signed(cross - total) == shown


def _per_frame(path, protocol=None, values=(0.1, 0.2, 0.3, 0.4)):
    t = pd.DataFrame({"key": [f"v{i // 2}_{i:05d}" for i in range(4)],
                      "video_id": [f"v{i // 2}" for i in range(4)], "frame": range(4),
                      "ciou_single_sound": values, "ciou_mixed_sound": np.nan,
                      "ciou_multi_entity": np.nan, "ciou_total": values,
                      "cross_event": [False, False, True, True], "tn": np.nan,
                      "tn_dagger": np.nan})
    if protocol:
        t["protocol"] = protocol
    t.to_csv(path, index=False)
    return path


def test_compare_refuses_mixed_protocols(tmp_path):
    a = read_per_frame(_per_frame(tmp_path / "a.csv"))
    b = read_per_frame(_per_frame(tmp_path / "b.csv", "legacy"))
    assert (a.protocol, b.protocol) == ("avatar", "legacy")
    with pytest.raises(AvatarBenchError, match="protocol 'avatar' and b with 'legacy'"):
        compare(a, b, 10)
    c = read_per_frame(_per_frame(tmp_path / "c.csv", "legacy", (0.5, 0.2, 0.3, 0.1)))
    out = format_comparison(compare(b, c, 10))
    # The drop of C: cross (0.3 + 0.1) / 2 - total 0.275 = -0.075 points x 100 = -7.50
    assert "of B (c): -7.50" in out


def test_evaluate_cli_screen_and_legacy_csv_column(tmp_path):
    root = tmp_path / "root"
    kw = {"width": 64, "height": 36, "jpeg": False}
    write_frame(root, "va_00001", 1, [instance("Single-Sound", "dog", (0, 0, 16, 9))], **kw)
    write_frame(root, "vb_00002", 1, [instance("Single-Sound", "dog", (0, 0, 64, 9))], **kw)
    ds = AvatarDataset(root, use_cache=False)
    items = [(k, np.random.default_rng(i).random((9, 16)).astype(np.float32))
             for i, k in enumerate(ds.keys())]
    path = write_predictions(tmp_path / "p.npz", iter(items), 2, {"model": "x"}, np.float32)
    runner = CliRunner()
    res = runner.invoke(cli, ["evaluate", str(path), "--root", str(root), "--bootstrap", "0",
                              "-o", str(tmp_path / "r.json"), "--per-frame",
                              str(tmp_path / "a.csv")])
    assert res.exit_code == 0, res.output
    assert res.output.startswith(f"dataset AVATAR  revision {ds.revision or '-'}  2 frames")
    full = json.loads((tmp_path / "r.json").read_text())["thresholds"]["main"]
    ev = Evaluator(ds, path, Protocol(bootstrap=0))
    assert full == round(ev.run()["thresholds"]["main"], 6)
    assert f"threshold {full:.6g}," in res.output
    assert "protocol" not in pd.read_csv(tmp_path / "a.csv").columns
    res = runner.invoke(cli, ["evaluate", str(path), "--root", str(root), "--bootstrap", "0",
                              "--protocol", "legacy", "--per-frame", str(tmp_path / "b.csv")])
    assert res.exit_code == 0, res.output
    assert set(pd.read_csv(tmp_path / "b.csv")["protocol"]) == {"legacy"}
    res = runner.invoke(cli, ["compare", str(tmp_path / "a.csv"), str(tmp_path / "b.csv")])
    assert res.exit_code == 2 and "compare evaluations of the same protocol" in res.output
