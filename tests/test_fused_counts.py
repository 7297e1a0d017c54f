"""The fused per-frame counting (resize in pieces, count without full-resolution chunks)
against the unfused functions it replaces: every resized value bit for bit, every count and
histogram exactly equal.

References: ``resize_maps`` (itself checked against a per-pixel definition in
test_eval_resize.py), ``split_frame`` and ``high_histogram``/``low_histogram`` on the fully
resized maps, i.e. the code path the evaluator used before.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from avatar_bench.eval import counts as counts_mod
from avatar_bench.eval import kernels
from avatar_bench.eval.counts import AvatarPasses, Chunk, split_frame, split_fused
from avatar_bench.eval.resize import (
    BILINEAR,
    BILINEAR_AC,
    BilinearPlan,
    as_float32,
    flat,
    resize_maps,
)
from avatar_bench.eval.runs import Runs
from avatar_bench.eval.threshold import (
    HighCounts,
    float_keys,
    high_histogram,
    kth_largest,
    low_histogram,
)

SHAPES = [(1, 1), (7, 7), (14, 14), (224, 224), (5, 13), (31, 9), (2, 3)]
SIZES = [(360, 640), (7, 7), (14, 14), (4, 5), (1, 1), (3, 50)]


def _maps(shape: tuple[int, int], dtype, seed: int) -> list[np.ndarray]:
    """Random, smooth, constant, -0.0, tie-heavy (few distinct values) and extreme maps."""
    rng = np.random.default_rng(seed)
    out = [rng.standard_normal(shape).astype(dtype),
           np.cumsum(rng.random(shape), axis=1).astype(dtype),
           np.full(shape, 0.3, dtype), np.full(shape, -0.0, dtype),
           rng.integers(0, 3, shape).astype(dtype)]
    big = np.finfo(dtype).max
    out.append(np.where(rng.random(shape) < 0.5, big, -big).astype(dtype))
    return out


def _u32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
@pytest.mark.parametrize("mode", [BILINEAR, BILINEAR_AC])
@pytest.mark.parametrize("shape", SHAPES)
def test_plan_is_bit_identical_to_resize_maps(shape, mode, dtype):
    for size in SIZES:
        plan = BilinearPlan(shape, size, mode)
        for k, m in enumerate(_maps(shape, dtype, seed=len(shape) * 7 + size[0])):
            ref = resize_maps(m, size, mode)  # [H, W]
            v = plan.vertical(m)
            full = plan.full(v)  # [W, H]
            assert np.array_equal(_u32(full), _u32(ref.T)), (shape, size, mode, k)
            s, e = size[1] // 3, size[1] // 3 + 2
            assert np.array_equal(_u32(plan.band(v, s, e)), _u32(ref.T[s:e]))
            idx = np.random.default_rng(k).integers(0, ref.size, 50)
            assert np.array_equal(_u32(plan.pixels(v, idx)), _u32(flat(ref)[idx]))


def test_pair_bounds_contain_every_pixel_of_their_group():
    rng = np.random.default_rng(3)
    for shape, size in [((14, 14), (360, 640)), ((224, 224), (360, 640)), ((31, 9), (4, 5))]:
        plan = BilinearPlan(shape, size)
        m = rng.standard_normal(shape).astype(np.float32)
        v = plan.vertical(m)
        lo, hi = plan.pair_bounds(v)
        full = plan.full(v)
        assert (full >= lo[plan.group]).all() and (full <= hi[plan.group]).all()


def test_float16_table_matches_astype_for_every_finite_pattern():
    bits = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    h = bits.view(np.float16)
    finite = np.isfinite(h)
    got = as_float32(h[finite].reshape(1, -1))
    assert np.array_equal(_u32(got[0]), _u32(h[finite].astype(np.float32)))


def _masks(rng: np.random.Generator, size: tuple[int, int]) -> list[np.ndarray | None]:
    """Fortran-ordered bool masks as ``gt_masks`` returns them (column 3: the union)."""
    a = np.asfortranarray(rng.random(size) < 0.3)
    b = np.asfortranarray(rng.random(size) < 0.1)
    return [a, None, b, a | b]


def _split_equal(got, want) -> None:
    assert got.pos_above == want.pos_above
    assert got.inter_above == want.inter_above
    assert np.array_equal(_u32(got.values), _u32(want.values))
    assert np.array_equal(got.bits, want.bits)


@pytest.mark.parametrize("share", [0.0, 0.125, 1.0])  # always full / default / never full
@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_split_fused_equals_split_frame(monkeypatch, share, dtype):
    monkeypatch.setattr(counts_mod, "FULL_SHARE", share)
    rng = np.random.default_rng(11)
    for shape in SHAPES:
        for size in [(360, 640), (14, 14), (4, 5)]:
            plan = BilinearPlan(shape, size)
            for m in _maps(shape, dtype, seed=shape[0]):
                ref = resize_maps(m, size)
                pixels = flat(ref)
                v = plan.vertical(m)
                bounds = plan.pair_bounds(v)
                masks = _masks(rng, size)
                masks_shared = [masks[3], None, None, masks[3]]  # one object, two columns
                # Bounds at pixel values (ties at both ends), a degenerate interval, all.
                a, b = np.sort(rng.choice(pixels, 2))
                with np.errstate(over="ignore"):  # b may be float32's maximum
                    above_b = np.nextafter(b, np.float32(np.inf))
                for lo, hi in [(a, b), (b, b), (np.float32(-np.inf), np.float32(np.inf)),
                               (above_b, np.float32(np.inf))]:
                    lo, hi = np.float32(lo), np.float32(hi)
                    for mk in (masks, masks_shared):
                        _split_equal(split_fused(plan, v, bounds, mk, lo, hi),
                                     split_frame(pixels, mk, lo, hi))


def test_high_counts_equals_high_histogram_with_flushes():
    rng = np.random.default_rng(5)
    pieces = [rng.standard_normal(n).astype(np.float32) * 10.0 ** rng.integers(-3, 4)
              for n in (1, 7, 300, 10, 5000, 3)]
    pieces.append(np.array([0.0, -1.5, np.finfo(np.float32).max], np.float32))
    hc = HighCounts(capacity=512)  # forces flushes and a piece larger than the buffer
    for p in pieces:
        hc.add(p)
    allv = np.concatenate(pieces)
    assert hc.n == allv.size
    assert np.array_equal(hc.histogram(), high_histogram(allv))


def _chunk(rng, n: int, shape, dtype) -> Chunk:
    maps = rng.standard_normal((n, *shape)).astype(dtype)
    maps[1] = 0.5  # a constant map: ties
    return Chunk(np.arange(n), maps)


@pytest.mark.parametrize("shape", [(14, 14), (224, 224), (9, 20)])
def test_high_and_low_passes_equal_unfused(shape):
    rng = np.random.default_rng(7)
    size = (36, 64)
    c = _chunk(rng, 6, shape, np.float16)
    dag = np.array([True, False, False, True, True, False])
    passes = AvatarPasses(None, size, dag)
    h_all, h_dag, n_all, n_dag = passes.high(c)
    full = resize_maps(c.maps, size)
    assert np.array_equal(h_all, high_histogram(full))
    assert np.array_equal(h_dag, high_histogram(full[dag]))
    assert (n_all, n_dag) == (full.size, full[dag].size)
    keys = float_keys(full)
    b_main, b_dag = int(keys[0, 3, 5] >> 16), int(keys[1, 0, 0] >> 16)
    low_main, low_dag = passes.low(c, b_main, b_dag)
    assert np.array_equal(low_main, low_histogram(keys, b_main))
    assert np.array_equal(low_dag, low_histogram(keys[dag], b_dag))


@pytest.mark.parametrize("route", ["numpy", "compiled"])
def test_boundary_and_counts_passes_equal_unfused(monkeypatch, route):
    if route == "compiled" and kernels.numba is None:
        pytest.skip("numba is not installed")
    monkeypatch.setenv("AVATAR_BENCH_KERNELS", "numpy" if route == "numpy" else "")
    rng = np.random.default_rng(9)
    size, shape = (36, 64), (14, 14)
    c = _chunk(rng, 5, shape, np.float32)
    masks = {i: _masks(rng, size) for i in range(5)}
    monkeypatch.setattr(counts_mod, "gt_masks", lambda ds, f, sz: masks[f])
    runs = {i: [None if m is None else Runs.from_mask(m) for m in mk] for i, mk in masks.items()}
    monkeypatch.setattr(counts_mod, "gt_runs", lambda ds, f, sz: runs[f])
    ds = SimpleNamespace(frames=list(range(5)))
    dag = np.array([True, False, True, True, False])
    passes = AvatarPasses(ds, size, dag)
    full = resize_maps(c.maps, size)
    main = (float(np.quantile(full, 0.8)), float(np.quantile(full, 0.9)))
    dg = (float(full[0, 3, 3]), float(full[0, 3, 3]))
    for i, gt, s_main, s_dag in passes.boundary(c, main, dg):
        px, mk = flat(full[i]), masks[i]
        assert gt == [0 if g is None else int(g.sum()) for g in mk]
        _split_equal(s_main, split_frame(px, mk, np.float32(main[0]), np.float32(main[1])))
        if dag[i]:
            _split_equal(s_dag, split_frame(px, [None, None, None, mk[3]],
                                            np.float32(dg[0]), np.float32(dg[1])))
        else:
            assert s_dag is None
    thr, thr_dag = main[1], dg[0]
    off = np.array([False, True, True, False, True])
    for i, _gt, inter, pos, pd, idag in passes.counts(c, thr, thr_dag, off):
        p, mk = full[i] >= np.float32(thr), masks[i]
        assert pos == int(p.sum())
        assert inter == [0 if g is None else int((p & g).sum()) for g in mk]
        pdg = full[i] >= np.float32(thr_dag)
        want = (int(pdg.sum()), int((pdg & mk[3]).sum())) if off[i] else (-1, -1)
        assert (pd, idag) == want


def test_kth_largest_equals_sorting_with_ties_and_pieces():
    rng = np.random.default_rng(13)
    arrays = [rng.integers(-5, 6, 1000).astype(np.float32) * 0.25,  # heavy ties, negatives
              np.zeros(0, np.float32), rng.standard_normal(777).astype(np.float32),
              np.array([np.finfo(np.float32).max, -np.finfo(np.float32).max], np.float32)]
    desc = np.sort(np.concatenate(arrays))[::-1]
    for k in (1, 2, 17, 500, 1000, 1776, len(desc)):
        got = kth_largest(arrays, k, piece=64)  # pieces smaller than the arrays
        assert got == float(desc[k - 1]), k
