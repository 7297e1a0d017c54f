"""Download the real AVATAR from the Hugging Face Hub and unpack it safely.

Files come from huggingface_hub's own ``hf_hub_download`` so they land in the shared HF cache
(reused by any later run, offline included) and honour ``HF_ENDPOINT``, ``HF_HOME`` and
``HF_HUB_OFFLINE``. Unpacking is transactional:

1. every member of every zip is checked (no absolute paths, drive letters, ``..`` or
   symlinks, no two members with one target, declared sizes and compression ratios within
   the ``MAX_*`` limits) and the free space is compared with the uncompressed size, before
   anything is written;
2. the zips are extracted into a hidden staging folder inside the root (same filesystem
   even when the root is a mount point, so the final step is a rename); no member may
   produce more bytes than it declared;
3. the old manifest is replaced by one marked ``"state": "incomplete"``, each folder
   (``metadata/``, ``video/``) is swapped in with one rename, and the complete
   ``avatar_manifest.json`` is written last.

The manifest is the completeness marker: the dataset index refuses a root whose manifest is
incomplete or unreadable, or that has a staging folder and no manifest (``check_usable_root``).

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
from avatar_bench.fsio import TMP_MARK, atomic_write_text, pid_alive, sweep_stale
from avatar_bench.paths import resolve_root
from avatar_bench.progress import enabled as progress_enabled
from avatar_bench.progress import progress

DEFAULT_REPO_ID = "mipal/AVATAR"
DEFAULT_REVISION = "main"
#: Extracted folder -> archive in the dataset repo, in extraction order.
ARCHIVES: dict[str, str] = {"metadata": "metadata.zip", "video": "video.zip"}
#: Staging folders are ``.avatar-bench-staging.tmp-<pid>-<random>``: fsio.sweep_stale's
#: naming, so an old one is removed by age even if its pid was reused.
STAGING_PREFIX = f".avatar-bench-staging{TMP_MARK}"
#: Staging folders of versions before 0.2 (``.avatar-bench-staging-<pid>-*``).
_OLD_STAGING_PREFIX = ".avatar-bench-staging-"
MIN_SPACE_MARGIN = 64 * 1024**2
#: Zip-bomb limits, checked on the declared sizes before anything is written. The real
#: archives hold ~53,000 files, ~6 GB, the largest a few tens of MB, compressed 1-10x.
MAX_MEMBERS = 1_000_000
MAX_MEMBER_BYTES = 4 * 1024**3
MAX_TOTAL_BYTES = 64 * 1024**3
MAX_RATIO = 100
#: The ratio limit applies to members declaring more than this (tiny files compress oddly).
RATIO_MIN_BYTES = 1024**2
INCOMPLETE_STATE = "incomplete"
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
    if manifest.get("state") == INCOMPLETE_STATE:
        return [f"{root / MANIFEST_NAME} says the download was interrupted while its folders "
                "were being swapped in"]
    extracted = manifest.get("extracted")
    if not isinstance(extracted, dict) or "metadata" not in extracted:
        return [f"{root / MANIFEST_NAME} lists no extracted metadata/"]
    problems: list[str] = []
    for folder, expected in sorted(extracted.items()):
        problems += _compare_tree(root / folder, expected, folder)
    return problems


def _write_manifest(root: Path, manifest: dict) -> None:
    try:
        atomic_write_text(root / MANIFEST_NAME,
                          json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    except AvatarBenchError as exc:
        raise AvatarBenchError(f"{exc}; the files are extracted but the root is not marked "
                               "complete: run `avatar-bench download` again") from exc


def _repair_hint(root: Path) -> str:
    return f"run `avatar-bench download --root {root}` to repair it"


def _check_complete_manifest(root: Path, manifest: dict | None) -> None:
    """Raise unless ``manifest`` is one that a finished download or AVATAR-mini build wrote."""
    where = root / MANIFEST_NAME
    if manifest is None:
        raise AvatarBenchError(f"{where} is unreadable (not a JSON object): the root's download "
                               f"state is unknown; {_repair_hint(root)}")
    if manifest.get("state") == INCOMPLETE_STATE:
        raise AvatarBenchError(f"{root} is incomplete: a download was interrupted while it "
                               f"swapped in new folders ({where} says so); {_repair_hint(root)}")
    if "generator" in manifest and isinstance(manifest.get("revision"), str):
        return  # AVATAR-mini: written last by its generator, after every file
    extracted = manifest.get("extracted")
    complete = (isinstance(manifest.get("revision"), str) and isinstance(extracted, dict)
                and isinstance(extracted.get("metadata"), dict)
                and isinstance(manifest.get("files"), dict))
    if not complete:
        raise AvatarBenchError(f"{where} is incomplete (it needs 'revision', 'files' and "
                               f"'extracted' with 'metadata'); {_repair_hint(root)}")
    missing = [f"{f}/" for f in extracted if not (root / f).is_dir()]
    if missing:
        raise AvatarBenchError(f"{root} lacks {', '.join(missing)}, which its manifest lists; "
                               f"{_repair_hint(root)}")


def check_usable_root(root: Path) -> None:
    """Refuse a dataset root that a download left unfinished, with a pointer to the repair.

    Cheap (no tree walk): a root with a manifest needs a complete one whose folders exist;
    a root without one is refused only when a download's staging folder is in it (an
    interrupted first download or an old version's interrupted swap). Hand-made roots,
    which have neither, are accepted.
    """
    root = Path(root)
    if (root / MANIFEST_NAME).exists():
        _check_complete_manifest(root, read_manifest(root))
        return
    staging = sorted(p.name for p in _staging_folders(root))
    if staging:
        raise AvatarBenchError(
            f"{root} has no {MANIFEST_NAME} but holds {staging[0]}: a download into it was "
            f"interrupted and the folders may mix two versions; {_repair_hint(root)}"
        )


def check_root_tree(root: Path) -> None:
    """Raise when a downloaded root's folders no longer match its manifest (a stat walk)."""
    manifest = read_manifest(Path(root))
    if not manifest or "extracted" not in manifest:
        return
    problems = verify_root(root)
    if problems:
        raise AvatarBenchError(f"{root} does not match its {MANIFEST_NAME}: "
                               f"{_repair_hint(root)} (`--verify-only` lists the differences)",
                               problems)


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
    if len(infos) > MAX_MEMBERS:
        raise AvatarBenchError(f"{archive} declares {len(infos)} members, more than the limit "
                               f"of {MAX_MEMBERS}; refusing to extract this archive")
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
            _check_member_size(info, archive)
            members.append(_Member(info, PurePosixPath(*target)))
    if not members:
        raise AvatarBenchError(f"{archive} holds no files to extract: is it the right archive?")
    _check_total_size(members, archive)
    _check_unique_targets(members, archive)
    return members


