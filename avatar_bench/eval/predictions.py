"""Predictions format v1: read lazily, write by streaming, never unpickle.

A submission is an ``.npz`` holding ``keys`` (unicode, one frame key per map), ``heatmaps``
(float16/float32, ``[N, h, w]``, higher = more likely sounding) and optionally ``meta``
(0-d unicode JSON string); or a directory of ``<key>.npy`` maps (plus optional ``meta.json``).

The full AVATAR submission at 224x224 float32 is ~4.9 GB, so maps are read in chunks straight
from the zip member stream and written row by row; nothing here holds the whole array.
Structural problems are collected in ``problems`` rather than raised one at a time, so the
validator can report all of them together.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import queue
import threading
import zipfile
import zlib
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from avatar_bench.errors import AvatarBenchError
from avatar_bench.fsio import atomic_open, describe_path

FORMAT_VERSION = 1
HEATMAP_DTYPES = (np.dtype(np.float16), np.dtype(np.float32))
#: Limits checked from headers, before any data is read (why: a header can claim anything).
MAX_MAP_SIDE = 2048
MAX_MAPS = 1_000_000
MAX_KEY_BYTES = 256 << 20
MAX_META_BYTES = 1 << 20
MAX_META_DEPTH = 32
#: Fortran-ordered maps cannot be streamed by rows; such files are read whole up to this.
MAX_FORTRAN_BYTES = 256 << 20
#: Fixed zip timestamp: identical inputs give identical bytes.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError)


def _header(fp) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Read an .npy header without touching the data (raises ValueError when malformed)."""
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fp)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(fp)
    raise ValueError(f"unsupported .npy format version {version}")


