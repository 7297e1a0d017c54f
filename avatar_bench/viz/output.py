"""Where a figure goes: a file (written atomically) or, for ``-``, standard output as PNG."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

from avatar_bench.errors import AvatarBenchError
from avatar_bench.fsio import atomic_write_bytes

#: The ``-o`` value that means standard output.
STDOUT = "-"
#: Figure formats matplotlib writes without extra packages, by file suffix.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def is_stdout(out: str | os.PathLike) -> bool:
    return str(out) == STDOUT


def figure_format(out: str | os.PathLike) -> str:
    """The figure format for ``out``: PNG for standard output, else from the suffix."""
    if is_stdout(out):
        return "png"
    suffix = Path(out).suffix.lower()
    if suffix not in FORMATS:
        raise AvatarBenchError(f"{out}: unknown figure type {suffix or '(no suffix)'!r}; "
                               f"use one of {', '.join(FORMATS)} or '-' for PNG on stdout")
    return FORMATS[suffix]


def save_figure(fig, out: str | os.PathLike, dpi: int) -> str:
    """Render ``fig`` and write it to ``out`` (``-`` = standard output); returns a label."""
    fmt = figure_format(out)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi)
    if is_stdout(out):
        stream = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else sys.stdout
        stream.write(buf.getvalue())
        stream.flush()
        return "<stdout>"
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buf.getvalue())
    return str(path)
