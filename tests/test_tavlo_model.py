"""TAVLO's architecture: shapes, one audio token per frame, where attention mixes."""

from __future__ import annotations

import dataclasses

import pytest

torch = pytest.importorskip("torch")

from avatar_bench.errors import AvatarBenchError  # noqa: E402
from avatar_bench.models.tavlo.config import (  # noqa: E402
    DEFAULT,
    SMALL,
    TINY,
    TAVLOConfig,
    load_config,
)
from avatar_bench.models.tavlo.model import TAVLO, AudioEncoder  # noqa: E402

pytestmark = pytest.mark.torch

# A second shape: odd T, layer4 stride 2, no audio stem, 3 heads.
OTHER = dataclasses.replace(TINY, frames=3, layer4_stride=2, feature_dim=16, temporal_dim=8,
                            heads=3, audio_channels=0, frame_interval=0.05, depth=2)


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(1)
    torch.manual_seed(0)


def _inputs(cfg: TAVLOConfig, b: int = 2):
    g = torch.Generator().manual_seed(1)
    frames = torch.randint(0, 256, (b, cfg.frames, cfg.image_size, cfg.image_size, 3),
                           dtype=torch.uint8, generator=g)
    return frames, torch.randn(b, cfg.audio_samples, generator=g) * 0.1


@pytest.mark.parametrize("cfg", [TINY, OTHER], ids=["tiny", "other"])
def test_shapes_through_every_block(cfg):
    model = TAVLO(cfg).eval()
    frames, audio = _inputs(cfg)
    b, t, hw, d = 2, cfg.frames, cfg.grid ** 2, cfg.dim
    v = model.encode_visual(frames)
    assert v.shape == (b, t, hw, cfg.feature_dim)
    spec = model.logmel(audio)
    assert spec.shape == (b, 1, cfg.n_mels, cfg.spec_frames)
    assert model.encode_audio(audio).shape == (b, t, cfg.feature_dim)
    z = model.tokens(frames, audio)
    assert z.shape == (b, t, 1 + hw, d)
    for block in model.blocks:
        z = block.spatial(z)
        assert z.shape == (b, t, 1 + hw, d)
        z = block.temporal(z)
        assert z.shape == (b, t, 1 + hw, d)
    a_out, v_out = model(frames, audio)
    assert a_out.shape == (b, t, d) and v_out.shape == (b, t, hw, d)
    maps = model.heatmaps(frames, audio)
    assert maps.shape == (b, t, cfg.grid, cfg.grid)
    assert maps.abs().max() <= 1.0 + 1e-5


def test_preset_grids_and_dims():
    assert (DEFAULT.grid, DEFAULT.dim, DEFAULT.frames, DEFAULT.image_size) == (7, 576, 8, 224)
    assert (SMALL.grid, SMALL.image_size) == (7, 112)
    assert TINY.grid == 4 and OTHER.grid == 2
    for cfg in (DEFAULT, SMALL, TINY):
        cfg.validate()


@pytest.mark.parametrize("frames,width", [(8, 81), (8, 201), (4, 15), (4, 4), (5, 99), (3, 17),
                                          (16, 100)])
@pytest.mark.parametrize("channels", [0, 4])
def test_exactly_one_audio_token_per_frame(frames, width, channels):
    enc = AudioEncoder(n_mels=20, frames=frames, spec_frames=width, out_dim=6,
                       channels=channels)
    # The defining layer: kernel spans every frequency bin it sees, floor(W_a/T) columns,
    # with that stride.
    k = width // frames
    assert enc.token.kernel_size == (enc.freq_bins, k)
    assert enc.token.stride[1] == k
    assert enc.freq_bins == (20 if channels == 0 else 5)
    out = enc(torch.randn(2, 1, 20, width))
    assert out.shape == (2, frames, 6)


def test_audio_token_t_sees_only_its_own_time_slice():
    enc = AudioEncoder(n_mels=8, frames=4, spec_frames=16, out_dim=3, channels=0).eval()
    spec = torch.randn(1, 1, 8, 16)
    base = enc(spec)
    spec2 = spec.clone()
    spec2[..., 4:8] += 5.0                        # the second frame's columns
    diff = (enc(spec2) - base).abs().sum(-1)[0]
    assert diff[1] > 0 and diff[0] == 0 and diff[2] == 0 and diff[3] == 0


def test_too_short_audio_is_rejected():
    with pytest.raises(AvatarBenchError, match="fewer than frames"):
        load_config("tiny", frame_interval=0.001)
    with pytest.raises(AvatarBenchError, match="divisible"):
        load_config("tiny", heads=3)


