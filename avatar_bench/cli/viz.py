"""``avatar-bench visualize`` (heatmaps over a clip) and ``avatar-bench plot`` (result bars)."""

from __future__ import annotations

from pathlib import Path

import click

from avatar_bench.cli.common import dataset_options
from avatar_bench.errors import AvatarBenchError


def _label(path: Path) -> str:
    """A results file's label: its folder name for ``<slug>/results.json``, else its stem."""
    return path.parent.name if path.stem == "results" and path.parent.name else path.stem


OUTPUT_HELP = ("Figure to write: .png, .svg or .pdf by suffix; '-' writes PNG to standard "
               "output (the text report then goes to standard error).")


@click.command("visualize")
@click.argument("more", nargs=-1, type=click.Path(exists=True))
@click.option("--predictions", "-p", multiple=True, type=click.Path(exists=True),
              help="Predictions (.npz or folder of <key>.npy); repeat for several models.")
@click.option("--compare", is_flag=True,
              help="Models side by side as rows, first row = ground truth (paper's Fig. 4); "
                   "the files may follow as arguments: --compare a.npz b.npz.")
@click.option("--video", required=True, help="Video id, e.g. l_7B1wnTNtA_00020.")
@click.option("--results", "results_paths", multiple=True, type=click.Path(exists=True),
              help="Results JSON per model (same order): draw its thresholds.main instead of "
                   "recomputing the evaluator's threshold (fast on the full dataset).")
@click.option("--threshold", "threshold_mode", default="evaluator", show_default=True,
              help="'evaluator': the threshold `evaluate` uses (top 10% of every pixel of the "
                   "whole predictions file; needs maps for every frame of the dataset); "
                   "'video': top 10% of the shown video's maps (labelled as such); or a "
                   "number.")
@click.option("--label", "labels", multiple=True, help="Row label per model (same order).")
@click.option("--max-frames", type=int, default=8, show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True),
              required=True, help=OUTPUT_HELP)
@dataset_options
def visualize(more: tuple[str, ...], predictions: tuple[str, ...], compare: bool, video: str,
              results_paths: tuple[str, ...], threshold_mode: str, labels: tuple[str, ...],
              max_frames: int, output: str, load_dataset) -> None:
    """Heatmaps over the annotated frames of one clip, GT contours, per-frame cIoU.

    The per-frame cIoU uses the evaluator's threshold by default, so it is the number
    `evaluate --per-frame` reports for that frame.
    """
    from avatar_bench.viz.maps import ModelMaps, choose_threshold, read_maps
    from avatar_bench.viz.output import figure_format, is_stdout
    from avatar_bench.viz.overlay import render_video

    paths = [Path(p) for p in predictions + more]
    if not paths:
        raise AvatarBenchError("give a predictions file: --predictions preds.npz")
    for what, given in (("--results", results_paths), ("--label", labels)):
        if given and len(given) != len(paths):
            raise AvatarBenchError(f"{len(given)} {what} for {len(paths)} predictions file(s): "
                                   "give one per model, in the same order")
    figure_format(output)
    dataset = load_dataset()
    keys = [f.key for f in dataset.video_frames(video)]
    if not keys:
        raise AvatarBenchError(f"video {video!r} is not in dataset {dataset.name}")
    models = []
    for i, path in enumerate(paths):
        maps = read_maps(path, keys)
        if not maps:
            raise AvatarBenchError(f"{path}: no heatmap for any frame of video {video!r}")
        thr, note = choose_threshold(dataset, path, maps, threshold_mode,
                                     results_paths[i] if results_paths else None)
        models.append(ModelMaps(labels[i] if labels else path.stem, maps, thr, note))
    report = render_video(dataset, video, models, output, gt_row=compare or len(models) > 1,
                          max_frames=max_frames)
    err = is_stdout(output)
    for m in models:
        click.echo(f"{m.name}: threshold {m.threshold:.6g} ({m.threshold_note})", err=err)
    for name, values in report.ciou.items():
        shown = ", ".join(f"{k}: {'-' if v is None else f'{v:.3f}'}" for k, v in values.items())
        click.echo(f"{name}: cIoU {shown}", err=err)
    click.echo(f"wrote {'PNG to standard output' if err else report.path}", err=err)


@click.command("plot")
@click.argument("results", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--label", "labels", multiple=True, help="Label per results file (same order).")
@click.option("--allow-mixed-protocols", is_flag=True,
              help="Plot results scored under different protocols anyway (each bar is "
                   "labelled with its protocol); refused by default.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True),
              required=True, help=OUTPUT_HELP)
def plot(results: tuple[str, ...], labels: tuple[str, ...], allow_mixed_protocols: bool,
         output: str) -> None:
    """Per-scenario bars with 95% interval whiskers from one or more results JSON files."""
    from avatar_bench.eval.results import load_results
    from avatar_bench.viz.output import is_stdout
    from avatar_bench.viz.plots import plot_results

    docs = [load_results(path) for path in results]
    names = list(labels) if labels else [_label(Path(p)) for p in results]
    where = plot_results(docs, names, output, allow_mixed=allow_mixed_protocols)
    click.echo(f"wrote {'PNG to standard output' if is_stdout(output) else where}",
               err=is_stdout(output))


COMMANDS = [visualize, plot]