def _read_exact(fp, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        part = fp.read(n - len(buf))
        if not part:
            raise EOFError(f"data ends early: wanted {n} bytes, got {len(buf)}")
        buf += part
    return bytes(buf)


def _pickle_message(what: str) -> str:
    return (f"{what}: object array (pickled data) is not allowed; save plain arrays "
            "(keys as np.array(keys, dtype=str), heatmaps as float16/float32)")


class PredictionsFile:
    """A lazy, read-only view of a predictions file or directory.

    Opening reads only headers, ``keys`` and ``meta``; ``iter_chunks`` streams the maps.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.raw_keys: list[str] | None = None
        self.n_maps: int | None = None
        self.map_shape: tuple[int, int] | None = None
        self.dtype: np.dtype | None = None
        self.meta: dict | None = None
        self._fortran = False
        self._files: list[Path] = []
        #: ``(file signature, sha256)`` from a complete ``verified_chunks`` pass.
        self._digest: tuple[tuple[int, ...], str] | None = None
        what = describe_path(self.path)
        if what is None:
            self.kind = "npz"
            self._inspect_npz()
        elif self.path.is_dir():
            self.kind = "dir"
            self._inspect_dir()
        else:
            self.kind = "missing"
            self.problems.append(f"{self.path}: predictions path is {what}; expected an .npz "
                                 "file or a folder of .npy files")

    @property
    def readable(self) -> bool:
        """True when the maps can be streamed (shape and dtype are usable)."""
        return self.n_maps is not None and self.map_shape is not None and self.dtype is not None

    # ------------------------------------------------------------------ npz
    def _inspect_npz(self) -> None:
        try:
            with zipfile.ZipFile(self.path) as zf:
                names = set(zf.namelist())
                self._check_members(names)
                if "keys.npy" in names:
                    self._read_keys_member(zf)
                if "heatmaps.npy" in names:
                    self._read_heatmap_header(zf)
                if "meta.npy" in names:
                    self._read_meta_member(zf)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
            self.problems.append(f"{self.path}: not a readable .npz (zip) file: {exc}")

    def _check_members(self, names: set[str]) -> None:
        for member in ("keys", "heatmaps"):
            if f"{member}.npy" not in names:
                self.problems.append(f"{self.path.name}: member '{member}' is missing "
                                     f"(found: {', '.join(sorted(names)) or 'nothing'})")
        extra = sorted(names - {"keys.npy", "heatmaps.npy", "meta.npy"})
        if extra:
            self.warnings.append(f"ignored extra members: {', '.join(extra)}")

    def _read_small_member(self, zf: zipfile.ZipFile, name: str, limit: int
                           ) -> np.ndarray | None:
        """Read ``<name>.npy`` whole, refusing object (pickled) arrays and sizes beyond
        ``limit`` or beyond the member itself before anything is allocated."""
        try:
            size = zf.getinfo(f"{name}.npy").file_size
            with zf.open(f"{name}.npy") as fp:
                shape, _, dtype = _header(fp)
                if dtype.hasobject:
                    self.problems.append(_pickle_message(name))
                    return None
                declared = math.prod(shape) * dtype.itemsize
                if declared > min(limit, size):
                    self.problems.append(
                        f"{name}: header declares shape {tuple(shape)} of {dtype} "
                        f"({declared:,} bytes) but the member holds {size:,} bytes (limit "
                        f"{limit:,})")
                    return None
            with zf.open(f"{name}.npy") as fp:
                return np.lib.format.read_array(fp, allow_pickle=False)
        except _READ_ERRORS as exc:
            self.problems.append(f"{name}: corrupt or unreadable member: {exc}")
            return None

    def _read_keys_member(self, zf: zipfile.ZipFile) -> None:
        keys = self._read_small_member(zf, "keys", MAX_KEY_BYTES)
        if keys is not None:
            self._set_keys(keys)

    def _set_keys(self, keys: np.ndarray) -> None:
        if keys.dtype.kind != "U":
            self.problems.append(f"keys: wrong dtype {keys.dtype}: expected a unicode string array")
            return
        if keys.ndim != 1:
            self.problems.append(f"keys: wrong ndim {keys.ndim} (shape {keys.shape}): expected 1")
            return
        if len(keys) > MAX_MAPS:
            self.problems.append(f"keys: {len(keys):,} keys, more than the limit {MAX_MAPS:,}")
            return
        self.raw_keys = [str(k) for k in keys]

    def _read_heatmap_header(self, zf: zipfile.ZipFile) -> None:
        try:
            with zf.open("heatmaps.npy") as fp:
                shape, fortran, dtype = _header(fp)
                header_len = fp.tell()
        except _READ_ERRORS as exc:
            self.problems.append(f"heatmaps: corrupt or unreadable .npy header: {exc}")
            return
        self._set_heatmap_info(shape, fortran, dtype)
        if self.readable:
            declared = self.n_maps * math.prod(self.map_shape) * dtype.itemsize
            held = zf.getinfo("heatmaps.npy").file_size - header_len
            if declared != held:
                self.problems.append(
                    f"heatmaps: header declares {self.n_maps} maps of {self.map_shape} "
                    f"{dtype} ({declared:,} bytes) but the member unpacks to {held:,} bytes")
                self.n_maps = None

    def _set_heatmap_info(self, shape: tuple[int, ...], fortran: bool, dtype: np.dtype) -> None:
        ok = True
        if dtype.hasobject:
            self.problems.append(_pickle_message("heatmaps"))
            return
        if dtype.newbyteorder("=") not in HEATMAP_DTYPES:
            self.problems.append(f"heatmaps: wrong dtype {dtype}: expected float16 or float32")
            ok = False
        if len(shape) != 3:
            self.problems.append(f"heatmaps: wrong ndim {len(shape)} (shape {tuple(shape)}): "
                                 "expected 3, [N, h, w]")
            ok = False
        elif min(shape[1:]) < 1:
            self.problems.append(f"heatmaps: empty maps of shape {tuple(shape[1:])}")
            ok = False
        elif max(shape[1:]) > MAX_MAP_SIDE:
            self.problems.append(f"heatmaps: maps of {shape[1]}x{shape[2]} are larger than the "
                                 f"maximum {MAX_MAP_SIDE}x{MAX_MAP_SIDE}: downsample them "
                                 "(the evaluation resolution is 360x640)")
            ok = False
        elif shape[0] > MAX_MAPS:
            self.problems.append(f"heatmaps: {shape[0]:,} maps, more than the limit "
                                 f"{MAX_MAPS:,}")
            ok = False
        elif fortran and math.prod(shape) * dtype.itemsize > MAX_FORTRAN_BYTES:
            self.problems.append(f"heatmaps: Fortran-ordered (column-major) and over "
                                 f"{MAX_FORTRAN_BYTES >> 20} MB, which cannot be read in "
                                 "chunks: save np.ascontiguousarray(heatmaps)")
            ok = False
        if ok:
            self.n_maps, self.map_shape = int(shape[0]), (int(shape[1]), int(shape[2]))
            self.dtype, self._fortran = dtype, fortran

    def _read_meta_member(self, zf: zipfile.ZipFile) -> None:
        raw = self._read_small_member(zf, "meta", 4 * MAX_META_BYTES)
        if raw is None:
            return
        if raw.dtype.kind != "U" or raw.ndim != 0:
            self.problems.append(f"meta: expected a 0-d unicode array holding JSON, got "
                                 f"dtype {raw.dtype} shape {raw.shape}")
            return
        self._set_meta(str(raw[()]))

    def _set_meta(self, text: str) -> None:
        """Parse the meta JSON; it is copied into the results, so it must be plain finite
        JSON of bounded size and depth (NaN, 1e400 or deep nesting could not be written)."""
        if len(text) > MAX_META_BYTES:
            self.problems.append(f"meta: {len(text):,} characters, more than the limit "
                                 f"{MAX_META_BYTES:,}")
            return
        try:
            meta = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
        except (json.JSONDecodeError, ValueError, RecursionError) as exc:
            what = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            self.problems.append(f"meta: not valid JSON: {what}")
            return
        if not isinstance(meta, dict):
            self.problems.append("meta: expected a JSON object")
            return
        if _depth(meta) > MAX_META_DEPTH:
            self.problems.append(f"meta: nested deeper than {MAX_META_DEPTH} levels")
            return
        if _has_surrogates(meta):
            self.problems.append("meta: holds unpaired surrogate characters (not valid UTF-8)")
            return
        self.meta = meta

    # ------------------------------------------------------------ directory
    def _inspect_dir(self) -> None:
        self._files = sorted(self.path.glob("*.npy"))
        if not self._files:
            self.problems.append(f"{self.path}: directory holds no <key>.npy files")
            return
        self.raw_keys = [p.stem for p in self._files]
        if len(self._files) > MAX_MAPS:
            self.problems.append(f"{self.path}: {len(self._files):,} .npy files, more than "
                                 f"the limit {MAX_MAPS:,}")
            return
        shapes: dict[tuple[int, ...], list[str]] = {}
        dtypes: dict[str, list[str]] = {}
        for p in self._files:
            what = describe_path(p)
            if what is not None:
                self.problems.append(f"{p.name}: {what}")
                continue
            try:
                with open(p, "rb") as fp:
                    shape, fortran, dtype = _header(fp)
            except _READ_ERRORS as exc:
                self.problems.append(f"{p.name}: not a readable .npy file: {exc}")
                continue
            if dtype.hasobject:
                self.problems.append(_pickle_message(p.name))
                continue
            shapes.setdefault(tuple(shape), []).append(p.name)
            dtypes.setdefault(str(dtype), []).append(p.name)
        if len(shapes) > 1 or len(dtypes) > 1:
            self.problems.append("maps differ in shape or dtype (one size per submission): "
                                 + "; ".join(f"{s}: {len(v)} files, e.g. {v[0]}"
                                             for s, v in {**shapes, **dtypes}.items()))
            return
        if shapes and not self.problems:
            (shape,) = shapes
            (dtype,) = dtypes
            if len(shape) != 2:
                self.problems.append(f"maps: wrong ndim {len(shape)} (shape {shape}): expected 2")
                return
            self._set_heatmap_info((len(self._files), *shape), False, np.dtype(dtype))
        self._read_meta_json(self.path / "meta.json")

    def _read_meta_json(self, meta: Path) -> None:
        if not meta.exists() and not meta.is_symlink():
            return
        what = describe_path(meta)
        if what is not None:
            self.problems.append(f"meta.json: {what}")
            return
        if meta.stat().st_size > MAX_META_BYTES:
            self.problems.append(f"meta.json: {meta.stat().st_size:,} bytes, more than the "
                                 f"limit {MAX_META_BYTES:,}")
            return
        try:
            text = meta.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            self.problems.append(f"meta.json: not UTF-8 text: {exc}")
            return
        except OSError as exc:
            self.problems.append(f"meta.json: cannot be read: {exc.strerror or exc}")
            return
        self._set_meta(text)

    # -------------------------------------------------------------- reading
    def iter_chunks(self, chunk: int = 64, verify: bool = True,
                    only: Collection[int] | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(first_row, maps[c, h, w])`` in file order; raises AvatarBenchError on I/O.

        ``verify`` streams through zipfile, which checks the CRC (validation does this once);
        without it an uncompressed member is read straight from the file (faster; plain reads,
        not a memory map, so pages of a 2.4 GB file do not count as resident memory).
        ``only``: yield just the chunks starting at these rows (multiples of ``chunk``); the
        direct read seeks past the others instead of reading them (a sampled pass).
        """
        if not self.readable:
            raise AvatarBenchError(f"{self.path}: predictions are not readable", self.problems)
        try:
            if self.kind == "dir":
                chunks = self._dir_chunks(chunk)
            elif self._fortran:
                chunks = self._fortran_chunks(chunk)
            elif not verify and (offset := self._stored_offset()) is not None:
                chunks = self._raw_chunks(chunk, offset, only)
            else:
                chunks = self._npz_chunks(chunk)
            if only is not None:
                chunks = ((start, maps) for start, maps in chunks if start in only)
            yield from chunks
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
            raise AvatarBenchError(f"{self.path}: heatmaps are corrupt or truncated: {exc}") \
                from exc

    def _npz_chunks(self, chunk: int) -> Iterator[tuple[int, np.ndarray]]:
        h, w = self.map_shape
        row_bytes = h * w * self.dtype.itemsize
        with zipfile.ZipFile(self.path) as zf, zf.open("heatmaps.npy") as fp:
            _header(fp)
            for start in range(0, self.n_maps, chunk):
                c = min(chunk, self.n_maps - start)
                buf = _read_exact(fp, c * row_bytes)
                yield start, np.frombuffer(buf, dtype=self.dtype).reshape(c, h, w)
            fp.read(1)  # reaching the end makes zipfile verify the CRC

    def _stored_offset(self) -> int | None:
        """File offset of the heatmap data of an uncompressed (stored) member, else None."""
        with zipfile.ZipFile(self.path) as zf:
            info = zf.getinfo("heatmaps.npy")
        if info.compress_type != zipfile.ZIP_STORED:
            return None
        with open(self.path, "rb") as fp:
            fp.seek(info.header_offset)
            local = fp.read(30)
            if local[:4] != b"PK\x03\x04":
                return None
            name_len = int.from_bytes(local[26:28], "little")
            extra_len = int.from_bytes(local[28:30], "little")
            fp.seek(info.header_offset + 30 + name_len + extra_len)
            _header(fp)
            return fp.tell()

    def _raw_chunks(self, chunk: int, offset: int, only: Collection[int] | None = None
                    ) -> Iterator[tuple[int, np.ndarray]]:
        h, w = self.map_shape
        row_bytes = h * w * self.dtype.itemsize
        with open(self.path, "rb") as fp:
            fp.seek(offset)
            for start in range(0, self.n_maps, chunk):
                if only is not None and start not in only:
                    continue
                fp.seek(offset + start * row_bytes)
                c = min(chunk, self.n_maps - start)
                maps = np.fromfile(fp, dtype=self.dtype, count=c * h * w)
                if maps.size != c * h * w:
                    raise EOFError(f"heatmaps end early at map {start + maps.size // (h * w)}")
                yield start, maps.reshape(c, h, w)

    def _fortran_chunks(self, chunk: int) -> Iterator[tuple[int, np.ndarray]]:
        # Column-major rows are not contiguous: such (rare) files are read whole.
        with zipfile.ZipFile(self.path) as zf, zf.open("heatmaps.npy") as fp:
            maps = np.lib.format.read_array(fp, allow_pickle=False)
        for start in range(0, self.n_maps, chunk):
            yield start, np.ascontiguousarray(maps[start:start + chunk])

    def _dir_chunks(self, chunk: int) -> Iterator[tuple[int, np.ndarray]]:
        for start in range(0, len(self._files), chunk):
            files = self._files[start:start + chunk]
            yield start, np.stack([np.load(p, mmap_mode="r", allow_pickle=False)
                                   for p in files])

    def verified_chunks(self, chunk: int = 64) -> Iterator[tuple[int, np.ndarray]]:
        """``iter_chunks(chunk)`` (CRC verified) that also hashes the file on the way.

        Why: validation reads every byte anyway, so reading the file again for ``sha256``
        is a second 2.4 GB pass at AVATAR scale. For an uncompressed member the bytes are
        read once: the maps come from the raw file, a background thread computes the
        member's CRC-32 (checked at the end, with zipfile's message) and the whole file's
        sha256 (both release the GIL), which ``sha256`` then returns while the file is
        unchanged. Other layouts take ``iter_chunks`` and hash later as before. Only a
        complete pass caches the digest.
        """
        plan = self._scan_plan() if self.readable and self.kind == "npz" else None
        if plan is None:
            yield from self.iter_chunks(chunk)
            return
        try:
            yield from self._scan_chunks(chunk, *plan)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise AvatarBenchError(f"{self.path}: heatmaps are corrupt or truncated: {exc}") \
                from exc

    def _scan_plan(self) -> tuple[int, int, int, int] | None:
        """``(member_start, data_start, data_end, crc)`` of a plain stored heatmaps member
        whose local header matches the directory, else None (then zipfile reads it)."""
        if self._fortran:
            return None
        try:
            with zipfile.ZipFile(self.path) as zf:
                info = zf.getinfo("heatmaps.npy")
            if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
                return None
            with open(self.path, "rb") as fp:
                fp.seek(info.header_offset)
                local = fp.read(30)
                if len(local) != 30 or local[:4] != b"PK\x03\x04":
                    return None
                name_len = int.from_bytes(local[26:28], "little")
                extra_len = int.from_bytes(local[28:30], "little")
                if fp.read(name_len) != info.orig_filename.encode("utf-8"):
                    return None
                start = info.header_offset + 30 + name_len + extra_len
                fp.seek(start)
                _header(fp)
                data = fp.tell()
                size = os.fstat(fp.fileno()).st_size
        except (*_READ_ERRORS, KeyError):
            return None
        end = data + self.n_maps * math.prod(self.map_shape) * self.dtype.itemsize
        if end != start + info.file_size or info.compress_size != info.file_size or end > size:
            return None
        return start, data, end, info.CRC

    def _scan_chunks(self, chunk: int, start: int, data: int, end: int, crc: int
                     ) -> Iterator[tuple[int, np.ndarray]]:
        h, w = self.map_shape
        hasher = _Hasher()
        try:
            with open(self.path, "rb") as fp:
                before = _signature(os.fstat(fp.fileno()))
                for n in range(0, start, 1 << 20):  # bytes before the member
                    hasher.feed(_read_exact(fp, min(1 << 20, start - n)), False)
                hasher.feed(_read_exact(fp, data - start), True)  # its .npy header
                for row in range(0, self.n_maps, chunk):
                    c = min(chunk, self.n_maps - row)
                    maps = np.fromfile(fp, dtype=self.dtype, count=c * h * w)
                    if maps.size != c * h * w:
                        raise EOFError(f"heatmaps end early at map {row + maps.size // (h * w)}")
                    hasher.feed(maps, True)
                    yield row, maps.reshape(c, h, w)
                for block in iter(lambda: fp.read(1 << 20), b""):  # the rest of the file
                    hasher.feed(block, False)
                after = _signature(os.fstat(fp.fileno()))
            digest, got = hasher.finish()
        finally:
            hasher.close()
        if got != crc:
            raise zipfile.BadZipFile("Bad CRC-32 for file 'heatmaps.npy'")
        if before == after:
            self._digest = (before, digest)

    def sha256(self) -> str:
        """Content hash cited in results: the file's bytes (directory: names + bytes)."""
        cached = self._digest
        if cached is not None and self.kind == "npz":
            try:
                if _signature(os.stat(self.path)) == cached[0]:
                    return cached[1]
            except OSError:
                pass
        h = hashlib.sha256()
        paths = [self.path] if self.kind == "npz" else self._files
        for p in paths:
            if self.kind == "dir":
                h.update(p.name.encode() + b"\0")
            with open(p, "rb") as fp:
                for block in iter(lambda fp=fp: fp.read(1 << 20), b""):
                    h.update(block)
        return h.hexdigest()


def _signature(st: os.stat_result) -> tuple[int, ...]:
    """What identifies one version of a file: a rewrite changes its size or mtime."""
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


class _Hasher:
    """sha256 of a byte stream (and CRC-32 of marked parts) in a background thread.

    hashlib and zlib release the GIL on large buffers, so this overlaps with the caller's
    numpy work; at most ``DEPTH`` buffers wait (bounded memory).
    """

    DEPTH = 1

    def __init__(self) -> None:
        self.queue: queue.Queue = queue.Queue(self.DEPTH)
        self.sha = hashlib.sha256()
        self.crc = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._work, daemon=True)
        self.thread.start()

    def _work(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is not None:
                continue  # keep draining so that ``feed`` never blocks
            try:
                buf, in_crc = item
                self.sha.update(buf)
                if in_crc:
                    self.crc = zlib.crc32(buf, self.crc)
            except BaseException as exc:  # re-raised by ``finish``
                self.error = exc

    def feed(self, buf, in_crc: bool) -> None:
        self.queue.put((buf, in_crc))

    def finish(self) -> tuple[str, int]:
        self.close()
        if self.error is not None:
            raise self.error
        return self.sha.hexdigest(), self.crc

    def close(self) -> None:
        """Stop the thread (idempotent; also after an error or an abandoned pass)."""
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a finite number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a finite number")
    return value


def _depth(x: Any) -> int:
    """Nesting depth of parsed JSON, iteratively (no recursion on hostile input)."""
    deepest, stack = 0, [(x, 1)]
    while stack:
        node, d = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, d)
            stack.extend((v, d + 1) for v in (node.values() if isinstance(node, dict) else node))
    return deepest


