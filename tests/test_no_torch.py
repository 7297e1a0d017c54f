"""Evaluation must work without torch; torch models must say how to get it, not crash.

The CLI runs in a subprocess whose first import hook refuses ``torch`` and ``torch.*`` the way a
missing install does (ModuleNotFoundError, name='torch') and logs every attempt to a file, so
a test sees even an import that the code caught and recovered from.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.fakeroot import instance, write_frame

RUNNER = """
import os, sys
class BlockTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            with open(os.environ["TORCH_IMPORT_LOG"], "a") as log:
                log.write(name + "\\n")
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, BlockTorch())
sys.argv[0] = "avatar-bench"
from avatar_bench.cli import main
main()
"""


def _cli(*args: str, cwd) -> subprocess.CompletedProcess:
    env = dict(os.environ, TORCH_IMPORT_LOG=str(cwd / "torch_imports.log"))
    return subprocess.run([sys.executable, "-c", RUNNER, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _torch_imports(cwd) -> list[str]:
    """Every import of torch or a torch submodule attempted so far in ``cwd``'s runs."""
    log = cwd / "torch_imports.log"
    return log.read_text().split() if log.exists() else []


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
    # The uniform map ties every pixel: cIoU = GT share = 240 * 160 / (640 * 360), TN = 0.
    res = _cli("predict", "--model", "uniform", "--root", str(root), "-o", "u.npz",
               cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    res = _cli("evaluate", "u.npz", "--root", str(root), "--output", "u.json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    uniform = json.loads((tmp_path / "u.json").read_text())
    assert uniform["metrics"]["single_sound"]["ciou"] == round(38400 / 230400 * 100, 6)
    assert uniform["off_screen"]["tn"] == 0.0
    res = _cli("evaluate", "p.npz", "--root", str(root), "--per-frame", "f.csv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    res = _cli("compare", "f.csv", "f.csv", "--bootstrap", "10", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "+0.00" in res.stdout
    assert _torch_imports(tmp_path) == []  # not even an attempt that was caught


def test_the_blocker_sees_an_import_of_torch(tmp_path):
    """The check above can fail: a command that does import torch is logged and refused."""
    res = _cli("predict", "--model", "tavlo", "--dataset", "mini", "-o", "x.npz", cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert "torch" in _torch_imports(tmp_path)


def test_torch_models_and_training_explain_the_missing_extra(tmp_path):
    for args in (["predict", "--model", "tavlo", "--dataset", "mini", "-o", "x.npz"],
                 ["train", "--model", "ezvsl", "--steps", "1"]):
        res = _cli(*args, cwd=tmp_path)
        assert res.returncode == 2, (args, res.stderr)
        assert "pip install 'avatar-bench[models]'" in res.stderr
        assert "Traceback" not in res.stderr
