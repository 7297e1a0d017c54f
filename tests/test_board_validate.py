"""Hostile submissions: `leaderboard validate` accepts exactly what `build` can render."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from avatar_bench.cli import cli
from avatar_bench.errors import AvatarBenchError
from avatar_bench.leaderboard import load_submissions, render, resolve_build_time
from avatar_bench.leaderboard.submissions import write_submission
from tests.test_leaderboard_fixtures import fixture_entries

WHEN = resolve_build_time("2025-01-31T12:00:00Z")


def _entry(slug: str = "mini-a") -> tuple[dict, dict]:
    return copy.deepcopy(fixture_entries()[slug])


def _write_raw(root: Path, slug: str, meta_text: str, res_text: str) -> None:
    folder = root / slug
    folder.mkdir(parents=True)
    (folder / "submission.json").write_text(meta_text, encoding="utf-8")
    (folder / "results.json").write_text(res_text, encoding="utf-8")


def _problems(tmp_path: Path, meta, res, slug: str = "x") -> str:
    _write_raw(tmp_path, slug, json.dumps(meta), json.dumps(res))
    with pytest.raises(AvatarBenchError) as info:
        load_submissions(tmp_path)
    return str(info.value)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
@pytest.mark.parametrize("where", ["metrics.total.ciou", "metrics.total.ci.ciou[1]",
                                   "thresholds.main", "off_screen.ci.tn[0]"])
def test_non_finite_numbers_are_refused_with_their_field(tmp_path, literal, where) -> None:
    meta, res = _entry()
    marker = 123456.5
    node, *path = where.replace("[", ".").replace("]", "").split(".")
    target = res[node]
    for p in path[:-1]:
        target = target[int(p)] if p.isdigit() else target[p]
    last = path[-1]
    target[int(last) if last.isdigit() else last] = marker
    res_text = json.dumps(res).replace(str(marker), literal)
    _write_raw(tmp_path, "x", json.dumps(meta), res_text)
    with pytest.raises(AvatarBenchError) as info:
        load_submissions(tmp_path)
    assert f"field '{where}': expected a finite number" in str(info.value)
    assert not (tmp_path / "page.html").exists()


@pytest.mark.parametrize("ci, expected", [
    ([10.0, 400.0], "expected an interval within [0, 100], got [10.0, 400.0]"),
    ([-1.0, 40.0], "expected an interval within [0, 100]"),
    ([31.0, 40.0], "expected an interval containing the value 30.0, got [31.0, 40.0]"),
    ([20.0, 29.99], "expected an interval containing the value 30.0"),
    ([40.0, 20.0], "expected low <= high"),
])
def test_intervals_lie_in_0_100_and_contain_their_value(tmp_path, ci, expected) -> None:
    meta, res = _entry()
    res["metrics"]["total"]["ci"]["ciou"] = ci
    text = _problems(tmp_path, meta, res)
    assert f"field 'metrics.total.ci.ciou': {expected}" in text


def test_interval_of_a_missing_value_is_refused(tmp_path) -> None:
    meta, res = _entry()
    res["off_screen"]["tn"] = None
    assert "field 'off_screen.ci.tn': expected no interval for a missing value" in _problems(
        tmp_path, meta, res)


@pytest.mark.parametrize("field, value, expected", [
    ("name", "TAVLO \u202e(10k)", "U+202E"),
    ("authors", "A. \u2067Author", "U+2067"),
    ("organisation", "Lab\x07", "U+0007"),
    ("name", "two\nlines", "line breaks"),
    ("notes", "fine\nbut \u202dnot this", "U+202D"),
    ("links.paper", "https://example.org/p\n", "U+000A"),
])
def test_control_and_bidi_override_characters_are_refused(tmp_path, field, value,
                                                          expected) -> None:
    meta, res = _entry()
    if "." in field:
        a, b = field.split(".")
        meta[a][b] = value
    else:
        meta[field] = value
    text = _problems(tmp_path, meta, res)
    assert f"field '{field}'" in text and expected in text


def test_notes_may_have_several_lines(tmp_path) -> None:
    meta, res = _entry()
    meta["notes"] = "first line\n\tsecond line, \u05e2\u05d1\u05e8\u05d9\u05ea"
    _write_raw(tmp_path, "x", json.dumps(meta), json.dumps(res))
    [sub] = load_submissions(tmp_path)
    assert sub.meta["notes"].count("\n") == 1


def test_unpaired_surrogate_is_refused_and_never_reaches_build(tmp_path) -> None:
    meta, res = _entry()
    meta["name"] = "SURROGATE"
    text = json.dumps(meta).replace("SURROGATE", "bad \\ud800 name")
    _write_raw(tmp_path, "x", text, json.dumps(res))
    with pytest.raises(AvatarBenchError) as info:
        load_submissions(tmp_path)
    assert "field 'name': expected text without unpaired surrogates" in str(info.value)


@pytest.mark.parametrize("depth, expected", [(40, "levels of nesting"),
                                             (200_000, "nested too deeply")])
def test_deep_nesting_is_refused(tmp_path, depth, expected) -> None:
    meta, res = _entry()
    res["predictions"]["meta"] = "DEEP"
    text = json.dumps(res).replace('"DEEP"', "[" * depth + "]" * depth)
    _write_raw(tmp_path, "x", json.dumps(meta), text)
    with pytest.raises(AvatarBenchError) as info:
        load_submissions(tmp_path)
    assert expected in str(info.value)


def test_huge_integers_and_impossible_dates_are_refused(tmp_path) -> None:
    meta, res = _entry()
    meta["parameters"] = 10**30
    assert "field 'parameters': expected an integer of at most 2**53" in _problems(
        tmp_path / "a", meta, res)
    meta["parameters"], meta["date"] = 10**6, "2025-13-45"
    assert "field 'date': expected a calendar date" in _problems(tmp_path / "b", meta, res)


@pytest.mark.parametrize("slug", ["abc\n", "ABC", "-abc", "a/b", ""])
def test_slugs_must_match_whole(tmp_path, slug) -> None:
    meta, res = _entry()
    with pytest.raises(AvatarBenchError, match="must match"):
        write_submission(tmp_path, slug, meta, res)
    assert list(tmp_path.iterdir()) == []


def test_folder_name_with_a_trailing_newline_is_refused(tmp_path) -> None:
    meta, res = _entry()
    _write_raw(tmp_path, "mini-a\n", json.dumps(meta), json.dumps(res))
    with pytest.raises(AvatarBenchError, match="folder name must match"):
        load_submissions(tmp_path)


@pytest.mark.parametrize("revision, sha, expected", [
    ("mini-v1-seed0-n60", "0" * 64, "has annotation_sha256 8cc62df6"),
    ("mini-v1-seed0-n60", "ab" * 32, "has annotation_sha256 8cc62df6"),
    ("mini-v9-seed0-n60", "ab" * 32, "a known AVATAR-mini revision (mini-v1-seed0-n60"),
    (None, "ab" * 32, "got None"),
])
def test_reproduced_rows_cite_a_known_release(tmp_path, revision, sha, expected) -> None:
    meta, res = _entry()
    res["dataset"]["revision"], res["dataset"]["annotation_sha256"] = revision, sha
    text = _problems(tmp_path, meta, res)
    assert "field 'dataset.revision': a reproduced row must cite a dataset release" in text
    assert expected in text


def test_real_avatar_rows_cite_a_hub_commit(tmp_path) -> None:
    meta, res = _entry()
    meta["dataset"] = res["dataset"]["name"] = "AVATAR"
    res["dataset"]["revision"] = "main"
    assert "40-hex Hub commit sha" in _problems(tmp_path / "a", meta, res)
    res["dataset"]["revision"] = "0123456789abcdef0123456789abcdef01234567"
    res["dataset"]["annotation_sha256"] = "0" * 64
    assert "a real annotation_sha256" in _problems(tmp_path / "c", meta, res)
    res["dataset"]["annotation_sha256"] = "ab" * 32
    _write_raw(tmp_path / "b", "x", json.dumps(meta), json.dumps(res))
    assert [s.slug for s in load_submissions(tmp_path / "b")] == ["x"]


def test_reported_rows_need_no_release(tmp_path) -> None:
    meta, res = _entry("tavlo-10k")
    _write_raw(tmp_path, "x", json.dumps(meta), json.dumps(res))
    assert len(load_submissions(tmp_path)) == 1


def test_what_validate_accepts_build_renders(tmp_path) -> None:
    """Legal but unusual text in every field renders (validate and build agree)."""
    meta, res = _entry()
    rtl = "\u0646\u0645\u0648\u0630\u062c (10k)"
    for key in ("name", "authors", "organisation", "notes"):
        meta[key] = f"{rtl} <b>&amp; \U0001f600 {key}"
    meta["training_data"]["name"] = rtl + " <b>&amp; \U0001f600"
    _write_raw(tmp_path, "x", json.dumps(meta), json.dumps(res))
    html = render(load_submissions(tmp_path), build_time=WHEN)
    assert "&lt;b&gt;&amp;amp; \U0001f600" in html          # the training-data filter option
    blob = html.split('id="leaderboard-data">')[1].split("</script>")[0]
    shown = json.loads(blob)["entries"][0]["submission"]
    assert {k: shown[k] for k in ("name", "authors", "organisation", "notes")} == {
        k: meta[k] for k in ("name", "authors", "organisation", "notes")}


def test_cli_validate_exits_2_without_traceback(tmp_path) -> None:
    meta, res = _entry()
    _write_raw(tmp_path, "x", json.dumps(meta), json.dumps(res).replace("30.0", "NaN", 1))
    out = CliRunner().invoke(cli, ["leaderboard", "validate", str(tmp_path)])
    assert out.exit_code == 2 and "expected a finite number" in out.output
    assert "Traceback" not in out.output


def test_failed_write_leaves_no_temporary_folder(tmp_path, monkeypatch) -> None:
    import avatar_bench.eval as ev

    meta, res = _entry()
    write_submission(tmp_path, "mini-a", meta, res)
    before = (tmp_path / "mini-a" / "results.json").read_bytes()

    def boom(results):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ev, "results_json", boom)
    with pytest.raises(AvatarBenchError, match="No space left"):
        write_submission(tmp_path, "mini-a", meta, res, force=True)
    with pytest.raises(AvatarBenchError):
        write_submission(tmp_path, "mini-b", meta, res)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mini-a"]
    assert (tmp_path / "mini-a" / "results.json").read_bytes() == before
