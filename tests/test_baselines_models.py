"""Baseline models: official key/shape layout, forward shapes, map definitions."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from avatar_bench.models.baselines.checkpoints import (  # noqa: E402
    OFFICIAL_KEYS_FILE,
    expected_shapes,
    model_class,
)

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


def test_packaged_key_table_has_the_official_structure():
    """The shipped table, checked by rules written from the official model code (no copy of
    the table is needed): EZ-VSL = ResNet-18 trunk (no fc) x 2 + one projection per modality;
    SLAVC = two heads per modality plus momentum copies of every encoder and head; SSL-TIE =
    full ResNet-18s with layer4 at stride 1, 1-channel conv1_a, unused conv1_flow / fc /
    vision_fc1 / conv3 / norm3."""
    table = json.loads(OFFICIAL_KEYS_FILE.read_text())
    assert sorted(table) == ["ezvsl", "slavc", "ssltie"]
    ez, sl, ssl = table["ezvsl"], table["slavc"], table["ssltie"]
    # ResNet-18 trunk: conv1 + bn1 (5 entries incl. num_batches_tracked) + 4 layers x 2
    # blocks x (2 conv + 2 bn x 5) + 3 downsamples x (conv + bn x 5) = 1 + 5 + 8 * 12 + 18.
    trunk = 1 + 5 + 8 * 12 + 3 * 6
    assert trunk == 120
    assert len(ez) == 2 * trunk + 4 == 244
    assert ez["img_proj.weight"] == [512, 512, 1, 1] and ez["aud_proj.weight"] == [512, 512]
    assert ez["audnet.conv1.weight"] == [64, 1, 7, 7] and ez["imgnet.conv1.weight"] == [64, 3, 7, 7]
    online = {k for k in sl if not k.startswith("momentum_")}
    assert {k for k in sl if k.startswith("momentum_")} == {"momentum_" + k for k in online}
    assert len(sl) == 2 * (2 * trunk + 8) == 496
    assert sl["img_proj2.weight"] == [512, 512, 1, 1] and sl["momentum_aud_proj1.bias"] == [512]
    assert {k for k in online if not k.startswith(("img_proj", "aud_proj"))} == {
        k for k in ez if not k.startswith(("img_proj", "aud_proj"))}
    assert ssl["imgnet.conv1_a.weight"] == [64, 1, 7, 7]
    assert ssl["imgnet.layer4.0.downsample.0.weight"] == [512, 256, 1, 1]
    assert ssl["audnet.fc.weight"] == [1000, 512]
    assert {k.split(".")[0] for k in ssl} == {"imgnet", "audnet", "vision_fc1", "conv3", "norm3"}
    assert len(ssl) == 257


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


def _mean_of_heads(model, img, spec, momentum: bool):
    """Independent reference: mean of the two heads' cosine maps over tau (0.03)."""
    i1, i2 = model.image_heads(img, momentum=momentum)
    a1, a2 = model.audio_heads(spec, momentum=momentum)
    return (torch.einsum("nchw,nc->nhw", i1, a1) + torch.einsum("nchw,nc->nhw", i2, a2)) / 2 / 0.03


def test_slavc_test_map_uses_online_encoders_unless_asked():
    """Official test.py: --use_mom_eval defaults to False and the release test scripts do not
    pass it, so the published maps come from the online encoders."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    m = model_class("slavc")().eval()
    assert m.use_mom_eval is False
    img, spec = torch.randn(1, 3, 224, 224), torch.randn(1, 1, 257, 200)
    with torch.no_grad():
        # Make the momentum copies differ from the online nets so the two maps differ.
        for p in m.momentum_img_proj2.parameters():
            p.add_(0.5)
        online = _mean_of_heads(m, img, spec, momentum=False)
        momentum = _mean_of_heads(m, img, spec, momentum=True)
        got = m(img, spec)
        m.use_mom_eval = True
        got_mom = m(img, spec)
    assert not torch.allclose(online, momentum, atol=1e-2)
    assert torch.allclose(got, online, atol=1e-4)
    assert torch.allclose(got_mom, momentum, atol=1e-4)
