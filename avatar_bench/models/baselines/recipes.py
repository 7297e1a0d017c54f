"""Training recipes for the three baselines (the shared trainer runs the loop).

Each sample is one frame of a clip (random frame, random resized crop + horizontal flip as in
EZ-VSL's training transform) and the audio window centred on that frame, through the
baseline's own front end. Checkpoints use the official layout, so a file we write loads in
the authors' code and theirs resumes here (their ``epoch`` field carries our step).

Default config (small enough for AVATAR-mini on 2 CPU cores): ``image_size`` 112 (the
originals use 224; the maps are then 4x4 / 7x7 instead of 7x7 / 14x14), ``lr`` 1e-4 (Adam,
as the originals), ``sample_rate`` 16000, ``audio_window`` = model default,
``imagenet_weights`` None (random init; pass a torchvision resnet18 file to match them).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from PIL import Image
from torch import nn

from avatar_bench.errors import AvatarBenchError
from avatar_bench.models.baselines.audio import DEFAULT_WINDOW, centred_window, front_end
from avatar_bench.models.baselines.checkpoints import (
    build_model,
    check_state_dict,
    official_checkpoint,
    unwrap_state_dict,
)
from avatar_bench.models.baselines.image import IMAGENET_MEAN, IMAGENET_STD
from avatar_bench.models.baselines.losses import (
    RandomTransform,
    contrastive_ce,
    equivariance_mse,
    ezvsl_loss,
    slavc_loss,
    ssltie_logits,
)
from avatar_bench.train.recipe import Recipe

DEFAULT_IMAGE_SIZE = 112
#: SSL-TIE's --aud_aug SpecAug: applied with probability 0.8, one time mask of up to 180
#: frames then one frequency mask of up to 35 mel bins, masked power set to 0 before dB.
SPEC_AUG_P, SPEC_AUG_TIME, SPEC_AUG_FREQ = 0.8, 180, 35
#: AmplitudeToDB of a masked (zero) power value: 10 log10(max(0, 1e-10)).
MASKED_DB = -100.0


def _mask_along(spec: np.ndarray, axis: int, param: int, rng: np.random.Generator) -> None:
    """One mask as torchaudio's ``mask_along_axis``: width = int(u * param), start =
    int(v * (size - u * param)), masked in place with ``MASKED_DB``. (``param`` is capped at
    the axis size, which only matters for windows shorter than their 10 s.)"""
    size = spec.shape[axis]
    value = rng.random() * min(param, size)
    start = max(0, int(rng.random() * (size - value)))
    stop = start + int(value)
    index = [slice(None)] * spec.ndim
    index[axis] = slice(start, stop)
    spec[tuple(index)] = MASKED_DB


def spec_augment(spec: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """SSL-TIE's training SpecAugment on a (1, mels, T) dB spectrogram (a masked copy).

    They mask the mel power with 0 before ``AmplitudeToDB``; masking the dB values with
    -100 (the dB of the 1e-10 floor) is the same result.
    """
    if rng.random() >= SPEC_AUG_P:
        return spec
    out = spec.copy()
    _mask_along(out, 2, SPEC_AUG_TIME, rng)
    _mask_along(out, 1, SPEC_AUG_FREQ, rng)
    return out


def _bare(model: nn.Module) -> nn.Module:
    """The model inside a DDP/DataParallel wrapper (state-dict keys without ``module.``)."""
    return getattr(model, "module", model)


def train_image(rgb: np.ndarray, size: int, rng: np.random.Generator,
                augment: bool = True) -> np.ndarray:
    """EZ-VSL's training transform: bicubic resize to 1.1 x size, random size x size crop,
    random horizontal flip, ImageNet normalisation -> 3 x size x size float32."""
    img = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8))
    big = int(size * 1.1) if augment else size
    # torchvision Resize(int) keeps the aspect ratio: the SHORT side becomes ``big``.
    w, h = img.size
    if augment:
        if w <= h:
            new = (big, max(big, int(big * h / w)))
        else:
            new = (max(big, int(big * w / h)), big)
    else:
        new = (size, size)
    img = img.resize(new, Image.BICUBIC)
    x = np.asarray(img, dtype=np.float32) / 255.0
    if augment:
        top = int(rng.integers(0, new[1] - size + 1))
        left = int(rng.integers(0, new[0] - size + 1))
        x = x[top:top + size, left:left + size]
        if rng.random() < 0.5:
            x = x[:, ::-1]
    x = (x - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(x.transpose(2, 0, 1), dtype=np.float32)


class BaselineRecipe(Recipe):
    """Shared sampling and checkpointing; subclasses give the loss."""

    model_name: ClassVar[str] = ""
    frames_per_clip: ClassVar[int | None] = 1

    #: Recipe options this family accepts (``--option KEY=VALUE``); others raise.
    options: ClassVar[tuple[str, ...]] = ("image_size", "audio_window", "sample_rate", "lr",
                                          "augment", "imagenet_weights", "module_prefix",
                                          "weight_decay")
    #: Adam's weight decay in the originals' training defaults (EZ-VSL/SLAVC 0, SSL-TIE 1e-4).
    default_weight_decay: ClassVar[float] = 0.0

    def __init__(self, **config: Any) -> None:
        unknown = sorted(set(config) - set(self.options))
        if unknown:
            raise AvatarBenchError(
                f"{self.name} recipe: unknown option(s) {', '.join(unknown)}; "
                f"valid: {', '.join(self.options)}")
        super().__init__(**config)
        self.image_size = int(config.get("image_size", DEFAULT_IMAGE_SIZE))
        if self.image_size < 32:
            raise AvatarBenchError(f"image_size must be >= 32, got {self.image_size}")
        self.audio_window = float(config.get("audio_window", DEFAULT_WINDOW[self.model_name]))
        #: Decoding rate for folder sources (the trainer's FolderSource reads this attribute).
        self.sample_rate = int(config.get("sample_rate", 16000))
        self.augment = _flag(config.get("augment", True), "augment")
        self.weight_decay = float(config.get("weight_decay", self.default_weight_decay))
        #: Write weight keys as ``module.<key>`` (EZ-VSL/SLAVC ``train.py`` resume under DDP).
        self.module_prefix = _flag(config.get("module_prefix", False), "module_prefix")
        if self.module_prefix and self.model_name == "ssltie":
            raise AvatarBenchError(
                "ssltie recipe: module_prefix does not apply (SSL-TIE's main.py saves and "
                "resumes the model without its DataParallel wrapper, so no 'module.' prefix)")

    def build_model(self) -> nn.Module:
        return build_model(self.model_name, self.config.get("imagenet_weights"))

    def sample(self, clip: Any, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """One random frame of the clip and the audio window centred on its time."""
        if clip.audio is None or len(clip.audio) == 0:
            raise AvatarBenchError(f"clip {getattr(clip, 'clip_id', '?')}: no audio samples")
        k = int(rng.integers(0, len(clip.frames)))
        t = float(clip.frame_indices[k]) / float(clip.fps)
        wave = centred_window(np.asarray(clip.audio, np.float32), int(clip.sample_rate), t,
                              self.audio_window)
        return {"image": train_image(clip.frames[k], self.image_size, rng, self.augment),
                "audio": front_end(self.model_name, wave, int(clip.sample_rate))}

    def optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        """Adam over the trainable parameters only, as the originals build it (so the saved
        optimizer state has their parameter groups: SLAVC's momentum copies are not in it)."""
        return torch.optim.Adam([p for p in model.parameters() if p.requires_grad],
                                lr=float(self.config.get("lr", 1e-4)),
                                weight_decay=self.weight_decay)

    def checkpoint(self, model: nn.Module, optimizer: torch.optim.Optimizer, step: int) -> dict:
        """The official layout (``epoch`` holds our step; ``module.`` keys on request)."""
        return official_checkpoint(self.model_name, _bare(model), optimizer, epoch=step,
                                   module_prefix=self.module_prefix)

    def restore(self, model: nn.Module, optimizer: torch.optim.Optimizer | None,
                ckpt: dict) -> int:
        """Load ours or an official file strictly; returns the step to resume from."""
        sd = unwrap_state_dict(ckpt, "<checkpoint>")
        check_state_dict(self.model_name, sd, "<checkpoint>")
        _bare(model).load_state_dict(sd, strict=True)
        opt_state = ckpt.get("optimizer")
        if optimizer is not None and opt_state:
            optimizer.load_state_dict(_trainable_only(opt_state, _bare(model), optimizer))
        return int(ckpt.get("iteration", ckpt.get("epoch", 0)) or 0)


def _flag(value: Any, what: str) -> bool:
    """A boolean option given as a bool or as true/false text (``--option KEY=VALUE``)."""
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
        return value.lower() in ("true", "1", "yes")
    if isinstance(value, bool):
        return value
    raise AvatarBenchError(f"recipe option {what} must be true or false, got {value!r}")


def _trainable_only(state: dict, model: nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """Map an optimizer state saved over *all* parameters (avatar-bench before it matched
    the originals) onto the trainable ones; any other size mismatch is an error."""
    groups = state.get("param_groups") or []
    have = sum(len(g["params"]) for g in optimizer.param_groups)
    saved = sum(len(g.get("params", [])) for g in groups)
    if saved == have:
        return state
    params = list(model.parameters())
    if len(groups) == 1 and saved == len(params):
        keep = [i for i, p in enumerate(params) if p.requires_grad]
        old_ids = groups[0]["params"]
        new_state = {j: state["state"][old_ids[i]] for j, i in enumerate(keep)
                     if old_ids[i] in state.get("state", {})}
        group = dict(groups[0], params=list(range(len(keep))))
        return {"state": new_state, "param_groups": [group]}
    raise AvatarBenchError(
        f"checkpoint's optimizer state covers {saved} parameters, this model trains {have}: "
        "it was not written for this model")


class EZVSLRecipe(BaselineRecipe):
    name = "ezvsl"
    model_name = "ezvsl"
    #: Every parameter takes part in the loss: DDP need not search for unused ones.
    ddp_find_unused_parameters: ClassVar[bool] = False

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        img, aud = model(batch["image"], batch["audio"], mode="train")
        return ezvsl_loss(img, aud, _bare(model).tau)


class SLAVCRecipe(BaselineRecipe):
    name = "slavc"
    model_name = "slavc"

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        online_img, online_aud, target_img, target_aud = model(
            batch["image"], batch["audio"], mode="train")
        return slavc_loss(online_img, online_aud, target_img, target_aud, _bare(model).tau)

    def after_step(self, model: nn.Module) -> None:
        """The EMA update of the momentum encoders (once per optimiser step)."""
        _bare(model).momentum_update()


class SSLTIERecipe(BaselineRecipe):
    name = "ssltie"
    model_name = "ssltie"
    options = BaselineRecipe.options + ("trans_equi_weight", "max_rotation_angle", "spec_aug")
    default_weight_decay = 1e-4   # their opts.py --weight_decay default

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.equi_weight = float(config.get("trans_equi_weight", 1.0))
        # The release training scripts pass --max_rotation_angle 30 --aud_aug SpecAug.
        self.max_angle = int(config.get("max_rotation_angle", 30))
        self.spec_aug = _flag(config.get("spec_aug", True), "spec_aug")

    def sample(self, clip: Any, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """As the shared sample, plus SpecAugment masking of the spectrogram when enabled."""
        out = super().sample(clip, rng)
        if self.spec_aug and self.augment:
            out["audio"] = spec_augment(out["audio"], rng)
        return out

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """0.5 (CE(x) + CE(T x)) + w * MSE(f(T x), T f(x)).

        The original runs the audio net a second time on the same spectrogram for T x; one
        audio pass gives the same loss and gradients (BN running stats update once, not twice).
        """
        image, audio = batch["image"], batch["audio"]
        tf = RandomTransform(image.shape[0], self.max_angle, input_hw=tuple(image.shape[-2:]))
        img, img_t, aud = model(image, audio, mode="train", image_t=tf(image))
        heat, logits = ssltie_logits(img, aud)
        heat_t, logits_t = ssltie_logits(img_t, aud)
        return (0.5 * (contrastive_ce(logits) + contrastive_ce(logits_t))
                + self.equi_weight * equivariance_mse(heat_t, tf(heat)))
