"""Compiled inner loops of the per-frame pass (numba), bit-identical to the numpy route.

Why: the per-frame pass is a few hundred small array operations per frame; in numpy each
one costs Python time and holds the GIL, so threads hardly overlap. Here a frame is two
calls that release the GIL: ``vertical`` (the height pass) and ``split`` (a ``Split``
against one threshold interval), which visits only what the numpy route visits: group x
row cells classified by their bounds, mask runs cut per column, and the pixels of mixed
cells, each computed with the float32 operations of ``resize._blend`` in the same order.

numba is a dependency, yet the route stays optional: where numba cannot be imported (a
platform without its wheels), or with ``AVATAR_BENCH_KERNELS=numpy``, the evaluator takes
the numpy route, to which the tests hold these kernels value by value.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache

import numpy as np
from pycocotools import mask as mask_utils

from avatar_bench.eval.resize import _F16_TO_F32, BilinearPlan, as_float32
from avatar_bench.eval.runs import Runs

try:  # pragma: no cover - exercised by whichever environment runs the tests
    import numba
except Exception:  # pragma: no cover - missing, or broken (e.g. an llvmlite it cannot load)
    numba = None


def enabled() -> bool:
    """Whether the compiled route is used (numba importable, not switched off)."""
    return numba is not None and os.environ.get("AVATAR_BENCH_KERNELS", "") != "numpy"


def _jit(fn):
    """Compile without the GIL; cache the machine code beside the module (or in numba's
    user-wide cache) so a process after the first skips the compile, ~3 s."""
    if numba is None:
        return fn
    try:
        return numba.njit(nogil=True, cache=True)(fn)
    except RuntimeError:  # no writable cache location: compile in each process instead
        return numba.njit(nogil=True)(fn)


@_jit
def _blend1(a, b, u, w):  # pragma: no cover - compiled
    """One value of ``resize._blend``: ``u * a + w * b`` clamped to the pair's range, with
    numpy's ``minimum``/``maximum`` (first operand on ties)."""
    v = a * u + b * w
    lo = a if a <= b else b
    hi = a if a >= b else b
    v = v if v >= lo else lo
    return v if v <= hi else hi


@_jit
def _vertical(x, i0, i1, u, wt, vt):  # pragma: no cover - compiled
    """Height pass into ``vt`` (``[H, w]``: ``BilinearPlan.vertical`` transposed): output
    row ``y`` blends input rows ``i0[y]``, ``i1[y]``, read and written contiguously (the
    loop vectorises; a running maximum here would stop that, see ``Kernels.vertical``)."""
    for y in range(vt.shape[0]):
        r0, r1, uu, ww = x[i0[y]], x[i1[y]], u[y], wt[y]
        out = vt[y]
        for j in range(vt.shape[1]):
            out[j] = _blend1(r0[j], r1[j], uu, ww)


@_jit
def _widen(src, table, out):  # pragma: no cover - compiled
    """float16 (as its uint16 bits) -> float32 through ``resize._F16_TO_F32``."""
    for i in range(src.shape[0]):
        for j in range(src.shape[1]):
            out[i, j] = table[src[i, j]]


@_jit
def _classify_cell(x, y, lo, hi, run, mixflag, g):  # pragma: no cover - compiled
    """Cell ``g`` with pair values ``x``, ``y``: ``run[g]`` += 1 when the least is above
    ``hi``; ``mixflag[g]`` = 1 when mixed (branch-free, so the loops calling it vectorise)."""
    least = x if x <= y else y
    most = x if x >= y else y
    run[g] += np.int32(1) if least > hi else np.int32(0)
    mixflag[g] = np.uint8(1) if (least <= hi) & (most >= lo) else np.uint8(0)


@_jit
def _classify(a, b, lo, hi, run, mixflag):  # pragma: no cover - compiled
    """Cells ``g`` of one row, from their gathered pair values ``a[g]``, ``b[g]``."""
    for g in range(len(a)):
        _classify_cell(a[g], b[g], lo, hi, run, mixflag, g)


@_jit
def _classify_pairs(row, lo, hi, run, mixflag, n_groups):  # pragma: no cover - compiled
    """``_classify`` of contiguous groups: cell ``g`` pairs ``row[g]`` and ``row[g + 1]``,
    the last pairs with itself (read in place, no gather)."""
    for g in range(n_groups - 1):
        _classify_cell(row[g], row[g + 1], lo, hi, run, mixflag, g)
    _classify_cell(row[n_groups - 1], row[n_groups - 1], lo, hi, run, mixflag, n_groups - 1)


