"""Two-level comparison: model B vs model A when each was trained with several seeds.

The one-level paired bootstrap (``compare``) resamples test videos only, so it says how sure
we are that *these two checkpoints* differ, not that the two *training recipes* do: another
training seed can move a model by more than the video interval (issue 11 measured it). Here
each replicate resamples the test videos (the same draw for every file, as in ``compare``)
and, independently for A and B, the training seeds with replacement; the replicate's value is
the mean over the drawn seeds of each seed's video-resampled CIoU. The interval of B - A thus
covers both sources of variation. With one seed per side it equals ``compare``'s interval.

The point estimate is the mean over seeds of each model's CIoU; each model's spread over
seeds (sample standard deviation, and min-max) is reported beside it.
"""

from __future__ import annotations

import numpy as np

from avatar_bench.errors import AvatarBenchError
from avatar_bench.eval.bootstrap import LEVEL, replicate_means, video_weights
from avatar_bench.eval.compare import (
    SUBSETS,
    PerFrame,
    _interval,
    _share_above,
    _subset_values,
    align,
)
from avatar_bench.eval.table import signed

#: Offset of the seed-resampling stream from the video stream (both from ``--seed``).
SEED_STREAM = 1


def seed_draws(n_seeds: int, n: int, seed: int, side: int) -> np.ndarray:
    """``[n, n_seeds]`` indices of the seeds drawn (with replacement) in each replicate."""
    rng = np.random.Generator(np.random.PCG64([seed, SEED_STREAM, side]))
    if n_seeds == 1:
        return np.zeros((n, 1), dtype=np.int64)
    return rng.integers(0, n_seeds, size=(n, n_seeds))


def _side(files: list[PerFrame], ref: PerFrame, subset: str, video: np.ndarray,
          weights: np.ndarray, draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-seed CIoU (%) and the replicate values (mean over drawn seeds)."""
    per_seed, reps = [], []
    for f in files:
        table = ref.table if f is ref else align(ref, f)
        mask, vals = _subset_values(table, subset)
        per_seed.append(vals[mask].mean() * 100 if mask.any() else np.nan)
        reps.append(replicate_means(vals[mask], video[mask], weights))
    reps_arr = np.stack(reps)                                   # [n_seeds, n]
    chosen = reps_arr[draws.T, np.arange(reps_arr.shape[1])]    # [n_seeds drawn, n]
    return np.asarray(per_seed), chosen.mean(axis=0)


def _spread(per_seed: np.ndarray) -> dict:
    ok = per_seed[np.isfinite(per_seed)]
    return {"mean": round(float(ok.mean()), 6) if ok.size else None,
            "sd": round(float(ok.std(ddof=1)), 6) if ok.size > 1 else None,
            "min": round(float(ok.min()), 6) if ok.size else None,
            "max": round(float(ok.max()), 6) if ok.size else None,
            "per_seed": [None if not np.isfinite(v) else round(float(v), 6)
                         for v in per_seed]}


def compare_seeds(a: list[PerFrame], b: list[PerFrame], n: int = 1000, seed: int = 0,
                  names: tuple[str, str] | None = None) -> dict:
    """B - A over seeds x videos per subset; every file must score the same frames."""
    if not a or not b:
        raise AvatarBenchError("give at least one per-frame CSV for each model")
    if n < 1:
        raise AvatarBenchError("the bootstrap needs at least 1 replicate")
    ref = a[0]
    videos = sorted(set(ref.table["video_id"]))
    vindex = {v: i for i, v in enumerate(videos)}
    video = ref.table["video_id"].map(vindex).to_numpy()
    weights = video_weights(len(videos), n, seed)
    draws = {"a": seed_draws(len(a), n, seed, 0), "b": seed_draws(len(b), n, seed, 1)}
    label_a, label_b = names or (ref.name, b[0].name)
    out: dict = {"a": label_a, "b": label_b,
                 "a_files": [f.name for f in a], "b_files": [f.name for f in b],
                 "bootstrap": {"n": n, "seed": seed, "unit": "seeds x videos",
                               "level": LEVEL}, "subsets": {}}
    for subset in SUBSETS:
        seeds_a, reps_a = _side(a, ref, subset, video, weights, draws["a"])
        seeds_b, reps_b = _side(b, ref, subset, video, weights, draws["b"])
        sa, sb = _spread(seeds_a), _spread(seeds_b)
        diff = reps_b - reps_a
        out["subsets"][subset] = {
            "n_frames": int(_subset_values(ref.table, subset)[0].sum()),
            "a": sa, "b": sb,
            "b_minus_a": (None if sa["mean"] is None or sb["mean"] is None
                          else round(sb["mean"] - sa["mean"], 6)),
            "ci": _interval(diff), "b_above_a_percent": _share_above(diff)}
    return out


def format_seed_comparison(result: dict) -> str:
    """A fixed-width table of ``compare_seeds``'s result."""
    fmt = "{:14s} {:>6s} {:>16s} {:>16s} {:>8s} {:>18s} {:>8s}"
    lines = [f"A = {result['a']} ({len(result['a_files'])} seed(s))",
             f"B = {result['b']} ({len(result['b_files'])} seed(s))",
             fmt.format("CIoU (%)", "frames", "A mean (sd)", "B mean (sd)", "B - A",
                        f"{result['bootstrap']['level']}% CI", "B > A")]

    def ms(s: dict) -> str:
        if s["mean"] is None:
            return "-"
        sd = "-" if s["sd"] is None else f"{s['sd']:.2f}"
        return f"{s['mean']:.2f} ({sd})"

    for subset, e in result["subsets"].items():
        ci = "-" if e["ci"] is None else f"[{e['ci'][0]:+.2f}, {e['ci'][1]:+.2f}]"
        share = "-" if e["b_above_a_percent"] is None else f"{e['b_above_a_percent']:.1f}%"
        lines.append(fmt.format(subset, str(e["n_frames"]), ms(e["a"]), ms(e["b"]),
                                signed(e["b_minus_a"]), ci, share))
    lines.append("Interval: seeds and test videos resampled together (two-level bootstrap).")
    return "\n".join(lines)
