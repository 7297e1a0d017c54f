"""Text table of a results document, laid out like the paper's Table 2 (+ Total, Cross-event)."""

from __future__ import annotations


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _ci(ci: list[float] | None) -> str:
    return "" if not ci else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def signed(x: float | None) -> str:
    """The one format of a signed difference (Cross-event drop, B - A): "-0.96", "+0.80"."""
    return "-" if x is None else f"{x:+.2f}"


def _threshold(x: float | None) -> str:
    """For display only (the JSON keeps full precision): 6 significant digits."""
    return "-" if x is None else f"{x:.6g}"


def _header(results: dict) -> list[str]:
    """Dataset (name, revision, frames), protocol and thresholds."""
    ds, proto, thr = results["dataset"], results["protocol"], results["thresholds"]
    lines = [f"dataset {ds['name']}  revision {ds.get('revision') or '-'}  "
             f"{ds['n_frames']} frames, {ds['n_videos']} videos"]
    skipped = ds.get("skipped_frames")
    if skipped:
        lines.append(f"skipped {len(skipped)} malformed frame(s) (--lenient): not scored")
    size = f"{proto['resolution'][0]}x{proto['resolution'][1]}"
    if proto["name"] == "legacy":
        rule = (f"per-frame median thresholds  resize {proto['resize']}"
                f" ({proto.get('resize_source', '-')})")
    else:
        rule = (f"top {proto['top_percent']:g}%: threshold {_threshold(thr['main'])}, "
                f"†{_threshold(thr['dagger'])}")
    lines.append(f"protocol {proto['name']}  resolution {size}  {rule}")
    return lines


def format_table(results: dict) -> str:
    """Single/Mixed/Multi CIoU & AUC, TN, †TN; then Total and Cross-event with the drop."""
    m, off = results["metrics"], results["off_screen"]
    head = ["Single CIoU", "Single AUC", "Mixed CIoU", "Mixed AUC", "Multi CIoU", "Multi AUC",
            "TN", "†TN"]
    vals = [m["single_sound"]["ciou"], m["single_sound"]["auc"], m["mixed_sound"]["ciou"],
            m["mixed_sound"]["auc"], m["multi_entity"]["ciou"], m["multi_entity"]["auc"],
            off["tn"], off["tn_dagger"]]
    width = max(len(h) for h in head) + 1
    lines = [*_header(results), "".join(h.rjust(width) for h in head),
             "".join(_f(v).rjust(width) for v in vals), ""]
    lines.append(f"{'subset':<13}{'frames':>7}{'CIoU':>8}{'AUC':>8}{'AP50':>8}   CIoU 95% CI")
    for key, label in (("single_sound", "Single"), ("mixed_sound", "Mixed"),
                       ("multi_entity", "Multi"), ("total", "Total"),
                       ("cross_event", "Cross-event")):
        r = m[key]
        lines.append(f"{label:<13}{r['n_frames']:>7}{_f(r['ciou']):>8}{_f(r['auc']):>8}"
                     f"{_f(r['ap50']):>8}   {_ci(r['ci']['ciou'])}")
    total, cross = m["total"]["ciou"], m["cross_event"]["ciou"]
    if total is not None and cross is not None:
        lines.append(f"Cross-event drop vs Total: {signed(cross - total)} CIoU")
    lines.append("(Cross-event: the on-screen frames of Cross-event videos only)")
    lines.append(f"Off-screen   {off['n_frames']:>7}  TN {_f(off['tn'])} {_ci(off['ci']['tn'])}"
                 f"  †TN {_f(off['tn_dagger'])} {_ci(off['ci']['tn_dagger'])}")
    return "\n".join(lines)
