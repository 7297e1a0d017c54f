"""Shared fixtures. Every test runs with a private avatar-bench cache (no user state)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from avatar_bench.fsio import pid_alive

_SESSION_CACHE: Path | None = None


CACHE_PREFIX = "avatar-bench-test-cache-"


def sweep_dead_session_caches(tmp: Path) -> list[Path]:
    """Remove session caches whose pytest process is gone (a killed run cannot clean up)."""
    import shutil

    removed = []
    for path in tmp.glob(f"{CACHE_PREFIX}*-*"):
        pid = path.name[len(CACHE_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def pytest_configure(config):
    global _SESSION_CACHE
    import tempfile

    tmp = Path(tempfile.gettempdir())
    sweep_dead_session_caches(tmp)
    _SESSION_CACHE = Path(tempfile.mkdtemp(prefix=f"{CACHE_PREFIX}{os.getpid()}-"))
    os.environ["AVATAR_BENCH_CACHE"] = str(_SESSION_CACHE)
    os.environ["AVATAR_BENCH_QUIET"] = "1"
    os.environ.pop("AVATAR_ROOT", None)
    os.environ["HF_HUB_OFFLINE"] = "0"


def pytest_unconfigure(config):
    """Remove the session cache (AVATAR-mini, index caches: ~34 MB) however the run ended;
    a run killed before this point is swept by the next run's ``pytest_configure``."""
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
