"""Is a coarse map grid the ceiling? Scores the ``oracle`` pooled to side x side grids.

    python benchmarks/pooled_oracle.py --dataset mini-v2 --sides 4 7 14

The oracle's 90x160 maps are average-pooled to each grid (as a model's raw map would be
before the evaluator's bilinear resize) and evaluated with the default protocol. If the
pooled oracle stays far above the floors, a model with that grid is not held at the floor
by its resolution.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import torch

from avatar_bench.eval.results import load_results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mini-v2")
    parser.add_argument("--sides", type=int, nargs="+", default=[4, 7, 14])
    args = parser.parse_args()
    cli = [shutil.which("avatar-bench") or "avatar-bench"]
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "oracle.npz"
        subprocess.run(cli + ["predict", "--model", "oracle", "--dataset", args.dataset,
                              "-o", str(full), "-q"], check=True, capture_output=True)
        z = np.load(full, allow_pickle=False)
        maps = torch.from_numpy(z["heatmaps"].astype(np.float32))[:, None]
        print(f"oracle pooled, {args.dataset}: CIoU % (Single / Mixed / Multi / Total / Cross)")
        for side in args.sides:
            small = torch.nn.functional.adaptive_avg_pool2d(maps, side)[:, 0].numpy()
            path, res = Path(tmp) / f"o{side}.npz", Path(tmp) / f"o{side}.json"
            np.savez(path, heatmaps=small, keys=z["keys"], meta=z["meta"])
            subprocess.run(cli + ["evaluate", str(path), "--dataset", args.dataset,
                                  "-o", str(res), "-q"], check=True, capture_output=True)
            m = load_results(res)["metrics"]
            vals = " / ".join(f"{m[s]['ciou']:.2f}" for s in
                              ("single_sound", "mixed_sound", "multi_entity", "total",
                               "cross_event"))
            print(f"  {side}x{side}: {vals}")


if __name__ == "__main__":
    main()
