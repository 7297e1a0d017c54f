"""Per-frame pixel counts: the one expensive step, computed once per frame and protocol.

Everything the metrics need is a handful of integers per frame (TrackEval computes its IoUs
once in the same way): ``|G_S|`` and ``|P & G_S|`` for each scenario S, ``|P|``, and the
same for the †TN threshold. Maps stream from the file in chunks and are counted in a small
thread pool (numpy and the compiled kernels release the GIL), then dropped. The avatar passes
never hold a chunk at full resolution: each map is resized in pieces (``resize.BilinearPlan``,
the same bits as ``resize_bilinear``): bands of columns for the histograms, and for the
per-frame pass only the pixels whose value range (from the two blended columns) meets the
threshold's interval, by ``kernels`` (numba) or, without it, by the numpy functions here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from pycocotools import mask as mask_utils

from avatar_bench.data.annotations import Frame
from avatar_bench.data.index import AvatarDataset
from avatar_bench.eval import kernels
from avatar_bench.eval.predictions import PredictionsFile
from avatar_bench.eval.resize import BAND, BILINEAR, BilinearPlan, bilinear_plan, flat, resize_maps
from avatar_bench.eval.runs import Runs, decode_rle
from avatar_bench.eval.threshold import (
    BINS,
    HighCounts,
    float_keys,
    kth_largest,
    low_histogram,
)
from avatar_bench.progress import progress

#: Columns of ``FrameCounts.gt``/``inter``: the scenarios with pixels, then their union.
GT_SCENARIOS: tuple[str, ...] = ("single_sound", "mixed_sound", "multi_entity", "total")


@dataclass
class FrameCounts:
    """Pixel counts per frame (rows in dataset frame order); ``-1`` = not computed."""

    pixels: int
    gt: np.ndarray
    inter: np.ndarray
    pos: np.ndarray
    pos_dagger: np.ndarray
    inter_dagger: np.ndarray

    @classmethod
    def empty(cls, n: int, pixels: int) -> FrameCounts:
        return cls(pixels, np.zeros((n, 4), np.int64), np.zeros((n, 4), np.int64),
                   np.full(n, -1, np.int64), np.full(n, -1, np.int64), np.full(n, -1, np.int64))


def gt_masks(dataset: AvatarDataset, frame: Frame,
             size: tuple[int, int]) -> list[np.ndarray | None]:
    """Boolean GT per column of ``GT_SCENARIOS``; None for a scenario the frame lacks.

    ``total`` is always given (TN needs it, even when empty). Each mask is rasterised once:
    with one on-screen scenario its mask is the total; with several, the total is the union
    of theirs (rasterising polygons commutes with union, so this equals rasterising all).
    """
    present = [s for s in GT_SCENARIOS[:3] if dataset.instances_for(frame, s)]
    if len(present) == 1:
        total = _decode(dataset, frame, "total", size)
        return [total if s in present else None for s in GT_SCENARIOS[:3]] + [total]
    if not present:
        return [None, None, None, _decode(dataset, frame, "total", size)]
    out = [_decode(dataset, frame, s, size) if s in present else None
           for s in GT_SCENARIOS[:3]]
    total = np.zeros_like(next(m for m in out if m is not None))
    for m in out:
        if m is not None:
            total |= m
    return out + [total]


def gt_counts_rle(dataset: AvatarDataset, frame: Frame, size: tuple[int, int]) -> list[int]:
    """``gt_counts(gt_masks(...))`` from the run-length codes, without decoding a mask (for
    frames that need no pixel of their GT): areas of the present scenarios, and of their
    union (``merge``, exact on runs) as ``gt_masks`` builds the total."""
    present = [s for s in GT_SCENARIOS[:3] if dataset.instances_for(frame, s)]
    if len(present) <= 1:
        total = int(mask_utils.area(dataset.gt_rle(frame, "total", size, keep=False)))
        return [total if s in present else 0 for s in GT_SCENARIOS[:3]] + [total]
    rles = {s: dataset.gt_rle(frame, s, size, keep=False) for s in present}
    union = int(mask_utils.area(mask_utils.merge(list(rles.values()), intersect=False)))
    return [int(mask_utils.area(rles[s])) if s in rles else 0 for s in GT_SCENARIOS[:3]] + [union]


def gt_runs(dataset: AvatarDataset, frame: Frame, size: tuple[int, int]) -> list[Runs | None]:
    """``gt_masks`` as ``Runs`` (the same pixels, never decoded; the compiled route)."""
    present = [s for s in GT_SCENARIOS[:3] if dataset.instances_for(frame, s)]
    if len(present) <= 1:
        total = kernels.runs_from_rle(dataset.gt_rle(frame, "total", size, keep=False))
        return [total if s in present else None for s in GT_SCENARIOS[:3]] + [total]
    out = [kernels.runs_from_rle(dataset.gt_rle(frame, s, size, keep=False))
           if s in present else None
           for s in GT_SCENARIOS[:3]]
    return out + [Runs.union([r for r in out if r is not None])]


def _decode(dataset: AvatarDataset, frame: Frame, scenario: str,
            size: tuple[int, int]) -> np.ndarray:
    """The GT mask as pycocotools decodes it: Fortran-ordered, bool."""
    return decode_rle(dataset.gt_rle(frame, scenario, size))


@dataclass
class Chunk:
    """Maps of consecutive file rows, with the dataset frame index of each."""

    frames: np.ndarray
    maps: np.ndarray


def iter_chunks(preds: PredictionsFile, rows: dict[str, int], dataset: AvatarDataset,
                chunk: int, every: int = 1) -> Iterator[Chunk]:
    """Stream the file in its own order, keeping only rows that are dataset frames.

    ``every > 1``: only every ``every``-th of the chunks that hold a dataset frame (a
    sample); the others are not read at all.
    """
    row_to_frame = np.full(preds.n_maps, -1, np.int64)
    for i, f in enumerate(dataset.frames):
        row_to_frame[rows[f.key]] = i
    only = None
    if every > 1:
        useful = [s for s in range(0, preds.n_maps, chunk)
                  if (row_to_frame[s:s + chunk] >= 0).any()]
        only = frozenset(useful[::every])
    for start, maps in preds.iter_chunks(chunk, verify=False, only=only):
        idx = row_to_frame[start:start + len(maps)]
        keep = idx >= 0
        if keep.all():
            yield Chunk(idx, maps)
        elif keep.any():
            yield Chunk(idx[keep], maps[keep])


def parallel(fn: Callable[[Chunk], object], chunks: Iterable[Chunk], workers: int,
             total: int, desc: str, inflight: int | None = None) -> Iterator[object]:
    """``map(fn, chunks)`` on a thread pool, in order, at most ``inflight`` chunks (default
    ``2 * workers``) read and not yet consumed, which bounds memory for large maps."""
    bar = progress(chunks, desc=desc, total=total, unit="chunk")
    inflight = max(1, inflight or 2 * workers)
    if workers <= 1 or inflight <= 1:
        yield from map(fn, bar)
        return
    with ThreadPoolExecutor(min(workers, inflight)) as pool:
        pending = []
        for c in bar:
            pending.append(pool.submit(fn, c))
            if len(pending) >= inflight:
                yield pending.pop(0).result()
        for fut in pending:
            yield fut.result()


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def count_positive(pos: np.ndarray, masks: list[np.ndarray | None]) -> tuple[list[int], list[int]]:
    """``|G_S|`` and ``|P & G_S|`` for each GT column (0 where the scenario is absent)."""
    gt, inter = [], []
    for m in masks:
        if m is None:
            gt.append(0)
            inter.append(0)
        else:
            gt.append(int(np.count_nonzero(m)))
            inter.append(int(np.count_nonzero(pos & m)))
    return gt, inter


def gt_counts(masks: list[np.ndarray | None]) -> list[int]:
    """``|G_S|`` per column (0 where absent), counting a mask shared by columns once."""
    n: dict[int, int] = {}
    for g in masks:
        if g is not None and id(g) not in n:
            n[id(g)] = int(np.count_nonzero(g))
    return [0 if g is None else n[id(g)] for g in masks]


# ------------------------------------------------------------- protocol "avatar"
@dataclass
class Split:
    """One frame against one threshold's boundary bin ``[lo, hi]`` (float bounds, inclusive).

    Pixels above the bin are positive whatever the exact threshold: they are only counted.
    Pixels inside it are kept (value + GT bits) until the threshold is known.
    """

    pos_above: int
    inter_above: list[int]
    values: np.ndarray
    bits: np.ndarray


def split_frame(pixels: np.ndarray, masks: list[np.ndarray | None], lo: np.float32,
                hi: np.float32) -> Split:
    """``pixels`` and the masks' pixels in the same (column-major) order, see ``flat``."""
    above = pixels > hi
    within = pixels >= lo
    within &= ~above
    inside = np.flatnonzero(within)
    bits = np.zeros(len(inside), np.uint8)
    inter = []
    for j, m in enumerate(masks):
        if m is None:
            inter.append(0)
            continue
        mf = flat(m)
        inter.append(int(np.count_nonzero(above & mf)))
        bits |= mf[inside].astype(np.uint8) << j
    return Split(int(np.count_nonzero(above)), inter, pixels[inside], bits)


