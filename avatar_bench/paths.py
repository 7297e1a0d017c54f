"""Where data lives: ``--root``, then ``AVATAR_ROOT``, then a per-user cache directory."""

from __future__ import annotations

import os
from pathlib import Path


def cache_home() -> Path:
    """Per-user cache for avatar-bench (downloads, AVATAR-mini, index caches).

    ``AVATAR_BENCH_CACHE`` overrides it (tests point it at a temp dir).
    """
    env = os.environ.get("AVATAR_BENCH_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "avatar-bench"


def default_real_root() -> Path:
    """Where ``download`` puts the real AVATAR when no root is given."""
    return cache_home() / "AVATAR"


def resolve_root(root: str | os.PathLike | None) -> Path:
    """Resolve the real dataset's root: explicit argument, ``AVATAR_ROOT``, per-user cache."""
    if root:
        return Path(root).expanduser()
    env = os.environ.get("AVATAR_ROOT")
    if env:
        return Path(env).expanduser()
    return default_real_root()
