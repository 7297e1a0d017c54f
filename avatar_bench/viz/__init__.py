"""Visual reports: heatmaps over a clip's annotated frames, and bar charts of results."""

from avatar_bench.viz.maps import ModelMaps, frame_ciou, read_maps, top_percent_threshold
from avatar_bench.viz.overlay import StripReport, render_video
from avatar_bench.viz.plots import plot_results

__all__ = [
    "ModelMaps", "StripReport", "frame_ciou", "plot_results", "read_maps", "render_video",
    "top_percent_threshold",
]
