"""Audio windows, the two spectrogram front ends and image preprocessing, checked on known
signals against values computed independently here with numpy."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from avatar_bench.models.baselines.audio import (  # noqa: E402
    centred_window,
    ezvsl_spectrogram,
    mel_filterbank,
    ssltie_spectrogram,
    tile_to,
)
from avatar_bench.models.baselines.image import preprocess_image  # noqa: E402

SR = 16000


def sine(seconds: float, freq: float = 1000.0, sr: int = SR, amp: float = 0.5) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * freq * np.arange(int(seconds * sr)) / sr)).astype(np.float32)


# ------------------------------------------------------------------ windows
def test_window_centred_inside_the_clip():
    audio = np.arange(10 * SR, dtype=np.float32)
    w = centred_window(audio, SR, centre_s=5.0, duration_s=3.0)
    assert w.shape == (3 * SR,)
    assert w[0] == 3.5 * SR and w[-1] == 6.5 * SR - 1


def test_window_shifted_at_clip_edges():
    audio = np.arange(10 * SR, dtype=np.float32)
    start = centred_window(audio, SR, centre_s=0.2, duration_s=3.0)
    end = centred_window(audio, SR, centre_s=9.9, duration_s=3.0)
    assert start[0] == 0 and start[-1] == 3 * SR - 1
    assert end[0] == 7 * SR and end[-1] == 10 * SR - 1
    full = centred_window(audio, SR, centre_s=8.0, duration_s=10.0)
    np.testing.assert_array_equal(full, audio)


def test_short_clip_is_tiled_like_the_originals():
    audio = np.arange(5, dtype=np.float32)
    np.testing.assert_array_equal(tile_to(audio, 12), [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1])
    w = centred_window(np.arange(SR, dtype=np.float32), SR, 0.5, 3.0)   # 1 s clip, 3 s window
    assert w.shape == (3 * SR,) and w[SR] == 0 and w[SR + 7] == 7
    assert not tile_to(np.zeros(0, np.float32), 4).any()


# ------------------------------------------------------------------ EZ-VSL / SLAVC
def test_ezvsl_shape_and_peak_bin():
    spec = ezvsl_spectrogram(sine(3.0), SR)
    assert spec.shape == (1, 257, 200) and spec.dtype == np.float32
    assert int(spec[0].mean(axis=1).argmax()) == 32           # 1000 Hz / (16000 / 512)


def test_ezvsl_value_matches_hand_computed_psd():
    x = sine(3.0, freq=1234.0) + 0.01 * np.random.default_rng(0).standard_normal(3 * SR)
    x = x.astype(np.float32)
    spec = ezvsl_spectrogram(x, SR)
    # Segment k=5 by hand: step 512 - 274, Tukey(0.25) window, mean removed, one-sided PSD.
    n, step, k, f = 512, 512 - 274, 5, 40
    seg = x[k * step:k * step + n].astype(np.float64)
    t = np.arange(n)
    alpha, width = 0.25, int(np.floor(0.25 * (n - 1) / 2.0))
    win = np.ones(n)
    ramp = t[:width + 1]
    win[:width + 1] = 0.5 * (1 + np.cos(np.pi * (-1 + 2.0 * ramp / alpha / (n - 1))))
    win[n - width - 1:] = win[:width + 1][::-1]
    fx = np.fft.rfft((seg - seg.mean()) * win)
    psd = 2 * np.abs(fx[f]) ** 2 / (SR * (win ** 2).sum())
    assert spec[0, f, k] == pytest.approx(np.log(psd + 1e-7) / 12.0, rel=1e-3)


def test_ezvsl_silence_is_log_eps():
    spec = ezvsl_spectrogram(np.zeros(3 * SR, np.float32), SR)
    assert np.allclose(spec, np.log(1e-7) / 12.0)


# ------------------------------------------------------------------ SSL-TIE
def test_ssltie_shape_and_peak():
    spec = ssltie_spectrogram(sine(10.0), SR)
    assert spec.shape == (1, 257, 670) and spec.dtype == np.float32
    # Filter m is centred on mel (m + 1) * spacing; 1 kHz is mel 1000.
    spacing = 2595 * np.log10(1 + 8000 / 700) / 258
    peak = int(spec[0].mean(axis=1).argmax())
    assert abs((peak + 1) * spacing - 2595 * np.log10(1 + 1000 / 700)) < spacing
    assert spec.min() >= -100.0 - 1e-4


def test_ssltie_value_matches_numpy():
    rng = np.random.default_rng(1)
    x = (sine(10.0, 700.0) + 0.05 * rng.standard_normal(10 * SR)).astype(np.float32)
    spec = ssltie_spectrogram(x, SR)
    n_fft, hop, k = 512, 239, 100
    padded = np.pad(x.astype(np.float64), n_fft // 2, mode="reflect")
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)          # periodic Hann
    frame = padded[k * hop:k * hop + n_fft] * win
    power = np.abs(np.fft.rfft(frame)) ** 2 / (win ** 2).sum()
    # HTK triangular filters, no area normalisation, f_max = sr / 2.
    freqs = np.linspace(0, SR // 2, 257)
    mels = np.linspace(0, 2595 * np.log10(1 + (SR // 2) / 700), 259)
    hz = 700 * (10 ** (mels / 2595) - 1)
    m = 60
    lo, c, hi = hz[m], hz[m + 1], hz[m + 2]
    tri = np.clip(np.minimum((freqs - lo) / (c - lo), (hi - freqs) / (hi - c)), 0, None)
    want = 10 * np.log10(max((tri * power).sum(), 1e-10))
    assert spec[0, m, k] == pytest.approx(want, abs=1e-3)


def test_mel_filterbank_has_empty_low_filters_like_torchaudio():
    fb = mel_filterbank(SR).numpy()
    assert fb.shape == (257, 257)
    assert (fb.sum(axis=0) == 0).any()          # 257 mels over 257 bins: some are empty
    assert fb.max() <= 1.0 + 1e-6


# ------------------------------------------------------------------ images
def test_image_preprocessing():
    rgb = np.zeros((360, 640, 3), np.uint8)
    rgb[..., 0] = 255
    x = preprocess_image(rgb)
    assert x.shape == (3, 224, 224) and x.dtype == np.float32
    assert x[0].mean() == pytest.approx((1 - 0.485) / 0.229, rel=1e-5)
    assert x[1].mean() == pytest.approx((0 - 0.456) / 0.224, rel=1e-5)
    grad = np.tile(np.linspace(0, 255, 640).astype(np.uint8)[None, :, None], (360, 1, 3))
    y = preprocess_image(grad)
    assert y[0, 100, 0] < y[0, 100, 223]        # direct resize keeps the whole width
    assert preprocess_image(grad, size=112).shape == (3, 112, 112)
