"""Scenario membership and the Cross-event subset.

- A frame belongs to every scenario among its instances' ``task`` values.
- A category is *present* in a frame when the frame has an ON-SCREEN instance of it;
  Off-Screen instances have no pixels and never make a category present.
- A video is Cross-event when some annotated frame, in time order, has a present category
  that no earlier annotated frame of the clip had. The first annotated frame never triggers it;
  an off-screen-only frame counts as an earlier frame with nothing present, so off-screen
  speech followed by an on-screen speaker is Cross-event.
- The Cross-event *score* averages over the Cross-event videos' frames that have an on-screen
  instance (an off-screen-only frame has no mask to score), so it covers fewer frames than
  the subset lists; ``summary`` gives both counts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING

from pycocotools import mask as mask_utils

from avatar_bench.data.annotations import SCENARIOS, Frame
from avatar_bench.data.index import EVAL_SIZE, AvatarDataset, rasterise

if TYPE_CHECKING:  # pandas costs ~40 MB resident: imported only where a table is made
    import pandas as pd


def frames_by_video(frames: list[Frame]) -> dict[str, list[Frame]]:
    by_video: dict[str, list[Frame]] = defaultdict(list)
    for f in frames:
        by_video[f.video_id].append(f)
    return {vid: sorted(fs, key=lambda f: f.frame) for vid, fs in sorted(by_video.items())}


def is_cross_event(frames: list[Frame]) -> bool:
    """True when a later frame shows a category absent from every earlier frame."""
    seen: set[str] = set()
    for i, f in enumerate(sorted(frames, key=lambda f: f.frame)):
        present = f.on_screen_categories
        if i > 0 and present - seen:
            return True
        seen |= present
    return False


def cross_event_videos(ds: AvatarDataset) -> list[str]:
    return [vid for vid, fs in frames_by_video(ds.frames).items() if is_cross_event(fs)]


def scenario_frames(ds: AvatarDataset) -> dict[str, list[str]]:
    """Frame keys per scenario (a frame may be in several)."""
    out: dict[str, list[str]] = {s: [] for s in SCENARIOS}
    for f in ds.frames:
        for s in SCENARIOS:
            if s in f.scenarios:
                out[s].append(f.key)
    return out


def splits_table(ds: AvatarDataset) -> pd.DataFrame:
    """One row per annotated frame with a boolean column per scenario and Cross-event."""
    import pandas as pd

    cross = set(cross_event_videos(ds))
    rows = []
    for f in ds.frames:
        row = {"key": f.key, "video_id": f.video_id, "frame": f.frame}
        row.update({s: s in f.scenarios for s in SCENARIOS})
        row["cross_event"] = f.video_id in cross
        row["categories"] = ";".join(sorted({i.category for i in f.instances}))
        rows.append(row)
    return pd.DataFrame(rows)


def empty_instances(ds: AvatarDataset, size: tuple[int, int] = EVAL_SIZE) -> list[str]:
    """On-screen instances whose polygons draw no pixel at ``size`` (too small or too thin).

    Rasterises every on-screen instance of every frame, as the evaluator will: such an
    instance would silently add nothing to its scenario's ground truth.
    """
    found = []
    for f in ds.frames:
        for i, inst in enumerate(f.instances):
            if inst.on_screen and not int(mask_utils.area(rasterise(f, [inst], size))):
                found.append(f"{f.key}: annotations[{i}] ({inst.category}, "
                             f"{inst.scenario}) draws no pixel at {size[0]}x{size[1]}")
    return found


def summary(ds: AvatarDataset, *, check_masks: bool = True) -> dict:
    """The counts ``avatar-bench info`` prints, and (``check_masks``) the rasterisation check."""
    per_video = Counter(f.video_id for f in ds.frames)
    instances = Counter(i.scenario for f in ds.frames for i in f.instances)
    frames = {s: len(keys) for s, keys in scenario_frames(ds).items()}
    cross = cross_event_videos(ds)
    cross_set = set(cross)
    fpv = list(per_video.values())
    return {
        "dataset": ds.name,
        "root": str(ds.root),
        "revision": ds.revision,
        "videos": len(per_video),
        "frames": len(ds.frames),
        "categories": len(ds.categories),
        "frames_per_scenario": frames,
        "instances_per_scenario": {s: instances.get(s, 0) for s in SCENARIOS},
        "cross_event_videos": len(cross),
        "cross_event_frames": sum(per_video[v] for v in cross),
        "cross_event_scored_frames": sum(1 for f in ds.frames if f.video_id in cross_set
                                         and any(i.on_screen for i in f.instances)),
        "frames_per_video": {
            "min": min(fpv), "mean": round(sum(fpv) / len(fpv), 3), "max": max(fpv),
            "histogram": dict(sorted(Counter(fpv).items())),
        },
        "videos_with_clip": sum(1 for v in ds.videos.values() if v is not None),
        "skipped_frames": len(ds.skipped),
        "skipped": list(ds.skipped),
        "empty_instances": empty_instances(ds) if check_masks else None,
    }
