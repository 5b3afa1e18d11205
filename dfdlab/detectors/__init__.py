"""Detectors: one interface, a registry, strict checkpoint loading.

``build("cnnspot" | "ufd" | "npr" | "lgrad", **kw)`` imports the paper's module on first
use (``dfdlab/detectors/<name>.py``), so a module that is not there or not importable
does not break the others; ``available()`` lists what imports.
"""

from .base import (
    BUILTINS,
    CheckpointError,
    Detector,
    available,
    build,
    get,
    load_checkpoint,
    register,
    unwrap_state_dict,
)

__all__ = [
    "BUILTINS",
    "CheckpointError",
    "Detector",
    "available",
    "build",
    "get",
    "load_checkpoint",
    "register",
    "unwrap_state_dict",
]
