"""Per-frame annotation records and their validation.

One JSON file per annotated frame (``metadata/<video_id>/<frame>.json``). Parsing checks every
field the evaluator relies on and names the file and field in the error, so a broken
annotation can never turn into a silently wrong ground-truth mask.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avatar_bench.errors import AvatarBenchError

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


def split_key(key: str) -> tuple[str, int]:
    """Split a frame key on its LAST ``_`` (YouTube ids contain ``_``); padding optional."""
    video_id, sep, frame = key.rpartition("_")
    if not sep or not video_id or not frame.isdigit():
        raise AvatarBenchError(
            f"frame key {key!r} is not '<video_id>_<frame>' with an integer frame index"
        )
    return video_id, int(frame)


def _fail(path: Path | str, field: str, expected: str, got: Any) -> AvatarBenchError:
    shown = repr(got)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return AvatarBenchError(f"{path}: field '{field}': expected {expected}, got {shown}")


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == x


def _parse_bbox(raw: Any, where: str, path: Path | str, w: int, h: int):
    if not (isinstance(raw, list) and len(raw) == 4 and all(_number(v) for v in raw)):
        raise _fail(path, f"{where}.bbox", "[x, y, w, h] of 4 numbers", raw)
    x, y, bw, bh = (float(v) for v in raw)
    tol = BOX_TOLERANCE_PX
    if bw < 0 or bh < 0 or x < -tol or y < -tol or x + bw > w + tol or y + bh > h + tol:
        raise _fail(path, f"{where}.bbox", f"a box inside the {w}x{h} image", raw)
    return (x, y, bw, bh)


def _parse_polygons(raw: Any, where: str, path: Path | str) -> tuple[tuple[float, ...], ...]:
    if not isinstance(raw, list) or not raw:
        raise _fail(path, f"{where}.segmentation", "a non-empty list of polygons", raw)
    polys = []
    for j, poly in enumerate(raw):
        field = f"{where}.segmentation[{j}]"
        if not isinstance(poly, list) or not all(_number(v) for v in poly):
            raise _fail(path, field, "a flat list of numbers [x1, y1, x2, y2, ...]", poly)
        if len(poly) % 2:
            raise _fail(path, field, "an even number of coordinates", f"{len(poly)} values")
        if len(poly) < 6:
            raise _fail(path, field, "at least 3 points (6 numbers)", f"{len(poly)} values")
        polys.append(tuple(float(v) for v in poly))
    return tuple(polys)


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
    return Instance(scenario, category, bbox, _parse_polygons(raw["segmentation"], where, path))


def parse_frame(data: Any, video_id: str, frame: int, path: Path | str) -> Frame:
    """Validate one per-frame annotation object and turn it into a ``Frame``."""
    if not isinstance(data, dict):
        raise _fail(path, "<root>", "a JSON object", data)
    for key in ("original_width", "original_height", "annotations"):
        if key not in data:
            raise AvatarBenchError(f"{path}: field '{key}' is missing")
    w, h = data["original_width"], data["original_height"]
    for key, val in (("original_width", w), ("original_height", h)):
        if not isinstance(val, int) or isinstance(val, bool) or val <= 0:
            raise _fail(path, key, "a positive integer", val)
    anns = data["annotations"]
    if not isinstance(anns, list):
        raise _fail(path, "annotations", "a list", anns)
    instances = tuple(_parse_instance(a, i, path, w, h) for i, a in enumerate(anns))
    return Frame(video_id, frame, w, h, instances)


def read_frame(path: Path) -> Frame:
    """Read ``metadata/<video_id>/<frame>.json``; the id and index come from the path."""
    video_id, stem = path.parent.name, path.stem
    if not stem.isdigit():
        raise AvatarBenchError(f"{path}: file name must be '<frame index>.json', e.g. 00254.json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AvatarBenchError(f"{path}: cannot read annotation JSON: {exc}") from exc
    return parse_frame(data, video_id, int(stem), path)


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