def test_positional_encodings_added_and_concatenated():
    model = TAVLO(TINY).eval()
    frames, audio = _inputs(TINY)
    z = model.tokens(frames, audio)
    d_f = TINY.feature_dim
    pos_t = model.temporal_pos.detach()
    # Temporal encoding is concatenated to the audio token and every visual token.
    assert torch.equal(z[:, :, 0, d_f:], pos_t.expand(2, -1, -1))
    assert torch.equal(z[:, :, 5, d_f:], pos_t.expand(2, -1, -1))
    # Spatial encoding is added to the visual features (first D_f dims) only.
    with torch.no_grad():
        model.spatial_pos.add_(1.0)
    z2 = model.tokens(frames, audio)
    assert torch.allclose(z2[:, :, 1:, :d_f] - z[:, :, 1:, :d_f], torch.ones(1))
    assert torch.equal(z2[:, :, 0], z[:, :, 0])


def _changed(x, y) -> bool:
    """Clearly different, not float noise."""
    return bool((x - y).abs().max() > 1e-3)


def _z(cfg: TAVLOConfig):
    return torch.randn(2, cfg.frames, 1 + cfg.grid ** 2, cfg.dim)


def test_temporal_attention_mixes_time():
    block = TAVLO(TINY).blocks[0].eval()
    z = _z(TINY)
    z2 = z.clone()
    z2[:, 3] += torch.randn_like(z2[:, 3])     # change frame t2 = 3 (not a constant: LN)
    out, out2 = block.temporal(z), block.temporal(z2)
    assert _changed(out[:, 0], out2[:, 0])   # frame t1 = 0 changes
    full, full2 = block(z), block(z2)
    assert _changed(full[:, 0], full2[:, 0])


def test_spatial_attention_alone_does_not_mix_frames():
    block = TAVLO(TINY).blocks[0].eval()
    z = _z(TINY)
    z2 = z.clone()
    z2[:, 3] += torch.randn_like(z2[:, 3])
    out, out2 = block.spatial(z), block.spatial(z2)
    assert torch.equal(out[:, :3], out2[:, :3])       # frames 0..2 untouched
    assert _changed(out[:, 3], out2[:, 3])


def test_spatial_attention_mixes_audio_and_locations_of_a_frame():
    block = TAVLO(TINY).blocks[0].eval()
    z = _z(TINY)
    z2 = z.clone()
    z2[:, 1, 4] += torch.randn_like(z2[:, 1, 4])  # one visual token of frame 1
    out, out2 = block.spatial(z), block.spatial(z2)
    assert _changed(out[:, 1, 0], out2[:, 1, 0])  # that frame's audio token
    # temporal attention alone keeps token positions apart
    t1, t2 = block.temporal(z), block.temporal(z2)
    assert torch.equal(t1[:, :, 0], t2[:, :, 0])


def test_visual_projection_only_when_needed():
    assert isinstance(TAVLO(TINY).visual_proj, torch.nn.Conv2d)
    assert isinstance(TAVLO(dataclasses.replace(TINY, feature_dim=512, temporal_dim=0,
                                                heads=4)).visual_proj, torch.nn.Identity)


def test_resnet_layout_matches_torchvision_keys():
    keys = set(TAVLO(TINY).visual.state_dict())
    assert {"conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight",
            "layer4.1.bn2.weight", "layer2.0.downsample.0.weight",
            "layer4.0.downsample.1.bias"} <= keys
    assert not any(k.startswith("fc.") for k in keys)


def test_without_cross_modal_attention_streams_never_see_each_other():
    cfg = dataclasses.replace(TINY, cross_modal_attention=False, depth=2)
    model = TAVLO(cfg).eval()
    frames, audio = _inputs(cfg)
    other_frames = frames.flip(0)
    with torch.no_grad():
        a, v = model(frames, audio)
        a_f, v_f = model(other_frames, audio)          # new pictures, same sound
        a_a, v_a = model(frames, audio.flip(0))        # same pictures, new sound
    assert torch.allclose(a, a_f, atol=1e-6)           # audio tokens ignore the frames
    assert torch.allclose(v, v_a, atol=1e-6)           # visual tokens ignore the audio
    assert _changed(v, v_f) and _changed(a, a_a)
    paper = TAVLO(dataclasses.replace(cfg, cross_modal_attention=True)).eval()
    paper.load_state_dict(model.state_dict())          # same weights, only the mask differs
    with torch.no_grad():
        assert _changed(paper(frames, audio)[0], paper(other_frames, audio)[0])
