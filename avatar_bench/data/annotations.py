"""Per-frame annotation records and their validation.

One JSON file per annotated frame (``metadata/<video_id>/<frame>.json``). Parsing checks every
field the evaluator relies on and names the file and field in the error, so a broken
annotation can never turn into a silently wrong ground-truth mask.

Geometry rules (docs/dataset.md states them for users):

- ``original_width``/``original_height``: integers in ``[1, MAX_SIDE]``; when the frame's JPEG
  exists, its header must give the same size (a mismatch means the polygons are in another
  pixel space).
- Polygon coordinates: finite numbers. A point at most ``tolerance_px`` outside the frame
  (``max(1 px, 1 % of the side)``) is accepted and the polygon is clipped exactly to the frame
  (the same in-frame region, so pycocotools never walks edges far off the canvas); a point
  further out is an error.
- A polygon must enclose area inside the frame (not all points on one line).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avatar_bench.errors import AvatarBenchError
from avatar_bench.fsio import require_regular_file

#: Scenario keys, in the paper's Table 2 order.
SCENARIOS: tuple[str, ...] = ("single_sound", "mixed_sound", "multi_entity", "off_screen")
ON_SCREEN_SCENARIOS: tuple[str, ...] = SCENARIOS[:3]
#: The ``task`` strings of the real annotation files.
TASK_TO_SCENARIO: dict[str, str] = {
    "Single-Sound": "single_sound",
    "Mixed-Sound": "mixed_sound",
    "Multi-Entity": "multi_entity",
    "Off-Screen": "off_screen",
}
SCENARIO_TO_TASK: dict[str, str] = {v: k for k, v in TASK_TO_SCENARIO.items()}
SCENARIO_LABELS: dict[str, str] = {
    "single_sound": "Single-sound",
    "mixed_sound": "Mixed-sound",
    "multi_entity": "Multi-entity",
    "off_screen": "Off-screen",
    "total": "Total",
    "cross_event": "Cross-event",
}
#: A box may exceed the image by this many pixels (rounding in the annotation tools).
BOX_TOLERANCE_PX = 1.0
#: Largest accepted ``original_width``/``original_height`` (8K; the real frames are far smaller).
MAX_SIDE = 8192
#: Polygon points may lie this share of the side (at least ``MIN_POLYGON_TOLERANCE_PX``)
#: outside the frame; such polygons are clipped to the frame. Further out is an error.
POLYGON_TOLERANCE = 0.01
MIN_POLYGON_TOLERANCE_PX = 1.0
#: Frame indices in file names and keys: ASCII digits only, at most this many.
MAX_FRAME_DIGITS = 9
_DIGITS_RE = re.compile(rf"[0-9]{{1,{MAX_FRAME_DIGITS}}}")


@dataclass(frozen=True)
class Instance:
    """One sounding instance: its scenario, category and (when on screen) its shape."""

    scenario: str
    category: str
    bbox: tuple[float, float, float, float] | None
    polygons: tuple[tuple[float, ...], ...]

    @property
    def on_screen(self) -> bool:
        return self.scenario != "off_screen"


@dataclass(frozen=True)
class Frame:
    """One annotated frame of a clip, at the annotation's original resolution."""

    video_id: str
    frame: int
    width: int
    height: int
    instances: tuple[Instance, ...]

    @property
    def key(self) -> str:
        return frame_key(self.video_id, self.frame)

    @property
    def scenarios(self) -> frozenset[str]:
        return frozenset(i.scenario for i in self.instances)

    @property
    def on_screen_categories(self) -> frozenset[str]:
        return frozenset(i.category for i in self.instances if i.on_screen)


def frame_key(video_id: str, frame: int) -> str:
    """The authors' key for a frame: ``<video_id>_<5-digit frame>``."""
    return f"{video_id}_{frame:05d}"


def is_frame_index(text: str) -> bool:
    """True for 1 to ``MAX_FRAME_DIGITS`` ASCII digits (``str.isdigit`` also takes '²', '４')."""
    return _DIGITS_RE.fullmatch(text) is not None


def split_key(key: str) -> tuple[str, int]:
    """Split a frame key on its LAST ``_`` (YouTube ids contain ``_``); padding optional."""
    video_id, sep, frame = key.rpartition("_")
    if not sep or not video_id or not is_frame_index(frame):
        raise AvatarBenchError(
            f"frame key {key!r} is not '<video_id>_<frame>' with a frame index of 1 to "
            f"{MAX_FRAME_DIGITS} ASCII digits"
        )
    return video_id, int(frame)


def _fail(path: Path | str, field: str, expected: str, got: Any) -> AvatarBenchError:
    shown = repr(got)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return AvatarBenchError(f"{path}: field '{field}': expected {expected}, got {shown}")


