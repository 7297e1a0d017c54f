"""The committed AVATAR-mini entries are reproducible from a clean checkout, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from avatar_bench.cli import cli

SUBMISSIONS = Path(__file__).resolve().parents[1] / "submissions"
MINI_ENTRIES = sorted(p.parent for p in SUBMISSIONS.glob("mini-*/results.json"))


def test_every_mini_entry_cites_the_current_avatar_mini(mini):
    assert MINI_ENTRIES, "no AVATAR-mini entries committed"
    for folder in MINI_ENTRIES:
        results = json.loads((folder / "results.json").read_text())
        assert results["dataset"]["annotation_sha256"] == mini.annotation_checksum, (
            f"{folder.name} was computed on another AVATAR-mini: rerun "
            "baselines/reproduce_mini.sh")
        assert results["dataset"]["revision"] == mini.revision


@pytest.mark.slow
@pytest.mark.parametrize("model", ["center-prior", "random", "oracle", "motion", "motion-sync"])
def test_reference_entries_reproduce_byte_for_byte(model, mini_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    res = runner.invoke(cli, ["predict", "--model", model, "--dataset", "mini",
                              "-o", f"{model}.npz"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["evaluate", f"{model}.npz", "--dataset", "mini",
                              "--output", "results.json"])
    assert res.exit_code == 0, res.output
    committed = (SUBMISSIONS / f"mini-{model}" / "results.json").read_bytes()
    assert (tmp_path / "results.json").read_bytes() == committed


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
