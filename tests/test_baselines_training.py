"""Training recipes: the objectives go down, SLAVC's EMA moves only when told, sampling and
official-layout checkpoints round-trip."""

from __future__ import annotations

import types

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from avatar_bench.models.baselines.losses import (  # noqa: E402
    RandomTransform,
    ezvsl_loss,
    ssltie_logits,
)
from avatar_bench.models.baselines.recipes import (  # noqa: E402
    EZVSLRecipe,
    SLAVCRecipe,
    SSLTIERecipe,
)

RECIPES = {"ezvsl": EZVSLRecipe, "slavc": SLAVCRecipe, "ssltie": SSLTIERecipe}


def fake_clip(seed: int = 0, seconds: float = 4.0, sr: int = 8000):
    rng = np.random.default_rng(seed)
    return types.SimpleNamespace(
        clip_id=f"clip{seed}", frames=rng.integers(0, 256, (2, 48, 80, 3), dtype=np.uint8),
        frame_indices=np.array([3, 30]), n_frames_total=40, fps=10.0,
        audio=(0.3 * rng.standard_normal(int(seconds * sr))).astype(np.float32),
        sample_rate=sr)


def fixed_batch(recipe, n: int = 4) -> dict[str, torch.Tensor]:
    rng = np.random.default_rng(0)
    samples = [recipe.sample(fake_clip(i), rng) for i in range(n)]
    return {k: torch.from_numpy(np.stack([s[k] for s in samples])) for k in samples[0]}


def loss_at(recipe, model, batch, seed: int = 0) -> torch.Tensor:
    torch.manual_seed(seed)          # same dropout masks / transforms before and after
    return recipe.loss(model, batch)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_one_step_lowers_the_loss(name):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    # Adam (the recipes' optimiser) with a small step: at 64 px the tau=0.03 logits make
    # the gradients large and lr 1e-4 can overshoot on a 4-sample batch.
    recipe = RECIPES[name](image_size=64, audio_window=1.0, lr=1e-5)
    model = recipe.build_model().train()
    batch = fixed_batch(recipe)
    opt = recipe.optimizer(model)
    before = loss_at(recipe, model, batch)
    assert torch.isfinite(before) and before.ndim == 0
    opt.zero_grad()
    before.backward()
    opt.step()
    with torch.no_grad():
        after = loss_at(recipe, model, batch)
    assert float(after) < float(before.detach())


def test_unknown_recipe_option_is_refused():
    from avatar_bench.errors import AvatarBenchError

    with pytest.raises(AvatarBenchError, match="image_sise"):
        EZVSLRecipe(image_sise=64)
    assert SSLTIERecipe(trans_equi_weight=0.5).equi_weight == 0.5
    with pytest.raises(AvatarBenchError, match="module_prefix"):
        EZVSLRecipe(module_prefix="maybe")


def test_sample_shapes_and_front_end():
    rng = np.random.default_rng(0)
    clip = fake_clip(seconds=12.0, sr=16000)
    s = EZVSLRecipe(image_size=112).sample(clip, rng)
    assert s["image"].shape == (3, 112, 112) and s["image"].dtype == np.float32
    assert s["audio"].shape == (1, 257, 200)
    t = SSLTIERecipe(image_size=96).sample(clip, rng)
    assert t["image"].shape == (3, 96, 96) and t["audio"].shape == (1, 257, 670)


def test_slavc_ema_moves_only_in_after_step():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    recipe = SLAVCRecipe(image_size=64, audio_window=1.0)
    model = recipe.build_model().train()
    batch = fixed_batch(recipe)
    mom = {k: v.clone() for k, v in model.momentum_audnet.named_parameters()}
    opt = recipe.optimizer(model)
    loss = recipe.loss(model, batch)
    opt.zero_grad()
    loss.backward()
    opt.step()
    for k, v in model.momentum_audnet.named_parameters():
        assert torch.equal(v, mom[k]), k                 # loss + step: EMA untouched
        assert v.grad is None
    recipe.after_step(model)
    moved = [k for k, v in model.momentum_audnet.named_parameters()
             if not torch.equal(v, mom[k])]
    assert moved
    k = "conv1.weight"
    online = dict(model.audnet.named_parameters())[k]
    want = 0.999 * mom[k] + 0.001 * online.detach()
    assert torch.allclose(dict(model.momentum_audnet.named_parameters())[k], want, atol=1e-7)


