"""``predict`` at dataset scale: resumable, streaming, batched, bounded in memory.

The frames are cut into *segments* of whole clips (about ``SEGMENT_FRAMES`` frames each, a
plan that depends only on the frame list). Each segment is computed from a fresh batch
boundary and stored in ``<output>.partial/`` when finished, so an interrupted run resumes at
the first missing segment and its batches are exactly those of an uninterrupted run: the
final file is byte-identical. Memory holds one segment's maps, the batch in flight and the
loader's prefetched clips, whatever the dataset's size.

Adapters that offer ``stages()`` (the built-in torch models do) are run as a pipeline:
DataLoader worker processes decode each clip once for all of its annotated frames while the
main process runs the forward on batches. Other adapters (numpy reference models, third-party
ones) are run through their own ``predict`` one segment at a time, without torch.
"""

from __future__ import annotations

import hashlib
import os
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from avatar_bench.data.annotations import Frame
from avatar_bench.data.index import AvatarDataset
from avatar_bench.errors import AvatarBenchError
from avatar_bench.eval.predictions import write_predictions
from avatar_bench.models.base import Adapter, Stages
from avatar_bench.predict.partial import MAP_DTYPE, PartialRun, partial_path
from avatar_bench.progress import Meter

#: Frames per resumable unit: small enough to lose little on a crash, large enough that
#: one partial batch per segment costs nothing.
SEGMENT_FRAMES = 256
PRECISIONS = ("fp32", "bf16", "fp16")
PARTIAL_FORMAT = 1


class PredictError(AvatarBenchError):
    """A model failed on given frames; ``debug_text`` is the traceback for ``--debug``."""

    def __init__(self, message: str, debug_text: str = "") -> None:
        super().__init__(message)
        self.debug_text = debug_text


def default_workers() -> int:
    """Decoding processes: one core is left to the forward."""
    return max(1, min(4, (os.cpu_count() or 1) - 1))


def plan_segments(frames: list[Frame], size: int = SEGMENT_FRAMES) -> list[tuple[int, int]]:
    """``[start, stop)`` ranges of at least ``size`` frames, cut only between clips."""
    out, start = [], 0
    for i in range(1, len(frames) + 1):
        if i == len(frames) or (i - start >= size and frames[i].video_id != frames[i - 1].video_id):
            out.append((start, i))
            start = i
    return out


def clip_runs(frames: list[Frame]) -> list[list[Frame]]:
    """Consecutive frames of one clip: the unit a worker decodes once."""
    runs: list[list[Frame]] = []
    for f in frames:
        if runs and runs[-1][0].video_id == f.video_id:
            runs[-1].append(f)
        else:
            runs.append([f])
    return runs


@dataclass
class PredictSummary:
    """What ``run_predict`` did: ``resumed_frames`` came from an earlier run's partial."""

    output: Path
    n_frames: int
    resumed_frames: int
    staged: bool
    workers: int
    precision: str
    warnings: list[str] = field(default_factory=list)


def _keys_digest(frames: list[Frame]) -> str:
    return hashlib.sha256("\n".join(f.key for f in frames).encode()).hexdigest()


def run_state(adapter: Adapter, dataset: AvatarDataset, meta: dict[str, Any],
              precision: str, segment_frames: int, batch_size: int | None) -> dict[str, Any]:
    """Everything a resumed run must share with the one that started (see partial.py)."""
    return {
        "format": PARTIAL_FORMAT,
        "model": adapter.name,
        "meta": meta,
        "dataset": {"name": dataset.name, "revision": dataset.revision,
                    "annotation_sha256": dataset.annotation_checksum,
                    "n_frames": len(dataset.frames), "keys_sha256": _keys_digest(dataset.frames)},
        "run": {"segment_frames": segment_frames, "batch_size": batch_size,
                "precision": precision, "dtype": str(MAP_DTYPE)},
    }


def _as_map(model: str, key: str, heatmap: Any, shape: list) -> np.ndarray:
    hm = np.asarray(heatmap)
    if hm.ndim != 2:
        raise PredictError(f"model {model!r} returned a map of shape {hm.shape} for frame "
                           f"{key}: expected 2-D (h, w)")
    if not shape:
        shape.append(hm.shape)
    elif hm.shape != shape[0]:
        raise PredictError(f"model {model!r} returned a {hm.shape} map for frame {key}, "
                           f"earlier maps were {shape[0]}: one size per predictions file")
    return hm.astype(MAP_DTYPE)


