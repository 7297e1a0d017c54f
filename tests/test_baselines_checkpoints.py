"""Loading official checkpoints: wrappers, ``module.`` prefixes, strictness, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from avatar_bench.errors import AvatarBenchError  # noqa: E402
from avatar_bench.models.baselines.checkpoints import (  # noqa: E402
    expected_shapes,
    load_imagenet,
    load_official,
    looks_like,
    model_class,
)


def official_state(name: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors with exactly the official keys and shapes, ``module.``-prefixed."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for key, shape in expected_shapes(name).items():
        if key.endswith("num_batches_tracked"):
            out["module." + key] = torch.tensor(7)
        else:
            out["module." + key] = torch.rand(shape, generator=g) * 0.1
    return out


def wrap(name: str, sd: dict) -> dict:
    if name == "ssltie":
        return {"epoch": 3, "state_dict": sd, "best_miou": 0.4, "optimizer": {}, "iteration": 9}
    if name == "slavc":
        return {"model": sd, "optimizer": {}, "epoch": 3, "best_Precision": np.float64(0.3),
                "best_AP": 0.2, "best_F1": 0.1}
    return {"model": sd, "optimizer": {}, "epoch": 3, "best_cIoU": np.float64(0.3),
            "best_Auc": 0.2}


def test_official_checkpoint_fields_and_prefix():
    from avatar_bench.errors import AvatarBenchError
    from avatar_bench.models.baselines.checkpoints import model_class, official_checkpoint

    model = model_class("slavc")()
    ck = official_checkpoint("slavc", model, None, epoch=2, module_prefix=True,
                             best_Precision=0.5)
    assert (ck["best_Precision"], ck["best_AP"], ck["best_F1"], ck["epoch"]) == (0.5, 0, 0, 2)
    assert all(k.startswith("module.") for k in ck["model"])
    assert len(ck["model"]) == 496
    with pytest.raises(AvatarBenchError, match="best_cIoU"):
        official_checkpoint("slavc", model, None, epoch=2, best_cIoU=0.1)
    with pytest.raises(AvatarBenchError, match="prefix"):
        official_checkpoint("ssltie", model_class("ssltie")(), None, epoch=2, module_prefix=True)


@pytest.mark.parametrize("name", ["ezvsl", "ssltie", "slavc"])
def test_official_wrapped_file_loads_strictly(tmp_path, name):
    sd = official_state(name)
    path = tmp_path / f"{name}.pth"
    torch.save(wrap(name, sd), path)          # numpy scalar inside, as theirs may hold
    model = load_official(name, path)
    got = model.state_dict()
    probe = next(k for k in got if k.endswith("layer3.1.conv2.weight"))
    assert torch.equal(got[probe], sd["module." + probe])
    assert int(got[next(k for k in got if k.endswith("num_batches_tracked"))]) == 7


def test_plain_state_dict_without_prefix_loads():
    sd = {k[len("module."):]: v for k, v in official_state("ezvsl").items()}
    model = load_official("ezvsl", sd)
    assert torch.equal(model.state_dict()["aud_proj.bias"], sd["aud_proj.bias"])


def test_missing_and_unexpected_keys_are_listed():
    sd = official_state("ezvsl")
    del sd["module.aud_proj.bias"]
    sd["module.extra_head.weight"] = torch.zeros(3)
    sd["module.img_proj.weight"] = torch.zeros(256, 512, 1, 1)
    with pytest.raises(AvatarBenchError) as err:
        load_official("ezvsl", wrap("ezvsl", sd))
    msg = str(err.value)
    assert "does not match the EZ-VSL model" in msg
    assert "missing keys (1): aud_proj.bias" in msg
    assert "unexpected keys (1): extra_head.weight" in msg
    assert "img_proj.weight: file (256, 512, 1, 1) vs model (512, 512, 1, 1)" in msg


def test_cross_model_file_says_what_it_looks_like(tmp_path):
    path = tmp_path / "ssl.pth"
    torch.save(wrap("ssltie", official_state("ssltie")), path)
    with pytest.raises(AvatarBenchError) as err:
        load_official("ezvsl", path)
    msg = str(err.value)
    assert str(path) in msg
    assert "looks like an SSL-TIE checkpoint" in msg
    assert "(+" in msg                         # long key lists are summarised with counts
    assert looks_like(set(expected_shapes("slavc"))) == "slavc"
    assert looks_like({"foo.bar"}) is None


def test_not_a_checkpoint(tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a zip")
    with pytest.raises(AvatarBenchError, match="bad.pth"):
        load_official("ezvsl", bad)
    with pytest.raises(AvatarBenchError, match="does not exist"):
        load_official("ezvsl", tmp_path / "missing.pth")
    with pytest.raises(AvatarBenchError, match="no model state dict"):
        load_official("ezvsl", {"epoch": 1, "weights": "x"})


def test_imagenet_init_from_local_torchvision_file(tmp_path):
    torch.manual_seed(0)
    tv = {k: v for k, v in model_class("ssltie")().imgnet.state_dict().items()
          if not k.startswith(("conv1_a", "conv1_flow"))}   # a torchvision resnet18 layout
    tv = {k: torch.rand_like(v.float()).to(v.dtype) if v.dtype.is_floating_point else v
          for k, v in tv.items()}
    path = tmp_path / "resnet18.pth"
    torch.save(tv, path)
    slavc = model_class("slavc")()
    load_imagenet(slavc, path)
    for net in (slavc.imgnet, slavc.momentum_imgnet):
        got = net.state_dict()["layer4.1.bn2.running_var"]
        assert torch.equal(got, tv["layer4.1.bn2.running_var"])
    ssl = model_class("ssltie")()
    load_imagenet(ssl, path)
    assert torch.equal(ssl.imgnet.fc.weight, tv["fc.weight"])
    del tv["layer1.0.conv1.weight"]
    torch.save(tv, path)
    with pytest.raises(AvatarBenchError, match="layer1.0.conv1.weight"):
        load_imagenet(model_class("ezvsl")(), path)
