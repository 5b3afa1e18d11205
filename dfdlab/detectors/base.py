"""The detector interface, the registry and strict checkpoint loading.

Modelled on DeepfakeBench's single detector interface with a registry decorator and on
timm/open_clip's strict loading whose errors say which keys were missing or unexpected
(and, unlike SIDBench or AIGCDetectBenchmark, never ``strict=False`` nor a bare
``except`` around ``load_state_dict``: a partial load must fail loudly).

Every detector is an ``nn.Module`` whose ``forward(x)`` returns one logit per image
(shape ``[N]``); ``sigmoid(logit)`` is the fake probability and ``> 0.5`` decides "fake",
as in CNNDetection's ``validate.py`` (PAPERS.md §0).
"""

from __future__ import annotations

import importlib
import pickle
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Callable

import torch
from torch import nn

#: Built-in detector modules, imported lazily by ``build``/``available`` (one per paper).
BUILTINS = ("cnnspot", "ufd", "npr", "lgrad")

_REGISTRY: dict[str, type["Detector"]] = {}


class CheckpointError(ValueError):
    """A checkpoint file cannot be read, or does not fit the model (names the file)."""


class Detector(nn.Module):
    """Base class of every dfdlab detector.

    Class attributes:
        name: registry name (``build(name)``).
        paper: the paper it reproduces, e.g. ``"Wang et al., CVPR 2020 (CNNDetection)"``.
        recipe: key of ``dfdlab.train.RECIPES`` used to train it.

    Subclasses implement ``forward(x) -> [N]`` logits and ``transform(train)``; they may
    implement ``features(x)`` (the representation before the final linear layer) and
    ``convert_state_dict(sd)`` (map an official checkpoint's keys onto theirs).
    """

    name: str = ""
    paper: str = ""
    recipe: str = ""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def transform(self, train: bool = False) -> Callable:
        """The paper's preprocessing: PIL image -> normalised tensor (train or test pipeline)."""
        raise NotImplementedError(f"{type(self).__name__} does not define transform(train)")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The representation fed to the final classifier (optional)."""
        raise NotImplementedError(f"{type(self).__name__} does not expose features(x)")

    @classmethod
    def convert_state_dict(cls, sd: Mapping[str, torch.Tensor]) -> Mapping[str, torch.Tensor]:
        """Map an official checkpoint's keys onto this module's; identity by default."""
        return sd

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Fake probability per image: ``sigmoid(forward(x))`` (CNNDetection ``validate.py``)."""
        return torch.sigmoid(self(x).reshape(-1))

    def extra_repr(self) -> str:
        return f"name={self.name!r}, paper={self.paper!r}, recipe={self.recipe!r}" if self.name else ""


def register(name: str):
    """Class decorator: ``@register("npr") class NPR(Detector): ...`` makes ``build("npr")`` work."""

    def deco(cls):
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise TypeError(f"@register({name!r}) expects an nn.Module subclass, got {cls!r}")
        old = _REGISTRY.get(name)
        if old is not None and old.__qualname__ != cls.__qualname__:
            raise ValueError(f"detector name {name!r} is already registered by {old.__module__}.{old.__qualname__}")
        if not getattr(cls, "name", None):
            cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def _import_builtin(name: str) -> None:
    """Import ``dfdlab.detectors.<name>``; a module that is absent is simply not available."""
    try:
        importlib.import_module(f"dfdlab.detectors.{name}")
    except ModuleNotFoundError as e:
        # Only swallow "this built-in is not written yet", never a missing dependency inside it.
        if e.name != f"dfdlab.detectors.{name}":
            raise


def available() -> list[str]:
    """Names ``build`` accepts: the built-ins that import, plus anything registered."""
    for mod in BUILTINS:
        try:
            _import_builtin(mod)
        except Exception as e:  # a broken paper module must not hide the others
            import warnings

            warnings.warn(f"dfdlab.detectors.{mod} failed to import: {type(e).__name__}: {e}", stacklevel=2)
    return sorted(_REGISTRY)


def get(name: str) -> type[Detector]:
    """The registered class for ``name`` (imports its built-in module on first use)."""
    if name not in _REGISTRY and name in BUILTINS:
        _import_builtin(name)
    if name not in _REGISTRY:
        known = ", ".join(available()) or "none"
        raise KeyError(f"unknown detector {name!r}; available: {known}")
    return _REGISTRY[name]


def build(name: str, **kwargs) -> Detector:
    """Instantiate a registered detector: ``build("cnnspot", pretrained=False)``."""
    return get(name)(**kwargs)


