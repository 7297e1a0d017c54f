"""`leaderboard verify`: a reproduced row is re-evaluated from its predictions, every value."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from avatar_bench.cli import cli
from avatar_bench.leaderboard.verify import compare_results


@pytest.fixture(scope="module")
def entry(mini, tmp_path_factory) -> tuple[Path, Path]:
    """One entry submitted with the real evaluator on AVATAR-mini, and its predictions."""
    root = tmp_path_factory.mktemp("verify")
    keys = mini.keys()
    maps = np.random.default_rng(3).random((len(keys), 7, 7)).astype(np.float32)
    preds = root / "preds" / "noise.npz"
    preds.parent.mkdir()
    np.savez(preds, keys=np.array(keys), heatmaps=maps)
    subs = root / "subs"
    res = CliRunner().invoke(cli, ["submit", str(preds), "--name", "Noise", "--dataset", "mini",
                                   "--submissions-dir", str(subs), "--slug", "noise"])
    assert res.exit_code == 0, res.output
    return subs, preds


def _copy(entry, tmp_path: Path) -> tuple[Path, Path]:
    subs, preds = entry
    shutil.copytree(subs, tmp_path / "subs")
    return tmp_path / "subs", preds


def _verify(subs: Path, *extra: str):
    return CliRunner().invoke(cli, ["leaderboard", "verify", str(subs), *extra])


def test_untouched_entry_verifies_from_the_recorded_file_name(entry, tmp_path) -> None:
    subs, preds = _copy(entry, tmp_path)
    res = _verify(subs, "--predictions-dir", str(preds.parent))
    assert res.exit_code == 0, res.output
    assert "verified      noise: all" in res.output and "1 verified, 0 mismatch" in res.output


def test_entry_without_predictions_is_listed_as_not_verified(entry, tmp_path) -> None:
    subs, _ = _copy(entry, tmp_path)
    res = _verify(subs)
    assert res.exit_code == 0 and "not verified  noise: predictions not available" in res.output
    assert _verify(subs, "--require-all").exit_code == 2


@pytest.mark.parametrize("field, value", [
    (("metrics", "total", "ciou"), 99.0),
    (("off_screen", "tn"), 0.5),
    (("thresholds", "main"), 0.123),
    (("dataset", "n_frames"), 1),
])
def test_tampered_number_is_a_mismatch(entry, tmp_path, field, value) -> None:
    subs, preds = _copy(entry, tmp_path)
    path = subs / "noise" / "results.json"
    data = json.loads(path.read_text())
    target = data
    for k in field[:-1]:
        target = target[k]
    original = target[field[-1]]
    target[field[-1]] = value
    if field[:2] == ("metrics", "total"):
        data["metrics"]["total"]["ci"]["ciou"] = [0.0, 100.0]
    if field[0] == "off_screen":
        data["off_screen"]["ci"]["tn"] = [0.0, 100.0]
    path.write_text(json.dumps(data))
    shutil.copy(preds, subs / "noise" / "predictions.npz")  # shipped with the entry
    res = _verify(subs)
    assert res.exit_code == 2
    assert f"{'.'.join(field)}: committed {value!r}, recomputed {original!r}" in res.output


def test_another_files_sha256_is_a_mismatch(entry, tmp_path) -> None:
    subs, preds = _copy(entry, tmp_path)
    other = tmp_path / "noise.npz"
    with np.load(preds) as z:
        np.savez(other, keys=z["keys"], heatmaps=z["heatmaps"][::-1])
    res = _verify(subs, "--predictions-dir", str(tmp_path))
    assert res.exit_code == 2
    assert "predictions.sha256: the entry cites" in res.output and str(other) in res.output


def test_compare_results_reports_every_difference_by_path() -> None:
    a = {"metrics": {"total": {"ciou": 1.0, "ci": {"ciou": [0.5, 1.5]}}}, "x": True,
         "avatar_bench_version": "1", "predictions": {"file": "a.npz", "sha256": "s"}}
    b = {"metrics": {"total": {"ciou": 1.0, "ci": {"ciou": [0.5, 1.25]}}}, "x": 1,
         "avatar_bench_version": "2", "predictions": {"file": "b.npz", "sha256": "s"}, "y": 2}
    problems, n = compare_results(a, b)
    assert problems == ["metrics.total.ci.ciou[1]: committed 1.5, recomputed 1.25",
                        "x: committed True, recomputed 1",
                        "y: missing from the entry, recomputed 2"]
    assert n == 6


def _page_entries(html: str) -> dict:
    blob = html.split('id="leaderboard-data">')[1].split("</script>")[0]
    return {e["slug"]: e for e in json.loads(blob)["entries"]}


def test_recorded_outcome_reaches_the_page_only_for_the_same_file(entry, tmp_path) -> None:
    subs, preds = _copy(entry, tmp_path)
    rec = tmp_path / "verification.json"
    res = _verify(subs, "--predictions-dir", str(preds.parent), "--record", str(rec))
    assert res.exit_code == 0, res.output
    out = tmp_path / "index.html"
    res = CliRunner().invoke(cli, ["leaderboard", "build", str(subs), "-o", str(out),
                                   "--verification", str(rec)])
    assert res.exit_code == 0, res.output
    ver = _page_entries(out.read_text())["noise"]["verification"]
    assert ver["status"] == "verified" and ver["n_values"] > 50
    # The entry now cites another file: the old outcome no longer applies.
    data = json.loads(rec.read_text())
    data["entries"]["noise"]["predictions_sha256"] = "0" * 64
    rec.write_text(json.dumps(data))
    CliRunner().invoke(cli, ["leaderboard", "build", str(subs), "-o", str(out),
                             "--verification", str(rec)])
    assert _page_entries(out.read_text())["noise"]["verification"] is None
    rec.write_text('{"entries": {"noise": {"status": "trust me"}}}')
    res = CliRunner().invoke(cli, ["leaderboard", "build", str(subs), "-o", str(out),
                                   "--verification", str(rec)])
    assert res.exit_code == 2 and "not a valid verification record" in res.output
