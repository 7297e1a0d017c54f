"""Reported intervals always contain their own point estimate (docs/evaluation.md)."""

from __future__ import annotations

import numpy as np

from avatar_bench.eval.bootstrap import covering, mean_interval, video_weights


def test_noise_level_miss_is_covered():
    assert covering([94.99999999999999, 95.0], 95.00000000000003) == [94.99999999999999,
                                                                       95.00000000000003]


def test_real_miss_below_and_above():
    assert covering([10.0, 20.0], 5.0) == [5.0, 20.0]
    assert covering([10.0, 20.0], 25.0) == [10.0, 25.0]


def test_contained_value_leaves_the_interval_alone():
    assert covering([10.0, 20.0], 12.5) == [10.0, 20.0]


def test_missing_pieces_pass_through():
    assert covering(None, 3.0) is None
    assert covering([1.0, 2.0], None) == [1.0, 2.0]
    assert covering([1.0, 2.0], float("nan")) == [1.0, 2.0]


def test_a_constant_share_whose_replicates_round_below_it_is_covered():
    """Six frames of TN 0.95 in two videos: every replicate is 94.99999999999999 in float
    arithmetic while the estimate is 95.0, so the raw percentile interval misses it."""
    values = np.full(6, 0.95)
    video = np.arange(6) % 2
    estimate = float(values.mean() * 100)
    raw = mean_interval(values, video, video_weights(2, 50, 0))
    assert not raw[0] <= estimate <= raw[1]
    lo, hi = covering(raw, estimate)
    assert lo <= estimate <= hi
    assert hi - lo < 1e-9
