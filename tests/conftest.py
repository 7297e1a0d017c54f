"""Shared fixtures. Every test runs with a private avatar-bench cache (no user state)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_SESSION_CACHE: Path | None = None


def pytest_configure(config):
    global _SESSION_CACHE
    import tempfile

    _SESSION_CACHE = Path(tempfile.mkdtemp(prefix="avatar-bench-test-cache-"))
    os.environ["AVATAR_BENCH_CACHE"] = str(_SESSION_CACHE)
    os.environ["AVATAR_BENCH_QUIET"] = "1"
    os.environ.pop("AVATAR_ROOT", None)
    os.environ["HF_HUB_OFFLINE"] = "0"


def pytest_unconfigure(config):
    """Remove the session cache (AVATAR-mini, index caches: ~34 MB) however the run ended."""
    import shutil

    if _SESSION_CACHE is not None:
        shutil.rmtree(_SESSION_CACHE, ignore_errors=True)


@pytest.fixture(scope="session")
def mini_root() -> Path:
    """AVATAR-mini generated once per test session (default seed and size)."""
    from avatar_bench.data.mini import ensure_mini

    return ensure_mini(seed=0)


@pytest.fixture(scope="session")
def mini(mini_root):
    from avatar_bench.data import AvatarDataset

    return AvatarDataset(mini_root, name="AVATAR-mini")
