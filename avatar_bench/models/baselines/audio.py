"""Audio windows and the two baseline front ends, numerically as the originals compute them.

EZ-VSL / SLAVC: ``scipy.signal.spectrogram(x, sr, nperseg=512, noverlap=274)`` (scipy's
defaults otherwise: Tukey(0.25) window, constant detrend, PSD density scaling), then
``log(S + 1e-7)`` and ``(x - 0) / 12`` -> 1 x 257 x 200 for 3 s at 16 kHz.

SSL-TIE: torchaudio ``MelSpectrogram(sr, n_fft=512, hop_length=239, n_mels=257,
normalized=True)`` then ``AmplitudeToDB()``, written out here without torchaudio: a centred
(reflect-padded) STFT with a periodic Hann window, divided by ``sqrt(sum(window**2))``
(torchaudio's ``normalized=True``), power 2, an HTK mel filterbank without area
normalisation (torchaudio's default ``mel_scale='htk', norm=None``), then
``10 * log10(clamp(x, 1e-10))`` (``top_db=None``, ref 1) -> 1 x 257 x 670 for 10 s at 16 kHz.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from scipy import signal

#: Default audio window per baseline, seconds (EZ-VSL/SLAVC 3 s, SSL-TIE 10 s).
DEFAULT_WINDOW: dict[str, float] = {"ezvsl": 3.0, "slavc": 3.0, "ssltie": 10.0}
EZVSL_LOG_EPS = 1e-7
EZVSL_STD = 12.0
SSLTIE_N_FFT = 512
SSLTIE_HOP = 239
SSLTIE_N_MELS = 257


def tile_to(x: np.ndarray, n: int) -> np.ndarray:
    """Repeat a too-short signal until it has ``n`` samples, as the originals do
    (``np.tile(x, int(n / len(x)) + 1)[:n]``); silence when there is no sample at all."""
    if x.shape[0] == 0:
        return np.zeros(n, dtype=np.float32)
    if x.shape[0] < n:
        x = np.tile(x, int(n / x.shape[0]) + 1)
    return x[:n]


def centred_window(audio: np.ndarray, sample_rate: int, centre_s: float,
                   duration_s: float) -> np.ndarray:
    """``duration_s`` seconds of ``audio`` centred on ``centre_s``.

    The window is shifted, not truncated, to stay inside the clip: start = clamp(centre -
    duration/2, 0, len - duration). Only when the whole clip is shorter than the window is it
    tiled (``tile_to``). At the clip centre this equals the originals' window (they centre on
    the file's middle and clamp the start at 0).
    """
    n = int(round(duration_s * sample_rate))
    if n <= 0:
        raise ValueError(f"audio window must be positive, got {duration_s} s")
    start = int(round((centre_s - duration_s / 2) * sample_rate))
    start = min(max(start, 0), max(audio.shape[0] - n, 0))
    return tile_to(np.asarray(audio[start:start + n], dtype=np.float32), n)


def ezvsl_spectrogram(wave: np.ndarray, sample_rate: int) -> np.ndarray:
    """EZ-VSL/SLAVC front end: (1, 257, T) float32 normalised log power spectrogram."""
    x = np.clip(np.asarray(wave, dtype=np.float32), -1.0, 1.0)
    _, _, spec = signal.spectrogram(x, sample_rate, nperseg=512, noverlap=274)
    spec = np.log(spec + EZVSL_LOG_EPS)
    return ((spec - 0.0) / EZVSL_STD).astype(np.float32)[None]


def hz_to_mel_htk(f: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz_htk(m: np.ndarray | float) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


@lru_cache(maxsize=8)
def mel_filterbank(sample_rate: int, n_fft: int = SSLTIE_N_FFT,
                   n_mels: int = SSLTIE_N_MELS) -> torch.Tensor:
    """(n_freqs, n_mels) triangular HTK filters, no normalisation, f_min 0, f_max sr/2.

    Bin centre frequencies are ``linspace(0, sr // 2, n_freqs)`` as in torchaudio. With 257
    mels over 257 FFT bins some low filters are empty (all zero), as in the original.
    """
    n_freqs = n_fft // 2 + 1
    all_freqs = torch.linspace(0, sample_rate // 2, n_freqs)
    m_pts = torch.linspace(float(hz_to_mel_htk(0.0)), float(hz_to_mel_htk(sample_rate // 2)),
                           n_mels + 2)
    f_pts = 700.0 * (10.0 ** (m_pts / 2595.0) - 1.0)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return torch.clamp(torch.minimum(down, up), min=0.0)


def ssltie_spectrogram(wave: np.ndarray, sample_rate: int) -> np.ndarray:
    """SSL-TIE front end: (1, 257, T) float32 dB mel spectrogram (T = 1 + N // 239)."""
    x = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))
    window = torch.hann_window(SSLTIE_N_FFT)
    stft = torch.stft(x, n_fft=SSLTIE_N_FFT, hop_length=SSLTIE_HOP, win_length=SSLTIE_N_FFT,
                      window=window, center=True, pad_mode="reflect", normalized=False,
                      onesided=True, return_complex=True)
    stft = stft / window.pow(2.0).sum().sqrt()
    power = stft.abs().pow(2.0)                                   # (257 freqs, T)
    mel = torch.matmul(power.transpose(0, 1), mel_filterbank(sample_rate)).transpose(0, 1)
    db = 10.0 * torch.log10(torch.clamp(mel, min=1e-10))
    return db.numpy().astype(np.float32)[None]


def front_end(model: str, wave: np.ndarray, sample_rate: int) -> np.ndarray:
    """The named baseline's spectrogram of an already-windowed mono waveform."""
    if model == "ssltie":
        return ssltie_spectrogram(wave, sample_rate)
    return ezvsl_spectrogram(wave, sample_rate)
