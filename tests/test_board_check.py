"""`leaderboard check`: CI on a pull request judges the touched entries and the page build."""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from avatar_bench.cli import cli
from tests.test_leaderboard_fixtures import fixture_entries, write_fixture_submissions


def _add(subs: Path, slug: str, meta: dict, res: dict, res_text: str | None = None) -> Path:
    folder = subs / slug
    folder.mkdir()
    (folder / "submission.json").write_text(json.dumps(meta))
    (folder / "results.json").write_text(res_text or json.dumps(res))
    return folder


def _reported(**extra) -> tuple[dict, dict]:
    meta, res = copy.deepcopy(fixture_entries()["tavlo-10k"])
    meta["reported_in"] = "https://arxiv.org/abs/2507.04667"
    meta.update(extra)
    return meta, res


def _check(subs: Path, *args: str):
    return CliRunner().invoke(cli, ["leaderboard", "check", str(subs), *args])


def test_valid_new_entry_passes_and_the_page_builds(tmp_path) -> None:
    subs = write_fixture_submissions(tmp_path / "subs")
    _add(subs, "new-model", *_reported(name="New model"))
    report = tmp_path / "report.md"
    res = _check(subs, str(subs / "new-model" / "submission.json"), "--report", str(report))
    assert res.exit_code == 0, res.output
    assert "1 new or changed entry (new-model)" in res.output
    assert "[ok]   new-model: submission.json and results.json are valid (reported" in res.output
    assert "[ok]   the page builds" in res.output and "result: PASSED" in res.output
    assert report.read_text() == res.output


def test_broken_entry_fails_with_field_and_fix(tmp_path) -> None:
    subs = write_fixture_submissions(tmp_path / "subs")
    meta, res = _reported()
    _add(subs, "bad", meta, res, json.dumps(res).replace("13.42", "NaN"))
    out = _check(subs, str(subs / "bad"))
    assert out.exit_code == 2
    assert "[FAIL] bad: the entry is not valid" in out.output
    assert "field 'metrics.single_sound.ciou': expected a finite number" in out.output
    assert "fix: fix each field named above" in out.output and "result: FAILED" in out.output


def test_reported_entry_must_cite_its_source_and_folder_holds_only_known_files(tmp_path):
    subs = write_fixture_submissions(tmp_path / "subs")
    meta, res = _reported()
    meta["reported_in"] = None
    folder = _add(subs, "no-source", meta, res)
    (folder / "notes.txt").write_text("hi")
    out = _check(subs, str(folder))
    assert out.exit_code == 2
    assert "no-source: unexpected files notes.txt" in out.output
    assert "no-source: a reported entry must say where its numbers come from" in out.output


def test_broken_untouched_entry_is_named_as_not_this_change(tmp_path) -> None:
    subs = write_fixture_submissions(tmp_path / "subs")
    (subs / "mini-a" / "results.json").write_text("{}")
    _add(subs, "new-model", *_reported(name="New model"))
    out = _check(subs, str(subs / "new-model"))
    assert out.exit_code == 2
    assert "[ok]   new-model" in out.output
    assert "[FAIL] entries this change did not touch are broken" in out.output
    assert "mini-a/results.json" in out.output


def test_reproduced_entry_without_predictions_is_noted_or_required(tmp_path) -> None:
    subs = write_fixture_submissions(tmp_path / "subs")
    out = _check(subs, str(subs / "mini-a"))
    assert out.exit_code == 0, out.output
    assert "[note] mini-a: not verified: predictions not available" in out.output
    out = _check(subs, str(subs / "mini-a"), "--require-verified")
    assert out.exit_code == 2 and "fix: add predictions.npz" in out.output


def test_base_ref_checks_only_what_the_branch_changed(tmp_path) -> None:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org")

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, env=env, check=True, capture_output=True)

    subs = write_fixture_submissions(tmp_path / "subs")
    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-q", "-m", "base")
    git("checkout", "-q", "-b", "pr")
    _add(subs, "new-model", *_reported(name="New model"))
    git("add", ".")
    git("commit", "-q", "-m", "new entry")
    out = _check(subs, "--base", "main")
    assert out.exit_code == 0, out.output
    assert "1 new or changed entry (new-model)" in out.output
    assert "mini-a" not in out.output
    out = _check(subs, "--base", "no-such-ref")
    assert out.exit_code == 2 and "git diff failed" in out.output


def test_base_or_paths_is_required(tmp_path) -> None:
    subs = write_fixture_submissions(tmp_path / "subs")
    out = _check(subs)
    assert out.exit_code == 2 and "give either --base REF" in out.output


@pytest.mark.parametrize("name", ["leaderboard-pr.yml"])
def test_ci_example_runs_the_check(name) -> None:
    raw = (Path(__file__).resolve().parents[1] / "docs" / "examples" / name).read_text()
    text = "\n".join(line.split("#")[0] for line in raw.splitlines())  # code, not comments
    assert "leaderboard check submissions --base" in text
    assert "fetch-depth: 0" in text and "pull_request_target" not in text
