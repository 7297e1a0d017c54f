"""Ranking with tie groups, one ranking per (dataset, protocol).

Rule (also in docs/leaderboard.md):

1. The ranking metric of a section is Total CIoU when every row of the section has it, otherwise
   Single-sound CIoU (the paper's Table 2 reports no Total for most rows). ``rank_by`` overrides.
2. Rows are sorted by that metric, best first; rows without it are listed last, unranked.
3. The first row leads group 1. Each next row joins the current group when its 95% interval
   overlaps the interval of the group's *leader*; otherwise it leads a new group whose rank is
   its position (1-based, "competition" ranking: 1, 1, 3).
4. When the row or the leader has no interval (reported rows), they tie only on equal values
   (at the two decimals shown).
"""

from __future__ import annotations

from dataclasses import dataclass

from avatar_bench.leaderboard.submissions import Submission

#: Rows a section can be ranked by (their CIoU).
RANKABLE: tuple[str, ...] = ("total", "single_sound", "mixed_sound", "multi_entity", "cross_event")


@dataclass(frozen=True)
class Ranked:
    """A submission with its place in its section's ranking."""

    sub: Submission
    rank: int | None
    tied: bool


def ranking_row(subs: list[Submission], rank_by: str = "auto") -> str:
    """The metrics row whose CIoU ranks this section (rule 1)."""
    if rank_by != "auto":
        return rank_by
    if subs and all(s.metric("total", "ciou") is not None for s in subs):
        return "total"
    return "single_sound"


def _same_group(leader: Submission, row: Submission, key: str) -> bool:
    a, b = leader.interval(key, "ciou"), row.interval(key, "ciou")
    if a is not None and b is not None:
        return a[0] <= b[1] and b[0] <= a[1]
    va, vb = leader.metric(key, "ciou"), row.metric(key, "ciou")
    return va is not None and vb is not None and round(va, 2) == round(vb, 2)


def rank(subs: list[Submission], key: str) -> list[Ranked]:
    """Sort by ``metrics.<key>.ciou`` (best first) and assign ranks with tie groups."""
    def order(s: Submission):
        v = s.metric(key, "ciou")
        return (v is None, -(v or 0.0), s.name.lower(), s.slug)

    ordered = sorted(subs, key=order)
    ranks: list[int | None] = []
    leader: Submission | None = None
    leader_rank = 0
    for i, sub in enumerate(ordered):
        if sub.metric(key, "ciou") is None:
            ranks.append(None)
            continue
        if leader is None or not _same_group(leader, sub, key):
            leader, leader_rank = sub, i + 1
        ranks.append(leader_rank)
    counts = {r: ranks.count(r) for r in ranks if r is not None}
    pairs = zip(ordered, ranks, strict=True)
    return [Ranked(s, r, r is not None and counts[r] > 1) for s, r in pairs]