#: The split of a frame with no pixel at or above the interval (nothing positive, no value).
_NOTHING = Split(0, [0, 0, 0, 0], np.zeros(0, np.float32), np.zeros(0, np.uint8))

#: Share of a map's pixels above which ``split_fused`` computes the whole map instead of
#: single pixels (per pixel that costs several gathers, per band a few vector operations).
FULL_SHARE = 0.125


def split_fused(plan: BilinearPlan, v: np.ndarray, bounds: tuple[np.ndarray, np.ndarray],
                masks: list[np.ndarray | None], lo: np.float32, hi: np.float32) -> Split:
    """``split_frame`` of the resized map, from its height pass ``v`` and ``plan.pair_bounds``.

    A group whose least value is above ``hi`` is above for all its pixels, one whose greatest
    is below ``lo`` holds nothing of interest; only the rest ("mixed") is computed, pixel by
    pixel (or the whole map when the mixed pixels are many). Same counts, same values, same
    (column-major) order as ``split_frame``.
    """
    bmin, bmax = bounds
    above_g = bmin > hi
    mixed_g = bmax >= lo
    mixed_g &= ~above_g
    mixed = mixed_g.take(plan.group, axis=0)  # [W, H]: row x = output column x
    idx = np.flatnonzero(mixed)
    if len(idx) > FULL_SHARE * mixed.size:
        return split_frame(plan.full(v).reshape(-1), masks, lo, hi)
    above = above_g.take(plan.group, axis=0).reshape(-1)
    vals = plan.pixels(v, idx)
    up = vals > hi
    keep = vals >= lo
    keep &= ~up
    inside = idx[keep]
    bits = np.zeros(len(inside), np.uint8)
    inter = []
    seen: dict[int, tuple[int, np.ndarray]] = {}  # one mask often fills several columns
    for j, m in enumerate(masks):
        if m is None:
            inter.append(0)
            continue
        if id(m) not in seen:
            mf = flat(m)
            seen[id(m)] = (int(np.count_nonzero(above & mf)) +
                           int(np.count_nonzero(mf[idx] & up)), mf[inside].astype(np.uint8))
        n, b = seen[id(m)]
        inter.append(n)
        bits |= b << j
    pos = int(np.count_nonzero(above)) + int(np.count_nonzero(up))
    return Split(pos, inter, vals[keep], bits)


