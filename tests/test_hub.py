"""``avatar-bench download`` end to end against a fake Hub on loopback (real HTTP, real
huggingface_hub), plus in-process tests of the safe extraction."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
import zipfile
from collections import namedtuple
from pathlib import Path

import pytest

from avatar_bench.data import AvatarDataset
from avatar_bench.data import hub as hubmod
from avatar_bench.data.index import MANIFEST_NAME
from avatar_bench.errors import AvatarBenchError
from tests.fakehub import FakeHub
from tests.fakeroot import instance, write_frame

REPO = "mipal/AVATAR"
CLI = str(Path(sys.executable).parent / "avatar-bench")
VID_A, VID_B, VID_C = "l_7B1wnTNtA_00020", "abc-DEF_gh1_00005", "zz_Top-1_00100"

# Hand-counted facts of the dataset written by ``source_tree``.
N_FRAMES = 6  # A: 10, 20   B: 5, 15, 25   C: 30
EXPECTED_INFO = {
    "videos": 3, "frames": N_FRAMES, "categories": 5,  # dog guitar piano speech car
    "frames_per_scenario": {"single_sound": 3, "mixed_sound": 1, "multi_entity": 1,
                            "off_screen": 2},
    "instances_per_scenario": {"single_sound": 3, "mixed_sound": 2, "multi_entity": 2,
                               "off_screen": 2},
    "cross_event_videos": 1,  # B: dog appears at frame 15 after guitar/piano
}

Zips = namedtuple("Zips", "source metadata video")


# ------------------------------------------------------------------------ building


def _tiny_mp4(path: Path) -> None:
    """A real 5-frame H.264 clip, so the index can probe it."""
    import av
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 36, "yuv420p"
        for i in range(5):
            img = np.full((36, 64, 3), 40 * i, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def _source_tree(root: Path) -> None:
    box = (10, 20, 100, 80)
    write_frame(root, VID_A, 10, [instance("Single-Sound", "dog", box)])
    write_frame(root, VID_A, 20, [instance("Single-Sound", "dog", box)])
    write_frame(root, VID_B, 5, [instance("Mixed-Sound", "guitar", box),
                                 instance("Mixed-Sound", "piano", (200, 50, 60, 60))])
    write_frame(root, VID_B, 15, [instance("Multi-Entity", "dog", box),
                                  instance("Multi-Entity", "dog", (300, 100, 50, 50))])
    write_frame(root, VID_B, 25, [instance("Off-Screen", "speech", None)])
    write_frame(root, VID_C, 30, [instance("Single-Sound", "car", box),
                                  instance("Off-Screen", "speech", None)])
    for vid in (VID_A, VID_B, VID_C):
        _tiny_mp4(root / "video" / f"{vid}.mp4")


def zip_folder(folder: Path, arc_prefix: str = "") -> bytes:
    """Zip every file under ``folder`` as ``<arc_prefix><relative path>``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, arc_prefix + path.relative_to(folder).as_posix())
    return buf.getvalue()


def zip_members(members: dict[str, bytes], symlinks: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            if name in symlinks:
                info.create_system = 3  # Unix, so the mode bits count
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, data)
    return buf.getvalue()


@pytest.fixture(scope="module")
def zips(tmp_path_factory) -> Zips:
    src = tmp_path_factory.mktemp("avatar-src")
    _source_tree(src)
    return Zips(src, zip_folder(src / "metadata", "metadata/"), zip_folder(src / "video", "video/"))


@pytest.fixture
def fakehub(zips):
    with FakeHub() as hub:
        hub.sha = hub.push(REPO, {"metadata.zip": zips.metadata, "video.zip": zips.video,
                                  "vggsound_10k.txt": b"abc\n"})
        yield hub


def run(args: list[str], hub: FakeHub, hf_home: Path, offline: bool = False, **extra_env: str):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HF_", "HUGGINGFACE_")) and k != "AVATAR_ROOT"}
    env.update(extra_env)
    env.update(HF_ENDPOINT=hub.endpoint, HF_HOME=str(hf_home), HF_HUB_DISABLE_TELEMETRY="1",
               HF_HUB_OFFLINE="1" if offline else "0", NO_PROXY="127.0.0.1,localhost",
               AVATAR_BENCH_QUIET="1")
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=120)