def _missing(model: str, frames: list[Frame], got: int) -> PredictError:
    first = ", ".join(f.key for f in frames[got:got + 5])
    return PredictError(f"model {model!r} returned {got} maps for {len(frames)} frames: no "
                        f"map for {len(frames) - got} frame(s), first missing: {first}")


def _check_count(model: str, frames: list[Frame], got: int) -> None:
    if got < len(frames):
        raise _missing(model, frames, got)
    if got > len(frames):
        raise PredictError(f"model {model!r} returned {got} maps for {len(frames)} frames "
                           f"({frames[0].key} .. {frames[-1].key}): one map per frame")


def _failed(model: str, what: str, exc: BaseException) -> PredictError:
    if isinstance(exc, AvatarBenchError):
        msg = f"model {model!r} failed {what}: {exc}"
    else:
        msg = (f"model {model!r} raised {type(exc).__name__} {what}: {exc} "
               "(rerun with --debug for the traceback)")
    return PredictError(msg, "".join(traceback.format_exception(exc)))


# ----------------------------------------------------------------- generic path
def _generic_segment(adapter: Adapter, dataset: AvatarDataset, frames: list[Frame],
                     shape: list) -> list[np.ndarray]:
    """One segment through ``adapter.predict``, checking keys, order and count."""
    maps: list[np.ndarray] = []
    try:
        for key, heatmap in adapter.predict(dataset, frames):
            if len(maps) >= len(frames):
                raise PredictError(f"model {adapter.name!r} returned more maps than the "
                                   f"{len(frames)} frames it was given (extra key {key!r})")
            want = frames[len(maps)].key
            if key != want:
                raise PredictError(f"model {adapter.name!r} returned a map for {key!r} where "
                                   f"frame {want} was expected: maps must come in the order "
                                   "of the frames given, one per frame")
            maps.append(_as_map(adapter.name, key, heatmap, shape))
    except PredictError:
        raise
    except Exception as exc:
        at = frames[len(maps)].key if len(maps) < len(frames) else frames[-1].key
        raise _failed(adapter.name, f"on frame {at} (the first frame without a map)",
                      exc) from exc
    if len(maps) < len(frames):
        raise _missing(adapter.name, frames, len(maps))
    return maps


def _generic(adapter: Adapter, dataset: AvatarDataset, frames: list[Frame],
             todo: list[tuple[int, tuple[int, int]]]) -> Iterator[tuple[int, list[np.ndarray]]]:
    shape: list = []
    for index, (start, stop) in todo:
        yield index, _generic_segment(adapter, dataset, frames[start:stop], shape)


# ------------------------------------------------------------------ staged path
def _staged(adapter: Adapter, stages: Stages, dataset: AvatarDataset, frames: list[Frame],
            todo: list[tuple[int, tuple[int, int]]], workers: int, precision: str
            ) -> Iterator[tuple[int, list[np.ndarray]]]:
    """Workers prepare clips in order; batches of ``batch_size`` frames run the forward;
    each segment starts a fresh batch, so resumed runs batch exactly as uninterrupted ones."""
    import torch

    from avatar_bench.predict.loader import Failure, clip_loader

    clips = [(index, run) for index, (start, stop) in todo
             for run in clip_runs(frames[start:stop])]
    shape: list = []
    device = torch.device(stages.device)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)

    def run_batch(batch: list[tuple[Frame, Any]]) -> list[np.ndarray]:
        try:
            with torch.inference_mode(), torch.autocast(device.type, dtype=dtype,
                                                        enabled=dtype is not None):
                out = list(stages.forward([x for _, x in batch]))
        except Exception as exc:
            raise _failed(adapter.name, f"on the batch of frames {batch[0][0].key} .. "
                          f"{batch[-1][0].key}", exc) from exc
        _check_count(adapter.name, [f for f, _ in batch], len(out))
        return [_as_map(adapter.name, f.key, m, shape)
                for (f, _), m in zip(batch, out, strict=True)]

    current, maps, batch = None, [], []
    loader = clip_loader(dataset, stages.prepare, [run for _, run in clips], workers,
                         stages.batch_size)
    for (index, run), prepared in zip(clips, loader, strict=True):
        if index != current:
            if batch:
                maps += run_batch(batch)
                batch = []
            if current is not None:
                yield current, maps
            current, maps = index, []
        if isinstance(prepared, Failure):
            raise PredictError(f"model {adapter.name!r} failed preparing the inputs of clip "
                               f"{run[0].video_id} (frames {run[0].key} .. {run[-1].key}): "
                               f"{prepared.message}", prepared.traceback)
        _check_count(adapter.name, run, len(prepared))
        for f, x in zip(run, prepared, strict=True):
            batch.append((f, x))
            if len(batch) == stages.batch_size:
                maps += run_batch(batch)
                batch = []
        if stages.within_clip and batch:
            maps += run_batch(batch)
            batch = []
    if batch:
        maps += run_batch(batch)
    if current is not None:
        yield current, maps