class AvatarPasses:
    """Streaming passes of the paper's protocol (global thresholds).

    Normal route, two passes: ``high`` (histograms -> boundary bins), then ``boundary``
    (per-frame counts above the bins + the pixels inside them, from which the exact
    threshold and the remaining counts follow). When a boundary bin holds too many pixels
    (heavy ties) the route is three passes: ``high``, ``low`` (exact key), ``counts``.
    Every pass resizes map by map with a ``BilinearPlan`` (values identical to
    ``resize_bilinear``), so no chunk exists at full resolution.
    """

    def __init__(self, dataset: AvatarDataset, size: tuple[int, int],
                 dagger_frames: np.ndarray) -> None:
        self.dataset = dataset
        self.size = size
        self.dagger = dagger_frames

    def _plan(self, c: Chunk) -> BilinearPlan:
        return bilinear_plan(c.maps.shape[1:], self.size)

    def high(self, c: Chunk, step: int = 1) -> tuple[np.ndarray, np.ndarray, int, int]:
        """Pass 1: high-16-bit histograms over all frames and over the †TN frames.

        ``step > 1`` (a sample, for the sampled route): only every ``step``-th output row
        and column of each map (``BilinearPlan.grid``), the counts say how many pixels.
        """
        plan = self._plan(c)
        dag = self.dagger[c.frames]
        other, dagger = HighCounts(), HighCounts()
        for m, d in zip(c.maps, dag, strict=True):
            counter = dagger if d else other
            if step > 1:
                counter.add(plan.grid(m, step))
                continue
            v = plan.vertical(m)
            for s in range(0, plan.width, BAND):
                counter.add(plan.band(v, s, min(plan.width, s + BAND)))
        h_dag = dagger.histogram()
        return other.histogram() + h_dag, h_dag, other.n + dagger.n, dagger.n

    def boundary(self, c: Chunk, main: tuple[float, float], dag: tuple[float, float] | None):
        """Pass 2 (two-pass route): GT counts and a ``Split`` per threshold for each frame
        (compiled, ``kernels``, when numba is there; else in numpy, the same bits)."""
        plan = self._plan(c)
        frame_fn = self._frame_compiled if kernels.enabled() else self._frame_numpy
        out = []
        for i, m in zip(c.frames, c.maps, strict=True):
            d = dag if dag is not None and self.dagger[i] else None
            # A frame whose greatest value is below ``reach`` has no pixel in either interval.
            reach = np.float32(main[0] if d is None else min(main[0], d[0]))
            out.append((int(i), *frame_fn(plan, m, main, d, reach, self.dataset.frames[i])))
        return out

    def _unreached(self, frame: Frame, dag) -> tuple:
        """No pixel reaches either interval: nothing to count but the GT's areas."""
        return gt_counts_rle(self.dataset, frame, self.size), _NOTHING, \
            None if dag is None else _NOTHING

    def _frame_numpy(self, plan: BilinearPlan, m: np.ndarray, main, dag, reach, frame):
        """One frame's GT areas and splits, in numpy (decoded masks, ``split_fused``)."""
        v = plan.vertical(m)
        bounds = plan.pair_bounds(v)
        if bounds[1].max() < reach:
            return self._unreached(frame, dag)
        masks = gt_masks(self.dataset, frame, self.size)
        s_main = split_fused(plan, v, bounds, masks, np.float32(main[0]), np.float32(main[1]))
        s_dag = None if dag is None else split_fused(
            plan, v, bounds, [None, None, None, masks[3]], np.float32(dag[0]),
            np.float32(dag[1]))
        return gt_counts(masks), s_main, s_dag

    def _frame_compiled(self, plan: BilinearPlan, m: np.ndarray, main, dag, reach, frame):
        """The same with the compiled kernels and the GT as runs (never decoded)."""
        k = kernels.kernels_for(plan)
        v, top = k.vertical(m)
        if top < reach:
            return self._unreached(frame, dag)
        masks = gt_runs(self.dataset, frame, self.size)
        s_main = k.split(v, masks, np.float32(main[0]), np.float32(main[1]))
        s_dag = None if dag is None else k.split(
            v, [None, None, None, masks[3]], np.float32(dag[0]), np.float32(dag[1]))
        return [0 if r is None else r.area for r in masks], s_main, s_dag

    def low(self, c: Chunk, b_main: int | None, b_dag: int | None):
        """Pass 2 (three-pass route): low-16-bit histograms inside the boundary bins."""
        plan = self._plan(c)
        dag = self.dagger[c.frames]
        low_main, low_dag = np.zeros(BINS, np.int64), np.zeros(BINS, np.int64)
        for m, d in zip(c.maps, dag, strict=True):
            keys = float_keys(plan.full(plan.vertical(m)))
            if b_main is not None:
                low_main += low_histogram(keys, b_main)
            if b_dag is not None and d:
                low_dag += low_histogram(keys, b_dag)
        return low_main, low_dag

    def counts(self, c: Chunk, thr: float, thr_dag: float | None, off_screen: np.ndarray):
        """Pass 3 (three-pass route): per-frame counts at the final thresholds."""
        plan = self._plan(c)
        t, t_dag = np.float32(thr), None if thr_dag is None else np.float32(thr_dag)
        rows = []
        for i, src in zip(c.frames, c.maps, strict=True):
            m = plan.full(plan.vertical(src)).T  # [H, W], Fortran-ordered like the masks
            masks = gt_masks(self.dataset, self.dataset.frames[i], self.size)
            pos = m >= t
            gt, inter = count_positive(pos, masks)
            pd, idag = -1, -1
            if t_dag is not None and off_screen[i]:
                pdag = m >= t_dag
                pd, idag = int(np.count_nonzero(pdag)), int(np.count_nonzero(pdag & masks[3]))
            rows.append((int(i), gt, inter, int(np.count_nonzero(pos)), pd, idag))
        return rows


