"""Hand-made submissions for leaderboard tests (imported by the other leaderboard tests).

Two AVATAR-mini rows computed "here" (with 95% intervals), one with a hostile name, and three
AVATAR rows reported from the paper's Table 2: the page must keep the two datasets apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HOSTILE = '<img src=x onerror="window.__xss=1">'
#: Hostile text for every other text field of the hostile entry (each a different attack).
HOSTILE_FIELDS: dict[str, str] = {
    "authors": '=HYPERLINK("https://evil.example") <svg onload="window.__xss=2">',
    "organisation": 'مختبر (10k) "><script>window.__xss=3</script>',
    "notes": '</td></tr><img src=x onerror="window.__xss=4">\nsecond line & more',
    "training_data": '<b onmouseover="window.__xss=5">VGG</b>עברית',
}
SHA = "ab" * 32
#: The AVATAR-mini v1 release (avatar_bench.leaderboard.revisions): reproduced rows cite it.
MINI_REVISION = "mini-v1-seed0-n60"
MINI_SHA = "8cc62df6f7a15034b03be87ca6fb0549a0b42e69f7e07fe1769d7e238ee6d794"


def row(ciou: float | None, auc: float | None = None, ci: float | None = None,
        n: int | None = None) -> dict[str, Any]:
    """One metrics row; ``ci`` = half-width of a symmetric interval (None: no interval)."""
    intervals = None
    if ci is not None:
        intervals = {"ciou": [ciou - ci, ciou + ci],
                     "auc": None if auc is None else [auc - ci, auc + ci], "ap50": None}
    return {"ciou": ciou, "auc": auc, "ap50": None, "n_frames": n, "ci": intervals}


def results(dataset: str, rows: dict[str, dict], tn: float | None, tn_dagger: float | None,
            reproduced: bool) -> dict[str, Any]:
    """A results.json in the evaluator's format."""
    return {
        "schema_version": 1, "avatar_bench_version": "0.1.0" if reproduced else None,
        "dataset": {"name": dataset, "revision": MINI_REVISION if reproduced else None,
                    "annotation_sha256": MINI_SHA if reproduced else None,
                    "n_frames": 120 if reproduced else None,
                    "n_videos": 24 if reproduced else None},
        "predictions": ({"file": "preds.npz", "sha256": SHA, "meta": None, "heatmap_size": [7, 7],
                         "n_maps": 120} if reproduced else None),
        "protocol": {"name": "avatar", "resolution": [360, 640], "top_percent": 10.0,
                     "top_percent_dagger": 5.0, "resize": "bilinear",
                     "bootstrap": ({"n": 1000, "seed": 0, "unit": "video", "level": 95}
                                   if reproduced else None)},
        "thresholds": {"main": 0.5 if reproduced else None, "dagger": None},
        "metrics": {k: rows.get(k, row(None)) for k in
                    ("single_sound", "mixed_sound", "multi_entity", "total", "cross_event")},
        "off_screen": {"tn": tn, "tn_dagger": tn_dagger, "n_frames": 10 if reproduced else None,
                       "ci": ({"tn": [tn - 1, tn + 1], "tn_dagger": [tn_dagger - 1, tn_dagger + 1]}
                              if reproduced and tn is not None else None)},
    }


def submission(name: str, dataset: str, source: str, **extra: Any) -> dict[str, Any]:
    meta = {
        "schema_version": 1, "name": name, "authors": "A. Author", "organisation": "Lab",
        "links": {"paper": "https://example.org/paper", "code": "https://example.org/code"},
        "training_data": {"name": "VGGSound", "size": 10000}, "parameters": 23_500_000,
        "audio_window_s": 3.0, "date": "2025-07-01", "protocol": "avatar", "source": source,
        "dataset": dataset,
    }
    meta.update(extra)
    return meta


def fixture_entries() -> dict[str, tuple[dict, dict]]:
    """slug -> (submission.json, results.json)."""
    mini_a = results("AVATAR-mini", {
        "single_sound": row(20.0, 22.0, 1.5, 50), "mixed_sound": row(18.0, 19.0, 2.0, 30),
        "multi_entity": row(15.0, 16.0, 2.0, 20), "total": row(30.0, 31.0, 2.0, 100),
        "cross_event": row(27.0, 28.0, 3.0, 40)}, 92.0, 94.0, True)
    mini_b = results("AVATAR-mini", {
        "single_sound": row(35.0, 36.0, 1.5, 50), "mixed_sound": row(12.0, 13.0, 2.0, 30),
        "multi_entity": row(10.0, 11.0, 2.0, 20), "total": row(29.0, 30.0, 2.0, 100),
        "cross_event": row(20.0, 21.0, 3.0, 40)}, 97.0, 96.0, True)

    def paper(v: tuple, total: tuple | None = None) -> dict:
        rows = {"single_sound": row(v[0], v[1]), "mixed_sound": row(v[2], v[3]),
                "multi_entity": row(v[4], v[5])}
        if total:
            rows["total"], rows["cross_event"] = row(total[0]), row(total[1])
        return results("AVATAR", rows, v[6], v[7], False)

    return {
        "mini-a": (submission("Mini Model A", "AVATAR-mini", "reproduced", training_seed=0),
                   mini_a),
        "mini-hostile": (submission(
            HOSTILE, "AVATAR-mini", "reproduced",
            links={"paper": "https://example.org/a?b=1&c=2", "code": None},
            authors=HOSTILE_FIELDS["authors"], organisation=HOSTILE_FIELDS["organisation"],
            notes=HOSTILE_FIELDS["notes"],
            training_data={"name": HOSTILE_FIELDS["training_data"], "size": 500}), mini_b),
        "slavc-144k": (submission("SLAVC (144k)", "AVATAR", "reported"),
                       paper((9.07, 10.60, 6.31, 7.88, 6.41, 7.96, 96.46, 95.75))),
        "ez-vsl-10k": (submission("EZ-VSL (10k)", "AVATAR", "reported"),
                       paper((9.66, 11.07, 8.16, 9.35, 6.87, 8.32, 96.91, 95.58))),
        "tavlo-10k": (submission("TAVLO (10k)", "AVATAR", "reported"),
                      paper((13.42, 14.08, 14.13, 14.52, 12.08, 12.69, 91.18, 95.02),
                            (13.37, 13.04))),
    }


def write_fixture_submissions(root: Path) -> Path:
    """Write every fixture entry under ``root`` and return it."""
    for slug, (meta, res) in fixture_entries().items():
        folder = root / slug
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "submission.json").write_text(json.dumps(meta, indent=2))
        (folder / "results.json").write_text(json.dumps(res, indent=2))
    return root


def test_fixtures_are_valid(tmp_path: Path) -> None:
    from avatar_bench.leaderboard import load_submissions

    subs = load_submissions(write_fixture_submissions(tmp_path))
    assert sorted(s.slug for s in subs) == sorted(fixture_entries())
    assert {s.dataset for s in subs} == {"AVATAR", "AVATAR-mini"}
