"""The dataset index: one class that reads a root in the real AVATAR layout.

Layout (real dataset and AVATAR-mini alike)::

    <root>/metadata/<video_id>/<frame>.json   per-frame annotation
    <root>/metadata/<video_id>/<frame>.jpg    the annotated frame
    <root>/video/<video_id>.mp4               the clip (or <root>/video/video/<video_id>.mp4)

Annotations are parsed once and cached as JSON keyed by the files' sizes and mtimes, so
re-indexing the 24,266 real frames is a stat walk plus one JSON read. Media and masks are
loaded lazily.

A root with an ``avatar_manifest.json`` (written by ``download`` or the AVATAR-mini
generator) is only used when that manifest is complete; two files that name the same frame
(``00004.json`` beside ``0004.json``) are an error, never two frames with one key.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict
from functools import cached_property
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from avatar_bench.data import media
from avatar_bench.data.annotations import (
    Frame,
    Instance,
    frame_key,
    frame_to_json,
    is_frame_index,
    parse_frame,
    read_frame,
)
from avatar_bench.errors import AvatarBenchError
from avatar_bench.fsio import atomic_write_text
from avatar_bench.paths import cache_home

#: The paper's evaluation resolution (height, width).
EVAL_SIZE: tuple[int, int] = (360, 640)
INDEX_CACHE_VERSION = 2  # 2: geometry, JPEG-size and duplicate-key checks
MANIFEST_NAME = "avatar_manifest.json"


def _video_path(root: Path, video_id: str) -> Path | None:
    for folder in (root / "video", root / "video" / "video"):
        path = folder / f"{video_id}.mp4"
        if path.is_file():
            return path
    return None


def _scan(root: Path) -> tuple[list[Path], str]:
    """List annotation files and a signature of (path, size, mtime) for the cache key.

    The JPEGs are in the signature too: their header size is checked against the annotation.
    """
    meta = root / "metadata"
    files: list[Path] = []
    sig = hashlib.sha1()
    for video_dir in sorted(os.scandir(meta), key=lambda e: e.name):
        if not video_dir.is_dir():
            continue
        for entry in sorted(os.scandir(video_dir.path), key=lambda e: e.name):
            if entry.name.endswith((".json", ".jpg")):
                st = entry.stat()
                if entry.name.endswith(".json"):
                    files.append(Path(entry.path))
                sig.update(f"{video_dir.name}/{entry.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    for folder in (root / "video", root / "video" / "video"):
        if folder.is_dir():
            for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                if entry.name.endswith(".mp4"):
                    st = entry.stat()
                    sig.update(f"v/{entry.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return files, sig.hexdigest()


def _frame_from_cache(d: dict) -> Frame:
    return parse_frame(d["json"], d["video_id"], d["frame"], f"<index cache> {d['video_id']}")


class AvatarDataset:
    """An indexed AVATAR root: frames, instances, videos; lazy images, clips, audio, masks.

    ``strict`` (default) raises on the first malformed annotation, naming file and field;
    with ``strict=False`` malformed frames are skipped and listed in ``skipped``.
    """

    def __init__(self, root: str | os.PathLike, *, name: str = "AVATAR", strict: bool = True,
                 use_cache: bool = True) -> None:
        self.root = Path(root).expanduser().resolve()
        self.name = name
        self.strict = strict
        self.skipped: list[str] = []
        self._check_root()
        self.frames, self.videos = self._load(use_cache)
        self._by_key = {f.key: f for f in self.frames}
        self._rle_cache: dict[tuple[str, str, tuple[int, int]], dict] = {}

    # ----------------------------------------------------------------- loading
    def _check_root(self) -> None:
        meta = self.root / "metadata"
        if not self.root.is_dir():
            raise AvatarBenchError(
                f"dataset root {self.root} does not exist: run `avatar-bench download --root "
                f"{self.root}`, set AVATAR_ROOT, or use `--dataset mini`"
            )
        if not meta.is_dir():
            raise AvatarBenchError(
                f"{self.root} has no metadata/ folder: is the extraction complete? "
                "Run `avatar-bench download` again to repair it"
            )
        from avatar_bench.data.hub import check_usable_root

        check_usable_root(self.root)

    def _cache_path(self) -> Path:
        digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:16]
        return cache_home() / "index" / f"{digest}.json"

    def _load(self, use_cache: bool) -> tuple[list[Frame], dict[str, media.VideoInfo | None]]:
        files, signature = _scan(self.root)
        if not files:
            raise AvatarBenchError(
                f"{self.root / 'metadata'} contains no '<video_id>/<frame>.json' files: "
                "the extraction is empty or partial; run `avatar-bench download` again"
            )
        key = f"{INDEX_CACHE_VERSION}:{self.strict}:{signature}"
        cached = self._read_cache(key) if use_cache else None
        if cached is not None:
            return cached
        from avatar_bench.data.hub import check_root_tree

        check_root_tree(self.root)  # a changed downloaded tree must still match its manifest
        frames = self._parse_all(files)
        videos = {vid: self._probe(vid) for vid in sorted({f.video_id for f in frames})}
        if use_cache:
            self._write_cache(key, frames, videos)
        return frames, videos

    def _parse_all(self, files: list[Path]) -> list[Frame]:
        frames = []
        for path in _unique_keys(files, self.strict, self.skipped):
            try:
                frames.append(read_frame(path))
            except AvatarBenchError as exc:
                if self.strict:
                    raise
                self.skipped.append(str(exc))
        if not frames:
            raise AvatarBenchError(f"{self.root}: every annotation file was malformed",
                                   self.skipped[:20])
        return frames

    def _probe(self, video_id: str) -> media.VideoInfo | None:
        path = _video_path(self.root, video_id)
        return media.probe(path) if path else None

    def _read_cache(self, key: str):
        path = self._cache_path()
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        if data.get("key") != key:
            return None
        self.skipped = data["skipped"]
        frames = [_frame_from_cache(d) for d in data["frames"]]
        videos = {k: media.VideoInfo(**v) if v else None for k, v in data["videos"].items()}
        return frames, videos

    def _write_cache(self, key: str, frames: list[Frame], videos) -> None:
        data = {
            "key": key,
            "skipped": self.skipped,
            "frames": [{"video_id": f.video_id, "frame": f.frame, "json": frame_to_json(f)}
                       for f in frames],
            "videos": {k: asdict(v) if v else None for k, v in videos.items()},
        }
        path = self._cache_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps(data))
        except (OSError, AvatarBenchError):
            pass  # a read-only or full cache only costs speed

    # ------------------------------------------------------------------ lookup
    def __len__(self) -> int:
        return len(self.frames)

    def __iter__(self) -> Iterator[Frame]:
        return iter(self.frames)

    def keys(self) -> list[str]:
        return [f.key for f in self.frames]

    def frame(self, key: str) -> Frame:
        try:
            return self._by_key[key]
        except KeyError:
            raise AvatarBenchError(f"frame key {key!r} is not in dataset {self.name}") from None

    def video_frames(self, video_id: str) -> list[Frame]:
        """Annotated frames of one clip, in time order."""
        return [f for f in self.frames if f.video_id == video_id]

    @cached_property
    def video_ids(self) -> list[str]:
        return sorted({f.video_id for f in self.frames})

    @cached_property
    def categories(self) -> list[str]:
        return sorted({i.category for f in self.frames for i in f.instances})

    @cached_property
    def revision(self) -> str | None:
        """The Hub revision recorded by ``download`` (or the generator seed for AVATAR-mini)."""
        try:
            return json.loads((self.root / MANIFEST_NAME).read_text()).get("revision")
        except (OSError, json.JSONDecodeError):
            return None

    @cached_property
    def annotation_checksum(self) -> str:
        """sha256 of the parsed annotations in canonical JSON: results cite exactly this GT."""
        h = hashlib.sha256()
        for f in self.frames:
            h.update(f.key.encode())
            h.update(json.dumps(frame_to_json(f), sort_keys=True).encode())
        return h.hexdigest()

    # ------------------------------------------------------------------- media
    def video_info(self, video_id: str) -> media.VideoInfo:
        info = self.videos.get(video_id)
        if info is None:
            raise AvatarBenchError(
                f"no clip for video {video_id!r} under {self.root / 'video'} (expected "
                f"{video_id}.mp4 there or in video/video/); download without --no-video"
            )
        return info

    def timestamp(self, frame: Frame) -> float:
        """Seconds from the clip start, from the clip's real frame rate."""
        return frame.frame / self.video_info(frame.video_id).fps

    def image(self, frame: Frame) -> np.ndarray:
        """The annotated JPEG as HxWx3 uint8 RGB."""
        from PIL import Image

        path = self.root / "metadata" / frame.video_id / f"{frame.frame:05d}.jpg"
        if not path.is_file():  # another zero padding (never '*4.jpg', which matches 14.jpg)
            alt = [p for p in path.parent.glob("*.jpg")
                   if is_frame_index(p.stem) and int(p.stem) == frame.frame]
            path = alt[0] if alt else path
        try:
            with Image.open(path) as img:
                return np.asarray(img.convert("RGB"))
        except OSError as exc:
            raise AvatarBenchError(f"{path}: cannot read the annotated frame: {exc}") from exc

    def clip_frames(self, video_id: str, indices: list[int]) -> dict[int, np.ndarray]:
        """Any frames of the clip (0-based indices), decoded with PyAV."""
        return media.read_frames(Path(self.video_info(video_id).path), indices)

    def audio(self, video_id: str, sample_rate: int = 16000) -> np.ndarray:
        """The clip's audio track, mono float32, resampled to ``sample_rate``."""
        return media.read_audio(Path(self.video_info(video_id).path), sample_rate)

    # ------------------------------------------------------------------- masks
    def instances_for(self, frame: Frame, scenario: str) -> list[Instance]:
        """Instances relevant to a scenario; ``total`` = every on-screen instance."""
        if scenario == "total":
            return [i for i in frame.instances if i.on_screen]
        return [i for i in frame.instances if i.scenario == scenario and i.on_screen]

    def gt_rle(self, frame: Frame, scenario: str = "total",
               size: tuple[int, int] = EVAL_SIZE, *, keep: bool = True) -> dict:
        """Run-length-encoded union mask of the scenario's instances at ``size`` (h, w).

        ``keep=False``: not stored for later calls (a pass that needs each mask once would
        otherwise hold ~30 MB of them at AVATAR scale)."""
        ck = (frame.key, scenario, size)
        if ck in self._rle_cache:
            return self._rle_cache[ck]
        rle = rasterise(frame, self.instances_for(frame, scenario), size)
        if keep:
            self._rle_cache[ck] = rle
        return rle

    def gt_mask(self, frame: Frame, scenario: str = "total",
                size: tuple[int, int] = EVAL_SIZE) -> np.ndarray:
        """Boolean ground-truth mask (h, w): union of the scenario's instance polygons."""
        return mask_utils.decode(self.gt_rle(frame, scenario, size)).astype(bool)