def _check_member_size(info: zipfile.ZipInfo, archive: Path) -> None:
    """Zip-bomb guard on one member's declared sizes (see the ``MAX_*`` limits)."""
    where = f"{archive}: member {info.filename!r}"
    if info.file_size > MAX_MEMBER_BYTES:
        raise AvatarBenchError(f"{where} declares {info.file_size} bytes, more than the limit of "
                               f"{MAX_MEMBER_BYTES} per file; refusing to extract this archive")
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > RATIO_MIN_BYTES and ratio > MAX_RATIO:
        raise AvatarBenchError(f"{where} expands {ratio:.0f}x ({info.compress_size} -> "
                               f"{info.file_size} bytes), more than the limit of {MAX_RATIO}x "
                               "(a zip bomb?); refusing to extract this archive")


def _check_total_size(members: list[_Member], archive: Path) -> None:
    total = sum(m.info.file_size for m in members)
    packed = sum(m.info.compress_size for m in members)
    if total > MAX_TOTAL_BYTES:
        raise AvatarBenchError(f"{archive} declares {total} bytes in all, more than the limit "
                               f"of {MAX_TOTAL_BYTES}; refusing to extract this archive")
    if total > RATIO_MIN_BYTES and total / max(packed, 1) > MAX_RATIO:
        raise AvatarBenchError(f"{archive} expands {total / max(packed, 1):.0f}x in all "
                               f"({packed} -> {total} bytes), more than the limit of "
                               f"{MAX_RATIO}x (a zip bomb?); refusing to extract this archive")


