"""Faithful PyTorch versions of the AVATAR baselines (EZ-VSL, SLAVC, SSL-TIE).

The model classes reproduce the official module names and shapes so the authors' released
checkpoints load strictly (see ``checkpoints.load_official``). Importing this package imports
torch; the registry only imports it when one of these models is requested.
"""

from __future__ import annotations

MODEL_NAMES: tuple[str, ...] = ("ezvsl", "slavc", "ssltie")

__all__ = ["MODEL_NAMES"]
