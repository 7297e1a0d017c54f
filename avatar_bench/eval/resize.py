"""Bilinear resizing with the half-pixel-centre convention, in numpy + scipy.sparse.

Matches ``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)`` and
``cv2.resize(..., INTER_LINEAR)`` without antialiasing: output pixel ``i`` samples the input
at ``(i + 0.5) * in / out - 0.5``, clamped at 0, and blends its two neighbours. Bilinear is
separable, so a batch is two sparse products (2 non-zeros per row): height, then width, in
float32. Output maps are column-major (Fortran-ordered), like pycocotools masks, so a map and
its ground truth flatten to the same pixel order without copies (see ``flat``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.sparse as sp


@lru_cache(maxsize=32)
def axis_weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Neighbour indices ``i0, i1`` and the weight ``w`` of ``i1`` for each output position."""
    src = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    src = np.maximum(src, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.intp), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w = (src - i0).astype(np.float32)
    for a in (i0, i1, w):
        a.setflags(write=False)
    return i0, i1, w


@lru_cache(maxsize=32)
def axis_matrix(n_in: int, n_out: int) -> sp.csr_matrix:
    """``[n_out, n_in]`` interpolation matrix: row ``i`` holds ``1 - w`` and ``w``."""
    i0, i1, w = axis_weights(n_in, n_out)
    rows = np.arange(n_out)
    vals = np.concatenate([np.float32(1) - w, w])
    return sp.csr_matrix((vals, (np.concatenate([rows, rows]), np.concatenate([i0, i1]))),
                         shape=(n_out, n_in), dtype=np.float32)


def resize_bilinear(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize ``[h, w]`` or ``[n, h, w]`` maps to ``size = (H, W)``; float32, a new array.

    Each returned map is Fortran-ordered (column-major); values do not depend on layout.
    """
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
    y = axis_matrix(h, height) @ x if h != height else x
    # [w, n*H]: each column is one output row of one map.
    y = np.ascontiguousarray(y.reshape(height, n, w).transpose(2, 1, 0)).reshape(w, n * height)
    z = axis_matrix(w, width) @ y if w != width else y.copy()
    out = np.ascontiguousarray(z.reshape(width, n, height).transpose(1, 0, 2))  # [n, W, H]
    out = out.transpose(0, 2, 1)
    return out[0] if single else out


def flat(a: np.ndarray) -> np.ndarray:
    """Pixels of a 2-D map or mask in column-major order (a view for Fortran-ordered input)."""
    return a.T.ravel()
