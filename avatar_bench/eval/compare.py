"""Paired comparison of two evaluations of the same frames: is B's CIoU really above A's?

Two models' intervals overlap long before their *difference* is uncertain: both are scored on
the same frames, and the hard frames are hard for both. The paired bootstrap resamples
videos once per replicate and scores both models on that same sample, so the interval of
B - A keeps that correlation. The same replicates give each model's Cross-event drop
(Cross-event - Total CIoU, negative when the model does worse on Cross-event videos, as in
the results table) an interval, which unpaired intervals cannot.

Inputs are the per-frame CSVs of ``avatar-bench evaluate --per-frame`` (cIoU to 6 decimals,
so means agree with the results JSON to about 1e-4 points).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from avatar_bench.errors import AvatarBenchError
from avatar_bench.eval.bootstrap import (
    LEVEL,
    percentile_interval,
    replicate_means,
    video_weights,
)
from avatar_bench.eval.table import signed

#: Subset -> (cIoU column, membership column or None). Cross-event frames are scored on Total.
SUBSETS: dict[str, tuple[str, str | None]] = {
    "single_sound": ("ciou_single_sound", None),
    "mixed_sound": ("ciou_mixed_sound", None),
    "multi_entity": ("ciou_multi_entity", None),
    "total": ("ciou_total", None),
    "cross_event": ("ciou_total", "cross_event"),
}
REQUIRED = ("key", "video_id", *sorted({c for c, _ in SUBSETS.values()}), "cross_event")


@dataclass
class PerFrame:
    """One per-frame CSV, checked: which file it came from matters for every error."""

    name: str
    table: pd.DataFrame
    #: The evaluation protocol (CSV column ``protocol``; absent = "avatar").
    protocol: str = "avatar"


def read_per_frame(path: str | os.PathLike, name: str | None = None) -> PerFrame:
    """Read and check one ``evaluate --per-frame`` CSV."""
    try:
        table = pd.read_csv(path, dtype={"key": str, "video_id": str})
    except (OSError, ValueError) as exc:
        raise AvatarBenchError(f"{path}: cannot read per-frame CSV: {exc}") from exc
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise AvatarBenchError(f"{path}: missing column(s) {', '.join(missing)}; expected the "
                               "CSV written by `avatar-bench evaluate --per-frame`")
    dup = table["key"][table["key"].duplicated()]
    if len(dup):
        raise AvatarBenchError(f"{path}: frame key {dup.iloc[0]!r} appears more than once")
    if table["cross_event"].dtype != bool:
        raise AvatarBenchError(f"{path}: column cross_event must hold True/False")
    _check_values(path, table)
    protocol = "avatar"
    if "protocol" in table.columns:
        kinds = sorted(set(table["protocol"].astype(str)))
        if len(kinds) != 1:
            raise AvatarBenchError(f"{path}: column protocol must hold one value, got {kinds}")
        protocol = kinds[0]
    return PerFrame(name or os.path.splitext(os.path.basename(path))[0], table, protocol)


def _check_values(path: str | os.PathLike, table: pd.DataFrame) -> None:
    """cIoUs are empty (not in the subset) or in [0, 1]; every frame names its video."""
    if table["video_id"].isna().any() or table["key"].isna().any():
        row = int(np.flatnonzero(table["video_id"].isna() | table["key"].isna())[0])
        raise AvatarBenchError(f"{path}: row {row + 2} has no key or video_id")
    for col in sorted({c for c, _ in SUBSETS.values()}):
        values = pd.to_numeric(table[col], errors="coerce")
        bad = (table[col].notna() & ~values.between(0, 1)).to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise AvatarBenchError(f"{path}: column {col}, frame {table['key'].iloc[row]!r}: "
                                   f"expected a cIoU in [0, 1] or empty, got "
                                   f"{table[col].iloc[row]}")


def align(a: PerFrame, b: PerFrame) -> pd.DataFrame:
    """B's rows in A's order; refuses files that score different frames or subsets, or
    that come from different protocols (their cIoUs are not comparable)."""
    if a.protocol != b.protocol:
        raise AvatarBenchError(
            f"{a.name} was evaluated with protocol {a.protocol!r} and {b.name} with "
            f"{b.protocol!r}: compare evaluations of the same protocol")
    only_a = sorted(set(a.table["key"]) - set(b.table["key"]))
    only_b = sorted(set(b.table["key"]) - set(a.table["key"]))
    if only_a or only_b:
        raise AvatarBenchError(
            f"{a.name} and {b.name} score different frames ({len(only_a)} only in {a.name}, "
            f"{len(only_b)} only in {b.name}; e.g. {(only_a or only_b)[0]!r}): compare "
            "evaluations of the same dataset revision")
    other = b.table.set_index("key").loc[a.table["key"]].reset_index()
    checks = [(col, a.table[col].to_numpy() == other[col].to_numpy())
              for col in ("video_id", "cross_event")]
    checks += [(col, a.table[col].isna().to_numpy() == other[col].isna().to_numpy())
               for col in sorted({c for c, _ in SUBSETS.values()})]
    for col, same in checks:
        if not same.all():
            key = a.table["key"][~same].iloc[0]
            raise AvatarBenchError(f"{a.name} and {b.name} disagree on {col} for frame {key!r}:"
                                   " they were evaluated on different annotations")
    return other


def _subset_values(t: pd.DataFrame, subset: str) -> tuple[np.ndarray, np.ndarray]:
    col, member = SUBSETS[subset]
    mask = t[col].notna().to_numpy().copy()
    if member is not None:
        mask &= t[member].to_numpy(bool)
    return mask, t[col].to_numpy(float)


def _interval(reps: np.ndarray) -> list[float] | None:
    ci = percentile_interval(reps)
    return None if ci is None else [round(v, 6) for v in ci]


def _share_above(reps: np.ndarray) -> float | None:
    reps = reps[np.isfinite(reps)]
    return round(float((reps > 0).mean() * 100), 6) if reps.size else None


def compare(a: PerFrame, b: PerFrame, n: int = 1000, seed: int = 0) -> dict:
    """CIoU of A and B per subset, B - A with a paired video-bootstrap interval and the share
    of replicates where B is above A, and each model's Cross-event drop with its interval."""
    if n < 1:
        raise AvatarBenchError("the paired bootstrap needs at least 1 replicate")
    other = align(a, b)
    videos = sorted(set(a.table["video_id"]))
    vindex = {v: i for i, v in enumerate(videos)}
    video = a.table["video_id"].map(vindex).to_numpy()
    weights = video_weights(len(videos), n, seed)
    out: dict = {"a": a.name, "b": b.name, "bootstrap": {"n": n, "seed": seed, "unit": "video",
                                                         "level": LEVEL}, "subsets": {}}
    reps: dict[tuple[str, str], np.ndarray] = {}
    for subset in SUBSETS:
        mask, va = _subset_values(a.table, subset)
        _, vb = _subset_values(other, subset)
        entry: dict = {"n_frames": int(mask.sum())}
        for tag, vals in (("a", va), ("b", vb)):
            entry[tag] = round(float(vals[mask].mean() * 100), 6) if mask.any() else None
            reps[tag, subset] = replicate_means(vals[mask], video[mask], weights)
        diff = reps["b", subset] - reps["a", subset]
        entry["b_minus_a"] = (None if entry["a"] is None
                              else round(entry["b"] - entry["a"], 6))
        entry["ci"] = _interval(diff)
        entry["b_above_a_percent"] = _share_above(diff)
        out["subsets"][subset] = entry
    out["cross_event_drop"] = {}
    for tag in ("a", "b"):
        total, cross = out["subsets"]["total"][tag], out["subsets"]["cross_event"][tag]
        drop = reps[tag, "cross_event"] - reps[tag, "total"]
        out["cross_event_drop"][tag] = {
            "drop": None if total is None or cross is None else round(cross - total, 6),
            "ci": _interval(drop)}
    return out


