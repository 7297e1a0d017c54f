"""``predict`` and ``models``: run a registered adapter into a predictions file."""

from __future__ import annotations

import warnings

import click

from avatar_bench.cli.common import (
    MAX_WORKERS,
    SEED_MAX,
    dataset_options,
    parse_options,
    positive_seconds,
)
from avatar_bench.errors import AvatarBenchError


def _create_quietly(model: str, options: dict):
    """Build the adapter; its Python warnings become one ``warning: ...`` line each
    (a raw UserWarning would print a source line too)."""
    from avatar_bench.models.registry import create

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        adapter = create(model, **options)
    shown = []
    for w in caught:
        text = str(w.message)
        if text not in shown:
            shown.append(text)
            click.echo(f"warning: {text}", err=True)
    return adapter, shown


@click.command()
@click.option("--model", "-m", required=True, help="Registered model name (see `models`).")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None,
              help="Weights file (official release or from `train`); without one a torch "
                   "model runs with random weights (flagged in the file's meta).")
@click.option("--device", default="cpu", show_default=True,
              help="Where the model runs: cpu, cuda or cuda:N (reference models ignore it).")
@click.option("--precision", type=click.Choice(["fp32", "bf16", "fp16"]), default="fp32",
              show_default=True,
              help="Autocast precision of the forward for torch models that allow it (maps "
                   "differ from fp32 within the tolerance in docs/predict.md).")
@click.option("--batch-size", type=click.IntRange(1, 4096), default=None,
              help="Frames (TAVLO: windows) per forward; default: the model's own (16, 8).")
@click.option("--audio-window", type=float, default=None, callback=positive_seconds,
              help="Seconds of audio around each frame (default: the model's, e.g. 3).")
@click.option("--seed", type=click.IntRange(0, SEED_MAX), default=0, show_default=True,
              help="Seed of random weights (no checkpoint) and of the `random` model.")
@click.option("--workers", type=click.IntRange(0, MAX_WORKERS), default=None,
              help="Decoding processes for torch models (default: CPU cores - 1, at most "
                   "4; 0 decodes in the main process).")
@click.option("--threads", type=click.IntRange(0, MAX_WORKERS), default=0, show_default=True,
              help="Torch CPU threads of the forward (0: torch's default).")
@click.option("--restart", is_flag=True,
              help="Discard an unfinished earlier run of this output (OUTPUT.partial/) "
                   "instead of continuing it.")
@click.option("--debug", is_flag=True, help="Print the traceback when the model fails.")
@click.option("--option", "extra", multiple=True, metavar="KEY=VALUE",
              help="A model option without its own flag, e.g. --option use_mom_eval=true "
                   "(SLAVC's momentum maps). VALUE is read as JSON when it parses "
                   "(true, 3, 0.5), else as text. Repeatable.")
@dataset_options
@click.option("--output", "-o", type=click.Path(dir_okay=False), required=True,
              help="Predictions file to write (.npz). An interrupted run keeps its finished "
                   "frames in OUTPUT.partial/; rerunning the same command continues it.")
def predict(model: str, checkpoint, device: str, precision: str, batch_size, audio_window,
            seed: int, workers, threads: int, restart: bool, debug: bool,
            extra: tuple[str, ...], load_dataset, output: str) -> None:
    """Run MODEL on every annotated frame and write a predictions file."""
    from avatar_bench.predict import PredictError, run_predict

    options = {"seed": seed, "device": device}
    given = {"checkpoint": checkpoint, "batch_size": batch_size, "audio_window": audio_window}
    options.update({k: v for k, v in given.items() if v is not None})
    for key, value in parse_options(extra).items():
        if key in options or key in given:
            raise AvatarBenchError(f"--option {key}: use the --{key.replace('_', '-')} flag")
        options[key] = value
    adapter, shown = _create_quietly(model, options)
    meta = adapter.meta()
    if meta.get("warning") and meta["warning"] not in shown:
        click.echo(f"warning: {meta['warning']}", err=True)
    if threads and adapter.requires_torch:
        import torch

        torch.set_num_threads(threads)
    ds = load_dataset()
    try:
        summary = run_predict(adapter, ds, output, precision=precision, workers=workers,
                              restart=restart, meta=meta,
                              log=lambda msg: click.echo(msg, err=True))
    except PredictError as exc:
        if debug and exc.debug_text:
            click.echo(exc.debug_text.rstrip(), err=True)
        raise
    resumed = f", {summary.resumed_frames} resumed" if summary.resumed_frames else ""
    click.echo(f"wrote {output} ({summary.n_frames} maps, model {model}{resumed})")


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
