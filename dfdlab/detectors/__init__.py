"""Detectors: one interface, a registry, strict checkpoint loading.

``build("cnndetection" | "univfd" | "npr" | "lgrad", **kw)`` imports the paper's module on
first use (``dfdlab/detectors/<name>.py``), so a module that is not there or not importable
does not break the others; ``available()`` lists what imports. ``"cnnspot"`` and ``"ufd"``
are accepted as other names of CNNDetection and UnivFD.

Detectors from outside the package (a member's own, one file each) register with the same
``register`` decorator; ``DFDLAB_PLUGINS`` names their files or folders and ``available``, ``get``
and ``build`` load them on first use (``dfdlab.plugins``).

Each detector owns its preprocessing: ``model.transform("train" | "val" | "test",
benchmark=..., augment=...)`` and ``model.describe(split, benchmark)`` (the settings in words).
"""

from . import base as _base
from .base import (
    ALIASES,
    BUILTINS,
    SPLITS,
    CheckpointError,
    Detector,
    Preprocessing,
    canonical,
    load_checkpoint,
    register,
    resolve_split,
    unwrap_state_dict,
)


def available() -> list[str]:
    """Names ``build`` accepts (aliases aside): the built-ins, anything registered, and ``DFDLAB_PLUGINS``' detectors."""
    from dfdlab.plugins import load_env_plugins

    load_env_plugins()
    return _base.available()


def get(name: str) -> type[Detector]:
    """The registered class for ``name`` or an alias of it (a built-in or a ``DFDLAB_PLUGINS`` detector)."""
    if canonical(name) not in _base._REGISTRY and canonical(name) not in BUILTINS:
        from dfdlab.plugins import load_env_plugins

        load_env_plugins()
    return _base.get(name)


def build(name: str, **kwargs) -> Detector:
    """Instantiate a registered detector: ``build("cnndetection", pretrained=False)`` (or ``build("cnnspot")``)."""
    return get(name)(**kwargs)


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
