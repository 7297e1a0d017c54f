"""The baselines' training objectives, term for term as their training code computes them.

* EZ-VSL: multiple-instance InfoNCE. Each (image n, audio m) pair scores the MAX over the
  image's h x w locations of cosine/tau; cross-entropy over audios for each image plus over
  images for each audio, with the matching pair as the target.
* SLAVC: two heads. Head 1 is softmaxed over the batch's audios at each location, head 2
  over the locations; the pair score is ``log sum_loc p1 * p2``. Targets come from the
  momentum encoders: image->audio uses online images vs momentum audio, the second term
  momentum images vs online audio; both are cross-entropies over audios (as in theirs).
* SSL-TIE: LVS-style contrast with a soft positive region ``sigmoid((A - 0.65) / 0.03)``, a
  tri-map background ``1 - sigmoid((A - 0.4) / 0.03)`` (hard negative), the other clips'
  positive-region responses as easy negatives, temperature 0.07, target index 0; applied to
  the image and to a transformed image (invariance), plus the MSE between the map of the
  transformed image and the transformed map (equivariance; rotation, scale, flip).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from avatar_bench.models.baselines.ezvsl import all_pairs_map
from avatar_bench.models.baselines.ssltie import EPSILON, EPSILON2, MASK_TAU, TEMPERATURE


def ezvsl_loss(img: torch.Tensor, aud: torch.Tensor, tau: float) -> torch.Tensor:
    """Symmetric max-over-locations InfoNCE; ``img`` (B,C,h,w), ``aud`` (B,C) unit vectors."""
    logits = all_pairs_map(img, aud, tau).flatten(-2).max(dim=-1).values     # (N images, M)
    labels = torch.arange(img.shape[0], device=img.device)
    return F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)


def _slavc_scores(img1: torch.Tensor, img2: torch.Tensor, aud1: torch.Tensor,
                  aud2: torch.Tensor, tau: float) -> torch.Tensor:
    """(N,M) log-scores: softmax over audios (head 1) x softmax over locations (head 2)."""
    p1 = F.softmax(all_pairs_map(img1, aud1, tau).flatten(-2), dim=1)
    p2 = F.softmax(all_pairs_map(img2, aud2, tau).flatten(-2), dim=2)
    return torch.log((p1 * p2).sum(2))


def slavc_loss(online_img: tuple[torch.Tensor, torch.Tensor],
               online_aud: tuple[torch.Tensor, torch.Tensor],
               target_img: tuple[torch.Tensor, torch.Tensor],
               target_aud: tuple[torch.Tensor, torch.Tensor], tau: float) -> torch.Tensor:
    """SLAVC's objective from the two heads of the online and momentum (target) encoders."""
    i2a = _slavc_scores(*online_img, *target_aud, tau)
    a2i = _slavc_scores(*target_img, *online_aud, tau)
    labels = torch.arange(i2a.shape[0], device=i2a.device)
    return F.cross_entropy(a2i, labels) + F.cross_entropy(i2a, labels)


def ssltie_logits(img: torch.Tensor, aud: torch.Tensor, epsilon: float = EPSILON,
                  epsilon2: float = EPSILON2, mask_tau: float = MASK_TAU,
                  temperature: float = TEMPERATURE) -> tuple[torch.Tensor, torch.Tensor]:
    """The map ``A`` (B,1,h,w) and logits [positive | B easy negatives | hard negative]/T.

    The own clip's column among the easy negatives is multiplied by -99 (their
    ``1 - 100 * eye`` mask), which removes it from the softmax in practice.
    """
    b = img.shape[0]
    a = torch.einsum("nchw,nc->nhw", img, aud).unsqueeze(1)
    a_all = torch.einsum("nchw,mc->nmhw", img, aud)
    pos = torch.sigmoid((a - epsilon) / mask_tau)
    neg = 1 - torch.sigmoid((a - epsilon2) / mask_tau)
    pos_all = torch.sigmoid((a_all - epsilon) / mask_tau)
    mask = 1 - 100 * torch.eye(b, device=img.device, dtype=img.dtype)
    easy = (pos_all * a_all).flatten(2).sum(-1) / pos_all.flatten(2).sum(-1) * mask
    sim_pos = (pos * a).flatten(2).sum(-1) / pos.flatten(2).sum(-1)
    sim_hard = (neg * a).flatten(2).sum(-1) / neg.flatten(2).sum(-1)
    return a, torch.cat((sim_pos, easy, sim_hard), dim=1) / temperature


def contrastive_ce(logits: torch.Tensor) -> torch.Tensor:
    """Cross-entropy with the positive at index 0 of every row."""
    return F.cross_entropy(logits, torch.zeros(logits.shape[0], dtype=torch.long,
                                               device=logits.device))


class RandomTransform:
    """SSL-TIE's transformation: rotation by an integer angle in [-max, max] per sample about
    the centre, one scale for the batch (1.0 or 0.5, even odds; the output is resized by it),
    and a horizontal flip of the batch with probability 0.5. Bilinear warps, zero padding.
    """

    def __init__(self, batch: int, max_angle: int = 45, generator: torch.Generator | None = None,
                 input_hw: tuple[int, int] = (224, 224)) -> None:
        g = generator
        self.input_hw = input_hw
        self.scale = 1.0 if torch.rand((), generator=g).item() > 0.5 else 0.5
        self.angles = torch.randint(-max_angle, max_angle + 1, (batch,), generator=g).float()
        self.flip = bool(torch.rand((), generator=g).item() > 0.5)

    def _theta(self, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """Normalised (align_corners=True) output->input affine for ``affine_grid``."""
        h, w = self.input_hw
        cx, cy = w / 2, h / 2
        rows = []
        for ang in self.angles.tolist():
            r = math.radians(ang)
            a, b = self.scale * math.cos(r), self.scale * math.sin(r)
            fwd = torch.tensor([[a, b, (1 - a) * cx - b * cy],
                                [-b, a, b * cx + (1 - a) * cy],
                                [0.0, 0.0, 1.0]], dtype=torch.float64)   # OpenCV convention
            norm = torch.tensor([[2 / (w - 1), 0, -1], [0, 2 / (h - 1), -1], [0, 0, 1]],
                                dtype=torch.float64)
            rows.append((norm @ torch.linalg.inv(fwd) @ torch.linalg.inv(norm))[:2])
        return torch.stack(rows).to(device=device, dtype=dtype)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Transform a (B,C,h,w) batch (images or maps); output side = int(side * scale)."""
        out_hw = [int(s * self.scale) for s in x.shape[-2:]]
        if tuple(x.shape[-2:]) != self.input_hw:
            x = F.interpolate(x, size=self.input_hw, mode="bilinear", align_corners=False)
        grid = F.affine_grid(self._theta(x.dtype, x.device), list(x.shape[:2]) + list(
            self.input_hw), align_corners=True)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
        x = F.interpolate(x, size=out_hw, mode="bilinear", align_corners=False)
        return x.flip(-1) if self.flip else x


def equivariance_mse(map_of_transformed: torch.Tensor,
                     transformed_map: torch.Tensor) -> torch.Tensor:
    """MSE between f(T(x)) and T(f(x)), resizing the latter when the sizes differ."""
    if transformed_map.shape[-2:] != map_of_transformed.shape[-2:]:
        transformed_map = F.interpolate(transformed_map, size=map_of_transformed.shape[-2:],
                                        mode="bilinear", align_corners=False)
    return F.mse_loss(map_of_transformed, transformed_map)
