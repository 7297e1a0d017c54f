"""``avatar-bench reproduce``: the paper's baseline rows from the authors' checkpoints."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from avatar_bench.cli.common import dataset_options, finite_number, positive_seconds
from avatar_bench.errors import AvatarBenchError


def _overrides(pairs: tuple[str, ...]) -> dict[str, Path]:
    out = {}
    for pair in pairs:
        slug, sep, path = pair.partition("=")
        if not sep or not slug or not path:
            raise AvatarBenchError(f"--checkpoint {pair!r}: expected SLUG=PATH, e.g. "
                                   "ez-vsl-10k=~/ckpts/ezvsl_10k.pth")
        out[slug] = Path(path).expanduser()
    return out


def _plan(rows, folder: Path | None, overrides: dict[str, Path]) -> list[tuple[Any, Path]]:
    """(row, checkpoint) for every row whose checkpoint is present; errors when none is."""
    from avatar_bench.fsio import require_regular_file
    from avatar_bench.models.baselines.reproduce import find_checkpoint

    unknown = sorted(set(overrides) - {r.slug for r in rows})
    if unknown:
        raise AvatarBenchError(f"--checkpoint for unknown row(s) {', '.join(unknown)}; rows: "
                               f"{', '.join(r.slug for r in rows)}")
    plan = []
    for row in rows:
        if row.slug in overrides:
            plan.append((row, require_regular_file(overrides[row.slug], "checkpoint")))
        elif folder is not None and (found := find_checkpoint(folder, row)) is not None:
            plan.append((row, found))
    if not plan:
        expected = [f"{r.slug}: {', '.join(r.candidates())}" for r in rows]
        raise AvatarBenchError(f"no official checkpoint found in {folder}: nothing to "
                               "reproduce. Expected, relative to that folder:", expected)
    return plan


def _check_loads(plan) -> None:
    """Load every checkpoint strictly before any prediction (a wrong file costs nothing)."""
    from avatar_bench.models.baselines.checkpoints import load_official

    for row, path in plan:
        load_official(row.model, path)


def _predict(row, checkpoint: Path, dataset, out: Path, options: dict) -> Path:
    """The row's predictions file; reused when it was made from the same checkpoint bytes."""
    from avatar_bench.eval.predictions import PredictionsFile, write_predictions
    from avatar_bench.models.base import checkpoint_record
    from avatar_bench.models.registry import create
    from avatar_bench.progress import progress

    preds = out / "predictions" / f"{row.slug}.npz"
    record = checkpoint_record(checkpoint)
    if preds.is_file():
        try:
            meta = PredictionsFile(preds).meta or {}
        except AvatarBenchError:
            meta = {}
        if (meta.get("checkpoint") or {}).get("sha256") == record["sha256"]:
            click.echo(f"{row.slug}: reusing {preds} (same checkpoint sha256)", err=True)
            return preds
    preds.parent.mkdir(parents=True, exist_ok=True)
    adapter = create(row.model, checkpoint=str(checkpoint), **options)
    items = progress(adapter.predict(dataset, dataset.frames), desc=f"predict {row.slug}",
                     total=len(dataset), unit="frame")
    write_predictions(preds, items, len(dataset), adapter.meta())
    return preds


def _submission_meta(row, checkpoint: Path, dataset, audio_window: float | None) -> dict:
    from avatar_bench import __version__
    from avatar_bench.models.baselines.audio import DEFAULT_WINDOW

    training = "VGGSound" if row.training_size else "VGGSound (full)"
    return {
        "schema_version": 1, "name": f"{row.name} official checkpoint",
        "authors": row.authors or None, "organisation": None,
        "links": {"paper": row.paper_url or None, "code": row.code_url or None},
        "training_data": {"name": training, "size": row.training_size},
        "parameters": None,
        "audio_window_s": float(audio_window or DEFAULT_WINDOW[row.model]),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "protocol": "avatar", "source": "reproduced", "dataset": dataset.name,
        "notes": (f"`avatar-bench reproduce` of the paper's Table 2 row {row.name} from the "
                  f"authors' released checkpoint ({checkpoint.name})."),
        "avatar_bench_version": __version__,
    }


@click.command("reproduce")
@click.option("--checkpoints", "folder", type=click.Path(file_okay=False, exists=True),
              default=None,
              help="Folder of the authors' checkpoints: each Table 2 row runs when its file is "
                   "there (names: see docs/baselines.md).")
