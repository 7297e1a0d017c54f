"""Writing files so that no reader ever sees half of one, and checking what a path is.

Every output avatar-bench produces (results JSON, per-frame CSV, predictions, pages,
submission folders, manifests) is written to a temporary name in the destination's own folder
and renamed over the target only when complete: a crash, a full disk or Ctrl-C leaves the old
file (or nothing), never a truncated one, and a concurrent reader sees the old or the new
bytes. Temporary names start with ``.`` and contain ``.tmp-`` so ``sweep_stale`` can remove
what an earlier killed run left behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from avatar_bench.errors import AvatarBenchError

#: Marker in every temporary name this module creates.
TMP_MARK = ".tmp-"
#: Leftovers older than this are removed by ``sweep_stale`` (a live writer renews nothing,
#: so keep it longer than any single write takes).
STALE_AFTER_S = 3600.0


def _tmp_prefix(target: Path) -> str:
    return f".{target.name}{TMP_MARK}"


def _fail(target: Path, exc: OSError) -> AvatarBenchError:
    return AvatarBenchError(f"{target}: cannot write: {exc.strerror or exc} "
                            "(nothing was changed at that path)")


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8",
                newline: str | None = None) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success fsync it and rename it over ``path``.

    On any exception the temporary file is removed and ``path`` is untouched. OSErrors
    (disk full, permission, read-only) become an ``AvatarBenchError`` naming ``path``.
    """
    target = Path(path)
    if "b" in mode:
        encoding = None
    parent = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=_tmp_prefix(target), dir=parent)
    except OSError as exc:
        raise _fail(target, exc) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _fail(target, exc) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (see ``atomic_open``)."""
    with atomic_open(path, "w", encoding=encoding, newline="") as fh:
        fh.write(text)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see ``atomic_open``)."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, replace: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; rename it to ``path`` when the block succeeds.

    With ``replace`` an existing ``path`` is swapped out only after the new folder is complete.
    On failure the temporary folder is removed and ``path`` is as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(target), dir=target.parent))
    except OSError as exc:
        raise _fail(target, exc) from exc
    try:
        yield tmp
        if target.exists():
            if not replace:
                raise AvatarBenchError(f"{target} already exists")
            old = Path(tempfile.mkdtemp(prefix=_tmp_prefix(target) + "old-", dir=target.parent))
            os.replace(target, old / "x")
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _fail(target, exc) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def sweep_stale(folder: str | os.PathLike, older_than_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove temporary files/folders that a killed earlier run left in ``folder``."""
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    now = time.time()
    for p in folder.iterdir():
        if not (p.name.startswith(".") and TMP_MARK in p.name):
            continue
        try:
            if now - p.lstat().st_mtime < older_than_s:
                continue
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed.append(p)
        except OSError:
            continue
    return removed


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (another user's counts as alive, and so
    does one we cannot check): leftovers are removed only when their owner is surely gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def describe_path(path: str | os.PathLike) -> str | None:
    """None for a readable regular file; otherwise what the path is, for an error message.

    Why: ``open`` on a FIFO blocks forever and ``/dev/zero`` never ends, so inputs are
    checked before they are read.
    """
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        return "no such file"
    except PermissionError:
        return "permission denied"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    mode = st.st_mode
    if stat.S_ISREG(mode):
        return None
    kinds = [(stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket")]
    for test, name in kinds:
        if test(mode):
            return f"{name}, not a regular file"
    return "not a regular file"


def require_regular_file(path: str | os.PathLike, what: str = "input") -> Path:
    """Return ``Path(path)`` if it is a regular file, else raise naming what it is."""
    problem = describe_path(path)
    if problem:
        raise AvatarBenchError(f"{path}: {what} is {problem}")
    return Path(path)
