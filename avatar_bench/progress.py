"""Progress bars that stay quiet when asked to, or when output is not a terminal."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
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


class Meter:
    """A counter with rate and ETA for long jobs that may resume part-way (``initial``).

    On a terminal it is a tqdm bar; on a non-interactive stderr (a log file, a batch job) it
    prints one line every ``every_s`` seconds instead, so long runs still say where they are;
    silenced like the bars.
    """

    def __init__(self, desc: str, total: int, initial: int = 0, unit: str = "it",
                 every_s: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.desc, self.total, self.n, self.unit = desc, total, initial, unit
        self._initial, self._every = initial, every_s
        self._clock = clock
        self._start = self._last = self._clock()
        self._bar = None
        if enabled():
            self._bar = tqdm(desc=desc, total=total, initial=initial, unit=unit, leave=False,
                             dynamic_ncols=True)
        self._log = not self._bar and not _QUIET and not os.environ.get("AVATAR_BENCH_QUIET")

    def eta_s(self) -> float | None:
        """Seconds left at the rate of this process so far (None before any progress)."""
        done = self.n - self._initial
        elapsed = self._clock() - self._start
        if done <= 0 or elapsed <= 0:
            return None
        return (self.total - self.n) * elapsed / done

    def update(self, n: int) -> None:
        self.n += n
        if self._bar is not None:
            self._bar.update(n)
        elif self._log and self._clock() - self._last >= self._every:
            self._last = self._clock()
            sys.stderr.write(self.line() + "\n")
            sys.stderr.flush()

    def line(self) -> str:
        """``desc: n/total unit (p%), r unit/s, ETA ...`` for logs."""
        elapsed = max(self._clock() - self._start, 1e-9)
        rate = (self.n - self._initial) / elapsed
        eta = self.eta_s()
        left = "?" if eta is None else (f"{eta / 60:.0f} min" if eta >= 90 else f"{eta:.0f} s")
        pct = 100.0 * self.n / self.total if self.total else 100.0
        return (f"{self.desc}: {self.n:,}/{self.total:,} {self.unit}s ({pct:.0f}%), "
                f"{rate:.1f} {self.unit}s/s, ETA {left}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
