"""One strict reader for results JSON (plot, visualize --results): no NaN plotted as a value."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from avatar_bench.cli import cli
from avatar_bench.errors import AvatarBenchError
from avatar_bench.eval.results import load_results


@pytest.mark.parametrize("text,match", [
    ('{"metrics": {"total": {"ciou": NaN}}}', "NaN is not a finite number"),
    ('{"thresholds": {"main": Infinity}}', "Infinity is not a finite number"),
    ("[1, 2]", "is an object, got list"),
    ("{" * 100000, "cannot read results JSON"),
    ('{"a": 1', "cannot read results JSON")])
def test_bad_documents_are_refused(tmp_path, text, match):
    p = tmp_path / "r.json"
    p.write_text(text)
    with pytest.raises(AvatarBenchError, match=match):
        load_results(p)


def test_non_utf8_and_non_files_are_refused(tmp_path):
    p = tmp_path / "r.json"
    p.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(AvatarBenchError, match="cannot read results JSON"):
        load_results(p)
    with pytest.raises(AvatarBenchError, match="a folder"):
        load_results(tmp_path)


def test_a_valid_document_round_trips(tmp_path):
    doc = {"metrics": {"total": {"ciou": 1.5}}, "thresholds": {"main": 0.25}}
    (tmp_path / "r.json").write_text(json.dumps(doc))
    assert load_results(tmp_path / "r.json") == doc


def test_plot_refuses_a_nan_metric(tmp_path):
    (tmp_path / "r.json").write_text('{"metrics": {"total": {"ciou": NaN}}}')
    res = CliRunner().invoke(cli, ["plot", str(tmp_path / "r.json"), "-o",
                                   str(tmp_path / "p.png")])
    assert res.exit_code == 2, res.output
    assert "NaN is not a finite number" in res.output
    assert not (tmp_path / "p.png").exists()
