"""Build the leaderboard: ONE self-contained HTML file (inline CSS, JS and SVG, no fetches).

One section (ranking) per (dataset, protocol): AVATAR and AVATAR-mini rows are never ranked
together. Every string from a submission is HTML-escaped; the machine-readable copy of the data
in ``<script type="application/json">`` escapes ``<``, ``>``, ``&``, U+2028 and U+2029 so no name
can close the script element. A Content-Security-Policy allows only the page's own script (by
hash), so even an escaping bug could not run injected handlers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

from avatar_bench import __version__
from avatar_bench.data.annotations import SCENARIO_LABELS
from avatar_bench.errors import AvatarBenchError
from avatar_bench.leaderboard import svg
from avatar_bench.leaderboard.ranking import Ranked, rank, ranking_row
from avatar_bench.leaderboard.schema import DATASETS, PROTOCOLS
from avatar_bench.leaderboard.submissions import Submission, load_submissions


@dataclass(frozen=True)
class Column:
    """A sortable table column: ``row.field`` of the results, under a group header."""

    key: str
    label: str
    group: str | None
    title: str


def _metric_columns() -> list[Column]:
    cols = []
    for row in ("single_sound", "mixed_sound", "multi_entity"):
        g = SCENARIO_LABELS[row]
        cols += [Column(f"{row}.ciou", "CIoU", g, f"{g} CIoU"),
                 Column(f"{row}.auc", "AUC", g, f"{g} AUC")]
    cols += [Column("off_screen.tn", "TN", "Off-screen", "Off-screen true negatives (top 10%)"),
             Column("off_screen.tn_dagger", "\u2020TN", "Off-screen",
                    "Off-screen true negatives (top 5% threshold)")]
    for row in ("total", "cross_event"):
        g = SCENARIO_LABELS[row]
        cols += [Column(f"{row}.ciou", "CIoU", g, f"{g} CIoU"),
                 Column(f"{row}.auc", "AUC", g, f"{g} AUC")]
    cols.append(Column("drop.ciou", "\u0394 CIoU", "Drop",
                       "Cross-event CIoU minus Total CIoU (closer to 0 is better)"))
    return cols


COLUMNS: list[Column] = _metric_columns()


# ---------------------------------------------------------------- escaping helpers
def script_json(data: Any) -> str:
    """JSON that is safe inside ``<script>``: no ``</script>``, no HTML specials, no U+2028/9."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, allow_nan=False)
    for ch, rep in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, rep)
    return text


def safe_url(url: Any) -> str | None:
    """Only http(s) URLs become links (never ``javascript:``); escaped for an attribute."""
    if isinstance(url, str) and re.match(r"^https?://[^\s<>\"'`]+$", url):
        return escape(url, quote=True)
    return None


def _asset(name: str) -> str:
    return resources.files("avatar_bench.leaderboard").joinpath("assets", name).read_text("utf-8")


def resolve_build_time(build_time: str | None = None) -> datetime:
    """``--build-time`` (ISO 8601 or epoch seconds), else SOURCE_DATE_EPOCH, else now (UTC)."""
    raw = build_time if build_time is not None else os.environ.get("SOURCE_DATE_EPOCH")
    if raw is None or raw == "":
        return datetime.now(timezone.utc).replace(microsecond=0)
    try:
        if re.fullmatch(r"\d+", raw.strip()):
            return datetime.fromtimestamp(int(raw), timezone.utc)
        parsed = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except (ValueError, OverflowError) as exc:
        raise AvatarBenchError(f"build time {raw!r}: expected ISO 8601 (2025-01-31T12:00:00Z) or "
                               f"epoch seconds: {exc}") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(
        timezone.utc)


# ---------------------------------------------------------------------- values
def cell_value(sub: Submission, key: str) -> tuple[float | None, tuple[float, float] | None]:
    """The value and interval of a column for one row (``drop`` = Cross-event - Total)."""
    row, field = key.split(".")
    if row == "drop":
        t, c = sub.metric("total", "ciou"), sub.metric("cross_event", "ciou")
        return (None if t is None or c is None else round(c - t, 6)), None
    return sub.metric(row, field), sub.interval(row, field)


