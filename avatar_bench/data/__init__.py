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
    "EVAL_SIZE", "SCENARIOS", "AvatarDataset", "Frame", "Instance", "frame_key",
    "open_dataset", "split_key",
]


def open_dataset(dataset: str | None = None, root: str | os.PathLike | None = None, *,
                 strict: bool = True, seed: int = 0) -> AvatarDataset:
    """Open ``mini`` (generated, cached) or the real AVATAR at ``root``.

    With neither given: the real dataset when ``AVATAR_ROOT``/the cache holds one, else mini.
    """
    if dataset not in (None, "mini", "avatar"):
        raise AvatarBenchError(f"unknown dataset {dataset!r}: expected 'mini' or 'avatar'")
    if dataset == "mini" and root is not None:
        raise AvatarBenchError("give either --dataset mini or --root DIR, not both")
    if dataset is None and root is None:
        real = resolve_root(None)
        dataset = "avatar" if (real / "metadata").is_dir() else "mini"
    if dataset == "mini":
        from avatar_bench.data.mini import ensure_mini

        return AvatarDataset(ensure_mini(seed=seed), name="AVATAR-mini", strict=strict)
    return AvatarDataset(resolve_root(root), name="AVATAR", strict=strict)


def mini_root(seed: int = 0) -> Path:
    from avatar_bench.data.mini import ensure_mini

    return ensure_mini(seed=seed)
