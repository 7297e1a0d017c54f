"""Check a predictions file against a dataset before scoring it.

Every check runs and every problem is reported at once (as the BOP toolkit does), so a
submitter fixes everything in one round: structure (members, dtype, ndim, pickles, corrupt
zip), keys (format, duplicates after normalisation, unknown, missing) and values (NaN/inf).
Constant maps are legal but uninformative: they are warnings, not errors.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from avatar_bench.data.annotations import frame_key, split_key
from avatar_bench.data.index import AvatarDataset
from avatar_bench.errors import AvatarBenchError
from avatar_bench.eval.predictions import PredictionsFile

#: How many example keys a message lists.
SHOW = 5


def _examples(keys: list[str]) -> str:
    shown = ", ".join(repr(k) for k in keys[:SHOW])
    return shown + (f", ... ({len(keys) - SHOW} more)" if len(keys) > SHOW else "")


@dataclass
class ValidationReport:
    """What the validator found; ``rows`` maps each dataset frame key to its row in the file."""

    predictions: PredictionsFile
    n_frames: int
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    n_constant: int = 0

    @property
    def valid(self) -> bool:
        return not self.problems

    def summary(self) -> list[str]:
        """Human-readable lines for ``avatar-bench validate``."""
        p = self.predictions
        size = "x".join(map(str, p.map_shape)) if p.map_shape else "?"
        return [f"file        {p.path}",
                f"maps        {p.n_maps if p.n_maps is not None else '?'} of {size} "
                f"({p.dtype if p.dtype is not None else '?'})",
                f"frames      {len(self.rows)} of {self.n_frames} dataset frames covered",
                f"meta        {p.meta if p.meta is not None else '-'}"]

    def raise_if_invalid(self) -> None:
        if self.problems:
            raise AvatarBenchError(
                f"{self.predictions.path}: {len(self.problems)} problem(s) in the predictions",
                self.problems)


def _check_keys(report: ValidationReport, dataset: AvatarDataset) -> None:
    p = report.predictions
    if p.raw_keys is None:
        return
    if p.n_maps is not None and len(p.raw_keys) != p.n_maps:
        report.problems.append(f"keys/heatmaps length mismatch: {len(p.raw_keys)} keys but "
                               f"{p.n_maps} heatmaps")
    bad, seen, dups = [], {}, []
    for row, raw in enumerate(p.raw_keys):
        try:
            key = frame_key(*split_key(raw))
        except AvatarBenchError:
            bad.append(raw)
            continue
        if key in seen:
            dups.append(raw)
        else:
            seen[key] = row
    if bad:
        report.problems.append(f"{len(bad)} malformed key(s) (expected '<video_id>_<frame>'): "
                               f"{_examples(bad)}")
    if dups:
        report.problems.append(f"{len(dups)} duplicate key(s) (after normalising frame "
                               f"padding): {_examples(dups)}")
    wanted = dataset.keys()
    wanted_set = set(wanted)
    unknown = [k for k in seen if k not in wanted_set]
    missing = [k for k in wanted if k not in seen]
    if unknown:
        report.problems.append(f"{len(unknown)} unknown key(s) not in dataset {dataset.name}: "
                               f"{_examples(unknown)}")
    if missing:
        report.problems.append(f"{len(missing)} of {len(wanted)} dataset frames missing: "
                               f"{_examples(missing)}")
    report.rows = {k: r for k, r in seen.items() if k in wanted_set}


def _check_values(report: ValidationReport, chunk: int) -> None:
    """One streaming pass: non-finite maps are errors, constant maps warnings."""
    p = report.predictions
    keys = p.raw_keys if p.raw_keys and len(p.raw_keys) == p.n_maps else None
    nonfinite: list[str] = []
    constant: list[str] = []
    try:
        for start, maps in p.iter_chunks(chunk):
            flat = maps.reshape(len(maps), -1).astype(np.float32)  # fast SIMD from here
            finite = np.isfinite(flat).all(axis=1)
            const = finite & (flat.max(axis=1) == flat.min(axis=1))
            names = keys[start:start + len(maps)] if keys else \
                [f"row {start + i}" for i in range(len(maps))]
            nonfinite += [names[i] for i in np.flatnonzero(~finite)]
            constant += [names[i] for i in np.flatnonzero(const)]
    except AvatarBenchError as exc:
        report.problems.append(str(exc))
        return
    if nonfinite:
        report.problems.append(f"{len(nonfinite)} map(s) contain NaN or inf: "
                               f"{_examples(nonfinite)}")
    if constant:
        report.n_constant = len(constant)
        report.warnings.append(f"{len(constant)} constant map(s) (no localisation: all their "
                               f"pixels tie): {_examples(constant)}")


def validate_predictions(dataset: AvatarDataset, predictions: str | os.PathLike | PredictionsFile,
                         *, chunk: int = 64) -> ValidationReport:
    """Run every check; never raises for a bad file (see ``ValidationReport.raise_if_invalid``)."""
    p = predictions if isinstance(predictions, PredictionsFile) else PredictionsFile(predictions)
    report = ValidationReport(p, len(dataset), list(p.problems), list(p.warnings))
    _check_keys(report, dataset)
    if p.readable:
        _check_values(report, chunk)
    return report
