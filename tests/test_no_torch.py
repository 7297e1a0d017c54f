"""Evaluation must work without torch; torch models must say how to get it, not crash."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.fakeroot import instance, write_frame

# Block torch the way a missing install does (ModuleNotFoundError, name='torch').
RUNNER = ("import sys; sys.modules['torch'] = None; sys.argv[0] = 'avatar-bench'; "
          "from avatar_bench.cli import main; main()")


def _cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", RUNNER, *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_predict_evaluate_without_torch(tmp_path):
    root = tmp_path / "root"
    write_frame(root, "vid_a_00010", 5, [instance("Single-Sound", "dog", (200, 100, 240, 160))])
    write_frame(root, "vid_a_00010", 50, [instance("Off-Screen", "dog", None)])
    res = _cli("predict", "--model", "center-prior", "--root", str(root), "-o", "p.npz",
               cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    res = _cli("evaluate", "p.npz", "--root", str(root), "--output", "r.json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    results = json.loads((tmp_path / "r.json").read_text())
    assert results["metrics"]["single_sound"]["n_frames"] == 1
    res = _cli("evaluate", "p.npz", "--root", str(root), "--per-frame", "f.csv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    res = _cli("compare", "f.csv", "f.csv", "--bootstrap", "10", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "+0.00" in res.stdout


def test_torch_models_and_training_explain_the_missing_extra(tmp_path):
    for args in (["predict", "--model", "tavlo", "--dataset", "mini", "-o", "x.npz"],
                 ["train", "--model", "ezvsl", "--steps", "1"]):
        res = _cli(*args, cwd=tmp_path)
        assert res.returncode == 2, (args, res.stderr)
        assert "pip install 'avatar-bench[models]'" in res.stderr
        assert "Traceback" not in res.stderr
