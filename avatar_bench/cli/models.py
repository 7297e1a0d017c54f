"""``predict`` and ``models``: run a registered adapter into a predictions file."""

from __future__ import annotations

import click

from avatar_bench.cli.common import dataset_options
from avatar_bench.errors import AvatarBenchError


@click.command()
@click.option("--model", "-m", required=True, help="Registered model name (see `models`).")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None)
@click.option("--device", default="cpu", show_default=True)
@click.option("--batch-size", type=int, default=None)
@click.option("--audio-window", type=float, default=None, help="Seconds of audio (e.g. 3).")
@click.option("--seed", type=int, default=0, show_default=True)
@dataset_options
@click.option("--output", "-o", type=click.Path(dir_okay=False), required=True,
              help="Predictions file to write (.npz).")
def predict(model: str, checkpoint, device: str, batch_size, audio_window, seed: int,
            load_dataset, output: str) -> None:
    """Run MODEL on every annotated frame and write a predictions file."""
    from avatar_bench.eval.predictions import write_predictions
    from avatar_bench.models.registry import create
    from avatar_bench.progress import progress

    options = {"seed": seed, "device": device}
    given = {"checkpoint": checkpoint, "batch_size": batch_size, "audio_window": audio_window}
    options.update({k: v for k, v in given.items() if v is not None})
    adapter = create(model, **options)
    ds = load_dataset()
    items = progress(adapter.predict(ds, ds.frames), desc=f"predict {model}", total=len(ds),
                     unit="frame")
    write_predictions(output, items, len(ds), adapter.meta())
    click.echo(f"wrote {output} ({len(ds)} maps, model {model})")


@click.command("models")
def models_cmd() -> None:
    """List registered models."""
    from avatar_bench.models.registry import available, get_adapter_class

    for name, target in available().items():
        try:
            desc = get_adapter_class(name).description or target
        except AvatarBenchError:
            desc = f"needs [models] extra ({target})"
        click.echo(f"{name:<14}{desc}")


COMMANDS = [predict, models_cmd]
