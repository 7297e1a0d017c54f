"""Every float option of the CLI refuses NaN and infinity (click lets both through)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from avatar_bench.cli import cli
from avatar_bench.cli.common import finite_number

CASES = [(["train", "-m", "ezvsl", "--steps", "1"], "--lr"),
         (["reproduce", "--checkpoints", "."], "--tolerance"),
         (["predict", "--model", "center-prior", "-o", "p.npz"], "--audio-window"),
         (["evaluate", "p.npz"], "--top-percent")]


@pytest.mark.parametrize("cmd,option", CASES)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_values_are_refused(cmd, option, value, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli, [*cmd, option, value])
    assert res.exit_code == 2, res.output
    assert "finite" in res.output or "must be in" in res.output
    assert list(tmp_path.iterdir()) == []


def test_every_float_option_is_covered():
    """A new float option must be added to CASES (or have a finite-number check)."""
    seen = set()

    def walk(cmd, path):
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, (*path, name))
            return
        for p in cmd.params:
            if isinstance(p.type, click.types.FloatParamType):
                seen.add((path[0], p.opts[0]))

    walk(cli, ())
    covered = {(c[0], o) for c, o in CASES} | {("submit", "--audio-window"),
                                                ("reproduce", "--audio-window")}
    assert seen <= covered, seen - covered


def test_bounds():
    check = finite_number(0, strict=True)
    assert check(None, None, 0.5) == 0.5
    assert check(None, None, None) is None
    with pytest.raises(click.BadParameter):
        check(None, None, 0.0)
    assert finite_number(0, strict=False)(None, None, 0.0) == 0.0


@pytest.mark.parametrize("cmd,option,value", [
    (["predict", "--model", "ezvsl", "-o", "p.npz"], "--seed", str(10**23)),
    (["predict", "--model", "random", "-o", "p.npz"], "--seed", "-1"),
    (["predict", "--model", "random", "-o", "p.npz"], "--workers", "100000"),
    (["predict", "--model", "random", "-o", "p.npz"], "--batch-size", "0"),
    (["train", "-m", "ezvsl", "--steps", "1"], "--seed", "-3"),
    (["train", "-m", "ezvsl", "--steps", "1"], "--num-workers", "100000")])
def test_integer_options_have_stated_ranges(cmd, option, value, tmp_path, monkeypatch):
    """A seed beyond 64 bits used to end in torch's OverflowError traceback; 100,000 workers
    would fork that many processes."""
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli, [*cmd, option, value])
    assert res.exit_code == 2, res.output
    assert "is not in the range" in res.output
    assert list(tmp_path.iterdir()) == []
