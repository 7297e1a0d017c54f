"""Metric formulas on hand-computed cases; AUC identical to sklearn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import auc as sk_auc

from avatar_bench.eval import metrics


def test_ciou_hand_cases():
    # |G|=4, P covers 2 of G and 2 outside: 2 / (4 + 2).
    got = metrics.ciou([4, 4, 0, 5], [2, 4, 0, 0], [4, 4, 0, 0])
    np.testing.assert_allclose(got, [2 / 6, 1.0, 0.0, 0.0])


def test_true_negative_hand_cases():
    # 16 pixels, GT 4, 3 positives of which 1 in GT -> 2 false positives among 12 outside.
    got = metrics.true_negative([4, 0, 16], [1, 0, 16], [3, 16, 16], 16)
    np.testing.assert_allclose(got, [10 / 12, 0.0, 1.0])


@pytest.mark.parametrize("seed", range(4))
def test_auc_equals_sklearn(seed):
    c = np.random.default_rng(seed).random(50) ** (seed + 1)
    ts = [0.05 * i for i in range(21)]
    expected = sk_auc(ts, [np.mean(c >= t) for t in ts]) * 100
    assert metrics.summarise_ciou(c)["auc"] == pytest.approx(expected, abs=1e-12)


def test_summary_hand_case_and_empty():
    s = metrics.summarise_ciou(np.array([1.0, 0.0]))
    assert s["ciou"] == 50.0 and s["ap50"] == 50.0
    # curve: 1 at t=0, 0.5 for the 20 other thresholds.
    assert s["auc"] == pytest.approx((0.05 * 1.5 / 2 + 19 * 0.05 * 0.5) * 100, abs=1e-12)
    assert metrics.summarise_ciou(np.array([])) == {"ciou": None, "auc": None, "ap50": None}
    assert metrics.mean_percent(np.array([])) is None
