"""Map resizing in numpy + scipy.sparse: the avatar protocol's bilinear and the baselines' own.

Mode ``bilinear`` (default; the avatar protocol) uses half-pixel centres, as
``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)`` and
``cv2.resize(..., INTER_LINEAR)`` without antialiasing: output pixel ``i`` samples the input at
``(i + 0.5) * in / out - 0.5``, clamped at 0, and blends its two neighbours. Mode
``bilinear-align-corners`` samples at ``i * (in - 1) / (out - 1)`` (EZ-VSL's ``test.py``) and
``bicubic-align-corners`` blends four neighbours with torch's cubic kernel (``A = -0.75``,
indices clamped at the border; SLAVC's ``test.py``).

Each mode is separable, so a batch is two sparse products: height, then width, in float32.
Bilinear results are clamped, after each axis, to the range of the two input pixels they
blend: ``(1 - w) * a + w * b`` rounded in float32 can step one ulp outside ``[a, b]`` (or
overflow near float32's maximum), which would turn a constant map into several values and
break the tie rule. The clamp changes nothing else: an exact blend lies in ``[a, b]``.
Bicubic may overshoot by design (negative lobes) and is not clamped, as in torch.
Output maps are column-major (Fortran-ordered), like pycocotools masks, so a map and its
ground truth flatten to the same pixel order without copies (see ``flat``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.sparse as sp

BILINEAR = "bilinear"
BILINEAR_AC = "bilinear-align-corners"
BICUBIC_AC = "bicubic-align-corners"
MODES = (BILINEAR, BILINEAR_AC, BICUBIC_AC)
#: torch's cubic convolution coefficient (``upsample_bicubic2d``).
CUBIC_A = -0.75


@lru_cache(maxsize=32)
def axis_weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Half-pixel bilinear: neighbour indices ``i0, i1`` and the weight ``w`` of ``i1``."""
    src = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    src = np.maximum(src, 0.0)
    return _linear(src, n_in)


def _linear(src: np.ndarray, n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    i0 = np.minimum(np.floor(src).astype(np.intp), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w = (src - i0).astype(np.float32)
    for a in (i0, i1, w):
        a.setflags(write=False)
    return i0, i1, w


def _corner_sources(n_in: int, n_out: int) -> np.ndarray:
    """align_corners=True: output ``i`` samples ``i * (in - 1) / (out - 1)`` (0 when out = 1)."""
    if n_out == 1:
        return np.zeros(1)
    return np.arange(n_out, dtype=np.float64) * ((n_in - 1) / (n_out - 1))


@lru_cache(maxsize=32)
def neighbours(n_in: int, n_out: int, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear modes: the two input indices each output position blends (for the clamp)."""
    i0, i1, _ = (axis_weights(n_in, n_out) if mode == BILINEAR
                 else _linear(_corner_sources(n_in, n_out), n_in))
    return i0, i1


def cubic_weights(t: np.ndarray) -> np.ndarray:
    """torch's four bicubic weights for fractional offsets ``t`` (``[len(t), 4]``)."""
    a = CUBIC_A

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], axis=1)


@lru_cache(maxsize=32)
def axis_matrix(n_in: int, n_out: int, mode: str = BILINEAR) -> sp.csr_matrix:
    """``[n_out, n_in]`` interpolation matrix of one axis (float32)."""
    rows = np.arange(n_out)
    if mode in (BILINEAR, BILINEAR_AC):
        i0, i1, w = (axis_weights(n_in, n_out) if mode == BILINEAR
                     else _linear(_corner_sources(n_in, n_out), n_in))
        vals = np.concatenate([np.float32(1) - w, w])
        r, c = np.concatenate([rows, rows]), np.concatenate([i0, i1])
    elif mode == BICUBIC_AC:
        src = _corner_sources(n_in, n_out)
        base = np.floor(src).astype(np.intp)
        wts = cubic_weights(src - base)
        idx = np.clip(base[:, None] + np.arange(-1, 3)[None, :], 0, n_in - 1)
        vals, r, c = wts.ravel().astype(np.float32), np.repeat(rows, 4), idx.ravel()
    else:
        raise ValueError(f"unknown resize mode {mode!r}: expected one of {MODES}")
    # Duplicate (row, col) pairs (clamped border indices) are summed by the constructor.
    return sp.csr_matrix((vals, (r, c)), shape=(n_out, n_in), dtype=np.float32)


def _axis(x: np.ndarray, n_out: int, mode: str) -> np.ndarray:
    """Resize the rows axis of ``x`` ([n_in, m] -> [n_out, m]), clamped for bilinear modes."""
    n_in = x.shape[0]
    y = axis_matrix(n_in, n_out, mode) @ x
    if mode != BICUBIC_AC:
        i0, i1 = neighbours(n_in, n_out, mode)
        a, b = x[i0], x[i1]
        lo = np.minimum(a, b)
        np.maximum(a, b, out=a)
        np.clip(y, lo, a, out=y)
    return y


def resize_maps(maps: np.ndarray, size: tuple[int, int], mode: str = BILINEAR) -> np.ndarray:
    """Resize ``[h, w]`` or ``[n, h, w]`` maps to ``size = (H, W)``; float32, a new array.

    Each returned map is Fortran-ordered (column-major); values do not depend on layout.
    """
    if mode not in MODES:
        raise ValueError(f"unknown resize mode {mode!r}: expected one of {MODES}")
    arr = np.asarray(maps)
    if arr.ndim not in (2, 3):
        raise ValueError(f"expected [h, w] or [n, h, w] maps, got shape {arr.shape}")
    single = arr.ndim == 2
    if single:
        arr = arr[None]
    n, h, w = arr.shape
    height, width = size
    # [h, n*w]: each column is one input column of one map.
    x = np.ascontiguousarray(arr.transpose(1, 0, 2), dtype=np.float32).reshape(h, n * w)
    y = _axis(x, height, mode) if h != height else x
    # [w, n*H]: each column is one output row of one map.
    y = np.ascontiguousarray(y.reshape(height, n, w).transpose(2, 1, 0)).reshape(w, n * height)
    z = _axis(y, width, mode) if w != width else y.copy()
    out = np.ascontiguousarray(z.reshape(width, n, height).transpose(1, 0, 2))  # [n, W, H]
    out += np.float32(0)  # -0.0 -> +0.0 (the clamp can return a -0.0 neighbour)
    out = out.transpose(0, 2, 1)
    return out[0] if single else out


def resize_bilinear(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Half-pixel bilinear ``resize_maps`` (the avatar protocol's resize)."""
    return resize_maps(maps, size, BILINEAR)


def flat(a: np.ndarray) -> np.ndarray:
    """Pixels of a 2-D map or mask in column-major order (a view for Fortran-ordered input)."""
    return a.T.ravel()
