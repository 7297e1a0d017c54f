"""Evaluator memory is bounded by design: large maps (up to the 2048x2048 maximum) are read,
validated and resized a few at a time, so peak memory does not grow with their number.

Each evaluation runs in a fresh subprocess; its peak resident memory (``VmHWM`` of the
child) is compared against the stated bound and against a run with fewer maps.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from avatar_bench.eval import write_predictions
from tests.fakeroot import instance, write_frame

#: docs/evaluation.md: at most 1 GB for any map up to 2048x2048.
BOUND_BYTES = 1 << 30
SIDE = 2048

CHILD = textwrap.dedent("""
    import json, sys
    from avatar_bench.data import AvatarDataset
    from avatar_bench.eval import Evaluator, Protocol
    ds = AvatarDataset(sys.argv[1], use_cache=False)
    r = Evaluator(ds, sys.argv[2], Protocol(bootstrap=100), workers=2).run()
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork/vfork + exec, so a child of a
    # large pytest process would report its parent's peak; VmHWM belongs to this image only.
    status = open("/proc/self/status").read().split("VmHWM:")[1].split()
    peak = int(status[0]) * 1024
    print(json.dumps({"peak": peak, "ciou": r["metrics"]["total"]["ciou"]}))
""")


def _root(tmp_path: Path, n: int) -> Path:
    root = tmp_path / f"root{n}"
    for i in range(n):
        box = (8 * (i % 40), 4 * (i % 40), 160, 90)
        scen = ("Single-Sound", "Mixed-Sound", "Multi-Entity")[i % 3]
        write_frame(root, f"v{i // 4:03d}_{i // 4:05d}", i % 4 + 1,
                    [instance(scen, "dog", box)], jpeg=False)
    return root


def _predictions(root: Path, path: Path, n: int) -> Path:
    keys = sorted(f"{p.parent.name}_{p.stem}" for p in (root / "metadata").glob("*/*.json"))
    assert len(keys) == n

    def maps():
        rng = np.random.default_rng(0)
        base = rng.random((SIDE // 64, SIDE // 64)).astype(np.float16)
        for i, k in enumerate(keys):
            yield k, np.kron(np.roll(base, i), np.ones((64, 64), np.float16))

    return write_predictions(path, maps(), n, {"model": "big"}, np.float16)


def _peak(root: Path, preds: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(root), str(preds)], check=True,
                         capture_output=True, text=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_peak_memory_is_bounded_and_independent_of_map_count(tmp_path):
    few_root, many_root = _root(tmp_path, 4), _root(tmp_path, 40)
    few = _peak(few_root, _predictions(few_root, tmp_path / "few.npz", 4))
    many_path = _predictions(many_root, tmp_path / "many.npz", 40)
    assert many_path.stat().st_size > 300e6  # 40 maps of 2048x2048 float16: 336 MB
    many = _peak(many_root, many_path)
    assert many["peak"] < BOUND_BYTES, many
    # Ten times the maps, about the same memory (chunks adapt to the map size).
    assert many["peak"] - few["peak"] < 200e6, (few, many)
