"""Model registry: built-in names map to lazy ``"module:Class"`` strings, so torch is imported
only when a torch model is used. Third-party packages register through the
``avatar_bench.models`` entry-point group::

    [project.entry-points."avatar_bench.models"]
    my-model = "my_package.adapter:MyAdapter"

Adding a built-in model is one file plus one line in ``BUILTIN``.
"""

from __future__ import annotations

import difflib
import importlib
from importlib.metadata import entry_points
from typing import Any

from avatar_bench.errors import AvatarBenchError
from avatar_bench.models.base import Adapter

ENTRY_POINT_GROUP = "avatar_bench.models"

BUILTIN: dict[str, str] = {
    "center-prior": "avatar_bench.models.reference:CenterPrior",
    "uniform": "avatar_bench.models.reference:Uniform",
    "random": "avatar_bench.models.reference:Random",
    "oracle": "avatar_bench.models.reference:Oracle",
    "ezvsl": "avatar_bench.models.baselines.adapters:EZVSLAdapter",
    "slavc": "avatar_bench.models.baselines.adapters:SLAVCAdapter",
    "ssltie": "avatar_bench.models.baselines.adapters:SSLTIEAdapter",
    "tavlo": "avatar_bench.models.tavlo.adapter:TAVLOAdapter",
}


def available() -> dict[str, str]:
    """All registered names -> ``module:Class`` targets (built-ins win on a clash)."""
    found = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    found.update(BUILTIN)
    return dict(sorted(found.items()))


def _load(target: str, name: str) -> type[Adapter]:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == "torch":
            raise AvatarBenchError(
                f"model {name!r} needs PyTorch: pip install 'avatar-bench[models]'"
            ) from exc
        raise AvatarBenchError(f"model {name!r}: cannot import {module_name}: {exc}") from exc
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise AvatarBenchError(f"model {name!r}: {target} is not an avatar_bench Adapter class")
    return cls


def get_adapter_class(name: str) -> type[Adapter]:
    """Resolve a model name; an unknown one lists the closest names and all names."""
    names = available()
    if name not in names:
        close = difflib.get_close_matches(name, list(names), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise AvatarBenchError(
            f"unknown model {name!r}.{hint} Available: {', '.join(names)}"
        )
    return _load(names[name], name)


def create(name: str, **options: Any) -> Adapter:
    """Instantiate a registered adapter with CLI-style options."""
    return get_adapter_class(name)(**options)
