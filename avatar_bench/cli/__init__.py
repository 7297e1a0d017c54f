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


for _name in COMMAND_MODULES:
    try:
        _mod = importlib.import_module(f"avatar_bench.cli.{_name}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"avatar_bench.cli.{_name}":
            raise
        continue
    for _cmd in _mod.COMMANDS:
        cli.add_command(_cmd)


def main() -> None:
    cli(prog_name="avatar-bench")
