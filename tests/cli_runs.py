"""Shared CLI runs for the committed-entry tests: predict then evaluate a reference model."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from avatar_bench.cli import cli


def predict_and_evaluate(model: str, dataset: str, tmp_path: Path, monkeypatch) -> Path:
    """``predict --model MODEL`` then ``evaluate`` on ``dataset``; the results JSON path."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    res = runner.invoke(cli, ["predict", "--model", model, "--dataset", dataset,
                              "-o", f"{model}.npz"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["evaluate", f"{model}.npz", "--dataset", dataset,
                              "--output", "results.json"])
    assert res.exit_code == 0, res.output
    return tmp_path / "results.json"
