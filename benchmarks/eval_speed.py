"""How fast, and in how much memory, does ``evaluate`` score an AVATAR-sized submission?

Builds a synthetic root in the real layout (5,000 videos, 24,266 frames, polygon
annotations in all four scenarios) and a 224x224 float16 predictions file (~2.4 GB) in a
temporary folder, then times ``evaluate`` end to end at 360x640 in a fresh process and reports
its peak RSS and CPU time (user + sys of all its threads: on a shared machine the wall time
depends on the other jobs, the CPU time much less). For comparison it runs the naive method
(every resized pixel in memory, one sort, Python loops) on a subset small enough to fit, and
prints speed and memory ratios.

    python benchmarks/eval_speed.py                 # full size
    python benchmarks/eval_speed.py --frames 2000   # quicker
    AVATAR_BENCH_KERNELS=numpy python benchmarks/eval_speed.py   # the numpy route

The first run after installing (or after editing ``eval/kernels.py``) also compiles the
per-frame kernels (~3 s, overlapped with validation); later runs load them from numba's cache.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from peak_memory import own_peak_mb  # benchmarks/ is on sys.path when run as a script

TASKS = ("Single-Sound", "Mixed-Sound", "Multi-Entity", "Off-Screen")


def _polygon(rng: np.random.Generator) -> tuple[list[float], list[float]]:
    """A random convex-ish hexagon strictly inside 640x360 (never clipped flat onto the
    border: the dataset refuses zero-area polygons); returns (bbox, polygon)."""
    cx, cy = rng.uniform(80, 560), rng.uniform(60, 300)
    rx = rng.uniform(20, min(150, cx - 1, 639 - cx))
    ry = rng.uniform(20, min(100, cy - 1, 359 - cy))
    ang = np.sort(rng.uniform(0, 2 * np.pi, 6))
    xs = np.clip(cx + rx * np.cos(ang), 0, 640)
    ys = np.clip(cy + ry * np.sin(ang), 0, 360)
    poly = np.stack([xs, ys], 1).ravel().round(1).tolist()
    bbox = [float(xs.min()), float(ys.min()), float(xs.max() - xs.min()),
            float(ys.max() - ys.min())]
    return bbox, poly


def make_root(root: Path, n_frames: int, seed: int = 0) -> list[str]:
    """Write ``metadata/<video>/<frame>.json`` for ``n_frames`` frames; returns frame keys."""
    rng = np.random.default_rng(seed)
    n_videos = max(1, round(n_frames * 5000 / 24266))
    per_video = np.full(n_videos, n_frames // n_videos)
    per_video[: n_frames - per_video.sum()] += 1
    keys = []
    for v in range(n_videos):
        vid = f"yt{v:07d}_x_{(v * 10) % 100000:05d}"
        folder = root / "metadata" / vid
        folder.mkdir(parents=True)
        frames = np.sort(rng.choice(np.arange(1, 300), per_video[v], replace=False))
        for fr in frames:
            anns = []
            for _ in range(rng.integers(1, 4)):
                task = TASKS[rng.choice(4, p=[0.5, 0.25, 0.15, 0.1])]
                ann = {"task": task, "audio_visual_category": f"cat{rng.integers(0, 80)}"}
                if task != "Off-Screen":
                    ann["bbox"], poly = _polygon(rng)
                    ann["segmentation"] = [poly]
                anns.append(ann)
            (folder / f"{fr:05d}.json").write_text(json.dumps(
                {"original_width": 640, "original_height": 360, "annotations": anns}))
            keys.append(f"{vid}_{fr:05d}")
    return keys


def make_predictions(path: Path, keys: list[str], size: int = 224, seed: int = 0) -> None:
    """Smooth random maps (a pool of low-frequency fields, shifted per frame), float16."""
    from avatar_bench.eval import write_predictions
    from avatar_bench.eval.resize import resize_bilinear

    rng = np.random.default_rng(seed)
    pool = resize_bilinear(rng.standard_normal((32, 7, 7)).astype(np.float32), (size, size))
    pool += rng.standard_normal(pool.shape).astype(np.float32) * 0.05

    def items():
        for i, k in enumerate(keys):
            yield k, pool[i % len(pool)] + np.float32(rng.standard_normal() * 0.1)

    write_predictions(path, items(), len(keys), {"model": "synthetic"}, np.float16)


def child_evaluate(root: str, preds: str, bootstrap: int, results_out: str = "",
                   workers: int = 0) -> dict:
    """``Evaluator.run``'s phases in its order, each timed; the last builds the results
    document (which cites the file's sha256, computed during validation when it can be)."""
    from avatar_bench.data import AvatarDataset
    from avatar_bench.eval import Evaluator, Protocol, kernels
    from avatar_bench.eval.results import build_results, results_json
    from avatar_bench.fsio import atomic_write_text

    t0 = time.perf_counter()
    ds = AvatarDataset(root, use_cache=False)
    t_index = time.perf_counter() - t0
    ev = Evaluator(ds, preds, Protocol(bootstrap=bootstrap), workers=workers or None)
    phases, cpu = {}, {}
    c_start = time.process_time()
    steps = {"validate": ev.validate, "threshold": ev.threshold, "per_frame": ev.per_frame,
             "accumulate": ev.accumulate,
             "summarise+results": lambda: build_results(ev, ev.summarise())}
    for name, step in steps.items():
        t, c = time.perf_counter(), time.process_time()
        out = step()
        phases[name] = round(time.perf_counter() - t, 2)
        cpu[name] = round(time.process_time() - c, 2)
    total = sum(phases.values())
    if results_out:
        atomic_write_text(results_out, results_json(out))
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {"index_s": round(t_index, 2), "evaluate_s": round(total, 2), "phases": phases,
            "phases_cpu": cpu, "evaluate_cpu_s": round(time.process_time() - c_start, 1),
            "cpu_s": round(ru.ru_utime + ru.ru_stime, 1),
            "user_s": round(ru.ru_utime, 1), "sys_s": round(ru.ru_stime, 1), "route": ev.route,
            "sample_missed": ev.sample_missed,
            "peak_rss_mb": round(own_peak_mb()), "workers": ev.workers,
            "kernels": f"numba {kernels.numba.__version__}" if kernels.enabled() else "numpy",
            "ciou_total": out["metrics"]["total"]["ciou"]}


def child_naive(root: str, preds: str) -> dict:
    """Every resized pixel in memory, one np.sort, Python loops (the obvious method)."""
    from avatar_bench.data import AvatarDataset
    from avatar_bench.eval.resize import resize_bilinear

    ds = AvatarDataset(root, use_cache=False)
    t0 = time.perf_counter()
    with np.load(preds, allow_pickle=False) as z:
        keys, maps = list(z["keys"]), z["heatmaps"]
    resized = {k: resize_bilinear(m, (360, 640)) for k, m in zip(keys, maps, strict=True)}
    allpix = np.sort(np.concatenate([r.ravel() for r in resized.values()]))[::-1]
    thr = allpix[math.ceil(allpix.size * 0.1) - 1]
    cious = []
    for f in ds.frames:
        if ds.instances_for(f, "total"):
            pos, g = resized[f.key] >= thr, ds.gt_mask(f, "total")
            cious.append((pos & g).sum() / (g.sum() + (pos & ~g).sum()))
    return {"naive_s": round(time.perf_counter() - t0, 2), "peak_rss_mb": round(own_peak_mb()),
            "ciou_total": float(np.mean(cious) * 100)}


def _child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=24266)
    ap.add_argument("--naive-frames", type=int, default=500,
                    help="Subset size for the naive comparison (0 = skip).")
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=0,
                    help="Scoring threads (default: the evaluator's own choice).")
    ap.add_argument("--workdir", type=Path, default=None, help="Keep inputs here.")
    ap.add_argument("--results-out", type=Path, default=None,
                    help="Write the full-size run's results JSON here (to diff two versions).")
    args = ap.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="avatar-eval-speed-"))
    try:
        root, preds = work / f"root{args.frames}", work / f"preds{args.frames}.npz"
        if not root.exists():
            t = time.perf_counter()
            keys = make_root(root, args.frames)
            make_predictions(preds, keys)
            print(f"generated {len(keys)} frames + {preds.stat().st_size / 1e9:.2f} GB "
                  f"predictions in {time.perf_counter() - t:.0f} s")
        before = f"{os.getloadavg()[0]:.2f}"
        full = _child("_evaluate", str(root), str(preds), str(args.bootstrap),
                      str(args.results_out or ""), str(args.workers))
        print(f"evaluate  {args.frames} frames @360x640, bootstrap {args.bootstrap}: "
              f"{full['evaluate_s']} s (index {full['index_s']} s), peak RSS "
              f"{full['peak_rss_mb']} MB, {full['workers']} threads, route {full['route']}, "
              f"per-frame kernels {full['kernels']}"
              f"{' (sample missed)' if full['sample_missed'] else ''}")
        print(f"  CPU (user+sys, all threads): evaluate {full['evaluate_cpu_s']} s; whole "
              f"process {full['cpu_s']} s (user {full['user_s']}, sys {full['sys_s']})")
        print(f"  load average before/after: {before} / {os.getloadavg()[0]:.2f}")
        print(f"  phases wall: {full['phases']}")
        print(f"  phases CPU:  {full['phases_cpu']}")
        if args.naive_frames:
            n_small = args.naive_frames
            sroot, spreds = work / f"root{n_small}", work / f"preds{n_small}.npz"
            if not sroot.exists():
                make_predictions(spreds, make_root(sroot, args.naive_frames, seed=1))
            fast = _child("_evaluate", str(sroot), str(spreds), "0")
            naive = _child("_naive", str(sroot), str(spreds))
            assert abs(fast["ciou_total"] - naive["ciou_total"]) < 1e-9, (fast, naive)
            print(f"subset {args.naive_frames} frames: evaluate {fast['evaluate_s']} s / "
                  f"{fast['peak_rss_mb']} MB; naive {naive['naive_s']} s / "
                  f"{naive['peak_rss_mb']} MB (total CIoU agrees)")
            per = naive["naive_s"] / max(fast["evaluate_s"], 1e-9)
            print(f"  naive/evaluate: time x{per:.2f}, memory x"
                  f"{naive['peak_rss_mb'] / fast['peak_rss_mb']:.2f}; naive at full size "
                  f"would hold {args.frames * 360 * 640 * 4 / 1e9:.1f} GB of pixels")
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_evaluate":
        print(json.dumps(child_evaluate(sys.argv[2], sys.argv[3], int(sys.argv[4]),
                                        *sys.argv[5:6], *map(int, sys.argv[6:7]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "_naive":
        print(json.dumps(child_naive(sys.argv[2], sys.argv[3])))
    else:
        main()
