"""Baseline models: official key/shape layout, forward shapes, map definitions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from avatar_bench.models.baselines.checkpoints import (  # noqa: E402
    OFFICIAL_KEYS_FILE,
    expected_shapes,
    model_class,
)

SHARED_KEYS = Path("/work/shared/official_checkpoint_keys.json")
COUNTS = {"ezvsl": 244, "slavc": 496, "ssltie": 257}


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return {name: model_class(name)().eval() for name in COUNTS}


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_state_dict_matches_official_layout(models, name):
    ours = {k: tuple(v.shape) for k, v in models[name].state_dict().items()}
    official = expected_shapes(name)
    assert len(official) == COUNTS[name]
    assert set(ours) == set(official), (sorted(set(ours) - set(official))[:5],
                                        sorted(set(official) - set(ours))[:5])
    assert {k: v for k, v in ours.items() if official[k] != v} == {}
    assert f"{'imgnet' if name != 'slavc' else 'momentum_imgnet'}.bn1.num_batches_tracked" in ours


@pytest.mark.skipif(not SHARED_KEYS.is_file(), reason="shared reference copy not present")
def test_packaged_key_table_is_the_reference():
    assert json.loads(OFFICIAL_KEYS_FILE.read_text()) == json.loads(SHARED_KEYS.read_text())


def test_torchvision_layout_details(models):
    sd = models["ezvsl"].state_dict()
    assert tuple(sd["audnet.conv1.weight"].shape) == (64, 1, 7, 7)
    assert tuple(sd["imgnet.layer2.0.downsample.0.weight"].shape) == (128, 64, 1, 1)
    assert not any(k.startswith(("imgnet.fc", "audnet.fc")) for k in sd)
    ssl = models["ssltie"]
    assert ssl.imgnet.layer4[0].conv1.stride == (1, 1)
    assert ssl.imgnet.layer4[0].downsample[0].stride == (1, 1)
    assert models["ezvsl"].imgnet.layer4[0].conv1.stride == (2, 2)


@pytest.mark.parametrize("name,side", [("ezvsl", 7), ("slavc", 7), ("ssltie", 14)])
def test_forward_shapes_at_224(models, name, side):
    torch.set_num_threads(1)
    spec_t = 670 if name == "ssltie" else 200
    with torch.no_grad():
        out = models[name](torch.randn(2, 3, 224, 224), torch.randn(2, 1, 257, spec_t))
    assert out.shape == (2, side, side)
    assert torch.isfinite(out).all()


def test_maps_are_cosines(models):
    torch.set_num_threads(1)
    img, spec = torch.randn(1, 3, 224, 224), torch.randn(1, 1, 257, 200)
    with torch.no_grad():
        ez = models["ezvsl"](img, spec)
        v = models["ezvsl"].embed_image(img)[0, :, 3, 4]
        a = models["ezvsl"].embed_audio(spec)[0]
        ssl = models["ssltie"](img, torch.randn(1, 1, 257, 670))
    assert float(ez[0, 3, 4]) == pytest.approx(float(v @ a) / 0.03, rel=1e-4)
    assert float(ez.abs().max()) <= 1 / 0.03 + 1e-3
    assert float(ssl.abs().max()) <= 1.0 + 1e-5


def test_slavc_map_is_mean_of_momentum_heads(models):
    torch.set_num_threads(1)
    m = models["slavc"]
    img, spec = torch.randn(1, 3, 224, 224), torch.randn(1, 1, 257, 200)
    with torch.no_grad():
        # Make the momentum copies differ from the online nets: the map must use the former.
        for p in m.momentum_img_proj2.parameters():
            p.add_(0.5)
        i1, i2 = m.image_heads(img, momentum=True)
        a1, a2 = m.audio_heads(spec, momentum=True)
        want = (torch.einsum("nchw,nc->nhw", i1, a1) + torch.einsum("nchw,nc->nhw", i2, a2)) / 2
        online = m.image_heads(img, momentum=False)[1]
        got = m(img, spec)
    assert torch.allclose(got, want / 0.03, atol=1e-4)
    assert not torch.allclose(online, i2)
