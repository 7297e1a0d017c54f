"""The results document (schema v1), its deterministic JSON bytes, and the per-frame CSV.

The leaderboard reads exactly this layout. Bytes are reproducible: sorted keys, floats
rounded to 6 decimals, no timestamps or absolute paths.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from avatar_bench import __version__
from avatar_bench.errors import AvatarBenchError
from avatar_bench.fsio import atomic_open, atomic_write_text

if TYPE_CHECKING:
    import pandas as pd

    from avatar_bench.eval.evaluator import Evaluator

SCHEMA_VERSION = 1
DECIMALS = 6


def build_results(ev: Evaluator, summary: dict) -> dict:
    """Assemble the document from an evaluator that has run its phases."""
    ds, preds = ev.dataset, ev.predictions
    dataset = {"name": ds.name, "revision": ds.revision,
               "annotation_sha256": ds.annotation_checksum, "n_frames": len(ds.frames),
               "n_videos": len(ev.video_ids)}
    if ev.skipped_keys:  # --lenient: only present when frames were skipped
        dataset["skipped_frames"] = sorted(ev.skipped_keys)
    return {
        "schema_version": SCHEMA_VERSION,
        "avatar_bench_version": __version__,
        "dataset": dataset,
        "predictions": {"file": preds.path.name, "sha256": preds.sha256(), "meta": preds.meta,
                        "heatmap_size": list(preds.map_shape), "n_maps": preds.n_maps},
        "protocol": ev.protocol.to_json(ev.resize),
        "thresholds": dict(ev.thresholds),
        "metrics": summary["metrics"],
        "off_screen": summary["off_screen"],
    }


def _rounded(x: Any) -> Any:
    if isinstance(x, float):
        return round(x, DECIMALS) + 0.0
    if isinstance(x, dict):
        return {k: _rounded(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_rounded(v) for v in x]
    return x


def results_json(results: dict) -> str:
    """Canonical text: the same results give the same bytes."""
    return json.dumps(_rounded(results), sort_keys=True, indent=2, allow_nan=False) + "\n"


def write_results(results: dict, path: str | os.PathLike) -> Path:
    """Write atomically: a full disk or a crash leaves the old file (or none), never half."""
    path = Path(path)
    try:
        text = results_json(results)
    except ValueError as exc:  # NaN/inf somewhere: a bug or unchecked input, never written
        raise AvatarBenchError(f"{path}: results hold a non-finite number, not written: "
                               f"{exc}") from exc
    atomic_write_text(path, text)
    return path


def write_per_frame(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """The per-frame CSV (cIoU/TN to 6 decimals), written atomically like the results."""
    path = Path(path)
    with atomic_open(path, "w", newline="") as fh:
        table.to_csv(fh, index=False, float_format="%.6f")
    return path


#: A results document is a few kB; anything far larger is not one.
MAX_RESULTS_BYTES = 16 * 1024 * 1024


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a finite number (results JSON holds finite numbers only)")


def load_results(path: str | os.PathLike) -> dict:
    """Read a results JSON strictly: a regular UTF-8 file holding one object, finite numbers
    only (``NaN``/``Infinity`` would plot or rank as if they were values)."""
    from avatar_bench.fsio import require_regular_file

    where = require_regular_file(path, "results JSON")
    try:
        if where.stat().st_size > MAX_RESULTS_BYTES:
            raise ValueError(f"larger than {MAX_RESULTS_BYTES // 2**20} MiB")
        doc = json.loads(where.read_bytes().decode("utf-8"), parse_constant=_refuse_constant)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise AvatarBenchError(f"{path}: cannot read results JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise AvatarBenchError(f"{path}: a results JSON is an object, got {type(doc).__name__}")
    return doc