def format_comparison(result: dict) -> str:
    """A fixed-width table of ``compare``'s result."""
    a, b = result["a"], result["b"]
    fmt = "{:14s} {:>6s} {:>8s} {:>8s} {:>8s} {:>18s} {:>8s}"
    lines = [f"A = {a}", f"B = {b}",
             fmt.format("CIoU (%)", "frames", "A", "B", "B - A",
                        f"{result['bootstrap']['level']}% CI (paired)", "B > A")]

    def num(x: float | None, sign: bool = False) -> str:
        return signed(x) if sign else ("-" if x is None else f"{x:.2f}")

    for subset, e in result["subsets"].items():
        ci = "-" if e["ci"] is None else f"[{e['ci'][0]:+.2f}, {e['ci'][1]:+.2f}]"
        share = "-" if e["b_above_a_percent"] is None else f"{e['b_above_a_percent']:.1f}%"
        lines.append(fmt.format(subset, str(e["n_frames"]), num(e["a"]), num(e["b"]),
                                num(e["b_minus_a"], True), ci, share))
    for tag, name in (("a", a), ("b", b)):
        d = result["cross_event_drop"][tag]
        ci = "-" if d["ci"] is None else f"[{d['ci'][0]:+.2f}, {d['ci'][1]:+.2f}]"
        lines.append(f"Cross-event drop (Cross-event - Total) of {tag.upper()} ({name}): "
                     f"{num(d['drop'], True)} {ci}")
    return "\n".join(lines)
