"""``avatar-bench submit`` and ``avatar-bench leaderboard build|validate``."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import click

from avatar_bench import __version__
from avatar_bench.cli.common import SEED_MAX, dataset_options, positive_seconds
from avatar_bench.errors import AvatarBenchError
from avatar_bench.leaderboard.ranking import RANKABLE

#: Largest count accepted (integers above 2^53 are refused by the schema too).
MAX_COUNT = 2**53


def parse_count(text: str | None) -> int | None:
    """``11690000``, ``11.7M``, ``144k`` -> an integer (parameter or clip counts)."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kKmMbB]?)\s*", text)
    if not m:
        raise AvatarBenchError(f"count {text!r}: expected an integer or a number with k/M/B, "
                               "e.g. 11.7M")
    scale = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9}[m.group(2).lower()]
    if len(m.group(1)) > 20:
        raise AvatarBenchError(f"count {text.strip()[:24]!r}...: too long (at most 20 digits)")
    value = int(round(Decimal(m.group(1)) * scale))
    if value > MAX_COUNT:
        raise AvatarBenchError(f"count {text.strip()!r}: at most {MAX_COUNT:,} "
                               "(2^53, what the page can show exactly)")
    return value


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
@click.option("--audio-window", type=float, default=None, callback=positive_seconds,
              help="Audio window in seconds.")
@click.option("--protocol", type=click.Choice(["avatar", "legacy"]), default="avatar",
              show_default=True)
@click.option("--date", "date_", default=None, help="YYYY-MM-DD (default: today, UTC).")
@click.option("--notes", default=None)
@click.option("--training-seed", type=click.IntRange(0, SEED_MAX), default=None,
              help="Seed of the training run (one entry per seed of a multi-seed study).")
@click.option("--submissions-dir", type=click.Path(file_okay=False), default="submissions",
              show_default=True)
@click.option("--force", is_flag=True, help="Replace an existing submission with this slug.")
@dataset_options
def submit(predictions: str, name: str, slug: str | None, authors: str | None,
           organisation: str | None, paper_url: str | None, code_url: str | None,
           training_data: str | None, training_size: str | None, params: str | None,
           audio_window: float | None, protocol: str, date_: str | None, notes: str | None,
           training_seed: int | None, submissions_dir: str, force: bool,
           load_dataset) -> None:
    """Evaluate PREDICTIONS (.npz) and add it to the leaderboard as a reproduced entry.

    Everything that can be checked without scoring (metadata, slug, dataset release) is
    checked first, so a typo never costs an evaluation.
    """
    from avatar_bench.leaderboard.revisions import revision_problem
    from avatar_bench.leaderboard.submissions import (
        SUBMISSION_FILE,
        check_meta,
        slug_ok,
        slugify,
        write_submission,
    )

    slug = slug or slugify(name)
    folder = Path(submissions_dir) / slug
    if not slug_ok(slug):
        raise AvatarBenchError(f"--slug {slug!r}: expected lower-case letters, digits, '.', '_' "
                               "or '-' (at most 64, starting with a letter or digit)")
    if folder.exists() and not force:
        raise AvatarBenchError(f"{folder} already exists: choose another --slug or pass --force "
                               "to replace it")
    size = parse_count(training_size)
    dataset = load_dataset()
    meta = {
        "schema_version": 1, "name": name, "authors": authors, "organisation": organisation,
        "links": {"paper": paper_url, "code": code_url},
        "training_data": ({"name": training_data, "size": size}
                          if training_data or size else None),
        "parameters": parse_count(params), "audio_window_s": audio_window,
        "date": date_ or datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "protocol": protocol, "source": "reproduced", "dataset": dataset.name,
        "notes": notes, "avatar_bench_version": __version__,
    }
    if training_seed is not None:   # only when given: earlier entries keep their bytes
        meta["training_seed"] = training_seed
    problems = check_meta(meta, f"{folder / SUBMISSION_FILE} (from the options)")
    if problems:
        raise AvatarBenchError(f"submission {slug!r} is not valid (nothing was evaluated)",
                               problems)
    found = revision_problem(dataset.name, dataset.revision, dataset.annotation_checksum)
    if found:
        raise AvatarBenchError(f"{dataset.root}: a reproduced entry must be scored on a dataset "
                               f"release avatar-bench knows: expected {found} (nothing was "
                               "evaluated)")
    from avatar_bench.eval import evaluate  # heavy: only when submitting

    kwargs = {} if protocol == "avatar" else {"protocol": protocol}
    results = evaluate(dataset, predictions, **kwargs)
    meta["dataset"] = (results.get("dataset") or {}).get("name", dataset.name)
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
@click.option("--verification", type=click.Path(dir_okay=False), default=None,
              help="A `leaderboard verify --record` file: rows show their verify outcome.")
