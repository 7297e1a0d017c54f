"""Hand cases at the edges of the metric formulas (denominator 0 and 1), on the public
functions of ``avatar_bench.eval.metrics`` and through ``evaluate``."""

from __future__ import annotations

import numpy as np
import pytest

from avatar_bench.data import AvatarDataset
from avatar_bench.eval import evaluate, metrics, write_predictions
from tests.fakeroot import instance, write_frame

F32 = np.float32


@pytest.mark.parametrize("n", [64, 1000, 4096])
def test_zero_denominators_give_exactly_zero_and_one_whatever_the_memory(n):
    # Fill then free a buffer of the same size first: numpy's allocator tends to hand the same
    # memory back, so a result left uninitialised where the denominator is 0 would show 7.0.
    for _ in range(3):
        junk = np.full(n, 7.0)
        del junk
        zeros = np.zeros(n)
        assert (metrics.ciou(zeros, zeros, zeros) == 0.0).all()      # |G| = |P| = 0
        junk = np.full(n, 7.0)
        del junk
        full = np.full(n, 16.0)
        assert (metrics.true_negative(full, zeros, zeros, 16) == 1.0).all()  # GT = frame


def test_denominator_one():
    # |G| = 1 hit by the only positive: cIoU 1. One pixel outside the GT, positive: TN 0.
    assert metrics.ciou([1], [1], [1]).tolist() == [1.0]
    assert metrics.true_negative([15], [0], [1], 16).tolist() == [0.0]


def test_one_pixel_gt_and_one_pixel_outside_through_evaluate(tmp_path):
    # Frame 1: a 1-pixel GT (box 0,0,1,1), its pixel the only hot one of the frame -> cIoU 1.
    # Frame 2: GT covers 15 of 16 pixels (an L around pixel (3, 3)) + an off-screen source;
    # the one pixel outside is hot -> TN 0.
    root = tmp_path / "root"
    kw = {"width": 4, "height": 4, "jpeg": False}
    write_frame(root, "v_00001", 1, [instance("Single-Sound", "dog", (0, 0, 1, 1))], **kw)
    l_shape = {"task": "Multi-Entity", "audio_visual_category": "wall", "bbox": [0, 0, 4, 4],
               "segmentation": [[0, 0, 4, 0, 4, 3, 3, 3, 3, 4, 0, 4]]}
    write_frame(root, "v_00001", 2, [l_shape, instance("Off-Screen", "man", None)], **kw)
    a = np.zeros((4, 4), F32)
    a[0, 0] = 1.0
    b = np.zeros((4, 4), F32)
    b[3, 3] = 1.0
    ds = AvatarDataset(root, use_cache=False)
    path = write_predictions(tmp_path / "p.npz", iter({"v_00001_00001": a,
                                                       "v_00001_00002": b}.items()), 2,
                             {"model": "hand"}, F32)
    r = evaluate(ds, path, resolution=(4, 4), top_percent=5, bootstrap=0, workers=1)
    # 32 px, k = ceil(1.6) = 2 -> threshold 1.0: exactly the two hot pixels are positive.
    assert r["metrics"]["single_sound"]["ciou"] == 100.0
    assert r["metrics"]["multi_entity"]["ciou"] == 0.0   # 0 / (15 + 1)
    assert r["off_screen"]["tn"] == 0.0
