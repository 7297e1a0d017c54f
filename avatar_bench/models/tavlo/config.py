"""Every size of a TAVLO model in one frozen dataclass, plus the published presets.

The paper (section 4) fixes the structure but not the numbers; every value here that the
paper does not state is our free choice and is listed as such in ``docs/tavlo.md``. A
checkpoint stores its config, so a model can always be rebuilt exactly.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from avatar_bench.errors import AvatarBenchError


@dataclass(frozen=True)
class TAVLOConfig:
    """Sizes of TAVLO. Times are in seconds so clips of any frame rate map to the same input."""

    # ---- time axis: T frames, one every ``frame_interval`` seconds; one audio token each
    frames: int = 8                      # T
    frame_interval: float = 0.25         # seconds between consecutive input frames
    # ---- visual stream
    image_size: int = 224                # square input side (pixels)
    layer4_stride: int = 2               # 2: torchvision ResNet-18 (h = w = image/32); 1: /16
    visual_weights: str | None = None    # optional torchvision resnet18 state dict (ImageNet)
    feature_dim: int = 512               # D_f (a 1x1 projection maps 512 -> D_f when different)
    temporal_dim: int = 64               # D_t, concatenated; tokens have D = D_f + D_t
    # ---- audio stream (log-mel front end computed in torch, on the model's device)
    sample_rate: int = 16000
    n_fft: int = 512
    win_length: int = 400                # 25 ms at 16 kHz
    hop_length: int = 160                # 10 ms at 16 kHz
    n_mels: int = 64
    audio_channels: int = 32             # width of the small conv stem (0 = no stem)
    # ---- AST blocks
    depth: int = 4
    heads: int = 8
    mlp_ratio: float = 4.0
    dropout: float = 0.1
    # ---- loss
    temperature: float = 0.07
    negative_pool: str = "mean"          # paper: mean over a negative bag; "max" = EZ-VSL
    # paper: audio and visual tokens of a frame attend to each other in spatial attention.
    # False keeps spatial attention within each modality (no own-frame shortcut, docs/tavlo.md)
    cross_modal_attention: bool = True

    # ------------------------------------------------------------- derived
    @property
    def dim(self) -> int:
        """Token width D = D_f + D_t."""
        return self.feature_dim + self.temporal_dim

    @property
    def grid(self) -> int:
        """Side of the visual feature map (h = w) for ``image_size``."""
        side = self.image_size
        for stride in (2, 2, 1, 2, 2, self.layer4_stride):  # conv1, maxpool, layer1..4
            side = (side - 1) // stride + 1
        return side

    @property
    def audio_seconds(self) -> float:
        """Audio span of one input: one ``frame_interval`` centred on each of the T frames."""
        return self.frames * self.frame_interval

    @property
    def audio_samples(self) -> int:
        return int(round(self.audio_seconds * self.sample_rate))

    @property
    def spec_frames(self) -> int:
        """W_a: spectrogram columns of one input (centred STFT)."""
        return self.audio_samples // self.hop_length + 1

    @property
    def audio_kernel(self) -> int:
        """floor(W_a / T): time extent and stride of the token conv, one token per frame."""
        return self.spec_frames // self.frames

    # ------------------------------------------------------------ checking
    def validate(self) -> TAVLOConfig:
        """Raise ``AvatarBenchError`` listing every inconsistent size."""
        problems = []
        for name in ("frames", "image_size", "feature_dim", "sample_rate", "n_fft",
                     "win_length", "hop_length", "n_mels", "depth", "heads"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be positive (got {getattr(self, name)})")
        if self.temporal_dim < 0 or self.audio_channels < 0:
            problems.append("temporal_dim and audio_channels must be >= 0")
        if self.layer4_stride not in (1, 2):
            problems.append(f"layer4_stride must be 1 or 2 (got {self.layer4_stride})")
        if self.frame_interval <= 0 or self.temperature <= 0 or self.mlp_ratio <= 0:
            problems.append("frame_interval, temperature and mlp_ratio must be positive")
        if self.negative_pool not in ("mean", "max"):
            problems.append(f"negative_pool must be 'mean' or 'max' (got {self.negative_pool!r})")
        if not 0 <= self.dropout < 1:
            problems.append(f"dropout must be in [0, 1) (got {self.dropout})")
        if self.heads > 0 and self.dim % self.heads:
            problems.append(f"D = feature_dim + temporal_dim = {self.dim} is not divisible "
                            f"by heads = {self.heads}")
        if self.win_length > self.n_fft:
            problems.append(f"win_length {self.win_length} > n_fft {self.n_fft}")
        if self.frames > 0 and self.hop_length > 0 and self.audio_kernel < 1:
            problems.append(f"the audio span has {self.spec_frames} spectrogram columns, fewer "
                            f"than frames = {self.frames}: raise frame_interval or lower hop")
        if problems:
            raise AvatarBenchError("invalid TAVLO config", problems)
        return self

    # ------------------------------------------------------------------ io
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TAVLOConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise AvatarBenchError(f"unknown TAVLO config key(s): {', '.join(unknown)}; "
                                   f"known: {', '.join(sorted(known))}")
        return cls(**data).validate()


#: Paper-like sizes (224 px, ResNet-18 7x7 map, D_f 512); unpublished numbers are our choice.
DEFAULT = TAVLOConfig()

#: Trains on a 2-core CPU in minutes: 112 px with layer4 stride 1 keeps a 7x7 map.
SMALL = TAVLOConfig(
    frames=8, frame_interval=0.1, image_size=112, layer4_stride=1, feature_dim=128,
    temporal_dim=32, n_mels=40, audio_channels=16, depth=2, heads=4, mlp_ratio=2.0,
    dropout=0.0,
)

#: Unit-test size: seconds per step, not minutes.
TINY = TAVLOConfig(
    frames=4, frame_interval=0.1, image_size=64, layer4_stride=1, feature_dim=32,
    temporal_dim=8, n_mels=16, audio_channels=4, depth=1, heads=2, mlp_ratio=2.0,
    dropout=0.0,
)

PRESETS: dict[str, TAVLOConfig] = {"default": DEFAULT, "small": SMALL, "tiny": TINY}


def load_config(spec: str | os.PathLike | dict | TAVLOConfig | None = None,
                **overrides: Any) -> TAVLOConfig:
    """A preset name, a JSON file (partial: missing keys take DEFAULT), a dict, or a config."""
    if spec is None:
        base = DEFAULT
    elif isinstance(spec, TAVLOConfig):
        base = spec
    elif isinstance(spec, dict):
        base = TAVLOConfig.from_dict({**DEFAULT.to_dict(), **spec})
    elif str(spec) in PRESETS:
        base = PRESETS[str(spec)]
    else:
        path = Path(spec)
        if not path.is_file():
            raise AvatarBenchError(f"TAVLO config {str(spec)!r} is neither a preset "
                                   f"({', '.join(PRESETS)}) nor a JSON file")
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise AvatarBenchError(f"{path}: cannot read TAVLO config: {exc}") from exc
        if not isinstance(data, dict):
            raise AvatarBenchError(f"{path}: a TAVLO config must be a JSON object")
        base = TAVLOConfig.from_dict({**DEFAULT.to_dict(), **data})
    if overrides:
        known = {f.name for f in fields(TAVLOConfig)}
        bad = sorted(set(overrides) - known)
        if bad:
            raise AvatarBenchError(f"unknown TAVLO config key(s): {', '.join(bad)}")
        base = replace(base, **overrides)
    return base.validate()


def frame_window(center: int, n_frames: int, fps: float,
                 config: TAVLOConfig) -> tuple[list[int], int, float]:
    """T frame indices at the model's stride containing ``center``; where it sits; start time.

    The stride is ``frame_interval * fps`` frames, so a window covers the same duration at
    any frame rate. The centre frame sits at position T//2; near a clip edge the window is
    shifted by whole strides to stay inside the clip (so ``center`` stays one of its frames),
    and only a clip shorter than the window gets clamped (repeated) indices.
    Returns ``(indices, position of center, time of the window's first frame in seconds)``.
    """
    step = config.frame_interval * fps
    t = config.frames
    pos = t // 2
    before = int(math.floor(center / step + 1e-9))          # whole strides left of center
    after = int(math.floor((n_frames - 1 - center) / step + 1e-9))
    pos = min(pos, before)
    pos = max(pos, t - 1 - after) if t - 1 - after <= before else pos
    first = center - pos * step
    idx = [min(max(int(round(first + k * step)), 0), n_frames - 1) for k in range(t)]
    return idx, pos, first / fps


def audio_window(first_time: float, config: TAVLOConfig) -> tuple[int, int]:
    """Sample range [start, stop) of the audio span: one ``frame_interval`` centred on each
    frame of a window whose first frame is at ``first_time`` seconds (may overhang the clip;
    callers zero-pad)."""
    start = int(round((first_time - config.frame_interval / 2) * config.sample_rate))
    return start, start + config.audio_samples