def _has_surrogates(x: Any) -> bool:
    """True when any string (key or value) cannot be encoded as UTF-8."""
    try:
        json.dumps(x, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def load_predictions(path: str | os.PathLike) -> PredictionsFile:
    """Open a predictions file lazily; raises ``AvatarBenchError`` listing structural problems
    (content checks against a dataset are ``validate_predictions``)."""
    p = PredictionsFile(path)
    if p.problems or not p.readable:
        raise AvatarBenchError(f"{p.path}: cannot use these predictions", p.problems)
    return p


# ------------------------------------------------------------------ writing
def _zip_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_STORED
    info.create_system = 3
    info.external_attr = 0o644 << 16
    return info


def _npy_header(fp, shape: tuple[int, ...], dtype: np.dtype) -> None:
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
              "shape": shape}
    np.lib.format.write_array_header_1_0(fp, header)


def write_predictions(path: str | os.PathLike, items: Iterable[tuple[str, np.ndarray]], n: int,
                      meta: dict[str, Any] | None = None,
                      dtype: np.dtype | type = np.float16) -> Path:
    """Stream ``n`` ``(key, heatmap)`` pairs into a format-v1 ``.npz`` with deterministic bytes.

    Maps are written as they arrive (memory stays at one map); all must share one shape.
    The file appears only when complete (``fsio.atomic_open``: a temporary name, then
    renamed); a failure leaves no partial file.
    """
    path = Path(path)
    dtype = np.dtype(dtype)
    if dtype not in HEATMAP_DTYPES:
        raise AvatarBenchError(f"write_predictions: dtype {dtype} is not float16 or float32")
    keys: list[str] = []
    with atomic_open(path, "wb") as fh:
        with zipfile.ZipFile(fh, "w", allowZip64=True) as zf:
            with zf.open(_zip_info("heatmaps.npy"), "w", force_zip64=True) as fp:
                shape = None
                for key, heatmap in items:
                    hm = np.asarray(heatmap)
                    if hm.ndim != 2:
                        raise AvatarBenchError(f"heatmap for {key!r} has shape {hm.shape}: "
                                               "expected 2-D (h, w)")
                    if shape is None:
                        shape = hm.shape
                        _npy_header(fp, (n, *shape), dtype)
                    elif hm.shape != shape:
                        raise AvatarBenchError(f"heatmap for {key!r} has shape {hm.shape}, "
                                               f"earlier maps {shape}: one size per file")
                    if len(keys) >= n:
                        raise AvatarBenchError(f"write_predictions: more than n={n} maps")
                    fp.write(np.ascontiguousarray(hm, dtype=dtype).tobytes())
                    keys.append(str(key))
                if len(keys) != n:
                    raise AvatarBenchError(f"write_predictions: got {len(keys)} maps, "
                                           f"expected n={n}")
                if shape is None:
                    _npy_header(fp, (0, 1, 1), dtype)
            _write_member(zf, "keys.npy", np.array(keys, dtype=str))
            if meta is not None:
                try:
                    text = json.dumps(meta, sort_keys=True, default=str, allow_nan=False)
                except ValueError as exc:
                    raise AvatarBenchError(
                        f"write_predictions: meta holds a non-finite number ({exc}); the "
                        "evaluator would refuse it") from exc
                _write_member(zf, "meta.npy", np.array(text, dtype=str))
    return path


def _write_member(zf: zipfile.ZipFile, name: str, arr: np.ndarray) -> None:
    with zf.open(_zip_info(name), "w", force_zip64=True) as fp:
        np.lib.format.write_array(fp, arr, allow_pickle=False)
