"""TAVLO throughput: training clips/s + peak memory, and inference windows/s.

Measures the model alone (inputs are random tensors already on the device), so the numbers
are the ceiling the data loader has to feed. On CUDA the step runs under bf16 autocast like
the trainer; on CPU in float32.

    python benchmarks/tavlo_gpu.py                                  # DEFAULT config, CUDA
    python benchmarks/tavlo_gpu.py --batch-sizes 32,64 --out result.json
    python benchmarks/tavlo_gpu.py --device cpu --config small --steps 3 --batch-sizes 2

Prints one JSON object (also written to --out).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import torch

from avatar_bench.models.tavlo.config import load_config
from avatar_bench.models.tavlo.loss import frame_mil_loss
from avatar_bench.models.tavlo.model import TAVLO, localization_maps, parameter_count


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _inputs(cfg, batch: int, device: torch.device):
    frames = torch.randint(0, 256, (batch, cfg.frames, cfg.image_size, cfg.image_size, 3),
                           dtype=torch.uint8, device=device)
    audio = 0.1 * torch.randn(batch, cfg.audio_samples, device=device)
    return frames, audio


def _seconds_per_step(step, steps: int, warmup: int, device: torch.device) -> float:
    """Mean wall time of ``step()`` after ``warmup`` untimed calls (synchronised on CUDA)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for k in range(warmup + steps):
        _sync(device)
        t0 = time.perf_counter()
        step()
        _sync(device)
        if k >= warmup:
            times.append(time.perf_counter() - t0)
    return sum(times) / len(times)


def _with_peak_memory(out: dict, device: torch.device) -> dict:
    if device.type == "cuda":
        out["peak_mem_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    return out


def bench_train(cfg, batch: int, steps: int, warmup: int, device: torch.device,
                amp: bool) -> dict:
    model = TAVLO(cfg).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    frames, audio = _inputs(cfg, batch, device)
    losses = []

    def step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            a, v = model(frames, audio)
            loss = frame_mil_loss(a, v, cfg.temperature, cfg.negative_pool)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.detach())

    step_s = _seconds_per_step(step, steps, warmup, device)
    return _with_peak_memory({
        "batch_size": batch, "steps": steps, "s_per_step": step_s,
        "clips_per_s": batch / step_s, "frames_per_s": batch * cfg.frames / step_s,
        "final_loss": float(losses[-1])}, device)


@torch.no_grad()
def bench_infer(cfg, batch: int, steps: int, warmup: int, device: torch.device,
                amp: bool) -> dict:
    model = TAVLO(cfg).to(device).eval()
    frames, audio = _inputs(cfg, batch, device)

    def step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            a, v = model(frames, audio)
        localization_maps(a, v, cfg.grid).cpu()

    step_s = _seconds_per_step(step, steps, warmup, device)
    return _with_peak_memory({
        "batch_size": batch, "s_per_batch": step_s,
        # the adapter keeps one map per window (the annotated frame); all T come out
        "annotated_frames_per_s": batch / step_s,
        "maps_per_s": batch * cfg.frames / step_s}, device)


def _guard(fn, *args) -> dict:
    try:
        return fn(*args)
    except torch.cuda.OutOfMemoryError as exc:
        torch.cuda.empty_cache()
        return {"batch_size": args[1], "error": f"out of memory: {str(exc)[:200]}"}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default="default", help="preset or JSON (default: default)")
    p.add_argument("--device", default="cuda")
    p.add_argument("--batch-sizes", default="16,32,64", help="comma list (training)")
    p.add_argument("--infer-batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=10, help="measured steps per setting")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--no-amp", action="store_true", help="float32 on CUDA too")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch default)")
    p.add_argument("--out", default=None, help="also write the JSON here")
    args = p.parse_args(argv)

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("no CUDA device visible; use --device cpu --config small for a smoke test")
    if args.threads:
        torch.set_num_threads(args.threads)
    amp = device.type == "cuda" and not args.no_amp
    cfg = load_config(args.config)
    torch.manual_seed(0)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    result = {
        "config": args.config, "model_config": cfg.to_dict(), "device": str(device),
        "device_name": (torch.cuda.get_device_name(device) if device.type == "cuda"
                        else platform.processor() or platform.machine()),
        "torch": torch.__version__, "amp_bf16": amp, "threads": torch.get_num_threads(),
        "params_m": parameter_count(TAVLO(cfg)) / 1e6,
        "train": [_guard(bench_train, cfg, int(b), args.steps, args.warmup, device, amp)
                  for b in args.batch_sizes.split(",")],
        "infer": _guard(bench_infer, cfg, args.infer_batch, args.steps, args.warmup, device,
                        amp),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    return result


if __name__ == "__main__":
    main()
