"""How the leaderboard scales: N synthetic submissions -> build time, page load, sort, search.

    python benchmarks/leaderboard_scale.py [--n 2000] [--keep DIR]

Targets (issue 12, on 2 cores): build <= 10 s, DOMContentLoaded <= 2 s, a sort <= 300 ms in
headless Chromium. Sort and search are timed inside the page around the synchronous handler
(the page renders 50 rows per table page, whatever N is). Needs /usr/bin/chromium and
/usr/bin/chromedriver (selenium); without them only the build is timed.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from avatar_bench.leaderboard import build
from avatar_bench.leaderboard.revisions import KNOWN_REVISIONS

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ROWS = ("single_sound", "mixed_sound", "multi_entity", "total", "cross_event")


def _metric(rng: random.Random, reproduced: bool) -> dict:
    out = {"n_frames": 100}
    for field in ("ciou", "auc", "ap50"):
        out[field] = round(rng.uniform(2, 60), 4)
    out["ci"] = ({f: [round(max(0.0, out[f] - rng.uniform(0.5, 4)), 4),
                      round(min(100.0, out[f] + rng.uniform(0.5, 4)), 4)]
                  for f in ("ciou", "auc", "ap50")} if reproduced else None)
    return out


def synthetic(folder: Path, n: int, seed: int = 0) -> Path:
    """``n`` valid entries: AVATAR-mini reproduced rows and AVATAR reported rows."""
    rng = random.Random(seed)
    mini = next(k for k in KNOWN_REVISIONS if k.dataset == "AVATAR-mini")
    for i in range(n):
        reproduced = i % 3 != 0
        dataset = "AVATAR-mini" if reproduced else "AVATAR"
        meta = {
            "schema_version": 1, "name": f"Model {i:04d} ({rng.choice(['10k', '144k', 'full'])})",
            "authors": f"Author {i % 97}, Author {i % 89}", "organisation": f"Lab {i % 53}",
            "links": {"paper": f"https://example.org/p/{i}", "code": None},
            "training_data": {"name": rng.choice(["VGGSound", "AudioSet"]),
                              "size": rng.choice([10_000, 144_000])},
            "parameters": rng.randint(1, 300) * 100_000, "audio_window_s": 3.0,
            "date": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "protocol": "avatar", "source": "reproduced" if reproduced else "reported",
            "dataset": dataset, "notes": "synthetic entry for the scale benchmark",
        }
        results = {
            "schema_version": 1,
            "dataset": {"name": dataset, "revision": mini.revision if reproduced else None,
                        "annotation_sha256": mini.annotation_sha256 if reproduced else None},
            "predictions": ({"file": f"m{i}.npz", "sha256": f"{i:064x}"} if reproduced else None),
            "protocol": {"name": "avatar"},
            "thresholds": {"main": 0.5, "dagger": 0.6} if reproduced else None,
            "metrics": {r: _metric(rng, reproduced) for r in ROWS},
            "off_screen": {"tn": round(rng.uniform(80, 99), 4), "tn_dagger": None, "ci": None},
        }
        entry = folder / f"m{i:05d}"
        entry.mkdir(parents=True)
        (entry / "submission.json").write_text(json.dumps(meta))
        (entry / "results.json").write_text(json.dumps(results))
    return folder


def _driver(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1400,900"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


# Timed until the next frame has been laid out and painted, not only the handler's own time.
_TIME_CLICK = """
const done = arguments[arguments.length - 1], btn = document.querySelector(arguments[0]);
const t0 = performance.now(); btn.click();
requestAnimationFrame(() => setTimeout(() => done(performance.now() - t0), 0));"""
_TIME_SEARCH = """
const done = arguments[arguments.length - 1], box = document.getElementById('search');
box.value = arguments[0];
const t0 = performance.now(); box.dispatchEvent(new Event('input'));
requestAnimationFrame(() => setTimeout(() => done(performance.now() - t0), 0));"""


def browse(page: Path, tmp: Path, repeats: int = 3) -> dict[str, float]:
    """DOMContentLoaded, sort and search times (ms, medians) in headless Chromium."""
    drv = _driver(tmp / "profile")
    try:
        loads = []
        for _ in range(repeats):
            drv.get("about:blank")
            drv.get(page.resolve().as_uri())
            loads.append(drv.execute_script(
                "return performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"))
        sid = drv.execute_script("return document.querySelector('section.board').id")
        sorts = [drv.execute_async_script(_TIME_CLICK, f'#{sid} th[data-col="{col}"] button')
                 for col in ("total.ciou", "model", "drop.ciou", "info.date", "rank") * repeats]
        searches = [drv.execute_async_script(_TIME_SEARCH, q) for q in ("model 01", "lab 7", "")]
        rows = drv.execute_script("return document.querySelectorAll('tbody tr').length")
        return {"dom_content_loaded_ms": statistics.median(loads),
                "sort_ms_median": statistics.median(sorts), "sort_ms_max": max(sorts),
                "search_ms_max": max(searches), "rows_in_dom": rows}
    finally:
        drv.quit()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--keep", type=Path, default=None, help="keep the page here")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="avatar-bench-scale-"))
    try:
        subs = synthetic(tmp / "submissions", args.n)
        t0 = time.perf_counter()
        page = build(subs, tmp / "index.html", build_time="2025-01-31T12:00:00Z")
        build_s = time.perf_counter() - t0
        print(f"{args.n} submissions: build {build_s:.2f} s, page "
              f"{page.stat().st_size / 1e6:.1f} MB")
        if Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists():
            for key, value in browse(page, tmp).items():
                print(f"  {key}: {value:.0f}" if isinstance(value, float) else f"  {key}: {value}")
        else:
            print("  chromium/chromedriver not installed: page timings skipped")
        if args.keep:
            shutil.copy(page, args.keep)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
