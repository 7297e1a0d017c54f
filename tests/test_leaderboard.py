"""Submissions (schema, messages), ranking with tie groups, and the static page (no browser)."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from avatar_bench.cli import cli
from avatar_bench.errors import AvatarBenchError
from avatar_bench.leaderboard import load_submissions, render, resolve_build_time
from avatar_bench.leaderboard.build import script_json
from avatar_bench.leaderboard.ranking import rank, ranking_row
from avatar_bench.leaderboard.submissions import Submission, slugify
from tests.test_leaderboard_fixtures import (
    HOSTILE,
    fixture_entries,
    results,
    row,
    submission,
    write_fixture_submissions,
)

REPO = Path(__file__).resolve().parents[1]
WHEN = resolve_build_time("2025-01-31T12:00:00Z")


def _write(root: Path, slug: str, meta, res) -> Path:
    folder = root / slug
    folder.mkdir(parents=True)
    (folder / "submission.json").write_text(json.dumps(meta))
    (folder / "results.json").write_text(json.dumps(res))
    return folder


def _data(html: str) -> dict:
    blob = html.split('<script type="application/json" id="leaderboard-data">')[1]
    return json.loads(blob.split("</script>")[0])


def _sections(html: str) -> dict[str, dict]:
    return {sec["dataset"]: sec for sec in _data(html)["sections"]}


# ------------------------------------------------------------------ seed entries
def test_seed_submissions_are_the_papers_table_2() -> None:
    subs = {s.slug: s for s in load_submissions(REPO / "submissions")}
    assert {"slavc-144k", "ez-vsl-10k", "ez-vsl-144k", "ez-vsl-full", "ssl-tie-144k",
            "tavlo-10k"} <= set(subs)
    table2 = {
        "slavc-144k": (9.07, 10.60, 6.31, 7.88, 6.41, 7.96, 96.46, 95.75),
        "ez-vsl-10k": (9.66, 11.07, 8.16, 9.35, 6.87, 8.32, 96.91, 95.58),
        "ez-vsl-144k": (10.92, 12.22, 6.97, 8.34, 5.80, 7.42, 96.47, 96.45),
        "ez-vsl-full": (12.17, 13.38, 7.67, 8.91, 6.96, 8.40, 95.43, 95.84),
        "ssl-tie-144k": (13.10, 14.23, 5.19, 6.76, 5.50, 7.12, 90.82, 94.55),
        "tavlo-10k": (13.42, 14.08, 14.13, 14.52, 12.08, 12.69, 91.18, 95.02),
    }
    for slug, want in table2.items():
        s = subs[slug]
        got = tuple(s.metric(r, f) for r in ("single_sound", "mixed_sound", "multi_entity")
                    for f in ("ciou", "auc")) + (s.metric("off_screen", "tn"),
                                                s.metric("off_screen", "tn_dagger"))
        assert got == want, slug
        assert (s.source, s.dataset, s.protocol) == ("reported", "AVATAR", "avatar")
        assert s.results["predictions"] is None
    assert subs["tavlo-10k"].metric("total", "ciou") == 13.37
    assert subs["tavlo-10k"].metric("cross_event", "ciou") == 13.04
    assert subs["slavc-144k"].metric("total", "ciou") is None


# ------------------------------------------------------------------- validation
def test_validation_lists_every_problem_with_file_and_field(tmp_path: Path) -> None:
    meta = submission("X", "AVATAR", "reported", links={"paper": "not a url", "code": None},
                      date="yesterday", nmae="typo")
    del meta["protocol"]
    res = results("AVATAR", {"total": row(150.0)}, 90.0, 90.0, False)
    res["metrics"]["single_sound"]["ci"] = {"ciou": [1.0], "auc": None, "ap50": None}
    _write(tmp_path, "bad-entry", meta, res)
    _write(tmp_path, "Bad Slug", *fixture_entries()["mini-a"])
    (tmp_path / "no-results").mkdir()
    (tmp_path / "no-results" / "submission.json").write_text("{not json")
    with pytest.raises(AvatarBenchError) as info:
        load_submissions(tmp_path)
    text = str(info.value)
    sub_file = f"{tmp_path / 'bad-entry' / 'submission.json'}"
    res_file = f"{tmp_path / 'bad-entry' / 'results.json'}"
    expected = [
        f"{sub_file}: field 'links.paper': expected a URL (http:// or https://) or null, "
        "got 'not a url'",
        f"{sub_file}: field 'date': expected a date YYYY-MM-DD",
        f"{sub_file}: field 'protocol' is missing",
        f"{sub_file}: unknown field 'nmae'",
        f"{res_file}: field 'metrics.total.ciou': expected a percentage between 0 and 100",
        f"{res_file}: field 'metrics.single_sound.ci.ciou': expected [low, high]",
        f"{tmp_path / 'Bad Slug'}: folder name must match",
        f"{tmp_path / 'no-results' / 'submission.json'}: not valid JSON",
        f"{tmp_path / 'no-results' / 'results.json'}: file is missing",
    ]
    for line in expected:
        assert line in text, line
    assert len(info.value.problems) >= len(expected)


def test_cross_file_checks(tmp_path: Path) -> None:
    meta, res = copy.deepcopy(fixture_entries()["mini-a"])
    res["dataset"]["name"] = "AVATAR"
    res["predictions"] = None
    res["metrics"]["total"]["ci"]["ciou"] = [40.0, 20.0]
    _write(tmp_path, "mixed-up", meta, res)
    with pytest.raises(AvatarBenchError) as info:
        load_submissions(tmp_path)
    text = str(info.value)
    assert "field 'dataset.name': expected 'AVATAR-mini'" in text
    assert "field 'predictions': expected the predictions record" in text
    assert "field 'metrics.total.ci.ciou': expected low <= high, got [40.0, 20.0]" in text


def test_slugify() -> None:
    assert slugify("EZ-VSL (144k)") == "ez-vsl-144k"
    with pytest.raises(AvatarBenchError):
        slugify("<>")


# ---------------------------------------------------------------------- ranking
def _sub(slug: str, total: float | None, half: float | None, single: float = 10.0) -> Submission:
    meta = submission(slug, "AVATAR-mini", "reproduced" if half else "reported")
    res = results("AVATAR-mini", {"total": row(total, None, half), "single_sound": row(single)},
                  None, None, True)
    return Submission(slug, meta, res)


def test_ties_are_judged_against_the_group_leader() -> None:
    a, b, c, d = (_sub("a", 30.0, 2.0), _sub("b", 29.0, 2.0), _sub("c", 26.5, 1.0),
                  _sub("d", 26.0, 2.0))
    # b overlaps a -> rank 1; c overlaps b but not the leader a -> new group at position 3;
    # d overlaps c (the new leader) -> rank 3.
    ranked = rank([d, c, b, a], "total")
    assert [(r.sub.slug, r.rank, r.tied) for r in ranked] == [
        ("a", 1, True), ("b", 1, True), ("c", 3, True), ("d", 3, True)]


def test_rows_without_intervals_tie_only_on_equal_values() -> None:
    x, y, z, none = (_sub("x", 13.37, None), _sub("y", 13.37, None), _sub("z", 13.36, None),
                     _sub("n", None, None))
    ranked = rank([z, none, y, x], "total")
    assert [(r.sub.slug, r.rank) for r in ranked] == [("x", 1), ("y", 1), ("z", 3), ("n", None)]


def test_ranking_metric_falls_back_to_single_sound_when_total_is_missing(tmp_path) -> None:
    subs = load_submissions(write_fixture_submissions(tmp_path))
    avatar = [s for s in subs if s.dataset == "AVATAR"]
    mini = [s for s in subs if s.dataset == "AVATAR-mini"]
    assert ranking_row(avatar) == "single_sound"
    assert ranking_row(mini) == "total"
    assert [r.sub.slug for r in rank(avatar, "single_sound")] == [
        "tavlo-10k", "ez-vsl-10k", "slavc-144k"]


# ------------------------------------------------------------------------- page
@pytest.fixture()
def page(tmp_path: Path) -> str:
    return render(load_submissions(write_fixture_submissions(tmp_path)), build_time=WHEN)


def test_datasets_are_ranked_in_separate_sections(page: str) -> None:
    sections = _sections(page)
    assert set(sections) == {"AVATAR", "AVATAR-mini"}
    slugs = {k: [r["slug"] for r in v["rows"]] for k, v in sections.items()}
    assert slugs["AVATAR"] == ["tavlo-10k", "ez-vsl-10k", "slavc-144k"]
    assert set(slugs["AVATAR-mini"]) == {"mini-a", "mini-hostile"}
    assert 'id="board-select"' in page and 'value="board-avatar-mini-avatar"' in page
    assert '<section class="board" id="board-avatar-avatar"' in page
    # Both mini rows overlap -> tie at rank 1.
    assert [(r["rank"], r["tied"]) for r in sections["AVATAR-mini"]["rows"]] == [
        (1, True), (1, True)]
    assert sections["AVATAR-mini"]["ground_truth"] == "AVATAR-mini v1"


def test_cells_carry_value_interval_and_drop(page: str) -> None:
    entries = {e["slug"]: e for e in _data(page)["entries"]}
    mini = entries["mini-a"]
    assert mini["values"]["total.ciou"] == 30.0 and mini["ci"]["total.ciou"] == [28.0, 32.0]
    assert mini["values"]["drop.ciou"] == -3.0                      # 27 - 30
    assert entries["tavlo-10k"]["values"]["drop.ciou"] == -0.33     # 13.04 - 13.37
    assert "total.ciou" not in entries["tavlo-10k"]["ci"]
    assert mini["values"]["info.parameters"] == 23_500_000
    assert mini["values"]["info.train_size"] == 10000


def test_reported_and_reproduced_rows_are_marked(page: str) -> None:
    sources = [e["submission"]["source"] for e in _data(page)["entries"]]
    assert sorted(sources) == ["reported"] * 3 + ["reproduced"] * 2
    assert 'class="badge reported"' in page and 'class="badge reproduced"' in page


def test_hostile_name_is_escaped_everywhere(tmp_path: Path) -> None:
    meta, res = copy.deepcopy(fixture_entries()["mini-a"])
    meta["name"] = 'x</script><script>window.__xss=2</script>\u2028&'
    meta["links"]["paper"] = "javascript:alert(1)"
    subs = load_submissions(write_fixture_submissions(tmp_path))
    subs.append(Submission("evil", meta, res))  # bypasses the URL check on purpose
    html = render(subs, build_time=WHEN)
    assert HOSTILE not in html and "<img" not in html
    # Submitted text reaches the markup only through the escaped JSON (the script writes it
    # with textContent); the one place Python writes it is the training-data filter.
    assert "window.__xss=2</script>" not in html and "javascript:" not in html.split(
        'id="leaderboard-data"')[0]
    blob = html.split('<script type="application/json" id="leaderboard-data">')[1].split(
        "</script>")[0]
    assert "<" not in blob and ">" not in blob and "&" not in blob and "\u2028" not in blob
    names = {d["slug"]: d["submission"]["name"] for d in json.loads(blob)["entries"]}
    assert names["mini-hostile"] == HOSTILE and names["evil"] == meta["name"]


def test_script_json_escapes_line_separators() -> None:
    assert script_json({"a": "</script>\u2028\u2029&"}) == (
        '{"a": "\\u003c/script\\u003e\\u2028\\u2029\\u0026"}')


def test_page_is_self_contained_and_csp_allows_its_script(page: str) -> None:
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=", page)
    assert "@import" not in page and "url(" not in page
    script = page.split("<script>")[1].split("</script>")[0]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in page


def test_build_is_reproducible_and_honours_source_date_epoch(tmp_path, monkeypatch) -> None:
    subs = load_submissions(write_fixture_submissions(tmp_path))
    assert render(subs, build_time=WHEN) == render(list(reversed(subs)), build_time=WHEN)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "86400")
    html = render(subs, build_time=resolve_build_time(None))
    assert "1970-01-02 00:00 UTC" in html
    assert "avatar-bench " in html.split('class="page-foot"')[1]
    assert "annotations 8cc62df6f7a1" in html


def test_cli_build_and_validate(tmp_path: Path) -> None:
    subs = write_fixture_submissions(tmp_path / "subs")
    out = tmp_path / "site" / "index.html"
    runner = CliRunner()
    res = runner.invoke(cli, ["leaderboard", "build", str(subs), "-o", str(out),
                              "--build-time", "2025-01-31T12:00:00Z"])
    assert res.exit_code == 0, res.output
    assert "2025-01-31 12:00 UTC" in out.read_text()
    (subs / "mini-a" / "results.json").write_text("{}")
    res = runner.invoke(cli, ["leaderboard", "validate", str(subs)])
    assert res.exit_code == 2
    assert "field 'schema_version' is missing" in res.output


# ----------------------------------------------------------------------- submit
@pytest.fixture()
def fake_eval(monkeypatch):
    calls = []

    def evaluate(dataset, predictions_path, **kwargs):
        calls.append((dataset.name, Path(predictions_path).name, kwargs))
        return fixture_entries()["mini-a"][1]

    from avatar_bench.eval import results_json

    module = types.ModuleType("avatar_bench.eval")
    module.evaluate = evaluate
    module.results_json = results_json
    monkeypatch.setitem(sys.modules, "avatar_bench.eval", module)
    return calls


def test_submit_writes_a_valid_entry_and_refuses_to_overwrite(tmp_path, fake_eval,
                                                               mini_root) -> None:
    preds = tmp_path / "preds.npz"
    preds.write_bytes(b"stub")
    subs = tmp_path / "subs"
    args = ["submit", str(preds), "--name", "My Model (10k)", "--dataset", "mini",
            "--submissions-dir", str(subs), "--paper-url", "https://example.org/p",
            "--params", "11.7M", "--training-data", "VGGSound", "--training-size", "10k",
            "--audio-window", "3", "--date", "2025-02-01"]
    runner = CliRunner()
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert fake_eval == [("AVATAR-mini", "preds.npz", {})]
    meta = json.loads((subs / "my-model-10k" / "submission.json").read_text())
    assert meta["source"] == "reproduced" and meta["parameters"] == 11_700_000
    assert meta["training_data"] == {"name": "VGGSound", "size": 10000}
    assert meta["dataset"] == "AVATAR-mini"
    assert "training_seed" not in meta            # absent unless given: old entries unchanged
    [sub] = load_submissions(subs)
    assert sub.metric("total", "ciou") == 30.0
    assert sorted(p.name for p in subs.iterdir()) == ["my-model-10k"]  # no temp folders
    res = runner.invoke(cli, args)
    assert res.exit_code == 2 and "already exists" in res.output and "--force" in res.output
    res = runner.invoke(cli, args + ["--force", "--paper-url", "ftp://x"])
    assert res.exit_code == 2
    assert "field 'links.paper': expected a URL" in res.output
    assert len(fake_eval) == 1  # refused before evaluating
    assert json.loads((subs / "my-model-10k" / "submission.json").read_text())["links"][
        "paper"] == "https://example.org/p"


def test_submit_records_the_training_seed(tmp_path, fake_eval, mini_root) -> None:
    """One entry per seed of a study: the seed is a field, checked like every other."""
    preds = tmp_path / "preds.npz"
    preds.write_bytes(b"stub")
    subs = tmp_path / "subs"
    base = ["submit", str(preds), "--name", "M, seed 2", "--dataset", "mini",
            "--submissions-dir", str(subs)]
    res = CliRunner().invoke(cli, base + ["--training-seed", "2"])
    assert res.exit_code == 0, res.output
    meta = json.loads((subs / "m-seed-2" / "submission.json").read_text())
    assert meta["training_seed"] == 2
    [sub] = load_submissions(subs)
    assert sub.meta["training_seed"] == 2
    res = CliRunner().invoke(cli, base + ["--training-seed", "-1", "--slug", "other"])
    assert res.exit_code == 2 and "--training-seed" in res.output
    for bad in (-1, 1.5, "2", True):
        meta["training_seed"] = bad
        (subs / "m-seed-2" / "submission.json").write_text(json.dumps(meta))
        with pytest.raises(AvatarBenchError, match="training_seed"):
            load_submissions(subs)


def test_submit_refuses_an_unknown_dataset_release_before_evaluating(tmp_path, fake_eval):
    from tests.fakeroot import instance, write_frame

    root = tmp_path / "root"
    write_frame(root, "vid_00001", 3, [instance("Single-Sound", "dog", (10, 10, 50, 50))])
    preds = tmp_path / "preds.npz"
    preds.write_bytes(b"stub")
    res = CliRunner().invoke(cli, ["submit", str(preds), "--name", "M", "--root", str(root),
                                   "--submissions-dir", str(tmp_path / "subs")])
    assert res.exit_code == 2
    assert "dataset release avatar-bench knows" in res.output and "got None" in res.output
    assert fake_eval == [] and not (tmp_path / "subs").exists()


@pytest.mark.parametrize("option, value, expected", [
    ("--name", "bad\u202ename", "field 'name': expected text without"),
    ("--paper-url", "https://example.org/p\n", "field 'links.paper'"),
    ("--date", "2025-02-30", "field 'date': expected a calendar date"),
    ("--slug", "abc\n", "--slug 'abc\\n'"),
])
def test_submit_checks_metadata_before_evaluating(tmp_path, fake_eval, mini_root, option,
                                                  value, expected) -> None:
    preds = tmp_path / "preds.npz"
    preds.write_bytes(b"stub")
    res = CliRunner().invoke(cli, ["submit", str(preds), "--name", "M", "--dataset", "mini",
                                   "--submissions-dir", str(tmp_path / "subs"), option, value])
    assert res.exit_code == 2 and expected in res.output, res.output
    assert fake_eval == [] and not (tmp_path / "subs").exists()


def test_failed_submit_leaves_no_folder(tmp_path, monkeypatch, mini_root) -> None:
    import avatar_bench.eval as ev

    def evaluate(dataset, predictions_path, **kwargs):
        return fixture_entries()["mini-a"][1]

    def boom(results):
        raise OSError(28, "No space left on device")

    module = types.ModuleType("avatar_bench.eval")
    module.evaluate, module.results_json = evaluate, boom
    monkeypatch.setitem(sys.modules, "avatar_bench.eval", module)
    preds = tmp_path / "preds.npz"
    preds.write_bytes(b"stub")
    subs = tmp_path / "subs"
    res = CliRunner().invoke(cli, ["submit", str(preds), "--name", "M", "--dataset", "mini",
                                   "--submissions-dir", str(subs)])
    assert res.exit_code == 2 and "No space left" in res.output
    assert list(subs.iterdir()) == []           # no entry, no .m.tmp-* folder
    assert ev.results_json is not boom
