"""TAVLO behind the common ``Adapter`` interface.

For each annotated frame: a T-frame window of its clip at the model's stride, containing the
frame (at position T//2, shifted by whole strides near the clip edges), and the matching
audio span (one ``frame_interval`` per frame) -> the model -> that frame's h x w cosine map
(float32, raw: no min-max normalisation, so the evaluator's global threshold applies).
Frames are grouped by clip; each clip's frames and audio are decoded once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import torch

from avatar_bench.data.annotations import Frame
from avatar_bench.data.index import AvatarDataset
from avatar_bench.errors import AvatarBenchError
from avatar_bench.models.base import Adapter
from avatar_bench.models.tavlo.config import audio_window, frame_window, load_config
from avatar_bench.models.tavlo.model import TAVLO, localization_maps
from avatar_bench.models.tavlo.preprocess import audio_segment, resize_frames
from avatar_bench.models.tavlo.recipe import load_model

OPTIONS = ("checkpoint", "device", "batch_size", "seed", "config", "audio_window")


class TAVLOAdapter(Adapter):
    """Options: ``checkpoint`` (from ``avatar-bench train --model tavlo``; None = random
    init, flagged in meta), ``device`` ("cpu" | "cuda"; default cuda when visible),
    ``batch_size`` (windows per forward, 8), ``seed`` (0), ``config`` (preset or JSON for a
    random init; a checkpoint carries its own). ``audio_window`` is fixed by the model
    (T x frame_interval) and must be left unset."""

    name: ClassVar[str] = "tavlo"
    description: ClassVar[str] = ("TAVLO: ResNet-18 frames + per-frame audio tokens through "
                                  "factorised audio-spatial-temporal attention")
    requires_torch: ClassVar[bool] = True

    def __init__(self, **options: Any) -> None:
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise AvatarBenchError(f"model 'tavlo': unknown option(s) {', '.join(unknown)}; "
                                   f"valid: {', '.join(OPTIONS)}")
        super().__init__(**{k: v for k, v in options.items() if v is not None})
        opt = self.options
        if "audio_window" in opt:
            raise AvatarBenchError("model 'tavlo': the audio span is fixed by the model (one "
                                   "frame_interval per input frame); do not pass audio_window")
        device = str(opt.get("device", "cuda" if torch.cuda.is_available() else "cpu"))
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise AvatarBenchError("model 'tavlo': --device cuda but no CUDA device is visible")
        self.device = torch.device(device)
        self.batch_size = int(opt.get("batch_size", 8))
        if self.batch_size < 1:
            raise AvatarBenchError(f"batch_size must be >= 1, got {self.batch_size}")
        torch.manual_seed(int(opt.get("seed", 0)))
        self.checkpoint = opt.get("checkpoint")
        if self.checkpoint:
            self.model: TAVLO = load_model(str(self.checkpoint))
        else:
            self.model = TAVLO(load_config(opt.get("config", "default")))
        self.model.to(self.device).eval()
        self.cfg = self.model.cfg

    def meta(self) -> dict[str, Any]:
        out = super().meta()
        out["config"] = self.cfg.to_dict()
        if not self.checkpoint:
            out["warning"] = ("TAVLO has NO checkpoint: weights are random; its maps are "
                              "meaningless for comparison. Pass --checkpoint PATH.")
        return out

    # ---------------------------------------------------------------- predict
    def _video_inputs(self, dataset: AvatarDataset, video_id: str,
                      frames: list[Frame]) -> list[tuple[np.ndarray, np.ndarray, int]]:
        """(T frames, audio span, position of the annotated frame) per annotated frame."""
        cfg = self.cfg
        info = dataset.video_info(video_id)
        n = info.n_frames or max(f.frame for f in frames) + 1
        windows = [frame_window(min(f.frame, n - 1), n, info.fps, cfg) for f in frames]
        needed = sorted({i for idx, _, _ in windows for i in idx})
        decoded = dataset.clip_frames(video_id, needed)
        small = dict(zip(needed, resize_frames(np.stack([decoded[i] for i in needed]),
                                               cfg.image_size), strict=True))
        audio = dataset.audio(video_id, cfg.sample_rate)
        out = []
        for idx, pos, first in windows:
            start, stop = audio_window(first, cfg)
            out.append((np.stack([small[i] for i in idx]), audio_segment(audio, start, stop),
                        pos))
        return out

    @torch.no_grad()
    def _maps(self, items: list[tuple[np.ndarray, np.ndarray, int]]) -> list[np.ndarray]:
        maps = []
        for k in range(0, len(items), self.batch_size):
            chunk = items[k:k + self.batch_size]
            frames = torch.from_numpy(np.stack([c[0] for c in chunk])).to(self.device)
            audio = torch.from_numpy(np.stack([c[1] for c in chunk])).to(self.device)
            a, v = self.model(frames, audio)
            heat = localization_maps(a, v, self.cfg.grid).cpu().numpy()
            maps += [heat[b, c[2]].astype(np.float32) for b, c in enumerate(chunk)]
        return maps

    def predict(self, dataset: AvatarDataset,
                frames: list[Frame]) -> Iterator[tuple[str, np.ndarray]]:
        groups: OrderedDict[str, list[Frame]] = OrderedDict()
        for f in frames:
            groups.setdefault(f.video_id, []).append(f)
        done: dict[str, np.ndarray] = {}
        order = iter(frames)
        pending = next(order, None)
        for video_id, group in groups.items():
            for f, m in zip(group, self._maps(self._video_inputs(dataset, video_id, group)),
                            strict=True):
                done[f.key] = m
            while pending is not None and pending.key in done:   # yield in the given order
                yield pending.key, done[pending.key]
                pending = next(order, None)
