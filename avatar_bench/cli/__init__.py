"""The ``avatar-bench`` command. Each module in ``COMMAND_MODULES`` contributes commands.

Library code raises ``AvatarBenchError``; here it becomes ``error: ...`` and exit code 2.
"""

from __future__ import annotations

import importlib
import sys

import click

from avatar_bench import __version__
from avatar_bench.errors import AvatarBenchError
from avatar_bench.progress import set_quiet

#: Modules under avatar_bench.cli exposing a ``COMMANDS`` list of click commands.
COMMAND_MODULES = ("data", "hub", "evaluate", "models", "train", "board", "viz", "reproduce")


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AvatarBenchError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="avatar-bench")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def cli(quiet: bool) -> None:
    """avatar-bench: evaluate video-centric audio-visual localization on AVATAR."""
    set_quiet(quiet)


def _quiet_callback(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        set_quiet(True)


def _accept_quiet_anywhere(cmd: click.Command) -> None:
    """Give every subcommand ``-q/--quiet`` too, so it works after the subcommand's name
    (``avatar-bench evaluate -q ...``) as well as before it."""
    taken = {opt for p in cmd.params for opt in getattr(p, "opts", [])}
    if not taken & {"-q", "--quiet"}:
        cmd.params.append(click.Option(["--quiet", "-q"], is_flag=True, expose_value=False,
                                       is_eager=True, callback=_quiet_callback,
                                       help="No progress bars."))
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            _accept_quiet_anywhere(sub)


for _name in COMMAND_MODULES:
    try:
        _mod = importlib.import_module(f"avatar_bench.cli.{_name}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"avatar_bench.cli.{_name}":
            raise
        continue
    for _cmd in _mod.COMMANDS:
        _accept_quiet_anywhere(_cmd)
        cli.add_command(_cmd)


def main() -> None:
    cli(prog_name="avatar-bench")
