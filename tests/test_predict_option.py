"""``predict --option KEY=VALUE`` passes model options that have no flag of their own."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from avatar_bench.cli import cli
from avatar_bench.cli.common import parse_options
from avatar_bench.errors import AvatarBenchError


def test_values_are_json_when_they_parse_else_text():
    assert parse_options(["use_mom_eval=true", "n=3", "x=0.5", "name=abc", "s=\"q\""]) == {
        "use_mom_eval": True, "n": 3, "x": 0.5, "name": "abc", "s": "q"}
    assert parse_options([]) == {}


@pytest.mark.parametrize("bad", ["novalue", "=3", "a b=1", "x=NaN", "x=Infinity"])
def test_malformed_pairs_are_refused(bad):
    with pytest.raises(AvatarBenchError, match="--option"):
        parse_options([bad])


def test_a_key_given_twice_is_refused():
    with pytest.raises(AvatarBenchError, match="twice"):
        parse_options(["a=1", "a=2"])


def _predict(tmp_path, *args):
    return CliRunner().invoke(cli, ["predict", "--model", "center-prior", "--dataset", "mini",
                                    "-o", str(tmp_path / "p.npz"), *args])


def test_unknown_options_reach_the_adapter_and_are_refused_there(tmp_path):
    res = _predict(tmp_path, "--option", "foo=1")
    assert res.exit_code == 2
    assert "unknown option(s) foo" in res.output
    assert not (tmp_path / "p.npz").exists()


def test_options_with_their_own_flag_point_to_it(tmp_path):
    res = _predict(tmp_path, "--option", "seed=3")
    assert res.exit_code == 2
    assert "use the --seed flag" in res.output


@pytest.mark.torch
def test_slavc_momentum_maps_are_selectable():
    pytest.importorskip("torch")
    import warnings

    from avatar_bench.models.registry import create

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        online = create("slavc", seed=0, device="cpu")
        momentum = create("slavc", seed=0, device="cpu",
                          **parse_options(["use_mom_eval=true"]))
    assert online.meta()["encoders"] == "online"
    assert momentum.meta()["encoders"] == "momentum"


@pytest.mark.parametrize("cmd", [["predict", "--model", "center-prior", "--dataset", "mini",
                                  "-o", "p.npz"],
                                 ["submit", "p.npz", "--name", "X", "--dataset", "mini"]])
@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0"])
def test_audio_window_must_be_finite_and_positive(cmd, value, tmp_path, monkeypatch):
    """click's FloatRange lets NaN through; a NaN window used to run every frame and then
    fail at the write, telling the user to rerun the same (failing) command."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.npz").write_bytes(b"")
    res = CliRunner().invoke(cli, [*cmd, "--audio-window", value])
    assert res.exit_code == 2, res.output
    assert "finite number of seconds > 0" in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.npz"]