#: The fields each official trainer reads back on resume (EZ-VSL/SLAVC train.py, SSL-TIE
#: main.py), written out by hand from their code.
OFFICIAL_LAYOUT = {
    "ezvsl": {"model", "optimizer", "epoch", "best_cIoU", "best_Auc"},
    "slavc": {"model", "optimizer", "epoch", "best_Precision", "best_AP", "best_F1"},
    "ssltie": {"epoch", "state_dict", "best_miou", "optimizer", "iteration"},
}


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_checkpoint_is_official_layout_and_restores(tmp_path, name):
    torch.set_num_threads(1)
    recipe = RECIPES[name](image_size=64, audio_window=1.0)
    model = recipe.build_model()
    opt = recipe.optimizer(model)
    ckpt = recipe.checkpoint(model, opt, step=17)
    assert set(ckpt) == OFFICIAL_LAYOUT[name]
    path = tmp_path / "ck.pth"
    torch.save(ckpt, path)
    loaded = torch.load(path, weights_only=True)
    other = recipe.build_model()
    step = recipe.restore(other, recipe.optimizer(other), loaded)
    assert step == 17
    key = "imgnet.layer1.0.conv1.weight"
    assert torch.equal(other.state_dict()[key], model.state_dict()[key])
    from avatar_bench.models.baselines.checkpoints import load_official

    load_official(name, path)                       # the adapter reads our file too


class _DDPLike(torch.nn.Module):
    """What DistributedDataParallel looks like to load_state_dict: the model under .module."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.module = model


@pytest.mark.parametrize("name", ["ezvsl", "slavc"])
def test_official_ddp_resume_reads_our_prefixed_checkpoint(tmp_path, name):
    """Their train.py under --multiprocessing_distributed: ``model = DDP(model)``, then
    ``model.load_state_dict(ckp['model'])`` (strict), ``optimizer.load_state_dict``, with
    Adam over ``filter(lambda p: p.requires_grad, model.parameters())``, and the fields."""
    torch.set_num_threads(1)
    recipe = RECIPES[name](image_size=64, audio_window=1.0, module_prefix="true")
    model = recipe.build_model()
    opt = recipe.optimizer(model)
    loss = recipe.loss(model, fixed_batch(recipe, n=2))
    loss.backward()
    opt.step()
    torch.save(recipe.checkpoint(model, opt, step=4), tmp_path / "latest.pth")
    ckp = torch.load(tmp_path / "latest.pth", weights_only=True)
    theirs = _DDPLike(RECIPES[name](image_size=64).build_model())
    theirs.load_state_dict(ckp["model"])               # strict: every key has module.
    their_opt = torch.optim.Adam(filter(lambda p: p.requires_grad, theirs.parameters()))
    their_opt.load_state_dict(ckp["optimizer"])
    fields = [ckp[k] for k in sorted(OFFICIAL_LAYOUT[name] - {"model", "optimizer"})]
    assert ckp["epoch"] == 4 and all(isinstance(v, (int, float)) for v in fields)
    w = "audnet.conv1.weight"
    assert torch.equal(theirs.module.state_dict()[w], model.state_dict()[w])
    # ...and ours still resumes from it (the prefix is stripped).
    again = recipe.build_model()
    assert recipe.restore(again, recipe.optimizer(again), ckp) == 4
    assert torch.equal(again.state_dict()[w], model.state_dict()[w])


def test_ssltie_resume_and_prefix_rules(tmp_path):
    """SSL-TIE's main.py resumes into the unwrapped model, so no prefix is offered."""
    from avatar_bench.errors import AvatarBenchError

    with pytest.raises(AvatarBenchError, match="module_prefix"):
        SSLTIERecipe(module_prefix=True)
    recipe = SSLTIERecipe(image_size=64)
    model = recipe.build_model()
    ckp = recipe.checkpoint(model, recipe.optimizer(model), step=6)
    theirs = SSLTIERecipe(image_size=64).build_model()
    theirs.load_state_dict(ckp["state_dict"])
    torch.optim.Adam(theirs.parameters()).load_state_dict(ckp["optimizer"])
    assert (ckp["epoch"], ckp["iteration"], ckp["best_miou"]) == (6, 6, 0.0)


def test_slavc_optimizer_excludes_momentum_copies_and_old_state_still_resumes():
    torch.set_num_threads(1)
    recipe = SLAVCRecipe(image_size=64, audio_window=1.0)
    model = recipe.build_model()
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert len(trainable) < len(list(model.parameters()))
    opt = recipe.optimizer(model)
    assert sum(len(g["params"]) for g in opt.param_groups) == len(trainable)
    # A state saved by the former optimizer (Adam over every parameter) maps by position.
    old = torch.optim.Adam(model.parameters())
    recipe.loss(model, fixed_batch(recipe, n=2)).backward()
    old.step()
    ckp = recipe.checkpoint(model, old, step=1)
    fresh = recipe.build_model()
    new_opt = recipe.optimizer(fresh)
    recipe.restore(fresh, new_opt, ckp)
    first = next(p for p in model.parameters() if p.requires_grad)
    want = old.state[first]["exp_avg"]
    got = new_opt.state[new_opt.param_groups[0]["params"][0]]["exp_avg"]
    assert torch.equal(got, want)


