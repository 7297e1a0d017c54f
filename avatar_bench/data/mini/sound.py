"""Sounds of the AVATAR-mini world: one distinct timbre per category, shaped by burst envelopes.

Every category sounds different in the spectrum (pure tone, harmonic stack, noise band, clicks,
sweeps, amplitude modulation, formant-like speech) so that audio alone tells the category, and
loudness follows a burst envelope so that the clip has audio events (RMS peaks) for frame
selection and a time course that visible motion can be locked to.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Attack and release of one burst (seconds): short enough for crisp RMS peaks.
ATTACK_S = 0.02
RELEASE_S = 0.06


def _time(n: int, sr: int) -> np.ndarray:
    return np.arange(n, dtype=np.float64) / sr


def _pure_tone(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    f = 660.0 * rng.uniform(0.95, 1.05)
    return np.sin(2 * np.pi * f * _time(n, sr) + rng.uniform(0, 2 * np.pi))


def _harmonic_stack(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    f0, t = 220.0 * rng.uniform(0.95, 1.05), _time(n, sr)
    out = sum(np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 7))
    return out / 1.6


def _band_noise(x: np.ndarray, sr: int, lo: float, hi: float) -> np.ndarray:
    spec = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(x.size, 1 / sr)
    spec[(freqs < lo) | (freqs > hi)] = 0
    y = np.fft.irfft(spec, n=x.size)
    return y / (np.abs(y).max() + 1e-9)


def _noise_band(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    return _band_noise(rng.standard_normal(n), sr, 150.0, 600.0)


def _click_train(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    rate = 10.0 * rng.uniform(0.9, 1.1)
    t = _time(n, sr)
    phase = (t * rate + rng.uniform()) % 1.0
    tau = phase / rate  # seconds since the last click
    return np.exp(-tau / 0.012) * np.sin(2 * np.pi * 2000.0 * tau)


def _sweep(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _time(n, sr)
    rate = 1.5 * rng.uniform(0.9, 1.1)
    freq = 1000.0 + 400.0 * np.sin(2 * np.pi * rate * t)  # a wailing siren
    return np.sin(2 * np.pi * np.cumsum(freq) / sr)


def _chirps(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _time(n, sr)
    rate = 6.0 * rng.uniform(0.9, 1.1)
    phase = (t * rate) % 1.0
    freq = 2500.0 + 2000.0 * phase  # rapid up-chirps
    gate = np.clip(np.sin(np.pi * phase), 0, None) ** 2
    return gate * np.sin(2 * np.pi * np.cumsum(freq) / sr)


def _am_tone(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _time(n, sr)
    carrier = np.sin(2 * np.pi * 4500.0 * rng.uniform(0.97, 1.03) * t)
    return carrier * (0.5 + 0.5 * np.sin(2 * np.pi * 40.0 * t))


def _speech(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Harmonics of a wandering f0, weighted by formant peaks that change every ~0.2 s.

    Harmonic weights are computed on a 10 ms grid and held; sin(k x) comes from the Chebyshev
    recursion. Both keep a 5 s clip at a few milliseconds.
    """
    t = _time(n, sr)
    f0_base, vib = 140.0 * rng.uniform(0.85, 1.2), rng.uniform(2.5, 3.5)
    f0 = f0_base * (1 + 0.08 * np.sin(2 * np.pi * vib * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    vowels = np.array([[700, 1200], [300, 2300], [500, 900], [400, 2000], [650, 1700]], float)
    idx = rng.integers(0, len(vowels), size=int(n / sr / 0.2) + 2)
    hop = int(0.01 * sr)
    tc = np.arange(n // hop + 1) * hop / sr
    formants = vowels[idx[np.minimum((tc / 0.2).astype(int), idx.size - 1)]]
    f0c = f0_base * (1 + 0.08 * np.sin(2 * np.pi * vib * tc))
    cos1, s_prev, s_cur = np.cos(phase), np.zeros(n), np.sin(phase)
    out = np.zeros(n)
    for k in range(1, 25):
        fk = k * f0c
        w = 0.15 + sum(np.exp(-0.5 * ((fk - formants[:, j]) / 120.0) ** 2) for j in range(2))
        out += np.repeat(w * (fk < sr / 2 - 200), hop)[:n] * s_cur
        s_prev, s_cur = s_cur, 2 * cos1 * s_cur - s_prev
    return out / (np.abs(out).max() + 1e-9)


#: Category -> waveform generator (unit peak amplitude, before the envelope).
TIMBRES: dict[str, Callable[[int, int, np.random.Generator], np.ndarray]] = {
    "bell": _pure_tone,
    "organ": _harmonic_stack,
    "engine": _noise_band,
    "clock": _click_train,
    "siren": _sweep,
    "bird": _chirps,
    "cricket": _am_tone,
    "person": _speech,
}


def burst_envelope(n: int, sr: int, start_s: float, end_s: float, rng: np.random.Generator,
                   dense: bool = False) -> np.ndarray:
    """Bursts (syllables) between ``start_s`` and ``end_s``, each with its own level in [0.55, 1].

    ``dense`` packs bursts with short gaps, so two dense sources overlap most of the time.
    """
    env = np.zeros(n)
    t = start_s + rng.uniform(0.0, 0.1)
    while t < end_s - 0.1:
        dur = rng.uniform(0.25, 0.6) if dense else rng.uniform(0.12, 0.45)
        dur = min(dur, end_s - t)
        _add_burst(env, sr, t, dur, rng.uniform(0.55, 1.0))
        t += dur + (rng.uniform(0.04, 0.15) if dense else rng.uniform(0.15, 0.55))
    return env


def _add_burst(env: np.ndarray, sr: int, t0: float, dur: float, level: float) -> None:
    a, b = int(round(t0 * sr)), min(env.size, int(round((t0 + dur) * sr)))
    if b - a < 4:
        return
    m = b - a
    shape = np.ones(m)
    na, nr = min(m // 2, int(ATTACK_S * sr)), min(m // 2, int(RELEASE_S * sr))
    if na:
        shape[:na] = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, na))
    if nr:
        shape[m - nr:] = 0.5 + 0.5 * np.cos(np.linspace(0, np.pi, nr))
    env[a:b] = np.maximum(env[a:b], level * shape)


def frame_envelope(env: np.ndarray, sr: int, fps: float, n_frames: int) -> np.ndarray:
    """Mean envelope over each frame's interval [i/fps - 1/(2 fps), i/fps + 1/(2 fps))."""
    half = 0.5 / fps
    out = np.zeros(n_frames)
    for i in range(n_frames):
        a = max(0, int(round((i / fps - half) * sr)))
        b = min(env.size, int(round((i / fps + half) * sr)))
        out[i] = env[a:b].mean() if b > a else 0.0
    return out


def source_wave(category: str, env: np.ndarray, sr: int, gain: float,
                rng: np.random.Generator) -> np.ndarray:
    """The category's timbre, loudness-normalised (RMS 0.4, peak <= 1), times envelope and gain."""
    x = TIMBRES[category](env.size, sr, rng)
    rms, peak = np.sqrt(np.mean(x**2)) + 1e-9, np.abs(x).max() + 1e-9
    return gain * env * x * min(0.4 / rms, 1.0 / peak)
