"""Download the real AVATAR from the Hugging Face Hub and unpack it safely.

Files come from huggingface_hub's own ``hf_hub_download`` so they land in the shared HF cache
(reused by any later run, offline included) and honour ``HF_ENDPOINT``, ``HF_HOME`` and
``HF_HUB_OFFLINE``. Unpacking is transactional:

1. every member of every zip is checked (no absolute paths, drive letters, ``..`` or
   symlinks) and the free space is compared with the uncompressed size, before anything
   is written;
2. the zips are extracted into a hidden staging folder inside the root (same filesystem
   even when the root is a mount point, so the final step is a rename);
3. the old manifest is removed, each folder (``metadata/``, ``video/``) is swapped in with
   one rename, and ``avatar_manifest.json`` is written last.

The manifest is the completeness marker: a root without it was never finished.

Layout decisions for zips whose top folder is missing or doubled: ``metadata.zip`` always
ends up as ``metadata/<video_id>/<file>`` (a missing ``metadata/`` is added, repeated ones
are collapsed, because the loader reads exactly that depth). ``video.zip`` keeps its own
layout (the loader accepts ``video/`` and ``video/video/``); only a missing top folder is
added. ``__MACOSX/`` and ``.DS_Store`` entries are skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from avatar_bench.data.index import MANIFEST_NAME
from avatar_bench.errors import AvatarBenchError
from avatar_bench.paths import resolve_root
from avatar_bench.progress import enabled as progress_enabled
from avatar_bench.progress import progress

DEFAULT_REPO_ID = "mipal/AVATAR"
DEFAULT_REVISION = "main"
#: Extracted folder -> archive in the dataset repo, in extraction order.
ARCHIVES: dict[str, str] = {"metadata": "metadata.zip", "video": "video.zip"}
STAGING_PREFIX = ".avatar-bench-staging-"
MIN_SPACE_MARGIN = 64 * 1024**2
_CHUNK = 1024**2
_SHA_RE = re.compile(r"[0-9a-f]{40}")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")
_SKIP_PARTS = {"__MACOSX"}
_SKIP_NAMES = {".DS_Store", "Thumbs.db"}


@dataclass
class DownloadResult:
    """What ``download_avatar`` did, for the CLI summary."""

    root: Path
    repo_id: str
    revision: str
    requested_revision: str
    up_to_date: bool
    extracted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)


# ----------------------------------------------------------------- manifest and tree


def tree_summary(folder: Path) -> dict:
    """Count, total size and a listing hash of a folder: a stat walk, cheap on 53k files.

    The hash covers relative paths and sizes (not contents or mtimes): it catches missing,
    extra, renamed and resized files without re-reading gigabytes.
    """
    listing = hashlib.sha256()
    n_files = total = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath, name)
            size = path.stat().st_size
            rel = path.relative_to(folder).as_posix()
            listing.update(f"{rel}\t{size}\n".encode())
            n_files += 1
            total += size
    return {"n_files": n_files, "total_bytes": total, "tree_sha256": listing.hexdigest()}


def read_manifest(root: Path) -> dict | None:
    """The manifest written by a finished download, or None (missing or unreadable)."""
    try:
        data = json.loads((root / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _compare_tree(folder: Path, expected: dict, label: str) -> list[str]:
    if not folder.is_dir():
        return [f"{label}/ is missing"]
    got = tree_summary(folder)
    problems = []
    for key, what in (("n_files", "files"), ("total_bytes", "bytes")):
        if key in expected and got[key] != expected[key]:
            problems.append(f"{label}/ has {got[key]} {what}, expected {expected[key]}")
    if not problems and expected.get("tree_sha256") not in (None, got["tree_sha256"]):
        problems.append(f"{label}/ file listing differs from the manifest "
                        "(renamed or resized files)")
    return problems


def verify_root(root: str | os.PathLike | None = None) -> list[str]:
    """Problems that make a downloaded root incomplete or altered; empty when it is intact."""
    root = resolve_root(root)
    if not root.is_dir():
        return [f"{root} does not exist"]
    manifest = read_manifest(root)
    if manifest is None:
        return [f"{root / MANIFEST_NAME} is missing or unreadable: the download never finished "
                "(or this root was not made by `avatar-bench download`)"]
    extracted = manifest.get("extracted")
    if not isinstance(extracted, dict) or "metadata" not in extracted:
        return [f"{root / MANIFEST_NAME} lists no extracted metadata/"]
    problems: list[str] = []
    for folder, expected in sorted(extracted.items()):
        problems += _compare_tree(root / folder, expected, folder)
    return problems


def _write_manifest(root: Path, manifest: dict) -> None:
    tmp = root / f".{MANIFEST_NAME}.tmp{os.getpid()}"
    try:
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        tmp.replace(root / MANIFEST_NAME)
    except OSError as exc:
        raise AvatarBenchError(f"cannot write {root / MANIFEST_NAME}: {exc}; the files are "
                               "extracted but the root is not marked complete") from exc


def file_record(path: Path) -> dict:
    """Size and sha256 of a downloaded archive (what the manifest cites)."""
    size = path.stat().st_size
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        chunks = iter(lambda: fh.read(_CHUNK), b"")
        for chunk in progress(chunks, f"sha256 {path.name}", total=-(-size // _CHUNK), unit="MiB"):
            digest.update(chunk)
    return {"size": size, "sha256": digest.hexdigest()}


# ------------------------------------------------------------------- safe extraction


@dataclass
class _Member:
    info: zipfile.ZipInfo
    target: PurePosixPath  # relative to the root, starts with the folder name


def _check_member_name(name: str, archive: Path) -> tuple[str, ...]:
    """Path components of a member, or an error if it could land outside the root."""
    where = f"{archive}: member {name!r}"
    if "\x00" in name:
        raise AvatarBenchError(f"{where} contains a NUL byte; refusing to extract this archive")
    if name.startswith(("/", "\\")):
        raise AvatarBenchError(f"{where} is an absolute path; refusing to extract this archive")
    if _DRIVE_RE.match(name):
        raise AvatarBenchError(f"{where} starts with a drive letter; refusing to extract this "
                               "archive")
    parts = tuple(p for p in re.split(r"[/\\]", name) if p not in ("", "."))
    if ".." in parts:
        raise AvatarBenchError(f"{where} contains '..' (path traversal); refusing to extract "
                               "this archive")
    return parts


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    """Unix zips keep the file mode in the high bits; other systems cannot store links."""
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def _target_parts(parts: tuple[str, ...], folder: str) -> tuple[str, ...]:
    """Where a member goes under the root (see the module docstring for the rules)."""
    if folder == "metadata":
        while parts and parts[0] == folder:
            parts = parts[1:]
        return (folder, *parts) if parts else ()
    return parts if parts[0] == folder else (folder, *parts)


def plan_archive(archive: Path, folder: str) -> list[_Member]:
    """Check every member of ``archive`` and map it to its place under the root.

    Raises before anything is written, naming the first unsafe member.
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise AvatarBenchError(
            f"{archive} is not a readable zip ({exc}): the cached download is damaged; delete it "
            "(and the blob it links to in the HF cache) and run `avatar-bench download` again"
        ) from exc
    members = []
    for info in infos:
        parts = _check_member_name(info.filename, archive)
        if _is_symlink(info):
            raise AvatarBenchError(f"{archive}: member {info.filename!r} is a symbolic link; "
                                   "refusing to extract this archive")
        if info.is_dir() or not parts or _SKIP_PARTS & set(parts) or parts[-1] in _SKIP_NAMES:
            continue
        target = _target_parts(parts, folder)
        if target:
            members.append(_Member(info, PurePosixPath(*target)))
    if not members:
        raise AvatarBenchError(f"{archive} holds no files to extract: is it the right archive?")
    return members


