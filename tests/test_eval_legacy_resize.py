"""Legacy protocol resize follows each baseline's test.py: EZ-VSL bilinear align_corners=True,
SLAVC bicubic align_corners=True (torch's kernel, A = -0.75), half-pixel bilinear otherwise.
Checked against values computed by hand; optionally against torch."""

from __future__ import annotations

import numpy as np
import pytest

from avatar_bench.data import AvatarDataset
from avatar_bench.errors import AvatarBenchError
from avatar_bench.eval import Evaluator, Protocol, write_predictions
from avatar_bench.eval.resize import BICUBIC_AC, BILINEAR, BILINEAR_AC, resize_maps
from tests.fakeroot import instance, write_frame


def test_bilinear_align_corners_by_hand():
    # 2x2 -> 3x3 with corners aligned: corners kept, midpoints are averages.
    src = np.array([[0, 1], [2, 3]], np.float32)
    want = [[0, 0.5, 1], [1, 1.5, 2], [2, 2.5, 3]]
    np.testing.assert_array_equal(resize_maps(src, (3, 3), BILINEAR_AC), want)
    # 1x3 -> 1x5: samples at 0, 0.5, 1, 1.5, 2 of [0, 4, 8]
    np.testing.assert_array_equal(resize_maps(np.array([[0, 4, 8]], np.float32), (1, 5),
                                              BILINEAR_AC), [[0, 2, 4, 6, 8]])
    # Half-pixel centres differ: 2 -> 4 samples at -0.25 (clamped 0), 0.25, 0.75, 1.25 (>= 1).
    np.testing.assert_array_equal(resize_maps(np.array([[0, 4]], np.float32), (1, 4),
                                              BILINEAR), [[0, 1, 3, 4]])
    np.testing.assert_allclose(resize_maps(np.array([[0, 4]], np.float32), (1, 4),
                                           BILINEAR_AC), [[0, 4 / 3, 8 / 3, 4]], rtol=1e-6)


def test_bicubic_align_corners_by_hand():
    """4 -> 7 samples at 0, 0.5, ..., 3. At t = 0.5 torch's weights are
    far(1.5) = -0.09375, near(0.5) = 0.59375 (A = -0.75); at t = 0 they are 0, 1, 0, 0.
    Neighbour indices are clamped to [0, 3]."""
    row = np.array([[0, 1, 0, 0]], np.float32)
    want = [[0,                               # src 0
             0.59375 * 1,                     # src 0.5: x(-1->0), x0, x1, x2
             1,                               # src 1
             0.59375 * 1,                     # src 1.5: x0, x1, x2, x3
             0,                               # src 2
             -0.09375 * 1,                    # src 2.5: x1 (weight far(1.5)), x2, x3, x(4->3)
             0]]                              # src 3
    np.testing.assert_allclose(resize_maps(row, (1, 7), BICUBIC_AC), want, atol=1e-7)
    # Both axes: an outer product separates.
    img = np.outer([0, 1, 0, 0], [0, 1, 0, 0]).astype(np.float32)
    w = np.array(want[0])
    np.testing.assert_allclose(resize_maps(img, (7, 7), BICUBIC_AC), np.outer(w, w), atol=1e-6)


@pytest.mark.torch
@pytest.mark.parametrize("mode,torch_mode", [(BILINEAR_AC, "bilinear"),
                                             (BICUBIC_AC, "bicubic"),
                                             (BILINEAR, "bilinear")])
def test_matches_torch_interpolate(mode, torch_mode):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F  # noqa: N812

    src = np.random.default_rng(0).random((3, 7, 12)).astype(np.float32)
    ref = F.interpolate(torch.from_numpy(src)[:, None], size=(224, 224), mode=torch_mode,
                        align_corners=mode != BILINEAR)[:, 0].numpy()
    np.testing.assert_allclose(resize_maps(src, (224, 224), mode), ref, atol=2e-6)


@pytest.fixture()
def ds(tmp_path):
    root = tmp_path / "root"
    kw = {"width": 224, "height": 224, "jpeg": False}
    write_frame(root, "v_00001", 1, [instance("Single-Sound", "dog", (84, 0, 140, 224))], **kw)
    return AvatarDataset(root, use_cache=False)


def _legacy(ds, tmp_path, model, **proto):
    m = np.array([[0, 1, 1, 1]], np.float32)
    path = write_predictions(tmp_path / f"{model}.npz", iter([("v_00001_00001", m)]), 1,
                             {"model": model}, np.float32)
    return Evaluator(ds, path, Protocol("legacy", bootstrap=0, **proto), workers=1).run()


@pytest.mark.parametrize("model,mode,source", [
    ("ezvsl", BILINEAR_AC, "meta model ezvsl"), ("EZ-VSL", BILINEAR_AC, "meta model EZ-VSL"),
    ("slavc", BICUBIC_AC, "meta model slavc"), ("ssltie", BILINEAR, "default"),
    ("mine", BILINEAR, "default")])
def test_legacy_resize_follows_the_meta_model(ds, tmp_path, model, mode, source):
    r = _legacy(ds, tmp_path, model)
    assert r["protocol"]["resize"] == mode and r["protocol"]["resize_source"] == source


def test_legacy_resize_changes_the_labels_as_computed_by_hand(ds, tmp_path):
    """Map [0, 1, 1, 1] (one row) to 224 columns; GT = columns 84-223 (140 columns).

    Half-pixel: column j samples (j + 0.5) / 56 - 0.5, which is >= 1 (value exactly 1)
    from j = 84: 140 ones, the median of the row is 1, P = GT, cIoU = 1.
    align_corners: column j samples 3j / 223, >= 1 from j = 75: 149 ones, median 1,
    P = columns 75-223, cIoU = 140 / (140 + 9).
    """
    half = _legacy(ds, tmp_path, "mine")
    assert half["metrics"]["single_sound"]["ciou"] == pytest.approx(100.0)
    ac = _legacy(ds, tmp_path, "mine", legacy_resize=BILINEAR_AC)
    assert ac["protocol"]["resize"] == BILINEAR_AC and ac["protocol"]["resize_source"] == "option"
    assert ac["metrics"]["single_sound"]["ciou"] == pytest.approx(140 / 149 * 100)
    ez = _legacy(ds, tmp_path, "ezvsl")
    assert ez["metrics"] == ac["metrics"]


def test_avatar_protocol_json_is_unchanged(ds, tmp_path):
    m = np.eye(4, dtype=np.float32)
    path = write_predictions(tmp_path / "a.npz", iter([("v_00001_00001", m)]), 1,
                             {"model": "ezvsl"}, np.float32)
    r = Evaluator(ds, path, Protocol(bootstrap=0, resolution=(8, 8))).run()
    assert r["protocol"]["resize"] == "bilinear" and "resize_source" not in r["protocol"]


def test_unknown_legacy_resize_is_refused():
    with pytest.raises(AvatarBenchError, match="--legacy-resize must be one of"):
        Protocol("legacy", legacy_resize="nearest")