# -------------------------------------------------------------------- the run
def run_predict(adapter: Adapter, dataset: AvatarDataset, output: str | os.PathLike, *,
                precision: str = "fp32", workers: int | None = None, restart: bool = False,
                segment_frames: int | None = None, meta: dict[str, Any] | None = None,
                log: Callable[[str], None] = lambda msg: None) -> PredictSummary:
    """Predict every frame of ``dataset`` into ``output``, resuming ``<output>.partial``.

    ``meta`` defaults to ``adapter.meta()``; a non-fp32 ``precision`` is recorded in it.
    """
    output = Path(output)
    segment_frames = segment_frames or SEGMENT_FRAMES
    frames = dataset.frames
    stages = adapter.stages()
    if stages is None:
        from avatar_bench.predict.builtin import builtin_stages

        stages = builtin_stages(adapter)
    allowed = ("fp32", *(stages.precisions if stages else ()))
    if precision not in allowed:
        raise AvatarBenchError(f"model {adapter.name!r} cannot run with precision "
                               f"{precision!r}; it supports: {', '.join(allowed)}")
    meta = dict(adapter.meta() if meta is None else meta)
    if precision != "fp32":
        meta["precision"] = f"{precision} autocast"
    workers = default_workers() if workers is None else workers
    state = run_state(adapter, dataset, meta, precision, segment_frames,
                      stages.batch_size if stages else None)
    partial = PartialRun(output, state)
    resumed = partial.open(restart)
    try:
        segments = plan_segments(frames, segment_frames)
        seg_keys = [[f.key for f in frames[a:b]] for a, b in segments]
        todo = [(i, seg) for i, seg in enumerate(segments)
                if not (resumed and partial.load(i, seg_keys[i]) is not None)]
        done = len(frames) - sum(b - a for _, (a, b) in todo)
        if done:
            log(f"resuming {partial.folder}: {done:,} of {len(frames):,} frames already done")
        meter = Meter(f"predict {adapter.name}", len(frames), initial=done, unit="frame")
        produced = (_staged(adapter, stages, dataset, frames, todo, workers, precision)
                    if stages else _generic(adapter, dataset, frames, todo))
        try:
            for index, maps in produced:
                partial.save(index, seg_keys[index], np.stack(maps))
                meter.update(len(maps))
            meter.close()
            write_predictions(output, partial.iter_maps(seg_keys), len(frames),
                              partial.state["meta"], dtype=MAP_DTYPE)
        except KeyboardInterrupt:
            log(f"interrupted: {meter.n:,} of {len(frames):,} frames are kept in "
                f"{partial.folder}; rerun the same command to continue")
            raise
        except AvatarBenchError as exc:
            if meter.n:
                exc.problems.append(f"{meter.n:,} of {len(frames):,} finished frames are kept "
                                    f"in {partial.folder}: rerun the same command to continue")
            raise
        finally:
            meter.close()
    except BaseException:
        partial.close()
        raise
    partial.discard()
    return PredictSummary(output=output, n_frames=len(frames), resumed_frames=done,
                          staged=stages is not None, workers=workers if stages else 0,
                          precision=precision)


__all__ = ["PredictError", "PredictSummary", "partial_path", "plan_segments", "run_predict"]
