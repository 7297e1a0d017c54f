"""``info`` and ``splits``: what a dataset holds, per scenario and Cross-event."""

from __future__ import annotations

import json

import click

from avatar_bench.cli.common import dataset_options
from avatar_bench.data.annotations import SCENARIO_LABELS, SCENARIOS


@click.command()
@dataset_options
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def info(load_dataset, as_json: bool) -> None:
    """Counts per scenario, Cross-event videos, categories, frames per video.

    Every frame is parsed (geometry, sizes, duplicate keys) and rasterised at the evaluation
    size, so `info` reports what `evaluate` would stumble on."""
    from avatar_bench.data.splits import summary

    s = summary(load_dataset())
    if as_json:
        click.echo(json.dumps(s, indent=2))
        return
    click.echo(f"dataset      {s['dataset']}  ({s['root']})")
    click.echo(f"revision     {s['revision'] or '-'}")
    click.echo(f"videos       {s['videos']}  (with clip: {s['videos_with_clip']})")
    click.echo(f"frames       {s['frames']}")
    click.echo(f"categories   {s['categories']}")
    fpv = s["frames_per_video"]
    click.echo(f"frames/video min {fpv['min']}  mean {fpv['mean']}  max {fpv['max']}")
    click.echo("scenario       frames  instances")
    for sc in SCENARIOS:
        click.echo(f"  {SCENARIO_LABELS[sc]:<13}{s['frames_per_scenario'][sc]:>7}"
                   f"{s['instances_per_scenario'][sc]:>11}")
    click.echo(f"cross-event  {s['cross_event_videos']} videos, {s['cross_event_frames']} frames")
    click.echo(f"             {s['cross_event_scored_frames']} of them scored by evaluate "
               "(on-screen frames only: an off-screen-only frame has no mask)")
    _echo_checks(s)


def _echo_checks(s: dict) -> None:
    """What the per-frame checks found: skipped frames and instances that draw nothing."""
    if s["skipped_frames"]:
        click.echo(f"skipped      {s['skipped_frames']} malformed frames (--lenient; listed on "
                   "stderr)")
    empty = s["empty_instances"] or []
    if empty:
        click.echo(f"warning      {len(empty)} on-screen instance(s) draw no pixel at the "
                   "evaluation size:")
        for line in empty[:20]:
            click.echo(f"  - {line}")
        if len(empty) > 20:
            click.echo(f"  ... and {len(empty) - 20} more (--json lists all)")
    else:
        click.echo(f"checks       all {s['frames']} frames parsed and rasterised; every on-screen "
                   "instance draws pixels")


@click.command()
@dataset_options
@click.option("--export", type=click.Path(dir_okay=False), default=None,
              help="Write one row per frame (scenario flags, cross_event) to this CSV.")
def splits(load_dataset, export: str | None) -> None:
    """Frames per scenario and the Cross-event videos."""
    from avatar_bench.data.splits import splits_table

    table = splits_table(load_dataset())
    for sc in (*SCENARIOS, "cross_event"):
        n = int(table[sc].sum())
        click.echo(f"{SCENARIO_LABELS[sc]:<13}{n:>7} frames")
    if export:
        table.to_csv(export, index=False)
        click.echo(f"wrote {export} ({len(table)} rows)")


COMMANDS = [info, splits]
