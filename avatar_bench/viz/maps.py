"""Heatmaps for display: read a video's maps, resize them, pick the threshold to draw.

The threshold drawn is the evaluator's by default (one value over every pixel of the whole
predictions file, as ``evaluate`` computes it), so a figure's per-frame cIoU is the number
``evaluate`` gives that frame. Any other threshold (a video's own top 10%, a number) is
labelled as not the evaluator's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar_bench.errors import AvatarBenchError
from avatar_bench.eval.results import load_results

#: Share of pixels above the display threshold when no results JSON gives one (paper: 10%).
DEFAULT_TOP_PERCENT = 10.0


@dataclass(frozen=True)
class ModelMaps:
    """One model's maps for the frames on show, and the threshold drawn on them."""

    name: str
    maps: dict[str, np.ndarray]
    threshold: float
    threshold_note: str


def read_maps(path: str | os.PathLike, keys: list[str]) -> dict[str, np.ndarray]:
    """Maps for ``keys`` from an ``.npz`` (``keys`` + ``heatmaps``) or a folder of ``<key>.npy``.

    The ``.npz`` is read whole (fine for a clip on AVATAR-mini; slow on the full 5 GB file).
    """
    path = Path(path)
    if path.is_dir():
        found = {}
        for k in keys:
            f = path / f"{k}.npy"
            if f.is_file():
                found[k] = np.load(f, allow_pickle=False).astype(np.float32)
        return found
    try:
        with np.load(path, allow_pickle=False) as z:
            names = set(z.files)
            if not {"keys", "heatmaps"} <= names:
                raise AvatarBenchError(f"{path}: expected arrays 'keys' and 'heatmaps', found "
                                       f"{sorted(names)}")
            all_keys = [str(k) for k in z["keys"]]
            heatmaps = z["heatmaps"]
    except AvatarBenchError:
        raise
    except (OSError, ValueError) as exc:
        raise AvatarBenchError(f"{path}: cannot read predictions: {exc}") from exc
    if heatmaps.ndim != 3 or heatmaps.shape[0] != len(all_keys):
        raise AvatarBenchError(f"{path}: 'heatmaps' must be [N, h, w] with N = len(keys) = "
                               f"{len(all_keys)}, got shape {heatmaps.shape}")
    index = {k: i for i, k in enumerate(all_keys)}
    return {k: heatmaps[index[k]].astype(np.float32) for k in keys if k in index}


def resize(heatmap: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize to ``size`` (h, w): the evaluator's resize when present, else PIL's."""
    if heatmap.shape == tuple(size):
        return heatmap.astype(np.float32)
    try:
        from avatar_bench.eval.resize import resize_bilinear
    except ImportError:
        from PIL import Image

        img = Image.fromarray(heatmap.astype(np.float32))  # float32 -> mode "F"
        return np.asarray(img.resize((size[1], size[0]), Image.BILINEAR), dtype=np.float32)
    return resize_bilinear(heatmap, size)


def results_threshold(path: str | os.PathLike) -> float | None:
    """``thresholds.main`` of a results JSON (None when it records none)."""
    data = load_results(path)
    value = (data.get("thresholds") or {}).get("main")
    return float(value) if isinstance(value, (int, float)) else None


def evaluator_threshold(dataset, predictions: str | os.PathLike) -> float:
    """``thresholds.main`` as ``evaluate`` computes it for this predictions file (a full,
    bootstrap-free evaluation through the evaluator's public API)."""
    from avatar_bench.eval.evaluator import Evaluator, Protocol

    try:
        results = Evaluator(dataset, predictions, Protocol(bootstrap=0)).run()
    except AvatarBenchError as exc:
        raise AvatarBenchError(
            f"{predictions}: cannot compute the evaluator's threshold ({exc.args[0]}). It "
            "needs a valid predictions file covering every frame of the dataset; pass --results "
            "with its results JSON, or --threshold video / a number (labelled as such)",
            getattr(exc, "problems", None) or None) from exc
    value = (results.get("thresholds") or {}).get("main")
    if not isinstance(value, (int, float)):
        raise AvatarBenchError(f"{predictions}: the evaluator returned no main threshold")
    return float(value)


def _check_results_match(results_path: str | os.PathLike,
                         predictions: str | os.PathLike) -> None:
    """Refuse a results JSON computed from another predictions file (by sha256)."""
    data = load_results(results_path)
    recorded = (data.get("predictions") or {}).get("sha256")
    if not recorded:
        return
    from avatar_bench.eval.predictions import PredictionsFile

    actual = PredictionsFile(predictions).sha256()
    if actual != recorded:
        raise AvatarBenchError(
            f"{results_path} was computed from another predictions file (sha256 "
            f"{recorded[:12]}..., {predictions} has {actual[:12]}...): its threshold does "
            "not belong to these maps")


def choose_threshold(dataset, predictions: str | os.PathLike, maps: dict[str, np.ndarray],
                     mode: str = "evaluator", results_path: str | os.PathLike | None = None
                     ) -> tuple[float, str]:
    """The threshold to draw and how it was obtained (shown on the figure).

    ``results_path``: its ``thresholds.main`` (the evaluator's, already computed). Else
    ``mode``: "evaluator" (recomputed by the evaluator), "video" (top 10% of ``maps``), or a
    number.
    """
    if results_path is not None:
        thr = results_threshold(results_path)
        if thr is None:
            raise AvatarBenchError(
                f"{results_path}: records no thresholds.main (the legacy protocol has none); "
                "drop --results to use the evaluator's avatar-protocol threshold")
        _check_results_match(results_path, predictions)
        return thr, f"evaluator's, thresholds.main of {Path(results_path).name}"
    if mode == "evaluator":
        return (evaluator_threshold(dataset, predictions),
                f"evaluator's: top {DEFAULT_TOP_PERCENT:g}% of all maps in the file")
    if mode == "video":
        return (top_percent_threshold(list(maps.values()), DEFAULT_TOP_PERCENT),
                f"top {DEFAULT_TOP_PERCENT:g}% of this video's maps only, NOT the evaluator's")
    try:
        value = float(mode)
    except ValueError:
        value = float("nan")
    if not np.isfinite(value):
        raise AvatarBenchError(f"--threshold must be 'evaluator', 'video' or a number, got "
                               f"{mode!r}")
    return value, "given with --threshold, NOT the evaluator's"


def top_percent_threshold(maps: list[np.ndarray], top_percent: float = DEFAULT_TOP_PERCENT
                          ) -> float:
    """The value with ``top_percent`` % of the pixels of ``maps`` at or above it."""
    if not maps:
        raise AvatarBenchError("no heatmaps to compute a threshold from")
    values = np.concatenate([m.ravel() for m in maps])
    k = max(1, int(round(values.size * top_percent / 100.0)))
    return float(np.partition(values, values.size - k)[values.size - k])


def frame_ciou(pred: np.ndarray, gt: np.ndarray) -> float | None:
    """cIoU of one frame: |P and G| / (|G| + |P and not G|); None when G is empty."""
    g = int(gt.sum())
    if g == 0:
        return None
    inter = int(np.logical_and(pred, gt).sum())
    return inter / (g + int(pred.sum()) - inter)
