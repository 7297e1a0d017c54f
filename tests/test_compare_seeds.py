"""Two-level (seeds x videos) comparison, checked against a replicate-by-replicate loop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from avatar_bench.cli import cli
from avatar_bench.errors import AvatarBenchError
from avatar_bench.eval.compare import PerFrame, compare
from avatar_bench.eval.compare_seeds import compare_seeds

N_VIDEOS, PER_VIDEO = 6, 3


def table(values: np.ndarray) -> pd.DataFrame:
    n = len(values)
    video = [f"v{i // PER_VIDEO}" for i in range(n)]
    multi = [np.nan if i % 3 else v for i, v in enumerate(values)]
    single = [v if i % 3 else np.nan for i, v in enumerate(values)]
    return pd.DataFrame({"key": [f"{video[i]}_{i:05d}" for i in range(n)], "video_id": video,
                         "ciou_single_sound": single, "ciou_mixed_sound": np.nan,
                         "ciou_multi_entity": multi, "ciou_total": values,
                         "cross_event": [i < 6 for i in range(n)]})


def files(name: str, seeds: list[np.ndarray]) -> list[PerFrame]:
    return [PerFrame(f"{name}{i}", table(v)) for i, v in enumerate(seeds)]


def rng_values(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random(N_VIDEOS * PER_VIDEO).round(6)


def test_one_seed_each_equals_the_paired_video_bootstrap():
    a, b = files("a", [rng_values(1)]), files("b", [rng_values(2)])
    two = compare_seeds(a, b, n=200, seed=5)
    one = compare(a[0], b[0], n=200, seed=5)
    for subset, e in one["subsets"].items():
        got = two["subsets"][subset]
        assert got["ci"] == e["ci"], subset
        assert got["b_minus_a"] == e["b_minus_a"]
        assert got["a"]["mean"] == e["a"] and got["a"]["sd"] is None


def test_identical_seeds_shifted_by_a_constant_give_that_difference_exactly():
    base = rng_values(3)
    a = files("a", [base, base, base])
    b = files("b", [base + 0.01] * 3)
    res = compare_seeds(a, b, n=100, seed=0)["subsets"]["total"]
    assert res["b_minus_a"] == pytest.approx(1.0, abs=1e-9)
    assert res["ci"][0] == pytest.approx(1.0, abs=1e-6)
    assert res["ci"][1] == pytest.approx(1.0, abs=1e-6)
    assert res["a"]["sd"] == 0.0


def slow_reference(a_vals, b_vals, n, seed):
    """Each replicate: draw videos (numpy PCG64(seed), as documented), draw seeds per side
    (PCG64([seed, 1, side])), average each drawn seed's resampled Total CIoU."""
    rng = np.random.Generator(np.random.PCG64(seed))
    draws_v = rng.integers(0, N_VIDEOS, size=(n, N_VIDEOS))
    sides = []
    for side, vals in enumerate((a_vals, b_vals)):
        srng = np.random.Generator(np.random.PCG64([seed, 1, side]))
        k = len(vals)
        draws_s = np.zeros((n, 1), int) if k == 1 else srng.integers(0, k, size=(n, k))
        reps = []
        for r in range(n):
            per_seed = []
            for s in draws_s[r]:
                num = den = 0.0
                for v in draws_v[r]:
                    frames = vals[s][v * PER_VIDEO:(v + 1) * PER_VIDEO]
                    num += frames.sum()
                    den += len(frames)
                per_seed.append(num / den * 100)
            reps.append(np.mean(per_seed))
        sides.append(np.array(reps))
    diff = sides[1] - sides[0]
    return list(np.percentile(diff, [2.5, 97.5]))


def test_interval_matches_a_replicate_by_replicate_loop():
    a_vals = [rng_values(s) for s in (10, 11, 12)]
    b_vals = [rng_values(s) + 0.05 for s in (20, 21)]
    got = compare_seeds(files("a", a_vals), files("b", b_vals), n=300, seed=7)
    ref = slow_reference(a_vals, b_vals, 300, 7)
    assert got["subsets"]["total"]["ci"] == pytest.approx(ref, abs=1e-5)
    means_a = [v.mean() * 100 for v in a_vals]
    assert got["subsets"]["total"]["a"]["sd"] == pytest.approx(np.std(means_a, ddof=1),
                                                                 abs=1e-6)


def test_seed_resampling_widens_the_interval():
    base = rng_values(4)
    noisy = [base + d for d in (-0.05, 0.0, 0.05)]
    wide = compare_seeds(files("a", noisy), files("b", [base] * 3), n=500)["subsets"]["total"]
    narrow = compare(PerFrame("a", table(base)), PerFrame("b", table(base)), n=500)
    assert wide["ci"][1] - wide["ci"][0] > narrow["subsets"]["total"]["ci"][1] - \
        narrow["subsets"]["total"]["ci"][0] + 1.0


def test_files_scoring_other_frames_are_refused():
    a = files("a", [rng_values(1)])
    other = table(rng_values(2)).iloc[:-1]
    with pytest.raises(AvatarBenchError, match="score different frames"):
        compare_seeds(a, [PerFrame("b0", other)])


def test_cli_takes_comma_separated_seed_files(tmp_path):
    paths = {}
    for name, seeds in (("a", (1, 2)), ("b", (3, 4, 5))):
        paths[name] = []
        for s in seeds:
            p = tmp_path / f"{name}{s}.csv"
            table(rng_values(s)).to_csv(p, index=False)
            paths[name].append(str(p))
    res = CliRunner().invoke(cli, ["compare", ",".join(paths["a"]), ",".join(paths["b"]),
                                   "--bootstrap", "50", "--names", "A,B",
                                   "-o", str(tmp_path / "c.json")])
    assert res.exit_code == 0, res.output
    assert "A = A (2 seed(s))" in res.output and "B = B (3 seed(s))" in res.output
    assert "two-level" in res.output
    assert (tmp_path / "c.json").exists()


@pytest.mark.parametrize("value", [float("inf"), 7.5, -0.1, "abc"])
def test_per_frame_cious_outside_0_1_are_refused(tmp_path, value):
    from avatar_bench.eval.compare import read_per_frame

    t = table(rng_values(1))
    t["ciou_total"] = t["ciou_total"].astype(object)
    t.loc[0, "ciou_total"] = value
    t.to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(AvatarBenchError, match="expected a cIoU in \\[0, 1\\] or empty"):
        read_per_frame(tmp_path / "x.csv")


def test_a_row_without_video_is_refused(tmp_path):
    from avatar_bench.eval.compare import read_per_frame

    t = table(rng_values(1))
    t.loc[3, "video_id"] = None
    t.to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(AvatarBenchError, match="row 5 has no key or video_id"):
        read_per_frame(tmp_path / "x.csv")
