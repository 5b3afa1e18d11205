"""Detectors: one interface, a registry, strict checkpoint loading.

``build("cnndetection" | "univfd" | "npr" | "lgrad", **kw)`` imports the paper's module on
first use (``dfdlab/detectors/<name>.py``), so a module that is not there or not importable
does not break the others; ``available()`` lists what imports. ``"cnnspot"`` and ``"ufd"``
are accepted as other names of CNNDetection and UnivFD.

Each detector owns its preprocessing: ``model.transform("train" | "val" | "test",
benchmark=..., augment=...)`` and ``model.describe(split, benchmark)`` (the settings in words).
"""

from .base import (
    ALIASES,
    BUILTINS,
    SPLITS,
    CheckpointError,
    Detector,
    Preprocessing,
    available,
    build,
    canonical,
    get,
    load_checkpoint,
    register,
    resolve_split,
    unwrap_state_dict,
)

__all__ = [
    "ALIASES",
    "BUILTINS",
    "SPLITS",
    "CheckpointError",
    "Detector",
    "Preprocessing",
    "available",
    "build",
    "canonical",
    "get",
    "load_checkpoint",
    "register",
    "resolve_split",
    "unwrap_state_dict",
]
