"""The unfinished part of a ``predict`` run, kept beside its output so a rerun continues.

``<output>.partial/`` holds ``state.json`` (what the run is: model, options, checkpoint
sha256, dataset name/revision/annotation checksum, segment plan, precision) and one
``seg-NNNNNN.npz`` per finished segment (keys + maps as float16, the dtype of the final
file). Every file is written atomically, so a kill at any instant leaves only whole
segments. A rerun with other settings is refused: mixing maps of two configurations would
produce a file that no single command made. A lock file stops two runs sharing one folder.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from avatar_bench.errors import AvatarBenchError
from avatar_bench.fsio import (
    TMP_MARK,
    atomic_open,
    atomic_write_text,
    describe_path,
    sweep_stale,
)

try:
    import fcntl
except ImportError:          # not POSIX: runs are not protected against a concurrent twin
    fcntl = None

STATE_NAME = "state.json"
LOCK_NAME = "lock"
#: Stored maps use the predictions file's dtype, so assembling is a plain copy.
MAP_DTYPE = np.dtype(np.float16)


def partial_path(output: str | os.PathLike) -> Path:
    """Where the unfinished work of ``output`` is kept."""
    output = Path(output)
    return output.with_name(output.name + ".partial")


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for k, v in node.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: node}


def state_differences(old: dict, new: dict) -> list[str]:
    """``field: was X, now Y`` for every setting that differs (dotted paths)."""
    a, b = _flatten(old), _flatten(new)
    out = []
    for key in sorted(set(a) | set(b)):
        if a.get(key, "<unset>") != b.get(key, "<unset>"):
            out.append(f"{key}: was {a.get(key, '<unset>')!r}, now {b.get(key, '<unset>')!r}")
    return out


class PartialRun:
    """Finished segments of one run; ``open`` before use, ``close`` (or ``discard``) after."""

    def __init__(self, output: str | os.PathLike, state: dict[str, Any]) -> None:
        self.output = Path(output)
        self.folder = partial_path(output)
        # JSON round trip: the state compared on resume is exactly what a fresh run stored.
        self.state = json.loads(json.dumps(state, sort_keys=True, default=str))
        self._lock_fd: int | None = None

    # ------------------------------------------------------------ lifecycle
    def open(self, restart: bool = False) -> bool:
        """Create or reopen the folder; True when earlier work is being resumed."""
        if self.folder.exists() and not self.folder.is_dir():
            raise AvatarBenchError(f"{self.folder}: exists and is not a folder; remove it")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AvatarBenchError(f"{self.folder}: cannot create the partial-run folder: "
                                   f"{exc.strerror or exc}") from exc
        self._lock()
        # We hold the lock: temporary files of this output and its segments are dead.
        sweep_stale(self.folder, older_than_s=0)
        for tmp in self.output.parent.glob(f".{self.output.name}{TMP_MARK}*"):
            tmp.unlink(missing_ok=True)
        if restart:
            (self.folder / STATE_NAME).unlink(missing_ok=True)
        old = self._read_state()
        if old is None:
            for seg in self.folder.glob("seg-*.npz"):
                seg.unlink()
            atomic_write_text(self.folder / STATE_NAME,
                              json.dumps(self.state, sort_keys=True, indent=1))
            return False
        diffs = state_differences(old, self.state)
        if diffs:
            self.close()
            raise AvatarBenchError(
                f"{self.folder} holds an unfinished run with other settings, so it cannot "
                "be continued with these. Rerun with the settings it was started with to "
                "continue, or add --restart to discard it. Differences:", diffs)
        return True

    def _lock(self) -> None:
        if fcntl is None:
            return
        fd = os.open(self.folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            raise AvatarBenchError(f"another predict run is writing {self.output} (its "
                                   f"partial folder {self.folder} is locked)") from exc
        self._lock_fd = fd

    def _read_state(self) -> dict | None:
        path = self.folder / STATE_NAME
        if describe_path(path) is not None:
            return None
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def close(self) -> None:
        """Release the lock (the folder stays for the next run)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def discard(self) -> None:
        """Remove the folder: the output is complete."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self.close()

    # ------------------------------------------------------------- segments
    def _segment(self, index: int) -> Path:
        return self.folder / f"seg-{index:06d}.npz"

    def load(self, index: int, keys: list[str]) -> np.ndarray | None:
        """The stored maps of segment ``index`` if it holds exactly ``keys``, else None
        (a missing, unreadable or foreign segment is recomputed)."""
        path = self._segment(index)
        if describe_path(path) is not None:
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                stored = [str(k) for k in data["keys"]]
                maps = data["maps"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
            path.unlink(missing_ok=True)
            return None
        if stored != keys or maps.ndim != 3 or len(maps) != len(keys) or \
                maps.dtype != MAP_DTYPE:
            path.unlink(missing_ok=True)
            return None
        return maps

    def save(self, index: int, keys: list[str], maps: np.ndarray) -> None:
        """Store one finished segment atomically (float16, like the final file)."""
        with atomic_open(self._segment(index), "wb") as fh:
            np.savez(fh, keys=np.array(keys, dtype=str), maps=maps.astype(MAP_DTYPE))

    def iter_maps(self, segments: list[list[str]]) -> Iterator[tuple[str, np.ndarray]]:
        """Every stored ``(key, map)`` in segment order, one segment in memory at a time."""
        for index, keys in enumerate(segments):
            maps = self.load(index, keys)
            if maps is None:
                raise AvatarBenchError(f"{self._segment(index)}: missing or damaged while "
                                       "assembling; rerun the same command to recompute it")
            yield from zip(keys, maps, strict=True)
