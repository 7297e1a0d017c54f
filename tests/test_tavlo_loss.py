"""TAVLO's frame-level MIL contrastive loss: definition, swaps, and that it trains."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from avatar_bench.models.tavlo.config import TINY  # noqa: E402
from avatar_bench.models.tavlo.loss import frame_mil_loss, mil_logits  # noqa: E402
from avatar_bench.models.tavlo.model import TAVLO  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(1)
    torch.manual_seed(0)


def _features(b=3, t=2, n=5, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, t, d, generator=g), torch.randn(b, t, n, d, generator=g)


def test_logits_are_max_for_positives_and_mean_for_negatives():
    a, v = _features()
    tau = 0.1
    av, va = mil_logits(a, v, tau)
    assert av.shape == va.shape == (2, 3, 3)
    for t in range(2):
        for i in range(3):
            for j in range(3):
                cos_ij = F.cosine_similarity(a[i, t][None], v[j, t], dim=-1)  # audio i, bag j
                cos_ji = F.cosine_similarity(a[j, t][None], v[i, t], dim=-1)  # bag i, audio j
                if i == j:
                    assert av[t, i, j] == pytest.approx(cos_ij.max().item() / tau, abs=1e-5)
                    assert va[t, i, j] == pytest.approx(cos_ij.max().item() / tau, abs=1e-5)
                else:
                    assert av[t, i, j] == pytest.approx(cos_ij.mean().item() / tau, abs=1e-5)
                    assert va[t, i, j] == pytest.approx(cos_ji.mean().item() / tau, abs=1e-5)


def test_loss_is_symmetric_cross_entropy_averaged_over_time():
    a, v = _features(seed=1)
    tau = 0.07
    av, va = mil_logits(a, v, tau)
    target = torch.arange(3)
    want = sum(F.cross_entropy(av[t], target) + F.cross_entropy(va[t], target)
               for t in range(2)) / 2
    got = frame_mil_loss(a, v, tau)
    assert got.item() == pytest.approx(want.item(), rel=1e-6)
    assert math.isfinite(got.item()) and got.item() > 0


def test_max_pool_ablation_differs_from_the_paper_mean():
    a, v = _features(seed=2)
    assert frame_mil_loss(a, v, negative_pool="max") > frame_mil_loss(a, v)


def test_positive_pairs_follow_an_audio_swap():
    a, v = _features(b=4, seed=3)
    perm = torch.tensor([1, 0, 2, 3])               # swap the audio of videos 0 and 1
    av, _ = mil_logits(a, v, 0.1)
    av_sw, _ = mil_logits(a[perm], v, 0.1)
    # Row i of the swapped logits is audio perm[i]; its "positive" (diagonal) is now
    # max over bag i of audio perm[i], and audio perm[i]'s true bag is a mean-pooled negative.
    sim = torch.einsum("itd,jtnd->tijn", F.normalize(a, dim=-1), F.normalize(v, dim=-1))
    assert av_sw[:, 0, 0] == pytest.approx(sim[:, 1, 0].amax(-1) / 0.1, abs=1e-5)
    assert av_sw[:, 0, 1] == pytest.approx(sim[:, 1, 1].mean(-1) / 0.1, abs=1e-5)
    assert torch.allclose(av_sw[:, 2:, 2:], av[:, 2:, 2:])


def _fixed_batch(cfg, b=4):
    """Videos whose audio loudness tells which frames' square is bright: learnable pairs."""
    g = torch.Generator().manual_seed(5)
    frames = torch.randint(0, 40, (b, cfg.frames, cfg.image_size, cfg.image_size, 3),
                           dtype=torch.uint8, generator=g)
    audio = torch.randn(b, cfg.audio_samples, generator=g) * 0.01
    for i in range(b):
        y, x = (i // 2) * 32, (i % 2) * 32
        frames[i, :, y:y + 24, x:x + 24] = 255
        tone = torch.sin(torch.arange(cfg.audio_samples) * (0.05 + 0.3 * i))
        audio[i] += 0.5 * tone
    return frames, audio


@pytest.mark.parametrize("pool", ["mean", "max"])
def test_loss_decreases_on_a_fixed_batch_and_prefers_matched_audio(pool):
    cfg = TINY
    model = TAVLO(cfg)
    frames, audio = _fixed_batch(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)
    losses = []
    for _ in range(6):
        loss = frame_mil_loss(*model(frames, audio), cfg.temperature, pool)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(math.isfinite(x) and x > 0 for x in losses)
    assert losses[-1] < losses[0]
    model.eval()
    with torch.no_grad():
        matched = frame_mil_loss(*model(frames, audio), cfg.temperature, pool)
        swapped = frame_mil_loss(*model(frames, audio[[1, 0, 3, 2]]), cfg.temperature, pool)
    assert swapped > matched