def _cell(sub: Submission, col: Column, best: dict[str, float]) -> str:
    value, ci = cell_value(sub, col.key)
    first = ' g0' if col.label in ("CIoU", "TN", "\u0394 CIoU") else ""
    if value is None:
        return (f'<td class="na{first}" data-col="{col.key}" data-value="" '
                f'title="{escape(col.title)}: not available">\u2014</td>')
    classes = first
    if col.key in best and round(value, 2) == round(best[col.key], 2):
        classes += " best"
    if col.key == "drop.ciou" and value < 0:
        classes += " drop-neg"
    shown = f"{value:+.2f}".replace("-", "\u2212") if col.key == "drop.ciou" else f"{value:.2f}"
    tip = f"{col.title}: {value:.2f}"
    ci_html = ""
    if ci:
        tip += f" (95% interval {ci[0]:.2f} to {ci[1]:.2f})"
        ci_html = f'<span class="ci">{ci[0]:.2f}\u2013{ci[1]:.2f}</span>'
    return (f'<td class="{classes.strip()}" data-col="{col.key}" data-value="{value:.6g}" '
            f'title="{escape(tip)}"><span class="v">{shown}</span>{ci_html}</td>')


def _human_count(n: int) -> str:
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n / div:.3g}{suffix}"
    return str(n)


_SEP = " \u00b7 "


def _model_cell(sub: Submission) -> str:
    m = sub.meta
    links = m.get("links") or {}
    name = escape(sub.name)
    paper, code = safe_url(links.get("paper")), safe_url(links.get("code"))
    title = f'<a href="{paper}" rel="noopener">{name}</a>' if paper else name
    badge = (f'<span class="badge {sub.source}" title="'
             + ("computed here by avatar-bench from predictions" if sub.source == "reproduced"
                else "numbers copied from a paper") + f'">{sub.source}</span>')
    meta = []
    if m.get("authors") or m.get("organisation"):
        meta.append(escape(" / ".join(x for x in (m.get("authors"), m.get("organisation")) if x)))
    td = m.get("training_data") or {}
    if td.get("name") or td.get("size"):
        size = f" ({_human_count(td['size'])} clips)" if td.get("size") else ""
        meta.append("trained on " + escape(td.get("name") or "?") + size)
    if m.get("parameters"):
        meta.append(f"{_human_count(int(m['parameters']))} params")
    if m.get("audio_window_s"):
        meta.append(f"{m['audio_window_s']:g} s audio")
    meta.append(escape(m["date"]))
    if code:
        meta.append(f'<a href="{code}" rel="noopener">code</a>')
    rep = safe_url(m.get("reported_in"))
    if rep and sub.source == "reported":
        meta.append(f'<a href="{rep}" rel="noopener">source of numbers</a>')
    return (f'<th scope="row" class="model" data-col="model" data-value="{name}">'
            f'<span class="model-name">{title}</span> {badge}'
            f'<div class="meta">{_SEP.join(meta)}</div></th>')


def _header() -> str:
    groups: list[tuple[str, int]] = []
    for col in COLUMNS:
        if groups and groups[-1][0] == col.group:
            groups[-1] = (col.group, groups[-1][1] + 1)
        else:
            groups.append((col.group or "", 1))

    def sortable(key: str, label: str, title: str, first: str, kind: str, attrs: str = "",
                 sort: str = "none") -> str:
        return (f'<th scope="col" data-col="{key}" data-type="{kind}" data-first="{first}" '
                f'data-label="{escape(title)}" aria-sort="{sort}"{attrs}>'
                f'<button type="button" title="Sort by {escape(title)}">{label}</button></th>')

    top = [sortable("rank", "Rank", "rank", "ascending", "num", ' rowspan="2" class="rank-cell"',
                    "ascending"),
           sortable("model", "Model", "model name", "ascending", "text", ' rowspan="2"')]
    top += [f'<th scope="colgroup" colspan="{n}">{escape(g)}</th>' for g, n in groups]
    cols = [sortable(c.key, escape(c.label), c.title, "descending", "num") for c in COLUMNS]
    return (f'<thead><tr class="groups">{"".join(top)}</tr>'
            f'<tr class="cols">{"".join(cols)}</tr></thead>')


