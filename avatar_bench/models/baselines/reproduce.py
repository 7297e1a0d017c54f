"""Reproducing the paper's baseline rows (Table 2) from the authors' released checkpoints.

One row per (baseline, training set) of Table 2. A row runs when its checkpoint is found in
the reviewer's folder, under its own slug (``ez-vsl-10k.pth``, ``ez-vsl-10k/latest.pth``...)
or under the name the authors' release uses (EZ-VSL ``vggsound_10k/latest.pth``, SLAVC
``vggss144k_slavc/latest.pth``, SSL-TIE ``vggsound144k.pth.tar``). Its maps are scored by the
evaluator and every metric the paper reports is compared with the reproduced value; a
difference beyond the tolerance (absolute, in percentage points) fails the row.

This module holds the table and the comparison; ``avatar_bench.cli.reproduce`` runs it.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from avatar_bench.errors import AvatarBenchError

#: Metrics of Table 2, as (results section, field, label). Keys are "<section>.<field>".
METRICS: tuple[tuple[str, str, str], ...] = (
    ("single_sound", "ciou", "Single CIoU"), ("single_sound", "auc", "Single AUC"),
    ("mixed_sound", "ciou", "Mixed CIoU"), ("mixed_sound", "auc", "Mixed AUC"),
    ("multi_entity", "ciou", "Multi CIoU"), ("multi_entity", "auc", "Multi AUC"),
    ("off_screen", "tn", "TN"), ("off_screen", "tn_dagger", "\u2020TN"),
)
METRIC_KEYS: tuple[str, ...] = tuple(f"{s}.{f}" for s, f, _ in METRICS)
LABELS: dict[str, str] = {f"{s}.{f}": label for s, f, label in METRICS}
#: Default tolerance: |reproduced - paper| per metric, percentage points.
DEFAULT_TOLERANCE = 0.5
PAPER_URL = "https://arxiv.org/abs/2507.04667"


@dataclass(frozen=True)
class PaperRow:
    """One baseline row of Table 2: what to run, where its checkpoint may be, what to expect."""

    slug: str
    model: str
    name: str
    training_size: int | None       # VGGSound clips; None = the full set
    values: dict[str, float]
    release_names: tuple[str, ...] = ()
    code_url: str = ""
    authors: str = ""
    paper_url: str = ""

    def candidates(self) -> tuple[str, ...]:
        """Relative paths tried in the checkpoint folder, in order."""
        own = (f"{self.slug}.pth", f"{self.slug}.pth.tar", f"{self.slug}/latest.pth",
               f"{self.slug}/best.pth")
        return own + self.release_names


def _values(*numbers: float) -> dict[str, float]:
    return dict(zip(METRIC_KEYS, numbers, strict=True))


_EZVSL = ("https://github.com/stoneMo/EZ-VSL", "Shentong Mo, Pedro Morgado",
          "https://arxiv.org/abs/2203.09324")
#: Table 2 of Choi, Lee and Kwak (ICCV 2025), baseline rows (TAVLO has no public checkpoint).
TABLE2: tuple[PaperRow, ...] = (
    PaperRow("slavc-144k", "slavc", "SLAVC (144k)", 144000,
             _values(9.07, 10.60, 6.31, 7.88, 6.41, 7.96, 96.46, 95.75),
             ("vggss144k_slavc/latest.pth", "checkpoints_slavc/vggss144k_slavc/latest.pth"),
             "https://github.com/stoneMo/SLAVC", _EZVSL[1], "https://arxiv.org/abs/2209.09634"),
    PaperRow("ez-vsl-10k", "ezvsl", "EZ-VSL (10k)", 10000,
             _values(9.66, 11.07, 8.16, 9.35, 6.87, 8.32, 96.91, 95.58),
             ("vggsound_10k/latest.pth", "checkpoints_release/vggsound_10k/latest.pth"),
             *_EZVSL),
    PaperRow("ez-vsl-144k", "ezvsl", "EZ-VSL (144k)", 144000,
             _values(10.92, 12.22, 6.97, 8.34, 5.80, 7.42, 96.47, 96.45),
             ("vggsound_144k/latest.pth", "checkpoints_release/vggsound_144k/latest.pth"),
             *_EZVSL),
    PaperRow("ez-vsl-full", "ezvsl", "EZ-VSL (full)", None,
             _values(12.17, 13.38, 7.67, 8.91, 6.96, 8.40, 95.43, 95.84),
             ("vggsound_full/latest.pth", "checkpoints_release/vggsound_full/latest.pth"),
             *_EZVSL),
    PaperRow("ssl-tie-144k", "ssltie", "SSL-TIE (144k)", 144000,
             _values(13.10, 14.23, 5.19, 6.76, 5.50, 7.12, 90.82, 94.55),
             ("vggsound144k.pth.tar", "ckpts/vggsound144k.pth.tar"),
             "https://github.com/jinxiang-liu/SSL-TIE",
             "Jinxiang Liu, Chen Ju, Weidi Xie, Ya Zhang", "https://arxiv.org/abs/2206.12772"),
)


def rows_with_paper_values(path: str | os.PathLike | None) -> list[PaperRow]:
    """Table 2's rows, with the expected values replaced by those of a JSON file if given.

    The file maps row slugs to ``{"<section>.<field>": value}`` (keys of ``METRIC_KEYS``);
    rows it does not name are dropped, so a file restricts the comparison to its rows.
    """
    if path is None:
        return list(TABLE2)
    from avatar_bench.fsio import require_regular_file

    try:
        data = json.loads(require_regular_file(path, "paper table").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AvatarBenchError(f"{path}: cannot read the paper table JSON: {exc}") from exc
    if not isinstance(data, dict) or not data:
        raise AvatarBenchError(f"{path}: expected an object mapping row slugs to metric values")
    known = {r.slug: r for r in TABLE2}
    problems = []
    rows = []
    for slug, values in data.items():
        if slug not in known:
            problems.append(f"{path}: row {slug!r} is not a Table 2 baseline row "
                            f"({', '.join(known)})")
            continue
        if not isinstance(values, dict):
            problems.append(f"{path}: row {slug!r}: expected an object of metric values")
            continue
        bad = [k for k, v in values.items() if k not in METRIC_KEYS or isinstance(v, bool)
               or not isinstance(v, (int, float)) or not math.isfinite(v)]
        if bad:
            problems.append(f"{path}: row {slug!r}: bad metric(s) {', '.join(map(str, bad))} "
                            f"(keys are {', '.join(METRIC_KEYS)}; values finite numbers)")
            continue
        rows.append(replace(known[slug], values={k: float(v) for k, v in values.items()}))
    if problems:
        raise AvatarBenchError(f"{path}: the paper table is not valid", problems)
    return rows


def find_checkpoint(folder: Path, row: PaperRow) -> Path | None:
    """The first of the row's candidate names that is a file in ``folder``."""
    for rel in row.candidates():
        path = folder / rel
        if path.is_file():
            return path
    return None


