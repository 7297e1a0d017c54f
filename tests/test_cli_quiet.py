"""``-q/--quiet`` works before and after the subcommand's name, on every (sub)command."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from avatar_bench import progress
from avatar_bench.cli import cli


def _leaf_commands(group: click.Group, prefix=()):
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from _leaf_commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


@pytest.fixture(autouse=True)
def _reset_quiet():
    progress.set_quiet(False)
    yield
    progress.set_quiet(False)


def test_every_command_accepts_quiet():
    leaves = list(_leaf_commands(cli))
    assert len(leaves) >= 10
    for path, cmd in leaves:
        opts = {o for p in cmd.params for o in getattr(p, "opts", [])}
        assert {"-q", "--quiet"} <= opts, f"avatar-bench {' '.join(path)} lacks -q/--quiet"


@pytest.mark.parametrize("argv", [["-q", "info", "--help"], ["info", "-q", "--help"],
                                  ["info", "--quiet", "--help"]])
def test_quiet_sets_quiet_wherever_it_stands(argv):
    res = CliRunner().invoke(cli, argv)
    assert res.exit_code == 0, res.output
    assert progress._QUIET is True


def test_without_quiet_nothing_is_silenced():
    res = CliRunner().invoke(cli, ["info", "--help"])
    assert res.exit_code == 0, res.output
    assert progress._QUIET is False
