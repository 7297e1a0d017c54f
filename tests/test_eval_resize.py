"""Bilinear resize with half-pixel centres against a slow per-pixel reference."""

from __future__ import annotations

import numpy as np
import pytest

from avatar_bench.eval.resize import resize_bilinear


def slow_resize(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Textbook definition: sample at ((o + 0.5) * in / out - 0.5), clamp, blend 4 pixels."""
    h, w = img.shape
    out = np.zeros(size)

    def src(o, n_in, n_out):
        s = max((o + 0.5) * n_in / n_out - 0.5, 0.0)
        i0 = min(int(np.floor(s)), n_in - 1)
        return i0, min(i0 + 1, n_in - 1), s - i0

    for y in range(size[0]):
        y0, y1, wy = src(y, h, size[0])
        for x in range(size[1]):
            x0, x1, wx = src(x, w, size[1])
            top = img[y0, x0] * (1 - wx) + img[y0, x1] * wx
            bot = img[y1, x0] * (1 - wx) + img[y1, x1] * wx
            out[y, x] = top * (1 - wy) + bot * wy
    return out


@pytest.mark.parametrize("shape,size", [((7, 11), (20, 30)), ((9, 16), (4, 5)),
                                        ((5, 5), (5, 12)), ((1, 3), (4, 4))])
def test_matches_slow_reference(shape, size):
    img = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    got = resize_bilinear(img, size)
    assert got.dtype == np.float32 and got.shape == size
    np.testing.assert_allclose(got, slow_resize(img.astype(np.float64), size), atol=1e-5)


def test_batch_equals_single_and_identity_copies():
    maps = np.random.default_rng(1).random((3, 6, 8)).astype(np.float16)
    batch = resize_bilinear(maps, (12, 10))
    for i in range(3):
        np.testing.assert_array_equal(batch[i], resize_bilinear(maps[i], (12, 10)))
    same = np.random.default_rng(2).random((4, 4)).astype(np.float32)
    out = resize_bilinear(same, (4, 4))
    np.testing.assert_array_equal(out, same)
    out += 1
    assert not np.shares_memory(out, same)


def test_upsampling_by_two_known_values():
    # Half-pixel centres: output 0 samples input -0.25 -> clamped to 0; output 1 samples 0.25.
    got = resize_bilinear(np.array([[0.0, 4.0]], np.float32), (1, 4))
    np.testing.assert_allclose(got, [[0.0, 1.0, 3.0, 4.0]])


def test_negative_zero_becomes_positive_zero():
    out = resize_bilinear(np.full((2, 2), -0.0, np.float32), (3, 3))
    assert not np.signbit(out).any()
