"""``download``: fetch the real AVATAR from the Hugging Face Hub into a dataset root."""

from __future__ import annotations

import click

from avatar_bench.data.hub import DEFAULT_REPO_ID, DEFAULT_REVISION
from avatar_bench.errors import AvatarBenchError


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _echo_folders(manifest: dict, folders: list[str]) -> None:
    extracted = manifest.get("extracted", {})
    for folder in folders:
        rec = extracted.get(folder, {})
        click.echo(f"  {folder + '/':<10}{rec.get('n_files', 0):>8} files  "
                   f"{_size(rec.get('total_bytes', 0))}")


@click.command()
@click.option("--repo-id", default=DEFAULT_REPO_ID, show_default=True,
              help="Dataset repository on the Hub (HF_ENDPOINT selects a mirror).")
@click.option("--revision", default=DEFAULT_REVISION, show_default=True,
              help="Branch, tag or commit sha; the manifest records the commit sha.")
@click.option("--root", type=click.Path(file_okay=False), default=None,
              help="Where to unpack (metadata/, video/). Default: $AVATAR_ROOT, then the "
                   "per-user cache.")
@click.option("--no-video", is_flag=True, help="Fetch only metadata.zip (annotations, frames).")
@click.option("--force", is_flag=True, help="Re-extract even when the root is up to date.")
@click.option("--verify-only", is_flag=True,
              help="Only check the root against its manifest; exit 2 when it is not intact.")
def download(repo_id: str, revision: str, root: str | None, no_video: bool, force: bool,
             verify_only: bool) -> None:
    """Download AVATAR (metadata.zip, video.zip) and unpack it safely into the root."""
    from avatar_bench.data.hub import download_avatar, verify_root
    from avatar_bench.paths import resolve_root

    if verify_only:
        problems = verify_root(root)
        if problems:
            raise AvatarBenchError(f"{resolve_root(root)} is not intact", problems)
        click.echo(f"ok: {resolve_root(root)} matches its manifest")
        return
    result = download_avatar(root, repo_id=repo_id, revision=revision, video=not no_video,
                             force=force)
    where = f"{result.repo_id}@{result.requested_revision} ({result.revision})"
    if result.up_to_date:
        click.echo(f"up to date: {result.root} holds {where}")
        _echo_folders(result.manifest, result.kept)
    else:
        click.echo(f"extracted {where} into {result.root}")
        _echo_folders(result.manifest, result.extracted)
        if result.kept:
            click.echo(f"kept intact: {', '.join(f + '/' for f in result.kept)}")
    for note in result.notes:
        click.echo(f"note: {note}")


COMMANDS = [download]
