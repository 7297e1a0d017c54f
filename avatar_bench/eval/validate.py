"""Check a predictions file against a dataset before scoring it.

Every check runs and every problem is reported at once (as the BOP toolkit does), so a
submitter fixes everything in one round: structure (members, dtype, ndim, pickles, corrupt
zip), keys (format, duplicates after normalisation, unknown, missing) and values (NaN/inf).
Constant maps are legal but uninformative: they are warnings, not errors.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import numpy as np

from avatar_bench.data.annotations import frame_key, split_key
from avatar_bench.data.index import AvatarDataset
from avatar_bench.errors import AvatarBenchError
from avatar_bench.eval.predictions import PredictionsFile

#: How many example keys a message lists.
SHOW = 5
#: Bytes of maps the value check reads at a time (as float32): bounded for any map size.
CHECK_BYTES = 64 << 20
#: Most float16 values ``map_flags`` works on at a time (its temporaries: 8 MB each).
FLAG_ELEMENTS = 1 << 22
#: ``metadata/<video_id>/<frame>.json`` at the start of a --lenient skip message.
_SKIP_PATH = re.compile(r"metadata[/\\]([^/\\]+)[/\\]([0-9]+)\.json\b")


def skipped_keys(dataset: AvatarDataset) -> list[str]:
    """Frame keys of the annotation files ``--lenient`` skipped (sorted, unique).

    Uses ``dataset.skipped_keys`` when the dataset provides it, else the file path that
    starts each skip message; files whose name is not a frame index name no frame.
    """
    given = getattr(dataset, "skipped_keys", None)
    if given is not None:
        return sorted(set(given))
    keys = set()
    for msg in getattr(dataset, "skipped", []) or []:
        m = _SKIP_PATH.search(str(msg))
        if m and m.group(2).isascii():
            keys.add(frame_key(m.group(1), int(m.group(2))))
    return sorted(keys)


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
    #: Keys in the file for frames --lenient skipped: ignored, not scored.
    ignored: list[str] = field(default_factory=list)
    ignored_rows: frozenset[int] = frozenset()

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


def _check_dataset_keys(report: ValidationReport, dataset: AvatarDataset) -> bool:
    """Two dataset frames with one key cannot both be scored: refuse (bounded, no retry)."""
    keys = dataset.keys()
    if len(set(keys)) == len(keys):
        return True
    seen, dups = set(), []
    for k in keys:
        if k in seen:
            dups.append(k)
        seen.add(k)
    report.problems.append(f"dataset {dataset.name} has {len(dups)} duplicate frame key(s) "
                           f"(e.g. 0004.json beside 00004.json): {_examples(dups)}; fix the "
                           "annotation files")
    return False


def _check_keys(report: ValidationReport, dataset: AvatarDataset,
                ignore: frozenset[str] = frozenset()) -> None:
    p = report.predictions
    if p.raw_keys is None or not _check_dataset_keys(report, dataset):
        return
    if p.n_maps is not None and len(p.raw_keys) != p.n_maps:
        report.problems.append(f"keys/heatmaps length mismatch: {len(p.raw_keys)} keys but "
                               f"{p.n_maps} heatmaps")
    bad, seen, dups = [], {}, []
    for row, raw in enumerate(p.raw_keys):
        try:
            if not (raw.isascii() and raw.isprintable()):  # e.g. full-width or superscript digits
                raise AvatarBenchError(raw)
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
    report.ignored = [k for k in seen if k in ignore and k not in wanted_set]
    report.ignored_rows = frozenset(seen[k] for k in report.ignored)
    if report.ignored:
        report.warnings.append(f"ignored {len(report.ignored)} map(s) for frames --lenient "
                               f"skipped (not scored): {_examples(report.ignored)}")
    unknown = [k for k in seen if k not in wanted_set and k not in ignore]
    missing = [k for k in wanted if k not in seen]
    if unknown:
        report.problems.append(f"{len(unknown)} unknown key(s) not in dataset {dataset.name}: "
                               f"{_examples(unknown)}")
    if missing:
        report.problems.append(f"{len(missing)} of {len(wanted)} dataset frames missing: "
                               f"{_examples(missing)}")
    report.rows = {k: r for k, r in seen.items() if k in wanted_set}


def map_flags(maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per map of ``[n, h, w]``: all values finite, and finite and constant (max == min).

    Native float16 is checked on its bits, without a float32 copy (about 8x faster):
    a value is NaN or inf when its exponent bits are all set, and the order-preserving
    int16 key ``i ^ ((i >> 15) & 0x7FFF)`` has max == min on a constant map, or max 0 and
    min -1 when it holds only +0.0 and -0.0 (equal as numbers).
    """
    n = len(maps)
    if maps.dtype == np.dtype(np.float16) and maps.dtype.isnative:
        bits = maps.reshape(n, -1).view(np.uint16)
        finite, const = np.empty(n, bool), np.empty(n, bool)
        step = max(1, FLAG_ELEMENTS // max(1, bits.shape[1]))  # bounded temporaries
        for s in range(0, n, step):
            b = bits[s:s + step]
            ok = (b & np.uint16(0x7C00)).max(axis=1) != 0x7C00
            i = b.view(np.int16)
            key = i >> 15
            key &= np.int16(0x7FFF)
            key ^= i
            hi, lo = key.max(axis=1), key.min(axis=1)
            finite[s:s + step] = ok
            const[s:s + step] = ok & ((hi == lo) | ((hi == 0) & (lo == -1)))
        return finite, const
    flat = maps.reshape(n, -1).astype(np.float32)  # fast SIMD from here
    finite = np.isfinite(flat).all(axis=1)
    return finite, finite & (flat.max(axis=1) == flat.min(axis=1))


def _check_values(report: ValidationReport, chunk: int, digest: bool = False) -> None:
    """One streaming pass: non-finite maps are errors, constant maps warnings (``digest``:
    the same read also hashes the file, see ``PredictionsFile.verified_chunks``)."""
    p = report.predictions
    keys = p.raw_keys if p.raw_keys and len(p.raw_keys) == p.n_maps else None
    nonfinite: list[str] = []
    constant: list[str] = []
    try:
        for start, maps in (p.verified_chunks(chunk) if digest else p.iter_chunks(chunk)):
            finite, const = map_flags(maps)
            names = keys[start:start + len(maps)] if keys else \
                [f"row {start + i}" for i in range(len(maps))]
            skip = report.ignored_rows
            nonfinite += [names[i] for i in np.flatnonzero(~finite) if start + i not in skip]
            constant += [names[i] for i in np.flatnonzero(const) if start + i not in skip]
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


def check_chunk(map_shape: tuple[int, int], most: int = 64) -> int:
    """Maps per read in the value check: ``most``, fewer for large maps (bounded memory)."""
    h, w = map_shape
    return max(1, min(most, CHECK_BYTES // (4 * h * w)))


def validate_predictions(dataset: AvatarDataset, predictions: str | os.PathLike | PredictionsFile,
                         *, chunk: int = 64, ignore: list[str] | None = None,
                         digest: bool = False) -> ValidationReport:
    """Run every check; never raises for a bad file (see ``ValidationReport.raise_if_invalid``).

    ``ignore``: keys of frames ``--lenient`` skipped; maps for them are not unknown keys
    (listed in ``report.ignored`` and one warning). Defaults to the dataset's skipped frames.
    ``digest``: hash the file during the value check (the evaluator cites its sha256).
    """
    p = predictions if isinstance(predictions, PredictionsFile) else PredictionsFile(predictions)
    report = ValidationReport(p, len(dataset), list(p.problems), list(p.warnings))
    skip = skipped_keys(dataset) if ignore is None else ignore
    _check_keys(report, dataset, frozenset(skip))
    if p.readable:
        _check_values(report, check_chunk(p.map_shape, chunk), digest)
    return report
