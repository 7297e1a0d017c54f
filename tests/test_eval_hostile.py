"""Hostile and careless inputs to validate/evaluate: each gets a specific message and exit 2
(or a clean AvatarBenchError), is refused before any evaluation, and nothing half-written."""

from __future__ import annotations

import errno
import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from avatar_bench.cli import cli
from avatar_bench.data import AvatarDataset
from avatar_bench.errors import AvatarBenchError
from avatar_bench.eval import Evaluator, PredictionsFile, Protocol, write_predictions
from avatar_bench.eval import counts as counts_mod
from tests.fakeroot import instance, write_frame


@pytest.fixture()
def root(tmp_path) -> Path:
    root = tmp_path / "root"
    kw = {"width": 64, "height": 36, "jpeg": False}
    write_frame(root, "va_00001", 1, [instance("Single-Sound", "dog", (0, 0, 16, 9))], **kw)
    write_frame(root, "va_00001", 2, [instance("Off-Screen", "man", None)], **kw)
    write_frame(root, "vb_00002", 1, [instance("Mixed-Sound", "cat", (32, 18, 32, 18))], **kw)
    write_frame(root, "vb_00002", 2, [instance("Single-Sound", "dog", (0, 0, 64, 9))], **kw)
    return root


@pytest.fixture()
def ds(root) -> AvatarDataset:
    return AvatarDataset(root, name="hostile", use_cache=False)


def _maps(keys, shape=(9, 16), seed=0):
    rng = np.random.default_rng(seed)
    return [(k, rng.random(shape, dtype=np.float32)) for k in keys]


def _good(ds, path, meta=None) -> Path:
    items = _maps(ds.keys())
    return write_predictions(path, iter(items), len(items), meta or {"model": "t"}, np.float32)


def _cli(args, root):
    return CliRunner().invoke(cli, [*args, "--root", str(root)])


def _npy_bytes(header: dict, data: bytes = b"") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + data


def _zip(path: Path, members: dict[str, bytes], deflate: bool = False) -> Path:
    kind = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=kind) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _keys_member(keys) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array(keys, dtype=str), allow_pickle=False)
    return buf.getvalue()


def _maps_member(maps: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, maps, allow_pickle=False)
    return buf.getvalue()


# ------------------------------------------------------------ headers that lie
def test_keys_header_claiming_10_to_the_12_elements(ds, tmp_path):
    keys = _npy_bytes({"descr": "<U20", "fortran_order": False, "shape": (10**12,)}, b"x" * 80)
    maps = _maps_member(np.zeros((4, 9, 16), np.float32))
    path = _zip(tmp_path / "k.npz", {"keys.npy": keys, "heatmaps.npy": maps})
    p = PredictionsFile(path)
    assert any("keys: header declares shape (1000000000000,)" in m for m in p.problems), \
        p.problems


def test_deflated_member_unpacking_beyond_its_shape(ds, tmp_path):
    """The header says 4 maps, the deflated member holds 400: refused from the headers."""
    head = _npy_bytes({"descr": "<f4", "fortran_order": False, "shape": (4, 9, 16)})
    body = head + bytes(400 * 9 * 16 * 4)
    path = _zip(tmp_path / "bomb.npz", {"keys.npy": _keys_member(ds.keys()),
                                        "heatmaps.npy": body}, deflate=True)
    assert path.stat().st_size < 20_000  # small on disk, 230 KB unpacked
    p = PredictionsFile(path)
    assert any("unpacks to" in m and "(2,304 bytes)" in m for m in p.problems), p.problems
    res = _cli(["validate", str(path)], ds.root)
    assert res.exit_code == 2 and "unpacks to" in res.output