# --------------------------------------------------------------------------- checkpoints


def _read_checkpoint(path: Path, map_location) -> object:
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path} is a folder; pass the .pth file inside it")
    if path.stat().st_size == 0:
        raise CheckpointError(f"checkpoint {path} is empty (0 bytes); download or copy it again")
    with open(path, "rb") as f:
        head = f.read(2)
    if head not in (b"PK", b"\x80\x02") and not head.startswith(b"\x80"):
        # torch files are zip archives ("PK") or legacy pickles (protocol byte 0x80).
        raise CheckpointError(
            f"checkpoint {path} is not a PyTorch file (it starts with {head!r}; an HTML page or a "
            "partial download?); download it again and check its sha256 (`dfdlab assets`)"
        )
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        why = next((ln.strip() for ln in str(e).splitlines() if "Unsupported" in ln or "WeightsUnpickler" in ln),
                   str(e).splitlines()[0] if str(e) else "")
        raise CheckpointError(
            f"checkpoint {path} holds Python objects other than tensors and plain containers; dfdlab "
            f"loads weights only (torch.load(weights_only=True)) and will not unpickle code. "
            f"Re-save just the state dict (torch.save(model.state_dict(), ...)). Details: {why}"
        ) from e
    except Exception as e:  # noqa: BLE001 - garbage bytes make the unpickler fail in many ways; re-raised, chained
        raise CheckpointError(
            f"checkpoint {path} is not a readable PyTorch file (corrupt or truncated download?): "
            f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        ) from e


def unwrap_state_dict(obj: object, source: str = "checkpoint") -> "OrderedDict[str, torch.Tensor]":
    """Official formats -> plain state dict: ``{'model': sd, ...}`` unwrapped, ``module.`` stripped.

    Covers CNNDetection/UnivFD trainer files ``{'model','optimizer','total_steps'}``, NPR's
    DDP-saved ``NPR.pth`` (``{'model': {'module.*'}}``) and raw ``state_dict()`` files
    (PAPERS.md §4 item 8).
    """
    if isinstance(obj, Mapping) and "model" in obj and isinstance(obj["model"], Mapping):
        obj = obj["model"]
    elif isinstance(obj, Mapping) and "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{source} holds a {type(obj).__name__}, not a state dict")
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(
            f"{source} is not a state dict: entries {bad[:5]!r} are not tensors "
            f"(top-level keys: {list(obj)[:10]!r})"
        )
    out = OrderedDict()
    for k, v in obj.items():
        out[k[len("module."):] if k.startswith("module.") else k] = v
    return out


def _mismatch_message(path, model: nn.Module, sd: Mapping[str, torch.Tensor]) -> str | None:
    own = model.state_dict()
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    shapes = [
        f"{k}: checkpoint {tuple(sd[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)
    ]
    if not (missing or unexpected or shapes):
        return None

    def lst(xs, n=12):
        more = f" ... (+{len(xs) - n} more)" if len(xs) > n else ""
        return ", ".join(xs[:n]) + more

    parts = [f"checkpoint {path} does not fit {type(model).__name__}:"]
    if missing:
        parts.append(f"missing keys ({len(missing)}): {lst(missing)}")
    if unexpected:
        parts.append(f"unexpected keys ({len(unexpected)}): {lst(unexpected)}")
    if shapes:
        parts.append(f"shape mismatches ({len(shapes)}): {lst(shapes, 6)}")
    parts.append("Is this the checkpoint of this detector (and of its variant/size)?")
    return "\n  ".join(parts)


def load_checkpoint(model: nn.Module, path, map_location="cpu") -> nn.Module:
    """Load a checkpoint strictly into ``model`` and return the model.

    ``torch.load(weights_only=True)``; ``{'model': sd}`` unwrapped; ``module.`` stripped;
    ``type(model).convert_state_dict`` applied; then ``load_state_dict(strict=True)``.
    A mismatch raises ``CheckpointError`` naming the file and listing missing/unexpected
    keys and shape mismatches; an unreadable file raises ``CheckpointError`` too.
    """
    path = Path(path)
    sd = unwrap_state_dict(_read_checkpoint(path, map_location), source=f"checkpoint {path}")
    convert = getattr(type(model), "convert_state_dict", None)
    if convert is not None:
        sd = convert(sd)
    msg = _mismatch_message(path, model, sd)
    if msg:
        raise CheckpointError(msg)
    model.load_state_dict(sd, strict=True)
    return model
