"""The one training loop, generic over ``Recipe``: devices, bf16 autocast, DDP, checkpoints.

The recipe owns the model, samples, loss and checkpoint layout; this module owns everything
else. Files in ``checkpoint_dir``:

* ``checkpoint.pth``: exactly ``recipe.checkpoint(...)`` (the official layout for the
  baselines, so their tools read it unchanged);
* ``trainer_state.pth``: what resuming needs besides that (step, RNG state, run config);
* ``train_config.json``: the run's settings and, after the run, its wall time and loss.

Distributed runs are launched with ``torchrun``: WORLD_SIZE/RANK/LOCAL_RANK select the
process group (NCCL on CUDA, gloo on CPU); every rank reads different data; only rank 0
writes files. ``batch_size`` is per process.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from avatar_bench import progress
from avatar_bench.errors import AvatarBenchError
from avatar_bench.train.data import ClipSampleStream, ClipSource, make_source

CHECKPOINT = "checkpoint.pth"
TRAINER_STATE = "trainer_state.pth"
RUN_CONFIG = "train_config.json"


@dataclass
class TrainConfig:
    """Everything a run needs; ``recipe_options`` go to the recipe (``{"config": "small"}``)."""

    model: str = "tavlo"
    recipe_options: dict[str, Any] = field(default_factory=dict)
    data: str = "mini"                 # "mini" | "synthetic" (ignored when data_dir is set)
    data_dir: str | None = None
    clip_list: str | None = None
    skip_bad: bool = False
    steps: int = 1000                  # total optimiser steps (a resumed run counts on)
    batch_size: int = 8                # per process
    lr: float | None = None            # None: the recipe's default
    num_workers: int = 2
    seed: int = 0
    device: str = "auto"               # "auto" | "cpu" | "cuda" | "cuda:N"
    amp: bool | None = None            # bf16 autocast; None: on for CUDA, off on CPU
    checkpoint_dir: str | None = None
    checkpoint_every: int = 0          # 0: only at the end
    resume: bool = False
    log_every: int = 10
    threads: int = 0                   # torch intra-op threads in the main process (0: default)


@dataclass
class TrainResult:
    step: int
    final_loss: float                  # mean of the last (up to) 10 steps, over all ranks
    losses: list[float]
    wall_s: float
    clips_per_s: float
    checkpoint: str | None
    skipped_clips: int = 0             # bad clips skipped with skip_bad (all ranks)


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup_distributed(device: str) -> DistInfo:
    """Join the process group torchrun describes (or one already initialised by the caller)."""
    if dist.is_available() and dist.is_initialized():
        rank = dist.get_rank()
        return DistInfo(rank, dist.get_world_size(), int(os.environ.get("LOCAL_RANK", rank)))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if cuda:
        torch.cuda.set_device(local)
    dist.init_process_group("nccl" if cuda else "gloo")
    return DistInfo(rank, world, local, owns_group=True)


def resolve_device(name: str, info: DistInfo) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise AvatarBenchError("--device cuda: no CUDA device is visible (this torch build "
                                   f"is {torch.__version__}); use --device cpu")
        return torch.device("cuda", info.local_rank) if name == "cuda" else torch.device(name)
    if name != "cpu":
        raise AvatarBenchError(f"unknown device {name!r}: expected cpu, cuda or cuda:N")
    return torch.device("cpu")


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)  # workers decode/render; the main process owns the cores


def _save(obj: Any, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


class Trainer:
    """One run: build, (resume), loop, checkpoint. ``source``/``recipe`` may be injected."""

    def __init__(self, cfg: TrainConfig, recipe: Any = None,
                 source: ClipSource | None = None, log=None) -> None:
        from avatar_bench.train.registry import create_recipe

        if cfg.steps < 0 or cfg.batch_size < 1 or cfg.num_workers < 0:
            raise AvatarBenchError("steps must be >= 0, batch size >= 1, workers >= 0")
        self.cfg = cfg
        self.log = log or (lambda msg: None)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.dist = setup_distributed(cfg.device)
        self.device = resolve_device(cfg.device, self.dist)
        cuda = self.device.type == "cuda"
        if cfg.amp and not cuda:
            raise AvatarBenchError("--amp (bf16 autocast) is used on CUDA only; drop it on CPU")
        self.amp = cuda if cfg.amp is None else bool(cfg.amp)
        options = dict(cfg.recipe_options)
        if cfg.lr is not None:
            options["lr"] = cfg.lr
        self.recipe = recipe if recipe is not None else create_recipe(cfg.model, **options)
        self.source = source if source is not None else make_source(
            cfg.data, cfg.data_dir, cfg.clip_list, cfg.skip_bad)
        torch.manual_seed(cfg.seed)
        self.model: nn.Module = self.recipe.build_model().to(self.device)
        self.optimizer = self.recipe.optimizer(self.model)
        self.step = 0
        self.out = Path(cfg.checkpoint_dir) if cfg.checkpoint_dir else None
        if cfg.resume:
            self._resume()
        elif self.out is not None and (self.out / CHECKPOINT).is_file() and self.dist.is_main:
            self.log(f"warning: {self.out / CHECKPOINT} exists and will be overwritten "
                     "(pass --resume to continue it)")
        self.train_model: nn.Module = self.model
        if self.dist.world_size > 1:
            self.train_model = DistributedDataParallel(
                self.model, device_ids=[self.device.index] if cuda else None,
                find_unused_parameters=getattr(self.recipe, "ddp_find_unused_parameters", True))

    # ------------------------------------------------------------ resume
    def _resume(self) -> None:
        if self.out is None or not (self.out / CHECKPOINT).is_file():
            raise AvatarBenchError(f"--resume: no {CHECKPOINT} in {self.out} to resume from")
        ckpt = torch.load(self.out / CHECKPOINT, map_location=self.device, weights_only=False)
        step = self.recipe.restore(self.model, self.optimizer, ckpt)
        state_path = self.out / TRAINER_STATE
        if state_path.is_file():
            state = torch.load(state_path, map_location="cpu", weights_only=False)
            if state.get("model") != self.cfg.model:
                raise AvatarBenchError(f"--resume: {self.out} holds a {state.get('model')!r} "
                                       f"run, not {self.cfg.model!r}")
            step = int(state["step"])
            torch.set_rng_state(state["torch_rng"])
        self.step = step
        self.log(f"resumed from {self.out / CHECKPOINT} at step {step}")

    # -------------------------------------------------------------- save
    def save(self) -> Path | None:
        """Rank 0 writes the recipe's checkpoint plus the trainer's sidecar."""
        if self.out is None or not self.dist.is_main:
            return None
        self.out.mkdir(parents=True, exist_ok=True)
        _save(self.recipe.checkpoint(self.model, self.optimizer, self.step),
              self.out / CHECKPOINT)
        _save({"step": self.step, "model": self.cfg.model, "torch_rng": torch.get_rng_state(),
               "world_size": self.dist.world_size, "config": asdict(self.cfg)},
              self.out / TRAINER_STATE)
        return self.out / CHECKPOINT

    def _write_run_config(self, result: TrainResult | None) -> None:
        if self.out is None or not self.dist.is_main:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        data: dict[str, Any] = {"train": asdict(self.cfg), "world_size": self.dist.world_size,
                                "device": str(self.device), "amp_bf16": self.amp}
        model_cfg = getattr(self.recipe, "model_config", None)
        if model_cfg is not None and hasattr(model_cfg, "to_dict"):
            data["model_config"] = model_cfg.to_dict()
        if result is not None:
            data["result"] = {k: v for k, v in asdict(result).items() if k != "losses"}
        (self.out / RUN_CONFIG).write_text(json.dumps(data, indent=2, default=str) + "\n")

    # -------------------------------------------------------------- loop
    def loader(self) -> DataLoader:
        stream = ClipSampleStream(self.source, self.recipe, self.cfg.seed, self.dist.rank,
                                  self.dist.world_size, self.step)
        return DataLoader(stream, batch_size=self.cfg.batch_size,
                          num_workers=self.cfg.num_workers,
                          pin_memory=self.device.type == "cuda",
                          worker_init_fn=_worker_init if self.cfg.num_workers else None)

    def train_step(self, batch: dict[str, torch.Tensor]) -> float:
        batch = {k: v.to(self.device, non_blocking=True) if torch.is_tensor(v) else v
                 for k, v in batch.items()}
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            loss = self.recipe.loss(self.train_model, batch)
        if not torch.isfinite(loss):
            raise AvatarBenchError(f"the loss became {loss.item()} at step {self.step}: lower "
                                   "--lr or check the data")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.recipe.after_step(self.model)
        self.step += 1
        return float(loss.detach())

    def run(self) -> TrainResult:
        cfg = self.cfg
        self._write_run_config(None)
        self.model.train()
        losses: list[float] = []
        clips_per_step = cfg.batch_size * self.dist.world_size
        bar = None
        if self.dist.is_main and progress.enabled() and cfg.steps > self.step:
            from tqdm import tqdm

            bar = tqdm(total=cfg.steps * clips_per_step, initial=self.step * clips_per_step,
                       unit="clip", desc=f"train {cfg.model}", dynamic_ncols=True)
        start_step, t0 = self.step, time.perf_counter()
        batches = iter(self.loader()) if cfg.steps > self.step else iter(())
        while self.step < cfg.steps:
            losses.append(self.train_step(next(batches)))
            if bar is not None:
                bar.update(clips_per_step)
                bar.set_postfix(loss=f"{losses[-1]:.4f}")
            if self.dist.is_main and cfg.log_every and self.step % cfg.log_every == 0:
                rate = (self.step - start_step) * clips_per_step / (time.perf_counter() - t0)
                self.log(f"step {self.step}/{cfg.steps} loss {losses[-1]:.4f} "
                         f"{rate:.1f} clips/s")
            if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                self.save()
        wall = time.perf_counter() - t0
        del batches                                   # stops the loader's workers
        if bar is not None:
            bar.close()
        final, skipped = self._reduce(losses)
        ckpt = self.save()
        done = self.step - start_step
        result = TrainResult(self.step, final, losses, wall,
                             done * clips_per_step / wall if wall > 0 else 0.0,
                             str(ckpt) if ckpt else None, skipped)
        self._write_run_config(result)
        return result

    def _reduce(self, losses: list[float]) -> tuple[float, int]:
        """Mean loss of the last (up to) 10 steps and skipped clips, over all ranks."""
        tail = losses[-10:]
        skipped = int(getattr(self.source, "bad_count", 0))
        value = torch.tensor([sum(tail), len(tail), skipped], dtype=torch.float64)
        if self.dist.world_size > 1:
            value = value.to(self.device)
            dist.all_reduce(value)
            value = value.cpu()
        return (float(value[0] / value[1]) if value[1] else math.nan), int(value[2])

    def close(self) -> None:
        if self.dist.owns_group:
            dist.destroy_process_group()


def train(cfg: TrainConfig, recipe: Any = None, source: ClipSource | None = None,
          log=None) -> TrainResult:
    """Run one training job to ``cfg.steps`` (see ``TrainConfig``)."""
    trainer = Trainer(cfg, recipe, source, log)
    try:
        return trainer.run()
    finally:
        trainer.close()
