"""Reference predictors: numpy-only floors that every results table should beat (center-prior,
uniform, random) and a GT-shaped reference (oracle). They also test the evaluator, because
their scores follow from the ground truth alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from avatar_bench.data.annotations import Frame
from avatar_bench.data.index import AvatarDataset
from avatar_bench.errors import AvatarBenchError
from avatar_bench.models.base import Adapter

#: Maps are small: the evaluator resizes them, so 90x160 keeps files light at 16:9.
MAP_SIZE: tuple[int, int] = (90, 160)
_ACCEPTED = {"seed", "device", "batch_size", "audio_window", "checkpoint"}


class ReferenceAdapter(Adapter):
    """Shared option check: reference models take the CLI's options and ignore most."""

    def __init__(self, **options: Any) -> None:
        unknown = set(options) - _ACCEPTED
        if unknown:
            raise AvatarBenchError(f"model {self.name!r}: unknown option(s) "
                                   f"{', '.join(sorted(unknown))}")
        if options.get("checkpoint"):
            raise AvatarBenchError(f"model {self.name!r} has no checkpoint")
        super().__init__(**options)

    def _map(self, dataset: AvatarDataset, frame: Frame) -> np.ndarray:
        raise NotImplementedError

    def predict(self, dataset: AvatarDataset, frames: list[Frame]
                ) -> Iterator[tuple[str, np.ndarray]]:
        for f in frames:
            yield f.key, self._map(dataset, f)


class CenterPrior(ReferenceAdapter):
    """Objects tend to sit near the image centre: an isotropic Gaussian in normalised units."""

    name = "center-prior"
    description = "Centred Gaussian (sigma = 0.25 of each side); no input used"
    SIGMA = 0.25

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        h, w = MAP_SIZE
        y = (np.arange(h) + 0.5) / h - 0.5
        x = (np.arange(w) + 0.5) / w - 0.5
        d2 = y[:, None] ** 2 + x[None, :] ** 2
        self._prior = np.exp(-d2 / (2 * self.SIGMA ** 2)).astype(np.float32)

    def _map(self, dataset: AvatarDataset, frame: Frame) -> np.ndarray:
        return self._prior


class Uniform(ReferenceAdapter):
    """A constant map: every pixel ties at the threshold, so every pixel is positive."""

    name = "uniform"
    description = "Constant map (all pixels positive; cIoU = GT share, TN = 0)"

    def _map(self, dataset: AvatarDataset, frame: Frame) -> np.ndarray:
        return np.ones(MAP_SIZE, np.float32)


class Random(ReferenceAdapter):
    """Uniform noise, seeded per (seed, frame key): the same frame always gets the same map."""

    name = "random"
    description = "Uniform noise in [0, 1), deterministic per frame key and --seed"

    def _map(self, dataset: AvatarDataset, frame: Frame) -> np.ndarray:
        seed = int(self.options.get("seed", 0))
        digest = hashlib.sha256(f"{seed}:{frame.key}".encode()).digest()
        rng = np.random.Generator(np.random.PCG64(int.from_bytes(digest[:8], "little")))
        return rng.random(MAP_SIZE, dtype=np.float32)


class Oracle(ReferenceAdapter):
    """The frame's total on-screen GT first, then its surroundings by distance.

    Inside the GT (at 90x160) the map is 1; outside it falls off as ``0.5 * exp(-d / 4)`` with
    ``d`` the distance in map pixels to the nearest GT pixel (0 on frames without on-screen
    GT). A plain 0/1 mask would tie every background pixel at 0: when the GT covers less than
    ``--top-percent`` of all pixels the global threshold becomes 0 and every pixel positive.
    With the falloff, the positives are the GT plus the nearest ring on every frame: a perfect
    localiser spending the top-k% budget evenly (not an upper bound, see docs/evaluation.md).
    """

    name = "oracle"
    description = "Ground truth of the frame (all on-screen instances), then distance falloff"
    FALLOFF_PX = 4.0

    def _map(self, dataset: AvatarDataset, frame: Frame) -> np.ndarray:
        from scipy.ndimage import distance_transform_edt

        gt = dataset.gt_mask(frame, "total", MAP_SIZE)
        if not gt.any():
            return np.zeros(MAP_SIZE, np.float32)
        dist = distance_transform_edt(~gt)
        out = np.where(gt, 1.0, 0.5 * np.exp(-dist / self.FALLOFF_PX))
        return out.astype(np.float32)