def _free_space_base(path: Path) -> Path:
    """Nearest existing ancestor: free space is measured before anything is created."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_free_space(root: Path, needed: int) -> None:
    """Refuse to start when the filesystem of ``root`` cannot hold ``needed`` bytes + margin."""
    margin = max(MIN_SPACE_MARGIN, needed // 50)
    base = _free_space_base(root)
    free = shutil.disk_usage(base).free
    if free < needed + margin:
        gib = 1024**3
        raise AvatarBenchError(
            f"not enough free space to extract into {root}: need {(needed + margin) / gib:.2f} "
            f"GiB ({needed / gib:.2f} GiB of files + {margin / gib:.2f} GiB margin), "
            f"{free / gib:.2f} GiB free on the filesystem of {base}; free some space or "
            "choose another --root"
        )


def _extract_members(archive: Path, members: list[_Member], dest: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            for m in progress(members, f"extract {archive.name}", total=len(members),
                              unit="file"):
                out = dest.joinpath(*m.target.parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(m.info) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, _CHUNK)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise AvatarBenchError(
            f"extracting {archive} failed ({exc}); nothing was changed in the root. If the "
            "archive is damaged, delete it from the HF cache and run `avatar-bench download` "
            "again"
        ) from exc


def _remove_stale_staging(root: Path) -> None:
    """Drop staging folders left by runs that were killed (their process is gone)."""
    if not root.is_dir():
        return
    for entry in root.glob(f"{STAGING_PREFIX}*"):
        pid = entry.name[len(STAGING_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _swap_in(staging: Path, root: Path, folders: list[str]) -> None:
    """Replace each folder with its staged copy by rename; the manifest goes first."""
    (root / MANIFEST_NAME).unlink(missing_ok=True)
    for folder in folders:
        dest = root / folder
        if dest.exists() or dest.is_symlink():
            dest.rename(staging / f"old-{folder}")
        (staging / folder).rename(dest)


def extract_archives(root: Path, archives: dict[str, Path]) -> dict[str, dict]:
    """Safely unpack ``{folder: zip}`` into ``root``; return each folder's tree summary.

    All members are checked and free space is verified before the first byte is written.
    On any failure the root is left as it was (and removed again if this call created it).
    The caller writes the manifest afterwards: until then the root does not claim to be
    complete.
    """
    plans = {folder: plan_archive(path, folder) for folder, path in archives.items()}
    check_free_space(root, sum(m.info.file_size for ms in plans.values() for m in ms))
    created = not root.exists()
    try:
        root.mkdir(parents=True, exist_ok=True)
        _remove_stale_staging(root)
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=root))
    except OSError as exc:
        raise AvatarBenchError(f"cannot write into {root}: {exc}; choose another --root") from exc
    try:
        for folder, path in archives.items():
            _extract_members(path, plans[folder], staging)
        summaries = {folder: tree_summary(staging / folder) for folder in archives}
        _swap_in(staging, root, list(archives))
    except OSError as exc:
        raise AvatarBenchError(f"cannot move the extracted files into {root}: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created and root.is_dir() and not any(root.iterdir()):
            root.rmdir()
    return summaries


# ---------------------------------------------------------------------- Hub access


def _network_errors() -> tuple[type[BaseException], ...]:
    """Transport-level errors of whichever HTTP client huggingface_hub uses."""
    errors: list[type[BaseException]] = [ConnectionError, TimeoutError]
    for module, name in (("httpx2", "TransportError"), ("httpx", "TransportError"),
                         ("requests", "ConnectionError"), ("requests", "Timeout")):
        try:
            errors.append(getattr(__import__(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(errors)


def _endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def _hub_error(exc: Exception, repo_id: str, revision: str,
               filename: str | None) -> AvatarBenchError:
    """Translate huggingface_hub's errors into one actionable message."""
    from huggingface_hub.errors import (
        HfHubHTTPError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"dataset {repo_id} on {_endpoint()}"
    if isinstance(exc, RevisionNotFoundError):
        msg = (f"revision {revision!r} does not exist in {where}: check --revision "
               "(a branch, tag or commit sha)")
    elif isinstance(exc, RemoteEntryNotFoundError):
        msg = f"{filename} is not in {where} at revision {revision!r}: check --repo-id/--revision"
    elif isinstance(exc, RepositoryNotFoundError):
        msg = (f"{where} was not found, or it is private/gated: check --repo-id and HF_ENDPOINT, "
               "or log in with `hf auth login`")
    elif isinstance(exc, HfHubHTTPError):
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        msg = f"the Hub answered an error for {where} ({first}); try again later or set HF_ENDPOINT"
    else:
        msg = f"downloading {filename} from {where} failed: {exc}"
    return AvatarBenchError(msg)


def resolve_revision(repo_id: str, revision: str) -> str | None:
    """The commit sha ``revision`` points to, or None when the Hub cannot be asked.

    None means offline (``HF_HUB_OFFLINE=1``) or unreachable: the caller then relies on the
    HF cache, which remembers which commit a branch pointed to at the last download.
    """
    if _SHA_RE.fullmatch(revision):
        return revision
    from huggingface_hub import HfApi
    from huggingface_hub.errors import (
        HfHubHTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        return HfApi().dataset_info(repo_id, revision=revision).sha
    except (RevisionNotFoundError, RepositoryNotFoundError) as exc:
        raise _hub_error(exc, repo_id, revision, None) from None
    except HfHubHTTPError:
        return None  # Hub trouble (5xx): fall back on the cache, like hf_hub_download does
    except _network_errors():
        return None


def _offline_error(repo_id: str, revision: str, filename: str) -> AvatarBenchError:
    from huggingface_hub import constants

    if constants.is_offline_mode():
        why = "HF_HUB_OFFLINE=1 forbids downloading"
        fix = "unset HF_HUB_OFFLINE (or set it to 0) and run again"
    else:
        why = f"the Hub at {constants.ENDPOINT} could not be reached"
        fix = "check the network or set HF_ENDPOINT to a reachable mirror, and run again"
    return AvatarBenchError(
        f"{filename} of {repo_id}@{revision} is not in the Hugging Face cache "
        f"({constants.HF_HUB_CACHE}) and {why}: {fix}, or point HF_HOME/HF_HUB_CACHE at a cache "
        "that holds it"
    )


def fetch_archive(repo_id: str, filename: str, revision: str) -> Path:
    """Path of ``filename`` in the HF cache, downloading it when it is not there yet."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(hf_hub_download(repo_id, filename, repo_type="dataset", revision=revision))
    except LocalEntryNotFoundError:
        raise _offline_error(repo_id, revision, filename) from None
    except HfHubHTTPError as exc:
        raise _hub_error(exc, repo_id, revision, filename) from None
    except (OSError, ValueError, *_network_errors()) as exc:
        raise _hub_error(exc, repo_id, revision, filename) from None


def _commit_of(cached: Path) -> str | None:
    """The commit sha from a cache path ``.../snapshots/<sha>/<filename>``."""
    name = cached.parent.name
    return name if _SHA_RE.fullmatch(name) else None


def cached_commit(repo_id: str, revision: str) -> str | None:
    """The commit the HF cache last saw ``revision`` at (no network), or None."""
    from huggingface_hub import try_to_load_from_cache

    for filename in ARCHIVES.values():
        hit = try_to_load_from_cache(repo_id, filename, revision=revision, repo_type="dataset")
        if isinstance(hit, str) and _commit_of(Path(hit)):
            return _commit_of(Path(hit))
    return None


# ----------------------------------------------------------------------- download


def _same_revision(old: dict | None, repo_id: str, sha: str | None, requested: str) -> bool:
    if not old or old.get("repo_id") != repo_id:
        return False
    if sha is not None:
        return old.get("revision") == sha
    return requested in (old.get("revision"), old.get("requested_revision"))


def _intact_folders(root: Path, old: dict | None, folders: list[str]) -> list[str]:
    extracted = (old or {}).get("extracted") or {}
    return [f for f in folders
            if f in extracted and not _compare_tree(root / f, extracted[f], f)]


def _quiet_hub_bars() -> None:
    if not progress_enabled():
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()


def _fetch_all(repo_id: str, revision: str, folders: list[str],
               sha: str | None) -> tuple[dict[str, Path], str]:
    """Download the folders' archives at one commit; return them and that commit.

    The requested name (not the sha) is passed on, so the HF cache records where the branch
    pointed and a later offline run can find it; the files' commit must match ``sha``.
    """
    archives: dict[str, Path] = {}
    for folder in folders:
        path = fetch_archive(repo_id, ARCHIVES[folder], revision)
        commit = _commit_of(path)
        if sha is not None and commit is not None and commit != sha:
            raise AvatarBenchError(
                f"{repo_id} {revision!r} moved from {sha[:12]} to {commit[:12]} during the "
                "download: run `avatar-bench download` again"
            )
        sha = sha or commit
        archives[folder] = path
    if sha is None:
        raise AvatarBenchError(f"cannot tell which commit {repo_id} {revision!r} is: pass a "
                               "full commit sha as --revision")
    return archives, sha


def download_avatar(root: str | os.PathLike | None = None, *, repo_id: str = DEFAULT_REPO_ID,
                    revision: str = DEFAULT_REVISION, video: bool = True,
                    force: bool = False) -> DownloadResult:
    """Fetch and unpack AVATAR into ``root`` (``--root``, ``AVATAR_ROOT``, or the cache).

    A root that already holds this commit with an intact tree is left alone (no download);
    missing or altered folders are re-extracted from the HF cache; ``force`` re-extracts all.
    """
    root = resolve_root(root).absolute()
    _quiet_hub_bars()
    folders = ["metadata", "video"] if video else ["metadata"]
    old = read_manifest(root)
    sha = resolve_revision(repo_id, revision)
    notes = []
    if sha is None:
        notes.append("offline or Hub unreachable: used the local Hugging Face cache")
        sha = cached_commit(repo_id, revision)
    same = _same_revision(old, repo_id, sha, revision)
    kept = _intact_folders(root, old, folders) if same and not force else []
    todo = [f for f in folders if f not in kept]
    if not todo:
        return DownloadResult(root, repo_id, old["revision"], revision, True, [], kept, notes,
                              old)
    archives, sha = _fetch_all(repo_id, revision, todo, sha)
    carried = [] if not same else _intact_folders(
        root, old, [f for f in ARCHIVES if f not in folders])
    files = {ARCHIVES[f]: file_record(p) for f, p in archives.items()}
    summaries = extract_archives(root, archives)
    manifest = _new_manifest(old, repo_id, sha, revision, kept + carried, files, summaries)
    _write_manifest(root, manifest)
    notes += [f"{f}/ is not from commit {sha[:12]} and is not listed in the manifest; run "
              "without --no-video to update it" for f in ARCHIVES
              if f not in manifest["extracted"] and (root / f).exists()]
    return DownloadResult(root, repo_id, sha, revision, False, list(archives), kept, notes,
                          manifest)


def _new_manifest(old: dict | None, repo_id: str, sha: str, requested: str, carried: list[str],
                  files: dict, summaries: dict) -> dict:
    """Fresh entries plus the still-intact ones of the same commit."""
    from avatar_bench import __version__

    old_files = (old or {}).get("files") or {}
    old_extracted = (old or {}).get("extracted") or {}
    extracted = {f: old_extracted[f] for f in carried}
    all_files = {ARCHIVES[f]: old_files[ARCHIVES[f]] for f in carried if ARCHIVES[f] in old_files}
    extracted.update(summaries)
    all_files.update(files)
    return {
        "repo_id": repo_id,
        "revision": sha,
        "requested_revision": requested,
        "files": dict(sorted(all_files.items())),
        "extracted": dict(sorted(extracted.items())),
        "avatar_bench_version": __version__,
    }
