"""How fast does ``predict`` run the torch models on real-size clips, and is the pipeline
overlapped? Per model it reports decode-only, forward-only and end-to-end frames/s and the
peak RSS, and checks end-to-end >= 0.8 x min(decode-only, forward-only).

Builds a root in the real layout with clips like AVATAR's (640x360, 25 fps, 10 s, H.264 +
stereo AAC at 44.1 kHz, a few annotated frames per clip, their JPEGs beside the JSON),
generated here with PyAV. Each model runs in a fresh process (peak RSS per model):

* decode-only: the DataLoader with ``--workers`` processes preparing every clip, no forward;
* forward-only: the model's batched forward on prepared inputs (after one warm-up batch);
* end-to-end: ``run_predict`` over the root (dataset indexed beforehand, model built).

``serial/s`` is what no overlap would give, 1 / (1/decode + 1/forward): end-to-end above it
shows decoding and forward overlapping. On a machine with fewer free cores than workers + 1
the decoding takes CPU time from the forward, and the goal cannot be met.

    python benchmarks/predict_speed.py                          # ezvsl slavc ssltie tavlo, CPU
    python benchmarks/predict_speed.py --clips 4 --workers 1 --threads 1 --models ezvsl
    python benchmarks/predict_speed.py --device cuda --precision bf16
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
from peak_memory import own_peak_mb  # benchmarks/ is on sys.path when run as a script

MODELS = ("ezvsl", "slavc", "ssltie", "tavlo")


# ------------------------------------------------------------------ the root
def _frame_image(k: int, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """A moving gradient scene with two objects and mild noise (a plausible H.264 load)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([(x + 3 * k) % 256, (y + 2 * k) % 256, (x + y) / 4 % 256], -1)
    for cx, cy, r, col in ((100 + 4 * k % (w - 200), h / 2, 40, 230),
                           (w - 150, 80 + 2 * k % (h - 160), 30, 20)):
        img[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = col
    img += rng.normal(0, 4, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_clip(path: Path, seconds: float, fps: int, w: int, h: int, seed: int) -> list:
    """H.264 yuv420p + stereo AAC 44.1 kHz; returns the RGB frames that were encoded."""
    import av

    rng = np.random.default_rng(seed)
    n, sr = int(seconds * fps), 44100
    t = np.arange(int(seconds * sr)) / sr
    tone = 0.2 * np.sin(2 * np.pi * (220 + 40 * seed) * t) * (1 + np.sin(2 * np.pi * t))
    audio = np.stack([tone, 0.7 * tone]).astype(np.float32)
    frames = []
    with av.open(str(path), "w", format="mp4") as out:
        vs = out.add_stream("libx264", rate=Fraction(fps), options={"preset": "veryfast",
                                                                    "crf": "23"})
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        aus = out.add_stream("aac", rate=sr, layout="stereo")
        for k in range(n):
            img = _frame_image(k, w, h, rng)
            frames.append(img)
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts = k
            out.mux(vs.encode(vf))
        out.mux(vs.encode(None))
        for pos in range(0, audio.shape[1], 1024):
            af = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[:, pos:pos + 1024]),
                                            format="fltp", layout="stereo")
            af.sample_rate, af.pts = sr, pos
            out.mux(aus.encode(af))
        out.mux(aus.encode(None))
    return frames


def make_root(root: Path, clips: int, per_clip: int, seconds: float, fps: int, w: int,
              h: int) -> int:
    """The root's ``video/`` and ``metadata/``; returns the number of annotated frames."""
    from PIL import Image

    (root / "video").mkdir(parents=True)
    n = int(seconds * fps)
    total = 0
    for c in range(clips):
        vid = f"bench{c:04d}_{c * 10:05d}"
        frames = write_clip(root / "video" / f"{vid}.mp4", seconds, fps, w, h, c)
        folder = root / "metadata" / vid
        folder.mkdir(parents=True)
        for f in np.linspace(5, n - 5, per_clip).astype(int):
            ann = {"task": "Single-Sound", "audio_visual_category": "dog",
                   "bbox": [100.0, 100.0, 80.0, 60.0],
                   "segmentation": [[100, 100, 180, 100, 180, 160, 100, 160]]}
            (folder / f"{f:05d}.json").write_text(json.dumps(
                {"original_width": w, "original_height": h, "annotations": [ann]}))
            Image.fromarray(frames[f]).save(folder / f"{f:05d}.jpg", quality=90)
            total += 1
    return total