def _unique_keys(files: list[Path], strict: bool, skipped: list[str]) -> list[Path]:
    """Drop (lenient) or refuse (strict) files that name the same frame, e.g. 0004/00004.json.

    Files whose name is not a frame index pass through: ``read_frame`` reports them.
    """
    by_key: dict[str, list[Path]] = {}
    for path in files:
        stem = path.stem
        key = frame_key(path.parent.name, int(stem)) if is_frame_index(stem) else str(path)
        by_key.setdefault(key, []).append(path)
    keep = []
    for key, paths in by_key.items():
        if len(paths) == 1:
            keep.append(paths[0])
            continue
        msg = (f"{' and '.join(str(p) for p in paths)} name the same frame {key}: remove or "
               "rename all but one (frame keys must be unique)")
        if strict:
            raise AvatarBenchError(msg)
        skipped.append(msg)
    return keep


def rasterise(frame: Frame, instances: list[Instance], size: tuple[int, int]) -> dict:
    """Scale polygons from the frame's original size to ``size`` and merge them (pycocotools)."""
    h, w = size
    sx, sy = w / frame.width, h / frame.height
    polys = []
    for inst in instances:
        for poly in inst.polygons:
            pts = np.asarray(poly, dtype=np.float64).reshape(-1, 2) * (sx, sy)
            polys.append(pts.reshape(-1).tolist())
    if not polys:
        return mask_utils.encode(np.zeros((h, w), dtype=np.uint8, order="F"))
    rles = mask_utils.frPyObjects(polys, h, w)
    return mask_utils.merge(rles)