def test_ssltie_recipe_matches_release_scripts():
    """train_VGGSound*.sh: --max_rotation_angle 30 --aud_aug SpecAug."""
    recipe = SSLTIERecipe()
    assert recipe.max_angle == 30 and recipe.spec_aug is True
    # Adam weight decay: SSL-TIE's opts.py default 1e-4; EZ-VSL/SLAVC train.py default 0.
    ssl_opt = recipe.optimizer(torch.nn.Linear(2, 2))
    ez_opt = EZVSLRecipe().optimizer(torch.nn.Linear(2, 2))
    assert ssl_opt.param_groups[0]["weight_decay"] == 1e-4
    assert ez_opt.param_groups[0]["weight_decay"] == 0.0
    assert SSLTIERecipe(max_rotation_angle=45, spec_aug="false").spec_aug is False


class _Draws:
    """A stand-in RNG returning fixed uniforms, to check the masks by hand."""

    def __init__(self, values):
        self.values = list(values)

    def random(self):
        return self.values.pop(0)


def test_spec_augment_masks_like_torchaudio():
    from avatar_bench.models.baselines.recipes import spec_augment

    spec = np.zeros((1, 257, 670), np.float32)
    # apply (0.5 < 0.8); time width int(0.5*180)=90 from int(0.25*(670-90))=145;
    # freq width int(0.2*35)=7 from int(0.5*(257-7.0))=125.
    out = spec_augment(spec, _Draws([0.5, 0.5, 0.25, 0.2, 0.5]))
    want = np.zeros_like(spec)
    want[:, :, 145:235] = -100.0
    want[:, 125:132, :] = -100.0
    np.testing.assert_array_equal(out, want)
    assert not spec.any()                                      # input untouched
    same = spec_augment(spec, _Draws([0.85]))                  # not applied (p = 0.8)
    np.testing.assert_array_equal(same, spec)
    rng = np.random.default_rng(0)
    applied = np.mean([spec_augment(spec, rng).any() for _ in range(400)])
    assert 0.72 < applied < 0.88


def test_ezvsl_loss_prefers_matching_pairs():
    img = torch.nn.functional.normalize(torch.randn(3, 8, 2, 2), dim=1)
    aud = img[:, :, 0, 0].clone()                     # each audio equals one location
    wrong = aud.roll(1, dims=0)
    assert float(ezvsl_loss(img, aud, 0.03)) < float(ezvsl_loss(img, wrong, 0.03))


def test_ssltie_logits_layout():
    img = torch.nn.functional.normalize(torch.randn(3, 8, 4, 4), dim=1)
    aud = torch.nn.functional.normalize(torch.randn(3, 8), dim=1)
    a, logits = ssltie_logits(img, aud)
    assert a.shape == (3, 1, 4, 4) and logits.shape == (3, 1 + 3 + 1)
    easy = logits[:, 1:4]
    assert torch.all(easy.diagonal() < -50)        # own clip masked by the -99 factor


def test_random_transform_rotates_like_opencv():
    x = torch.zeros(1, 1, 224, 224)
    x[..., 20:40, 150:170] = 1
    tf = RandomTransform(1)
    tf.scale, tf.angles, tf.flip = 1.0, torch.tensor([90.0]), False
    y = tf(x)[0, 0]
    rows, cols = torch.nonzero(y > 0.5, as_tuple=True)
    assert abs(float(rows.float().mean()) - 64.5) < 1 and abs(float(cols.float().mean()) - 29.5) < 1
    tf2 = RandomTransform(2)
    tf2.scale, tf2.flip = 0.5, True
    assert tf2(torch.zeros(2, 1, 14, 14)).shape == (2, 1, 7, 7)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_shared_trainer_runs_and_resumes(tmp_path, name):
    """Two steps through the shared trainer on synthetic clips, then a resumed third step."""
    torch.set_num_threads(1)
    from avatar_bench.models.baselines.checkpoints import load_official
    from avatar_bench.train.trainer import TrainConfig, train

    cfg = TrainConfig(model=name, data="synthetic", steps=2, batch_size=2, num_workers=0,
                      device="cpu", checkpoint_dir=str(tmp_path), log_every=0,
                      recipe_options={"image_size": 64, "audio_window": 1.0})
    result = train(cfg)
    assert result.step == 2 and np.isfinite(result.final_loss)
    ckpt = torch.load(tmp_path / "checkpoint.pth", weights_only=True)
    assert ckpt["epoch"] == 2
    load_official(name, tmp_path / "checkpoint.pth")
    cfg.steps, cfg.resume = 3, True
    assert train(cfg).step == 3