def _check_unique_targets(members: list[_Member], archive: Path) -> None:
    """Two members must never write one file (nor a file where a folder must go)."""
    seen: dict[PurePosixPath, str] = {}
    for m in members:
        if m.target in seen:
            raise AvatarBenchError(
                f"{archive}: members {seen[m.target]!r} and {m.info.filename!r} both extract to "
                f"{m.target.as_posix()}; refusing to extract this archive")
        seen[m.target] = m.info.filename
    for m in members:
        for parent in m.target.parents:
            if parent in seen:
                raise AvatarBenchError(
                    f"{archive}: member {seen[parent]!r} is a file where {m.info.filename!r} "
                    f"needs the folder {parent.as_posix()}; refusing to extract this archive")


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
                with zf.open(m.info) as src, open(out, "xb") as dst:
                    _copy_at_most(src, dst, m.info.file_size, archive, m.info.filename)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise AvatarBenchError(
            f"extracting {archive} failed ({exc}); nothing was changed in the root. If the "
            "archive is damaged, delete it from the HF cache and run `avatar-bench download` "
            "again"
        ) from exc


def _copy_at_most(src, dst, declared: int, archive: Path, name: str) -> None:
    """Copy a member, refusing to write more than it declared (a lying header)."""
    written = 0
    while chunk := src.read(_CHUNK):
        written += len(chunk)
        if written > declared:
            raise AvatarBenchError(f"{archive}: member {name!r} expands beyond the {declared} "
                                   "bytes it declares; refusing to extract this archive")
        dst.write(chunk)