def build_cmd(submissions_dir: str, output: str, build_time: str | None, rank_by: str,
              verification: str | None) -> None:
    """Build ONE self-contained HTML page from SUBMISSIONS_DIR (default: submissions)."""
    from avatar_bench.leaderboard.build import build

    out = build(submissions_dir, output, build_time=build_time, rank_by=rank_by,
                verification=verification)
    click.echo(f"wrote {out}")


@leaderboard.command("validate")
@click.argument("submissions_dir", type=click.Path(file_okay=False), default="submissions")
def validate_cmd(submissions_dir: str) -> None:
    """Check every submission folder and list all problems at once."""
    from avatar_bench.leaderboard.submissions import load_submissions

    subs = load_submissions(submissions_dir)
    click.echo(f"{len(subs)} submission(s) in {submissions_dir} are valid")


@leaderboard.command("verify")
@click.argument("submissions_dir", type=click.Path(file_okay=False), default="submissions")
@click.option("--predictions-dir", type=click.Path(file_okay=False), default=None,
              help="Folder holding <slug>.npz or the file named in results.json "
                   "predictions.file (besides <slug>/predictions.npz in the entry).")
@click.option("--root", type=click.Path(file_okay=False), default=None,
              help="Root of the real AVATAR, for AVATAR entries (default: $AVATAR_ROOT).")
@click.option("--slug", "slugs", multiple=True, help="Only these entries (repeatable).")
@click.option("--require-all", is_flag=True,
              help="Also fail when a reproduced entry cannot be verified here.")
@click.option("--record", "record_path", type=click.Path(dir_okay=False), default=None,
              help="Write the outcomes here (JSON) for `leaderboard build --verification`.")
def verify_cmd(submissions_dir: str, predictions_dir: str | None, root: str | None,
               slugs: tuple[str, ...], require_all: bool, record_path: str | None) -> None:
    """Re-evaluate reproduced entries from their predictions; exit 2 on any difference."""
    from avatar_bench.leaderboard.submissions import load_submissions
    from avatar_bench.leaderboard.verify import report, verify_submissions

    subs = load_submissions(submissions_dir)
    if slugs:
        unknown = sorted(set(slugs) - {s.slug for s in subs})
        if unknown:
            raise AvatarBenchError(f"--slug: no entry {', '.join(unknown)} in {submissions_dir}")
        subs = [s for s in subs if s.slug in slugs]
    checks = verify_submissions(subs, Path(submissions_dir),
                                Path(predictions_dir) if predictions_dir else None, root)
    click.echo(report(checks))
    if record_path:
        from avatar_bench.fsio import atomic_write_text
        from avatar_bench.leaderboard.build import resolve_build_time
        from avatar_bench.leaderboard.verify import record

        when = resolve_build_time(None).strftime("%Y-%m-%d")
        atomic_write_text(record_path, json.dumps(record(checks, subs, when), indent=2,
                                                  sort_keys=True) + "\n")
    bad = [c.slug for c in checks if c.status == "mismatch"]
    if bad:
        raise AvatarBenchError(f"{len(bad)} entr{'y' if len(bad) == 1 else 'ies'} do(es) not "
                               f"match their predictions: {', '.join(bad)}")
    missing = [c.slug for c in checks if c.status != "verified"]
    if require_all and missing:
        raise AvatarBenchError(f"--require-all: not verified here: {', '.join(missing)}")


@leaderboard.command("check")
@click.argument("submissions_dir", type=click.Path(file_okay=False), default="submissions")
@click.argument("paths", nargs=-1)
@click.option("--base", default=None,
              help="Git ref to compare with (e.g. origin/main): check the entries changed since.")
@click.option("--predictions-dir", type=click.Path(file_okay=False), default=None,
              help="Where <slug>.npz predictions are (besides <slug>/predictions.npz).")
@click.option("--root", type=click.Path(file_okay=False), default=None,
              help="Root of the real AVATAR, to verify AVATAR entries.")
@click.option("--require-verified", is_flag=True,
              help="Fail when a changed reproduced entry cannot be re-evaluated here.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Also keep the built page here (default: built in a temporary folder).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the report to this file (e.g. for a CI summary).")
def check_cmd(submissions_dir: str, paths: tuple[str, ...], base: str | None,
              predictions_dir: str | None, root: str | None, require_verified: bool,
              output: str | None, report_path: str | None) -> None:
    """CI for a pull request: check the new/changed entries and that the page still builds.

    Give --base REF, or the changed PATHS (files or folders under SUBMISSIONS_DIR).
    """
    from avatar_bench.fsio import atomic_write_text
    from avatar_bench.leaderboard.check import check

    report = check(submissions_dir, base=base, paths=list(paths),
                   predictions_dir=predictions_dir, root=root,
                   require_verified=require_verified, output=output)
    text = report.text()
    click.echo(text, nl=False)
    if report_path:
        atomic_write_text(report_path, text)
    if report.failures:
        raise AvatarBenchError(f"leaderboard check failed: {report.failures} problem(s), "
                               "listed above")


COMMANDS = [submit, leaderboard]