def _number(x: Any) -> bool:
    """A finite JSON number (json gives ``inf`` for 1e400 and unbounded ints for 10**400)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return False
    if isinstance(x, int):
        return abs(x) < 2**1000
    return math.isfinite(x)


def _parse_bbox(raw: Any, where: str, path: Path | str, w: int, h: int):
    if not (isinstance(raw, list) and len(raw) == 4 and all(_number(v) for v in raw)):
        raise _fail(path, f"{where}.bbox", "[x, y, w, h] of 4 numbers", raw)
    x, y, bw, bh = (float(v) for v in raw)
    tol = BOX_TOLERANCE_PX
    if bw < 0 or bh < 0 or x < -tol or y < -tol or x + bw > w + tol or y + bh > h + tol:
        raise _fail(path, f"{where}.bbox", f"a box inside the {w}x{h} image", raw)
    return (x, y, bw, bh)


def tolerance_px(side: int) -> float:
    """How far outside a side of ``side`` pixels a polygon point may lie (then clipped)."""
    return max(MIN_POLYGON_TOLERANCE_PX, POLYGON_TOLERANCE * side)


def _clip_edge(pts: list[tuple[float, float]], axis: int, bound: float,
               keep_below: bool) -> list[tuple[float, float]]:
    """One Sutherland-Hodgman step: keep the part of the polygon on one side of a line."""
    def inside(p: tuple[float, float]) -> bool:
        return p[axis] <= bound if keep_below else p[axis] >= bound

    out: list[tuple[float, float]] = []
    for i, cur in enumerate(pts):
        prev = pts[i - 1]
        if inside(cur) != inside(prev):
            t = (bound - prev[axis]) / (cur[axis] - prev[axis])
            cross = (prev[0] + t * (cur[0] - prev[0]), prev[1] + t * (cur[1] - prev[1]))
            out.append((bound, cross[1]) if axis == 0 else (cross[0], bound))
        if inside(cur):
            out.append(cur)
    return out


def clip_polygon(poly: tuple[float, ...], w: int, h: int) -> tuple[float, ...]:
    """The part of a polygon inside ``[0, w] x [0, h]``; unchanged when already inside.

    Exact clipping (not clamping each point): the in-frame region is unchanged.
    """
    xs, ys = poly[0::2], poly[1::2]
    if min(xs) >= 0 and min(ys) >= 0 and max(xs) <= w and max(ys) <= h:
        return poly
    pts = list(zip(xs, ys, strict=True))
    for axis, bound, below in ((0, 0.0, False), (0, float(w), True), (1, 0.0, False),
                               (1, float(h), True)):
        pts = _clip_edge(pts, axis, bound, below) if pts else pts
    return tuple(v for p in pts for v in p)


def has_area(poly: tuple[float, ...]) -> bool:
    """False when all points lie on one line (or coincide): such a polygon draws nothing."""
    pts = list(zip(poly[0::2], poly[1::2], strict=True))
    if len(pts) < 3:
        return False
    x0, y0 = pts[0]
    far = max(pts, key=lambda p: abs(p[0] - x0) + abs(p[1] - y0))
    dx, dy = far[0] - x0, far[1] - y0
    scale = max(abs(dx), abs(dy))
    if scale == 0:
        return False
    # Cross products relative to the longest span; 1e-9 px of width counts as none.
    return any(abs(dx * (y - y0) - dy * (x - x0)) / scale > 1e-9 for x, y in pts)


def _parse_polygon(poly: Any, field: str, path: Path | str, w: int, h: int) -> tuple[float, ...]:
    if not isinstance(poly, list) or not all(_number(v) for v in poly):
        raise _fail(path, field, "a flat list of finite numbers [x1, y1, x2, y2, ...]", poly)
    if len(poly) % 2:
        raise _fail(path, field, "an even number of coordinates", f"{len(poly)} values")
    if len(poly) < 6:
        raise _fail(path, field, "at least 3 points (6 numbers)", f"{len(poly)} values")
    coords = tuple(float(v) for v in poly)
    tx, ty = tolerance_px(w), tolerance_px(h)
    for k in range(0, len(coords), 2):
        x, y = coords[k], coords[k + 1]
        if not (-tx <= x <= w + tx and -ty <= y <= h + ty):
            raise AvatarBenchError(
                f"{path}: field '{field}': point {k // 2} ({poly[k]!r:.40}, {poly[k + 1]!r:.40}) "
                f"lies outside the {w}x{h} image by more than the tolerance ({tx:g} px "
                f"horizontally, {ty:g} px vertically)")
    clipped = clip_polygon(coords, w, h)
    if not has_area(clipped):
        raise _fail(path, field, f"a polygon with area inside the {w}x{h} image "
                    "(these points are all on one line)", poly)
    return clipped


def _parse_polygons(raw: Any, where: str, path: Path | str, w: int,
                    h: int) -> tuple[tuple[float, ...], ...]:
    if not isinstance(raw, list) or not raw:
        raise _fail(path, f"{where}.segmentation", "a non-empty list of polygons", raw)
    return tuple(_parse_polygon(poly, f"{where}.segmentation[{j}]", path, w, h)
                 for j, poly in enumerate(raw))


def _parse_instance(raw: Any, i: int, path: Path | str, w: int, h: int) -> Instance:
    where = f"annotations[{i}]"
    if not isinstance(raw, dict):
        raise _fail(path, where, "an object", raw)
    for key in ("task", "audio_visual_category"):
        if key not in raw:
            raise AvatarBenchError(f"{path}: field '{where}.{key}' is missing")
    task = raw["task"]
    if task not in TASK_TO_SCENARIO:
        raise _fail(path, f"{where}.task", f"one of {sorted(TASK_TO_SCENARIO)}", task)
    category = raw["audio_visual_category"]
    if not isinstance(category, str) or not category:
        raise _fail(path, f"{where}.audio_visual_category", "a non-empty string", category)
    scenario = TASK_TO_SCENARIO[task]
    if scenario == "off_screen":
        # Off-screen sources have no pixels; a stray shape is ignored, never rasterised.
        return Instance(scenario, category, None, ())
    for key in ("bbox", "segmentation"):
        if key not in raw:
            raise AvatarBenchError(
                f"{path}: field '{where}.{key}' is missing (required for task {task!r})"
            )
    bbox = _parse_bbox(raw["bbox"], where, path, w, h)
    polys = _parse_polygons(raw["segmentation"], where, path, w, h)
    return Instance(scenario, category, bbox, polys)


def parse_frame(data: Any, video_id: str, frame: int, path: Path | str) -> Frame:
    """Validate one per-frame annotation object and turn it into a ``Frame``."""
    if not isinstance(data, dict):
        raise _fail(path, "<root>", "a JSON object", data)
    for key in ("original_width", "original_height", "annotations"):
        if key not in data:
            raise AvatarBenchError(f"{path}: field '{key}' is missing")
    w, h = data["original_width"], data["original_height"]
    for key, val in (("original_width", w), ("original_height", h)):
        if not isinstance(val, int) or isinstance(val, bool) or not 0 < val <= MAX_SIDE:
            raise _fail(path, key, f"an integer from 1 to {MAX_SIDE}", val)
    anns = data["annotations"]
    if not isinstance(anns, list):
        raise _fail(path, "annotations", "a list", anns)
    instances = tuple(_parse_instance(a, i, path, w, h) for i, a in enumerate(anns))
    return Frame(video_id, frame, w, h, instances)


def jpeg_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from an image file's header (no pixel is decoded); None if absent."""
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        return None
    try:
        with Image.open(path) as img:
            return img.size
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise AvatarBenchError(f"{path}: cannot read the frame's image header: {exc}") from exc