def _staging_folders(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return [p for p in root.iterdir()
            if p.name.startswith((STAGING_PREFIX, _OLD_STAGING_PREFIX)) and p.is_dir()]


def remove_stale_staging(root: Path) -> list[Path]:
    """Drop staging folders left by killed runs: their process is gone, or (pid reused, or
    another machine) they are older than ``fsio.STALE_AFTER_S``."""
    removed = []
    for entry in _staging_folders(root):
        rest = entry.name.removeprefix(STAGING_PREFIX).removeprefix(_OLD_STAGING_PREFIX)
        pid = rest.split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed + (sweep_stale(root) if root.is_dir() else [])


def _mark_incomplete(root: Path) -> None:
    """Replace the manifest by an 'incomplete' one: a crash mid-swap leaves a root that the
    index refuses (pointing to ``download``), not one that looks complete or hand-made."""
    atomic_write_text(root / MANIFEST_NAME, json.dumps({
        "state": INCOMPLETE_STATE,
        "note": "avatar-bench download was swapping folders in; run it again to finish",
    }, indent=2) + "\n")


def _swap_in(staging: Path, root: Path, folders: list[str]) -> None:
    """Replace each folder with its staged copy by rename; the manifest is marked first."""
    _mark_incomplete(root)
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
        remove_stale_staging(root)
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


def _ask_hub(repo_id: str, revision: str) -> tuple[str | None, str | None]:
    """(commit sha, None), or (None, why the Hub could not be asked).

    One API request, no retries: when it fails on the transport the Hub is unreachable, and
    the caller goes to the HF cache without huggingface_hub's ~25 s of download retries.
    A commit sha is asked about too: that checks it exists, and finds a dead network early.
    """
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import (
        HfHubHTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if constants.is_offline_mode():
        why = "HF_HUB_OFFLINE=1 forbids downloading"
        return (revision, why) if _SHA_RE.fullmatch(revision) else (None, why)
    try:
        # An explicit timeout: huggingface_hub's default for API calls is none at all, so a
        # network that drops packets would hang; HF_HUB_ETAG_TIMEOUT (default 10 s) tunes it.
        info = HfApi().dataset_info(repo_id, revision=revision,
                                    timeout=constants.HF_HUB_ETAG_TIMEOUT)
        return info.sha, None
    except (RevisionNotFoundError, RepositoryNotFoundError) as exc:
        raise _hub_error(exc, repo_id, revision, None) from None
    except HfHubHTTPError as exc:  # Hub trouble (5xx): fall back on the cache
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, f"the Hub at {constants.ENDPOINT} answered an error ({first})"
    except _network_errors() as exc:
        return None, f"the Hub at {constants.ENDPOINT} could not be reached ({_short(exc)})"


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def resolve_revision(repo_id: str, revision: str) -> str | None:
    """The commit sha ``revision`` points to, or None when the Hub cannot be asked.

    None means offline (``HF_HUB_OFFLINE=1``) or unreachable: the caller then relies on the
    HF cache, which remembers which commit a branch pointed to at the last download.
    """
    return _ask_hub(repo_id, revision)[0]


def _offline_error(repo_id: str, revision: str, filename: str,
                   why: str | None = None) -> AvatarBenchError:
    from huggingface_hub import constants

    if constants.is_offline_mode():
        why = "HF_HUB_OFFLINE=1 forbids downloading"
        fix = "unset HF_HUB_OFFLINE (or set it to 0) and run again"
    else:
        why = why or f"the Hub at {constants.ENDPOINT} could not be reached"
        fix = ("check the network, or set HF_ENDPOINT to a reachable mirror, and run again; "
               "set HF_HUB_OFFLINE=1 to work from the local cache only")
    return AvatarBenchError(
        f"{filename} of {repo_id}@{revision} is not in the Hugging Face cache "
        f"({constants.HF_HUB_CACHE}) and {why}: {fix}, or point HF_HOME/HF_HUB_CACHE at a cache "
        "that holds it"
    )


def fetch_archive(repo_id: str, filename: str, revision: str, *, local_only: bool = False,
                  why: str | None = None) -> Path:
    """Path of ``filename`` in the HF cache, downloading it when it is not there yet.

    ``local_only`` (the Hub is unreachable, ``why``): the cache or a clear error, at once.
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(hf_hub_download(repo_id, filename, repo_type="dataset", revision=revision,
                                    local_files_only=local_only))
    except LocalEntryNotFoundError:
        raise _offline_error(repo_id, revision, filename, why) from None
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


def _fetch_all(repo_id: str, revision: str, folders: list[str], sha: str | None,
               unreachable: str | None = None) -> tuple[dict[str, Path], str]:
    """Download the folders' archives at one commit; return them and that commit.

    The requested name (not the sha) is passed on, so the HF cache records where the branch
    pointed and a later offline run can find it; the files' commit must match ``sha``.
    ``unreachable`` (why the Hub could not be asked) means: the HF cache only.
    """
    archives: dict[str, Path] = {}
    for folder in folders:
        path = fetch_archive(repo_id, ARCHIVES[folder], revision,
                             local_only=unreachable is not None, why=unreachable)
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
    remove_stale_staging(root)  # even when up to date: a killed --force must not linger
    folders = ["metadata", "video"] if video else ["metadata"]
    old = read_manifest(root)
    sha, unreachable = _ask_hub(repo_id, revision)
    notes = []
    if unreachable:
        notes.append(f"offline or Hub unreachable ({unreachable}): used the local Hugging Face "
                     "cache")
    if sha is None:
        sha = cached_commit(repo_id, revision)
    same = _same_revision(old, repo_id, sha, revision)
    kept = _intact_folders(root, old, folders) if same and not force else []
    todo = [f for f in folders if f not in kept]
    if not todo:
        old = _drop_broken_extras(root, old, folders, revision, notes)
        return DownloadResult(root, repo_id, old["revision"], revision, True, [], kept, notes,
                              old)
    archives, sha = _fetch_all(repo_id, revision, todo, sha, unreachable)
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


def _drop_broken_extras(root: Path, old: dict, folders: list[str], requested: str,
                        notes: list[str]) -> dict:
    """Unlist folders that were not requested and no longer match (``--no-video`` after
    ``video/`` was deleted): otherwise the index would refuse a root that ``download`` calls
    up to date."""
    others = [f for f in old.get("extracted") or {} if f not in folders]
    carried = _intact_folders(root, old, others)
    if carried == others:
        return old
    manifest = _new_manifest(old, old["repo_id"], old["revision"], requested,
                             folders + carried, {}, {})
    _write_manifest(root, manifest)
    notes += [f"{f}/ no longer matches the manifest and was dropped from it; run without "
              f"--no-video to restore it" for f in others if f not in carried]
    return manifest


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
