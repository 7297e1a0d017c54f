"""The AVATAR-mini world: categories, their looks, and scenes that realise the four scenarios.

A scene is a short clip's full description: visible objects (category, size, per-frame
position), sound sources (category, envelope, the object that emits it or none when
off-screen) and rendering flags. Everything is drawn from one ``numpy`` generator, so a scene
is a pure function of its seed.

Motion carries the audio-visual link: a sounding object vibrates with an amplitude that follows
its own loudness envelope; a silent object only drifts slowly, except the silent twins of a
Multi-entity scene, which vibrate to envelopes of sounds that are never played. A single frame
therefore cannot tell twins apart; only motion over time, compared with the audio, can.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avatar_bench.data.mini import sound

WIDTH, HEIGHT = 320, 180
FPS = 20.0
DURATION_S = 5.0
SAMPLE_RATE = 16000
N_FRAMES = int(round(DURATION_S * FPS))
N_SAMPLES = int(round(DURATION_S * SAMPLE_RATE))
#: Peak vibration of a sounding object (pixels at envelope 1).
JITTER_PX = 4.0
#: A source is sounding at a frame when its envelope exceeds SOUNDING_LEVEL somewhere in the
#: audio event around it (0.2 s centred on the frame): annotators judge the sound around the
#: frame (paper 3.1.3), and the sharpest frame of an event may fall just after a syllable.
SOUNDING_LEVEL = 0.2
SOUNDING_SPAN_S = 0.2
#: Share of frames rendered slightly out of focus (so the sharpest-frame rule matters).
BLUR_RATE = 0.25

#: name -> (shape, RGB colour). Sounds are in ``sound.TIMBRES``.
LOOKS: dict[str, tuple[str, tuple[int, int, int]]] = {
    "bell": ("circle", (235, 200, 40)),
    "organ": ("square", (40, 90, 220)),
    "engine": ("hexagon", (150, 60, 30)),
    "clock": ("triangle", (40, 180, 70)),
    "siren": ("diamond", (220, 30, 40)),
    "bird": ("star", (40, 200, 220)),
    "cricket": ("cross", (245, 130, 20)),
    "person": ("ellipse", (200, 60, 180)),
}
CATEGORIES: tuple[str, ...] = tuple(LOOKS)
#: The category heard from off screen (speech-like).
OFF_SCREEN_CATEGORY = "person"

#: Clip kinds, cycled by clip index so any prefix of the benchmark covers every scenario.
KIND_CYCLE: tuple[str, ...] = (
    "single", "mixed", "multi_entity", "off_screen", "off_to_on",
    "switch", "join", "mixed", "multi_entity", "single",
)
MIXED_VARIANTS: tuple[str, ...] = ("same", "different", "edge")


def shape_vertices(shape: str, r: float) -> np.ndarray:
    """Outline of a shape of half-size ``r`` centred on (0, 0), as (N, 2) x, y."""
    def ring(n: int, rx: float, ry: float, start: float = -np.pi / 2) -> np.ndarray:
        a = start + 2 * np.pi * np.arange(n) / n
        return np.stack([rx * np.cos(a), ry * np.sin(a)], axis=1)

    if shape == "circle":
        return ring(24, r, r)
    if shape == "ellipse":
        return ring(24, 0.68 * r, r)
    if shape == "hexagon":
        return ring(6, r, r, 0.0)
    if shape == "triangle":
        return ring(3, r, r) + (0, 0.2 * r)
    if shape == "diamond":
        return ring(4, 0.8 * r, r)
    if shape == "square":
        return 0.82 * r * np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float)
    if shape == "star":
        pts = ring(10, r, r)
        pts[1::2] *= 0.45
        return pts
    if shape == "cross":
        a, b = 0.32 * r, r
        return np.array([[-a, -b], [a, -b], [a, -a], [b, -a], [b, a], [a, a], [a, b], [-a, b],
                         [-a, a], [-b, a], [-b, -a], [-a, -a]], float)
    raise ValueError(f"unknown shape {shape!r}")


@dataclass
class Obj:
    """A visible object: integer centre per frame (drift + vibration) and its motion envelope."""

    category: str
    radius: int
    centres: np.ndarray  # (T, 2) int x, y
    offsets: np.ndarray  # (T, 2) int vibration part of ``centres``
    motion_env: np.ndarray  # (T,) the envelope driving the vibration (zeros when still)
    source: int | None = None

    def vertices(self, t: int) -> np.ndarray:
        return shape_vertices(LOOKS[self.category][0], self.radius) + self.centres[t]


@dataclass
class Source:
    """A sound source; ``obj`` is the index of the visible object emitting it, None off screen."""

    category: str
    env: np.ndarray  # (S,) sample-rate loudness envelope
    frame_env: np.ndarray  # (T,)
    obj: int | None
    gain: float


@dataclass
class Scene:
    kind: str
    variant: str
    objects: list[Obj]
    sources: list[Source]
    background_seed: int
    blurred: np.ndarray  # (T,) bool

    def sounding(self, t: int) -> list[int]:
        """Indices of the sources sounding at frame ``t`` (within the event span around it)."""
        a = max(0, int(round((t / FPS - SOUNDING_SPAN_S / 2) * SAMPLE_RATE)))
        b = int(round((t / FPS + SOUNDING_SPAN_S / 2) * SAMPLE_RATE)) + 1
        return [i for i, s in enumerate(self.sources) if s.env[a:b].max(initial=0) > SOUNDING_LEVEL]


class _Placer:
    """Rejection sampling of non-overlapping object paths inside the image."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.placed: list[tuple[float, float, float]] = []  # x, y, reach

    def place(self, r: int, edge: bool = False) -> tuple[np.ndarray, np.ndarray]:
        rng = self.rng
        for _ in range(200):
            v = np.zeros(2) if edge else rng.uniform(-1.5, 1.5, size=2)  # px/s
            reach = r + JITTER_PX + np.abs(v).max() * DURATION_S / 2 + 2
            if edge:
                side = rng.integers(0, 2)
                x = rng.uniform(0.0, 0.3) * r
                x = x if side == 0 else WIDTH - x
                y = rng.uniform(reach, HEIGHT - reach)
            else:
                x, y = rng.uniform(reach, WIDTH - reach), rng.uniform(reach, HEIGHT - reach)
            if all(np.hypot(x - px, y - py) > reach + pr + 4 for px, py, pr in self.placed):
                self.placed.append((x, y, reach))
                return np.array([x, y]), v
        raise RuntimeError("could not place objects")  # pragma: no cover - sizes leave room


