"""Rules the page shows, decided in Python: sections per ground truth, ties, best values."""

from __future__ import annotations

import copy
import json

from avatar_bench.leaderboard import render, resolve_build_time
from avatar_bench.leaderboard.build import best_values, model_kind, sections
from avatar_bench.leaderboard.ranking import rank
from avatar_bench.leaderboard.submissions import Submission
from tests.test_leaderboard_fixtures import fixture_entries, results, row, submission

WHEN = resolve_build_time("2025-01-31T12:00:00Z")


def _sub(slug: str, total: float | None, half: float | None, cross: float | None = None,
         dataset: str = "AVATAR-mini") -> Submission:
    meta = submission(slug, dataset, "reproduced" if half else "reported")
    rows = {"total": row(total, None, half), "single_sound": row(10.0)}
    if cross is not None:
        rows["cross_event"] = row(cross)
    return Submission(slug, meta, results(dataset, rows, None, None, half is not None))


def test_reported_rows_never_split_a_tie_group() -> None:
    a, p, b = _sub("a", 30.0, 2.0), _sub("p", 29.5, None), _sub("b", 29.0, 2.0)
    ranked = rank([p, b, a], "total")
    # p lies between a and b, which tie; it is listed after their group.
    assert [(r.sub.slug, r.rank, r.tied) for r in ranked] == [
        ("a", 1, True), ("b", 1, True), ("p", 3, False)]
    assert ranked[0].group == ranked[1].group != ranked[2].group


def test_reported_row_ties_with_an_equal_shown_value() -> None:
    a, p, q = _sub("a", 30.0, 0.5), _sub("p", 30.004, None), _sub("q", 25.0, None)
    ranked = rank([q, p, a], "total")
    assert [(r.sub.slug, r.rank, r.tied) for r in ranked] == [
        ("a", 1, True), ("p", 1, True), ("q", 3, False)]


def test_drop_best_is_the_least_drop_not_the_largest_value() -> None:
    subs = [_sub("a", 30.0, 1.0, cross=27.0), _sub("b", 20.0, 1.0, cross=20.5),
            _sub("c", 25.0, 1.0, cross=24.8)]
    best = best_values(subs)
    assert best["drop.ciou"] == -0.2            # |24.8 - 25| is the smallest
    assert best["total.ciou"] == 30.0


def test_drop_column_sorts_ascending_first(tmp_path) -> None:
    html = render([_sub("a", 30.0, 1.0, cross=27.0)], build_time=WHEN)
    head = html.split('data-col="drop.ciou"')[1][:80]
    assert 'data-first="ascending"' in head


def _avatar(slug: str, commit: str, sha: str) -> Submission:
    meta, res = copy.deepcopy(fixture_entries()["mini-a"])
    meta["dataset"] = res["dataset"]["name"] = "AVATAR"
    res["dataset"]["revision"], res["dataset"]["annotation_sha256"] = commit, sha
    return Submission(slug, meta, res)


def test_rows_on_different_annotation_checksums_never_share_a_ranking() -> None:
    one, two = "1" * 40, "2" * 40
    x = _avatar("x", one, "ab" * 32)
    y = _avatar("y", two, "cd" * 32)
    z = _avatar("z", two, "cd" * 32)
    paper = Submission("p", *copy.deepcopy(fixture_entries()["tavlo-10k"]))
    secs = {s["id"]: [r["slug"] for r in s["rows"]] for s in sections([x, y, z, paper])}
    assert sorted(secs.values()) == [["p"], ["x"], ["y", "z"]] or sorted(
        map(sorted, secs.values())) == [["p"], ["x"], ["y", "z"]]
    assert all(i.startswith("board-avatar-avatar-") for i in secs)
    # With a single checksum, the paper's rows join it (they were computed on that release).
    secs = sections([y, z, paper])
    assert [sorted(r["slug"] for r in s["rows"]) for s in secs] == [["p", "y", "z"]]
    assert secs[0]["id"] == "board-avatar-avatar"


def test_model_kind_field_or_no_training_data_means_reference() -> None:
    meta, res = copy.deepcopy(fixture_entries()["mini-a"])
    assert model_kind(Submission("a", meta, res)) == "trained"
    meta["training_data"] = None
    assert model_kind(Submission("a", meta, res)) == "reference"
    meta["model_kind"] = "trained"
    assert model_kind(Submission("a", meta, res)) == "trained"


def test_training_data_filter_option_is_escaped() -> None:
    meta, res = copy.deepcopy(fixture_entries()["mini-a"])
    meta["training_data"]["name"] = '"><img src=x onerror=alert(1)>'
    html = render([Submission("a", meta, res)], build_time=WHEN)
    assert "<img" not in html
    assert 'value="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"' in html


def test_bibtex_cites_the_papers_facts() -> None:
    html = render([], build_time=WHEN)
    data = json.loads(html.split('id="leaderboard-data">')[1].split("</script>")[0])
    bib = data["bibtex"]
    assert "What's Making That Sound Right Now? Video-centric Audio-Visual Localization" in bib
    assert "Choi, Hahyeon and Lee, Junhoo and Kwak, Nojun" in bib
    assert "2507.04667" in bib and "year      = {2025}" in bib and "ICCV" in bib