@click.option("--checkpoint", "pairs", multiple=True, metavar="SLUG=PATH",
              help="A row's checkpoint at any path, e.g. ez-vsl-10k=ezvsl.pth (repeatable).")
@click.option("--paper", "paper_path", type=click.Path(dir_okay=False, exists=True),
              default=None,
              help="JSON of expected values per row slug (default: the paper's Table 2).")
@click.option("--tolerance", type=float, default=None,
              callback=finite_number(0, strict=False),
              help="Largest |reproduced - paper| accepted per metric, percentage points "
                   "[default: 0.5].")
@click.option("--output-dir", "-o", type=click.Path(file_okay=False), default="reproduce-out",
              show_default=True,
              help="Predictions, submission entries (submissions/<slug>-reproduced/) and "
                   "comparison.json go here.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True,
              help="Frames per forward pass (results do not depend on it).")
@click.option("--audio-window", type=float, default=None,
              callback=positive_seconds,
              help="Seconds of audio per frame (default: each baseline's own, 3 or 10).")
@click.option("--bootstrap", type=click.IntRange(0, 10_000), default=1000, show_default=True,
              help="Bootstrap resamples for the entries' 95% intervals (0 = none).")
@dataset_options
@click.pass_context
def reproduce(ctx: click.Context, folder: str | None, pairs: tuple[str, ...],
              paper_path: str | None, tolerance: float | None, output_dir: str, device: str,
              batch_size: int, audio_window: float | None, bootstrap: int,
              load_dataset) -> None:
    """Reproduce the paper's baseline rows (Table 2) from the authors' checkpoints.

    Runs each row whose checkpoint is present, evaluates it, prints paper vs reproduced
    with the differences, writes a submission entry per row, and exits with status 1 when
    any metric differs from the paper by more than the tolerance.
    """
    from avatar_bench.eval import evaluate
    from avatar_bench.fsio import atomic_write_text
    from avatar_bench.leaderboard.submissions import write_submission
    from avatar_bench.models.baselines.reproduce import (
        DEFAULT_TOLERANCE,
        Comparison,
        measured,
        rows_with_paper_values,
    )

    if folder is None and not pairs:
        raise AvatarBenchError("give the folder of the authors' checkpoints (--checkpoints DIR) "
                               "or a row's file (--checkpoint SLUG=PATH)")
    tol = DEFAULT_TOLERANCE if tolerance is None else float(tolerance)
    rows = rows_with_paper_values(paper_path)
    plan = _plan(rows, Path(folder) if folder else None, _overrides(pairs))
    _check_loads(plan)
    dataset = load_dataset()
    if dataset.name != "AVATAR" and paper_path is None:
        click.echo(f"warning: the paper's numbers are for AVATAR; {dataset.name} will not "
                   "match them", err=True)
    out = Path(output_dir)
    options = {"device": device, "batch_size": batch_size, "seed": 0}
    if audio_window is not None:
        options["audio_window"] = audio_window
    comparisons = []
    for row, checkpoint in plan:
        preds = _predict(row, checkpoint, dataset, out, options)
        results = evaluate(dataset, preds, bootstrap=bootstrap)
        entry = write_submission(out / "submissions", f"{row.slug}-reproduced",
                                 _submission_meta(row, checkpoint, dataset, audio_window),
                                 results, force=True)
        # Compare the numbers as written (the results file's rounding), not the raw floats.
        written = json.loads((entry / "results.json").read_text(encoding="utf-8"))
        comparisons.append(Comparison(row, checkpoint.name, measured(written), tol))
        click.echo(comparisons[-1].format())
    skipped = [r.slug for r in rows if r.slug not in {c.row.slug for c in comparisons}]
    report = {"dataset": {"name": dataset.name, "revision": dataset.revision},
              "tolerance": tol, "rows": [c.to_json() for c in comparisons],
              "not_run": skipped}
    atomic_write_text(out / "comparison.json", json.dumps(report, indent=2) + "\n")
    if skipped:
        click.echo(f"not run (no checkpoint): {', '.join(skipped)}")
    failed = [c.row.slug for c in comparisons if not c.ok]
    click.echo(f"wrote {out / 'comparison.json'} and {len(comparisons)} submission "
               f"entr{'y' if len(comparisons) == 1 else 'ies'} in {out / 'submissions'}")
    if failed:
        click.echo(f"NOT REPRODUCED within \u00b1{tol:g} points: {', '.join(failed)}")
        ctx.exit(1)
    click.echo(f"reproduced: every metric within \u00b1{tol:g} points of the paper")


COMMANDS = [reproduce]
