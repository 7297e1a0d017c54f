"""``avatar-bench train``: self-supervised training of TAVLO or a baseline (flags only)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from avatar_bench.cli.common import MAX_WORKERS, SEED_MAX, finite_number, parse_options
from avatar_bench.errors import AvatarBenchError
from avatar_bench.models.registry import TORCH_HINT

MODELS = ("tavlo", "ezvsl", "slavc", "ssltie")
STREAMS = ("mini", "mini-v2", "synthetic")


def _stream(dataset: str | None, data: str | None) -> str:
    """``--dataset``, or the deprecated ``--data`` (one warning line), default mini."""
    if data is not None:
        click.echo("warning: --data is deprecated; use --dataset (same values)", err=True)
        if dataset is not None and dataset != data:
            raise AvatarBenchError(f"--dataset {dataset} and --data {data} disagree: give "
                                   "--dataset only")
    return dataset or data or "mini"


@click.command("train")
@click.option("--model", "-m", "model", type=click.Choice(MODELS), required=True,
              help="What to train.")
@click.option("--config", "config", default=None,
              help="TAVLO: a preset (tiny, small, default) or a JSON file of TAVLOConfig "
                   "fields. Baselines: a JSON file of recipe options.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Extra recipe option (JSON value), repeatable; e.g. --option depth=2.")
@click.option("--dataset", "dataset", type=click.Choice(STREAMS), default=None,
              help="Built-in training stream: mini (AVATAR-mini), mini-v2 or synthetic (tiny "
                   "clips, for smoke tests). Default: mini; ignored with --data-dir.")
@click.option("--data", "data", type=click.Choice(STREAMS), default=None, hidden=True,
              help="Deprecated spelling of --dataset.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Folder of VGGSound-style .mp4 clips (searched recursively).")
@click.option("--clip-list", type=click.Path(dir_okay=False), default=None,
              help="Ids to train on, one per line (file stems), e.g. vggsound_10k.txt.")
@click.option("--skip-bad", is_flag=True,
              help="Skip (and count) unreadable or audio-less clips instead of stopping.")
@click.option("--steps", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Total optimiser steps (a resumed run counts on from its step).")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True,
              help="Clips per step per process.")
@click.option("--lr", type=float, default=None, callback=finite_number(0, strict=True),
              help="Learning rate (default: the recipe's).")
@click.option("--seed", type=click.IntRange(0, SEED_MAX), default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N.")
@click.option("--amp/--no-amp", default=None,
              help="bf16 autocast (default: on for CUDA; CPU runs in float32).")
@click.option("--num-workers", type=click.IntRange(0, MAX_WORKERS), default=2, show_default=True,
              help="DataLoader worker processes (decode/render + sampling).")
@click.option("--threads", type=click.IntRange(0, MAX_WORKERS), default=0, show_default=True,
              help="Torch CPU threads of the training process (0: torch's default). On a "
                   "busy CPU, 1 can be several times faster than oversubscribing.")
@click.option("--output", "-o", type=click.Path(file_okay=False), default=None,
              help="Checkpoint folder (default: runs/<model>).")
@click.option("--checkpoint-every", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also checkpoint every N steps (0: only at the end).")
@click.option("--resume", is_flag=True, help="Continue from OUTPUT/checkpoint.pth.")
def train(model, config, options, dataset, data, data_dir, clip_list, skip_bad, steps,
          batch_size, lr, seed, device, amp, num_workers, threads, output, checkpoint_every,
          resume) -> None:
    """Train MODEL; writes OUTPUT/checkpoint.pth, trainer_state.pth and train_config.json.

    Multi-GPU: torchrun --nproc_per_node N "$(which avatar-bench)" train ... (see
    docs/training.md).
    """
    try:
        from avatar_bench.train.trainer import TrainConfig
        from avatar_bench.train.trainer import train as run_training
    except ModuleNotFoundError as exc:
        if exc.name != "torch":
            raise
        raise AvatarBenchError(f"training needs PyTorch, which is not installed: {TORCH_HINT}"
                               ) from exc

    data = _stream(dataset, data)
    recipe_options = parse_options(options)
    if config is not None:
        if model == "tavlo":
            recipe_options["config"] = config
        else:
            try:
                recipe_options = {**json.loads(Path(config).read_text()), **recipe_options}
            except (OSError, json.JSONDecodeError) as exc:
                raise AvatarBenchError(f"--config {config}: cannot read recipe options: "
                                       f"{exc}") from exc
    cfg = TrainConfig(
        model=model, recipe_options=recipe_options, data=data, data_dir=data_dir,
        clip_list=clip_list, skip_bad=skip_bad, steps=steps, batch_size=batch_size, lr=lr,
        num_workers=num_workers, seed=seed, device=device, amp=amp,
        checkpoint_dir=output or str(Path("runs") / model), checkpoint_every=checkpoint_every,
        resume=resume, threads=threads)
    result = run_training(cfg, log=lambda msg: click.echo(msg, err=True))
    if result.checkpoint is None:
        return  # not rank 0
    click.echo(f"trained {model} to step {result.step}: wall time {result.wall_s:.1f} s, "
               f"{result.clips_per_s:.2f} clips/s, final loss {result.final_loss:.4f}")
    if result.skipped_clips:
        click.echo(f"warning: skipped {result.skipped_clips} bad clip(s) (--skip-bad)", err=True)
    click.echo(f"checkpoint: {result.checkpoint}")


COMMANDS = [train]


if __name__ == "__main__":  # torchrun ... -m avatar_bench.cli.train --model tavlo ...
    train()
