"""95% bootstrap confidence intervals, resampling videos (frames of a clip are correlated).

Each replicate draws the dataset's videos with replacement (numpy ``Generator(PCG64(seed))``);
a video drawn ``w`` times counts its frames ``w`` times. Thresholds stay fixed (they belong to
the submission, not to the sample). All metrics are ratios of per-video sums, so a replicate
is one matrix product; the interval is the 2.5th and 97.5th percentile of the replicates,
widened to contain the point estimate where it does not (``covering``). Replicates in which a
subset has no frame are skipped.
"""

from __future__ import annotations

import numpy as np

from avatar_bench.eval.metrics import AP_THRESHOLD, AUC_THRESHOLDS, trapezoid

LEVEL = 95


def video_weights(n_videos: int, n: int, seed: int) -> np.ndarray:
    """``[n, n_videos]`` multiplicities: how often each video is drawn in each replicate."""
    rng = np.random.Generator(np.random.PCG64(seed))
    draws = rng.integers(0, n_videos, size=(n, n_videos))
    flat = draws + (np.arange(n)[:, None] * n_videos)
    return np.bincount(flat.ravel(), minlength=n * n_videos).reshape(n, n_videos).astype(float)


def _per_video(values: np.ndarray, video: np.ndarray, n_videos: int) -> np.ndarray:
    """Per-video sums of the columns of ``values`` ([frames, m] -> [n_videos, m])."""
    out = np.zeros((n_videos, values.shape[1]))
    np.add.at(out, video, values)
    return out


def percentile_interval(reps: np.ndarray) -> list[float] | None:
    """The LEVEL% interval of the finite replicates (None when there are none)."""
    reps = reps[np.isfinite(reps)]
    if reps.size == 0:
        return None
    lo, hi = np.percentile(reps, [(100 - LEVEL) / 2, 100 - (100 - LEVEL) / 2])
    return [float(lo), float(hi)]


def covering(ci: list[float] | None, value: float | None) -> list[float] | None:
    """``ci`` widened, if needed, to contain the point estimate ``value``.

    Why: a percentile interval of a ratio of sums can miss its own estimate by float noise
    (95.00000000000003 against [94.99999999999999, 95.0]) or, with few skewed videos, by a
    real margin; a reported interval that excludes its value is refused by the leaderboard
    and reads as an error, so the interval reported is the percentile interval's hull with
    the estimate (docs/evaluation.md).
    """
    if ci is None or value is None or not np.isfinite(value):
        return ci
    return [min(ci[0], float(value)), max(ci[1], float(value))]


def ciou_intervals(cious: np.ndarray, video: np.ndarray, weights: np.ndarray
                   ) -> dict[str, list[float] | None]:
    """CIs (in %) of CIoU, AUC and AP50 for frames with per-frame ``cious`` and video index."""
    if len(cious) == 0:
        return {"ciou": None, "auc": None, "ap50": None}
    c = np.asarray(cious, dtype=np.float64)[:, None]
    cols = np.hstack([np.ones_like(c), c, (c >= AUC_THRESHOLDS).astype(float),
                      (c >= AP_THRESHOLD).astype(float)])
    sums = weights @ _per_video(cols, video, weights.shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums[:, 1:] / sums[:, :1]
    return {"ciou": percentile_interval(means[:, 0] * 100),
            "auc": percentile_interval(trapezoid(means[:, 1:-1]) * 100),
            "ap50": percentile_interval(means[:, -1] * 100)}


def replicate_means(values: np.ndarray, video: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean (in %) of per-frame ``values`` in each replicate; NaN where a replicate has none."""
    v = np.asarray(values, dtype=np.float64)[:, None]
    sums = weights @ _per_video(np.hstack([np.ones_like(v), v]), video, weights.shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums[:, 1] / sums[:, 0] * 100


def mean_interval(values: np.ndarray, video: np.ndarray, weights: np.ndarray
                  ) -> list[float] | None:
    """CI (in %) of the mean of per-frame shares (TN, †TN)."""
    if len(values) == 0:
        return None
    return percentile_interval(replicate_means(values, video, weights))
