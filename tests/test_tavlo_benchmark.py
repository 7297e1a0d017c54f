"""The GPU benchmark script also runs on CPU (smoke test with the tiny config)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch
SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "tavlo_gpu.py"


def test_benchmark_runs_on_cpu(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("tavlo_gpu", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "bench.json"
    result = bench.main(["--device", "cpu", "--config", "tiny", "--steps", "1", "--warmup",
                         "0", "--batch-sizes", "2", "--infer-batch", "2", "--threads", "1",
                         "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(capsys.readouterr().out)
    train = result["train"][0]
    assert train["batch_size"] == 2 and train["clips_per_s"] > 0 and "error" not in train
    assert result["infer"]["annotated_frames_per_s"] > 0 and result["amp_bf16"] is False
    assert result["model_config"]["frames"] == 4
