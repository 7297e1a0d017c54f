"""Build the baselines and load the authors' checkpoints strictly, with useful errors.

Official files wrap the state dict: EZ-VSL saves ``{'model', 'optimizer', 'epoch',
'best_cIoU', 'best_Auc'}``, SLAVC ``{'model', 'optimizer', 'epoch', 'best_Precision',
'best_AP', 'best_F1'}``, SSL-TIE ``{'epoch', 'state_dict', 'best_miou', 'optimizer',
'iteration'}``. Keys may carry DataParallel/DDP's ``module.`` prefix. Loading is strict: a
checkpoint that does not match key for key and shape for shape is refused with a report of
what differs and which baseline the file looks like, rather than half-loaded silently.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import torch
from torch import nn

from avatar_bench.errors import AvatarBenchError
from avatar_bench.models.baselines import MODEL_NAMES

PRETTY: dict[str, str] = {"ezvsl": "EZ-VSL", "slavc": "SLAVC", "ssltie": "SSL-TIE"}
#: How many keys of each kind an error message lists before summarising.
SHOW = 10


def model_class(name: str) -> type[nn.Module]:
    """The model class for a baseline name (``ezvsl``, ``slavc``, ``ssltie``)."""
    if name == "ezvsl":
        from avatar_bench.models.baselines.ezvsl import EZVSL
        return EZVSL
    if name == "slavc":
        from avatar_bench.models.baselines.slavc import SLAVC
        return SLAVC
    if name == "ssltie":
        from avatar_bench.models.baselines.ssltie import SSLTIE
        return SSLTIE
    raise AvatarBenchError(f"unknown baseline {name!r}; expected one of {', '.join(MODEL_NAMES)}")


def build_model(name: str, imagenet_weights: str | os.PathLike | None = None,
                **kwargs: Any) -> nn.Module:
    """A freshly initialised baseline; ImageNet init of the visual net(s) from a local file."""
    model = model_class(name)(**kwargs)
    if imagenet_weights is not None:
        load_imagenet(model, imagenet_weights)
    return model


#: Every state-dict key and shape of the official model classes (ezvsl 244, slavc 496 with the
#: momentum copies, ssltie 257 with its unused modules); the tests check our models against it.
OFFICIAL_KEYS_FILE = Path(__file__).with_name("official_keys.json")


@cache
def expected_shapes(name: str) -> dict[str, tuple[int, ...]]:
    """Every state-dict key of the official ``name`` model and its shape."""
    if name not in MODEL_NAMES:
        raise AvatarBenchError(f"unknown baseline {name!r}; expected one of "
                               f"{', '.join(MODEL_NAMES)}")
    table = json.loads(OFFICIAL_KEYS_FILE.read_text())[name]
    return {k: tuple(v) for k, v in table.items()}


def _source_name(source: Any) -> str:
    return str(source) if isinstance(source, (str, os.PathLike)) else "<state dict>"


def read_checkpoint(path: str | os.PathLike) -> Any:
    """``torch.load(weights_only=True)``; numpy scalars (e.g. ``best_cIoU``) are allowed."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise AvatarBenchError(f"checkpoint {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        pass  # retry below with numpy scalar types allowed
    except (RuntimeError, OSError, EOFError) as exc:
        raise AvatarBenchError(f"{path}: cannot read as a PyTorch checkpoint: {exc}") from exc
    import numpy as np

    allowed: list[Any] = [np.dtype, np.ndarray]
    for mod in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            allowed.append(__import__(mod, fromlist=["scalar"]).scalar)
            allowed.append(__import__(mod, fromlist=["_reconstruct"])._reconstruct)
        except (ImportError, AttributeError):
            continue
    allowed += [type(np.dtype(t)) for t in ("float64", "float32", "int64", "int32")]
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, OSError, EOFError) as exc:
        raise AvatarBenchError(
            f"{path}: cannot load with weights_only=True (the file holds objects other than "
            f"tensors, numbers and numpy scalars; it is not loaded unsafely): {exc}"
        ) from exc


def unwrap_state_dict(obj: Any, source: str = "<state dict>") -> dict[str, torch.Tensor]:
    """The model state dict inside an official wrapper, with ``module.`` prefixes stripped."""
    if not isinstance(obj, Mapping):
        raise AvatarBenchError(f"{source}: expected a dict, got {type(obj).__name__}")
    sd: Any = obj
    for wrapper in ("model", "state_dict"):
        if isinstance(obj.get(wrapper), Mapping):
            sd = obj[wrapper]
            break
    bad = [k for k, v in sd.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise AvatarBenchError(
            f"{source}: no model state dict found: expected the official wrapper "
            "({'model': ...} for EZ-VSL/SLAVC, {'state_dict': ...} for SSL-TIE) or a plain "
            f"state dict; top-level keys are {sorted(map(str, obj))[:SHOW]}"
        )
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in sd.items()}


def looks_like(keys: set[str]) -> str | None:
    """The baseline whose key set best matches ``keys`` (Jaccard >= 0.9), or None."""
    best, best_score = None, 0.0
    for name in MODEL_NAMES:
        ref = set(expected_shapes(name))
        score = len(keys & ref) / max(len(keys | ref), 1)
        if score > best_score:
            best, best_score = name, score
    return best if best_score >= 0.9 else None


def _listing(label: str, keys: list[str]) -> str:
    shown = ", ".join(keys[:SHOW])
    more = f" (+{len(keys) - SHOW} more)" if len(keys) > SHOW else ""
    return f"{label} ({len(keys)}): {shown}{more}"


