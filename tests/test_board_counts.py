"""``submit --params/--training-size``: exact counts, huge ones refused cleanly."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from avatar_bench.cli import cli
from avatar_bench.cli.board import MAX_COUNT, parse_count
from avatar_bench.errors import AvatarBenchError


@pytest.mark.parametrize("text,value", [("11690000", 11690000), ("11.7M", 11700000),
                                        ("144k", 144000), ("0.1k", 100), ("2B", 2 * 10**9),
                                        (" 23.5m ", 23500000), (None, None)])
def test_counts_parse_exactly(text, value):
    assert parse_count(text) == value


@pytest.mark.parametrize("text", ["1" + "0" * 400, "9007199254740993", "1e5", "-3", "12x",
                                  "10000000000000000000000B"])
def test_bad_or_huge_counts_are_refused(text):
    with pytest.raises(AvatarBenchError, match="count"):
        parse_count(text)


def test_largest_count_is_accepted():
    assert parse_count(str(MAX_COUNT)) == MAX_COUNT


def test_submit_with_a_400_digit_params_exits_2_without_traceback(tmp_path):
    res = CliRunner().invoke(cli, ["submit", __file__, "--name", "X", "--params",
                                   "1" + "0" * 400, "--submissions-dir", str(tmp_path)])
    assert res.exit_code == 2, res.output
    assert "too long" in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert not list(tmp_path.iterdir())
