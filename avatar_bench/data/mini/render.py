"""Pixels and samples of a scene: textured background, flat-shaded sprites, the audio mixture.

Sprites are rasterised from the same polygon that the annotation stores, with pycocotools
(the evaluator's rasteriser), and pasted at integer positions: the annotated mask is exactly
the object's pixels. Identical objects (same category and size) get byte-identical sprites.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

from avatar_bench.data.mini import sound
from avatar_bench.data.mini.world import (
    HEIGHT,
    LOOKS,
    N_SAMPLES,
    SAMPLE_RATE,
    WIDTH,
    Scene,
    shape_vertices,
)

#: Faint broadband noise under every clip (RMS far below the 0.01 event threshold).
NOISE_FLOOR = 0.003


def background(seed: int) -> np.ndarray:
    """A static textured background: smooth colour blobs plus fine grain, muted colours."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(60, 170, size=(9, 16, 3)).astype(np.uint8)
    smooth = np.asarray(Image.fromarray(coarse).resize((WIDTH, HEIGHT), Image.BICUBIC), float)
    grain = rng.normal(0, 9, size=(HEIGHT, WIDTH, 1))
    return np.clip(smooth + grain, 0, 255).astype(np.uint8)


def sprite(category: str, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """(rgb, mask) of an object centred in a (2r+3)-pixel box; the centre pixel is (r+1, r+1)."""
    shape, colour = LOOKS[category]
    return shape_sprite(shape, colour, radius)


@lru_cache(maxsize=512)
def shape_sprite(shape: str, colour: tuple[int, int, int], radius: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(rgb, mask) of a flat-shaded ``shape`` with a dark outline (see ``sprite``)."""
    size = 2 * radius + 3
    pts = shape_vertices(shape, radius) + (radius + 1, radius + 1)
    rle = mask_utils.frPyObjects([pts.reshape(-1).tolist()], size, size)
    mask = mask_utils.decode(mask_utils.merge(rle)).astype(bool)
    inner = mask.copy()
    inner[1:] &= mask[:-1]
    inner[:-1] &= mask[1:]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    shade = 1.1 - 0.3 * np.linspace(0, 1, size)[:, None, None]
    rgb = np.clip(np.ones((size, size, 1)) * shade * np.asarray(colour, float), 0, 255)
    rgb[mask & ~inner] *= 0.5  # dark outline
    rgb = rgb.astype(np.uint8)
    rgb.setflags(write=False)
    mask.setflags(write=False)
    return rgb, mask


def _paste(img: np.ndarray, rgb: np.ndarray, mask: np.ndarray, x0: int, y0: int) -> None:
    h, w = mask.shape
    xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + w, WIDTH), min(y0 + h, HEIGHT)
    if xa >= xb or ya >= yb:
        return
    m = mask[ya - y0:yb - y0, xa - x0:xb - x0]
    img[ya:yb, xa:xb][m] = rgb[ya - y0:yb - y0, xa - x0:xb - x0][m]


def _blur(img: np.ndarray) -> np.ndarray:
    """Two passes of a separable [1, 2, 1] / 4 filter: a mild defocus."""
    x = img.astype(np.float32)
    for _ in range(2):
        x = np.pad(x, ((1, 1), (1, 1), (0, 0)), mode="edge")
        x = (x[:-2] + 2 * x[1:-1] + x[2:]) / 4
        x = (x[:, :-2] + 2 * x[:, 1:-1] + x[:, 2:]) / 4
    return (x + 0.5).astype(np.uint8)


def render_frame(scene: Scene, bg: np.ndarray, t: int, blur: bool | None = None) -> np.ndarray:
    """Frame ``t`` (H, W, 3) uint8; ``blur=None`` follows the scene's defocus flags."""
    img = bg.copy()
    for c in getattr(scene, "clutter", ()):  # v2: background movers, under the objects
        rgb, mask = shape_sprite(c.shape, c.colour, c.radius)
        cx, cy = c.centres[t]
        _paste(img, rgb, mask, int(cx) - c.radius - 1, int(cy) - c.radius - 1)
    for obj in scene.objects:
        rgb, mask = sprite(obj.category, obj.radius)
        cx, cy = obj.centres[t]
        _paste(img, rgb, mask, int(cx) - obj.radius - 1, int(cy) - obj.radius - 1)
    if scene.blurred[t] if blur is None else blur:
        img = _blur(img)
    return img


def render_frames(scene: Scene, indices: np.ndarray) -> np.ndarray:
    """Frames at ``indices`` as (len, H, W, 3) uint8."""
    bg = background(scene.background_seed)
    out = np.empty((len(indices), HEIGHT, WIDTH, 3), np.uint8)
    for j, t in enumerate(indices):
        out[j] = render_frame(scene, bg, int(t))
    return out


def render_audio(scene: Scene) -> np.ndarray:
    """The mono mixture of all sources plus a noise floor, float32 with peak <= 0.95."""
    rng = np.random.default_rng(scene.background_seed + 1)
    mix = NOISE_FLOOR * rng.standard_normal(N_SAMPLES)
    for src in scene.sources:
        mix += sound.source_wave(src.category, src.env, SAMPLE_RATE, src.gain, rng)
    peak = np.abs(mix).max()
    if peak > 0.95:
        mix *= 0.95 / peak
    return mix.astype(np.float32)
