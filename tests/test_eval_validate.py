"""Validation reports every problem at once; the CLI exits 2 without a traceback."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from avatar_bench.cli import cli
from avatar_bench.data import AvatarDataset
from avatar_bench.eval import validate_predictions, write_predictions
from tests.fakeroot import instance, write_frame

VIDEOS = ("a_b_00001", "c-d_00002")


@pytest.fixture()
def root(tmp_path):
    root = tmp_path / "root"
    for v in VIDEOS:
        for fr in (3, 40, 120):
            write_frame(root, v, fr, [instance("Single-Sound", "dog", (10, 10, 100, 80))],
                        jpeg=False)
    return root


@pytest.fixture()
def ds(root):
    return AvatarDataset(root, use_cache=False)


def keys_of(ds):
    return [f.key for f in ds.frames]


def good_maps(n, shape=(8, 8)):
    return np.random.default_rng(0).random((n, *shape)).astype(np.float32)


def run(args):
    result = CliRunner().invoke(cli, args)
    assert "Traceback" not in result.output
    return result


def test_valid_file_exits_zero_with_warnings(ds, root, tmp_path):
    keys = keys_of(ds)
    maps = good_maps(len(keys))
    maps[1] = 0.5  # constant: a warning, not an error
    # Unpadded frame indices are the same keys after normalisation.
    keys = [k.rsplit("_", 1)[0] + "_" + str(int(k.rsplit("_", 1)[1])) for k in keys]
    path = write_predictions(tmp_path / "p.npz", zip(keys, maps, strict=True), len(keys), {})
    report = validate_predictions(ds, path)
    assert report.valid and report.n_constant == 1
    res = run(["validate", str(path), "--root", str(root)])
    assert res.exit_code == 0, res.output
    assert "valid" in res.output and "1 constant map" in res.output


def test_many_problems_reported_together(ds, root, tmp_path):
    keys = keys_of(ds)
    sent = keys[2:] + ["zz_00009_00001", keys[2].replace("_00003", "_3")]
    maps = good_maps(len(sent))
    maps[0, 1, 1] = np.nan
    maps[3, 0, 0] = np.inf
    path = write_predictions(tmp_path / "p.npz", zip(sent, maps, strict=True), len(sent), {},
                             np.float32)
    report = validate_predictions(ds, path)
    text = "\n".join(report.problems)
    assert "2 of 6 dataset frames missing" in text
    assert "1 unknown key" in text and "zz_00009_00001" in text
    assert "1 duplicate key" in text
    assert "2 map(s) contain NaN or inf" in text and keys[2] in text
    res = run(["validate", str(path), "--root", str(root)])
    assert res.exit_code == 2
    for phrase in ("missing", "unknown", "duplicate", "NaN"):
        assert phrase in res.output
    res = run(["evaluate", str(path), "--root", str(root), "--bootstrap", "0"])
    assert res.exit_code == 2 and "duplicate" in res.output


def test_structural_problems(ds, tmp_path):
    keys = np.array(keys_of(ds))
    cases = {
        "pickled": ({"keys": keys.astype(object), "heatmaps": good_maps(6)}, "pickled"),
        "ndim": ({"keys": keys, "heatmaps": good_maps(6)[:, 0]}, "wrong ndim 2"),
        "dtype": ({"keys": keys, "heatmaps": good_maps(6).astype(np.float64)}, "wrong dtype"),
        "length": ({"keys": keys, "heatmaps": good_maps(5)}, "length mismatch"),
        "member": ({"keys": keys}, "member 'heatmaps' is missing"),
        "objmaps": ({"keys": keys, "heatmaps": np.array([None] * 6, dtype=object)}, "pickled"),
    }
    for name, (arrays, phrase) in cases.items():
        path = tmp_path / f"{name}.npz"
        np.savez(path, **arrays)
        report = validate_predictions(ds, path)
        assert not report.valid, name
        assert any(phrase in p for p in report.problems), (name, report.problems)


def test_corrupt_and_missing_files(ds, root, tmp_path):
    garbage = tmp_path / "g.npz"
    garbage.write_bytes(b"not a zip at all")
    assert "not a readable .npz" in validate_predictions(ds, garbage).problems[0]
    assert "no such file" in validate_predictions(ds, tmp_path / "nope.npz").problems[0]
    # Flip a byte inside the stored heatmaps: the zip CRC check catches it while streaming.
    keys = keys_of(ds)
    path = write_predictions(tmp_path / "p.npz", zip(keys, good_maps(6), strict=True), 6, {})
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("heatmaps.npy")
    data = bytearray(path.read_bytes())
    data[info.header_offset + 200] ^= 0xFF
    path.write_bytes(bytes(data))
    report = validate_predictions(ds, path)
    assert any("corrupt" in p and "CRC" in p for p in report.problems), report.problems
    res = run(["validate", str(garbage), "--root", str(root)])
    assert res.exit_code == 2


def test_corruption_found_while_streaming(ds, tmp_path):
    # Large maps: the header reads fine, the CRC fails only at the end of the member.
    keys = keys_of(ds)
    path = write_predictions(tmp_path / "p.npz", zip(keys, good_maps(6, (256, 256)),
                                                     strict=True), 6, {}, np.float32)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("heatmaps.npy")
    data = bytearray(path.read_bytes())
    data[info.header_offset + 500_000] ^= 0xFF
    path.write_bytes(bytes(data))
    report = validate_predictions(ds, path, chunk=2)
    assert any("heatmaps are corrupt or truncated" in p for p in report.problems), \
        report.problems
