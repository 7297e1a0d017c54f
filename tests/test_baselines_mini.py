"""Baseline adapters on AVATAR-mini (the generated benchmark) through the registry."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from avatar_bench.models import create  # noqa: E402
from avatar_bench.models.baselines.checkpoints import model_class, official_checkpoint  # noqa: E402


@pytest.mark.slow
@pytest.mark.parametrize("name,side", [("ezvsl", 7), ("ssltie", 14)])
def test_adapter_on_mini(mini, tmp_path, name, side):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    path = tmp_path / f"{name}.pth"
    torch.save(official_checkpoint(name, model_class(name)(), None, epoch=1), path)
    frames = mini.frames[:6]
    adapter = create(name, checkpoint=str(path), batch_size=4, audio_window=2.0)
    out = list(adapter.predict(mini, frames))
    assert [k for k, _ in out] == [f.key for f in frames]
    assert all(h.shape == (side, side) and np.isfinite(h).all() for _, h in out)
