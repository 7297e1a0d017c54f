"""Progress bars that stay quiet when asked to, or when output is not a terminal."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")

_QUIET = False


def set_quiet(quiet: bool) -> None:
    """Silence every progress bar in this process (the CLI's ``--quiet``)."""
    global _QUIET
    _QUIET = quiet


def enabled() -> bool:
    """Bars show only on an interactive stderr and when not silenced."""
    if _QUIET or os.environ.get("AVATAR_BENCH_QUIET"):
        return False
    return sys.stderr.isatty()


def progress(iterable: Iterable[T], desc: str, total: int | None = None,
             unit: str = "it") -> Iterator[T]:
    """Wrap ``iterable`` in a tqdm bar when bars are enabled."""
    if not enabled():
        yield from iterable
        return
    yield from tqdm(iterable, desc=desc, total=total, unit=unit, leave=False,
                    dynamic_ncols=True)
