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
import json
from importlib.metadata import distributions, entry_points
from pathlib import Path
from typing import Any

from avatar_bench.errors import AvatarBenchError
from avatar_bench.models.base import Adapter

ENTRY_POINT_GROUP = "avatar_bench.models"
#: What to do when torch is missing: the README's order (torch first picks its build).
TORCH_HINT = ("install PyTorch first (any torch>=2.1; a CPU build is enough, see the README's "
              "Install section), then pip install 'avatar-bench[models]'")
EDITABLE_HINT = (
    "avatar-bench is installed as a copy (pip install . without -e), so adapter files added "
    "to the source tree are not seen: reinstall it editable with `pip install -e .` from "
    "the checkout, or register the adapter through the 'avatar_bench.models' entry point")

BUILTIN: dict[str, str] = {
    "center-prior": "avatar_bench.models.reference:CenterPrior",
    "uniform": "avatar_bench.models.reference:Uniform",
    "random": "avatar_bench.models.reference:Random",
    "oracle": "avatar_bench.models.reference:Oracle",
    "motion": "avatar_bench.models.motion:MotionEnergy",
    "motion-sync": "avatar_bench.models.motion:MotionSync",
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


def unknown_name(kind: str, name: str, names: list[str]) -> AvatarBenchError:
    """The error for an unregistered name: the closest names, then all of them."""
    close = difflib.get_close_matches(name, names, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return AvatarBenchError(f"unknown {kind} {name!r}.{hint} Available: {', '.join(names)}")


def installed_copy(package_file: str | None = None) -> bool:
    """True when avatar_bench is imported from a non-editable install in site-packages.

    Why: after ``pip install .`` a new file under ``avatar_bench/models/`` in the checkout
    is invisible, and "unknown model" alone does not say so.
    """
    if package_file is None:
        import avatar_bench

        package_file = avatar_bench.__file__
    parts = Path(package_file).resolve().parts
    if not {"site-packages", "dist-packages"} & set(parts):
        return False                      # imported from a source tree: new files are seen
    for dist in distributions(name="avatar-bench"):
        try:
            info = json.loads(dist.read_text("direct_url.json") or "{}")
        except ValueError:
            continue
        if isinstance(info, dict) and (info.get("dir_info") or {}).get("editable"):
            return False
    return True


def load_class(target: str, name: str, base: type, kind: str) -> type:
    """Import ``"module:Class"`` on first use and check it subclasses ``base``."""
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == "torch":
            raise AvatarBenchError(f"{kind} {name!r} needs PyTorch, which is not installed: "
                                   f"{TORCH_HINT}") from exc
        raise AvatarBenchError(f"{kind} {name!r}: cannot import {module_name}: {exc}") from exc
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise AvatarBenchError(
            f"{kind} {name!r}: {target} is not an avatar_bench {base.__name__} class")
    return cls


def get_adapter_class(name: str) -> type[Adapter]:
    """Resolve a model name; an unknown one lists the closest names and all names."""
    names = available()
    if name not in names:
        err = unknown_name("model", name, list(names))
        if installed_copy():
            err = AvatarBenchError(f"{err} ({EDITABLE_HINT})")
        raise err
    return load_class(names[name], name, Adapter, "model")


def create(name: str, **options: Any) -> Adapter:
    """Instantiate a registered adapter with CLI-style options."""
    return get_adapter_class(name)(**options)
