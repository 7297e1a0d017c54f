"""Fused whole-file passes: validation reads the file once and hashes it on the way.

Checked against independent references: hashlib over the file's bytes, np.load of the maps,
float64 comparisons for the finite/constant flags, and zipfile's own CRC error.
"""

from __future__ import annotations

import hashlib
import os
import zipfile

import numpy as np
import pytest

from avatar_bench.data import AvatarDataset
from avatar_bench.errors import AvatarBenchError
from avatar_bench.eval import Evaluator, Protocol, validate_predictions, write_predictions
from avatar_bench.eval.predictions import PredictionsFile
from avatar_bench.eval.validate import map_flags
from tests.fakeroot import instance, write_frame

VIDEOS = ("a_b_00001", "c-d_00002")


@pytest.fixture()
def ds(tmp_path):
    root = tmp_path / "root"
    for v in VIDEOS:
        for fr in (3, 40, 120):
            write_frame(root, v, fr, [instance("Single-Sound", "dog", (10, 10, 100, 80))],
                        jpeg=False)
    return AvatarDataset(root, use_cache=False)


def _maps(n: int, shape=(16, 16), dtype=np.float16) -> np.ndarray:
    return np.random.default_rng(1).random((n, *shape)).astype(dtype)


def _write(ds, path, maps, meta=None):
    keys = [f.key for f in ds.frames]
    return write_predictions(path, zip(keys, maps, strict=True), len(keys), meta or {"m": 1},
                             maps.dtype)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_one_read_gives_maps_crc_and_sha256(ds, tmp_path, dtype):
    maps = _maps(6, dtype=dtype)
    path = _write(ds, tmp_path / "p.npz", maps)
    p = PredictionsFile(path)
    got = np.concatenate([m for _, m in p.verified_chunks(4)])
    with np.load(path) as z:
        np.testing.assert_array_equal(got, z["heatmaps"])
    assert p._digest is not None  # the pass cached a digest ...
    assert p.sha256() == hashlib.sha256(path.read_bytes()).hexdigest()  # ... and it is right
    assert PredictionsFile(path).sha256() == p.sha256()  # same as the separate read


def test_digest_not_reused_after_the_file_changes(ds, tmp_path):
    path = _write(ds, tmp_path / "p.npz", _maps(6))
    p = PredictionsFile(path)
    for _ in p.verified_chunks(4):
        pass
    other = tmp_path / "q.npz"
    _write(ds, other, _maps(6) + np.float16(1))
    os.replace(other, path)  # a new file under the same name (same size)
    assert p.sha256() == hashlib.sha256(path.read_bytes()).hexdigest()


def test_abandoned_pass_caches_nothing(ds, tmp_path):
    path = _write(ds, tmp_path / "p.npz", _maps(6))
    p = PredictionsFile(path)
    gen = p.verified_chunks(2)
    next(gen)
    gen.close()  # stops the hashing thread; a partial hash must not be cited
    assert p._digest is None
    assert p.sha256() == hashlib.sha256(path.read_bytes()).hexdigest()


def test_flipped_byte_refused_with_zipfiles_message(ds, tmp_path):
    path = _write(ds, tmp_path / "p.npz", _maps(6, (64, 64)))
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("heatmaps.npy")
    data = bytearray(path.read_bytes())
    data[info.header_offset + 20_000] ^= 0x01
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as zf, pytest.raises(zipfile.BadZipFile) as ref:
        zf.read("heatmaps.npy")  # what zipfile itself says
    p = PredictionsFile(path)
    with pytest.raises(AvatarBenchError) as err:
        for _ in p.verified_chunks(2):
            pass
    assert str(err.value) == f"{path}: heatmaps are corrupt or truncated: {ref.value}"
    assert p._digest is None
    report = validate_predictions(ds, path, digest=True)
    assert any(str(ref.value) in m and str(path) in m for m in report.problems)
    with pytest.raises(AvatarBenchError, match="problem"):  # refused before any number
        Evaluator(ds, path, Protocol(bootstrap=0)).run()


