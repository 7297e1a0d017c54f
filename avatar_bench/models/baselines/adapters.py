"""Adapters: the three baselines behind the common ``Adapter`` interface.

For each frame: the annotated JPEG -> 224x224 ImageNet-normalised tensor; the clip's audio
(decoded once per clip, at 16 kHz by default) -> a window centred on the frame's timestamp
(3 s for EZ-VSL/SLAVC, 10 s for SSL-TIE by default) -> the baseline's own spectrogram; the
model's raw test-time map (7x7 cosine/tau for EZ-VSL and SLAVC, 14x14 cosine for SSL-TIE) is
yielded without min-max normalisation, so the evaluator's single global threshold applies.
"""

from __future__ import annotations

import json
import os
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from avatar_bench.data.annotations import Frame
from avatar_bench.data.index import AvatarDataset
from avatar_bench.errors import AvatarBenchError
from avatar_bench.models.base import Adapter, checkpoint_record
from avatar_bench.models.baselines.audio import DEFAULT_WINDOW, centred_window, front_end
from avatar_bench.models.baselines.checkpoints import PRETTY, build_model, load_official
from avatar_bench.models.baselines.image import IMAGE_SIZE, preprocess_image
from avatar_bench.models.baselines.recipes import DEFAULT_IMAGE_SIZE as DEFAULT_TRAIN_SIZE
from avatar_bench.train.trainer import RUN_CONFIG

DEFAULT_SAMPLE_RATE = 16000
#: How many clips' decoded audio are kept (frames usually arrive grouped by clip).
AUDIO_CACHE_CLIPS = 8
OPTIONS = ("checkpoint", "device", "batch_size", "audio_window", "seed", "imagenet_weights",
           "sample_rate", "skip_errors", "image_size")
#: A trainer record larger than this is not ours (not read).
RECORD_MAX_BYTES = 1 << 20
#: Input sides the adapters accept (32 px still gives a 1x1 map; 1024 bounds memory).
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 32, 1024


class _Skip(Exception):
    """A frame whose inputs could not be built (recorded when ``skip_errors`` is set)."""


