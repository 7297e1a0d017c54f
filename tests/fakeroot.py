"""Hand-made dataset roots in the real AVATAR layout, for tests with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def box_polygon(x: float, y: float, w: float, h: float) -> list[float]:
    """A rectangle as a COCO polygon."""
    return [x, y, x + w, y, x + w, y + h, x, y + h]


def instance(task: str, category: str, box: tuple[float, float, float, float] | None) -> dict:
    """One annotation entry; ``box=None`` makes an off-screen entry without shapes."""
    ann = {"task": task, "audio_visual_category": category}
    if box is not None:
        ann["bbox"] = list(box)
        ann["segmentation"] = [box_polygon(*box)]
    return ann


def write_frame(root: Path, video_id: str, frame: int, annotations: list[dict],
                width: int = 640, height: int = 360, jpeg: bool = True) -> Path:
    """Write ``metadata/<video_id>/<frame>.json`` (and a grey JPEG beside it)."""
    folder = root / "metadata" / video_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{frame:05d}.json"
    path.write_text(json.dumps({"original_width": width, "original_height": height,
                                "annotations": annotations}))
    if jpeg:
        from PIL import Image

        grey = np.full((height, width, 3), 128, np.uint8)
        Image.fromarray(grey).save(folder / f"{frame:05d}.jpg")
    return path