def _best(subs: list[Submission]) -> dict[str, float]:
    best = {}
    for col in COLUMNS:
        vals = [v for v in (cell_value(s, col.key)[0] for s in subs) if v is not None]
        if len(vals) > 1:
            best[col.key] = max(vals)
    return best


def _row(i: int, r: Ranked, best: dict[str, float]) -> str:
    rank_txt = "\u2014" if r.rank is None else str(r.rank)
    tie = '<span class="tie" title="tied: 95% intervals overlap"> (tie)</span>' if r.tied else ""
    cells = "".join(_cell(r.sub, c, best) for c in COLUMNS)
    return (f'<tr class="src-{r.sub.source}" data-order="{i}" data-slug="{escape(r.sub.slug)}">'
            f'<td class="rank" data-col="rank" data-value="{"" if r.rank is None else r.rank}">'
            f"{rank_txt}{tie}</td>{_model_cell(r.sub)}{cells}</tr>")


def section_id(dataset: str, protocol: str) -> str:
    return "board-" + re.sub(r"[^a-z0-9]+", "-", f"{dataset}-{protocol}".lower()).strip("-")


def _section(dataset: str, protocol: str, subs: list[Submission], rank_by: str) -> str:
    sid = section_id(dataset, protocol)
    key = ranking_row(subs, rank_by)
    ranked = rank(subs, key)
    best = _best(subs)
    n_rep = sum(s.source == "reported" for s in subs)
    why = ("" if rank_by != "auto" or key == "total"
           else " (not every row reports Total, so Single-sound CIoU ranks this table)")
    note = (f"Ranked by {SCENARIO_LABELS[key]} CIoU{why}. Rows whose 95% intervals overlap the "
            "interval of their group's leader share its rank (tie); rows without intervals "
            "tie only on equal values. Click a column header to sort.")
    if n_rep:
        note += (f" {n_rep} row(s) are reported numbers copied from a paper: not recomputed "
                 "here, no intervals.")
    label = f"{dataset} \u00b7 {protocol} protocol"
    rows = "".join(_row(i, r, best) for i, r in enumerate(ranked))
    # Charts keep the best-ranked rows that the palette can colour distinctly: with more, a
    # colour would stand for two models. The table always has every row.
    ordered = [r.sub for r in ranked][:len(svg.PALETTE)]
    shown = ("" if len(ranked) <= len(ordered)
             else f" Charts: the {len(ordered)} best-ranked of {len(ranked)} rows.")
    bars = svg.scenario_bars(ordered, f"{label}: CIoU per scenario")
    dumb = svg.total_vs_cross(ordered, f"{label}: Total vs Cross-event CIoU")
    return (f'<section class="board" id="{sid}" data-dataset="{escape(dataset)}" '
            f'data-protocol="{escape(protocol)}">'
            f"<h2>{escape(dataset)} <small>\u00b7 {escape(protocol)} protocol \u00b7 "
            f"{len(subs)} model(s)</small></h2>"
            f'<p class="note">{escape(note)}</p>'
            f'<div class="table-wrap"><table class="board-table" data-status="{sid}-status">'
            f'<caption class="sr-only">{escape(label)} ranking</caption>'
            f"{_header()}<tbody>{rows}</tbody></table></div>"
            f'<p class="sr-only" role="status" id="{sid}-status"></p>'
            f'<div class="charts"><figure>{bars}<figcaption>CIoU per scenario; whiskers: 95% '
            f"interval (reproduced rows).{escape(shown)}</figcaption></figure>"
            f"<figure>{dumb}<figcaption>Total vs Cross-event CIoU; the number on the right "
            f"is the drop.</figcaption></figure></div></section>")


