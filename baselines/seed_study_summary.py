"""Summarise the AVATAR-mini v2 seed study (baselines/reproduce_mini_v2_study.sh).

    python baselines/seed_study_summary.py runs/mini-v2-study --models ezvsl tavlo_max ...

Reads OUT/<model>-s<seed>.{json,csv,reliance.json} and the committed v2 reference entries
(center-prior = floor, oracle = ceiling), and writes into OUT:

* ``seed_summary.tsv``: per model and subset, mean / sd / min / max CIoU over seeds, each
  seed's value with its video-bootstrap 95% interval;
* ``seed_summary.md``: the README table: mean (sd) over seeds and the floor/oracle-normalised
  score 100 (mean - floor) / (oracle - floor); the references' rows; TAVLO's audio reliance;
* ``goal.json`` / the goal section of the .md: every video-centric (TAVLO) model against
  every frame-level baseline on Multi-entity and Cross-event with the two-level (seeds x
  videos) paired bootstrap, and which trained models clear the floor on every subset.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from avatar_bench.eval.compare import read_per_frame
from avatar_bench.eval.compare_seeds import compare_seeds
from avatar_bench.fsio import atomic_write_text

SUBSETS = ("single_sound", "mixed_sound", "multi_entity", "total", "cross_event")
HEAD = ("Single", "Mixed", "Multi-entity", "Total", "Cross-event")
FRAME_LEVEL = ("ezvsl", "slavc", "ssltie")
GOAL_SUBSETS = ("multi_entity", "cross_event")
REFERENCES = ("oracle", "motion-sync", "motion", "center-prior", "random")


def load_runs(out: Path, key: str) -> list[tuple[int, dict]]:
    """``(seed, results)`` of every finished run of ``key``, by seed."""
    runs = []
    for path in out.glob(f"{key}-s*.json"):
        tail = path.stem[len(key) + 2:]
        if tail.isdigit():
            runs.append((int(tail), json.loads(path.read_text(encoding="utf-8"))))
    return sorted(runs, key=lambda r: r[0])


def reference(submissions: Path, name: str) -> dict:
    return json.loads((submissions / f"mini-v2-{name}" / "results.json").read_text())["metrics"]


def spread(values: list[float]) -> dict:
    return {"n": len(values), "mean": statistics.mean(values),
            "sd": statistics.stdev(values) if len(values) > 1 else None,
            "min": min(values), "max": max(values)}


def normalised(value: float, floor: float, ceiling: float) -> float:
    """0 = the center-prior floor, 100 = the oracle."""
    return 100.0 * (value - floor) / (ceiling - floor)


def tsv(out: Path, models: list[str]) -> str:
    lines = ["model\tsubset\tseeds\tmean\tsd\tmin\tmax\tper-seed [video-bootstrap 95% CI]"]
    for key in models:
        runs = load_runs(out, key)
        for s in SUBSETS:
            if not runs:
                continue
            st = spread([d["metrics"][s]["ciou"] for _, d in runs])
            per = "; ".join(f"s{seed} {d['metrics'][s]['ciou']:.2f} "
                            f"[{d['metrics'][s]['ci']['ciou'][0]:.2f}, "
                            f"{d['metrics'][s]['ci']['ciou'][1]:.2f}]" for seed, d in runs)
            sd = "nan" if st["sd"] is None else f"{st['sd']:.2f}"
            lines.append(f"{key}\t{s}\t{st['n']}\t{st['mean']:.2f}\t{sd}\t{st['min']:.2f}\t"
                         f"{st['max']:.2f}\t{per}")
    return "\n".join(lines) + "\n"


def table(out: Path, models: list[str], submissions: Path) -> str:
    floor, ceiling = reference(submissions, "center-prior"), reference(submissions, "oracle")
    rows = ["| model | seeds | " + " | ".join(HEAD) + " |", "|---|---|" + "---|" * len(HEAD)]
    for key in models:
        runs = load_runs(out, key)
        if not runs:
            continue
        cells = []
        for s in SUBSETS:
            st = spread([d["metrics"][s]["ciou"] for _, d in runs])
            sd = "-" if st["sd"] is None else f"{st['sd']:.2f}"
            norm = normalised(st["mean"], floor[s]["ciou"], ceiling[s]["ciou"])
            cells.append(f"{st['mean']:.2f} ({sd}) · {norm:+.0f}")
        rows.append(f"| {key} | {len(runs)} | " + " | ".join(cells) + " |")
    for name in REFERENCES:
        m = reference(submissions, name)
        cells = [f"{m[s]['ciou']:.2f} · "
                 f"{normalised(m[s]['ciou'], floor[s]['ciou'], ceiling[s]['ciou']):+.0f}"
                 for s in SUBSETS]
        rows.append(f"| *{name}* (reference) | - | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def reliance(out: Path, models: list[str]) -> str:
    rows = ["| TAVLO run | seeds | own audio | swapped audio | reliance (own - swapped) |",
            "|---|---|---|---|---|"]
    for key in (m for m in models if m.startswith("tavlo")):
        docs = [json.loads(p.read_text()) for p in sorted(out.glob(f"{key}-s*.reliance.json"))
                if p.name[len(key) + 2:].split(".")[0].isdigit()]
        if not docs:
            continue
        cells = []
        for field in ("own", "swapped_audio", "reliance"):
            st = spread([d[field] for d in docs])
            sd = "-" if st["sd"] is None else f"{st['sd']:.3f}"
            cells.append(f"{st['mean']:.3f} ({sd})")
        rows.append(f"| {key} | {len(docs)} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def losses(out: Path, models: list[str]) -> str:
    """Final training loss over seeds, from each run's train_config.json (trainer's record)."""
    rows = ["| run | seeds | final training loss, mean (sd) | per seed |", "|---|---|---|---|"]
    for key in models:
        found = []
        for seed, _ in load_runs(out, key):
            record = out / f"{key}-s{seed}" / "train_config.json"
            if record.is_file():
                found.append(json.loads(record.read_text())["result"]["final_loss"])
        if found:
            st = spread(found)
            sd = "-" if st["sd"] is None else f"{st['sd']:.4f}"
            per = ", ".join(f"{v:.4f}" for v in found)
            rows.append(f"| {key} | {len(found)} | {st['mean']:.4f} ({sd}) | {per} |")
    return "\n".join(rows) + "\n"


def goal(out: Path, models: list[str], submissions: Path, n: int) -> dict:
    """The issue's two goal conditions, measured."""
    floor = reference(submissions, "center-prior")
    csvs = {k: [read_per_frame(out / f"{k}-s{seed}.csv", f"{k}-s{seed}")
                for seed, _ in load_runs(out, k)] for k in models}
    result: dict = {"comparisons": {}, "clears_floor": {}, "bootstrap": n}
    for key in models:
        runs = load_runs(out, key)
        if runs:
            below = {s: [seed for seed, d in runs if d["metrics"][s]["ciou"] <= floor[s]["ciou"]]
                     for s in SUBSETS}
            means = {s: statistics.mean(d["metrics"][s]["ciou"] for _, d in runs)
                     for s in SUBSETS}
            result["clears_floor"][key] = {
                "mean_above_floor_every_subset": all(means[s] > floor[s]["ciou"]
                                                     for s in SUBSETS),
                "seeds_at_or_below_floor": {s: v for s, v in below.items() if v}}
    for video in (m for m in models if m.startswith("tavlo") and csvs[m]):
        rows = {}
        for base in (b for b in FRAME_LEVEL if csvs.get(b)):
            cmp = compare_seeds(csvs[base], csvs[video], n=n, names=(base, video))
            rows[base] = {s: {"b_minus_a": cmp["subsets"][s]["b_minus_a"],
                              "ci": cmp["subsets"][s]["ci"]} for s in GOAL_SUBSETS}
        beats_all = bool(rows) and all(
            r[s]["ci"] is not None and r[s]["ci"][0] > 0 for r in rows.values()
            for s in GOAL_SUBSETS)
        result["comparisons"][video] = {"vs": rows, "beats_every_baseline": beats_all}
    return result


