"""Hand cases for the threshold's building blocks that the evaluator-level tests cannot reach:
argument limits, the last histogram bin, float64 input and the sign of a zero threshold.
Each one kills a mutant that survived mutation testing (docs/mutation-report.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from avatar_bench.errors import AvatarBenchError
from avatar_bench.eval.threshold import (
    bin_bounds,
    float_keys,
    high_histogram,
    key_to_float,
    select_bin,
    top_count,
)


@pytest.mark.parametrize("percent", [0, -1, 100.5, 101])
def test_top_count_refuses_percent_outside_0_100(percent):
    with pytest.raises(AvatarBenchError, match=r"top percent must be in \(0, 100\]"):
        top_count(10, percent)


def test_top_count_limits():
    assert top_count(1, 10) == 1      # one pixel: k = ceil(0.1) = 1, no error
    assert top_count(10, 100) == 10
    with pytest.raises(AvatarBenchError, match="^cannot select a threshold over zero pixels$"):
        top_count(0, 10)


def test_select_bin_rank_limits_and_message():
    hist = np.array([1, 0, 3, 2])     # 6 elements
    with pytest.raises(AvatarBenchError, match=r"rank 0 outside 1\.\.6"):
        select_bin(hist, 0)
    with pytest.raises(AvatarBenchError, match=r"rank 7 outside 1\.\.6"):
        select_bin(hist, 7)


def test_select_bin_top_and_second_to_last_bins():
    hist = np.array([1, 0, 3, 2])
    # Largest elements are in the LAST bin: ranks 1 and 2 are there, rank 3 is the first of
    # bin 2 (2 elements above it), rank 6 the only one of bin 0 (5 above).
    assert select_bin(hist, 1) == (3, 1)
    assert select_bin(hist, 2) == (3, 2)
    assert select_bin(hist, 3) == (2, 1)
    assert select_bin(hist, 5) == (2, 3)
    assert select_bin(hist, 6) == (0, 1)


def test_high_histogram_of_float64_input_is_that_of_float32():
    v = np.array([0.5, 1.0, -2.0, 3e5, 1e-3])
    np.testing.assert_array_equal(high_histogram(v), high_histogram(v.astype(np.float32)))
    assert high_histogram(v).sum() == 5


def test_zero_threshold_is_positive_zero():
    # Key 0x7FFFFFFF is float -0.0; a threshold is printed in the results JSON, where it must
    # read 0.0, never -0.0.
    z = key_to_float(0x7FFFFFFF)
    assert z == 0.0 and math.copysign(1.0, z) == 1.0
    assert key_to_float(0x80000000) == 0.0


def test_bin_bounds_hand_values():
    # 1.0 has bits 0x3F800000 -> key 0xBF800000 -> key bin 0xBF80, which spans bit patterns
    # 0x3F800000 .. 0x3F80FFFF: 1.0 .. 1 + 0xFFFF / 2**23.
    assert int(float_keys(np.array([1.0], np.float32))[0]) >> 16 == 0xBF80
    assert bin_bounds(0xBF80) == (1.0, 1 + 0xFFFF / 2**23)
    # -1.0 (bits 0xBF800000, all flipped -> key 0x407FFFFF): bin 0x407F spans -1 - 0xFFFF/2**23
    # .. -1.0.
    assert bin_bounds(0x407F) == (-(1 + 0xFFFF / 2**23), -1.0)
    # The ends of the key space hold NaN patterns: they become -inf and +inf.
    assert bin_bounds(0)[0] == -math.inf and bin_bounds(0xFFFF)[1] == math.inf