def _group(subs: Iterable[Submission]) -> dict[tuple[str, str], list[Submission]]:
    order = {(d, p): i for i, (d, p) in enumerate((d, p) for d in DATASETS for p in PROTOCOLS)}
    groups: dict[tuple[str, str], list[Submission]] = {}
    for s in subs:
        groups.setdefault((s.dataset, s.protocol), []).append(s)
    return dict(sorted(groups.items(), key=lambda kv: order.get(kv[0], 99)))


def _controls(groups: dict[tuple[str, str], list[Submission]]) -> str:
    opts = ['<option value="all">All rankings</option>']
    for (d, p), subs in groups.items():
        opts.append(f'<option value="{section_id(d, p)}">{escape(d)} \u00b7 {escape(p)} protocol '
                    f"({len(subs)})</option>")
    return ('<div class="controls"><div><label for="board-select">Ranking</label>'
            f'<select id="board-select">{"".join(opts)}</select></div>'
            '<div class="legend"><span><span class="badge reproduced">reproduced</span> computed '
            'here by avatar-bench from the model\'s predictions, with 95% intervals</span>'
            '<span><span class="badge reported">reported</span> copied from a paper, not '
            "recomputed, no intervals</span></div></div>")


def _footer(subs: list[Submission], when: datetime) -> str:
    revs: dict[str, set[str]] = {}
    for s in subs:
        ds = s.results.get("dataset") or {}
        bits = [f"revision {ds['revision']}" if ds.get("revision") else "revision not recorded"]
        if ds.get("annotation_sha256"):
            bits.append(f"annotations {ds['annotation_sha256'][:12]}")
        revs.setdefault(s.dataset, set()).add(", ".join(bits))
    rev_txt = "; ".join(f"{d}: {' | '.join(sorted(v))}" for d, v in sorted(revs.items()))
    return (f"<p>Built by <code>avatar-bench {escape(__version__)}</code> on "
            f"<time datetime=\"{when.isoformat()}\">{when.strftime('%Y-%m-%d %H:%M UTC')}</time>. "
            f"Datasets: {escape(rev_txt) or 'none'}.</p>"
            "<p>Rebuild with <code>avatar-bench leaderboard build submissions -o "
            "leaderboard/index.html</code>.</p>")


def _data(subs: list[Submission]) -> list[dict[str, Any]]:
    return [{"slug": s.slug, "submission": s.meta, "results": s.results} for s in subs]


def render(subs: list[Submission], *, build_time: datetime, rank_by: str = "auto") -> str:
    """The page as a string (deterministic given ``build_time``)."""
    subs = sorted(subs, key=lambda s: s.slug)
    groups = _group(subs)
    if groups:
        sections = "".join(_section(d, p, g, rank_by) for (d, p), g in groups.items())
    else:
        sections = '<p class="note">No submissions yet.</p>'
    script = _asset("page.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    csp = (f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'; "
           "img-src data:; base-uri 'none'; form-action 'none'")
    fills = {
        "CSP": csp, "VERSION": escape(__version__), "STYLE": _asset("page.css"),
        "CONTROLS": _controls(groups), "SECTIONS": sections,
        "FOOTER": _footer(subs, build_time), "DATA": script_json(_data(subs)), "SCRIPT": script,
    }
    # One pass: text filled in is never scanned again for placeholders.
    return re.sub(r"\{\{([A-Z]+)\}\}", lambda m: fills[m.group(1)], _asset("page.html"))


def build(submissions_dir: str | os.PathLike, output: str | os.PathLike, *,
          build_time: str | None = None, rank_by: str = "auto") -> Path:
    """Validate every submission, render the page, write it; returns the output path."""
    subs = load_submissions(submissions_dir)
    html = render(subs, build_time=resolve_build_time(build_time), rank_by=rank_by)
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
