"""Models: the adapter interface and the registry. Importing this never imports torch."""

from avatar_bench.models.base import Adapter
from avatar_bench.models.registry import available, create, get_adapter_class

__all__ = ["Adapter", "available", "create", "get_adapter_class"]