class Boundary:
    """Collects one threshold's ``Split`` records for a value interval known to hold (or
    expected to hold) the k-th largest pixel. ``finish`` gives the exact threshold and each
    frame's positives, or None when the k-th largest pixel is not inside the interval.

    Records are appended to large blocks (``BLOCK`` values each) rather than kept as one
    small array per frame: small arrays freed later stay in the allocator's heap, so the
    resident memory would count them twice while ``finish`` works.
    """

    BLOCK = 1 << 20

    def __init__(self, n_frames: int, k: int) -> None:
        self.k = k
        self.blocks: list[tuple[np.ndarray, np.ndarray]] = []
        self.fill = 0
        self.segments: list[tuple[int, int, int, int]] = []  # (frame, block, start, length)
        self.pos_above = np.zeros(n_frames, np.int64)
        self.inter_above = np.zeros((n_frames, 4), np.int64)

    def add(self, i: int, s: Split) -> None:
        self.pos_above[i], self.inter_above[i] = s.pos_above, s.inter_above
        n = len(s.values)
        if not n:
            return
        if not self.blocks or self.fill + n > len(self.blocks[-1][0]):
            size = max(self.BLOCK, n)
            self.blocks.append((np.empty(size, np.float32), np.empty(size, np.uint8)))
            self.fill = 0
        values, bits = self.blocks[-1]
        values[self.fill:self.fill + n], bits[self.fill:self.fill + n] = s.values, s.bits
        self.segments.append((i, len(self.blocks) - 1, self.fill, n))
        self.fill += n

    def _used(self, b: int) -> tuple[np.ndarray, np.ndarray]:
        values, bits = self.blocks[b]
        end = self.fill if b == len(self.blocks) - 1 else max(
            st + n for _, blk, st, n in self.segments if blk == b)
        return values[:end], bits[:end]

    def finish(self) -> tuple[float, np.ndarray, np.ndarray] | None:
        """``(threshold, pos, inter)``: pos/inter per frame at ``value >= threshold``.

        Memory: the threshold is a radix select over the stored values in place
        (``kth_largest``, no copy); the counts are segment sums per block
        (``np.add.reduceat``), with block-sized temporaries.
        """
        total = sum(n for *_, n in self.segments)
        rank = self.k - int(self.pos_above.sum())  # rank of the threshold inside the interval
        if not 1 <= rank <= total:
            return None
        used = [self._used(b) for b in range(len(self.blocks))]
        thr = np.float32(kth_largest([v for v, _ in used], rank))
        pos = self.pos_above.copy()
        inter = self.inter_above.copy()
        seg = np.array(self.segments, np.int64).reshape(-1, 4)
        for b, (values, bits) in enumerate(used):
            mine = seg[seg[:, 1] == b]
            if not len(mine):
                continue
            frames, starts = mine[:, 0], mine[:, 2]
            hit = values >= thr
            np.add.at(pos, frames, np.add.reduceat(hit, starts, dtype=np.int64))
            for j in range(4):
                sel = np.bitwise_and(bits, np.uint8(1 << j))
                sel = np.not_equal(sel, 0, out=sel.view(bool))
                sel &= hit
                np.add.at(inter[:, j], frames, np.add.reduceat(sel, starts, dtype=np.int64))
        self.blocks, self.segments = [], []
        return float(thr) + 0.0, pos, inter