class BaselineAdapter(Adapter):
    """Shared machinery; subclasses set ``model_name``, ``strides`` and the descriptions.

    Options: ``checkpoint`` (official or our file; None = random init, flagged in meta),
    ``device`` ("cpu" | "cuda"), ``batch_size`` (16), ``audio_window`` (seconds; model
    default), ``seed`` (0), ``imagenet_weights`` (torchvision resnet18 file, random init
    only), ``sample_rate`` (16000 or "native": the clip's own rate, as the originals read
    files), ``skip_errors`` (False: a frame without usable audio raises), ``image_size``
    (224, the originals' test size; pass the training size for a checkpoint trained smaller,
    since a model scored at a size it never saw is not the model that was trained).
    """

    requires_torch: ClassVar[bool] = True
    model_name: ClassVar[str] = ""
    map_kind: ClassVar[str] = "cosine / tau"
    #: Strides of conv1, maxpool and layer1-4 of the visual trunk (the map side follows).
    strides: ClassVar[tuple[int, ...]] = (2, 2, 1, 2, 2, 2)

    #: Options only this baseline takes (passed to its model class).
    model_options: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **options: Any) -> None:
        valid = OPTIONS + self.model_options
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise AvatarBenchError(
                f"model {self.name!r}: unknown option(s) {', '.join(unknown)}; "
                f"valid: {', '.join(valid)}")
        super().__init__(**{k: v for k, v in options.items() if v is not None})
        opt = self.options
        self.checkpoint = str(opt["checkpoint"]) if opt.get("checkpoint") else None
        self.device = _device(str(opt.get("device", "cpu")))
        self.batch_size = _positive_int(opt.get("batch_size", 16), "batch_size")
        window = opt.get("audio_window", DEFAULT_WINDOW[self.model_name])
        try:
            self.audio_window = float(window)
        except (TypeError, ValueError):
            self.audio_window = float("nan")
        if not self.audio_window > 0:
            raise AvatarBenchError(f"audio_window must be > 0 seconds, got {window!r}")
        self.seed = int(opt.get("seed", 0))
        self.sample_rate = opt.get("sample_rate", DEFAULT_SAMPLE_RATE)
        if self.sample_rate != "native":
            self.sample_rate = _positive_int(self.sample_rate, "sample_rate")
        self.skip_errors = bool(opt.get("skip_errors", False))
        self.image_size = _positive_int(opt.get("image_size", IMAGE_SIZE), "image_size")
        if not MIN_IMAGE_SIZE <= self.image_size <= MAX_IMAGE_SIZE:
            raise AvatarBenchError(f"image_size must be {MIN_IMAGE_SIZE}-{MAX_IMAGE_SIZE} "
                                   f"pixels, got {self.image_size}")
        self.skipped: list[dict[str, str]] = []
        self.warning: str | None = None
        self.size_warning: str | None = None
        self._check_trained_size("image_size" in opt)
        model_kwargs = self.model_kwargs()
        # A private RNG stream: random init depends on ``seed`` only, and the caller's global
        # torch RNG state is left as it was.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            if self.checkpoint is None:
                self.warning = (
                    f"{PRETTY[self.model_name]} has NO checkpoint: weights are random (seed "
                    f"{self.seed}"
                    f"{', ImageNet visual init' if opt.get('imagenet_weights') else ''}"
                    "); its maps are meaningless for comparison. Pass --checkpoint PATH.")
                warnings.warn(self.warning, stacklevel=2)
                self.model = build_model(self.model_name, opt.get("imagenet_weights"),
                                         **model_kwargs)
            else:
                self.model = load_official(self.model_name, os.path.expanduser(self.checkpoint),
                                           build_model(self.model_name, **model_kwargs))
        self.model.to(self.device).eval()
        self._audio: OrderedDict[str, tuple[np.ndarray, int]] = OrderedDict()

    def _check_trained_size(self, explicit: bool) -> None:
        """Warn when our trainer's record beside the checkpoint names another input size.

        Scoring a model at a size it was not trained at changes its numbers (the map grid
        and the receptive field move); the warning names the option that fixes it.
        """
        trained = trained_image_size(self.checkpoint, self.model_name)
        if trained is None or trained == self.image_size:
            return
        how = "" if explicit else " (the default)"
        message = (f"{PRETTY[self.model_name]}: {self.checkpoint} was trained at {trained} px "
                   f"(train_config.json beside it) but is scored at {self.image_size} px{how}; "
                   f"pass --option image_size={trained} to score it as trained")
        warnings.warn(message, stacklevel=3)
        self.size_warning = message

    def map_side(self) -> int:
        """Side of the raw map at ``image_size`` (7 for EZ-VSL/SLAVC, 14 for SSL-TIE at 224 px)."""
        side = self.image_size
        for stride in self.strides:
            side = (side - 1) // stride + 1
        return side

    def model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for the model class (from ``model_options``)."""
        return {}

    # ---------------------------------------------------------------- inputs
    def _clip_audio(self, dataset: AvatarDataset, video_id: str) -> tuple[np.ndarray, int]:
        """The clip's mono audio and its rate, decoded once and cached (LRU of a few clips)."""
        if video_id in self._audio:
            self._audio.move_to_end(video_id)
            return self._audio[video_id]
        info = dataset.video_info(video_id)
        if not info.has_audio:
            raise AvatarBenchError(
                f"{info.path}: the clip has no audio track; {PRETTY[self.model_name]} needs "
                "one (pass skip_errors=True to skip its frames)")
        rate = info.sample_rate if self.sample_rate == "native" else self.sample_rate
        wave = dataset.audio(video_id, sample_rate=int(rate))
        if wave.shape[0] == 0:
            raise AvatarBenchError(f"{info.path}: the audio track decodes to no samples")
        self._audio[video_id] = (wave, int(rate))
        while len(self._audio) > AUDIO_CACHE_CLIPS:
            self._audio.popitem(last=False)
        return wave, int(rate)

    def inputs(self, dataset: AvatarDataset, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
        """(image 3x224x224, spectrogram 1xFxT) for one frame; raises ``_Skip`` if allowed."""
        try:
            wave, rate = self._clip_audio(dataset, frame.video_id)
            window = centred_window(wave, rate, dataset.timestamp(frame), self.audio_window)
            image = preprocess_image(dataset.image(frame), self.image_size)
        except AvatarBenchError as exc:
            if not self.skip_errors:
                raise
            raise _Skip(str(exc)) from exc
        return image, front_end(self.model_name, window, rate)

    # --------------------------------------------------------------- predict
    @torch.no_grad()
    def _run(self, images: list[np.ndarray], specs: list[np.ndarray]) -> np.ndarray:
        img = torch.from_numpy(np.stack(images)).to(self.device)
        spec = torch.from_numpy(np.stack(specs)).to(self.device)
        return self.model(img, spec).float().cpu().numpy()

    def predict(self, dataset: AvatarDataset,
                frames: list[Frame]) -> Iterator[tuple[str, np.ndarray]]:
        """Yield ``(frame.key, map)`` in order; maps are float32, ``map_side()`` square."""
        self.model.eval()   # no dropout, BN running statistics: deterministic maps
        keys: list[str] = []
        images: list[np.ndarray] = []
        specs: list[np.ndarray] = []
        for frame in frames:
            try:
                image, spec = self.inputs(dataset, frame)
            except _Skip as exc:
                self.skipped.append({"key": frame.key, "error": str(exc)})
                continue
            if specs and spec.shape != specs[0].shape:  # e.g. mixed native rates: flush first
                yield from zip(keys, self._run(images, specs), strict=True)
                keys, images, specs = [], [], []
            keys.append(frame.key)
            images.append(image)
            specs.append(spec)
            if len(keys) == self.batch_size:
                yield from zip(keys, self._run(images, specs), strict=True)
                keys, images, specs = [], [], []
        if keys:
            yield from zip(keys, self._run(images, specs), strict=True)

    def meta(self) -> dict[str, Any]:
        meta = super().meta()
        meta.update({
            "checkpoint": checkpoint_record(self.checkpoint),
            "random_init": self.checkpoint is None,
            "audio_window_s": self.audio_window,
            "sample_rate": self.sample_rate,
            "image_size": self.image_size,
            "map": f"{self.map_side()}x{self.map_side()} {self.map_kind}",
            "skipped": list(self.skipped),
        })
        if self.warning:
            meta["warning"] = self.warning
        if self.size_warning:
            meta["size_warning"] = self.size_warning
        return meta


def trained_image_size(checkpoint: str | None, model_name: str) -> int | None:
    """The input size our trainer used for ``checkpoint`` (None: no readable record).

    Read from ``train_config.json`` beside the checkpoint when it names the same model; the
    recipe's default applies when the run set no ``image_size``.
    """
    if checkpoint is None:
        return None
    record = Path(os.path.expanduser(checkpoint)).parent / RUN_CONFIG
    try:
        if not record.is_file() or record.stat().st_size > RECORD_MAX_BYTES:
            return None
        train = json.loads(record.read_text(encoding="utf-8")).get("train", {})
        if train.get("model") != model_name:
            return None
        size = train.get("recipe_options", {}).get("image_size", DEFAULT_TRAIN_SIZE)
        return int(size)
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def _device(name: str) -> torch.device:
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise AvatarBenchError(f"device must be 'cpu' or 'cuda', got {name!r}")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise AvatarBenchError("device 'cuda' requested but no CUDA device is available")
    return torch.device(name)


def _positive_int(value: Any, what: str) -> int:
    try:
        out = int(value)
    except (TypeError, ValueError):
        out = 0
    if out <= 0 or (isinstance(value, float) and value != out):
        raise AvatarBenchError(f"{what} must be a positive integer, got {value!r}")
    return out


class EZVSLAdapter(BaselineAdapter):
    name = "ezvsl"
    model_name = "ezvsl"
    description = "EZ-VSL (ECCV 2022): multiple-instance contrastive, 7x7 cosine/tau map"


class SLAVCAdapter(BaselineAdapter):
    """``use_mom_eval`` (False): maps from the momentum encoders instead of the online ones.

    The official ``test.py`` defaults it to False and the release test scripts do not set it,
    so published test maps come from the online encoders.
    """

    name = "slavc"
    model_name = "slavc"
    description = "SLAVC (NeurIPS 2022): mean of two heads' maps (online encoders by default)"
    model_options = ("use_mom_eval",)

    def model_kwargs(self) -> dict[str, Any]:
        value = self.options.get("use_mom_eval", False)
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
            value = value.lower() in ("true", "1", "yes")
        if not isinstance(value, bool):
            raise AvatarBenchError(f"slavc: use_mom_eval must be true or false, got {value!r}")
        return {"use_mom_eval": value}

    def meta(self) -> dict[str, Any]:
        meta = super().meta()
        meta["encoders"] = "momentum" if self.model.use_mom_eval else "online"
        return meta


class SSLTIEAdapter(BaselineAdapter):
    name = "ssltie"
    model_name = "ssltie"
    map_kind = "cosine"
    strides = (2, 2, 1, 2, 2, 1)
    description = "SSL-TIE (ACM MM 2022): transformation-invariant/equivariant, 14x14 cosine"
