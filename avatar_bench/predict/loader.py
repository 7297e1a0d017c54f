"""The decoding side of the staged pipeline: one clip per item, in DataLoader workers."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch.utils.data

from avatar_bench.data.annotations import Frame
from avatar_bench.data.index import AvatarDataset

#: Least clips each worker prepares ahead (more when clips are short: see ``prefetch``).
PREFETCH = 2


@dataclass
class Failure:
    """A clip whose inputs could not be prepared (exceptions do not cross processes whole)."""

    message: str
    traceback: str


class ClipInputs(torch.utils.data.Dataset):
    """Item ``i``: ``prepare(dataset, clips[i])``, or a ``Failure``."""

    def __init__(self, dataset: AvatarDataset, prepare: Callable, clips: list[list[Frame]]
                 ) -> None:
        self.dataset, self.prepare, self.clips = dataset, prepare, clips

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> list[Any] | Failure:
        try:
            return list(self.prepare(self.dataset, self.clips[i]))
        except Exception as exc:
            return Failure(f"{type(exc).__name__}: {exc}" if not _user_error(exc) else str(exc),
                           "".join(traceback.format_exception(exc)))


def _user_error(exc: Exception) -> bool:
    from avatar_bench.errors import AvatarBenchError

    return isinstance(exc, AvatarBenchError)


def _as_is(item: Any) -> Any:
    return item


def prefetch(clips: list[list[Frame]], batch_size: int, workers: int) -> int:
    """Clips per worker to keep ready: two batches' worth of frames in all, so the forward
    never waits while a batch is being filled (memory: two batches of inputs)."""
    per_clip = sum(len(c) for c in clips) / max(len(clips), 1)
    return max(PREFETCH, -(-2 * batch_size // max(1, int(per_clip * max(workers, 1)))))


def clip_loader(dataset: AvatarDataset, prepare: Callable, clips: list[list[Frame]],
                workers: int, batch_size: int = 1) -> Iterable[list[Any] | Failure]:
    """Prepared clips in order; ``workers`` = 0 prepares them in this process."""
    kwargs: dict[str, Any] = {}
    if workers > 0:
        kwargs = {"prefetch_factor": prefetch(clips, batch_size, workers),
                  "persistent_workers": False}
    return torch.utils.data.DataLoader(ClipInputs(dataset, prepare, clips), batch_size=None,
                                       shuffle=False, num_workers=workers, collate_fn=_as_is,
                                       **kwargs)
