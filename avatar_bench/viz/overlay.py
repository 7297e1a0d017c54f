"""Per-clip figures: heatmaps over the annotated frames, GT contours, thresholded region.

Layout follows the paper's Fig. 4: columns are the clip's annotated frames in time order; with
several models, the first row shows the ground truth and each further row one model. Every panel
title carries the frame's cIoU at the drawn threshold (or, for frames with no on-screen source,
the share of pixels correctly left below it).
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from avatar_bench.data.annotations import ON_SCREEN_SCENARIOS, SCENARIO_LABELS, Frame  # noqa: E402
from avatar_bench.data.index import EVAL_SIZE, AvatarDataset  # noqa: E402
from avatar_bench.errors import AvatarBenchError  # noqa: E402
from avatar_bench.viz.maps import ModelMaps, frame_ciou, resize  # noqa: E402
from avatar_bench.viz.output import figure_format, is_stdout, save_figure  # noqa: E402

#: GT contour colour per scenario (chosen to stand out on a jet heatmap).
SCENARIO_COLOURS: dict[str, str] = {
    "single_sound": "#39ff14", "mixed_sound": "#ff2bd6", "multi_entity": "#00e5ff",
}
PRED_COLOUR = "white"
PANEL_IN = (3.2, 2.15)


@dataclass
class StripReport:
    """What a figure shows, for tests and logs: panel titles and per-frame cIoU per model."""

    path: Path
    frames: list[str]
    titles: list[list[str]] = field(default_factory=list)
    ciou: dict[str, dict[str, float | None]] = field(default_factory=dict)


def pick_frames(frames: list[Frame], max_frames: int) -> list[Frame]:
    """At most ``max_frames`` frames spread evenly over the clip (all of them when fewer)."""
    if len(frames) <= max_frames:
        return frames
    idx = np.linspace(0, len(frames) - 1, max_frames).round().astype(int)
    return [frames[i] for i in sorted(set(idx))]


def _image(dataset: AvatarDataset, frame: Frame) -> np.ndarray:
    from PIL import Image

    img = dataset.image(frame)
    if img.shape[:2] != EVAL_SIZE:
        img = np.asarray(Image.fromarray(img).resize((EVAL_SIZE[1], EVAL_SIZE[0]),
                                                     Image.BILINEAR))
    return img


def _gt_contours(ax, dataset: AvatarDataset, frame: Frame, fill: bool) -> None:
    for scenario in ON_SCREEN_SCENARIOS:
        mask = dataset.gt_mask(frame, scenario, EVAL_SIZE)
        if not mask.any():
            continue
        colour = SCENARIO_COLOURS[scenario]
        if fill:
            ax.contourf(mask, levels=[0.5, 1.5], colors=[colour], alpha=0.3)
        ax.contour(mask, levels=[0.5], colors=[colour], linewidths=2.0)


def _blank(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def _gt_title(frame: Frame) -> str:
    names = [SCENARIO_LABELS[s] for s in ON_SCREEN_SCENARIOS + ("off_screen",)
             if s in frame.scenarios]
    return f"#{frame.frame:05d} GT: " + (", ".join(names) or "none")


def model_panel(ax, dataset: AvatarDataset, frame: Frame, model: ModelMaps,
                vmin: float, vmax: float) -> tuple[str, float | None]:
    """Draw one model on one frame; returns the panel title and the frame's cIoU."""
    ax.imshow(_image(dataset, frame))
    heat = model.maps.get(frame.key)
    if heat is None:
        _gt_contours(ax, dataset, frame, fill=False)
        return f"#{frame.frame:05d} no map", None
    heat = resize(heat, EVAL_SIZE)
    ax.imshow(heat, cmap="jet", alpha=0.45, vmin=vmin, vmax=vmax)
    pred = heat >= model.threshold
    _gt_contours(ax, dataset, frame, fill=False)
    if pred.any() and not pred.all():
        ax.contour(pred, levels=[0.5], colors=[PRED_COLOUR], linewidths=1.4, linestyles="--")
    gt = dataset.gt_mask(frame, "total", EVAL_SIZE)
    value = frame_ciou(pred, gt)
    if value is not None:
        return f"#{frame.frame:05d} cIoU {value:.3f}", value
    return f"#{frame.frame:05d} off-screen TN {100 * (1 - pred.mean()):.1f}%", None


