"""Map resizing in numpy + scipy.sparse: the avatar protocol's bilinear and the baselines' own.

Mode ``bilinear`` (default; the avatar protocol) uses half-pixel centres, as
``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)`` and
``cv2.resize(..., INTER_LINEAR)`` without antialiasing: output pixel ``i`` samples the input at
``(i + 0.5) * in / out - 0.5``, clamped at 0, and blends its two neighbours. Mode
``bilinear-align-corners`` samples at ``i * (in - 1) / (out - 1)`` (EZ-VSL's ``test.py``) and
``bicubic-align-corners`` blends four neighbours with torch's cubic kernel (``A = -0.75``,
indices clamped at the border; SLAVC's ``test.py``).

Each mode is separable: height first, then width, in float32. Bilinear is computed map by
map, the width pass in bands of output columns, so every intermediate stays in the CPU cache
(each output value is ``(1 - w) * a + w * b`` rounded as a sparse matrix product would round
it, with the same bits). Bicubic (legacy only) is two sparse products.
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
def linear_weights(n_in: int, n_out: int, mode: str) -> tuple[np.ndarray, np.ndarray,
                                                                np.ndarray]:
    """Bilinear modes: ``i0, i1, w`` (``w`` = weight of ``i1``) per output position."""
    if mode == BILINEAR:
        return axis_weights(n_in, n_out)
    return _linear(_corner_sources(n_in, n_out), n_in)


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
        i0, i1, w = linear_weights(n_in, n_out, mode)
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


#: Output columns per band of the width pass (the band's scratch arrays stay in cache).
BAND = 160


def _blend(out: np.ndarray, a: np.ndarray, b: np.ndarray, u: np.ndarray, w: np.ndarray,
           t: np.ndarray) -> None:
    """``out = clamp(u * a + w * b, min(a, b), max(a, b))``; ``t`` is scratch."""
    np.multiply(a, u, out=out)
    np.multiply(b, w, out=t)
    out += t
    np.minimum(a, b, out=t)
    np.maximum(out, t, out=out)
    np.maximum(a, b, out=t)
    np.minimum(out, t, out=out)


def _bilinear_map(src: np.ndarray, out: np.ndarray, mode: str) -> None:
    """One ``[h, w]`` map into ``out`` (``[W, H]``: the map transposed, i.e. column-major)."""
    h, w = src.shape
    width, height = out.shape
    x = np.ascontiguousarray(src.T, dtype=np.float32)  # [w, h]: rows are input columns
    if h != height:
        i0, i1, wt = linear_weights(h, height, mode)
        a, b = x.take(i0, axis=1), x.take(i1, axis=1)
        y = np.empty_like(a)
        _blend(y, a, b, (np.float32(1) - wt)[None, :], wt[None, :], np.empty_like(a))
    else:
        y = x
    if w == width:
        out[...] = y
        return
    j0, j1, wt = linear_weights(w, width, mode)
    u = (np.float32(1) - wt)[:, None]
    for s in range(0, width, BAND):
        e = min(width, s + BAND)
        a, b = y[j0[s:e]], y[j1[s:e]]
        _blend(out[s:e], a, b, u[s:e], wt[s:e, None], np.empty_like(a))


class BilinearPlan:
    """One map's bilinear resize in pieces, with the exact bits of ``resize_maps``.

    Why: scoring needs only counts and a few pixel values per map, so the full-resolution
    map need not exist. ``vertical`` does the height pass (``V``, ``[w, H]``: one row per
    input column, as ``_bilinear_map``); ``band`` gives output columns ``s:e`` and ``pixels``
    single pixels, each as the same float32 operations in the same order as ``_blend``
    (product, product, sum, clamp, ``+ 0``), so every value is bit-identical.
    Output column ``x`` blends rows ``j0[x]`` and ``j1[x] = min(j0[x] + 1, w - 1)`` of ``V``;
    the clamp keeps it inside ``[min, max]`` of those two values, which ``pair_bounds``
    gives per distinct ``j0`` ("group"): a whole group can be classified against a
    threshold without computing its pixels.
    """

    def __init__(self, shape_in: tuple[int, int], size: tuple[int, int],
                 mode: str = BILINEAR) -> None:
        if mode not in (BILINEAR, BILINEAR_AC):
            raise ValueError(f"BilinearPlan needs a bilinear mode, got {mode!r}")
        (self.h, self.w), (self.height, self.width) = shape_in, size
        self.rows = None if self.h == self.height else _weights(self.h, self.height, mode)
        if self.w == self.width:  # no width pass: column x is row x of V
            self.cols = None
            self.heads = self.tails = self.group = np.arange(self.w)
        else:
            self.cols = _weights(self.w, self.width, mode)
            # Groups: the distinct j0 (ascending; each is a run of x); ``group[x]`` names it.
            self.heads, self.group = np.unique(self.cols[0], return_inverse=True)
            self.tails = np.minimum(self.heads + 1, self.w - 1)

    def vertical(self, src: np.ndarray) -> np.ndarray:
        """The height pass of one ``[h, w]`` map: ``[w, H]`` float32 (C order).

        Blended as ``[H, w]`` (row gathers are cheaper than column gathers) and transposed
        once; elementwise, the operations are those of ``_bilinear_map``.
        """
        x = as_float32(src)  # [h, w]
        if self.rows is None:
            return np.ascontiguousarray(x.T)
        i0, i1, u, wt = self.rows
        a, b = x.take(i0, axis=0), x.take(i1, axis=0)
        y = np.empty_like(a)
        _blend(y, a, b, u[:, None], wt[:, None], np.empty_like(a))
        return np.ascontiguousarray(y.T)

    def band(self, v: np.ndarray, s: int, e: int) -> np.ndarray:
        """Output columns ``s:e`` as ``[e - s, H]`` float32 (a new array)."""
        if self.cols is None:
            out = v[s:e].copy()
        else:
            j0, j1, u, wt = self.cols
            a, b = v[j0[s:e]], v[j1[s:e]]
            out = np.empty_like(a)
            _blend(out, a, b, u[s:e, None], wt[s:e, None], np.empty_like(a))
        out += np.float32(0)
        return out

    def full(self, v: np.ndarray) -> np.ndarray:
        """The whole map, ``[W, H]`` (``resize_maps``' output, transposed), band by band."""
        out = np.empty((self.width, self.height), np.float32)
        for s in range(0, self.width, BAND):
            out[s:s + BAND] = self.band(v, s, min(self.width, s + BAND))
        return out

    def pixels(self, v: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Values of output pixels at column-major flat indices ``idx`` (``x * H + y``)."""
        x, y = np.divmod(idx, self.height)
        flat_v = v.reshape(-1)  # 1-D takes: cheaper than 2-D fancy indexing
        if self.cols is None:
            out = flat_v.take(idx)
        else:
            j0, j1, u, wt = self.cols
            a, b = flat_v.take(j0[x] * self.height + y), flat_v.take(j1[x] * self.height + y)
            out = np.empty_like(a)
            _blend(out, a, b, u[x], wt[x], np.empty_like(a))
        out += np.float32(0)
        return out

    def grid(self, src: np.ndarray, step: int) -> np.ndarray:
        """Output pixels of rows and columns ``0, step, 2 * step, ...`` of one ``[h, w]`` map,
        as ``[columns, rows]`` float32: a ``1 / step**2`` sample of the resized map for the
        price of that share of the work, each value bit-identical (same elementwise
        operations as ``vertical`` then ``band``, on a subset of rows and columns)."""
        x = as_float32(src)  # [h, w]
        ys, xs = np.arange(0, self.height, step), np.arange(0, self.width, step)
        if self.rows is None:
            v = np.ascontiguousarray(x[ys].T)
        else:
            i0, i1, u, wt = self.rows
            a, b = x.take(i0[ys], axis=0), x.take(i1[ys], axis=0)
            y = np.empty_like(a)
            _blend(y, a, b, u[ys, None], wt[ys, None], np.empty_like(a))
            v = np.ascontiguousarray(y.T)  # [w, len(ys)]
        if self.cols is None:
            out = v[xs]
        else:
            j0, j1, u, wt = self.cols
            a, b = v[j0[xs]], v[j1[xs]]
            out = np.empty_like(a)
            _blend(out, a, b, u[xs, None], wt[xs, None], np.empty_like(a))
        out += np.float32(0)
        return out

    def pair_bounds(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per group and output row, ``[n_groups, H]``: the least and greatest value any of
        the group's output pixels in that row can take (exactly ``V`` without a width pass)."""
        a, b = v[self.heads], v[self.tails]
        return np.minimum(a, b), np.maximum(a, b)


#: float32 value of every float16 bit pattern (a table lookup converts about twice as fast
#: as ``astype``, and gives the same bits since the table was made by ``astype``).
_F16_TO_F32 = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(
    np.float32)


def as_float32(src: np.ndarray) -> np.ndarray:
    """A map as a C-ordered float32 array (float16 through ``_F16_TO_F32``)."""
    src = np.asarray(src)
    if src.dtype == np.float16:
        return _F16_TO_F32.take(np.ascontiguousarray(src).view(np.uint16))
    return np.ascontiguousarray(src, dtype=np.float32)


def _weights(n_in: int, n_out: int, mode: str) -> tuple[np.ndarray, ...]:
    """``i0, i1, 1 - w, w`` of one axis, as ``_bilinear_map`` uses them."""
    i0, i1, w = linear_weights(n_in, n_out, mode)
    return i0, i1, np.float32(1) - w, w


@lru_cache(maxsize=16)
def bilinear_plan(shape_in: tuple[int, int], size: tuple[int, int],
                  mode: str = BILINEAR) -> BilinearPlan:
    """A shared ``BilinearPlan`` (read-only after construction)."""
    return BilinearPlan(tuple(shape_in), tuple(size), mode)


def _bicubic(arr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``[n, h, w]`` -> ``[n, W, H]`` by two sparse products (height, then width)."""
    n, h, w = arr.shape
    height, width = size
    x = np.ascontiguousarray(arr.transpose(1, 0, 2), dtype=np.float32).reshape(h, n * w)
    y = axis_matrix(h, height, BICUBIC_AC) @ x if h != height else x
    y = np.ascontiguousarray(y.reshape(height, n, w).transpose(2, 1, 0)).reshape(w, n * height)
    z = axis_matrix(w, width, BICUBIC_AC) @ y if w != width else y.copy()
    return np.ascontiguousarray(z.reshape(width, n, height).transpose(1, 0, 2))


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
    height, width = size
    if mode == BICUBIC_AC:
        out = _bicubic(arr, size)
    else:
        out = np.empty((arr.shape[0], width, height), np.float32)  # [n, W, H]
        for k in range(arr.shape[0]):
            _bilinear_map(arr[k], out[k], mode)
    out += np.float32(0)  # -0.0 -> +0.0 (the clamp can return a -0.0 neighbour)
    out = out.transpose(0, 2, 1)
    return out[0] if single else out


def resize_bilinear(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Half-pixel bilinear ``resize_maps`` (the avatar protocol's resize)."""
    return resize_maps(maps, size, BILINEAR)


def flat(a: np.ndarray) -> np.ndarray:
    """Pixels of a 2-D map or mask in column-major order (a view for Fortran-ordered input)."""
    return a.T.ravel()
