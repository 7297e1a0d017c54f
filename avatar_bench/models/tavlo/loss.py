"""TAVLO's frame-level multiple-instance contrastive loss (paper section 4.3).

EZ-VSL's cross-modal MIL loss made frame-level: at time t, the audio token of video i is
paired with the bag of all locations of its own visual map (positive: MAX over the bag, "at
least one location sounds") and with the bags of the other videos at the same t (negatives:
MEAN over the bag, which the paper prefers to EZ-VSL's max for stability). InfoNCE over the
batch in both directions; L = L_a->v + L_v->a, averaged over t and videos.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def similarity(a: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """S[t, i, j, loc] = cos(A_i(t), V_j(t, loc)) in float32; a (B,T,D), v (B,T,N,D)."""
    a = F.normalize(a.float(), dim=-1)
    v = F.normalize(v.float(), dim=-1)
    return torch.einsum("itd,jtnd->tijn", a, v)


def mil_logits(a: torch.Tensor, v: torch.Tensor, temperature: float,
               negative_pool: str = "mean") -> tuple[torch.Tensor, torch.Tensor]:
    """Per-frame logits (T, B, B) for both directions; the target of row i is column i.

    ``av[t, i, j]``: audio of video i against the visual bag of video j.
    ``va[t, i, j]``: visual bag of video i against the audio of video j.
    The diagonal holds the positive response (max over locations), the rest the negative
    responses (mean over locations; ``negative_pool="max"`` gives EZ-VSL's max instead, an
    ablation the paper argues against).
    """
    sim = similarity(a, v)                                   # (T, B, B, N)
    positive = sim.diagonal(dim1=1, dim2=2).amax(dim=1)      # (T, B): max over the own bag
    # (T, B, B): pooled over each bag
    negative = sim.mean(dim=-1) if negative_pool == "mean" else sim.amax(dim=-1)
    eye = torch.eye(sim.shape[1], dtype=torch.bool, device=sim.device)
    av = torch.where(eye, torch.diag_embed(positive), negative)
    va = torch.where(eye, torch.diag_embed(positive), negative.transpose(1, 2))
    return av / temperature, va / temperature


def frame_mil_loss(a: torch.Tensor, v: torch.Tensor, temperature: float = 0.07,
                   negative_pool: str = "mean") -> torch.Tensor:
    """L = L_a->v + L_v->a, each a cross-entropy over the batch averaged over frames/videos."""
    av, va = mil_logits(a, v, temperature, negative_pool)
    t, b, _ = av.shape
    target = torch.arange(b, device=av.device).repeat(t)
    return (F.cross_entropy(av.reshape(t * b, b), target)
            + F.cross_entropy(va.reshape(t * b, b), target))
