"""``avatar-bench submit`` and ``avatar-bench leaderboard build|validate``."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import click

from avatar_bench import __version__
from avatar_bench.cli.common import dataset_options
from avatar_bench.errors import AvatarBenchError
from avatar_bench.leaderboard.ranking import RANKABLE


def parse_count(text: str | None) -> int | None:
    """``11690000``, ``11.7M``, ``144k`` -> an integer (parameter or clip counts)."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kKmMbB]?)\s*", text)
    if not m:
        raise AvatarBenchError(f"count {text!r}: expected an integer or a number with k/M/B, "
                               "e.g. 11.7M")
    scale = {"": 1, "k": 1e3, "m": 1e6, "b": 1e9}[m.group(2).lower()]
    return int(round(float(m.group(1)) * scale))


@click.command("submit")
@click.argument("predictions", type=click.Path(exists=True, dir_okay=False))
@click.option("--name", required=True, help="Model name shown on the leaderboard.")
@click.option("--slug", default=None, help="Folder name (default: from --name).")
@click.option("--authors", default=None)
@click.option("--organisation", default=None)
@click.option("--paper-url", default=None, help="http(s) link to the paper.")
@click.option("--code-url", default=None, help="http(s) link to the code.")
@click.option("--training-data", default=None, help="Training set name, e.g. 'VGGSound'.")
@click.option("--training-size", default=None, help="Training clips, e.g. 10k or 144000.")
@click.option("--params", default=None, help="Parameter count, e.g. 23.5M.")
@click.option("--audio-window", type=float, default=None, help="Audio window in seconds.")
@click.option("--protocol", type=click.Choice(["avatar", "legacy"]), default="avatar",
              show_default=True)
@click.option("--date", "date_", default=None, help="YYYY-MM-DD (default: today, UTC).")
@click.option("--notes", default=None)
@click.option("--submissions-dir", type=click.Path(file_okay=False), default="submissions",
              show_default=True)
@click.option("--force", is_flag=True, help="Replace an existing submission with this slug.")
@dataset_options
def submit(predictions: str, name: str, slug: str | None, authors: str | None,
           organisation: str | None, paper_url: str | None, code_url: str | None,
           training_data: str | None, training_size: str | None, params: str | None,
           audio_window: float | None, protocol: str, date_: str | None, notes: str | None,
           submissions_dir: str, force: bool, load_dataset) -> None:
    """Evaluate PREDICTIONS (.npz) and add it to the leaderboard as a reproduced entry."""
    from avatar_bench.leaderboard.submissions import slugify, write_submission

    slug = slug or slugify(name)
    if (Path(submissions_dir) / slug).exists() and not force:
        raise AvatarBenchError(f"{Path(submissions_dir) / slug} already exists: choose another "
                               "--slug or pass --force to replace it")
    from avatar_bench.eval import evaluate  # heavy: only when submitting

    dataset = load_dataset()
    kwargs = {} if protocol == "avatar" else {"protocol": protocol}
    results = evaluate(dataset, predictions, **kwargs)
    size = parse_count(training_size)
    meta = {
        "schema_version": 1, "name": name, "authors": authors, "organisation": organisation,
        "links": {"paper": paper_url, "code": code_url},
        "training_data": ({"name": training_data, "size": size}
                          if training_data or size else None),
        "parameters": parse_count(params), "audio_window_s": audio_window,
        "date": date_ or datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "protocol": protocol, "source": "reproduced",
        "dataset": (results.get("dataset") or {}).get("name", dataset.name),
        "notes": notes, "avatar_bench_version": __version__,
    }
    folder = write_submission(submissions_dir, slug, meta, results, force=force)
    click.echo(f"wrote {folder} ({meta['dataset']}, protocol {protocol}); rebuild the page with "
               f"`avatar-bench leaderboard build {submissions_dir} -o leaderboard/index.html`")


@click.group("leaderboard")
def leaderboard() -> None:
    """Validate submissions and build the static leaderboard page."""


@leaderboard.command("build")
@click.argument("submissions_dir", type=click.Path(file_okay=False), default="submissions")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="leaderboard/index.html",
              show_default=True)
@click.option("--build-time", default=None,
              help="Build time to print (ISO 8601 or epoch seconds); default $SOURCE_DATE_EPOCH, "
                   "else now. Fix it for reproducible builds.")
@click.option("--rank-by", type=click.Choice(("auto",) + RANKABLE), default="auto",
              show_default=True, help="Row whose CIoU ranks each table (auto: Total when every "
                                      "row has it, else Single-sound).")
def build_cmd(submissions_dir: str, output: str, build_time: str | None, rank_by: str) -> None:
    """Build ONE self-contained HTML page from SUBMISSIONS_DIR (default: submissions)."""
    from avatar_bench.leaderboard.build import build

    out = build(submissions_dir, output, build_time=build_time, rank_by=rank_by)
    click.echo(f"wrote {out}")


@leaderboard.command("validate")
@click.argument("submissions_dir", type=click.Path(file_okay=False), default="submissions")
def validate_cmd(submissions_dir: str) -> None:
    """Check every submission folder and list all problems at once."""
    from avatar_bench.leaderboard.submissions import load_submissions

    subs = load_submissions(submissions_dir)
    click.echo(f"{len(subs)} submission(s) in {submissions_dir} are valid")


COMMANDS = [submit, leaderboard]
