"""TAVLO (paper section 4): per-frame visual features, one audio token per frame, AST blocks.

Data flow for a batch of B windows of T frames::

    frames (B,T,H,W,3) uint8 -> ResNet-18 per frame -> V (B,T,h*w,D_f) + spatial pos
    audio  (B,S) float32     -> log-mel (B,1,F,W_a) -> CNN, kernel F x floor(W_a/T) -> A (B,T,D_f)
    concat temporal pos (D_t) to both -> Z = [A; V] (B,T,1+h*w,D)
    depth x AST block: spatial MSA over the 1+h*w tokens of each frame, then temporal MSA
    over T for each token position (each pre-norm, residual, with its own MLP)
    -> A' (B,T,D), V' (B,T,h*w,D); map(t) = cos(A'(t), V'(t, location))
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from avatar_bench.models.tavlo.backbone import ResNet18Features
from avatar_bench.models.tavlo.config import TAVLOConfig

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """HTK-scale triangular filters, (n_mels, n_fft // 2 + 1); no norm (the log removes scale)."""
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    bins = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2), n_mels + 2))
    lower, center, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (bins[None] - lower) / np.maximum(center - lower, 1e-9)
    down = (upper - bins[None]) / np.maximum(upper - center, 1e-9)
    return np.clip(np.minimum(up, down), 0.0, None).astype(np.float32)