def check_image_size(frame: Frame, image: Path, path: Path | str) -> None:
    """The polygons are in the original size's pixels: the frame's JPEG must have that size."""
    size = jpeg_size(image)
    if size is not None and size != (frame.width, frame.height):
        raise AvatarBenchError(
            f"{path}: fields 'original_width'/'original_height': {frame.width}x{frame.height} "
            f"disagrees with {image.name}, which is {size[0]}x{size[1]}"
        )


def read_frame(path: Path) -> Frame:
    """Read ``metadata/<video_id>/<frame>.json``; the id and index come from the path.

    The frame's JPEG (same name, ``.jpg``), when present, must match the original size.
    """
    video_id, stem = path.parent.name, path.stem
    if not is_frame_index(stem):
        raise AvatarBenchError(f"{path}: file name must be '<frame index>.json' with 1 to "
                               f"{MAX_FRAME_DIGITS} ASCII digits, e.g. 00254.json")
    try:
        data = json.loads(require_regular_file(path, "annotation").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise AvatarBenchError(f"{path}: cannot read annotation JSON: {exc}") from exc
    frame = parse_frame(data, video_id, int(stem), path)
    check_image_size(frame, path.with_suffix(".jpg"), path)
    return frame


def frame_to_json(frame: Frame) -> dict:
    """The inverse of ``parse_frame``: the on-disk JSON object (used by AVATAR-mini, caches)."""
    anns = []
    for inst in frame.instances:
        ann: dict[str, Any] = {
            "task": SCENARIO_TO_TASK[inst.scenario],
            "audio_visual_category": inst.category,
        }
        if inst.on_screen:
            ann["bbox"] = list(inst.bbox or ())
            ann["segmentation"] = [list(p) for p in inst.polygons]
        anns.append(ann)
    return {"original_width": frame.width, "original_height": frame.height, "annotations": anns}
