"""TAVLO, the paper's video-centric localizer: config, model, loss, recipe and adapter.

Importing this package needs torch; the registry imports it lazily.
"""

from __future__ import annotations

from avatar_bench.models.tavlo.config import DEFAULT, PRESETS, SMALL, TINY, TAVLOConfig, load_config
from avatar_bench.models.tavlo.loss import frame_mil_loss, mil_logits
from avatar_bench.models.tavlo.model import TAVLO, localization_maps

__all__ = [
    "DEFAULT", "PRESETS", "SMALL", "TAVLO", "TINY", "TAVLOConfig", "frame_mil_loss",
    "load_config", "localization_maps", "mil_logits",
]
