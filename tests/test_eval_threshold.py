"""Exact top-p% threshold: order-preserving keys, radix select, ties."""

from __future__ import annotations

import math

import numpy as np
import pytest

from avatar_bench.eval.threshold import (
    TopSelector,
    bin_bounds,
    float_keys,
    high_histogram,
    key_to_float,
    low_histogram,
    top_count,
)


def select(values: np.ndarray, percent: float, parts: int = 3) -> float:
    """Run the two-pass selector over ``parts`` slices, as the evaluator streams chunks."""
    sel = TopSelector(percent)
    chunks = np.array_split(values.astype(np.float32), parts)
    for c in chunks:
        sel.add_high(high_histogram(c), c.size)
    b = sel.choose_bin()
    for c in chunks:
        sel.add_low(low_histogram(float_keys(c), b))
    return sel.threshold()


def test_high_histogram_is_the_histogram_of_key_high_bits():
    v = np.random.default_rng(3).standard_normal(5000).astype(np.float32) * 1e3
    v[:10] = [0.0, np.inf, -np.inf, 1e-45, -1e-45, 3e38, -3e38, 1.0, -1.0, 0.5]
    expected = np.bincount(float_keys(v) >> 16, minlength=1 << 16)
    np.testing.assert_array_equal(high_histogram(v), expected)
    for x in v:
        lo, hi = bin_bounds(int(float_keys(np.array([x]))[0] >> 16))
        assert lo <= x <= hi


def test_keys_preserve_order():
    v = np.array([-np.inf, -3e38, -1.5, -1e-40, 0.0, 1e-45, 1e-3, 1.0, 2.5, 3e38, np.inf],
                 np.float32)
    k = float_keys(v)
    assert (np.diff(k.astype(np.int64)) > 0).all()
    assert [key_to_float(x) for x in k] == [float(x) for x in v]


@pytest.mark.parametrize("percent", [10, 5, 0.1, 50, 100, 33.3])
def test_matches_sort_on_random_values(percent):
    rng = np.random.default_rng(int(percent * 10))
    v = np.concatenate([rng.standard_normal(5000), rng.random(3000) * 1e-3,
                        np.round(rng.random(2000), 2)]).astype(np.float32)
    k = math.ceil(v.size * percent / 100)
    assert select(v, percent) == float(np.sort(v)[::-1][k - 1])


def test_k_is_exact_decimal_ceiling():
    assert top_count(64, 10) == 7          # 6.4 -> 7
    assert top_count(100, 10) == 10        # exactly 10, not 11 from float noise
    assert top_count(1000, 0.1) == 1
    assert top_count(3, 100) == 3
    assert top_count(5, 1e-9) == 1


def test_ties_make_more_than_k_positive():
    # 20 pixels, top 10% -> k = 2; the three largest tie, so 3 pixels are positive.
    v = np.array([50, 50, 50] + list(range(17)), np.float32)
    thr = select(v, 10)
    assert thr == 50.0
    assert int((v >= thr).sum()) == 3 > top_count(v.size, 10)


def test_constant_values_threshold_is_the_constant():
    v = np.full(1000, 0.25, np.float32)
    assert select(v, 10) == 0.25  # every pixel is then positive


def test_values_within_one_high_bin_need_the_low_pass():
    # All values share the high 16 bits; only the low 16 bits separate them.
    base = np.float32(1.0).view(np.uint32)
    v = (base + np.arange(1000, dtype=np.uint32)).view(np.float32)
    assert len(set((float_keys(v) >> 16).tolist())) == 1
    assert select(v, 10) == float(np.sort(v)[::-1][99])
