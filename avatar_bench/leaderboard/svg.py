"""Inline SVG charts for the leaderboard page, drawn in Python so the page needs no JS library.

Every label from a submission goes through ``html.escape``: SVG text is parsed as markup.
"""

from __future__ import annotations

import math
from html import escape

from avatar_bench.data.annotations import SCENARIO_LABELS
from avatar_bench.leaderboard.submissions import Submission

#: Colour-blind-safe palette (Okabe-Ito, then Tableau) cycled over models.
PALETTE: tuple[str, ...] = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
    "#4E79A7", "#F28E2B", "#59A14F", "#B07AA1",
)
BAR_ROWS: tuple[str, ...] = ("single_sound", "mixed_sound", "multi_entity", "total", "cross_event")
FONT = "font-family=\"system-ui, sans-serif\""


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _fmt(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".") if abs(v - round(v)) < 1e-9 else f"{v:.1f}"


def _ticks(values: list[float]) -> list[float]:
    """Round tick values from 0 to just above the largest value (at most 8 ticks)."""
    top = max([v for v in values if v is not None] + [1.0]) * 1.05
    step = next(s for s in (1, 2, 2.5, 5, 10, 20, 25, 50) if top / s <= 7)
    return [step * k for k in range(int(math.ceil(top / step)) + 1)]


def _short(name: str, limit: int = 28, tail: int = 12) -> str:
    """Labels are clipped in the middle (the full name stays in the tooltip and the table):
    variants of one model differ at the end, e.g. "... (200 steps)" vs "... (1600 steps)"."""
    if len(name) <= limit:
        return name
    return name[: limit - tail - 1].rstrip() + "\u2026" + name[-tail:].lstrip()


def _tip(sub: Submission, row: str, field: str = "ciou") -> str:
    v = sub.metric(row, field)
    ci = sub.interval(row, field)
    text = f"{sub.name}: {SCENARIO_LABELS[row]} CIoU " + ("n/a" if v is None else f"{v:.2f}")
    if ci:
        text += f" (95% interval {ci[0]:.2f} to {ci[1]:.2f})"
    return escape(text)


def _legend(subs: list[Submission], x: float, y: float) -> list[str]:
    out = []
    for i, sub in enumerate(subs):
        yy = y + 18 * i
        out.append(f'<rect x="{x}" y="{yy - 10}" width="12" height="12" fill="{colour(i)}"/>')
        out.append(f'<text x="{x + 18}" y="{yy}" font-size="12" {FONT}>'
                   f'{escape(_short(sub.name))}<title>{escape(sub.name)}</title></text>')
    return out


def scenario_bars(subs: list[Submission], title: str) -> str:
    """Grouped bars: one group per scenario (CIoU), one bar per model, 95% whiskers."""
    width, left, top, plot_h = 740, 48, 20, 220
    legend_w = 220                   # room for a 28-character label (see _short)
    plot_w = width - left - legend_w - 10
    values = [s.metric(r, "ciou") for s in subs for r in BAR_ROWS]
    highs = [s.interval(r, "ciou")[1] for s in subs for r in BAR_ROWS if s.interval(r, "ciou")]
    ticks = _ticks([v for v in values + highs if v is not None])
    ymax = ticks[-1]
    height = max(top + plot_h + 40, top + 18 * len(subs) + 20)
    group_w = plot_w / len(BAR_ROWS)
    bar_w = max(2.0, min(18.0, (group_w - 14) / max(1, len(subs))))

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / ymax

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" class="chart">',
             f"<title>{escape(title)}</title>"]
    for v in ticks:
        parts.append(f'<line x1="{left}" x2="{left + plot_w:.1f}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                     f'stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" font-size="11" text-anchor="end" '
                     f'{FONT}>{_fmt(v)}</text>')
    parts.append(f'<text x="12" y="{top + plot_h / 2}" font-size="11" {FONT} '
                 f'transform="rotate(-90 12 {top + plot_h / 2})" text-anchor="middle">'
                 f'CIoU (%)</text>')
    for g, row in enumerate(BAR_ROWS):
        gx = left + g * group_w
        start = gx + (group_w - bar_w * len(subs)) / 2
        for i, sub in enumerate(subs):
            v = sub.metric(row, "ciou")
            bx = start + i * bar_w
            if v is None:
                continue
            parts.append(f'<rect x="{bx:.1f}" y="{y(v):.1f}" width="{bar_w - 1:.1f}" '
                         f'height="{top + plot_h - y(v):.1f}" fill="{colour(i)}">'
                         f"<title>{_tip(sub, row)}</title></rect>")
            ci = sub.interval(row, "ciou")
            if ci:
                cx = bx + (bar_w - 1) / 2
                parts.append(f'<path d="M{cx:.1f} {y(ci[0]):.1f}V{y(ci[1]):.1f}M{cx - 3:.1f} '
                             f'{y(ci[1]):.1f}h6M{cx - 3:.1f} {y(ci[0]):.1f}h6" stroke="#222" '
                             f'stroke-width="1.2" fill="none"/>')
        parts.append(f'<text x="{gx + group_w / 2:.1f}" y="{top + plot_h + 18}" font-size="12" '
                     f'text-anchor="middle" {FONT}>{escape(SCENARIO_LABELS[row])}</text>')
    parts.append(f'<line x1="{left}" x2="{left + plot_w:.1f}" y1="{top + plot_h}" '
                 f'y2="{top + plot_h}" stroke="#444"/>')
    parts += _legend(subs, left + plot_w + 20, top + 10)
    parts.append("</svg>")
    return "".join(parts)


