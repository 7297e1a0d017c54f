"""Training recipes by name, as lazy ``"module:Class"`` strings (torch loads only on use)."""

from __future__ import annotations

import difflib
import importlib
from typing import Any

from avatar_bench.errors import AvatarBenchError

RECIPES: dict[str, str] = {
    "ezvsl": "avatar_bench.models.baselines.recipes:EZVSLRecipe",
    "slavc": "avatar_bench.models.baselines.recipes:SLAVCRecipe",
    "ssltie": "avatar_bench.models.baselines.recipes:SSLTIERecipe",
    "tavlo": "avatar_bench.models.tavlo.recipe:TAVLORecipe",
}


def get_recipe_class(name: str) -> type:
    """Resolve a recipe name; an unknown one lists the closest and all names."""
    if name not in RECIPES:
        close = difflib.get_close_matches(name, list(RECIPES), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise AvatarBenchError(f"no training recipe for model {name!r}.{hint} "
                               f"Trainable: {', '.join(sorted(RECIPES))}")
    module_name, _, attr = RECIPES[name].partition(":")
    try:
        from avatar_bench.train.recipe import Recipe

        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == "torch":
            raise AvatarBenchError(
                f"training {name!r} needs PyTorch: pip install 'avatar-bench[models]'"
            ) from exc
        raise AvatarBenchError(f"recipe {name!r}: cannot import {module_name}: {exc}") from exc
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, Recipe)):
        raise AvatarBenchError(f"recipe {name!r}: {RECIPES[name]} is not a Recipe class")
    return cls


def create_recipe(name: str, **config: Any):
    """Instantiate a registered recipe with its config options."""
    return get_recipe_class(name)(**config)