def test_member_shorter_than_its_central_directory_says(ds, tmp_path):
    """A zip whose recorded size is smaller than the stream: CRC/EOF, a clean error."""
    maps = np.random.default_rng(0).random((4, 9, 16)).astype(np.float32)
    good = _zip(tmp_path / "g.npz", {"keys.npy": _keys_member(ds.keys()),
                                     "heatmaps.npy": _maps_member(maps)}, deflate=True)
    data = bytearray(good.read_bytes())
    # Flip one byte of the deflated heatmaps data: the CRC check must catch it while streaming.
    with zipfile.ZipFile(good) as zf:
        info = zf.getinfo("heatmaps.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF
    bad = tmp_path / "bad.npz"
    bad.write_bytes(bytes(data))
    res = _cli(["evaluate", str(bad), "--bootstrap", "0"], ds.root)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and "error:" in res.output


def test_maps_larger_than_2048_are_refused_up_front(ds, tmp_path):
    head = _npy_bytes({"descr": "<f2", "fortran_order": False, "shape": (4, 2049, 16)})
    path = _zip(tmp_path / "big.npz", {"keys.npy": _keys_member(ds.keys()),
                                       "heatmaps.npy": head + bytes(4 * 2049 * 16 * 2)},
                deflate=True)
    p = PredictionsFile(path)
    assert any("larger than the maximum 2048x2048" in m for m in p.problems), p.problems


def test_large_fortran_ordered_maps_are_refused(tmp_path):
    head = _npy_bytes({"descr": "<f4", "fortran_order": True, "shape": (40, 2048, 1024)})
    path = _zip(tmp_path / "f.npz", {"keys.npy": _keys_member([f"v_{i}" for i in range(40)]),
                                     "heatmaps.npy": head})
    p = PredictionsFile(path)
    assert any("Fortran-ordered" in m for m in p.problems), p.problems


# ------------------------------------------------------------------- meta
def _dir_submission(ds, folder: Path) -> Path:
    folder.mkdir()
    for k, m in _maps(ds.keys()):
        np.save(folder / f"{k}.npy", m)
    return folder


@pytest.mark.parametrize("text,expect", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"a": ' * 40 + "1" + "}" * 40, "nested deeper than 32"),
    ('{"x": NaN}', "NaN is not a finite number"),
    ('{"x": 1e400}', "1e400 is not a finite number"),
    ('{"x": -Infinity}', "-Infinity is not a finite number"),
])
def test_bad_meta_json_is_refused_before_evaluating(ds, tmp_path, text, expect):
    folder = _dir_submission(ds, tmp_path / "sub")
    (folder / "meta.json").write_text(text)
    res = _cli(["evaluate", str(folder), "-o", str(tmp_path / "r.json")], ds.root)
    assert res.exit_code == 2, res.output
    assert expect in res.output and "Traceback" not in res.output
    assert not (tmp_path / "r.json").exists()


def test_non_utf8_meta_json(ds, tmp_path):
    folder = _dir_submission(ds, tmp_path / "sub")
    (folder / "meta.json").write_bytes(b'{"model": "caf\xe9"}')
    res = _cli(["validate", str(folder)], ds.root)
    assert res.exit_code == 2 and "meta.json: not UTF-8 text" in res.output


@pytest.mark.parametrize("text", ['{"x": NaN}', '{"x": 1e400}'])
def test_non_finite_meta_in_npz(ds, tmp_path, text):
    meta = io.BytesIO()
    np.lib.format.write_array(meta, np.array(text), allow_pickle=False)
    maps = np.random.default_rng(0).random((4, 9, 16)).astype(np.float32)
    path = _zip(tmp_path / "m.npz", {"keys.npy": _keys_member(ds.keys()),
                                     "heatmaps.npy": _maps_member(maps),
                                     "meta.npy": meta.getvalue()})
    res = _cli(["evaluate", str(path), "-o", str(tmp_path / "r.json")], ds.root)
    assert res.exit_code == 2 and "not a finite number" in res.output, res.output
    assert not (tmp_path / "r.json").exists()


# ---------------------------------------------------------------- options
@pytest.mark.parametrize("args,expect", [
    (["--resolution", "20000x20000"], "too large: at most 4096 per side"),
    (["--resolution", "4096x4096"], "3840x2160"),
    (["--resolution", "1" + "0" * 400 + "x5"], "expected HxW"),
    (["--bootstrap", "100000000"], "0<=x<=10000"),
    (["--workers", "0"], "1<=x<=64"),
    (["--seed", "-1"], "0<=x<="),
    (["--top-percent", "nan"], "--top-percent must be in (0, 100]"),
])
def test_options_are_checked_up_front(ds, tmp_path, args, expect):
    path = _good(ds, tmp_path / "p.npz")
    res = _cli(["evaluate", str(path), *args], ds.root)
    assert res.exit_code == 2, res.output
    assert expect in res.output and "Traceback" not in res.output


def test_bootstrap_limit_scales_with_videos(ds, tmp_path, monkeypatch):
    from avatar_bench.eval import evaluator as ev_mod

    monkeypatch.setattr(ev_mod, "MAX_BOOTSTRAP_CELLS", 1000)
    with pytest.raises(AvatarBenchError, match="at most 500 here"):
        Evaluator(ds, _good(ds, tmp_path / "p.npz"), Protocol(bootstrap=501))


# ------------------------------------------------------------ path kinds
def test_fifo_is_named_not_opened(ds, tmp_path):
    fifo = tmp_path / "preds.npz"
    os.mkfifo(fifo)
    res = _cli(["evaluate", str(fifo)], ds.root)
    assert res.exit_code == 2
    assert "a FIFO (named pipe), not a regular file" in res.output, res.output


def test_dev_zero_is_named(ds):
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    res = _cli(["validate", "/dev/zero"], ds.root)
    assert res.exit_code == 2 and "a character device" in res.output, res.output


def test_missing_file_says_so(ds, tmp_path):
    res = _cli(["validate", str(tmp_path / "nope.npz")], ds.root)
    assert res.exit_code == 2 and "no such file" in res.output


