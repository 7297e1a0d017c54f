"""Dataset revisions a reproduced leaderboard row may cite.

A reproduced row is only comparable with others when it was scored on the same ground truth,
so ``results.json`` must name a revision listed here and, where the checksum is pinned, the
exact annotation sha256 of that revision. Adding a release is one line in ``KNOWN_REVISIONS``.

The real AVATAR is fetched by ``avatar-bench download`` (``avatar_bench.data.hub``), which
records the Hub commit sha of the dataset repository as the revision. No annotation checksum of
a real release is pinned yet, so an AVATAR row must cite a full 40-hex commit sha and a
plausible sha256; pin the pair here once a release has been scored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class KnownRevision:
    """One dataset release: its name, the revision string results record, its GT checksum."""

    dataset: str
    revision: str
    annotation_sha256: str | None
    label: str


#: Pinned releases. One line per release (AVATAR-mini versions, scored AVATAR commits).
KNOWN_REVISIONS: tuple[KnownRevision, ...] = (
    KnownRevision("AVATAR-mini", "mini-v1-seed0-n60",
                  "8cc62df6f7a15034b03be87ca6fb0549a0b42e69f7e07fe1769d7e238ee6d794",
                  "AVATAR-mini v1"),
    KnownRevision("AVATAR-mini", "mini-v2-seed0-n60",
                  "c559a412ca7814fb4bbcad2cb4e87b79f51a8f0ee0827cba612c0da3131671f7",
                  "AVATAR-mini v2"),
)

#: What ``avatar-bench download`` writes as the revision of the real AVATAR: a Hub commit sha.
AVATAR_COMMIT = re.compile(r"[0-9a-f]{40}")


def _degenerate(sha: str) -> bool:
    """An all-zero (or any one-digit) digest is a placeholder, never a real checksum."""
    return len(set(sha)) <= 1


def revision_problem(dataset: str, revision: object, annotation_sha256: object) -> str | None:
    """None when (dataset, revision, checksum) is a release this avatar-bench knows."""
    pinned = [k for k in KNOWN_REVISIONS if k.dataset == dataset]
    for known in pinned:
        if revision == known.revision:
            if known.annotation_sha256 in (None, annotation_sha256):
                return None
            return (f"revision {revision!r} ({known.label}) has annotation_sha256 "
                    f"{known.annotation_sha256}, got {annotation_sha256!r}")
    if not isinstance(annotation_sha256, str) or _degenerate(annotation_sha256):
        return f"a real annotation_sha256 of the scored ground truth, got {annotation_sha256!r}"
    if dataset == "AVATAR" and isinstance(revision, str) and AVATAR_COMMIT.fullmatch(revision):
        return None
    names = [k.revision for k in pinned]
    if dataset == "AVATAR":
        names.append("a 40-hex Hub commit sha (what `avatar-bench download` records)")
    return f"a known {dataset} revision ({', '.join(names) or 'none known'}), got {revision!r}"


def checksum_label(dataset: str, annotation_sha256: str | None) -> str:
    """A short human name for the ground truth a section is ranked on."""
    for known in KNOWN_REVISIONS:
        if known.dataset == dataset and known.annotation_sha256 == annotation_sha256:
            return known.label
    if annotation_sha256 is None:
        return f"{dataset}, annotations not recorded"
    return f"{dataset}, annotations {annotation_sha256[:12]}"
