"""``train --dataset mini-v2`` trains on the v2 world's stream, not v1's."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from avatar_bench.data.mini import training_clips
from avatar_bench.errors import AvatarBenchError
from avatar_bench.train.data import MiniSource, make_source


def _first(source, seed=3):
    recipe = SimpleNamespace(frames_per_clip=None)
    return next(iter(source.clips(seed, 0, 1, recipe, np.random.default_rng(0))))


def _same(a, b) -> bool:
    return all(np.array_equal(np.asarray(x), np.asarray(y))
               for x, y in zip(a.frames, b.frames, strict=True)) and \
        np.array_equal(a.audio, b.audio)


def test_mini_v2_source_yields_the_v2_stream():
    source = make_source("mini-v2")
    assert isinstance(source, MiniSource) and source.version == 2
    got = _first(source)
    v2 = next(iter(training_clips(seed=3, n_clips=1, version=2)))
    v1 = next(iter(training_clips(seed=3, n_clips=1, version=1)))
    assert _same(got, v2)
    assert not _same(got, v1)


def test_unknown_stream_names_the_choices():
    with pytest.raises(AvatarBenchError, match="'mini-v2'"):
        make_source("mini-v3")
