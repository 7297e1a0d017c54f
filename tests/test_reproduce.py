"""``avatar-bench reproduce``: Table 2 rows from official-format checkpoints, compared with a
(fake) paper table. The plumbing runs on AVATAR-mini with random weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from avatar_bench.cli import cli
from avatar_bench.errors import AvatarBenchError
from avatar_bench.models.baselines.reproduce import (
    TABLE2,
    Comparison,
    find_checkpoint,
    rows_with_paper_values,
)


def _row(slug: str):
    return next(r for r in TABLE2 if r.slug == slug)


def test_table2_rows_are_the_papers():
    """Hand-copied from Table 2 (REFERENCE.md): one spot value per row."""
    got = {r.slug: (r.model, r.values["single_sound.ciou"], r.values["off_screen.tn_dagger"])
           for r in TABLE2}
    assert got == {"slavc-144k": ("slavc", 9.07, 95.75), "ez-vsl-10k": ("ezvsl", 9.66, 95.58),
                   "ez-vsl-144k": ("ezvsl", 10.92, 96.45),
                   "ez-vsl-full": ("ezvsl", 12.17, 95.84),
                   "ssl-tie-144k": ("ssltie", 13.10, 94.55)}
    assert all(len(r.values) == 8 for r in TABLE2)


def test_comparison_differences_and_tolerance():
    row = rows_with_paper_values(None)[1]                        # EZ-VSL (10k)
    reproduced = dict(row.values)
    reproduced["single_sound.ciou"] = 9.80                       # +0.14: within 0.5
    reproduced["mixed_sound.auc"] = 9.35 - 0.62                  # -0.62: beyond
    reproduced["off_screen.tn_dagger"] = None                    # not measured: a failure
    cmp = Comparison(row, "latest.pth", reproduced, 0.5)
    by_metric = {line["metric"]: line for line in cmp.lines}
    assert by_metric["single_sound.ciou"]["diff"] == pytest.approx(0.14)
    assert by_metric["single_sound.ciou"]["ok"]
    assert not by_metric["mixed_sound.auc"]["ok"]
    assert not by_metric["off_screen.tn_dagger"]["ok"] and not cmp.ok
    text = cmp.format()
    assert "Single CIoU" in text and "+0.14" in text and "-0.62  <- beyond" in text
    assert Comparison(row, "x", dict(row.values), 0.0).ok


def test_paper_table_file_is_checked(tmp_path):
    good = tmp_path / "paper.json"
    good.write_text(json.dumps({"ssl-tie-144k": {"single_sound.ciou": 1.5}}))
    rows = rows_with_paper_values(good)
    assert [(r.slug, r.values) for r in rows] == [("ssl-tie-144k", {"single_sound.ciou": 1.5})]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"tavlo-10k": {}, "ez-vsl-10k": {"single.ciou": 1.0}}))
    with pytest.raises(AvatarBenchError) as info:
        rows_with_paper_values(bad)
    text = str(info.value)
    assert "tavlo-10k" in text and "single.ciou" in text


def test_checkpoint_names_official_and_own(tmp_path):
    row = _row("ssl-tie-144k")
    assert find_checkpoint(tmp_path, row) is None
    (tmp_path / "ckpts").mkdir()
    (tmp_path / "ckpts" / "vggsound144k.pth.tar").write_bytes(b"x")   # SSL-TIE's release name
    assert find_checkpoint(tmp_path, row) == tmp_path / "ckpts" / "vggsound144k.pth.tar"
    (tmp_path / "ssl-tie-144k.pth").write_bytes(b"x")                # our slug wins
    assert find_checkpoint(tmp_path, row) == tmp_path / "ssl-tie-144k.pth"


def test_no_checkpoint_lists_expected_names(tmp_path):
    res = CliRunner().invoke(cli, ["reproduce", "--checkpoints", str(tmp_path),
                                   "--dataset", "mini", "-o", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert "no official checkpoint" in res.output and "vggsound_10k/latest.pth" in res.output
    assert "Traceback" not in res.output
    bare = CliRunner().invoke(cli, ["reproduce", "--dataset", "mini"])
    assert bare.exit_code == 2 and "--checkpoints DIR" in bare.output
    odd = CliRunner().invoke(cli, ["reproduce", "--checkpoint", "tavlo-10k=x.pth"])
    assert odd.exit_code == 2 and "unknown row" in odd.output


torch = pytest.importorskip("torch")


def _official_file(path: Path, name: str, seed: int = 0) -> Path:
    """An official-layout checkpoint with random weights, as saved under DDP."""
    from avatar_bench.models.baselines.checkpoints import model_class, official_checkpoint

    torch.manual_seed(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = name != "ssltie"
    torch.save(official_checkpoint(name, model_class(name)(), None, epoch=20,
                                   module_prefix=prefix), path)
    return path


def test_wrong_model_file_is_refused_before_predicting(tmp_path):
    _official_file(tmp_path / "ck" / "vggsound_10k" / "latest.pth", "ssltie")
    res = CliRunner().invoke(cli, ["reproduce", "--checkpoints", str(tmp_path / "ck"),
                                   "--dataset", "mini", "-o", str(tmp_path / "out")])
    assert res.exit_code == 2 and "looks like an SSL-TIE checkpoint" in res.output
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_reproduce_on_mini_with_random_official_checkpoint(mini_root, tmp_path, monkeypatch):
    from avatar_bench.leaderboard.submissions import load_one

    torch.set_num_threads(1)
    monkeypatch.chdir(tmp_path)
    _official_file(tmp_path / "ck" / "vggsound_10k" / "latest.pth", "ezvsl")
    paper = tmp_path / "paper.json"
    paper.write_text(json.dumps({"ez-vsl-10k": {"single_sound.ciou": 55.0,
                                                "off_screen.tn": 90.0},
                                 "ssl-tie-144k": {"single_sound.ciou": 13.1}}))
    args = ["reproduce", "--checkpoints", "ck", "--dataset", "mini", "--paper", str(paper),
            "--bootstrap", "20", "--batch-size", "32", "-o", "out"]
    runner = CliRunner()
    res = runner.invoke(cli, args)
    assert res.exit_code == 1, res.output                     # 55% is far from random weights
    assert "NOT REPRODUCED" in res.output and "not run (no checkpoint): ssl-tie-144k" in res.output
    report = json.loads((tmp_path / "out" / "comparison.json").read_text())
    (row,) = report["rows"]
    lines = {line["metric"]: line for line in row["metrics"]}
    ours = lines["single_sound.ciou"]["reproduced"]
    assert lines["single_sound.ciou"]["diff"] == pytest.approx(ours - 55.0)
    # The reproduced number is the evaluator's, as `evaluate` gives it on the same file.
    ev = runner.invoke(cli, ["evaluate", "out/predictions/ez-vsl-10k.npz", "--dataset", "mini",
                             "--bootstrap", "0", "-o", "ev.json"])
    assert ev.exit_code == 0, ev.output
    direct = json.loads((tmp_path / "ev.json").read_text())
    assert ours == direct["metrics"]["single_sound"]["ciou"]
    entry, problems = load_one(tmp_path / "out" / "submissions" / "ez-vsl-10k-reproduced")
    assert problems == [] and entry is not None
    meta = json.loads((tmp_path / "out" / "submissions" / "ez-vsl-10k-reproduced" /
                       "submission.json").read_text())
    assert meta["source"] == "reproduced" and meta["training_data"]["size"] == 10000
    # A table the reproduction meets (0.3 below ours): exit 0, predictions reused.
    paper.write_text(json.dumps({"ez-vsl-10k": {"single_sound.ciou": round(ours - 0.3, 6)}}))
    again = runner.invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert "reusing" in again.output and "+0.30" in again.output