def measured(results: dict[str, Any]) -> dict[str, float | None]:
    """The Table 2 metrics of a results document (None where it has none)."""
    out: dict[str, float | None] = {}
    for section, fld, _ in METRICS:
        node = (results.get("off_screen") if section == "off_screen"
                else (results.get("metrics") or {}).get(section)) or {}
        value = node.get(fld)
        out[f"{section}.{fld}"] = float(value) if isinstance(value, (int, float)) else None
    return out


@dataclass
class Comparison:
    """Paper vs reproduced values of one row, and whether each is within tolerance."""

    row: PaperRow
    checkpoint: str
    reproduced: dict[str, float | None]
    tolerance: float
    lines: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for key in METRIC_KEYS:
            if key not in self.row.values:
                continue
            paper, ours = self.row.values[key], self.reproduced.get(key)
            diff = None if ours is None else round(ours - paper, 6)
            self.lines.append({"metric": key, "label": LABELS[key], "paper": paper,
                               "reproduced": ours, "diff": diff,
                               "ok": diff is not None and abs(diff) <= self.tolerance + 1e-9})

    @property
    def ok(self) -> bool:
        return all(line["ok"] for line in self.lines)

    def to_json(self) -> dict[str, Any]:
        return {"slug": self.row.slug, "name": self.row.name, "model": self.row.model,
                "checkpoint": self.checkpoint, "tolerance": self.tolerance, "ok": self.ok,
                "metrics": self.lines}

    def format(self) -> str:
        """A small table: metric, paper, reproduced, signed difference, verdict."""
        head = f"{self.row.name}  ({self.row.model}, checkpoint {self.checkpoint})"
        out = [head, f"  {'metric':<12}{'paper':>8}{'reproduced':>12}{'diff':>8}"]
        for line in self.lines:
            ours = "n/a" if line["reproduced"] is None else f"{line['reproduced']:.2f}"
            diff = "n/a" if line["diff"] is None else f"{line['diff']:+.2f}"
            flag = "" if line["ok"] else f"  <- beyond \u00b1{self.tolerance:g}"
            out.append(f"  {line['label']:<12}{line['paper']:>8.2f}{ours:>12}{diff:>8}{flag}")
        return "\n".join(out)