# --------------------------------------------------------------- one model
def measure(model: str, root: Path, args: argparse.Namespace) -> dict:
    """Decode-only, forward-only and end-to-end frames/s of one model (in this process)."""
    import torch

    from avatar_bench.data import AvatarDataset
    from avatar_bench.models.registry import create
    from avatar_bench.predict import run_predict
    from avatar_bench.predict.builtin import builtin_stages
    from avatar_bench.predict.loader import Failure, clip_loader
    from avatar_bench.predict.runner import clip_runs

    if args.threads:
        torch.set_num_threads(args.threads)
    options = {"device": args.device}
    if model == "tavlo":
        options["config"] = args.tavlo_config
    adapter = create(model, **options)
    stages = builtin_stages(adapter)
    ds = AvatarDataset(root, use_cache=False)
    clips = clip_runs(ds.frames)
    n = len(ds.frames)

    t0 = time.perf_counter()
    prepared = []
    for item in clip_loader(ds, stages.prepare, clips, args.workers):
        if isinstance(item, Failure):
            raise SystemExit(item.message)
        if len(prepared) < stages.batch_size:
            prepared.extend(item)
    decode = n / (time.perf_counter() - t0)

    batch = (prepared * stages.batch_size)[:stages.batch_size]
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(args.precision)
    dev = torch.device(stages.device).type

    def forward() -> None:
        with torch.inference_mode(), torch.autocast(dev, dtype=dtype, enabled=dtype is not None):
            stages.forward(batch)
        if dev == "cuda":
            torch.cuda.synchronize()

    forward()                                          # warm-up (allocations, cuDNN choice)
    reps = max(1, -(-n // len(batch)))
    t0 = time.perf_counter()
    for _ in range(reps):
        forward()
    fwd = reps * len(batch) / (time.perf_counter() - t0)

    out = Path(tempfile.mkdtemp()) / "p.npz"
    t0 = time.perf_counter()
    run_predict(adapter, ds, out, precision=args.precision, workers=args.workers)
    e2e = n / (time.perf_counter() - t0)
    shutil.rmtree(out.parent)
    return {"model": model, "device": args.device, "frames": n, "decode_fps": decode,
            "forward_fps": fwd, "e2e_fps": e2e,
            "peak_rss_mb": own_peak_mb(),
            "worker_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--clips", type=int, default=24,
                    help="Clips in the root (x --frames-per-clip annotated frames). A run of "
                         "a few dozen frames measures mostly the first batch filling up.")
    ap.add_argument("--frames-per-clip", type=int, default=5, help="AVATAR: ~4.9 on average")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cpu, then cuda "
                                                   "too when visible)")
    ap.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"))
    ap.add_argument("--workers", type=int, default=None, help="default: predict's default")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    ap.add_argument("--tavlo-config", default="default")
    ap.add_argument("--root", default=None, help="reuse (or keep) the generated root here")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, Path(args.root), args)))
        return
    from avatar_bench.predict.runner import default_workers

    args.workers = default_workers() if args.workers is None else args.workers
    w, h = (int(v) for v in args.size.split("x"))
    keep = args.root is not None
    root = Path(args.root) if keep else Path(tempfile.mkdtemp(prefix="predict-speed-"))
    try:
        if not (root / "video").is_dir():
            t0 = time.perf_counter()
            n = make_root(root, args.clips, args.frames_per_clip, args.seconds, args.fps, w, h)
            print(f"root: {args.clips} clips {w}x{h} {args.fps} fps {args.seconds:g} s, H.264 + "
                  f"stereo AAC; {n} annotated frames (built in {time.perf_counter() - t0:.0f} s)")
        devices = [args.device] if args.device else ["cpu"]
        if args.device is None:
            import torch

            if torch.cuda.is_available():
                devices.append("cuda")
        print(f"workers {args.workers}, torch threads {args.threads or 'default'}, "
              f"precision {args.precision}, {os.cpu_count()} CPUs")
        print(f"{'model':<8}{'device':<7}{'decode/s':>9}{'forward/s':>10}{'serial/s':>9}"
              f"{'e2e/s':>8}{'e2e/min':>8}{'RSS MB':>8}{'worker MB':>10}")
        for device in devices:
            for model in args.models.split(","):
                cmd = [sys.executable, __file__, "--one", model, "--root", str(root),
                       "--device", device, "--precision", args.precision,
                       "--workers", str(args.workers), "--threads", str(args.threads),
                       "--tavlo-config", args.tavlo_config]
                env = {**os.environ, "AVATAR_BENCH_QUIET": "1", "PYTHONWARNINGS": "ignore"}
                res = subprocess.run(cmd, capture_output=True, text=True, env=env)
                if res.returncode:
                    print(f"{model:<8}{device:<7}failed: {res.stderr.strip()[-500:]}")
                    continue
                r = json.loads(res.stdout.strip().splitlines()[-1])
                ratio = r["e2e_fps"] / min(r["decode_fps"], r["forward_fps"])
                serial = 1 / (1 / r["decode_fps"] + 1 / r["forward_fps"])
                print(f"{model:<8}{device:<7}{r['decode_fps']:>9.1f}{r['forward_fps']:>10.1f}"
                      f"{serial:>9.1f}{r['e2e_fps']:>8.1f}{ratio:>8.2f}{r['peak_rss_mb']:>8.0f}"
                      f"{r['worker_peak_rss_mb']:>10.0f}"
                      + ("" if ratio >= 0.8 else "  (below the 0.8 goal)"))
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