def fill(counts: FrameCounts, rows: list) -> None:
    for i, gt, inter, pos, pd, idag in rows:
        counts.gt[i], counts.inter[i], counts.pos[i] = gt, inter, pos
        counts.pos_dagger[i], counts.inter_dagger[i] = pd, idag


# ------------------------------------------------------------- protocol "legacy"
LEGACY_SIZE = (224, 224)


def legacy_positive(heatmap: np.ndarray) -> np.ndarray:
    """Per-frame min-max normalisation, positive = value >= the frame's median."""
    lo, hi = heatmap.min(), heatmap.max()
    norm = (heatmap - lo) / (hi - lo) if hi > lo else np.zeros_like(heatmap)
    return norm >= np.median(norm)


class LegacyPass:
    """The baselines' own protocol: one pass, per-frame thresholds at 224x224."""

    def __init__(self, dataset: AvatarDataset, size: tuple[int, int] = LEGACY_SIZE,
                 mode: str = BILINEAR) -> None:
        self.dataset = dataset
        self.size = size
        self.mode = mode

    def counts(self, c: Chunk):
        maps = resize_maps(c.maps, self.size, self.mode)
        rows = []
        for i, m in zip(c.frames, maps, strict=True):
            masks = gt_masks(self.dataset, self.dataset.frames[i], self.size)
            pos = legacy_positive(m)
            gt, inter = count_positive(pos, masks)
            rows.append((int(i), gt, inter, int(np.count_nonzero(pos)), -1, -1))
        return rows
