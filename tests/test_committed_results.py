"""The committed AVATAR-mini entries are reproducible from a clean checkout: byte for byte where
bytes are the contract, by every number within a stated tolerance where media decoding enters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_runs import predict_and_evaluate

SUBMISSIONS = Path(__file__).resolve().parents[1] / "submissions"
MINI_ENTRIES = sorted(p.parent for p in SUBMISSIONS.glob("mini-*/results.json"))
#: v1 entries only: the byte/tolerance checks below regenerate with ``--dataset mini`` (v1);
#: v2 entries have their own checks in tests/test_mini_v2*.py.


def test_every_mini_entry_cites_the_avatar_mini_it_names(mini):
    """v1 entries cite today's v1 build; entries of another world version cite that build."""
    from avatar_bench.data import MINI_DATASETS, AvatarDataset, mini_root

    assert MINI_ENTRIES, "no AVATAR-mini entries committed"
    builds = {1: mini}
    for folder in MINI_ENTRIES:
        results = json.loads((folder / "results.json").read_text())
        revision = results["dataset"]["revision"]
        version = int(revision.split("-")[1].removeprefix("v"))
        assert version in MINI_DATASETS.values(), f"{folder.name}: unknown revision {revision}"
        if version not in builds:
            builds[version] = AvatarDataset(mini_root(0, version), name="AVATAR-mini")
        current = builds[version]
        assert results["dataset"]["annotation_sha256"] == current.annotation_checksum, (
            f"{folder.name} was computed on another AVATAR-mini v{version}: rerun "
            "baselines/reproduce_mini.sh")
        assert revision == current.revision


#: Predictors whose maps depend only on the annotations and fixed arithmetic: their results
#: JSON is a byte-level contract (same annotations + same code -> same bytes).
BYTE_EXACT = ["center-prior", "random", "oracle"]
#: Predictors that decode video/audio: decoders (PyAV/FFmpeg, numpy) may round differently
#: between library versions, so the predictions' sha256 may change while the metrics agree.
#: They are compared by every number within ``MEDIA_TOLERANCE`` points (the committed values
#: were made with constraints.txt, and there agree exactly).
MEDIA_DEPENDENT = ["motion", "motion-sync"]
MEDIA_TOLERANCE = 0.05
THRESHOLD_RTOL = 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("model", BYTE_EXACT)
def test_reference_entries_reproduce_byte_for_byte(model, mini_root, tmp_path, monkeypatch):
    out = predict_and_evaluate(model, "mini", tmp_path, monkeypatch)
    committed = (SUBMISSIONS / f"mini-{model}" / "results.json").read_bytes()
    assert out.read_bytes() == committed


def _numbers(node, path=""):
    """Flatten every number of a results document to {json.path: value}."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            out.update(_numbers(v, f"{path}.{k}"))
        return out
    if isinstance(node, list):
        out = {}
        for i, v in enumerate(node):
            out.update(_numbers(v, f"{path}[{i}]"))
        return out
    if isinstance(node, bool) or not isinstance(node, int | float):
        return {}
    return {path: float(node)}


def media_mismatches(fresh: dict, committed: dict) -> list[str]:
    """Every difference beyond tolerance: metrics/intervals in points, thresholds relative;
    everything that is not a number must be equal, except the predictions' sha256."""
    problems = []
    a, b = _numbers(fresh), _numbers(committed)
    if a.keys() != b.keys():
        problems.append(f"different fields: {sorted(a.keys() ^ b.keys())}")
    for key in sorted(a.keys() & b.keys()):
        tol = THRESHOLD_RTOL * abs(b[key]) if key.startswith(".thresholds") else MEDIA_TOLERANCE
        if abs(a[key] - b[key]) > tol:
            problems.append(f"{key}: {a[key]} vs committed {b[key]} (tolerance {tol:g})")

    def strip(doc: dict) -> dict:
        doc = json.loads(json.dumps(doc))
        doc["predictions"].pop("sha256", None)
        return {k: v for k, v in doc.items() if k not in ("metrics", "off_screen", "thresholds")}

    if strip(fresh) != strip(committed):
        problems.append("non-numeric fields differ")
    return problems


def test_media_comparison_catches_a_changed_metric():
    doc = json.loads((SUBMISSIONS / "mini-motion" / "results.json").read_text())
    assert media_mismatches(doc, doc) == []
    shifted = json.loads(json.dumps(doc))
    shifted["metrics"]["multi_entity"]["ciou"] += 2 * MEDIA_TOLERANCE
    shifted["predictions"]["sha256"] = "0" * 64
    assert [p.split(":")[0] for p in media_mismatches(shifted, doc)] == [
        ".metrics.multi_entity.ciou"]
    renamed = json.loads(json.dumps(doc))
    renamed["dataset"]["revision"] = "other"
    assert media_mismatches(renamed, doc) == ["non-numeric fields differ"]


@pytest.mark.slow
@pytest.mark.parametrize("model", MEDIA_DEPENDENT)
def test_media_reference_entries_reproduce_within_tolerance(model, mini_root, tmp_path,
                                                            monkeypatch):
    out = predict_and_evaluate(model, "mini", tmp_path, monkeypatch)
    fresh = json.loads(out.read_text())
    committed = json.loads((SUBMISSIONS / f"mini-{model}" / "results.json").read_text())
    assert media_mismatches(fresh, committed) == []


def test_motion_entries_show_what_separates_multi_entity_twins():
    """The world's design as the reproduced entries measure it (byte-checked above): every
    sounding object vibrates, so motion alone localises Single-sound far above the centre
    prior; silent Multi-entity twins vibrate too, so only audio synchrony separates them."""
    def ciou(model, subset):
        data = json.loads((SUBMISSIONS / f"mini-{model}" / "results.json").read_text())
        return data["metrics"][subset]["ciou"]

    assert ciou("motion", "single_sound") > 5 * ciou("center-prior", "single_sound")
    assert ciou("motion-sync", "multi_entity") > 1.5 * ciou("motion", "multi_entity")
    assert ciou("motion", "multi_entity") > ciou("center-prior", "multi_entity")


#: The models of baselines/reproduce_mini_v2_study.sh and the seeds every one of them ran.
STUDY_MODELS = ("ezvsl", "slavc", "ssltie", "tavlo-mean", "tavlo-max", "tavlo-mean-nox",
                "tavlo-max-nox", "tavlo-max-nox-long")
STUDY_SEEDS = (0, 1, 2)


def test_v2_study_commits_one_entry_per_model_and_seed():
    """Every trained v2 entry is one seed of the study; the seed is a field, not only a name."""
    found: dict[str, set[int]] = {}
    for folder in SUBMISSIONS.glob("mini-v2-*-s*"):
        stem, _, tail = folder.name.rpartition("-s")
        if not tail.isdigit():
            continue
        meta = json.loads((folder / "submission.json").read_text())
        results = json.loads((folder / "results.json").read_text())
        seed = int(tail)
        assert meta["training_seed"] == seed, folder.name
        assert meta["name"].endswith(f", seed {seed}"), folder.name
        assert meta["training_data"]["name"] == "AVATAR-mini v2 training stream", folder.name
        assert results["dataset"]["revision"] == "mini-v2-seed0-n60", folder.name
        found.setdefault(stem.removeprefix("mini-v2-"), set()).add(seed)
    assert found == {m: set(STUDY_SEEDS) for m in STUDY_MODELS}
