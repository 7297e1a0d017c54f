"""Bar charts of results JSON files: per-scenario CIoU and AUC, off-screen TN, 95% whiskers.

A metric a results file does not have (the legacy protocol has no †TN; reported paper rows
have no Total) is marked "n/a" inside the axes at the bar's place, never drawn as a bar.
Files scored under different protocols are refused unless asked for, and then labelled.
"""

from __future__ import annotations

import os
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from avatar_bench.data.annotations import SCENARIO_LABELS  # noqa: E402
from avatar_bench.errors import AvatarBenchError  # noqa: E402
from avatar_bench.viz.output import figure_format, save_figure  # noqa: E402

ROWS: tuple[str, ...] = ("single_sound", "mixed_sound", "multi_entity", "total", "cross_event")
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")


def _value(res: dict[str, Any], row: str, field: str) -> tuple[float | None, list | None]:
    entry = res.get("off_screen") if row == "off_screen" else (res.get("metrics") or {}).get(row)
    entry = entry or {}
    ci = (entry.get("ci") or {}).get(field)
    v = entry.get(field)
    return (float(v) if isinstance(v, (int, float)) else None,
            ci if isinstance(ci, list) and len(ci) == 2 and None not in ci else None)


def _bars(ax, results: list[dict], labels: list[str], groups: list[tuple[str, str]],
          ticks: list[str], ylabel: str) -> None:
    n = len(results)
    width = 0.8 / n
    x = np.arange(len(groups))
    for i, (res, label) in enumerate(zip(results, labels, strict=True)):
        xs = x - 0.4 + width * (i + 0.5)
        labelled = False
        for xi, (row, field) in zip(xs, groups, strict=True):
            v, ci = _value(res, row, field)
            if v is None:   # at the bar's x, just above the axis floor (axes coordinates)
                ax.text(xi, 0.02, "n/a", ha="center", va="bottom", fontsize=7, color="#777",
                        transform=ax.get_xaxis_transform(), clip_on=True)
                continue
            err = None if ci is None else [[max(0.0, v - ci[0])], [max(0.0, ci[1] - v)]]
            ax.bar(xi, v, width * 0.95, color=COLOURS[i % len(COLOURS)], yerr=err, capsize=3,
                   error_kw={"elinewidth": 1, "ecolor": "#222"},
                   label=None if labelled else label)
            labelled = True
            if n <= 4:   # a few points above the whisker, whatever the axis scale
                ax.annotate(f"{v:.1f}", (xi, ci[1] if ci else v), xytext=(0, 2),
                            textcoords="offset points", ha="center", va="bottom", fontsize=7)
    ax.set_xlim(-0.55, len(groups) - 0.45)   # every slot, also those with only "n/a"
    ax.set_xticks(x, ticks, fontsize=9)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)


def protocol_name(res: dict[str, Any]) -> str:
    """The results' protocol name ("avatar" when the file does not say)."""
    proto = res.get("protocol")
    name = proto.get("name") if isinstance(proto, dict) else proto
    return str(name) if name else "avatar"


def check_protocols(results: list[dict[str, Any]], labels: list[str],
                    allow_mixed: bool) -> list[str]:
    """Refuse results scored under different protocols (their numbers are not comparable),
    or, with ``allow_mixed``, return labels that name each bar's protocol."""
    protos = [protocol_name(r) for r in results]
    if len(set(protos)) <= 1:
        return labels
    if not allow_mixed:
        listing = "; ".join(f"{lab}: {p}" for lab, p in zip(labels, protos, strict=True))
        raise AvatarBenchError(
            f"the results use different protocols ({listing}): their numbers are not "
            "comparable. Plot one protocol at a time, or pass --allow-mixed-protocols to "
            "draw them with each bar labelled by its protocol")
    return [f"{lab} [{p}]" for lab, p in zip(labels, protos, strict=True)]


def plot_results(results: list[dict[str, Any]], labels: list[str], out: str | os.PathLike,
                 *, dpi: int = 120, allow_mixed: bool = False) -> str:
    """CIoU and AUC per scenario and off-screen TN / †TN, one bar per results file.

    ``out``: PNG/SVG/PDF by suffix, or ``-`` for PNG on standard output. Returns where it
    went. Mixed protocols raise unless ``allow_mixed`` (then labelled in legend and title).
    """
    if not results:
        raise AvatarBenchError("give at least one results JSON")
    if len(labels) != len(results):
        raise AvatarBenchError(f"{len(labels)} label(s) for {len(results)} results file(s)")
    figure_format(out)
    labels = check_protocols(results, labels, allow_mixed)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6),
                             gridspec_kw={"width_ratios": [5, 5, 2.2]})
    ticks = [SCENARIO_LABELS[r] for r in ROWS]
    _bars(axes[0], results, labels, [(r, "ciou") for r in ROWS], ticks, "CIoU (%)")
    _bars(axes[1], results, labels, [(r, "auc") for r in ROWS], ticks, "AUC (%)")
    _bars(axes[2], results, labels, [("off_screen", "tn"), ("off_screen", "tn_dagger")],
          ["TN", "\u2020TN"], "Off-screen TN (%)")
    axes[0].set_title("CIoU per scenario")
    axes[1].set_title("AUC per scenario")
    axes[2].set_title("Off-screen")
    tn = [v for res in results for f in ("tn", "tn_dagger")
          if (v := _value(res, "off_screen", f)[0]) is not None]
    if tn:
        axes[2].set_ylim(max(0.0, min(tn) - 10), 100)
    datasets = sorted({str((r.get("dataset") or {}).get("name")) for r in results})
    protos = sorted({protocol_name(r) for r in results})
    warn = "  [different datasets: not comparable]" if len(datasets) > 1 else ""
    if len(protos) > 1:
        warn += "  [MIXED PROTOCOLS: bars are not comparable]"
    fig.suptitle(f"{' / '.join(datasets)} \u00b7 protocol {' / '.join(protos)} \u00b7 "
                 f"whiskers: 95% bootstrap interval over videos{warn}", fontsize=11,
                 color="#B00020" if len(protos) > 1 else "black")
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=min(len(names), 6), frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 0.95))
    try:
        return save_figure(fig, out, dpi)
    finally:
        plt.close(fig)
