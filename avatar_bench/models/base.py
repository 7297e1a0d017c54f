"""The one interface every model shares: reference predictors, baselines, TAVLO, yours.

An adapter turns (dataset, frames) into heatmaps. It may batch, cache clips, and run on any
device internally; it must be deterministic for a fixed configuration and seed.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from avatar_bench.data.annotations import Frame
from avatar_bench.data.index import AvatarDataset


@dataclass
class Stages:
    """An adapter split in two, so that ``avatar-bench predict`` can overlap them.

    ``prepare(dataset, frames)`` turns the annotated frames of ONE clip into one input per
    frame (decoding, resizing, spectrograms); it runs in DataLoader worker processes, so it
    must be picklable and hold no model weights. ``forward(inputs)`` turns up to
    ``batch_size`` inputs into as many 2-D maps; it runs in the main process, inside
    ``torch.autocast`` when a reduced precision is asked for. ``within_clip`` keeps a batch
    to one clip's frames (for models whose batches must not mix clips). ``precisions`` lists
    what autocast the model tolerates besides ``"fp32"``. ``device`` is where ``forward``
    runs (``"cpu"``, ``"cuda"``, ``"cuda:1"``): on CUDA, inputs are pinned first.
    """

    prepare: Callable[[AvatarDataset, list[Frame]], list[Any]]
    forward: Callable[[list[Any]], list[np.ndarray]]
    batch_size: int
    device: str = "cpu"
    within_clip: bool = False
    precisions: tuple[str, ...] = ()


class Adapter(ABC):
    """Base class for a model that predicts one heatmap per annotated frame.

    Subclasses set ``name`` and ``description`` and implement ``predict``. Constructor
    keyword arguments are the CLI's options (``checkpoint``, ``device``, ``audio_window``,
    ``batch_size``, ``seed``); unknown ones should raise ``AvatarBenchError``.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: True when the adapter needs the ``models`` extra (torch).
    requires_torch: ClassVar[bool] = False

    def __init__(self, **options: Any) -> None:
        self.options = options

    @abstractmethod
    def predict(self, dataset: AvatarDataset,
                frames: list[Frame]) -> Iterator[tuple[str, np.ndarray]]:
        """Yield ``(frame.key, heatmap)`` for every frame, in the given order.

        Heatmaps are 2-D float arrays of one fixed size per adapter; higher means more
        likely sounding. The evaluator resizes them to its resolution.
        """

    def stages(self) -> Stages | None:
        """The adapter as decode + forward stages, or None to be run through ``predict``.

        Torch models should provide stages: ``predict`` then decodes in worker processes while
        the model runs. ``predict`` stays the reference the stages must agree with.
        """
        return None

    def meta(self) -> dict[str, Any]:
        """Provenance stored in the predictions file's ``meta`` (JSON-serialisable)."""
        options = {k: v for k, v in sorted(self.options.items())
                   if isinstance(v, (str, int, float, bool))}
        if options.get("checkpoint"):
            options["checkpoint"] = checkpoint_record(options["checkpoint"])
        return {"model": self.name, "options": options}


def checkpoint_record(path: str | os.PathLike | None) -> dict[str, str] | None:
    """Name and sha256 of a weights file: identifies the weights, not the machine's paths."""
    if not path:
        return None
    path = Path(path)
    digest = hashlib.sha256()
    with path.open("rb") as fp:
        for block in iter(lambda: fp.read(1 << 20), b""):
            digest.update(block)
    return {"file": path.name, "sha256": digest.hexdigest()}
