"""A test run leaves no avatar-bench cache folder behind in the temp directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _inner_pytest(tmp: Path) -> subprocess.CompletedProcess:
    """One quick test in a child pytest whose temp directory is ``tmp``."""
    env = dict(os.environ, TMPDIR=str(tmp))
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_cli_quiet.py::test_without_quiet_nothing_is_silenced"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    return res


def test_pytest_session_removes_its_cache(tmp_path):
    res = _inner_pytest(tmp_path)
    assert "1 passed" in res.stdout
    assert not list(tmp_path.glob("avatar-bench-test-cache-*"))


def test_a_killed_runs_cache_is_swept_by_the_next_run(tmp_path):
    """A cache named for a pid that no longer runs is removed; a live one is kept."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f"avatar-bench-test-cache-{dead}-abc"
    live = tmp_path / f"avatar-bench-test-cache-{os.getpid()}-def"
    for d in (stale, live):
        (d / "mini").mkdir(parents=True)
    _inner_pytest(tmp_path)
    assert not stale.exists()
    assert live.exists()
