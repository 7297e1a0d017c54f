"""Datasets: the real AVATAR (from the Hub) and the built-in generated AVATAR-mini.

``open_dataset`` is the one entry point the CLI and the evaluator use.
"""

from __future__ import annotations

import os
from pathlib import Path

from avatar_bench.data.annotations import SCENARIOS, Frame, Instance, frame_key, split_key
from avatar_bench.data.index import EVAL_SIZE, AvatarDataset
from avatar_bench.errors import AvatarBenchError
from avatar_bench.paths import resolve_root

__all__ = [
    "DATASETS", "EVAL_SIZE", "MINI_DATASETS", "SCENARIOS", "AvatarDataset", "Frame", "Instance",
    "frame_key", "open_dataset", "split_key",
]


#: ``--dataset`` names of the generated benchmark -> AVATAR-mini world version.
MINI_DATASETS: dict[str, int] = {"mini": 1, "mini-v2": 2}
DATASETS: tuple[str, ...] = (*MINI_DATASETS, "avatar")


def open_dataset(dataset: str | None = None, root: str | os.PathLike | None = None, *,
                 strict: bool = True, seed: int = 0) -> AvatarDataset:
    """Open ``mini`` (AVATAR-mini v1, generated, cached), ``mini-v2`` or the real AVATAR at
    ``root``.

    With neither given: the real dataset when ``AVATAR_ROOT``/the cache holds one, else mini
    (v1: the default benchmark until the v2 study is committed).
    """
    if dataset not in (None, *DATASETS):
        raise AvatarBenchError(f"unknown dataset {dataset!r}: expected one of "
                               f"{', '.join(repr(d) for d in DATASETS)}")
    if dataset in MINI_DATASETS and root is not None:
        raise AvatarBenchError(f"give either --dataset {dataset} or --root DIR, not both")
    if dataset is None and root is None:
        real = resolve_root(None)
        dataset = "avatar" if (real / "metadata").is_dir() else "mini"
    if dataset in MINI_DATASETS:
        return AvatarDataset(mini_root(seed, MINI_DATASETS[dataset]), name="AVATAR-mini",
                             strict=strict)
    return AvatarDataset(resolve_root(root), name="AVATAR", strict=strict)


def mini_root(seed: int = 0, version: int = 1) -> Path:
    """Root of the generated AVATAR-mini (world ``version``), built on first use."""
    from avatar_bench.data.mini import ensure_mini

    return ensure_mini(seed=seed, version=version)