def goal_text(g: dict) -> str:
    lines = ["| video-centric run | vs | Multi-entity B - A [95% CI] "
             "| Cross-event B - A [95% CI] |", "|---|---|---|---|"]
    for video, c in g["comparisons"].items():
        for base, r in c["vs"].items():
            cells = [f"{r[s]['b_minus_a']:+.2f} [{r[s]['ci'][0]:+.2f}, {r[s]['ci'][1]:+.2f}]"
                     if r[s]["ci"] else "-" for s in GOAL_SUBSETS]
            lines.append(f"| {video} | {base} | " + " | ".join(cells) + " |")
    winners = [v for v, c in g["comparisons"].items() if c["beats_every_baseline"]]
    lines.append("")
    verdict = "met by " + ", ".join(winners) if winners else "NOT met"
    lines.append("Goal 1 (a video-centric run above every frame-level baseline on Multi-entity "
                 f"and Cross-event, interval > 0): {verdict}.")
    failing = {k: v["seeds_at_or_below_floor"] for k, v in g["clears_floor"].items()
               if not v["mean_above_floor_every_subset"]}
    lines.append("Goal 2 (every trained model's seed mean above the center-prior floor on every "
                 f"subset): {'met' if not failing else 'NOT met: ' + json.dumps(failing)}.")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--models", nargs="+", required=True)
    parser.add_argument("--submissions", type=Path, default=Path("submissions"))
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args()
    atomic_write_text(args.out / "seed_summary.tsv", tsv(args.out, args.models))
    g = goal(args.out, args.models, args.submissions, args.bootstrap)
    atomic_write_text(args.out / "goal.json", json.dumps(g, indent=2) + "\n")
    md = ("CIoU (%) mean (sd) over training seeds · floor/oracle-normalised score "
          "(0 = center-prior, 100 = oracle)\n\n" + table(args.out, args.models, args.submissions)
          + "\nAudio reliance (v2 training windows)\n\n" + reliance(args.out, args.models)
          + "\nTraining loss (at chance, batch 8: EZ-VSL, SLAVC, TAVLO 2 ln 8 = 4.16; SSL-TIE's "
          "contrastive term ln 9 = 2.20, plus its equivariance term)\n\n"
          + losses(args.out, args.models)
          + "\nSeeds x videos paired comparisons\n\n" + goal_text(g))
    atomic_write_text(args.out / "seed_summary.md", md)
    print(md)


if __name__ == "__main__":
    main()