def _track(mid: np.ndarray, v: np.ndarray, motion_env: np.ndarray,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(N_FRAMES) / FPS - DURATION_S / 2
    rest = np.rint(mid + t[:, None] * v)
    ang = rng.uniform(0, 2 * np.pi, size=N_FRAMES)
    offsets = np.rint(JITTER_PX * motion_env[:, None] * np.stack([np.cos(ang), np.sin(ang)], 1))
    return (rest + offsets).astype(int), offsets.astype(int)


class _Builder:
    """Accumulates the objects and sources of one scene."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.placer = _Placer(rng)
        self.objects: list[Obj] = []
        self.sources: list[Source] = []

    def envelope(self, start: float, end: float, dense: bool = False) -> np.ndarray:
        return sound.burst_envelope(N_SAMPLES, SAMPLE_RATE, start, end, self.rng, dense)

    def source(self, category: str, env: np.ndarray, obj: int | None = None) -> int:
        fenv = sound.frame_envelope(env, SAMPLE_RATE, FPS, N_FRAMES)
        self.sources.append(Source(category, env, fenv, obj, float(self.rng.uniform(0.3, 0.45))))
        return len(self.sources) - 1

    def obj(self, category: str, radius: int | None = None, motion_env: np.ndarray | None = None,
            edge: bool = False) -> int:
        r = int(radius or self.rng.integers(14, 29))
        mid, v = self.placer.place(r, edge)
        menv = np.zeros(N_FRAMES) if motion_env is None else motion_env
        centres, offsets = _track(mid, v, menv, self.rng)
        self.objects.append(Obj(category, r, centres, offsets, menv))
        return len(self.objects) - 1

    def sounding_obj(self, category: str, env: np.ndarray, radius: int | None = None,
                     edge: bool = False) -> int:
        fenv = sound.frame_envelope(env, SAMPLE_RATE, FPS, N_FRAMES)
        i = self.obj(category, radius, fenv, edge)
        self.objects[i].source = self.source(category, env, i)
        return i

    def distractors(self, n: int, exclude: set[str]) -> None:
        pool = [c for c in CATEGORIES if c not in exclude]
        for c in self.rng.choice(pool, size=min(n, len(pool)), replace=False):
            self.obj(str(c))

    def phantom(self, real: np.ndarray) -> np.ndarray:
        """A frame envelope like a real one but uncorrelated with it (|r| < 0.3)."""
        best = None
        for _ in range(20):
            env = sound.frame_envelope(self.envelope(0.15, 4.85), SAMPLE_RATE, FPS, N_FRAMES)
            r = abs(np.corrcoef(env, real)[0, 1])
            if best is None or r < best[0]:
                best = (r, env)
            if r < 0.3:
                break
        return best[1]


def _cats(rng: np.random.Generator, n: int, pool: tuple[str, ...] = CATEGORIES) -> list[str]:
    return [str(c) for c in rng.choice(pool, size=n, replace=False)]


def build_scene(rng: np.random.Generator, kind: str, variant: str = "") -> Scene:
    """Draw one scene of the given kind (see ``KIND_CYCLE``)."""
    b = _Builder(rng)
    getattr(_Kinds, kind)(b, variant)
    blurred = rng.random(N_FRAMES) < BLUR_RATE
    return Scene(kind, variant, b.objects, b.sources, int(rng.integers(2**31)), blurred)


class _Kinds:
    """One constructor per clip kind; each documents which scenario frames it yields."""

    @staticmethod
    def single(b: _Builder, variant: str) -> None:
        """One sounding object, silent distractors of other categories: Single-sound."""
        (c,) = _cats(b.rng, 1)
        b.sounding_obj(c, b.envelope(0.15, 4.85))
        b.distractors(int(b.rng.integers(0, 3)), {c})

    @staticmethod
    def multi_entity(b: _Builder, variant: str) -> None:
        """2-4 identical objects, one sounding, the others vibrating to phantom envelopes."""
        (c,) = _cats(b.rng, 1)
        k, r = int(b.rng.integers(2, 5)), int(b.rng.integers(14, 24))
        env = b.envelope(0.15, 4.85)
        speaker = b.sounding_obj(c, env, r)
        real = b.objects[speaker].motion_env
        for _ in range(k - 1):
            b.obj(c, r, b.phantom(real))
        b.distractors(int(b.rng.integers(0, 2)), {c})

    @staticmethod
    def mixed(b: _Builder, variant: str) -> None:
        """Two or three concurrent sources: same category, different ones, or one at the edge."""
        if variant == "same":
            (c,) = _cats(b.rng, 1)
            r = int(b.rng.integers(14, 24))
            for _ in range(2):
                b.sounding_obj(c, b.envelope(0.15, 4.85, dense=True), r)
            b.distractors(int(b.rng.integers(0, 2)), {c})
            return
        cats = _cats(b.rng, 2 if variant == "edge" else int(b.rng.integers(2, 4)))
        for j, c in enumerate(cats):
            b.sounding_obj(c, b.envelope(0.15, 4.85, dense=True), edge=variant == "edge" and j == 0)
        b.distractors(int(b.rng.integers(0, 2)), set(cats))

    @staticmethod
    def off_screen(b: _Builder, variant: str) -> None:
        """Speech from off screen over silent visible objects (a silent person included)."""
        b.source(OFF_SCREEN_CATEGORY, b.envelope(0.15, 4.85))
        b.distractors(int(b.rng.integers(1, 4)), set())

    @staticmethod
    def off_to_on(b: _Builder, variant: str) -> None:
        """Off-screen speech first, then an on-screen source: Cross-event."""
        b.source(OFF_SCREEN_CATEGORY, b.envelope(0.15, 2.3))
        (c,) = _cats(b.rng, 1)
        b.sounding_obj(c, b.envelope(2.6, 4.85))
        b.distractors(int(b.rng.integers(0, 2)), {c})

    @staticmethod
    def switch(b: _Builder, variant: str) -> None:
        """One object sounds, then another category takes over: Cross-event Single-sound."""
        a, c = _cats(b.rng, 2)
        b.sounding_obj(a, b.envelope(0.15, 2.35))
        b.sounding_obj(c, b.envelope(2.6, 4.85))
        b.distractors(int(b.rng.integers(0, 2)), {a, c})

    @staticmethod
    def join(b: _Builder, variant: str) -> None:
        """One source throughout, a second category joins halfway: Single then Mixed."""
        a, c = _cats(b.rng, 2)
        b.sounding_obj(a, b.envelope(0.15, 4.85, dense=True))
        b.sounding_obj(c, b.envelope(2.5, 4.85, dense=True))


def kind_for(index: int) -> tuple[str, str]:
    """The kind and variant of test clip ``index``."""
    kind = KIND_CYCLE[index % len(KIND_CYCLE)]
    if kind != "mixed":
        return kind, ""
    n_before = sum(1 for j in range(index) if KIND_CYCLE[j % len(KIND_CYCLE)] == "mixed")
    return kind, MIXED_VARIANTS[n_before % len(MIXED_VARIANTS)]
