"""The audio-reliance probe: exact on hand-made cases, zero for a model that cannot hear."""

import dataclasses

import pytest

torch = pytest.importorskip("torch")

from avatar_bench.models.tavlo.config import TINY  # noqa: E402
from avatar_bench.models.tavlo.diagnose import audio_reliance  # noqa: E402
from avatar_bench.models.tavlo.model import TAVLO  # noqa: E402


def _inputs(cfg, b=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    frames = torch.randint(0, 256, (b, cfg.frames, cfg.image_size, cfg.image_size, 3),
                           dtype=torch.uint8, generator=g)
    audio = 0.3 * torch.randn(b, cfg.audio_samples, generator=g)
    return frames, audio


def _slow_positive(a, v, i, j):
    """mean over t of max over locations of cos(a[i, t], v[j, t, loc]), by loops."""
    total = 0.0
    for t in range(a.shape[1]):
        best = max(torch.nn.functional.cosine_similarity(a[i, t], v[j, t, n], dim=0).item()
                   for n in range(v.shape[2]))
        total += best
    return total / a.shape[1]


def test_figures_match_a_slow_reference():
    torch.manual_seed(0)
    cfg = dataclasses.replace(TINY, cross_modal_attention=False)
    model = TAVLO(cfg).train()
    frames, audio = _inputs(cfg)
    got = audio_reliance(model, frames, audio)
    assert model.training                               # the caller's mode is restored
    model.eval()
    with torch.no_grad():
        a, v = model(frames, audio)
        a2, v2 = model(frames, audio.roll(1, dims=0))
    b = frames.shape[0]
    own = sum(_slow_positive(a, v, i, i) for i in range(b)) / b
    swapped = sum(_slow_positive(a2, v2, i, i) for i in range(b)) / b
    other = sum(_slow_positive(a, v, i, (i - 1) % b) for i in range(b)) / b
    assert got["own"] == pytest.approx(own, abs=1e-5)
    assert got["swapped_audio"] == pytest.approx(swapped, abs=1e-5)
    assert got["other_frames"] == pytest.approx(other, abs=1e-5)
    assert got["reliance"] == pytest.approx(own - swapped, abs=1e-5)
    assert abs(got["reliance"]) > 1e-4                  # a random model does react to audio


def test_a_model_that_cannot_hear_has_zero_reliance():
    torch.manual_seed(0)
    model = TAVLO(TINY)
    model.encode_audio = lambda audio: torch.zeros(audio.shape[0], TINY.frames,
                                                   TINY.feature_dim)
    frames, audio = _inputs(TINY)
    got = audio_reliance(model, frames, audio)
    assert got["reliance"] == 0.0
    assert got["own"] == got["swapped_audio"]


def test_needs_two_windows():
    frames, audio = _inputs(TINY, b=1)
    with pytest.raises(ValueError, match="at least 2"):
        audio_reliance(TAVLO(TINY), frames, audio)


def test_benchmark_script_prints_one_line_per_checkpoint(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    from avatar_bench.models.tavlo.recipe import TAVLORecipe

    recipe = TAVLORecipe(config="tiny")
    model = recipe.build_model()
    path = tmp_path / "tiny.pth"
    torch.save(recipe.checkpoint(model, recipe.optimizer(model), 0), path)
    script = Path(__file__).parents[1] / "benchmarks" / "tavlo_audio_reliance.py"
    out = subprocess.run([sys.executable, str(script), str(path), str(path), "--clips", "2"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    rows = [json.loads(line) for line in out]
    assert len(rows) == 2 and rows[0] == rows[1]        # deterministic
    assert rows[0]["windows"] == 2 and rows[0]["cross_modal_attention"] is True
    assert rows[0]["reliance"] == pytest.approx(rows[0]["own"] - rows[0]["swapped_audio"],
                                                abs=2e-4)
