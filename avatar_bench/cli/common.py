"""Shared CLI options. The CLI only parses flags and calls the library."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import click

from avatar_bench.data import DATASETS, AvatarDataset, open_dataset
from avatar_bench.errors import AvatarBenchError

#: Seeds go to numpy and torch (``torch.manual_seed`` takes at most a signed 64-bit value).
SEED_MAX = 2**63 - 1
#: Worker processes / threads: more would fork-bomb a machine, not speed anything up.
MAX_WORKERS = 64


def dataset_options(func: Callable) -> Callable:
    """Add ``--dataset/--root/--strict/--lenient`` and pass an opened ``dataset`` on demand."""

    @click.option("--dataset", type=click.Choice(list(DATASETS)), default=None,
                  help="Built-in AVATAR-mini (mini = v1; mini-v2 = the v2 world, see "
                       "docs/mini.md) or the real AVATAR (default: the real one when "
                       "AVATAR_ROOT or the cache holds it, else mini).")
    @click.option("--root", type=click.Path(file_okay=False), default=None,
                  help="Root of the real AVATAR (metadata/ and video/). Default: $AVATAR_ROOT, "
                       "then the per-user cache.")
    @click.option("--strict/--lenient", default=True, show_default=True,
                  help="Stop at the first malformed annotation, or skip it and report.")
    @functools.wraps(func)
    def wrapper(*args, dataset, root, strict, **kwargs):
        if root is not None and dataset is None:
            dataset = "avatar"

        def load() -> AvatarDataset:
            ds = open_dataset(dataset, root, strict=strict)
            if ds.skipped:
                click.echo(f"warning: --lenient skipped {len(ds.skipped)} malformed frame(s):",
                           err=True)
                for msg in ds.skipped[:20]:
                    click.echo(f"  - {msg}", err=True)
                if len(ds.skipped) > 20:
                    click.echo(f"  ... and {len(ds.skipped) - 20} more", err=True)
            return ds

        return func(*args, load_dataset=load, **kwargs)

    return wrapper


def finite_number(lower: float, strict: bool, unit: str = "") -> Callable:
    """A click callback accepting finite numbers above ``lower`` (``>`` when ``strict``).

    Why: click's ``float`` and ``FloatRange`` accept ``nan`` and ``inf``, and a NaN compares
    False with everything, so a NaN tolerance would pass every check silently.
    """
    sign = ">" if strict else ">="

    def check(ctx: click.Context, param: click.Parameter, value: float | None):
        if value is not None and not (math.isfinite(value)
                                      and (value > lower if strict else value >= lower)):
            raise click.BadParameter(f"expected a finite number{unit} {sign} {lower:g}, "
                                     f"got {value}")
        return value

    return check


#: Durations such as ``--audio-window``.
positive_seconds = finite_number(0, strict=True, unit=" of seconds")


def parse_options(pairs: tuple[str, ...] | list[str]) -> dict:
    """``KEY=VALUE`` pairs -> options; VALUE as JSON when it parses, else text."""
    import json

    out: dict = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise AvatarBenchError(f"--option {pair!r}: expected KEY=VALUE with KEY a name, "
                                   "e.g. use_mom_eval=true")
        if key in out:
            raise AvatarBenchError(f"--option {key} given twice")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        if isinstance(value, float) and value != value or value in (float("inf"), -float("inf")):
            raise AvatarBenchError(f"--option {key}: expected a finite value, got {raw!r}")
        out[key] = value
    return out
