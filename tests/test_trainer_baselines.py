"""The shared trainer drives the three baseline recipes: steps, official checkpoints, resume."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from avatar_bench.train.trainer import CHECKPOINT, TrainConfig, train  # noqa: E402

pytestmark = pytest.mark.torch

#: The top-level keys of each official checkpoint layout (REFERENCE.md section 4).
LAYOUT = {"ezvsl": {"model", "optimizer", "epoch"}, "slavc": {"model", "optimizer", "epoch"},
          "ssltie": {"state_dict", "optimizer", "epoch"}}


@pytest.mark.parametrize("name", ["ezvsl", "slavc", "ssltie"])
def test_baseline_trains_checkpoints_officially_and_resumes(name, tmp_path):
    torch.set_num_threads(1)
    cfg = dict(model=name, recipe_options={"image_size": 32, "audio_window": 0.5},
               data="synthetic", batch_size=2, num_workers=0, device="cpu",
               checkpoint_dir=str(tmp_path), log_every=0)
    first = train(TrainConfig(steps=1, **cfg))
    assert first.step == 1 and torch.isfinite(torch.tensor(first.final_loss))
    ckpt = torch.load(tmp_path / CHECKPOINT, weights_only=False)
    assert LAYOUT[name] <= set(ckpt)
    weights = ckpt.get("model", ckpt.get("state_dict"))
    assert not any(k.startswith("module.") for k in weights)
    second = train(TrainConfig(steps=2, resume=True, **cfg))
    assert second.step == 2 and len(second.losses) == 1