def total_vs_cross(subs: list[Submission], title: str) -> str:
    """Dumbbells: Total CIoU (filled) and Cross-event CIoU (open) per model, with the drop."""
    both = [(i, s) for i, s in enumerate(subs)
            if None not in (s.metric("total", "ciou"), s.metric("cross_event", "ciou"))]
    width, left, right, top, row_h = 600, 190, 60, 34, 26
    height = top + row_h * max(1, len(both)) + 34
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" class="chart">',
             f"<title>{escape(title)}</title>"]
    if not both:
        parts.append(f'<text x="{width / 2}" y="{top + 16}" font-size="13" text-anchor="middle" '
                     f'{FONT}>No row reports both Total and Cross-event CIoU.</text></svg>')
        return "".join(parts)
    vals = [s.metric(r, "ciou") for _, s in both for r in ("total", "cross_event")]
    ticks = _ticks(vals)
    xmax = ticks[-1]
    plot_w = width - left - right

    def x(v: float) -> float:
        return left + plot_w * v / xmax

    for v in ticks:
        parts.append(f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{top - 8}" '
                     f'y2="{height - 26}" stroke="#ddd"/>')
        parts.append(f'<text x="{x(v):.1f}" y="{height - 10}" font-size="11" '
                     f'text-anchor="middle" {FONT}>{_fmt(v)}</text>')
    parts.append(f'<circle cx="{left}" cy="12" r="5" fill="#333"/><text x="{left + 9}" y="16" '
                 f'font-size="12" {FONT}>Total</text><circle cx="{left + 70}" cy="12" r="5" '
                 f'fill="#fff" stroke="#333" stroke-width="2"/><text x="{left + 79}" y="16" '
                 f'font-size="12" {FONT}>Cross-event (CIoU %, drop on the right)</text>')
    for j, (i, sub) in enumerate(both):
        cy = top + row_h * j + row_h / 2
        t, c = sub.metric("total", "ciou"), sub.metric("cross_event", "ciou")
        parts.append(f'<text x="{left - 10}" y="{cy + 4:.1f}" font-size="12" text-anchor="end" '
                     f'{FONT}>{escape(_short(sub.name))}<title>{escape(sub.name)}</title></text>')
        parts.append(f'<line x1="{x(t):.1f}" x2="{x(c):.1f}" y1="{cy:.1f}" y2="{cy:.1f}" '
                     f'stroke="{colour(i)}" stroke-width="3"/>')
        parts.append(f'<circle cx="{x(t):.1f}" cy="{cy:.1f}" r="6" fill="{colour(i)}">'
                     f"<title>{_tip(sub, 'total')}</title></circle>")
        parts.append(f'<circle cx="{x(c):.1f}" cy="{cy:.1f}" r="6" fill="#fff" '
                     f'stroke="{colour(i)}" stroke-width="2.5"><title>'
                     f"{_tip(sub, 'cross_event')}</title></circle>")
        parts.append(f'<text x="{width - right + 8}" y="{cy + 4:.1f}" font-size="12" {FONT}>'
                     f"{c - t:+.2f}</text>")
    parts.append("</svg>")
    return "".join(parts)
