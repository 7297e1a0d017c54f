"""The compiled per-frame pass (``eval/kernels.py``) against the references it replaces:
``BilinearPlan.vertical`` bit for bit, ``split_frame`` on the fully resized map (counts,
values and bits), ``Runs.from_rle`` run for run, and the whole evaluation byte for byte
against the numpy route."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from avatar_bench.eval import kernels
from avatar_bench.eval.counts import split_frame
from avatar_bench.eval.resize import BILINEAR, BILINEAR_AC, BilinearPlan, flat, resize_maps
from avatar_bench.eval.runs import Runs
from tests.test_fused_counts import SHAPES, SIZES, _maps, _masks, _split_equal, _u32

pytestmark = pytest.mark.skipif(kernels.numba is None, reason="numba is not installed")


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
@pytest.mark.parametrize("mode", [BILINEAR, BILINEAR_AC])
def test_vertical_is_the_plans_height_pass_and_bounds_every_value(mode, dtype):
    for shape in SHAPES:
        for size in SIZES:
            plan = BilinearPlan(shape, size, mode)
            k = kernels.Kernels(plan)
            for m in _maps(shape, dtype, seed=shape[1] + size[1]):
                vt, top = k.vertical(m)
                assert np.array_equal(_u32(vt.T), _u32(plan.vertical(m))), (shape, size)
                assert top >= resize_maps(m, size, mode).max()


def _runs(masks: list[np.ndarray | None]) -> list[Runs | None]:
    """The masks as ``counts.gt_runs`` gives them: one ``Runs`` per distinct mask object."""
    done = {id(m): Runs.from_mask(m) for m in masks if m is not None}
    return [None if m is None else done[id(m)] for m in masks]


def _intervals(rng, pixels: np.ndarray) -> list[tuple[np.float32, np.float32]]:
    """Bounds at pixel values (ties at both ends), a degenerate one, all values inside, none
    reaching, and all above."""
    a, b = np.sort(rng.choice(pixels, 2))
    with np.errstate(over="ignore"):  # b may be float32's maximum, the least its negative
        above_b = np.nextafter(b, np.float32(np.inf))
        below_all = np.nextafter(pixels.min(), np.float32(-np.inf))
    pairs = [(a, b), (b, b), (-np.inf, np.inf), (above_b, np.inf), (-np.inf, below_all)]
    return [(np.float32(lo), np.float32(hi)) for lo, hi in pairs]


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
@pytest.mark.parametrize("mode", [BILINEAR, BILINEAR_AC])
def test_split_equals_split_frame(mode, dtype):
    """Upsampling (groups read in place) and downsampling or equal widths (gathered
    groups); masks distinct, shared by two columns, absent, and with runs that wrap from
    one column into the next (the random masks do)."""
    rng = np.random.default_rng(17)
    for shape in SHAPES:
        # (14, 640) and (224, 9): one axis unresized for the 14x14 and 224x224 maps.
        for size in [(360, 640), (14, 14), (4, 5), (3, 50), (14, 640), (224, 9)]:
            plan = BilinearPlan(shape, size, mode)
            k = kernels.Kernels(plan)
            for m in _maps(shape, dtype, seed=shape[0] * 3 + size[0]):
                vt, _ = k.vertical(m)
                pixels = flat(resize_maps(m, size, mode))
                mk = _masks(rng, size)
                for masks in (mk, [mk[3], None, None, mk[3]], [None] * 4):
                    for lo, hi in _intervals(rng, pixels):
                        _split_equal(k.split(vt, _runs(masks), lo, hi),
                                     split_frame(pixels, masks, lo, hi))


def test_both_group_layouts_are_exercised():
    assert kernels.Kernels(BilinearPlan((224, 224), (360, 640))).contiguous
    assert not kernels.Kernels(BilinearPlan((31, 9), (4, 5))).contiguous
    assert not kernels.Kernels(BilinearPlan((14, 14), (14, 14))).contiguous  # no width pass


def _rles(rng) -> list[dict]:
    out = []
    for size in [(360, 640), (1, 1), (5, 7), (2, 300)]:
        for p in (0.0, 0.002, 0.5, 1.0):
            m = np.asfortranarray(rng.random(size) < p).astype(np.uint8)
            out.append(mask_utils.encode(m))
    return out


def test_runs_from_rle_equals_the_numpy_parser_and_pycocotools():
    for rle in _rles(np.random.default_rng(3)):
        got, want = kernels.runs_from_rle(rle), Runs.from_rle(rle)
        assert np.array_equal(got.starts, want.starts) and np.array_equal(got.ends, want.ends)
        np.testing.assert_array_equal(got.to_mask(), mask_utils.decode(rle).astype(bool))


@pytest.mark.parametrize("counts", [b"0", b"1", b"0?", b"2QQ", b"\x7f\x7f\x7f" * 5])
def test_unusual_rle_strings_take_pycocotools_route(counts, monkeypatch):
    """Truncated, negative, not adding up to the size or absurdly long: the compiled parser
    declines and ``Runs.from_rle`` (pycocotools) decides, so both routes agree."""
    rle = {"size": [2, 3], "counts": counts}
    n, _, _ = kernels._rle_runs(np.frombuffer(counts, np.uint8), 6)
    assert n == -1
    seen = []
    monkeypatch.setattr(kernels.Runs, "from_rle", classmethod(lambda cls, r: seen.append(r)))
    kernels.runs_from_rle(rle)
    assert seen == [rle]


def test_switch_selects_the_numpy_route(monkeypatch):
    monkeypatch.setenv("AVATAR_BENCH_KERNELS", "numpy")
    assert not kernels.enabled()
    monkeypatch.setenv("AVATAR_BENCH_KERNELS", "")
    assert kernels.enabled()


def test_evaluation_is_byte_identical_on_both_routes(monkeypatch, tmp_path, mini):
    """AVATAR-mini scored with the compiled and the numpy route (2 threads): the same
    results document, byte for byte, †TN thresholds included."""
    from avatar_bench.eval import evaluate, results_json, write_predictions

    rng = np.random.default_rng(5)
    keys = [f.key for f in mini.frames]
    maps = resize_maps(rng.standard_normal((len(keys), 4, 4)).astype(np.float32), (24, 24))
    preds = write_predictions(tmp_path / "p.npz", zip(keys, maps.astype(np.float16),
                                                      strict=True), len(keys), {"model": "x"})
    out = {}
    for route in ("numpy", ""):
        monkeypatch.setenv("AVATAR_BENCH_KERNELS", route)
        out[route] = results_json(evaluate(mini, preds, bootstrap=50, workers=2))
    assert out["numpy"] == out[""]
    doc = json.loads(out[""])
    assert doc["metrics"]["total"]["ciou"] > 0 and doc["thresholds"]["dagger"] is not None


def test_runs_round_trip_and_union():
    """``Runs`` from a mask and back, and the union of several (how ``gt_runs`` builds a
    multi-scenario frame's total), against boolean arithmetic."""
    rng = np.random.default_rng(4)
    for size in [(360, 640), (7, 3), (1, 1)]:
        a = np.asfortranarray(rng.random(size) < 0.4)
        b = np.asfortranarray(rng.random(size) < 0.2)
        a[:, 0] = True  # a run that wraps from one column into the next
        ra, rb = Runs.from_mask(a), Runs.from_mask(b)
        assert np.array_equal(ra.to_mask(), a) and ra.area == int(a.sum())
        assert np.array_equal(Runs.union([ra, rb]).to_mask(), a | b)
        assert np.array_equal(Runs.union([rb, ra, rb]).to_mask(), a | b)
        empty = Runs.from_mask(np.zeros(size, bool, order="F"))
        assert empty.area == 0 and not empty.to_mask().any()


NO_NUMBA = """
import sys
class BlockNumba:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("numba", "llvmlite"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, BlockNumba())
sys.argv[0] = "avatar-bench"
from avatar_bench.eval import kernels
assert kernels.numba is None and not kernels.enabled()
from avatar_bench.cli import main
main()
"""


def test_without_numba_the_cli_scores_the_same_bytes(tmp_path, mini, mini_root):
    """Where numba cannot be imported (no wheels for the platform), ``evaluate`` takes the
    numpy route and writes the results file the compiled route writes."""
    import subprocess
    import sys

    from avatar_bench.data import AvatarDataset
    from avatar_bench.eval import evaluate, results_json, write_predictions

    rng = np.random.default_rng(8)
    keys = [f.key for f in mini.frames]
    maps = resize_maps(rng.standard_normal((len(keys), 5, 5)).astype(np.float32), (20, 20))
    preds = write_predictions(tmp_path / "p.npz", zip(keys, maps, strict=True), len(keys),
                              {"model": "x"})
    res = subprocess.run([sys.executable, "-c", NO_NUMBA, "evaluate", str(preds), "--root",
                          str(mini_root), "--output", "r.json", "--bootstrap", "50"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    compiled = results_json(evaluate(AvatarDataset(mini_root), preds, bootstrap=50))
    assert (tmp_path / "r.json").read_text() == compiled