def test_fifo_inside_a_directory_submission(ds, tmp_path):
    folder = _dir_submission(ds, tmp_path / "sub")
    os.mkfifo(folder / "meta.json")
    res = _cli(["validate", str(folder)], ds.root)
    assert res.exit_code == 2 and "meta.json: a FIFO" in res.output, res.output


# -------------------------------------------------------------- disk full
def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("flag", ["-o", "--per-frame"])
def test_disk_full_leaves_the_old_file_and_no_temp(ds, tmp_path, monkeypatch, flag):
    path = _good(ds, tmp_path / "p.npz")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "result"
    target.write_text("old\n")
    monkeypatch.setattr("avatar_bench.fsio.os.fsync", _enospc)
    res = _cli(["evaluate", str(path), "--bootstrap", "0", flag, str(target)], ds.root)
    assert res.exit_code == 2, res.output
    assert "No space left on device" in res.output and "nothing was changed" in res.output
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in out_dir.iterdir()) == ["result"]


def test_disk_full_while_writing_predictions(ds, tmp_path, monkeypatch):
    monkeypatch.setattr("avatar_bench.fsio.os.fsync", _enospc)
    with pytest.raises(AvatarBenchError, match="No space left on device"):
        _good(ds, tmp_path / "p.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root"]


# -------------------------------------------------------------- fallbacks
def test_fallbacks_are_bounded(ds, tmp_path, monkeypatch):
    """Even when every boundary interval misses, the evaluator takes each fallback once
    (sampled -> two-pass -> three-pass) and ends with the exact answer."""
    path = _good(ds, tmp_path / "p.npz")
    exact = Evaluator(ds, path, Protocol(bootstrap=0), workers=1).run()
    calls = {"n": 0}

    def miss(self):
        calls["n"] += 1
        return None

    monkeypatch.setattr(counts_mod.Boundary, "finish", miss)
    ev = Evaluator(ds, path, Protocol(bootstrap=0), workers=1, chunk=1, sample_every=1)
    monkeypatch.setattr(ev, "sample_every", 2)
    # 4 chunks < 8 * sample_every: no sampling, so: two-pass (miss) -> three-pass.
    got = ev.run()
    # One boundary attempt (finish is called for the main and the †TN threshold).
    assert ev.route == "three-pass" and calls["n"] == 2
    assert got["metrics"] == exact["metrics"] and got["thresholds"] == exact["thresholds"]


def test_sampled_miss_then_two_pass_miss_ends_in_three_pass(ds, tmp_path, monkeypatch):
    path = _good(ds, tmp_path / "p.npz")
    exact = Evaluator(ds, path, Protocol(bootstrap=0), workers=1).run()
    calls = {"n": 0}
    monkeypatch.setattr(counts_mod.Boundary, "finish",
                        lambda self: calls.__setitem__("n", calls["n"] + 1))
    ev = Evaluator(ds, path, Protocol(bootstrap=0), workers=1, chunk=1)
    monkeypatch.setattr(ev, "sample_every", 1)
    monkeypatch.setattr(ev, "threshold", lambda: _force_sampled(ev))
    got = ev.run()
    # Two boundary attempts (sampled, then two-pass), each finishing 2 thresholds.
    assert ev.route == "three-pass" and ev.sample_missed and calls["n"] == 4
    assert got["metrics"] == exact["metrics"] and got["thresholds"] == exact["thresholds"]


def _force_sampled(ev):
    ev.route = "sampled"
    ev._bounds = ((0.0, 1.0), (0.0, 1.0))
    return ev.thresholds


def test_duplicate_frame_keys_in_the_dataset_are_refused(root, tmp_path):
    """00004.json beside 0004.json: one key twice. Refused (by the index or the validator)
    at once, never a recursion."""
    src = root / "metadata" / "va_00001" / "00002.json"
    (src.parent / "0002.json").write_text(src.read_text())
    try:
        ds = AvatarDataset(root, use_cache=False)
    except AvatarBenchError as exc:
        assert "0002" in str(exc)
        return
    items = _maps([*ds.keys()][:4])
    path = write_predictions(tmp_path / "p.npz", iter(items), 4, {}, np.float32)
    with pytest.raises(AvatarBenchError, match="duplicate frame key"):
        Evaluator(ds, path, Protocol(bootstrap=0)).run()


# ------------------------------------------------------------------ keys
@pytest.mark.parametrize("bad", ["va_00001_０００１", "va_00001_1\u00b2", "va_00001_\x001"])
def test_non_ascii_or_control_keys_are_malformed(ds, tmp_path, bad):
    keys = [bad, *ds.keys()[1:]]
    items = _maps(keys)
    path = write_predictions(tmp_path / "p.npz", iter(items), 4, {}, np.float32)
    res = _cli(["validate", str(path)], ds.root)
    assert res.exit_code == 2 and "malformed key" in res.output, res.output
