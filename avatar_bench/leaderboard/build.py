"""Build the leaderboard: ONE self-contained HTML file (inline CSS, JS and data, no fetches).

One section (ranking) per (dataset, protocol, annotation checksum): rows scored on different
ground truth are never ranked together. Python decides everything that is a rule (sections,
ranks, tie groups, the best value of each column, which values exist); the page's script only
shows it (search, filters, sorting, pages, details, charts, downloads) and writes every
submitted string with ``textContent`` inside a bidi-isolated element. The data is embedded as
``<script type="application/json">`` with ``<``, ``>``, ``&``, U+2028 and U+2029 escaped, and a
Content-Security-Policy allows only the page's own script (by hash).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

from avatar_bench import __version__
from avatar_bench.data.annotations import SCENARIO_LABELS
from avatar_bench.errors import AvatarBenchError
from avatar_bench.fsio import atomic_write_text
from avatar_bench.leaderboard.ranking import rank, ranking_row
from avatar_bench.leaderboard.revisions import checksum_label
from avatar_bench.leaderboard.schema import DATASETS, PROTOCOLS
from avatar_bench.leaderboard.submissions import Submission, load_submissions


@dataclass(frozen=True)
class Column:
    """A sortable table column. ``best``: which value is best (``max`` or ``absmin``)."""

    key: str
    label: str
    group: str
    title: str
    best: str | None = "max"
    kind: str = "num"


def _columns() -> list[Column]:
    cols = [Column("info.parameters", "Params", "Model", "parameter count", None),
            Column("info.train_size", "Train clips", "Model", "training clips", None),
            Column("info.date", "Date", "Model", "date of the entry", None, "text")]
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
                       "Cross-event CIoU minus Total CIoU (best: closest to 0, the least drop)",
                       "absmin"))
    return cols


COLUMNS: list[Column] = _columns()

#: The benchmark's paper (facts as in submissions/tavlo-10k: ICCV 2025, arXiv:2507.04667).
BIBTEX = """@inproceedings{choi2025avatar,
  title     = {What's Making That Sound Right Now? Video-centric Audio-Visual Localization},
  author    = {Choi, Hahyeon and Lee, Junhoo and Kwak, Nojun},
  booktitle = {Proceedings of the IEEE/CVF International Conference on Computer Vision (ICCV)},
  year      = {2025},
  eprint    = {2507.04667},
  archivePrefix = {arXiv},
  url       = {https://arxiv.org/abs/2507.04667}
}
"""


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
    if isinstance(url, str) and re.fullmatch(r"https?://[^\s<>\"'`]+", url):
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
def model_kind(sub: Submission) -> str:
    """``reference`` (no learning) or ``trained``: the field, else no training data = reference."""
    kind = sub.meta.get("model_kind")
    if kind in ("reference", "trained"):
        return kind
    return "reference" if not sub.meta.get("training_data") else "trained"


def cell_value(sub: Submission, key: str) -> tuple[Any, tuple[float, float] | None]:
    """The value and interval of a column for one row (``drop`` = Cross-event - Total)."""
    row, field = key.split(".")
    if row == "info":
        td = sub.meta.get("training_data") or {}
        return {"parameters": sub.meta.get("parameters"), "train_size": td.get("size"),
                "date": sub.meta.get("date")}[field], None
    if row == "drop":
        t, c = sub.metric("total", "ciou"), sub.metric("cross_event", "ciou")
        return (None if t is None or c is None else round(c - t, 6)), None
    return sub.metric(row, field), sub.interval(row, field)


def best_values(subs: list[Submission]) -> dict[str, float]:
    """Per metric column, the best value of a section (needs two rows with a value)."""
    best = {}
    for col in COLUMNS:
        vals = [v for v in (cell_value(s, col.key)[0] for s in subs) if v is not None]
        if col.best and len(vals) > 1:
            best[col.key] = max(vals) if col.best == "max" else min(vals, key=abs)
    return best


def _verification(sub: Submission, record: dict[str, Any] | None) -> dict[str, Any] | None:
    """The recorded verify outcome of this entry, if it was checked against its current file."""
    if not record:
        return None
    found = (record.get("entries") or {}).get(sub.slug)
    sha = (sub.results.get("predictions") or {}).get("sha256")
    if not found or found.get("predictions_sha256") != sha:
        return None
    return {"status": found["status"], "n_values": found.get("n_values"),
            "checked": record.get("checked"),
            "avatar_bench_version": record.get("avatar_bench_version")}


def _entry(sub: Submission, record: dict[str, Any] | None = None) -> dict[str, Any]:
    values, cis = {}, {}
    for col in COLUMNS:
        v, ci = cell_value(sub, col.key)
        values[col.key] = v
        if ci:
            cis[col.key] = list(ci)
    return {"slug": sub.slug, "submission": sub.meta, "results": sub.results,
            "kind": model_kind(sub), "values": values, "ci": cis,
            "verification": _verification(sub, record)}


def section_id(dataset: str, protocol: str, suffix: str = "") -> str:
    return "board-" + re.sub(r"[^a-z0-9]+", "-", f"{dataset}-{protocol}{suffix}".lower()).strip("-")


def _checksum(sub: Submission) -> str | None:
    return (sub.results.get("dataset") or {}).get("annotation_sha256")


SectionKey = tuple[str, str, "str | None"]


def group_sections(subs: Iterable[Submission]) -> dict[SectionKey, list[Submission]]:
    """Rows by (dataset, protocol, annotation checksum), in a fixed order.

    Rows that record no checksum (numbers copied from a paper) join the one checksum of their
    (dataset, protocol) when there is exactly one; otherwise they form their own section.
    """
    order = {(d, p): i for i, (d, p) in enumerate((d, p) for d in DATASETS for p in PROTOCOLS)}
    groups: dict[SectionKey, list[Submission]] = {}
    for s in subs:
        groups.setdefault((s.dataset, s.protocol, _checksum(s)), []).append(s)
    for (d, p, _) in [k for k in groups if k[2] is None]:
        known = [k for k in groups if k[:2] == (d, p) and k[2] is not None]
        if len(known) == 1:
            groups[known[0]] += groups.pop((d, p, None))
    return dict(sorted(groups.items(), key=lambda kv: (order.get(kv[0][:2], 99),
                                                       -len(kv[1]), kv[0][2] or "")))


def _section_data(key: SectionKey, subs: list[Submission], sid: str,
                  rank_by: str) -> dict[str, Any]:
    dataset, protocol, sha = key
    row = ranking_row(subs, rank_by)
    ranked = rank(subs, row)
    why = ("" if rank_by != "auto" or row == "total"
           else " (not every row reports Total, so Single-sound CIoU ranks this table)")
    n_rep = sum(s.source == "reported" for s in subs)
    note = (f"Ranked by {SCENARIO_LABELS[row]} CIoU{why}. Rows whose 95% intervals overlap the "
            "interval of their group's leader share its rank (tie, shaded together); rows "
            "without intervals never split a group and tie only on equal values. Click a "
            "column header to sort.")
    if n_rep:
        note += (f" {n_rep} row(s) are reported numbers copied from a paper: not recomputed "
                 "here, no intervals.")
    return {
        "id": sid, "dataset": dataset, "protocol": protocol, "annotation_sha256": sha,
        "ground_truth": checksum_label(dataset, sha), "rank_by": f"{row}.ciou",
        "rank_label": f"{SCENARIO_LABELS[row]} CIoU", "note": note,
        "best": best_values(subs),
        "rows": [{"slug": r.sub.slug, "rank": r.rank, "tied": r.tied, "group": r.group}
                 for r in ranked],
    }


def sections(subs: list[Submission], rank_by: str = "auto") -> list[dict[str, Any]]:
    """Every ranking of the page, as data (ids stay ``board-<dataset>-<protocol>`` unless a
    (dataset, protocol) has several checksums; then the checksum's first 8 digits are added)."""
    groups = group_sections(subs)
    out = []
    for key, members in groups.items():
        split = sum(k[:2] == key[:2] for k in groups) > 1
        suffix = f"-{(key[2] or 'none')[:8]}" if split else ""
        out.append(_section_data(key, members, section_id(key[0], key[1], suffix), rank_by))
    return out


# ---------------------------------------------------------------------- markup
def _header() -> str:
    groups: list[tuple[str, int]] = []
    for col in COLUMNS:
        if groups and groups[-1][0] == col.group:
            groups[-1] = (col.group, groups[-1][1] + 1)
        else:
            groups.append((col.group, 1))

    def sortable(key: str, label: str, title: str, first: str, kind: str, attrs: str = "",
                 sort: str = "none") -> str:
        return (f'<th scope="col" data-col="{key}" data-type="{kind}" data-first="{first}" '
                f'data-label="{escape(title)}" aria-sort="{sort}"{attrs}>'
                f'<button type="button" title="Sort by {escape(title)}">{label}</button></th>')

    top = [sortable("rank", "Rank", "rank", "ascending", "num",
                    ' rowspan="2" class="sticky-rank"', "ascending"),
           sortable("model", "Model", "model name", "ascending", "text",
                    ' rowspan="2" class="sticky-model"')]
    top += [f'<th scope="colgroup" colspan="{n}">{escape(g)}</th>' for g, n in groups]
    cols = []
    for c in COLUMNS:
        first = "ascending" if c.best == "absmin" or c.kind == "text" else "descending"
        cols.append(sortable(c.key, escape(c.label), c.title, first, c.kind))
    return (f'<thead><tr class="groups">{"".join(top)}</tr>'
            f'<tr class="cols">{"".join(cols)}</tr></thead>')


def _section_html(sec: dict[str, Any], n_rows: int) -> str:
    sid = sec["id"]
    label = f"{sec['dataset']} \u00b7 {sec['protocol']} protocol"
    return (f'<section class="board" id="{sid}" data-dataset="{escape(sec["dataset"])}" '
            f'data-protocol="{escape(sec["protocol"])}">'
            f"<h2>{escape(sec['dataset'])} <small>\u00b7 {escape(sec['protocol'])} protocol "
            f"\u00b7 {n_rows} model(s)</small></h2>"
            f'<p class="gt">Ground truth: {escape(sec["ground_truth"])}</p>'
            f'<p class="note">{escape(sec["note"])}</p>'
            f'<p class="shown" aria-live="polite"></p>'
            f'<div class="table-wrap" tabindex="0" role="region" aria-label="{escape(label)} '
            f'ranking table"><table class="board-table by-rank" data-section="{sid}">'
            f'<caption class="sr-only">{escape(label)} ranking</caption>'
            f"{_header()}<tbody></tbody></table></div>"
            f'<nav class="pager" aria-label="{escape(label)} pages"></nav>'
            f'<p class="sr-only" role="status" id="{sid}-status"></p>'
            f'<div class="charts"><p class="chart-help">Charts compare the models ticked in the '
            f"table's \u201ccompare\u201d boxes (at most 7, one colour-blind-safe colour each; "
            f"the best-ranked are ticked at first).</p>"
            f'<figure><div class="chart" data-chart="bars"></div><figcaption>CIoU per scenario; '
            f"whiskers: 95% interval (reproduced rows).</figcaption></figure>"
            f'<figure><div class="chart" data-chart="drop"></div><figcaption>Total vs '
            f"Cross-event CIoU; the number on the right is the drop.</figcaption></figure></div>"
            f"</section>")


def _controls(secs: list[dict[str, Any]], subs: list[Submission]) -> str:
    opts = ['<option value="all">All rankings</option>']
    for sec in secs:
        n = len(sec["rows"])
        shared = sum((o["dataset"], o["protocol"]) == (sec["dataset"], sec["protocol"])
                     for o in secs) > 1
        extra = f", {sec['ground_truth']}" if shared else ""
        opts.append(f'<option value="{sec["id"]}">{escape(sec["dataset"])} \u00b7 '
                    f'{escape(sec["protocol"])} protocol{escape(extra)} ({n})</option>')
    training = sorted({(s.meta.get("training_data") or {}).get("name") or "" for s in subs} - {""})
    t_opts = "".join(f'<option value="{escape(t, quote=True)}">{escape(t)}</option>'
                     for t in training)
    protos = "".join(f'<option value="{p}">{p}</option>' for p in PROTOCOLS)
    return (
        '<div class="controls" role="search">'
        '<div class="ctl"><label for="board-select">Ranking</label>'
        f'<select id="board-select">{"".join(opts)}</select></div>'
        '<div class="ctl grow"><label for="search">Search</label>'
        '<input type="search" id="search" placeholder="model, authors, organisation" '
        'autocomplete="off"></div>'
        '<div class="ctl"><label for="f-source">Numbers</label><select id="f-source">'
        '<option value="">all</option><option value="reproduced">reproduced</option>'
        '<option value="reported">reported</option></select></div>'
        '<div class="ctl"><label for="f-kind">Model</label><select id="f-kind">'
        '<option value="">all</option><option value="trained">trained</option>'
        '<option value="reference">reference (no learning)</option></select></div>'
        '<div class="ctl"><label for="f-training">Training data</label><select id="f-training">'
        f'<option value="">all</option>{t_opts}</select></div>'
        '<div class="ctl"><label for="f-protocol">Protocol</label><select id="f-protocol">'
        f'<option value="">all</option>{protos}</select></div>'
        '<details class="ctl more"><summary>Ranges</summary><div class="ranges">'
        + "".join(
            f'<label for="f-{k}">{label}</label><input id="f-{k}" type="text" inputmode="{mode}" '
            f'placeholder="{ph}" size="10" autocomplete="off">'
            for k, label, ph, mode in (
                ("pmin", "Params from", "e.g. 10M", "decimal"),
                ("pmax", "Params up to", "e.g. 100M", "decimal"),
                ("smin", "Train clips from", "e.g. 10k", "decimal"),
                ("smax", "Train clips up to", "e.g. 144k", "decimal"),
                ("dfrom", "Date from", "YYYY-MM-DD", "numeric"),
                ("dto", "Date up to", "YYYY-MM-DD", "numeric")))
        + "</div></details>"
        '<div class="ctl buttons"><button type="button" id="dl-csv">Table as CSV</button>'
        '<button type="button" id="dl-json">All entries as JSON</button>'
        '<button type="button" id="dl-bib">Cite (BibTeX)</button>'
        '<button type="button" id="reset">Reset view</button></div>'
        '</div><div class="legend"><span><span class="badge reproduced">reproduced</span> '
        "computed here by avatar-bench from the model's predictions, with 95% intervals</span>"
        '<span><span class="badge reported">reported</span> copied from a paper, not '
        "recomputed, no intervals</span><span>The address bar keeps the view (ranking, sort, "
        "filters, ranges, search): copy it to share.</span></div>")


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


def page_data(subs: list[Submission], secs: list[dict[str, Any]], when: datetime,
              record: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything the page's script reads (also what "All entries as JSON" downloads)."""
    return {
        "columns": [asdict(c) for c in COLUMNS], "entries": [_entry(s, record) for s in subs],
        "sections": secs, "bibtex": BIBTEX, "avatar_bench_version": __version__,
        "built": when.isoformat(),
    }


def render(subs: list[Submission], *, build_time: datetime, rank_by: str = "auto",
           verification: dict[str, Any] | None = None) -> str:
    """The page as a string (deterministic given ``build_time``); ``verification`` is a
    ``leaderboard verify --record`` document whose outcomes the rows' details show."""
    subs = sorted(subs, key=lambda s: s.slug)
    secs = sections(subs, rank_by)
    if secs:
        body = "".join(_section_html(sec, len(sec["rows"])) for sec in secs)
    else:
        body = '<p class="note">No submissions yet.</p>'
    script = _asset("page.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    csp = (f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'; "
           "img-src data: blob:; base-uri 'none'; form-action 'none'")
    fills = {
        "CSP": csp, "VERSION": escape(__version__), "STYLE": _asset("page.css"),
        "CONTROLS": _controls(secs, subs), "SECTIONS": body,
        "FOOTER": _footer(subs, build_time),
        "DATA": script_json(page_data(subs, secs, build_time, verification)), "SCRIPT": script,
    }
    # One pass: text filled in is never scanned again for placeholders.
    return re.sub(r"\{\{([A-Z]+)\}\}", lambda m: fills[m.group(1)], _asset("page.html"))


def build(submissions_dir: str | os.PathLike, output: str | os.PathLike, *,
          build_time: str | None = None, rank_by: str = "auto",
          verification: str | os.PathLike | None = None) -> Path:
    """Validate every submission, render the page, write it atomically; returns its path."""
    subs = load_submissions(submissions_dir)
    record = None
    if verification is not None:
        from avatar_bench.leaderboard.verify import load_record

        record = load_record(verification)
    html = render(subs, build_time=resolve_build_time(build_time), rank_by=rank_by,
                  verification=record)
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, html)
    return out