class LogMel(nn.Module):
    """Whisper-style log-mel: log10 power, floored 8 decades below the max, scaled to ~[-1, 1].

    Computed in float32 even under autocast (STFT and logs are not bf16-safe).
    """

    def __init__(self, cfg: TAVLOConfig) -> None:
        super().__init__()
        self.n_fft, self.hop, self.win = cfg.n_fft, cfg.hop_length, cfg.win_length
        self.register_buffer("window", torch.hann_window(cfg.win_length), persistent=False)
        fb = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels)
        self.register_buffer("fb", torch.from_numpy(fb), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, S) waveform -> (B, 1, n_mels, S // hop + 1)."""
        with torch.autocast(device_type=wave.device.type, enabled=False):
            spec = torch.stft(wave.float(), self.n_fft, self.hop, self.win, self.window,
                              center=True, pad_mode="constant", return_complex=True)
            mel = torch.einsum("mf,bfw->bmw", self.fb, spec.abs().pow(2))
            log = torch.log10(mel.clamp_min(1e-10))
            peak = log.amax(dim=(1, 2), keepdim=True)
            log = torch.maximum(log, peak - 8.0)
            return ((log + 4.0) / 4.0).unsqueeze(1)


class AudioEncoder(nn.Module):
    """Spectrogram -> exactly one token per frame.

    A small stem (3x3 convs, stride 2 in frequency only, so time resolution is kept) feeds the
    defining layer: a conv whose kernel spans ALL remaining frequency bins and floor(W_a/T)
    time columns with that stride. W_a is cropped (centred) to T * floor(W_a/T) columns
    first, so the output has T columns for every W_a >= T.
    """

    def __init__(self, n_mels: int, frames: int, spec_frames: int, out_dim: int,
                 channels: int = 32) -> None:
        super().__init__()
        if spec_frames < frames:
            raise ValueError(f"spectrogram has {spec_frames} columns < {frames} frames")
        self.frames = frames
        self.spec_frames = spec_frames
        self.kernel_t = spec_frames // frames
        layers: list[nn.Module] = []
        freq, cin = n_mels, 1
        if channels:
            for _ in range(2):
                layers += [nn.Conv2d(cin, channels, 3, (2, 1), 1, bias=False),
                           nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
                freq, cin = (freq - 1) // 2 + 1, channels
        self.stem = nn.Sequential(*layers)
        self.freq_bins = freq
        self.token = nn.Conv2d(cin, out_dim, (freq, self.kernel_t), (1, self.kernel_t))

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        """(B, 1, F, W_a) -> (B, T, out_dim)."""
        width = self.frames * self.kernel_t
        left = (spec.shape[-1] - width) // 2
        x = self.stem(spec[..., left:left + width])
        x = self.token(x)                                   # (B, out_dim, 1, T)
        return x.flatten(2).transpose(1, 2)


class Attention(nn.Module):
    """Multi-head self-attention over dim -2 of a (N, L, D) tensor (SDPA kernels on GPU)."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``mask`` (L, L) bool: True where a query may attend to a key."""
        n, length, dim = x.shape
        qkv = self.qkv(x).view(n, length, 3, self.heads, dim // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                             dropout_p=self.dropout if self.training else 0.0)
        return self.proj(out.transpose(1, 2).reshape(n, length, dim))


class FactorLayer(nn.Module):
    """One pre-norm transformer layer (MSA + MLP, residual each) along one axis of Z."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, dropout: float,
                 axis: str, cross_modal: bool = True) -> None:
        super().__init__()
        if axis not in ("spatial", "temporal"):
            raise ValueError(axis)
        self.axis = axis
        self.cross_modal = cross_modal
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Z (B, T, N, D) -> same shape; attention mixes only along this layer's axis."""
        b, t, n, d = z.shape
        # Spatial: sequences are the N tokens of one frame. Temporal: the T steps of one token.
        seq = z.reshape(b * t, n, d) if self.axis == "spatial" else \
            z.transpose(1, 2).reshape(b * n, t, d)
        mask = None
        if self.axis == "spatial" and not self.cross_modal:
            mask = modality_mask(n, z.device)
        seq = seq + self.drop(self.attn(self.norm1(seq), mask))
        seq = seq + self.drop(self.mlp(self.norm2(seq)))
        if self.axis == "spatial":
            return seq.view(b, t, n, d)
        return seq.view(b, n, t, d).transpose(1, 2)


def modality_mask(n_tokens: int, device: torch.device) -> torch.Tensor:
    """(N, N) mask for [audio; visual...] tokens: each modality attends only to itself."""
    mask = torch.ones(n_tokens, n_tokens, dtype=torch.bool, device=device)
    mask[0, 1:] = False
    mask[1:, 0] = False
    return mask


class ASTBlock(nn.Module):
    """Audio-Spatial-Temporal block: factorised attention, spatial first, then temporal."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, dropout: float,
                 cross_modal: bool = True) -> None:
        super().__init__()
        self.spatial = FactorLayer(dim, heads, mlp_ratio, dropout, "spatial", cross_modal)
        self.temporal = FactorLayer(dim, heads, mlp_ratio, dropout, "temporal")

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.temporal(self.spatial(z))


class TAVLO(nn.Module):
    """The model; ``forward`` returns the decomposed outputs (A', V') used by loss and maps."""

    def __init__(self, cfg: TAVLOConfig) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.visual = ResNet18Features(cfg.layer4_stride)
        if cfg.visual_weights:
            self.visual.load_torchvision(cfg.visual_weights)
        self.visual_proj: nn.Module = (nn.Identity() if cfg.feature_dim == 512
                                       else nn.Conv2d(512, cfg.feature_dim, 1))
        self.logmel = LogMel(cfg)
        self.audio = AudioEncoder(cfg.n_mels, cfg.frames, cfg.spec_frames, cfg.feature_dim,
                                  cfg.audio_channels)
        hw = cfg.grid * cfg.grid
        self.spatial_pos = nn.Parameter(torch.zeros(hw, cfg.feature_dim))
        self.temporal_pos = nn.Parameter(torch.zeros(cfg.frames, cfg.temporal_dim))
        nn.init.trunc_normal_(self.spatial_pos, std=0.02)
        nn.init.trunc_normal_(self.temporal_pos, std=0.02)
        self.blocks = nn.ModuleList(ASTBlock(cfg.dim, cfg.heads, cfg.mlp_ratio, cfg.dropout,
                                             cfg.cross_modal_attention)
                                    for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(cfg.dim)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1),
                             persistent=False)

    # ------------------------------------------------------------ encoders
    def encode_visual(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, T, H, W, 3) uint8 (or float in [0, 1]) -> V (B, T, h*w, D_f) + spatial pos."""
        b, t = frames.shape[:2]
        x = frames.flatten(0, 1).permute(0, 3, 1, 2)
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
        x = (x - self.mean) / self.std
        feat = self.visual_proj(self.visual(x))             # (B*T, D_f, h, w)
        feat = feat.flatten(2).transpose(1, 2).reshape(b, t, -1, self.cfg.feature_dim)
        return feat + self.spatial_pos.to(feat.dtype)

    def encode_audio(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, S) waveform -> A (B, T, D_f)."""
        return self.audio(self.logmel(audio))

    def tokens(self, frames: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """Z (B, T, 1 + h*w, D): temporal encoding concatenated to both modalities."""
        v = self.encode_visual(frames)
        a = self.encode_audio(audio).to(v.dtype)
        b, t, n, _ = v.shape
        pos_t = self.temporal_pos.to(v.dtype)
        v = torch.cat([v, pos_t[None, :, None].expand(b, t, n, -1)], dim=-1)
        a = torch.cat([a, pos_t[None].expand(b, t, -1)], dim=-1)
        return torch.cat([a.unsqueeze(2), v], dim=2)

    def forward(self, frames: torch.Tensor,
                audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (A' (B, T, D), V' (B, T, h*w, D))."""
        z = self.tokens(frames, audio)
        for block in self.blocks:
            z = block(z)
        z = self.norm(z)
        return z[:, :, 0], z[:, :, 1:]

    @torch.no_grad()
    def heatmaps(self, frames: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """Inference maps (B, T, h, w): cosine between A'(t) and each location of V'(t)."""
        a, v = self(frames, audio)
        return localization_maps(a, v, self.cfg.grid)


def localization_maps(a: torch.Tensor, v: torch.Tensor, grid: int) -> torch.Tensor:
    """cos(A'(t), V'(t, loc)) as (B, T, grid, grid) float32."""
    a = F.normalize(a.float(), dim=-1)
    v = F.normalize(v.float(), dim=-1)
    sim = torch.einsum("btd,btnd->btn", a, v)
    return sim.view(*sim.shape[:2], grid, grid)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

