"""Ranking with tie groups, one ranking per (dataset, protocol, annotation checksum).

Rule (also in docs/leaderboard.md):

1. The ranking metric of a section is Total CIoU when every row of the section has it, otherwise
   Single-sound CIoU (the paper's Table 2 reports no Total for most rows). ``rank_by`` overrides.
2. Rows are sorted by that metric, best first; rows without it are listed last, unranked.
3. Rows with a 95% interval (computed rows) form tie groups on their own: the best leads group
   1; each next one joins the current group when its interval overlaps the interval of the
   group's *leader*, otherwise it leads a new group.
4. Rows without an interval (reported rows) never split a group: one whose value falls inside
   a group's span is listed right after that group. It ties only with a neighbour whose value
   is equal at the two decimals shown.
5. A group's rank is the 1-based position of its first row ("competition" ranking: 1, 1, 3).
"""

from __future__ import annotations

from dataclasses import dataclass

from avatar_bench.leaderboard.submissions import Submission

#: Rows a section can be ranked by (their CIoU).
RANKABLE: tuple[str, ...] = ("total", "single_sound", "mixed_sound", "multi_entity", "cross_event")


@dataclass(frozen=True)
class Ranked:
    """A submission with its place in its section's ranking; ``group`` counts tie groups."""

    sub: Submission
    rank: int | None
    tied: bool
    group: int | None = None


def ranking_row(subs: list[Submission], rank_by: str = "auto") -> str:
    """The metrics row whose CIoU ranks this section (rule 1)."""
    if rank_by != "auto":
        return rank_by
    if subs and all(s.metric("total", "ciou") is not None for s in subs):
        return "total"
    return "single_sound"


def _blocks(subs: list[Submission], key: str) -> list[list[Submission]]:
    """Computed tie groups and single reported rows, best first (rules 2-4)."""
    def value(s: Submission) -> float:
        return s.metric(key, "ciou")  # type: ignore[return-value]

    order = sorted(subs, key=lambda s: (-value(s), s.name.lower(), s.slug))
    groups: list[list[Submission]] = []
    for sub in (s for s in order if s.interval(key, "ciou") is not None):
        lead = groups[-1][0].interval(key, "ciou") if groups else None
        ci = sub.interval(key, "ciou")
        if lead is not None and lead[0] <= ci[1] and ci[0] <= lead[1]:
            groups[-1].append(sub)
        else:
            groups.append([sub])
    blocks = groups + [[s] for s in order if s.interval(key, "ciou") is None]
    # A block sorts by its leader's value; a reported row after any group whose leader is
    # at least as good, so it lands after (never inside) a group it falls within.
    # Equal shown values (two decimals): the computed group first, so a paper row can join it.
    return sorted(blocks, key=lambda b: (-round(value(b[0]), 2),
                                         b[0].interval(key, "ciou") is None, -value(b[0]),
                                         b[0].name.lower(), b[0].slug))


def rank(subs: list[Submission], key: str) -> list[Ranked]:
    """Sort by ``metrics.<key>.ciou`` (best first) and assign ranks with tie groups."""
    have = [s for s in subs if s.metric(key, "ciou") is not None]
    missing = sorted((s for s in subs if s.metric(key, "ciou") is None),
                     key=lambda s: (s.name.lower(), s.slug))
    out: list[tuple[Submission, int, int]] = []   # (sub, rank, group)
    group, lead_value = -1, None
    for block in _blocks(have, key):
        value = round(block[0].metric(key, "ciou"), 2)
        paper = block[0].interval(key, "ciou") is None
        if not (paper and out and value == lead_value):   # rule 4: equal shown values
            group, lead_value = group + 1, value
            block_rank = len(out) + 1
        out += [(sub, block_rank, group) for sub in block]
    counts: dict[int, int] = {}
    for _, _, g in out:
        counts[g] = counts.get(g, 0) + 1
    ranked = [Ranked(s, r, counts[g] > 1, g) for s, r, g in out]
    return ranked + [Ranked(s, None, False, None) for s in missing]
