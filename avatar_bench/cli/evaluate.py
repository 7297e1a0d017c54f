"""``validate`` and ``evaluate``: thin wrappers over avatar_bench.eval."""

from __future__ import annotations

import click

from avatar_bench.cli.common import dataset_options
from avatar_bench.errors import AvatarBenchError


def _resolution(ctx, param, value: str) -> tuple[int, int]:
    parts = value.lower().split("x")
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() and len(p) <= 6 for p in parts):
        raise click.BadParameter(f"expected HxW such as 360x640, got {value[:40]!r}")
    h, w = (int(v) for v in parts)
    if h < 1 or w < 1:
        raise click.BadParameter(f"expected positive sizes, got {value!r}")
    return h, w


def _print_report(report) -> None:
    for line in report.summary():
        click.echo(line)
    for w in report.warnings:
        click.echo(f"warning: {w}", err=True)


@click.command()
@click.argument("predictions", type=click.Path())
@dataset_options
def validate(predictions: str, load_dataset) -> None:
    """Check a predictions file (all problems at once). Exit 0 valid, 2 invalid."""
    from avatar_bench.eval.validate import validate_predictions

    report = validate_predictions(load_dataset(), predictions)
    _print_report(report)
    report.raise_if_invalid()
    click.echo("valid")


@click.command()
@click.argument("predictions", type=click.Path())
@dataset_options
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write the results JSON here.")
@click.option("--per-frame", type=click.Path(dir_okay=False), default=None,
              help="Write per-frame cIoU/TN to this CSV.")
@click.option("--protocol", type=click.Choice(["avatar", "legacy"]), default="avatar",
              show_default=True, help="avatar = the paper's; legacy = the baselines' own.")
@click.option("--top-percent", type=float, default=10.0, show_default=True,
              help="Share of all pixels above the global threshold.")
@click.option("--resolution", default="360x640", show_default=True, callback=_resolution,
              help="Evaluation resolution HxW (avatar protocol).")
@click.option("--legacy-resize", type=click.Choice(["auto", "bilinear", "bilinear-align-corners",
                                                   "bicubic-align-corners"]),
              default="auto", show_default=True,
              help="Legacy protocol: resize to 224x224 as the baseline's test.py does; auto = "
                   "from the predictions' meta model (ezvsl: bilinear-align-corners, slavc: "
                   "bicubic-align-corners, else half-pixel bilinear).")
@click.option("--bootstrap", type=click.IntRange(0, 10_000), default=1000, show_default=True,
              help="Bootstrap replicates (videos resampled); 0 = no intervals.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True,
              help="Bootstrap seed.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Threads (default: CPU count, max 4).")
def evaluate(predictions: str, load_dataset, output: str | None, per_frame: str | None,
             protocol: str, top_percent: float, resolution: tuple[int, int],
             legacy_resize: str, bootstrap: int, seed: int, workers: int | None) -> None:
    """Validate, then score PREDICTIONS; print a Table-2 layout and write the results."""
    from avatar_bench.eval.evaluator import Evaluator, Protocol
    from avatar_bench.eval.results import write_per_frame, write_results
    from avatar_bench.eval.table import format_table

    # Options are checked before the dataset is indexed or the predictions are read.
    proto = Protocol(protocol, resolution, top_percent, bootstrap=bootstrap, seed=seed,
                     legacy_resize=legacy_resize)
    ds = load_dataset()
    ev = Evaluator(ds, predictions, proto, workers=workers)
    try:
        results = ev.run()
    except AvatarBenchError:
        if ev.report is not None:
            _print_report(ev.report)
        raise
    for w in ev.report.warnings:
        click.echo(f"warning: {w}", err=True)
    click.echo(format_table(results))
    if output:
        write_results(results, output)
        click.echo(f"wrote {output}")
    if per_frame:
        write_per_frame(ev.per_frame_table(), per_frame)
        click.echo(f"wrote {per_frame}")


@click.command()
@click.argument("per_frame_a", type=click.Path(dir_okay=False))
@click.argument("per_frame_b", type=click.Path(dir_okay=False))
@click.option("--names", default=None, help="Labels for A and B as 'A,B' (default: file names).")
@click.option("--bootstrap", type=click.IntRange(1, 10_000), default=1000, show_default=True,
              help="Paired replicates (videos resampled once for both).")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True,
              help="Bootstrap seed.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write the comparison as JSON here.")
def compare(per_frame_a: str, per_frame_b: str, names: str | None, bootstrap: int, seed: int,
            output: str | None) -> None:
    """Is B above A? Paired video bootstrap of B - A CIoU per subset, from two
    `evaluate --per-frame` CSVs of the same dataset; also each model's Cross-event drop.

    With several training seeds per model, give each side as comma-separated CSVs
    (a_s0.csv,a_s1.csv,a_s2.csv b_s0.csv,b_s1.csv,b_s2.csv): the interval then resamples
    seeds and videos together, and each model's mean and spread over seeds is shown."""
    import json

    from avatar_bench.eval.compare import compare as run_compare
    from avatar_bench.eval.compare import format_comparison, read_per_frame
    from avatar_bench.fsio import atomic_write_text

    labels = [None, None]
    if names is not None:
        labels = [n.strip() for n in names.split(",")]
        if len(labels) != 2 or not all(labels):
            raise click.BadParameter(f"expected two labels as 'A,B', got {names!r}",
                                     param_hint="--names")
    files_a, files_b = per_frame_a.split(","), per_frame_b.split(",")
    if len(files_a) == 1 and len(files_b) == 1:
        result = run_compare(read_per_frame(per_frame_a, labels[0]),
                             read_per_frame(per_frame_b, labels[1]), bootstrap, seed)
        click.echo(format_comparison(result))
    else:
        from avatar_bench.eval.compare_seeds import compare_seeds, format_seed_comparison

        a = [read_per_frame(f) for f in files_a]
        b = [read_per_frame(f) for f in files_b]
        given = (labels[0] or a[0].name, labels[1] or b[0].name)
        result = compare_seeds(a, b, bootstrap, seed, names=given)
        click.echo(format_seed_comparison(result))
    if output:
        atomic_write_text(output, json.dumps(result, indent=2, sort_keys=True) + "\n")
        click.echo(f"wrote {output}")


COMMANDS = [validate, evaluate, compare]
