"""Decode/forward stages for the built-in torch adapters (EZ-VSL, SLAVC, SSL-TIE, TAVLO).

Each stage reuses the adapter's own input code (``BaselineAdapter.inputs``,
``TAVLOAdapter._video_inputs``) on a weight-free copy of the adapter, which is what worker
processes receive; ``forward`` is the adapter's batch computation with pinned, non-blocking
transfers on CUDA. Maps must equal the adapter's ``predict`` (tests/test_predict_stages.py).
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any

import numpy as np

from avatar_bench.data.annotations import Frame
from avatar_bench.data.index import AvatarDataset
from avatar_bench.models.base import Adapter, Stages

#: Autocast precisions the built-in models were checked with (tests/test_predict_devices.py).
PRECISIONS = ("bf16", "fp16")


def to_device(array: np.ndarray, device):
    """numpy -> tensor on ``device``; on CUDA through pinned memory, without blocking."""
    import torch

    tensor = torch.from_numpy(array)
    if torch.device(device).type != "cuda":
        return tensor
    return tensor.pin_memory().to(device, non_blocking=True)


def _weightless(adapter: Adapter) -> Adapter:
    """A shallow copy without the model, small enough to send to worker processes."""
    view = copy.copy(adapter)
    view.model = None
    if hasattr(view, "_audio"):
        view._audio = OrderedDict()
    return view


class _BaselinePrepare:
    def __init__(self, adapter: Adapter) -> None:
        self.view = _weightless(adapter)

    def __call__(self, dataset: AvatarDataset, frames: list[Frame]) -> list[Any]:
        return [self.view.inputs(dataset, f) for f in frames]


class _TAVLOPrepare:
    def __init__(self, adapter: Adapter) -> None:
        self.view = _weightless(adapter)

    def __call__(self, dataset: AvatarDataset, frames: list[Frame]) -> list[Any]:
        return self.view._video_inputs(dataset, frames[0].video_id, frames)


def _shape_runs(inputs: list[Any]) -> list[list[Any]]:
    """Consecutive inputs whose spectrograms share a shape (mixed native rates differ)."""
    runs: list[list[Any]] = []
    for x in inputs:
        if runs and runs[-1][0][1].shape == x[1].shape:
            runs[-1].append(x)
        else:
            runs.append([x])
    return runs


def baseline_stages(adapter: Adapter) -> Stages:
    model, device = adapter.model, adapter.device

    def forward(inputs: list[Any]) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for run in _shape_runs(inputs):
            img = to_device(np.stack([x[0] for x in run]), device)
            spec = to_device(np.stack([x[1] for x in run]), device)
            out.extend(model(img, spec).float().cpu().numpy())
        return out

    model.eval()
    return Stages(prepare=_BaselinePrepare(adapter), forward=forward,
                  batch_size=adapter.batch_size, device=str(device), precisions=PRECISIONS)


def tavlo_stages(adapter: Adapter) -> Stages:
    from avatar_bench.models.tavlo.model import localization_maps

    model, device, grid = adapter.model, adapter.device, adapter.cfg.grid

    def forward(inputs: list[Any]) -> list[np.ndarray]:
        frames = to_device(np.stack([c[0] for c in inputs]), device)
        audio = to_device(np.stack([c[1] for c in inputs]), device)
        a, v = model(frames, audio)
        heat = localization_maps(a, v, grid).float().cpu().numpy()
        return [heat[b, c[2]].astype(np.float32) for b, c in enumerate(inputs)]

    model.eval()
    return Stages(prepare=_TAVLOPrepare(adapter), forward=forward,
                  batch_size=adapter.batch_size, device=str(device), within_clip=True,
                  precisions=PRECISIONS)


def builtin_stages(adapter: Adapter) -> Stages | None:
    """Stages for a built-in torch adapter; None for anything else."""
    if not adapter.requires_torch:
        return None
    from avatar_bench.models.baselines.adapters import BaselineAdapter
    from avatar_bench.models.tavlo.adapter import TAVLOAdapter

    if isinstance(adapter, BaselineAdapter):
        return baseline_stages(adapter)
    if isinstance(adapter, TAVLOAdapter):
        return tavlo_stages(adapter)
    return None