def render_video(dataset: AvatarDataset, video_id: str, models: list[ModelMaps],
                 out: str | os.PathLike, *, gt_row: bool | None = None, max_frames: int = 8,
                 dpi: int = 110) -> StripReport:
    """Write the figure for one clip to ``out`` (PNG/SVG/PDF by suffix; ``-`` = PNG on
    standard output) and report what it shows."""
    figure_format(out)  # an unusable output name fails before any drawing
    frames = pick_frames(dataset.video_frames(video_id), max_frames)
    if not frames:
        raise AvatarBenchError(f"video {video_id!r} has no annotated frames in dataset "
                               f"{dataset.name} (e.g. {', '.join(dataset.video_ids[:3])})")
    if not models:
        raise AvatarBenchError("give at least one predictions file")
    for m in models:
        if not any(f.key in m.maps for f in frames):
            raise AvatarBenchError(f"{m.name}: no heatmap for any frame of video {video_id!r} "
                                   f"(expected keys like {frames[0].key!r})")
    gt_row = len(models) > 1 if gt_row is None else gt_row
    n_rows, n_cols = len(models) + int(gt_row), len(frames)
    fig, axes = plt.subplots(n_rows, n_cols, squeeze=False,
                             figsize=(PANEL_IN[0] * n_cols + 1.0, PANEL_IN[1] * n_rows + 1.2))
    report = StripReport(Path(out) if not is_stdout(out) else Path("-"),
                         [f.key for f in frames])
    row = 0
    if gt_row:
        titles = []
        for ax, frame in zip(axes[0], frames, strict=True):
            ax.imshow(_image(dataset, frame))
            _gt_contours(ax, dataset, frame, fill=True)
            titles.append(_gt_title(frame))
            ax.set_title(titles[-1], fontsize=9)
            _blank(ax)
        axes[0][0].set_ylabel("Ground truth", fontsize=10, fontweight="bold")
        report.titles.append(titles)
        row = 1
    for m in models:
        shown = [m.maps[f.key] for f in frames if f.key in m.maps]
        lo = float(min(h.min() for h in shown))
        hi = float(max(h.max() for h in shown))
        titles, values = [], {}
        for ax, frame in zip(axes[row], frames, strict=True):
            title, value = model_panel(ax, dataset, frame, m, lo, hi if hi > lo else lo + 1e-6)
            ax.set_title(title, fontsize=9)
            _blank(ax)
            titles.append(title)
            values[frame.key] = value
        axes[row][0].set_ylabel(f"{m.name}\nthr {m.threshold:.4g}", fontsize=9,
                                fontweight="bold")
        report.titles.append(titles)
        report.ciou[m.name] = values
        row += 1
    notes = "; ".join(f"{m.name}: {m.threshold_note}" for m in models)
    # Wrapped to the figure's width (about 13 characters per inch at 10 pt): one line per
    # model's note would run off both edges of a wide --compare figure.
    lines = [f"{dataset.name} video {video_id}: heatmap (jet, per-row scale), dashed = "
             "heatmap \u2265 threshold",
             *textwrap.wrap(f"threshold \u2014 {notes}", max(60, int(fig.get_figwidth() * 13)))]
    fig.suptitle("\n".join(lines), fontsize=10)
    top = min(0.93, max(0.75, 1 - 0.17 * (len(lines) + 0.5) / fig.get_figheight()))
    handles = [Patch(facecolor="none", edgecolor=c, linewidth=2, label=f"GT {SCENARIO_LABELS[s]}")
               for s, c in SCENARIO_COLOURS.items()]
    handles.append(Line2D([], [], color="black", linestyle="--", label="prediction \u2265 thr"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=9,
               frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, top))
    try:
        save_figure(fig, out, dpi)
    finally:
        plt.close(fig)
    return report
