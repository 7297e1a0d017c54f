"""Two-process DDP on CPU (gloo): different data per rank, identical weights at the end."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.torch, pytest.mark.slow]


def _rank_main(rank: int, world: int, tmp: str) -> None:
    """One rank: join a file-rendezvous gloo group, train the tiny TAVLO, dump its weights."""
    import torch.distributed as dist

    from avatar_bench.train.trainer import TrainConfig, Trainer

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{tmp}/rendezvous", rank=rank,
                            world_size=world)
    try:
        cfg = TrainConfig(model="tavlo", recipe_options={"config": "tiny"}, data="synthetic",
                          steps=2, batch_size=2, num_workers=0, seed=0, device="cpu",
                          checkpoint_dir=f"{tmp}/out", log_every=0)
        trainer = Trainer(cfg)
        assert trainer.dist.world_size == world and trainer.dist.rank == rank
        result = trainer.run()
        params = {k: v.detach().clone() for k, v in trainer.model.named_parameters()}
        torch.save({"losses": result.losses, "final": result.final_loss,
                    "checkpoint": result.checkpoint, "params": params},
                   f"{tmp}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_gloo_ranks_end_with_identical_weights(tmp_path):
    import torch.multiprocessing as mp

    mp.spawn(_rank_main, args=(2, str(tmp_path)), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=False)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=False)
    assert r0["params"] and r0["params"].keys() == r1["params"].keys()
    for name, value in r0["params"].items():
        assert torch.equal(value, r1["params"][name]), name
    assert r0["losses"] != r1["losses"]                 # each rank saw different clips
    assert r0["final"] == r1["final"]                   # the reported loss is all-reduced
    assert r0["checkpoint"] and r1["checkpoint"] is None  # only rank 0 writes
    saved = torch.load(r0["checkpoint"], weights_only=False)["model"]
    for name, value in r0["params"].items():
        assert torch.equal(saved[name], value)          # no "module." prefix, final weights


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_torchrun_launch_uses_the_environment(tmp_path):
    """WORLD_SIZE/RANK/LOCAL_RANK from torchrun -> gloo group on CPU; rank 0 alone reports."""
    import os
    import subprocess
    import sys

    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "AVATAR_BENCH_QUIET": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
         "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
         "-m", "avatar_bench.cli.train", "--model", "tavlo", "--config", "tiny",
         "--dataset", "synthetic", "--steps", "1", "--batch-size", "2", "--num-workers", "0",
         "--device", "cpu", "--threads", "1", "--output", str(out)],
        capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("trained tavlo to step 1") == 1
    state = torch.load(out / "trainer_state.pth", weights_only=False)
    assert state["world_size"] == 2 and state["step"] == 1
