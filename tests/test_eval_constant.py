"""The tie rule holds for constant maps: resizing keeps a constant map constant and never
leaves the input's value range, so every constant submission scores the same."""

from __future__ import annotations

import numpy as np
import pytest

from avatar_bench.data import AvatarDataset
from avatar_bench.eval import Evaluator, Protocol, write_predictions
from avatar_bench.eval.resize import MODES, resize_maps
from tests.fakeroot import instance, write_frame

F32_MAX = float(np.finfo(np.float32).max)


@pytest.fixture()
def ds(tmp_path):
    """Frames at 640x360 with boxes whose GT share is known exactly at 360x640."""
    root = tmp_path / "root"
    kw = {"jpeg": False}
    write_frame(root, "va_00001", 1, [instance("Single-Sound", "dog", (0, 0, 64, 36))], **kw)
    write_frame(root, "va_00001", 2, [instance("Off-Screen", "man", None)], **kw)
    write_frame(root, "vb_00002", 1, [instance("Mixed-Sound", "cat", (320, 180, 320, 180)),
                                      instance("Off-Screen", "man", None)], **kw)
    write_frame(root, "vb_00002", 2, [instance("Multi-Entity", "car", (0, 0, 640, 90))], **kw)
    return AvatarDataset(root, name="const", use_cache=False)


def _constant_submission(ds, path, value: float, dtype) -> str:
    maps = ((k, np.full((224, 224), value, dtype)) for k in ds.keys())
    return write_predictions(path, maps, len(ds), {"model": "constant"}, dtype)


def _score(ds, path, budget=None):
    kw = {} if budget is None else {"boundary_budget": budget}
    ev = Evaluator(ds, path, Protocol(bootstrap=0), workers=1, **kw)
    return ev.run()


# Hand-computed at 360x640 (230,400 pixels): every pixel ties, so every pixel is positive
# and a frame's cIoU is its GT share |G| / (|G| + |~G|) = |G| / 230400.
SINGLE = 64 * 36 / 230400          # 1%
MIXED = 320 * 180 / 230400         # 25%
MULTI = 640 * 90 / 230400          # 25%


@pytest.mark.parametrize("value,dtype", [(0.7, np.float16), (0.5, np.float16),
                                         (0.7, np.float32), (F32_MAX, np.float32),
                                         (-F32_MAX, np.float32), (1e-30, np.float32)])
def test_constant_map_scores_its_gt_share(ds, tmp_path, value, dtype):
    r = _score(ds, _constant_submission(ds, tmp_path / "c.npz", value, dtype))
    m = r["metrics"]
    assert m["single_sound"]["ciou"] == pytest.approx(SINGLE * 100)
    assert m["mixed_sound"]["ciou"] == pytest.approx(MIXED * 100)
    assert m["multi_entity"]["ciou"] == pytest.approx(MULTI * 100)
    assert m["total"]["ciou"] == pytest.approx((SINGLE + MIXED + MULTI) / 3 * 100)
    # Every pixel is positive: no true negatives at either threshold.
    assert r["off_screen"]["tn"] == 0.0
    assert r["off_screen"]["tn_dagger"] == 0.0
    assert r["thresholds"]["main"] == float(dtype(value))


def test_two_constants_score_identically(ds, tmp_path):
    a = _score(ds, _constant_submission(ds, tmp_path / "a.npz", 0.7, np.float16))
    b = _score(ds, _constant_submission(ds, tmp_path / "b.npz", 0.5, np.float16))
    assert a["metrics"] == b["metrics"]
    assert a["off_screen"] == b["off_screen"]


def test_constant_map_through_the_three_pass_route(ds, tmp_path):
    r = _score(ds, _constant_submission(ds, tmp_path / "c.npz", 0.7, np.float16), budget=0)
    assert r["off_screen"]["tn"] == 0.0
    assert r["metrics"]["mixed_sound"]["ciou"] == pytest.approx(MIXED * 100)


@pytest.mark.parametrize("mode", MODES[:2])
@pytest.mark.parametrize("value", [0.7, 0.1, 1 / 3, 12345.678, F32_MAX, -F32_MAX, 1e-38])
def test_bilinear_resize_keeps_constants_exact(mode, value):
    src = np.full((3, 224, 224), value, np.float32)
    for size in [(360, 640), (17, 5), (224, 224), (1000, 7)]:
        out = resize_maps(src, size, mode)
        assert np.all(out == np.float32(value)), (size, np.unique(out))


@pytest.mark.parametrize("mode", MODES[:2])
def test_bilinear_resize_stays_within_each_neighbourhood(mode):
    """Blocks of equal values stay exactly equal inside; nothing leaves [min, max]."""
    rng = np.random.default_rng(0)
    # 4x4 blocks of values that round badly (thirds, near-equal neighbours).
    blocks = (rng.integers(0, 3, (1, 8, 8)) / 3 + 1e-7 * rng.integers(0, 2, (1, 8, 8)))
    src = np.kron(blocks, np.ones((4, 4))).astype(np.float32)
    out = resize_maps(src, (96, 96), mode)[0]
    assert out.min() >= src.min() and out.max() <= src.max()
    # Output pixel (i, j) at 3x upsampling samples inside block (i // 12, j // 12) and,
    # away from block edges, blends only that block's pixels.
    for bi in range(8):
        for bj in range(8):
            core = out[bi * 12 + 3:bi * 12 + 9, bj * 12 + 3:bj * 12 + 9]
            assert np.all(core == np.float32(blocks[0, bi, bj])), (bi, bj)
