"""Re-evaluate reproduced entries from their predictions and compare every recorded value.

Where the predictions file is looked for, in order (the first that exists is used):

1. ``<submissions>/<slug>/predictions.npz`` (a contributor may ship it with the entry);
2. ``<predictions-dir>/<slug>.npz``;
3. ``<predictions-dir>/<name>``, where ``<name>`` is the file name (no folders) recorded in
   ``results.json`` ``predictions.file``.

An entry whose file is found is checked by sha256 first (the file must be the one the entry
cites), then scored again with ``avatar_bench.eval.evaluate`` on the dataset release it cites and
the protocol it records; every value of the results document must come out identical (only
``avatar_bench_version`` and ``predictions.file`` may differ). Entries whose file or dataset
is not available here are listed as not verified, never as verified.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avatar_bench.errors import AvatarBenchError
from avatar_bench.fsio import describe_path
from avatar_bench.leaderboard.submissions import Submission

#: Values allowed to differ between the committed and the recomputed results.
IGNORED: frozenset[str] = frozenset({"avatar_bench_version", "predictions.file"})
SHIPPED_NAME = "predictions.npz"


@dataclass
class EntryCheck:
    """The outcome for one entry: ``verified``, ``mismatch`` or ``not verified``."""

    slug: str
    status: str
    detail: str
    problems: list[str] = field(default_factory=list)
    n_values: int = 0


def find_predictions(sub: Submission, folder: Path,
                     predictions_dir: Path | None) -> tuple[Path | None, list[Path]]:
    """The predictions file of an entry (see the module docstring) and every place looked."""
    looked = [folder / SHIPPED_NAME]
    if predictions_dir is not None:
        looked.append(predictions_dir / f"{sub.slug}.npz")
        recorded = (sub.results.get("predictions") or {}).get("file")
        if isinstance(recorded, str):
            base = os.path.basename(recorded.replace("\\", "/"))
            if base and base not in (".", ".."):
                looked.append(predictions_dir / base)
    for path in looked:
        if describe_path(path) is None:
            return path, looked
    return None, looked


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for k, v in data.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out or {prefix: {}}
    if isinstance(data, list):
        out = {}
        for i, v in enumerate(data):
            out.update(_flatten(v, f"{prefix}[{i}]"))
        return out or {prefix: []}
    return {prefix: data}


def compare_results(committed: dict[str, Any], recomputed: dict[str, Any]) -> tuple[list[str], int]:
    """Every differing value as ``field: committed X, recomputed Y``; and how many were compared.

    Both sides go through the evaluator's canonical writer's precision (the caller passes the
    recomputed document through ``results_json``), so equal means equal as written.
    """
    a, b = _flatten(committed), _flatten(recomputed)
    problems = []
    for key in sorted(set(a) | set(b)):
        if key in IGNORED:
            continue
        if key not in b:
            problems.append(f"{key}: committed {a[key]!r}, absent when recomputed")
        elif key not in a:
            problems.append(f"{key}: missing from the entry, recomputed {b[key]!r}")
        elif a[key] != b[key] or isinstance(a[key], bool) != isinstance(b[key], bool):
            problems.append(f"{key}: committed {a[key]!r}, recomputed {b[key]!r}")
    return problems, len((set(a) | set(b)) - IGNORED)


def mini_release(revision: str) -> tuple[str, int] | None:
    """The ``--dataset`` name and seed an AVATAR-mini revision names
    (``mini-v2-seed0-n60`` -> ``("mini-v2", 0)``), or None when this avatar-bench has no such
    world version."""
    import avatar_bench.data as data

    m = re.fullmatch(r"mini-v(\d+)-seed(\d+)-n\d+", revision or "")
    versions = getattr(data, "MINI_DATASETS", {"mini": 1})
    names = [name for name, v in versions.items() if m and v == int(m.group(1))]
    return (names[0], int(m.group(2))) if names else None


def open_cited_dataset(sub: Submission, root: str | None) -> Any:
    """The dataset release the entry cites, or an ``AvatarBenchError`` saying why not here."""
    from avatar_bench.data import open_dataset

    ds_rec = sub.results.get("dataset") or {}
    cited = ds_rec.get("revision")
    if sub.dataset == "AVATAR-mini":
        release = mini_release(cited)
        if release is None:
            raise AvatarBenchError(f"cites AVATAR-mini revision {cited!r}, which this "
                                   "avatar-bench cannot generate")
        dataset = open_dataset(release[0], seed=release[1])
    else:
        if root is None and not os.environ.get("AVATAR_ROOT"):
            raise AvatarBenchError("no AVATAR root here (give --root or set AVATAR_ROOT)")
        dataset = open_dataset("avatar", root)
    if dataset.revision != cited:
        raise AvatarBenchError(f"cites {sub.dataset} revision {cited!r}; the one here is "
                               f"{dataset.revision!r}")
    return dataset


def verify_entry(sub: Submission, folder: Path, predictions_dir: Path | None,
                 open_dataset: Callable[[Submission], Any]) -> EntryCheck:
    """Re-evaluate one reproduced entry (see the module docstring)."""
    from avatar_bench.eval import evaluate, results_json

    path, looked = find_predictions(sub, folder, predictions_dir)
    if path is None:
        return EntryCheck(sub.slug, "not verified", "predictions not available (looked for "
                          + ", ".join(str(p) for p in looked) + ")")
    cited = (sub.results.get("predictions") or {}).get("sha256")
    got = sha256_of(path)
    if got != cited:
        return EntryCheck(sub.slug, "mismatch", f"{path}",
                          [f"predictions.sha256: the entry cites {cited}, {path} has {got}"])
    try:
        dataset = open_dataset(sub)
    except AvatarBenchError as exc:
        return EntryCheck(sub.slug, "not verified", f"dataset not available: {exc}")
    proto = sub.results.get("protocol") or {}
    boot = proto.get("bootstrap") or {}
    kwargs: dict[str, Any] = {"protocol": proto.get("name", "avatar")}
    if isinstance(proto.get("resolution"), list):
        kwargs["resolution"] = tuple(proto["resolution"])
    if isinstance(proto.get("top_percent"), (int, float)):
        kwargs["top_percent"] = proto["top_percent"]
    for key in ("n", "seed"):
        if isinstance(boot.get(key), int):
            kwargs["bootstrap" if key == "n" else "seed"] = boot[key]
    try:
        recomputed = json.loads(results_json(evaluate(dataset, path, **kwargs)))
    except AvatarBenchError as exc:
        return EntryCheck(sub.slug, "mismatch", str(path), [f"re-evaluation failed: {exc}"])
    problems, n = compare_results(sub.results, recomputed)
    status = "mismatch" if problems else "verified"
    return EntryCheck(sub.slug, status, str(path), problems, n)


def verify_submissions(subs: list[Submission], submissions_dir: Path,
                       predictions_dir: Path | None, root: str | None = None) -> list[EntryCheck]:
    """Verify every reproduced entry; reported entries are not listed (nothing to recompute)."""
    if predictions_dir is not None and not predictions_dir.is_dir():
        raise AvatarBenchError(f"--predictions-dir {predictions_dir}: not a folder")
    opened: dict[tuple[str, str], Any] = {}

    def open_once(sub: Submission) -> Any:
        key = (sub.dataset, str((sub.results.get("dataset") or {}).get("revision")))
        if key not in opened:
            try:
                opened[key] = open_cited_dataset(sub, root)
            except AvatarBenchError as exc:
                opened[key] = exc
        if isinstance(opened[key], AvatarBenchError):
            raise opened[key]
        return opened[key]

    return [verify_entry(s, submissions_dir / s.slug, predictions_dir, open_once)
            for s in subs if s.source == "reproduced"]


def record(checks: list[EntryCheck], subs: list[Submission], when: str) -> dict[str, Any]:
    """What ``verify --record`` writes and ``build --verification`` shows on the page.

    Each outcome carries the predictions sha256 it was checked against, so the page shows it
    only while the entry still cites that file.
    """
    from avatar_bench import __version__

    shas = {s.slug: (s.results.get("predictions") or {}).get("sha256") for s in subs}
    return {"schema_version": 1, "avatar_bench_version": __version__, "checked": when,
            "entries": {c.slug: {"status": c.status, "n_values": c.n_values,
                                 "problems": c.problems[:20],
                                 "predictions_sha256": shas.get(c.slug)}
                        for c in checks if c.status != "not verified"}}


def load_record(path: str | os.PathLike) -> dict[str, Any]:
    """A ``verify --record`` file, checked like a submission document."""
    from avatar_bench.fsio import require_regular_file
    from avatar_bench.leaderboard.schema import value_problems

    p = require_regular_file(path, "verification record")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise AvatarBenchError(f"{p}: not a valid verification record: {exc}") from exc
    entries = data.get("entries") if isinstance(data, dict) else None
    problems = value_problems(data, str(p))
    if not isinstance(entries, dict) or not all(
            isinstance(v, dict) and v.get("status") in ("verified", "mismatch")
            for v in entries.values()):
        problems.append(f"{p}: expected the output of `leaderboard verify --record`")
    if problems:
        raise AvatarBenchError(f"{p}: not a valid verification record", problems)
    return data


def report(checks: list[EntryCheck]) -> str:
    """The text a contributor reads: one line per entry, then every differing value."""
    lines = []
    for c in checks:
        if c.status == "verified":
            lines.append(f"verified      {c.slug}: all {c.n_values} values match ({c.detail})")
        elif c.status == "mismatch":
            lines.append(f"MISMATCH      {c.slug}: {c.detail}")
            lines += [f"    - {p}" for p in c.problems]
        else:
            lines.append(f"not verified  {c.slug}: {c.detail}")
    counts = {s: sum(c.status == s for c in checks) for s in ("verified", "mismatch",
                                                              "not verified")}
    lines.append(f"{counts['verified']} verified, {counts['mismatch']} mismatch(es), "
                 f"{counts['not verified']} not verified (of {len(checks)} reproduced entries)")
    return "\n".join(lines)
