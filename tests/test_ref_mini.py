"""Cross-event and the other subsets on AVATAR-mini, from the raw annotation files.

AVATAR-mini's polygons are not grid-aligned, so the exact pixel reference of
test_ref_evaluator.py does not apply; this test takes each frame's cIoU and TN from the
per-frame CSV (6 decimals) and checks everything built on top of them: which frames each
subset holds (scenarios and Cross-event decided here from the JSON files, by the rule of
docs/dataset.md), the summary numbers, and the per-replicate bootstrap intervals.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from avatar_bench.cli import cli
from avatar_bench.eval import write_predictions
from tests import test_ref_lib as ref


@pytest.fixture(scope="module")
def scored(mini_root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mini_ref")
    frames = {}
    for path in sorted((mini_root / "metadata").glob("*/*.json")):
        frames[(path.parent.name, int(path.stem))] = json.loads(path.read_text())
    rng = np.random.default_rng(5)
    keys = [f"{v}_{i:05d}" for v, i in sorted(frames)]
    maps = rng.random((len(keys), 18, 32)).astype(np.float32)
    write_predictions(tmp / "p.npz", zip(keys, maps, strict=True), len(keys), {"model": "n"})
    args = ["evaluate", str(tmp / "p.npz"), "--root", str(mini_root), "--resolution", "36x64",
            "--bootstrap", "300", "--seed", "2", "-o", str(tmp / "r.json"),
            "--per-frame", str(tmp / "f.csv")]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    table = pd.read_csv(tmp / "f.csv", dtype={"video_id": str}).set_index("key")
    return frames, table, json.loads((tmp / "r.json").read_text())


def _rows(frames: dict, table: pd.DataFrame) -> dict:
    """Reference rows: membership from the JSON, values from the CSV."""
    cross = ref.cross_event_videos(frames)
    rows = {}
    for (vid, idx), ann in frames.items():
        got = table.loc[f"{vid}_{idx:05d}"]
        scen = ref.frame_scenarios(ann)
        row = {"video": vid, "cross_event": "total" in scen and vid in cross}
        for s in ("single_sound", "mixed_sound", "multi_entity", "total"):
            if s in scen:
                row[s] = float(got[f"ciou_{s}"])
        if "off_screen" in scen:
            row["tn"], row["tn_dagger"] = float(got["tn"]), float(got["tn_dagger"])
        rows[(vid, idx)] = row
    return rows


def test_mini_subsets_and_cross_event_numbers(scored):
    frames, table, results = scored
    rows = _rows(frames, table)
    assert len(table) == len(frames)
    assert sum(r["cross_event"] for r in rows.values()) > 0
    for key, row in rows.items():  # the CSV's membership is the documented one
        got = table.loc[f"{key[0]}_{key[1]:05d}"]
        assert bool(got["cross_event"]) == row["cross_event"], key
        for s in ("single_sound", "mixed_sound", "multi_entity", "total"):
            assert np.isnan(got[f"ciou_{s}"]) == (s not in row), (key, s)
    want = ref.aggregate(list(rows.values()))
    for s, entry in want["metrics"].items():
        assert results["metrics"][s]["n_frames"] == entry["n_frames"], s
        for f in ("ciou", "auc", "ap50"):  # CSV rounding: 5e-7 per frame -> 1e-4 points
            assert results["metrics"][s][f] == pytest.approx(entry[f], abs=1e-4), (s, f)
    assert results["off_screen"]["n_frames"] == want["off_screen"]["n_frames"]
    assert results["off_screen"]["tn"] == pytest.approx(want["off_screen"]["tn"], abs=1e-4)


def test_mini_bootstrap_intervals_per_replicate(scored):
    frames, table, results = scored
    rows = _rows(frames, table)
    intervals = ref.bootstrap(rows, 300, 2)
    agg = ref.aggregate(list(rows.values()))
    for s in ref.CIOU_SUBSETS:
        for f in ("ciou", "auc", "ap50"):
            np.testing.assert_allclose(results["metrics"][s]["ci"][f],
                                       ref.hull(intervals[(s, f)], agg["metrics"][s][f]),
                                       atol=1e-3, err_msg=f"{s} {f}")
    np.testing.assert_allclose(results["off_screen"]["ci"]["tn"],
                               ref.hull(intervals[("off_screen", "tn")], agg["off_screen"]["tn"]),
                               atol=1e-3)