@_jit
def _cells(vt, heads, tails, contiguous, lo, hi, cum, run, mixflag, pa, pb, mixed_ptr,
           mixed_ys, cell_g, cell_y):  # pragma: no cover - compiled
    """Classify each group x row cell by the least and greatest value of its input pair:
    ``cum[y, g]`` = above cells among rows ``< y`` of group ``g``; the rows of the mixed
    cells listed per group, ascending (``mixed_ptr``: CSR offsets into ``mixed_ys``).
    ``contiguous``: group ``g`` blends input columns ``g`` and ``g + 1`` (the last with
    itself), as when upsampling; the pairs are then read in place."""
    n_groups = len(heads)
    run[:] = 0
    mixflag[:] = 0
    cum[0] = 0
    mixed_ptr[:] = 0
    words = mixflag.view(np.uint64)  # mixed cells are few: skip 8 clear flags at a time
    n = 0
    for y in range(vt.shape[0]):
        row = vt[y]
        if contiguous:
            _classify_pairs(row, lo, hi, run, mixflag, n_groups)
        else:
            for g in range(n_groups):
                pa[g] = row[heads[g]]
                pb[g] = row[tails[g]]
            _classify(pa, pb, lo, hi, run, mixflag)
        out = cum[y + 1]
        for g in range(n_groups):
            out[g] = run[g]
        for i in range(len(words)):
            if words[i]:
                for g in range(8 * i, 8 * i + 8):
                    if mixflag[g]:
                        cell_g[n] = g
                        cell_y[n] = y
                        mixed_ptr[g + 1] += 1
                        n += 1
    for g in range(n_groups):
        mixed_ptr[g + 1] += mixed_ptr[g]
    fill = mixed_ptr[:-1].copy()
    for k in range(n):  # a stable counting sort by group: rows stay ascending
        g = cell_g[k]
        mixed_ys[fill[g]] = cell_y[k]
        fill[g] += 1


@_jit
def _split(vt, heads, tails, contiguous, group, j0, j1, cu, cw, has_cols, starts, ends, moff,
           lo, hi, cum, run, mixflag, pa, pb, mixed_ptr, mixed_ys, cell_g, cell_y, out_vals,
           out_bits, inter):
    """Per-frame split (see ``Kernels.split``): returns ``(pixels above hi, values kept)``;
    ``inter[m]`` gets mask ``m``'s pixels above hi, ``out_bits`` mask-index bits."""
    _cells(vt, heads, tails, contiguous, lo, hi, cum, run, mixflag, pa, pb, mixed_ptr,
           mixed_ys, cell_g, cell_y)
    h = vt.shape[0]
    n_masks = len(moff) - 1
    piece = moff[:-1].copy()  # next run to cut into column pieces, per mask
    probe = moff[:-1].copy()  # next run for membership of mixed pixels, per mask
    pos = 0
    n = 0
    for m in range(n_masks):
        inter[m] = 0
    for x in range(len(group)):
        g = group[x]
        pos += cum[h, g]
        col0, col1 = x * h, (x + 1) * h
        for m in range(n_masks):
            p = piece[m]
            while p < moff[m + 1] and starts[p] < col1:
                y0 = max(starts[p] - col0, 0)
                y1 = min(ends[p] - col0, h)
                inter[m] += cum[y1, g] - cum[y0, g]
                if ends[p] <= col1:
                    p += 1
                else:
                    break
            piece[m] = p
        for k in range(mixed_ptr[g], mixed_ptr[g + 1]):
            y = mixed_ys[k]
            if has_cols:
                val = _blend1(vt[y, j0[x]], vt[y, j1[x]], cu[x], cw[x])
            else:
                val = vt[y, x]
            val = val + np.float32(0)
            if val < lo:
                continue
            idx = col0 + y
            bits = 0
            for m in range(n_masks):
                q = probe[m]
                while q < moff[m + 1] and ends[q] <= idx:
                    q += 1
                probe[m] = q
                if q < moff[m + 1] and starts[q] <= idx:
                    bits |= 1 << m
            if val > hi:
                pos += 1
                for m in range(n_masks):
                    if bits & (1 << m):
                        inter[m] += 1
            else:
                out_vals[n] = val
                out_bits[n] = bits
                n += 1
    return pos, n


