"""Does a TAVLO checkpoint use its audio? Prints the audio-reliance probe for each checkpoint.

    python benchmarks/tavlo_audio_reliance.py runs/tavlo/checkpoint.pth [more.pth ...]

Windows come from fresh AVATAR-mini training clips (stream seed --stream-seed, never a test
clip; --version 2 for the v2 world).
``own`` and ``swapped_audio`` are the mean positive responses with each window's own
audio and with another window's; ``reliance`` is their difference (about 0: the model does not
listen). See avatar_bench/models/tavlo/diagnose.py and docs/tavlo.md.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from avatar_bench.data.mini import training_clips
from avatar_bench.models.tavlo.diagnose import audio_reliance, stack_windows
from avatar_bench.models.tavlo.recipe import TAVLORecipe, load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--clips", type=int, default=16, help="windows (one per clip)")
    parser.add_argument("--stream-seed", type=int, default=99)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--version", type=int, default=1, choices=(1, 2),
                        help="AVATAR-mini world the windows come from (2: mini-v2)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clips = list(training_clips(args.stream_seed, args.clips, version=args.version))
    for path in args.checkpoints:
        model = load_model(path)
        recipe = TAVLORecipe(config=model.cfg)
        rng = np.random.default_rng(0)
        frames, audio = stack_windows(recipe.sample(c, rng) for c in clips)
        figures = audio_reliance(model, frames, audio)
        print(json.dumps({"checkpoint": path, "windows": args.clips, "world": args.version,
                          "cross_modal_attention": model.cfg.cross_modal_attention,
                          "negative_pool": model.cfg.negative_pool,
                          **{k: round(v, 4) for k, v in figures.items()}}))


if __name__ == "__main__":
    main()
