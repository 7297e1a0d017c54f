"""``avatar-bench visualize`` (heatmaps over a clip) and ``avatar-bench plot`` (result bars)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from avatar_bench.cli.common import dataset_options
from avatar_bench.errors import AvatarBenchError


def _label(path: Path) -> str:
    """A results file's label: its folder name for ``<slug>/results.json``, else its stem."""
    return path.parent.name if path.stem == "results" and path.parent.name else path.stem


@click.command("visualize")
@click.argument("more", nargs=-1, type=click.Path(exists=True))
@click.option("--predictions", "-p", multiple=True, type=click.Path(exists=True),
              help="Predictions (.npz or folder of <key>.npy); repeat for several models.")
@click.option("--compare", is_flag=True,
              help="Models side by side as rows, first row = ground truth (paper's Fig. 4); "
                   "the files may follow as arguments: --compare a.npz b.npz.")
@click.option("--video", required=True, help="Video id, e.g. l_7B1wnTNtA_00020.")
@click.option("--results", "results_paths", multiple=True, type=click.Path(exists=True),
              help="Results JSON per model (same order) whose thresholds.main is drawn; "
                   "default: top 10% of the shown video's maps.")
@click.option("--label", "labels", multiple=True, help="Row label per model (same order).")
@click.option("--max-frames", type=int, default=8, show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
@dataset_options
def visualize(more: tuple[str, ...], predictions: tuple[str, ...], compare: bool, video: str,
              results_paths: tuple[str, ...], labels: tuple[str, ...], max_frames: int,
              output: str, load_dataset) -> None:
    """Heatmaps over the annotated frames of one clip, GT contours, per-frame cIoU."""
    from avatar_bench.viz.maps import (
        DEFAULT_TOP_PERCENT,
        ModelMaps,
        read_maps,
        results_threshold,
        top_percent_threshold,
    )
    from avatar_bench.viz.overlay import render_video

    paths = [Path(p) for p in predictions + more]
    if not paths:
        raise AvatarBenchError("give a predictions file: --predictions preds.npz")
    for what, given in (("--results", results_paths), ("--label", labels)):
        if given and len(given) != len(paths):
            raise AvatarBenchError(f"{len(given)} {what} for {len(paths)} predictions file(s): "
                                   "give one per model, in the same order")
    dataset = load_dataset()
    keys = [f.key for f in dataset.video_frames(video)]
    if not keys:
        raise AvatarBenchError(f"video {video!r} is not in dataset {dataset.name}")
    models = []
    for i, path in enumerate(paths):
        maps = read_maps(path, keys)
        thr = results_threshold(results_paths[i]) if results_paths else None
        if thr is not None:
            note = f"thresholds.main of {Path(results_paths[i]).name}"
        else:
            if not maps:
                raise AvatarBenchError(f"{path}: no heatmap for any frame of video {video!r}")
            thr = top_percent_threshold(list(maps.values()), DEFAULT_TOP_PERCENT)
            note = f"top {DEFAULT_TOP_PERCENT:g}% of this video's maps (not the evaluator's)"
        models.append(ModelMaps(labels[i] if labels else path.stem, maps, thr, note))
    report = render_video(dataset, video, models, output, gt_row=compare or len(models) > 1,
                          max_frames=max_frames)
    for name, values in report.ciou.items():
        shown = ", ".join(f"{k}: {'-' if v is None else f'{v:.3f}'}" for k, v in values.items())
        click.echo(f"{name}: cIoU {shown}")
    click.echo(f"wrote {report.path}")


@click.command("plot")
@click.argument("results", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--label", "labels", multiple=True, help="Label per results file (same order).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
def plot(results: tuple[str, ...], labels: tuple[str, ...], output: str) -> None:
    """Per-scenario bars with 95% interval whiskers from one or more results JSON files."""
    from avatar_bench.viz.plots import plot_results

    docs = []
    for path in results:
        try:
            docs.append(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as exc:
            raise AvatarBenchError(f"{path}: cannot read results JSON: {exc}") from exc
    names = list(labels) if labels else [_label(Path(p)) for p in results]
    click.echo(f"wrote {plot_results(docs, names, output)}")


COMMANDS = [visualize, plot]
