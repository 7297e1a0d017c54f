"""Submission folders: read and validate them all, or write a new one.

``<submissions>/<slug>/submission.json`` + ``results.json``. Loading validates every folder
before returning anything and raises one ``AvatarBenchError`` listing every problem, so a broken
entry can never be silently dropped from the leaderboard.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avatar_bench.errors import AvatarBenchError
from avatar_bench.fsio import atomic_dir, describe_path, sweep_stale
from avatar_bench.leaderboard.schema import (
    RESULTS_SCHEMA,
    SLUG_PATTERN,
    SUBMISSION_SCHEMA,
    cross_problems,
    date_problems,
    schema_problems,
    value_problems,
)

SUBMISSION_FILE = "submission.json"
RESULTS_FILE = "results.json"
#: Larger submission documents are refused before parsing (the evaluator's are ~5 kB).
MAX_FILE_BYTES = 1024**2


@dataclass(frozen=True)
class Submission:
    """One leaderboard entry: its folder name, its metadata and its results."""

    slug: str
    meta: dict[str, Any]
    results: dict[str, Any]

    @property
    def name(self) -> str:
        return self.meta["name"]

    @property
    def dataset(self) -> str:
        return self.meta["dataset"]

    @property
    def protocol(self) -> str:
        return self.meta["protocol"]

    @property
    def source(self) -> str:
        return self.meta["source"]

    def metric(self, row: str, field: str) -> float | None:
        """``metrics.<row>.<field>`` (or ``off_screen.<field>`` for row ``off_screen``)."""
        entry = self._row(row)
        value = entry.get(field) if entry else None
        return float(value) if isinstance(value, (int, float)) else None

    def interval(self, row: str, field: str) -> tuple[float, float] | None:
        entry = self._row(row)
        ci = (entry.get("ci") or {}).get(field) if entry else None
        if isinstance(ci, list) and len(ci) == 2 and None not in ci:
            return float(ci[0]), float(ci[1])
        return None

    def _row(self, row: str) -> dict[str, Any] | None:
        if row == "off_screen":
            return self.results.get("off_screen")
        return (self.results.get("metrics") or {}).get(row)


def slugify(name: str) -> str:
    """A folder name from a model name: ``EZ-VSL (144k)`` -> ``ez-vsl-144k``."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].strip("-")
    if not slug:
        raise AvatarBenchError(f"cannot derive a folder name from model name {name!r}: "
                               "give --slug")
    return slug


def slug_ok(slug: str) -> bool:
    """Whole-string match: ``re.match`` with ``$`` would accept a trailing newline."""
    return re.fullmatch(SLUG_PATTERN.strip("^$"), slug) is not None


def _read_json(path: Path, problems: list[str]) -> Any:
    kind = describe_path(path)
    if kind == "no such file":
        problems.append(f"{path}: file is missing")
        return None
    if kind:
        problems.append(f"{path}: expected a JSON file, found {kind}")
        return None
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            problems.append(f"{path}: larger than {MAX_FILE_BYTES} bytes")
            return None
        return json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        problems.append(f"{path}: not valid JSON: {exc}")
    except RecursionError:
        problems.append(f"{path}: not valid JSON: nested too deeply")
    return None


def check_meta(meta: Any, where: str) -> list[str]:
    """Problems of a ``submission.json`` alone (``submit`` runs this before evaluating)."""
    problems = value_problems(meta, where)
    problems = problems or schema_problems(meta, SUBMISSION_SCHEMA, where)
    return problems or date_problems(meta, where)


def check_pair(meta: Any, results: Any, sub_where: str, res_where: str) -> list[str]:
    """All problems of one submission's two documents (values, schema, then cross-checks)."""
    problems = check_meta(meta, sub_where)
    found = value_problems(results, res_where)
    problems += found or schema_problems(results, RESULTS_SCHEMA, res_where)
    if not problems:
        problems += cross_problems(meta, results, sub_where, res_where)
    return problems


def load_one(folder: Path) -> tuple[Submission | None, list[str]]:
    """Read one folder; returns the entry (or None) and every problem found."""
    problems: list[str] = []
    if not slug_ok(folder.name):
        problems.append(f"{folder}: folder name must match {SLUG_PATTERN} "
                        "(lower-case letters, digits, '.', '_', '-')")
    sub_path, res_path = folder / SUBMISSION_FILE, folder / RESULTS_FILE
    meta = _read_json(sub_path, problems)
    results = _read_json(res_path, problems)
    if meta is not None and results is not None:
        problems += check_pair(meta, results, str(sub_path), str(res_path))
    if problems:
        return None, problems
    return Submission(folder.name, meta, results), []


def load_submissions(directory: str | os.PathLike) -> list[Submission]:
    """Every submission under ``directory``, sorted by slug; raises listing all problems."""
    root = Path(directory)
    if not root.is_dir():
        raise AvatarBenchError(f"submissions folder {root} does not exist")
    entries, problems = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        sub, found = load_one(folder)
        problems += found
        if sub is not None:
            entries.append(sub)
    if problems:
        raise AvatarBenchError(f"{root}: {len(problems)} problem(s) in submissions", problems)
    return entries


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_submission(directory: str | os.PathLike, slug: str, meta: dict[str, Any],
                     results: dict[str, Any], *, force: bool = False) -> Path:
    """Validate, then write ``<directory>/<slug>/`` atomically; never replaces unless forced.

    The folder appears complete or not at all: a failure leaves no temporary folder behind,
    and leftovers of killed earlier runs are swept.
    """
    if not slug_ok(slug):
        raise AvatarBenchError(f"slug {slug!r} must match {SLUG_PATTERN}")
    folder = Path(directory) / slug
    problems = check_pair(meta, results, str(folder / SUBMISSION_FILE),
                          str(folder / RESULTS_FILE))
    if problems:
        raise AvatarBenchError(f"submission {slug!r} is not valid", problems)
    if folder.exists() and not force:
        raise AvatarBenchError(f"{folder} already exists: choose another --slug or pass --force "
                               "to replace it")
    from avatar_bench.eval import results_json  # the evaluator only when writing results

    sweep_stale(folder.parent)
    with atomic_dir(folder, replace=force) as tmp:
        tmp.chmod(0o755)  # a temporary folder is private; the entry is not
        (tmp / SUBMISSION_FILE).write_text(_dump(meta), encoding="utf-8")
        # The evaluator's canonical writer: the same bytes `evaluate --output` gives.
        (tmp / RESULTS_FILE).write_text(results_json(results), encoding="utf-8")
    return folder