def test_evaluator_cites_the_same_sha256(ds, tmp_path):
    path = _write(ds, tmp_path / "p.npz", _maps(6))
    res = Evaluator(ds, path, Protocol(bootstrap=0)).run()
    assert res["predictions"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def _reference_flags(maps: np.ndarray) -> tuple[list[bool], list[bool]]:
    flat = maps.reshape(len(maps), -1).astype(np.float64)
    finite = [bool(np.isfinite(r).all()) for r in flat]
    const = [f and float(r.max()) == float(r.min()) for f, r in zip(finite, flat, strict=True)]
    return finite, const


@pytest.mark.parametrize("block", [1 << 22, 80])  # 80: two or three maps per step
@pytest.mark.parametrize("dtype", ["<f2", ">f2", "<f4"])
def test_map_flags_match_a_float64_reference(dtype, block, monkeypatch):
    monkeypatch.setattr("avatar_bench.eval.validate.FLAG_ELEMENTS", block)
    rng = np.random.default_rng(3)
    maps = rng.standard_normal((16, 5, 7)).astype(dtype)
    maps[1, 2, 3] = np.nan
    maps[2, 0, 0] = np.inf
    maps[3, 4, 6] = -np.inf
    maps[4] = 0.0
    maps[4, ::2] = -0.0  # +0 and -0 are equal numbers: constant
    maps[5] = -0.0
    maps[6] = 1.5
    maps[7] = -2.0
    maps[8] = -2.0
    maps[8, 1, 1] = -1.99  # not constant
    maps[9] = np.float16(6e-8)  # subnormal, constant
    maps[10] = np.float16(6e-8)
    maps[10, 0, 0] = 0.0
    maps[11] = np.nan  # NaN is neither finite nor constant
    maps[12] = 65504.0
    maps[13] = -65504.0
    maps[13, 3, 3] = np.inf
    maps[14] = 0.0
    maps[14, 2, 2] = -6e-8  # below -0
    finite, const = map_flags(maps)
    ref_finite, ref_const = _reference_flags(maps)
    assert finite.tolist() == ref_finite
    assert const.tolist() == ref_const
    assert ref_const[4] and ref_const[5] and not ref_const[8] and not ref_const[14]


@pytest.mark.parametrize("every", [2, 3])
def test_sampled_pass_reads_the_same_chunks_without_the_others(ds, tmp_path, every):
    from avatar_bench.eval.counts import iter_chunks

    keys = [f"x_y_{i:05d}" for i in range(12)]
    maps = _maps(12)
    path = write_predictions(tmp_path / "p.npz", zip(keys, maps, strict=True), 12)
    # Dataset frames at file rows 0, 1, 6, 7, 8, 11: with chunk 2, rows 2-5 are no frame's.
    rows = dict(zip([f.key for f in ds.frames], [0, 1, 6, 7, 8, 11], strict=True))
    p = PredictionsFile(path)
    everything = list(iter_chunks(p, rows, ds, 2))
    expect = [c for j, c in enumerate(everything) if j % every == 0]  # the former sampling
    seen = []
    real = p._raw_chunks

    def spy(chunk, offset, only=None):
        for start, m in real(chunk, offset, only):
            seen.append(start)
            yield start, m

    p._raw_chunks = spy
    got = list(iter_chunks(p, rows, ds, 2, every))
    assert [c.frames.tolist() for c in got] == [c.frames.tolist() for c in expect]
    for a, b in zip(got, expect, strict=True):
        np.testing.assert_array_equal(a.maps, b.maps)
    assert len(seen) == len(expect)  # the skipped chunks were not read


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
@pytest.mark.parametrize("shape", [(1, 1), (7, 7), (224, 224), (5, 13), (31, 9), (360, 640)])
@pytest.mark.parametrize("step", [2, 3])
def test_grid_sample_is_bit_identical_to_the_resized_map(shape, dtype, step):
    from avatar_bench.eval.resize import BILINEAR_AC, BilinearPlan, resize_maps

    rng = np.random.default_rng(5)
    maps = [rng.standard_normal(shape).astype(dtype), np.full(shape, -0.0, dtype),
            np.where(rng.random(shape) < 0.5, 1e4, -1e4).astype(dtype)]
    for size in [(360, 640), (7, 7), (4, 5), (1, 1), (3, 50), shape]:
        for mode in ("bilinear", BILINEAR_AC):
            plan = BilinearPlan(shape, size, mode)
            for m in maps:
                ref = resize_maps(m, size, mode)[::step, ::step]  # [rows, columns]
                got = plan.grid(m, step)  # [columns, rows]
                assert got.dtype == np.float32
                np.testing.assert_array_equal(got.T.view(np.uint32),
                                              np.ascontiguousarray(ref).view(np.uint32))


def _mixed_root(tmp_path):
    """Frames with 0, 1, 2 and 3 on-screen scenarios, overlapping shapes, off-screen ones."""
    root = tmp_path / "mixed"
    anns = [
        [instance("Off-Screen", "car", None)],
        [instance("Single-Sound", "dog", (10, 10, 100, 80))],
        [instance("Mixed-Sound", "dog", (10, 10, 100, 80)),
         instance("Multi-Entity", "cat", (60, 40, 200, 150)), instance("Off-Screen", "x", None)],
        [instance("Single-Sound", "dog", (0, 0, 640, 30)),
         instance("Mixed-Sound", "dog", (300, 10, 100, 300)),
         instance("Multi-Entity", "cat", (350, 200, 250, 150))],
    ]
    for j, a in enumerate(anns):
        write_frame(root, "v_w_00001", j + 1, a, jpeg=False)
    return AvatarDataset(root, use_cache=False)


def test_gt_areas_from_run_lengths_equal_decoded_masks(tmp_path):
    from avatar_bench.eval.counts import gt_counts_rle

    ds = _mixed_root(tmp_path)
    for size in [(360, 640), (37, 64)]:
        for f in ds.frames:
            want = [0 if g is None else int(np.asarray(g, bool).sum())  # decoded, by hand
                    for g in _decoded(ds, f, size)]
            assert gt_counts_rle(ds, f, size) == want


def _decoded(ds, frame, size):
    """Independent GT per column: each scenario's mask, and the union of all on-screen ones."""
    cols = []
    for s in ("single_sound", "mixed_sound", "multi_entity"):
        cols.append(ds.gt_mask(frame, s, size) if ds.instances_for(frame, s) else None)
    union = np.zeros(size, bool)
    for m in cols:
        if m is not None:
            union |= m
    return [*cols, union if any(m is not None for m in cols) else ds.gt_mask(frame, "total",
                                                                               size)]


@pytest.mark.parametrize("route", ["numpy", "compiled"])
def test_frames_below_both_intervals_skip_their_masks(tmp_path, monkeypatch, route):
    from avatar_bench.eval import kernels
    from avatar_bench.eval.counts import AvatarPasses, Chunk, split_frame

    if route == "compiled" and kernels.numba is None:
        pytest.skip("numba is not installed")
    monkeypatch.setenv("AVATAR_BENCH_KERNELS", "numpy" if route == "numpy" else "")
    from avatar_bench.eval.resize import flat, resize_maps

    ds = _mixed_root(tmp_path)
    size = (36, 64)
    rng = np.random.default_rng(2)
    maps = rng.random((4, 9, 16)).astype(np.float32)
    maps[1] += 5  # frames 1 and 3 reach the intervals, 0 and 2 do not
    maps[3] += 10
    dag = np.array([True, True, True, False])
    passes = AvatarPasses(ds, size, dag)
    full = resize_maps(maps, size)
    main, dg = (5.5, 5.6), (10.5, 10.7)
    rows = passes.boundary(Chunk(np.arange(4), maps), main, dg)
    for i, gt, s_main, s_dag in rows:
        cols = _decoded(ds, ds.frames[i], size)
        assert gt == [0 if g is None else int(g.sum()) for g in cols]
        ref = split_frame(flat(full[i]), cols, np.float32(main[0]), np.float32(main[1]))
        for s, r in [(s_main, ref)] + ([(s_dag, split_frame(
                flat(full[i]), [None, None, None, cols[3]], np.float32(dg[0]),
                np.float32(dg[1])))] if dag[i] else []):
            assert (s.pos_above, s.inter_above) == (r.pos_above, r.inter_above)
            np.testing.assert_array_equal(s.values, r.values)
            np.testing.assert_array_equal(s.bits, r.bits)
        assert (s_dag is None) == (not dag[i])
    assert rows[0][2].pos_above == 0 and rows[3][2].pos_above > 0  # both paths were taken


def _rle_cases():
    """Masks whose run lengths need 1 to 7 characters, negative differences, first pixel
    set or not, empty and full, and polygon unions as the dataset makes them."""
    from pycocotools import mask as mask_utils

    rng = np.random.default_rng(11)
    out = []
    for h, w in [(1, 1), (1, 7), (5, 3), (36, 64), (360, 640)]:
        for fill in (0.0, 1.0, 0.02, 0.5, 0.98):
            m = (rng.random((h, w)) < fill).astype(np.uint8)
            out.append(mask_utils.encode(np.asfortranarray(m)))
        m = np.zeros((h, w), np.uint8)
        m[: h // 2, : w // 3] = 1  # long runs then short ones: negative differences
        m[-1, -1] = 1
        out.append(mask_utils.encode(np.asfortranarray(m)))
    big = np.zeros((4096, 4096), np.uint8, order="F")
    big[:, 1000:] = 1  # one run of 12.7 M pixels: 5 characters
    big[0, 0] = 1
    out.append(mask_utils.encode(big))
    polys = [[10, 10, 300, 40, 200, 300], [100, 50, 600, 60, 500, 350, 90, 340]]
    out.append(mask_utils.merge(mask_utils.frPyObjects(polys, 360, 640)))
    return out


def _runs(mask: np.ndarray) -> list[int]:
    """Run lengths of a mask in column-major order, starting with a (maybe empty) 0-run."""
    v = np.concatenate(([0], mask.T.ravel().astype(np.int8)))
    edges = np.flatnonzero(np.diff(v)) + 1
    return np.diff(np.concatenate(([1], edges, [len(v)]))).tolist()


def test_decode_rle_equals_pycocotools(monkeypatch):
    from types import SimpleNamespace

    from pycocotools import mask as mask_utils

    from avatar_bench.eval import runs as runs_mod
    from avatar_bench.eval.runs import decode_rle, rle_counts

    refs = [mask_utils.decode(rle) for rle in _rle_cases()]

    def refuse(rle):
        raise AssertionError("pycocotools' route taken for a valid RLE")

    monkeypatch.setattr(runs_mod, "mask_utils", SimpleNamespace(decode=refuse))
    for rle, ref in zip(_rle_cases(), refs, strict=True):
        assert rle_counts(rle["counts"]).tolist() == _runs(ref)
        got = decode_rle(rle)
        assert got.dtype == bool and got.shape == ref.shape
        assert got.flags.f_contiguous  # flattens to the maps' column-major order
        np.testing.assert_array_equal(got, ref.astype(bool))