@_jit
def _rle_runs(text, n_pixels):  # pragma: no cover - compiled
    """``runs.rle_counts`` then ``Runs.from_counts`` in one loop: ``(n, starts, ends)``, or
    ``n = -1`` for anything ``runs._valid_counts`` would refuse (pycocotools decides then)."""
    counts = np.empty(len(text), np.int64)
    starts = np.empty(len(text) // 2 + 1, np.int64)
    ends = np.empty(len(text) // 2 + 1, np.int64)
    n = 0
    p = 0
    while p < len(text):
        x = np.int64(0)
        k = 0
        while True:
            if p >= len(text) or k > 11:  # truncated, or more digits than an int64 holds
                return -1, starts, ends
            c = np.int64(text[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            p += 1
            k += 1
            if not c & 0x20:
                if c & 0x10:
                    x |= np.int64(-1) << (5 * k)
                break
        if n > 2:
            x += counts[n - 2]
        counts[n] = x
        n += 1
    r = 0
    at = np.int64(0)
    for i in range(n):
        if counts[i] < 0:
            return -1, starts, ends
        if i % 2 == 1 and counts[i] > 0:
            starts[r] = at
            ends[r] = at + counts[i]
            r += 1
        at += counts[i]
    if n == 0 or at != n_pixels:
        return -1, starts, ends
    return r, starts, ends


def runs_from_rle(rle: dict) -> Runs:
    """``Runs.from_rle`` with the string parsed by a compiled loop (GIL released)."""
    text = rle["counts"]
    if not enabled() or not isinstance(text, bytes):
        return Runs.from_rle(rle)
    h, w = (int(v) for v in rle["size"])
    n, starts, ends = _rle_runs(np.frombuffer(text, np.uint8), h * w)
    if n < 0:
        return Runs.from_rle(rle)
    return Runs(starts[:n], ends[:n], h, w)


@lru_cache(maxsize=256)
def _column_lut(columns: tuple[int, ...]) -> np.ndarray:
    """Mask-index bits (bit ``m``: inside the frame's ``m``-th distinct mask) -> GT column
    bits (the columns that mask fills)."""
    lut = np.zeros(1 << len(columns), np.uint8)
    for b in range(len(lut)):
        for m, cols in enumerate(columns):
            if b >> m & 1:
                lut[b] |= cols
    return lut


class _Scratch(threading.local):
    """Per-thread work arrays, reused from frame to frame (fresh large arrays per frame would
    cost page faults), keyed by the plan's shape."""

    def get(self, key: tuple, make) -> dict:
        store = self.__dict__.setdefault("by_key", {})
        if key not in store:
            store[key] = make()
        return store[key]


_SCRATCH = _Scratch()


def warm_up() -> None:
    """Compile (or load from numba's cache) every kernel for the argument types the
    evaluator passes, on a tiny map: run in a thread while the file is validated, the
    first evaluation after installing no longer waits ~3 s for the compiler."""
    if not enabled():
        return
    k = Kernels(BilinearPlan((3, 3), (4, 5)))
    ident = Kernels(BilinearPlan((3, 3), (3, 3)))
    mask = runs_from_rle(mask_utils.encode(np.asfortranarray(np.eye(4, 5, dtype=np.uint8))))
    for kk, dtype in ((k, np.float16), (k, np.float32), (ident, np.float32)):
        vt, _ = kk.vertical(np.ones((3, 3), dtype))
        m = mask if kk is k else Runs.from_mask(np.ones((3, 3), bool))
        kk.split(vt, [m, None, None, m], np.float32(0), np.float32(1))


def start_warm_up() -> threading.Thread:
    """``warm_up`` in a daemon thread (a failure there only means the first real call
    compiles)."""
    t = threading.Thread(target=warm_up, name="avatar-bench-compile", daemon=True)
    t.start()
    return t


@lru_cache(maxsize=16)
def kernels_for(plan: BilinearPlan) -> Kernels:
    """A shared ``Kernels`` per plan (plans are shared too: ``resize.bilinear_plan``)."""
    return Kernels(plan)


class Kernels:
    """The compiled per-frame pass for one ``BilinearPlan`` (read-only; thread-safe)."""

    def __init__(self, plan: BilinearPlan) -> None:
        self.plan = p = plan
        self.rows = None if p.rows is None else tuple(np.ascontiguousarray(a) for a in p.rows)
        if p.cols is None:  # no width pass: the kernel reads column x of V directly
            z = np.zeros(p.width, np.float32)
            self.cols = (np.arange(p.width), np.arange(p.width), z, z)
        else:
            self.cols = tuple(np.ascontiguousarray(a) for a in p.cols)
        self.heads = np.ascontiguousarray(p.heads, np.intp)
        self.tails = np.ascontiguousarray(p.tails, np.intp)
        self.group = np.ascontiguousarray(p.group, np.intp)
        g = np.arange(len(self.heads))
        self.contiguous = bool(np.array_equal(self.heads, g) and np.array_equal(
            self.tails, np.minimum(g + 1, len(g) - 1)))
        self.key = (p.h, p.w, p.height, p.width, len(self.heads))

    def _scratch(self) -> dict:
        p, g = self.plan, len(self.heads)
        return _SCRATCH.get(self.key, lambda: {
            "vt": np.empty((p.height, p.w), np.float32),
            "x": np.empty((p.h, p.w), np.float32),
            "cum": np.empty((p.height + 1, g), np.int32),
            "run": np.empty(g, np.int32),
            "mixflag": np.empty(-(-g // 8) * 8, np.uint8),
            "pa": np.empty(g, np.float32),
            "pb": np.empty(g, np.float32),
            "mixed_ptr": np.empty(g + 1, np.intp),
            "mixed_ys": np.empty(g * p.height, np.intp),
            "cell_g": np.empty(g * p.height, np.intp),
            "cell_y": np.empty(g * p.height, np.intp),
            "vals": np.empty(p.width * p.height, np.float32),
            "bits": np.empty(p.width * p.height, np.uint8),
        })

    def vertical(self, src: np.ndarray) -> tuple[np.ndarray, float]:
        """The height pass of one map, transposed (``[H, w]``: ``BilinearPlan.vertical``'s
        values; in this thread's buffer, valid until its next call), and an upper bound of
        every resized value: the input's maximum (a clamped blend never leaves the range
        of what it blends)."""
        scratch = self._scratch()
        vt = scratch["vt"]
        if src.dtype == np.float16 and src.shape == (self.plan.h, self.plan.w):
            x = scratch["x"]
            _widen(np.ascontiguousarray(src).view(np.uint16), _F16_TO_F32, x)
        else:
            x = as_float32(src)
        if self.rows is None:
            vt[...] = x
        else:
            _vertical(x, *self.rows, vt)
        return vt, float(x.max())

    def split(self, vt: np.ndarray, masks: list[Runs | None], lo: np.float32,
              hi: np.float32):
        """``counts.split_frame`` of the map whose height pass is ``vt``: pixels above ``hi``
        (all, and per mask column), and the values in ``[lo, hi]`` with their mask bits."""
        from avatar_bench.eval.counts import Split

        distinct: dict[int, list] = {}
        for j, m in enumerate(masks):
            if m is not None:
                distinct.setdefault(id(m), [m, 0])[1] |= 1 << j
        runs = [d[0] for d in distinct.values()]
        columns = tuple(d[1] for d in distinct.values())
        moff = np.zeros(len(runs) + 1, np.intp)
        moff[1:] = np.cumsum([len(r.starts) for r in runs])
        if len(runs) == 1:
            starts, ends = runs[0].starts, runs[0].ends
        elif runs:
            starts = np.concatenate([r.starts for r in runs])
            ends = np.concatenate([r.ends for r in runs])
        else:
            starts = ends = np.zeros(0, np.int64)
        s = self._scratch()
        inter_m = np.zeros(max(len(runs), 1), np.int64)
        pos, n = _split(vt, self.heads, self.tails, self.contiguous, self.group, *self.cols,
                        self.plan.cols is not None, starts, ends, moff, np.float32(lo),
                        np.float32(hi), s["cum"], s["run"], s["mixflag"], s["pa"], s["pb"],
                        s["mixed_ptr"], s["mixed_ys"], s["cell_g"], s["cell_y"], s["vals"],
                        s["bits"], inter_m)
        inter = [0, 0, 0, 0]
        for m, cols in enumerate(columns):
            for j in range(4):
                if cols >> j & 1:
                    inter[j] += int(inter_m[m])
        return Split(int(pos), inter, s["vals"][:n].copy(), _column_lut(columns).take(
            s["bits"][:n]))