def check_state_dict(name: str, sd: Mapping[str, torch.Tensor], source: str) -> None:
    """Raise ``AvatarBenchError`` listing missing/unexpected keys and shape mismatches."""
    expected = expected_shapes(name)
    missing = sorted(set(expected) - set(sd))
    unexpected = sorted(set(sd) - set(expected))
    shapes = [f"{k}: file {tuple(sd[k].shape)} vs model {expected[k]}"
              for k in sorted(set(sd) & set(expected)) if tuple(sd[k].shape) != expected[k]]
    if not (missing or unexpected or shapes):
        return
    problems = []
    if missing:
        problems.append(_listing("missing keys", missing))
    if unexpected:
        problems.append(_listing("unexpected keys", unexpected))
    if shapes:
        problems.append(_listing("shape mismatches", shapes))
    other = looks_like(set(sd))
    hint = ""
    if other is not None and other != name:
        article = "a" if other == "slavc" else "an"
        hint = f" This looks like {article} {PRETTY[other]} checkpoint: use --model {other}."
    raise AvatarBenchError(
        f"{source}: does not match the {PRETTY[name]} model ({len(missing)} missing, "
        f"{len(unexpected)} unexpected, {len(shapes)} shape mismatches).{hint}",
        problems,
    )


def load_official(name: str, source: str | os.PathLike | Mapping[str, Any],
                  model: nn.Module | None = None) -> nn.Module:
    """Load an official (or our, identical-layout) checkpoint strictly into a baseline model.

    ``source`` is a file path or an already-loaded dict (wrapped or plain). Returns ``model``
    (built fresh when None) with the weights loaded.
    """
    label = _source_name(source)
    obj = read_checkpoint(source) if isinstance(source, (str, os.PathLike)) else source
    sd = unwrap_state_dict(obj, label)
    check_state_dict(name, sd, label)
    if model is None:
        model = model_class(name)()
    model.load_state_dict(sd, strict=True)
    return model


def load_imagenet(model: nn.Module, path: str | os.PathLike) -> None:
    """Initialise the visual ResNet-18(s) from a local torchvision ``resnet18`` state dict.

    Every trunk key (conv1, bn1, layer1-4) must be in the file; ``fc`` is loaded only where the
    model has one (SSL-TIE). SLAVC's momentum visual net gets the same weights, as in theirs.
    """
    sd = unwrap_state_dict(read_checkpoint(path), str(path))
    targets = [getattr(model, n) for n in ("imgnet", "momentum_imgnet") if hasattr(model, n)]
    for net in targets:
        own = net.state_dict()
        wanted = {k for k in own if not k.startswith(("conv1_a.", "conv1_flow."))}
        missing = sorted(wanted - set(sd))
        shapes = [f"{k}: file {tuple(sd[k].shape)} vs model {tuple(own[k].shape)}"
                  for k in sorted(wanted & set(sd)) if sd[k].shape != own[k].shape]
        if missing or shapes:
            problems = ([_listing("missing keys", missing)] if missing else []) + (
                [_listing("shape mismatches", shapes)] if shapes else [])
            raise AvatarBenchError(
                f"{path}: not a torchvision resnet18 state dict (needed for ImageNet init)",
                problems)
        net.load_state_dict({k: sd[k] for k in wanted}, strict=False)


#: The fields each official trainer reads back when it resumes (besides weights and optimizer),
#: from their ``train.py`` / ``main.py``: a file without them fails there with a KeyError.
RESUME_FIELDS: dict[str, tuple[str, ...]] = {
    "ezvsl": ("epoch", "best_cIoU", "best_Auc"),
    "slavc": ("epoch", "best_Precision", "best_AP", "best_F1"),
    "ssltie": ("epoch", "best_miou", "iteration"),
}
#: Where the weights sit in each official file.
WEIGHTS_KEY: dict[str, str] = {"ezvsl": "model", "slavc": "model", "ssltie": "state_dict"}


def official_checkpoint(name: str, model: nn.Module, optimizer: torch.optim.Optimizer | None,
                        epoch: int, *, module_prefix: bool = False,
                        **extra: float) -> dict[str, Any]:
    """A dict in the official layout of ``name``, loadable by their code and by ours.

    ``extra`` sets the best-metric fields (0.0 when not given; SSL-TIE's ``iteration``
    defaults to ``epoch``). ``module_prefix`` writes weight keys as ``module.<key>``, as
    EZ-VSL's and SLAVC's ``train.py`` resume needs (they load into the DDP-wrapped model);
    SSL-TIE resumes into the unwrapped model, so it refuses the prefix.
    """
    if name not in RESUME_FIELDS:
        raise AvatarBenchError(f"unknown baseline {name!r}; expected one of "
                               f"{', '.join(MODEL_NAMES)}")
    fields = RESUME_FIELDS[name]
    unknown = sorted(set(extra) - set(fields))
    if unknown:
        raise AvatarBenchError(f"{PRETTY[name]} checkpoints have no field(s) "
                               f"{', '.join(unknown)}; they record {', '.join(fields)}")
    if module_prefix and name == "ssltie":
        raise AvatarBenchError(
            "SSL-TIE's main.py resumes into the model without its DataParallel wrapper, so "
            "its checkpoints carry no 'module.' prefix: drop module_prefix for ssltie")
    sd = model.state_dict()
    if module_prefix:
        sd = {"module." + k: v for k, v in sd.items()}
    out: dict[str, Any] = {WEIGHTS_KEY[name]: sd,
                           "optimizer": optimizer.state_dict() if optimizer is not None else {},
                           "epoch": int(epoch)}
    for field in fields[1:]:
        default = epoch if field == "iteration" else 0.0
        out[field] = (int if field == "iteration" else float)(extra.get(field, default))
    return out
