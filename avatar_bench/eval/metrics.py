"""The metrics, from per-frame pixel counts to percentages. No I/O, no resizing.

- cIoU of a frame: ``|P & G| / (|G| + |P & ~G|)``; 0 when both are empty.
- CIoU% = mean cIoU x 100; AP50% = share of frames with cIoU >= 0.5 x 100;
  AUC% = trapezoid area under ``t -> mean(cIoU >= t)`` for ``t = 0.05 * i, i = 0..20`` x 100
  (identical to ``sklearn.metrics.auc``).
- TN of an off-screen frame: share of the pixels outside its on-screen GT that are negative
  (all pixels for a pure off-screen frame); 1 when the GT covers the whole frame.
"""

from __future__ import annotations

import numpy as np

#: The authors' cIoU thresholds for the success curve, exactly as in their code.
AUC_THRESHOLDS: np.ndarray = np.array([0.05 * i for i in range(21)])
AP_THRESHOLD = 0.5
CIOU_FIELDS: tuple[str, ...] = ("ciou", "auc", "ap50")


def ciou(gt: np.ndarray, inter: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Per-frame cIoU from ``|G|``, ``|P & G|`` and ``|P|``."""
    gt, inter, pos = (np.asarray(a, dtype=np.float64) for a in (gt, inter, pos))
    denom = gt + (pos - inter)
    return np.divide(inter, denom, out=np.zeros_like(denom), where=denom > 0)


def true_negative(gt_total: np.ndarray, inter_total: np.ndarray, pos: np.ndarray,
                  pixels: int) -> np.ndarray:
    """Per-frame TN share: negatives among the pixels outside the on-screen GT."""
    gt_total, inter_total, pos = (np.asarray(a, dtype=np.float64)
                                  for a in (gt_total, inter_total, pos))
    outside = pixels - gt_total
    negatives = outside - (pos - inter_total)
    return np.divide(negatives, outside, out=np.ones_like(outside), where=outside > 0)


def success_curve(cious: np.ndarray) -> np.ndarray:
    """``mean(cIoU >= t)`` at each of ``AUC_THRESHOLDS``."""
    c = np.asarray(cious, dtype=np.float64)
    return (c[:, None] >= AUC_THRESHOLDS[None, :]).mean(axis=0)


def trapezoid(y: np.ndarray, x: np.ndarray = AUC_THRESHOLDS) -> np.ndarray:
    """Trapezoid area along the last axis (what ``sklearn.metrics.auc`` computes)."""
    y = np.asarray(y, dtype=np.float64)
    return ((x[1:] - x[:-1]) * (y[..., 1:] + y[..., :-1]) / 2.0).sum(axis=-1)


def summarise_ciou(cious: np.ndarray) -> dict[str, float | None]:
    """CIoU%, AUC%, AP50% of a set of frames; None values when the set is empty."""
    c = np.asarray(cious, dtype=np.float64)
    if c.size == 0:
        return {f: None for f in CIOU_FIELDS}
    return {"ciou": float(c.mean() * 100),
            "auc": float(trapezoid(success_curve(c)) * 100),
            "ap50": float((c >= AP_THRESHOLD).mean() * 100)}


def mean_percent(values: np.ndarray) -> float | None:
    v = np.asarray(values, dtype=np.float64)
    return float(v.mean() * 100) if v.size else None
