"""Training recipes by name, as lazy ``"module:Class"`` strings (torch loads only on use)."""

from __future__ import annotations

from typing import Any

from avatar_bench.models.registry import load_class, unknown_name

RECIPES: dict[str, str] = {
    "ezvsl": "avatar_bench.models.baselines.recipes:EZVSLRecipe",
    "slavc": "avatar_bench.models.baselines.recipes:SLAVCRecipe",
    "ssltie": "avatar_bench.models.baselines.recipes:SSLTIERecipe",
    "tavlo": "avatar_bench.models.tavlo.recipe:TAVLORecipe",
}


def get_recipe_class(name: str) -> type:
    """Resolve a recipe name; an unknown one lists the closest and all names."""
    if name not in RECIPES:
        raise unknown_name("training recipe", name, sorted(RECIPES))
    from avatar_bench.train.recipe import Recipe  # imports torch: only once a name is valid

    return load_class(RECIPES[name], name, Recipe, "training recipe")


def create_recipe(name: str, **config: Any):
    """Instantiate a registered recipe with its config options."""
    return get_recipe_class(name)(**config)
