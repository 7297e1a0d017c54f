"""The AVATAR-mini v2 world: every visible object moves like a sounding one.

v1 let motion stand in for sound: silent objects stayed still outside Multi-entity, so a
model that never hears the audio could find most sounding objects. In v2 every visible object
vibrates for the whole clip. A sounding object vibrates to its own loudness envelope while it
sounds; at every other time (a silent object always) it vibrates to a *shuffled copy* of the
envelope of a source that is audible then: the same frame values, each 0.6 s segment
rotated by 0.15-0.45 s. Motion energy over any ~0.6 s stretch is therefore the same for
sounding and silent objects, also around the loud audio events where the paper's rule puts the
annotated frames, and bursts keep their shape; only their timing, compared with the audio,
tells which object sounds.

Other v2 rules (docs/mini.md lists them with their measured effect): one size range (equal
area) for every scenario, at least one silent mover in every clip, silent look-alikes outside
Multi-entity (mixed, off-screen and Cross-event clips), off-screen sounds of every category,
and Cross-event ``switch`` clips whose two objects stay visible (and move) throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from avatar_bench.data.mini import sound
from avatar_bench.data.mini.world import (
    CATEGORIES,
    FPS,
    HEIGHT,
    KIND_CYCLE,
    LOOKS,
    MIXED_VARIANTS,
    N_FRAMES,
    N_SAMPLES,
    SAMPLE_RATE,
    WIDTH,
    Obj,
    Scene,
    Source,
    _Placer,
    _track,
    shape_vertices,
)

#: Object sizes, one range for every scenario (v1: radius 14-28, Multi-entity 14-23): the
#: radius of the circle of equal area, so that a star and a square of one size cover the same
#: pixels (shape radius = size * sqrt(pi / area of the unit shape)).
SIZE_RANGE = (12, 20)  # integers in [12, 20)
#: Phantom envelopes: a template rotated inside segments of SEGMENT frames (0.6 s).
SEGMENT = 12
#: Redraws of the rotations, keeping the one least correlated with its template.
SHUFFLE_TRIES = 12
#: A source counts as active from its first burst start to its last burst end plus this.
ACTIVE_PAD_S = 0.1
SWITCH_VARIANTS: tuple[str, ...] = ("different", "same")
#: Background clutter: small grey-ish shapes that move like everything else, so that motion
#: energy does not even tell where the objects are.
CLUTTER_COUNT = (16, 25)  # integers in [16, 25)
CLUTTER_RADIUS = (5, 11)
SHAPES: tuple[str, ...] = tuple(sorted({shape for shape, _ in LOOKS.values()}))


@dataclass
class Clutter:
    """A background mover of no category (never annotated, drawn under the objects)."""

    shape: str
    colour: tuple[int, int, int]
    radius: int
    centres: np.ndarray  # (T, 2) int
    motion_env: np.ndarray  # (T,)


@dataclass
class SceneV2(Scene):
    clutter: list[Clutter] = field(default_factory=list)


def shuffle_envelope(template: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``template`` rotated inside consecutive SEGMENT-frame segments (random grid phase).

    Each segment is rotated by its own random shift in [SEGMENT/4, 3*SEGMENT/4] frames; of
    ``SHUFFLE_TRIES`` draws the one least correlated with the template is kept. The values
    and, inside a segment, their order up to one wrap-around are the template's, so each
    segment's motion energy and the envelope's smoothness (bursts stay whole) are unchanged;
    only their timing moves.
    """
    n = template.size
    best, best_r = template, np.inf
    for _ in range(SHUFFLE_TRIES):
        phase = int(rng.integers(0, SEGMENT))
        edges = [0, *range(phase, n, SEGMENT)] if phase else list(range(0, n, SEGMENT))
        frames = np.arange(n)
        for a, b in zip(edges, [*edges[1:], n], strict=True):
            m = b - a
            if m >= 4:
                shift = int(rng.integers(m // 4, 3 * m // 4 + 1))
                frames[a:b] = a + (np.arange(m) + shift) % m
        cand = template[frames]
        r = abs(np.corrcoef(cand, template)[0, 1]) if template.std() > 0 else 0.0
        if r < best_r:
            best, best_r = cand, r
    return best


def _unit_area(shape: str) -> float:
    x, y = shape_vertices(shape, 1.0).T
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def shape_radius(category: str, size: int) -> int:
    """The radius at which ``category``'s shape covers the area of a circle of radius ``size``."""
    return int(round(size * np.sqrt(np.pi / _unit_area(LOOKS[category][0]))))


class _Spec:
    """A visible object before its motion is known."""

    def __init__(self, category: str, size: int, source: int | None, edge: bool) -> None:
        self.category, self.size, self.source, self.edge = category, size, source, edge
        self.radius = shape_radius(category, size) if category else size


class _Builder:
    """Declares sources and objects; ``finish`` gives every object its motion and path."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.sources: list[Source] = []
        self.spans: list[tuple[float, float]] = []
        self.specs: list[_Spec] = []

    def size(self) -> int:
        return int(self.rng.integers(*SIZE_RANGE))

    def source(self, category: str, start: float, end: float, dense: bool = False) -> int:
        env = sound.burst_envelope(N_SAMPLES, SAMPLE_RATE, start, end, self.rng, dense)
        fenv = sound.frame_envelope(env, SAMPLE_RATE, FPS, N_FRAMES)
        self.sources.append(Source(category, env, fenv, None, float(self.rng.uniform(0.3, 0.45))))
        self.spans.append((start, end))
        return len(self.sources) - 1

    def obj(self, category: str, size: int | None = None, source: int | None = None,
            edge: bool = False) -> int:
        self.specs.append(_Spec(category, size or self.size(), source, edge))
        return len(self.specs) - 1

    def sounding(self, category: str, start: float, end: float, dense: bool = False,
                 size: int | None = None, edge: bool = False) -> int:
        return self.obj(category, size, self.source(category, start, end, dense), edge)

    def silent(self, n: int, exclude: set[str], lookalike: str | None = None) -> None:
        """``n`` silent movers of categories not in ``exclude``; the first is a look-alike of
        ``lookalike`` (same category and size as an existing object) when given."""
        if lookalike is not None and n > 0:
            twin = next(s for s in self.specs if s.category == lookalike)
            self.obj(lookalike, twin.size)
            n -= 1
        pool = [c for c in CATEGORIES if c not in exclude and c != lookalike]
        for c in self.rng.choice(pool, size=min(n, len(pool)), replace=False):
            self.obj(str(c))

    def active(self, i: int) -> np.ndarray:
        """Frames during which source ``i`` is audible (first burst to last burst + pad)."""
        t = np.arange(N_FRAMES) / FPS
        start, end = self.spans[i]
        return (t >= start) & (t <= end + ACTIVE_PAD_S)

    def motion(self, spec: _Spec) -> np.ndarray:
        """Own envelope while sounding, a shuffled audible envelope at every other frame."""
        others = [i for i in range(len(self.sources)) if i != spec.source]
        template = np.zeros(N_FRAMES)
        filled = np.zeros(N_FRAMES, bool)
        for i in self.rng.permutation(others) if others else []:
            take = self.active(int(i)) & ~filled
            template[take] = self.sources[int(i)].frame_env[take]
            filled |= take
        phantom = shuffle_envelope(template, self.rng)
        if spec.source is None:
            return phantom
        own = self.active(spec.source)
        return np.where(own, self.sources[spec.source].frame_env, phantom)

    def finish(self) -> tuple[list[Obj], list[Source]]:
        for _ in range(20):
            placer, objects = _Placer(self.rng), []
            try:
                for k, spec in enumerate(self.specs):
                    mid, v = placer.place(spec.radius, spec.edge)
                    menv = self.motion(spec)
                    centres, offsets = _track(mid, v, menv, self.rng)
                    objects.append(Obj(spec.category, spec.radius, centres, offsets, menv,
                                       spec.source))
                    if spec.source is not None:
                        self.sources[spec.source].obj = k
                break
            except RuntimeError:  # no room: draw every path again
                continue
        else:  # pragma: no cover - five objects of size < 20 fit in 20 tries (seed 0 and the tests)
            raise RuntimeError("could not place objects")
        return objects, self.sources

    def clutter(self) -> list[Clutter]:
        """Background movers anywhere in the frame (objects are drawn over them)."""
        out = []
        for _ in range(int(self.rng.integers(*CLUTTER_COUNT))):
            shape = str(self.rng.choice(SHAPES))
            grey = int(self.rng.choice([self.rng.integers(15, 60), self.rng.integers(200, 246)]))
            colour = tuple(int(np.clip(grey + d, 0, 255)) for d in self.rng.integers(-15, 16, 3))
            r = int(self.rng.integers(*CLUTTER_RADIUS))
            mid = np.array([self.rng.uniform(0, WIDTH), self.rng.uniform(0, HEIGHT)])
            menv = self.motion(_Spec("", r, None, False))
            centres, _ = _track(mid, np.zeros(2), menv, self.rng)
            out.append(Clutter(shape, colour, r, centres, menv))
        return out


def _cats(rng: np.random.Generator, n: int) -> list[str]:
    return [str(c) for c in rng.choice(CATEGORIES, size=n, replace=False)]


class _Kinds:
    """One constructor per clip kind (the v1 kinds, with v2's silent movers and look-alikes)."""

    @staticmethod
    def single(b: _Builder, variant: str) -> None:
        """One sounding object, 1-3 silent movers of other categories: Single-sound."""
        (c,) = _cats(b.rng, 1)
        b.sounding(c, 0.15, 4.85)
        b.silent(int(b.rng.integers(1, 4)), {c})

    @staticmethod
    def multi_entity(b: _Builder, variant: str) -> None:
        """2-4 identical objects, one sounding; 0-1 silent movers of another category."""
        (c,) = _cats(b.rng, 1)
        k, r = int(b.rng.integers(2, 5)), b.size()
        b.sounding(c, 0.15, 4.85, size=r)
        for _ in range(k - 1):
            b.obj(c, r)
        b.silent(int(b.rng.integers(0, 2)), {c})

    @staticmethod
    def mixed(b: _Builder, variant: str) -> None:
        """Two or three dense concurrent sources, one or two silent movers (a look-alike of a
        sounding category in half of the clips)."""
        if variant == "same":
            (c,) = _cats(b.rng, 1)
            r = b.size()
            for _ in range(2):
                b.sounding(c, 0.15, 4.85, dense=True, size=r)
            b.silent(1, {c})
            return
        cats = _cats(b.rng, 2 if variant == "edge" else int(b.rng.integers(2, 4)))
        for j, c in enumerate(cats):
            b.sounding(c, 0.15, 4.85, dense=True, edge=variant == "edge" and j == 0)
        twin = cats[-1] if b.rng.random() < 0.5 else None
        b.silent(1 if len(cats) == 3 else int(b.rng.integers(1, 3)), set(cats), twin)

    @staticmethod
    def off_screen(b: _Builder, variant: str) -> None:
        """A sound of any category from off screen over 1-3 silent movers (a look-alike of
        the off-screen category in half of the clips)."""
        (c,) = _cats(b.rng, 1)
        b.source(c, 0.15, 4.85)
        n = int(b.rng.integers(1, 4))
        if b.rng.random() < 0.5:
            b.obj(c)
            n -= 1
        b.silent(n, {c})

    @staticmethod
    def off_to_on(b: _Builder, variant: str) -> None:
        """Off-screen sound until 2.3 s, then a visible object (moving throughout) from 2.6 s."""
        c_off, c = _cats(b.rng, 2)
        b.source(c_off, 0.15, 2.3)
        b.sounding(c, 2.6, 4.85)
        b.silent(int(b.rng.integers(1, 3)), {c, c_off})

    @staticmethod
    def switch(b: _Builder, variant: str) -> None:
        """Two objects visible and moving throughout; the first sounds until 2.35 s, the other
        from 2.6 s. ``same``: identical objects (Multi-entity frames); else Single-sound."""
        a, c = _cats(b.rng, 2)
        if variant == "same":
            r = b.size()
            b.sounding(a, 0.15, 2.35, size=r)
            b.sounding(a, 2.6, 4.85, size=r)
            b.silent(1, {a})
            return
        b.sounding(a, 0.15, 2.35)
        b.sounding(c, 2.6, 4.85)
        b.silent(int(b.rng.integers(1, 3)), {a, c})

    @staticmethod
    def join(b: _Builder, variant: str) -> None:
        """One dense source throughout, a second category joins at 2.5 s (it moves before)."""
        a, c = _cats(b.rng, 2)
        b.sounding(a, 0.15, 4.85, dense=True)
        b.sounding(c, 2.5, 4.85, dense=True)
        b.silent(1, {a, c})


def build_scene(rng: np.random.Generator, kind: str, variant: str = "") -> SceneV2:
    """Draw one v2 scene of the given kind."""
    b = _Builder(rng)
    getattr(_Kinds, kind)(b, variant)
    objects, sources = b.finish()
    clutter = b.clutter()
    blurred = rng.random(N_FRAMES) < 0.25
    return SceneV2(kind, variant, objects, sources, int(rng.integers(2**31)), blurred, clutter)


def kind_for(index: int) -> tuple[str, str]:
    """The kind and variant of v2 test clip ``index`` (v1's cycle; switch alternates too)."""
    kind = KIND_CYCLE[index % len(KIND_CYCLE)]
    variants = {"mixed": MIXED_VARIANTS, "switch": SWITCH_VARIANTS}.get(kind)
    if variants is None:
        return kind, ""
    n_before = sum(1 for j in range(index) if KIND_CYCLE[j % len(KIND_CYCLE)] == kind)
    return kind, variants[n_before % len(variants)]


def random_kind(rng: np.random.Generator) -> tuple[str, str]:
    """A kind and variant drawn from the same mix (training stream)."""
    kind = str(rng.choice(KIND_CYCLE))
    variants = {"mixed": MIXED_VARIANTS, "switch": SWITCH_VARIANTS}.get(kind)
    return kind, (str(rng.choice(variants)) if variants else "")