def download(hub: FakeHub, hf_home: Path, root: Path, *extra: str, offline: bool = False):
    return run(["download", "--root", str(root), "--revision", "main", *extra], hub, hf_home,
               offline)


def assert_ok(proc) -> None:
    assert proc.returncode == 0, proc.stdout + proc.stderr


def assert_clean_error(proc, *needles: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def snapshot(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*")}


def zip_gets(hub: FakeHub) -> int:
    return hub.count("GET", "metadata.zip", "cdn") + hub.count("GET", "video.zip", "cdn")


# ---------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_download_end_to_end_then_info(fakehub, zips, tmp_path):
    root = tmp_path / "avatar"
    assert_ok(download(fakehub, tmp_path / "hf", root))

    manifest = json.loads((root / MANIFEST_NAME).read_text())
    assert manifest["repo_id"] == REPO
    assert manifest["revision"] == fakehub.sha
    assert manifest["requested_revision"] == "main"
    for name, data in (("metadata.zip", zips.metadata), ("video.zip", zips.video)):
        assert manifest["files"][name] == {"size": len(data),
                                           "sha256": hashlib.sha256(data).hexdigest()}
    assert manifest["extracted"]["metadata"]["n_files"] == 2 * N_FRAMES  # json + jpg
    assert manifest["extracted"]["video"]["n_files"] == 3
    assert manifest["avatar_bench_version"]
    assert (root / "metadata" / VID_B / "00015.json").is_file()
    assert (root / "video" / f"{VID_C}.mp4").read_bytes() == \
        (zips.source / "video" / f"{VID_C}.mp4").read_bytes()
    assert not list(root.glob(".avatar-bench-staging-*"))
    assert fakehub.count("GET", "metadata.zip", "cdn") == 1
    assert fakehub.count("GET", "video.zip", "cdn") == 1
    assert hubmod.verify_root(root) == []

    info = run(["info", "--root", str(root), "--json"], fakehub, tmp_path / "hf")
    assert_ok(info)
    got = json.loads(info.stdout)
    for key, value in EXPECTED_INFO.items():
        assert got[key] == value, key
    assert got["videos_with_clip"] == 3
    assert got["revision"] == fakehub.sha


@pytest.mark.slow
def test_second_run_is_a_noop(fakehub, tmp_path):
    root, hf = tmp_path / "avatar", tmp_path / "hf"
    assert_ok(download(fakehub, hf, root))
    before, gets = snapshot(root), zip_gets(fakehub)

    again = download(fakehub, hf, root)
    assert_ok(again)
    assert "up to date" in again.stdout
    assert snapshot(root) == before
    assert zip_gets(fakehub) == gets
    assert fakehub.count("HEAD", "metadata.zip") == 1  # only the first run asked for the file


@pytest.mark.slow
def test_corrupted_tree_is_detected_and_repaired(fakehub, tmp_path):
    root, hf = tmp_path / "avatar", tmp_path / "hf"
    assert_ok(download(fakehub, hf, root))
    victim = root / "metadata" / VID_A / "00020.json"
    victim.unlink()
    untouched = (root / "video" / f"{VID_A}.mp4").stat().st_mtime_ns

    problems = hubmod.verify_root(root)
    assert problems and all(p.startswith("metadata/") for p in problems)
    check = run(["download", "--root", str(root), "--verify-only"], fakehub, hf)
    assert_clean_error(check, "not intact", "metadata/ has 11 files, expected 12")

    gets = zip_gets(fakehub)
    repair = download(fakehub, hf, root)
    assert_ok(repair)
    assert "extracted" in repair.stdout and "kept intact: video/" in repair.stdout
    assert victim.is_file()
    assert hubmod.verify_root(root) == []
    assert zip_gets(fakehub) == gets  # re-extracted from the HF cache, not re-downloaded
    assert (root / "video" / f"{VID_A}.mp4").stat().st_mtime_ns == untouched


@pytest.mark.slow
def test_force_reextracts(fakehub, tmp_path):
    root, hf = tmp_path / "avatar", tmp_path / "hf"
    assert_ok(download(fakehub, hf, root, "--no-video"))
    marker = root / "metadata" / "extra.txt"
    marker.write_text("not from the zip")
    forced = download(fakehub, hf, root, "--no-video", "--force")
    assert_ok(forced)
    assert "extracted" in forced.stdout and not marker.exists()


@pytest.mark.slow
@pytest.mark.parametrize("evil", ["../evil.txt", "/tmp/avatar-bench-abs-evil.txt"])
def test_unsafe_member_is_rejected(fakehub, zips, tmp_path, evil):
    members = {"metadata/vid_00001/00001.json": b"{}", evil: b"pwned"}
    fakehub.push(REPO, {"metadata.zip": zip_members(members), "video.zip": zips.video})
    root = tmp_path / "sub" / "avatar"
    proc = download(fakehub, tmp_path / "hf", root, "--no-video")
    assert_clean_error(proc, repr(evil))
    assert not (tmp_path / "sub" / "evil.txt").exists()
    assert not Path("/tmp/avatar-bench-abs-evil.txt").exists()
    assert not root.exists()  # not even an empty root, let alone a complete-looking one


@pytest.mark.slow
def test_offline_reuses_the_cache(fakehub, tmp_path):
    hf = tmp_path / "hf"
    assert_ok(download(fakehub, hf, tmp_path / "first"))
    n_requests = len(fakehub.requests)

    second = download(fakehub, hf, tmp_path / "second", offline=True)
    assert_ok(second)
    assert "offline" in second.stdout
    manifest = json.loads((tmp_path / "second" / MANIFEST_NAME).read_text())
    assert manifest["revision"] == fakehub.sha
    assert hubmod.verify_root(tmp_path / "second") == []

    noop = download(fakehub, hf, tmp_path / "first", offline=True)
    assert_ok(noop)
    assert "up to date" in noop.stdout
    shutil.rmtree(hf)  # users delete the 5 GB of zips once extracted
    no_cache = download(fakehub, hf, tmp_path / "first", offline=True)
    assert_ok(no_cache)
    assert "up to date" in no_cache.stdout
    assert len(fakehub.requests) == n_requests  # offline means no request at all


@pytest.mark.slow
def test_offline_with_empty_cache_is_a_clear_error(fakehub, tmp_path):
    root = tmp_path / "avatar"
    proc = download(fakehub, tmp_path / "hf", root, offline=True)
    assert_clean_error(proc, "metadata.zip", "not in the Hugging Face cache", "HF_HUB_OFFLINE")
    assert not root.exists()
    assert fakehub.requests == []


@pytest.mark.slow
def test_no_video_fetches_only_metadata_into_avatar_root(fakehub, tmp_path):
    root, hf = tmp_path / "avatar", tmp_path / "hf"
    assert_ok(run(["download", "--no-video"], fakehub, hf, AVATAR_ROOT=str(root)))
    assert fakehub.count("GET", "metadata.zip", "cdn") == 1
    assert fakehub.count("HEAD", "video.zip") == fakehub.count("GET", "video.zip") == 0
    assert not (root / "video").exists()
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    assert set(manifest["files"]) == {"metadata.zip"}
    assert set(manifest["extracted"]) == {"metadata"}

    info = run(["info", "--root", str(root), "--json"], fakehub, hf)
    assert_ok(info)
    got = json.loads(info.stdout)
    assert (got["frames"], got["videos"], got["videos_with_clip"]) == (N_FRAMES, 3, 0)


@pytest.mark.slow
def test_dropped_connection_is_retried(fakehub, tmp_path):
    # huggingface_hub retries a broken transfer itself (with a Range header once a 10 MB
    # chunk has arrived; these blobs are smaller, so the retry starts from byte 0).
    fakehub.truncate_next_gets = 1
    root = tmp_path / "avatar"
    proc = download(fakehub, tmp_path / "hf", root, "--no-video")
    assert_ok(proc)
    assert fakehub.count("GET", "metadata.zip", "cdn") == 2
    assert hubmod.verify_root(root) == []


@pytest.mark.slow
def test_new_commit_on_main_is_picked_up(fakehub, zips, tmp_path):
    root, hf = tmp_path / "avatar", tmp_path / "hf"
    assert_ok(download(fakehub, hf, root, "--no-video"))
    src = tmp_path / "v2"
    write_frame(src, VID_A, 99, [instance("Single-Sound", "dog", (1, 1, 5, 5))], jpeg=False)
    new_sha = fakehub.push(REPO, {"metadata.zip": zip_folder(src / "metadata", "metadata/"),
                                  "video.zip": zips.video})
    assert_ok(download(fakehub, hf, root, "--no-video"))
    assert json.loads((root / MANIFEST_NAME).read_text())["revision"] == new_sha
    assert [p.name for p in (root / "metadata").rglob("*.json")] == ["00099.json"]


@pytest.mark.slow
def test_unknown_revision_and_repo_are_clear_errors(fakehub, tmp_path):
    bad_rev = run(["download", "--root", str(tmp_path / "a"), "--revision", "v9"], fakehub,
                  tmp_path / "hf")
    assert_clean_error(bad_rev, "revision 'v9' does not exist")
    bad_repo = run(["download", "--root", str(tmp_path / "a"), "--repo-id", "nobody/nothing"],
                   fakehub, tmp_path / "hf")
    assert_clean_error(bad_repo, "nobody/nothing", "not found")


# ------------------------------------------------------------- in-process extraction


def write_zip(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_disk_space_is_checked_before_writing(zips, tmp_path, monkeypatch):
    archive = write_zip(tmp_path / "metadata.zip", zips.metadata)
    root = tmp_path / "avatar"
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage._replace(free=10 * 1024**2))
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(AvatarBenchError, match="not enough free space"):
        hubmod.extract_archives(root, {"metadata": archive})
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("name,symlink", [
    ("C:/windows/evil.txt", False),
    ("metadata\\..\\..\\evil.txt", False),
    ("metadata/vid_00001/link.json", True),
])
def test_unsafe_members_in_process(tmp_path, name, symlink):
    members = {"metadata/vid_00001/00001.json": b"{}", name: b"/etc/passwd"}
    archive = write_zip(tmp_path / "m.zip", zip_members(members, (name,) if symlink else ()))
    with pytest.raises(AvatarBenchError, match="refusing to extract") as err:
        hubmod.extract_archives(tmp_path / "avatar", {"metadata": archive})
    assert repr(name) in str(err.value)
    assert not (tmp_path / "avatar").exists()


def test_missing_or_doubled_top_folders(tmp_path):
    flat = write_zip(tmp_path / "flat.zip", zip_members({
        "vid_00001/00001.json": b"{}", "__MACOSX/vid_00001/._00001.json": b"junk"}))
    doubled = write_zip(tmp_path / "doubled.zip", zip_members({
        "metadata/metadata/vid_00002/00002.json": b"{}"}))
    nested = write_zip(tmp_path / "video.zip", zip_members({"video/video/vid_00001.mp4": b"v"}))
    bare = write_zip(tmp_path / "bare.zip", zip_members({"vid_00002.mp4": b"v"}))

    root = tmp_path / "r1"
    hubmod.extract_archives(root, {"metadata": flat, "video": nested})
    assert [p.relative_to(root).as_posix() for p in sorted(root.rglob("*/*.*"))] == [
        "metadata/vid_00001/00001.json", "video/video/vid_00001.mp4"]
    root = tmp_path / "r2"
    hubmod.extract_archives(root, {"metadata": doubled, "video": bare})
    assert [p.relative_to(root).as_posix() for p in sorted(root.rglob("*/*.*"))] == [
        "metadata/vid_00002/00002.json", "video/vid_00002.mp4"]


def test_interrupted_extraction_leaves_the_old_root(zips, tmp_path, monkeypatch):
    root = tmp_path / "avatar"
    meta = write_zip(tmp_path / "metadata.zip", zips.metadata)
    hubmod.extract_archives(root, {"metadata": meta})
    (root / MANIFEST_NAME).write_text('{"revision": "old"}')
    stale = root / f"{hubmod.STAGING_PREFIX}999999999-x"  # left by a killed run
    stale.mkdir()
    before = snapshot(root)
    del before[stale.name]

    real = hubmod._extract_members

    def fail_on_video(archive, members, dest):
        if archive.name == "video.zip":
            raise AvatarBenchError("simulated crash while extracting video.zip")
        real(archive, members, dest)

    monkeypatch.setattr(hubmod, "_extract_members", fail_on_video)
    video = write_zip(tmp_path / "video.zip", zips.video)
    with pytest.raises(AvatarBenchError, match="simulated"):
        hubmod.extract_archives(root, {"metadata": meta, "video": video})
    assert snapshot(root) == before  # old metadata and manifest untouched, no video/, no staging

    monkeypatch.setattr(hubmod, "_extract_members", real)
    hubmod.extract_archives(root, {"metadata": meta, "video": video})
    # Swapped in, but the manifest says "incomplete": only the caller's final write marks it
    # complete, and until then the index refuses the root.
    assert (root / "video").is_dir()
    assert json.loads((root / MANIFEST_NAME).read_text())["state"] == "incomplete"
    assert hubmod.verify_root(root) != []
    with pytest.raises(AvatarBenchError, match="interrupted.*avatar-bench download --root"):
        AvatarDataset(root, use_cache=False)


# ------------------------------------------- unfinished roots, zip bombs, one target each


def _downloaded_root(zips, tmp_path: Path, video: bool = True) -> Path:
    """A root as ``download`` leaves it, built in-process from the test zips (no Hub)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    root = tmp_path / "avatar"
    archives = {"metadata": write_zip(tmp_path / "metadata.zip", zips.metadata)}
    if video:
        archives["video"] = write_zip(tmp_path / "video.zip", zips.video)
    summaries = hubmod.extract_archives(root, archives)
    files = {hubmod.ARCHIVES[f]: hubmod.file_record(p) for f, p in archives.items()}
    hubmod._write_manifest(root, hubmod._new_manifest(None, REPO, "a" * 40, "main", [], files,
                                                      summaries))
    return root


def _interrupt_before_video_swap(monkeypatch, root: Path, exc: type[BaseException]) -> None:
    """Make the rename that swaps in ``video/`` fail, as a kill between the two swaps would."""
    real = Path.rename

    def rename(self, target):
        if Path(target) == root / "video":
            raise exc("killed between the metadata/ and video/ swaps")
        return real(self, target)

    monkeypatch.setattr(Path, "rename", rename)


@pytest.mark.slow
def test_root_interrupted_between_swaps_is_refused_then_repaired(fakehub, zips, tmp_path,
                                                                 monkeypatch):
    root, hf = tmp_path / "avatar", tmp_path / "hf"
    assert_ok(download(fakehub, hf, root))
    archives = {"metadata": write_zip(tmp_path / "metadata.zip", zips.metadata),
                "video": write_zip(tmp_path / "video.zip", zips.video)}
    with monkeypatch.context() as m:
        _interrupt_before_video_swap(m, root, KeyboardInterrupt)
        with pytest.raises(KeyboardInterrupt):
            hubmod.extract_archives(root, archives)
    assert (root / "metadata").is_dir()  # swapped in; video/ is the old one or missing

    info = run(["info", "--root", str(root)], fakehub, hf)
    assert_clean_error(info, "interrupted", f"avatar-bench download --root {root}")
    with pytest.raises(AvatarBenchError, match="interrupted"):
        AvatarDataset(root, use_cache=False)

    repair = download(fakehub, hf, root)
    assert_ok(repair)
    assert "extracted" in repair.stdout
    assert hubmod.verify_root(root) == []
    assert_ok(run(["info", "--root", str(root)], fakehub, hf))


def test_root_from_an_older_interrupted_swap_is_refused(zips, tmp_path):
    """Older versions deleted the manifest before the swaps: a staging folder gives it away."""
    root = _downloaded_root(zips, tmp_path)
    (root / MANIFEST_NAME).unlink()
    staging = root / ".avatar-bench-staging-4242-abcd"
    (staging / "old-metadata").mkdir(parents=True)
    with pytest.raises(AvatarBenchError, match="interrupted.*avatar-bench download --root"):
        AvatarDataset(root, use_cache=False)
    shutil.rmtree(staging)  # no manifest and no staging: a hand-made root, accepted
    assert len(AvatarDataset(root, use_cache=False)) == N_FRAMES


@pytest.mark.parametrize(("manifest", "needle"), [
    ("{", "unreadable"),
    ('{"revision": "abc"}', "incomplete"),
    ('{"revision": "abc", "files": {}, "extracted": {"video": {}}}', "incomplete"),
    ('{"state": "incomplete"}', "interrupted"),
])
def test_incomplete_manifest_is_refused(zips, tmp_path, manifest, needle):
    root = _downloaded_root(zips, tmp_path)
    (root / MANIFEST_NAME).write_text(manifest)
    with pytest.raises(AvatarBenchError, match=needle) as err:
        AvatarDataset(root, use_cache=False)
    assert f"avatar-bench download --root {root}" in str(err.value)


def test_manifest_folders_must_exist_and_match(zips, tmp_path):
    root = _downloaded_root(zips, tmp_path)
    assert len(AvatarDataset(root)) == N_FRAMES
    shutil.rmtree(root / "video")
    with pytest.raises(AvatarBenchError, match="lacks video/, which its manifest lists"):
        AvatarDataset(root)
    root = _downloaded_root(zips, tmp_path / "second")
    write_frame(root, VID_A, 99, [instance("Single-Sound", "dog", (1, 1, 5, 5))], jpeg=False)
    with pytest.raises(AvatarBenchError, match="does not match its avatar_manifest.json") as err:
        AvatarDataset(root)
    assert "metadata/ has 13 files, expected 12" in str(err.value)


def test_mini_style_manifest_is_complete(tmp_path):
    root = tmp_path / "r"
    write_frame(root, VID_A, 1, [instance("Single-Sound", "dog", (1, 1, 5, 5))])
    (root / MANIFEST_NAME).write_text('{"revision": "mini-v1-seed0-n60", "generator": {}}')
    assert AvatarDataset(root, use_cache=False).revision == "mini-v1-seed0-n60"


def _bomb(size: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("metadata/vid_00001/00001.json", b"{}")
        zf.writestr("metadata/vid_00001/zeros.bin", b"\0" * size)
    return buf.getvalue()


def test_zip_bomb_is_refused_before_writing(tmp_path):
    data = _bomb(16 * 1024**2)  # 16 MiB of zeros deflate to ~16 KB: ratio ~1000
    assert len(data) < 100_000
    archive = write_zip(tmp_path / "metadata.zip", data)
    with pytest.raises(AvatarBenchError, match=r"zeros.bin' expands \d+x .* limit of 100x"):
        hubmod.extract_archives(tmp_path / "avatar", {"metadata": archive})
    assert not (tmp_path / "avatar").exists()


@pytest.mark.parametrize(("limit", "value", "needle"), [
    ("MAX_MEMBER_BYTES", 1000, "per file"),
    ("MAX_TOTAL_BYTES", 1000, "in all"),
    ("MAX_MEMBERS", 1, "members"),
])
def test_declared_size_limits(tmp_path, monkeypatch, limit, value, needle):
    archive = write_zip(tmp_path / "metadata.zip", zip_members({
        "metadata/vid_00001/00001.json": b"{}", "metadata/vid_00001/00001.jpg": b"x" * 2000}))
    monkeypatch.setattr(hubmod, limit, value)
    with pytest.raises(AvatarBenchError, match=needle):
        hubmod.extract_archives(tmp_path / "avatar", {"metadata": archive})
    assert not (tmp_path / "avatar").exists()


def test_member_writing_more_than_declared_is_stopped(tmp_path):
    out = io.BytesIO()
    with pytest.raises(AvatarBenchError, match="beyond the 5 bytes it declares"):
        hubmod._copy_at_most(io.BytesIO(b"0123456789"), out, 5, tmp_path / "m.zip", "m")
    assert len(out.getvalue()) <= 5


@pytest.mark.parametrize("pair", [
    ("metadata/vid_00001/00001.json", "metadata/metadata/vid_00001/00001.json"),
    ("vid_00001/00001.json", "metadata/vid_00001/00001.json"),
    ("metadata/vid_00001/00001.json", "metadata\\vid_00001\\00001.json"),
    ("metadata/vid_00001", "metadata/vid_00001/00001.json"),
])
def test_two_members_with_one_target_are_refused(tmp_path, pair):
    archive = write_zip(tmp_path / "m.zip", zip_members({pair[0]: b"{}", pair[1]: b"[]"}))
    with pytest.raises(AvatarBenchError, match="refusing to extract") as err:
        hubmod.extract_archives(tmp_path / "avatar", {"metadata": archive})
    assert repr(pair[0]) in str(err.value) and repr(pair[1]) in str(err.value)
    assert not (tmp_path / "avatar").exists()


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


@pytest.mark.slow
def test_killed_force_leaves_no_staging_after_the_next_run(fakehub, tmp_path):
    root, hf = tmp_path / "avatar", tmp_path / "hf"
    assert_ok(download(fakehub, hf, root))
    # What killed `download --force` runs leave: their pid is gone (new and old naming), or
    # the pid was reused but the folder is older than fsio.STALE_AFTER_S.
    dead_new = root / f"{hubmod.STAGING_PREFIX}{_dead_pid()}-k1l2"
    dead_old = root / f".avatar-bench-staging-{_dead_pid()}-x9"
    reused = root / f"{hubmod.STAGING_PREFIX}{os.getpid()}-old1"
    live = root / f"{hubmod.STAGING_PREFIX}{os.getpid()}-now1"  # a concurrent run: kept
    for folder in (dead_new, dead_old, reused, live):
        (folder / "metadata" / VID_A).mkdir(parents=True)
        (folder / "metadata" / VID_A / "00010.json").write_text("{}")
    two_hours_ago = time.time() - 7200
    os.utime(reused, (two_hours_ago, two_hours_ago))

    again = download(fakehub, hf, root)
    assert_ok(again)
    assert "up to date" in again.stdout
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".")) == [live.name]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_unreachable(args: list[str], hf_home: Path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HF_", "HUGGINGFACE_")) and k != "AVATAR_ROOT"}
    env.update(HF_ENDPOINT=f"http://127.0.0.1:{_closed_port()}", HF_HOME=str(hf_home),
               HF_HUB_OFFLINE="0", HF_HUB_DISABLE_TELEMETRY="1", NO_PROXY="127.0.0.1,localhost",
               AVATAR_BENCH_QUIET="1")
    start = time.monotonic()
    proc = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=120)
    return proc, time.monotonic() - start


@pytest.mark.slow
def test_unreachable_hub_fails_fast_and_quietly(tmp_path):
    root = tmp_path / "avatar"
    proc, seconds = _run_unreachable(["download", "--root", str(root)], tmp_path / "hf")
    assert_clean_error(proc, "could not be reached", "HF_ENDPOINT", "HF_HUB_OFFLINE")
    assert seconds < 10, seconds  # before: ~25 s of retries
    assert "Retrying" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert not root.exists()


@pytest.mark.slow
def test_unreachable_hub_uses_the_cache(fakehub, tmp_path):
    hf = tmp_path / "hf"
    assert_ok(download(fakehub, hf, tmp_path / "first"))
    proc, seconds = _run_unreachable(["download", "--root", str(tmp_path / "second")], hf)
    assert_ok(proc)
    assert "Hub unreachable" in proc.stdout and seconds < 10
    assert "Retrying" not in proc.stderr
    assert hubmod.verify_root(tmp_path / "second") == []


@pytest.mark.slow
def test_no_video_after_video_was_deleted_unlists_it(fakehub, tmp_path):
    root, hf = tmp_path / "avatar", tmp_path / "hf"
    assert_ok(download(fakehub, hf, root))
    shutil.rmtree(root / "video")
    assert_clean_error(run(["info", "--root", str(root)], fakehub, hf), "lacks video/")
    fixed = download(fakehub, hf, root, "--no-video")
    assert_ok(fixed)
    assert "up to date" in fixed.stdout and "video/ no longer matches" in fixed.stdout
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    assert set(manifest["extracted"]) == {"metadata"} and set(manifest["files"]) == {
        "metadata.zip"}
    assert hubmod.verify_root(root) == []
    info = run(["info", "--root", str(root), "--json"], fakehub, hf)
    assert_ok(info)
    assert json.loads(info.stdout)["videos_with_clip"] == 0
