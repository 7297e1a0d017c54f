"""Paired comparison of two per-frame evaluations: hand cases, a slow reference, bad input."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from avatar_bench.cli import cli
from avatar_bench.errors import AvatarBenchError
from avatar_bench.eval.compare import PerFrame, compare, read_per_frame

SCEN = ("single_sound", "mixed_sound", "multi_entity")


def _table(seed: int, n_videos: int = 5, per_video: int = 4) -> pd.DataFrame:
    """A per-frame table like evaluate's: each frame in one scenario, some Cross-event."""
    rng = np.random.default_rng(seed)
    rows = []
    for v in range(n_videos):
        for f in range(per_video):
            scen = SCEN[(v + f) % 3]
            c = float(np.round(rng.uniform(), 6))
            row = {"key": f"vid{v}_{f:05d}", "video_id": f"vid{v}", "frame": f,
                   "ciou_total": c, "cross_event": v % 2 == 1, "tn": np.nan,
                   "tn_dagger": np.nan}
            for s in SCEN:
                row[f"ciou_{s}"] = c if s == scen else np.nan
            rows.append(row)
    return pd.DataFrame(rows)


def _with_values(base: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Same frames and memberships as ``base``, other cIoU values."""
    t = base.copy()
    new = np.round(np.random.default_rng(seed).uniform(size=len(t)), 6)
    for col in ("ciou_total", *(f"ciou_{s}" for s in SCEN)):
        t[col] = np.where(t[col].notna(), new, np.nan)
    return t


def _slow_reference(a: pd.DataFrame, b: pd.DataFrame, subset: str, n: int, seed: int):
    """Replicates built by concatenating drawn videos' frames, one replicate at a time."""
    videos = sorted(set(a["video_id"]))
    draws = np.random.Generator(np.random.PCG64(seed)).integers(0, len(videos),
                                                                 size=(n, len(videos)))
    col = "ciou_total" if subset in ("total", "cross_event") else f"ciou_{subset}"
    diffs = []
    for r in range(n):
        va, vb = [], []
        for d in draws[r]:
            for i in range(len(a)):
                keep = a["video_id"][i] == videos[d] and not np.isnan(a[col][i])
                if subset == "cross_event":
                    keep = keep and bool(a["cross_event"][i])
                if keep:
                    va.append(a[col][i])
                    vb.append(b[col][i])
        if va:
            diffs.append(100 * (sum(vb) / len(vb) - sum(va) / len(va)))
    return np.percentile(diffs, [2.5, 97.5]), 100 * np.mean(np.array(diffs) > 0)


def test_constant_improvement_is_exact():
    a = _table(0)
    b = a.copy()
    for col in ("ciou_total", *(f"ciou_{s}" for s in SCEN)):
        b[col] = b[col] + 0.1
    res = compare(PerFrame("a", a), PerFrame("b", b), n=200, seed=3)
    for subset, e in res["subsets"].items():
        assert e["b_minus_a"] == pytest.approx(10.0, abs=1e-9), subset
        assert e["ci"] == pytest.approx([10.0, 10.0], abs=1e-6), subset
        assert e["b_above_a_percent"] == 100.0
    assert res["cross_event_drop"]["a"]["drop"] == pytest.approx(
        res["cross_event_drop"]["b"]["drop"], abs=1e-9)


def test_hand_computed_means_and_drop():
    a = _table(1)
    res = compare(PerFrame("a", a), PerFrame("b", _with_values(a, 2)), n=50)
    total = a["ciou_total"].mean() * 100
    cross = a.loc[a["cross_event"], "ciou_total"].mean() * 100
    multi = a["ciou_multi_entity"].mean() * 100           # pandas skips NaN
    assert res["subsets"]["total"]["a"] == pytest.approx(total, abs=1e-6)
    assert res["subsets"]["multi_entity"]["a"] == pytest.approx(multi, abs=1e-6)
    assert res["subsets"]["cross_event"]["n_frames"] == int(a["cross_event"].sum())
    assert res["cross_event_drop"]["a"]["drop"] == pytest.approx(cross - total, abs=1e-6)


@pytest.mark.parametrize("subset", ["single_sound", "multi_entity", "total", "cross_event"])
def test_paired_interval_matches_slow_reference(subset):
    a = _table(4)
    b = _with_values(a, 5)
    res = compare(PerFrame("a", a), PerFrame("b", b), n=300, seed=7)
    ci, share = _slow_reference(a, b, subset, 300, 7)
    assert res["subsets"][subset]["ci"] == pytest.approx(list(ci), abs=1e-5)
    assert res["subsets"][subset]["b_above_a_percent"] == pytest.approx(share, abs=1e-6)


def test_rows_are_matched_by_key_not_position():
    a = _table(6)
    b = _with_values(a, 7)
    straight = compare(PerFrame("a", a), PerFrame("b", b), n=100)
    shuffled = compare(PerFrame("a", a), PerFrame("b", b.sample(frac=1, random_state=0)), n=100)
    assert straight == shuffled


def test_different_frames_are_refused():
    a = _table(0)
    with pytest.raises(AvatarBenchError, match="score different frames.*vid4_00003"):
        compare(PerFrame("a", a), PerFrame("b", a.iloc[:-1]), n=10)
    b = a.copy()
    b.loc[0, "cross_event"] = not b.loc[0, "cross_event"]
    with pytest.raises(AvatarBenchError, match="disagree on cross_event for frame 'vid0_00000'"):
        compare(PerFrame("a", a), PerFrame("b", b), n=10)


def test_bad_csv_names_the_file(tmp_path):
    path = tmp_path / "old.csv"
    _table(0).drop(columns=["ciou_total"]).to_csv(path, index=False)
    with pytest.raises(AvatarBenchError, match=r"old\.csv: missing column\(s\) ciou_total"):
        read_per_frame(path)
    dup = tmp_path / "dup.csv"
    pd.concat([_table(0), _table(0).iloc[:1]]).to_csv(dup, index=False)
    with pytest.raises(AvatarBenchError, match="dup.csv: frame key 'vid0_00000' appears more"):
        read_per_frame(dup)


def test_cli_is_deterministic_and_reports_errors(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    _table(0).to_csv(a, index=False, float_format="%.6f")
    _with_values(_table(0), 1).to_csv(b, index=False, float_format="%.6f")
    runner = CliRunner()
    outs = []
    for k in range(2):
        out = tmp_path / f"cmp{k}.json"
        res = runner.invoke(cli, ["compare", str(a), str(b), "--names", "base,mine",
                                  "--bootstrap", "100", "-o", str(out)])
        assert res.exit_code == 0, res.output
        assert "B = mine" in res.output and "cross_event" in res.output
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert json.loads(outs[0])["bootstrap"]["n"] == 100
    res = runner.invoke(cli, ["compare", str(a), str(tmp_path / "missing.csv")])
    assert res.exit_code == 2 and "missing.csv: cannot read per-frame CSV" in res.output
