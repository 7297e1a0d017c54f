"""Predictions format v1: streaming writer, lazy chunked reader, determinism, directories."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from avatar_bench.errors import AvatarBenchError
from avatar_bench.eval.predictions import PredictionsFile, load_predictions, write_predictions


def _items(n: int, shape=(7, 11), seed: int = 0):
    rng = np.random.default_rng(seed)
    return [(f"vid_{i:05d}", rng.random(shape, dtype=np.float32)) for i in range(n)]


def test_roundtrip_in_chunks_smaller_than_the_file(tmp_path):
    items = _items(10)
    path = write_predictions(tmp_path / "p.npz", iter(items), 10, {"model": "x"}, np.float32)
    p = PredictionsFile(path)
    assert p.problems == []
    assert p.raw_keys == [k for k, _ in items]
    assert p.map_shape == (7, 11) and p.n_maps == 10 and p.meta == {"model": "x"}
    starts, rows = [], []
    for start, maps in p.iter_chunks(3):
        starts.append(start)
        rows.extend(maps)
    assert starts == [0, 3, 6, 9]
    np.testing.assert_array_equal(np.stack(rows), np.stack([m for _, m in items]))
    # The fast direct-read route (no CRC check) reads the same values.
    assert p._stored_offset() is not None
    fast = np.concatenate([m for _, m in p.iter_chunks(4, verify=False)])
    np.testing.assert_array_equal(fast, np.stack([m for _, m in items]))
    # The file is a plain npz as well.
    with np.load(path, allow_pickle=False) as z:
        np.testing.assert_array_equal(z["heatmaps"][4], items[4][1])


def test_float16_default_and_deterministic_bytes(tmp_path):
    a = write_predictions(tmp_path / "a.npz", iter(_items(5)), 5, {"m": 1})
    b = write_predictions(tmp_path / "b.npz", iter(_items(5)), 5, {"m": 1})
    assert a.read_bytes() == b.read_bytes()
    assert PredictionsFile(a).dtype == np.float16
    with zipfile.ZipFile(a) as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_writer_rejects_wrong_count_and_mixed_shapes(tmp_path):
    with pytest.raises(AvatarBenchError, match="expected n=4"):
        write_predictions(tmp_path / "a.npz", iter(_items(3)), 4, {})
    mixed = _items(2) + _items(1, shape=(3, 3))
    with pytest.raises(AvatarBenchError, match="one size per file"):
        write_predictions(tmp_path / "b.npz", iter(mixed), 3, {})
    assert not list(tmp_path.iterdir())  # no partial files left behind


def test_directory_of_npy(tmp_path):
    items = _items(5, shape=(4, 6))
    for k, m in items:
        np.save(tmp_path / f"{k}.npy", m)
    (tmp_path / "meta.json").write_text(json.dumps({"model": "dir"}))
    p = PredictionsFile(tmp_path)
    assert p.problems == [] and p.meta == {"model": "dir"}
    got = np.concatenate([m for _, m in p.iter_chunks(2)])
    np.testing.assert_array_equal(got, np.stack([m for _, m in items]))
    digest = p.sha256()
    # A content hash: a copy elsewhere hashes the same; one changed map or a renamed key
    # changes it.
    import shutil

    copy = tmp_path.parent / (tmp_path.name + "-copy")
    shutil.copytree(tmp_path, copy)
    assert PredictionsFile(copy).sha256() == digest
    changed = items[2][1].copy()
    changed[0, 0] += 1
    np.save(copy / f"{items[2][0]}.npy", changed)
    assert PredictionsFile(copy).sha256() != digest
    shutil.rmtree(copy)


def test_compressed_npz_is_streamed(tmp_path):
    maps = np.random.default_rng(2).random((5, 6, 7)).astype(np.float16)
    np.savez_compressed(tmp_path / "c.npz", keys=np.array([f"v_{i}" for i in range(5)]),
                        heatmaps=maps)
    p = PredictionsFile(tmp_path / "c.npz")
    assert p._stored_offset() is None
    got = np.concatenate([m for _, m in p.iter_chunks(2, verify=False)])
    np.testing.assert_array_equal(got, maps)


def test_fortran_order_file_is_read(tmp_path):
    maps = np.asfortranarray(np.random.default_rng(1).random((4, 3, 5)).astype(np.float32))
    np.savez(tmp_path / "f.npz", keys=np.array([f"v_{i}" for i in range(4)]), heatmaps=maps)
    p = PredictionsFile(tmp_path / "f.npz")
    got = np.concatenate([m for _, m in p.iter_chunks(3)])
    np.testing.assert_array_equal(got, maps)


def test_truncated_file_raises_clean_error(tmp_path):
    path = write_predictions(tmp_path / "a.npz", iter(_items(20)), 20, {}, np.float32)
    data = path.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[: len(data) // 2])
    p = PredictionsFile(cut)
    assert p.problems  # the central directory is gone: not a zip any more
    assert any("zip" in msg for msg in p.problems)
    with pytest.raises(AvatarBenchError, match="cannot use"):
        load_predictions(cut)
    assert load_predictions(path).n_maps == 20


def test_writer_refuses_non_finite_meta_and_leaves_nothing(tmp_path):
    with pytest.raises(AvatarBenchError, match="non-finite number"):
        write_predictions(tmp_path / "p.npz", iter(_items(2)), 2, {"loss": float("nan")})
    assert list(tmp_path.iterdir()) == []
