"""Reading checkpoints: one strict reader for every model in dfdlab.

Detectors (``dfdlab.detectors.load_checkpoint``), their backbones, CLIP
(``dfdlab.clip.pretrained``), LGrad's StyleGAN discriminator and the lessons' GANs all read
weights through this module, so each file is read the same way and fails the same way:

1. :func:`read_checkpoint`: ``torch.load(weights_only=True)`` (or safetensors); an empty
   file, an HTML page saved as ``.pth``, a truncated download or a pickle of Python objects
   raise :class:`CheckpointError` naming the file and saying what to do.
2. :func:`unwrap_state_dict`: the official formats to a plain state dict: the trainer
   files ``{'model': sd, 'optimizer', 'total_steps'}`` of CNNDetection ``networks/trainer.py``
   and UnivFD ``models/trainer.py``, ``{'state_dict': sd}`` (open_clip's ``main.py``), and
   the ``module.`` prefix of DDP-saved files (NPR's ``NPR.pth``).
3. :func:`load_state_dict_strict`: every key and shape checked before anything is copied;
   a mismatch raises :class:`CheckpointError` listing the missing keys, the unexpected keys
   and the shape mismatches, and naming the file (timm/open_clip's strict loading; never
   ``strict=False``, which hides a partial load).
"""

from __future__ import annotations

import os
import pickle
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

#: Top-level entries that wrap the state dict in training checkpoints, tried in this order.
WRAPPER_KEYS = ("model", "state_dict")
#: How many key names an error message lists before "... (+N more)".
LISTED_KEYS = 12


class CheckpointError(ValueError):
    """A checkpoint file cannot be read, or does not fit the model (the message names the file)."""


def _first_line(e: BaseException) -> str:
    text = str(e)
    return text.splitlines()[0] if text else ""


def read_checkpoint(path: str | os.PathLike, map_location="cpu") -> object:
    """What ``path`` holds, read with ``torch.load(weights_only=True)`` (``.safetensors``: safetensors).

    Raises ``FileNotFoundError`` for a missing file and :class:`CheckpointError` (naming the
    file) for a folder, an empty file, a file that is not a PyTorch file, a truncated or
    corrupt one, and one that needs arbitrary Python objects unpickled.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path} is a folder; pass the .pth file inside it")
    if path.stat().st_size == 0:
        raise CheckpointError(f"checkpoint {path} is empty (0 bytes); download or copy it again")
    if path.suffix == ".safetensors":
        device = map_location if isinstance(map_location, str) else "cpu"
        try:
            return load_file(str(path), device=device)
        except SafetensorError as e:
            raise CheckpointError(f"checkpoint {path} is not a readable safetensors file: {e}") from e
    with open(path, "rb") as f:
        head = f.read(2)
    if head != b"PK" and not head.startswith(b"\x80"):
        # torch files are zip archives ("PK") or legacy pickles (protocol byte 0x80).
        raise CheckpointError(
            f"checkpoint {path} is not a PyTorch file (it starts with {head!r}; an HTML page or a "
            "partial download?); download it again and check its sha256 (`dfdlab assets`)"
        )
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        why = next((ln.strip() for ln in str(e).splitlines() if "Unsupported" in ln or "WeightsUnpickler" in ln),
                   _first_line(e))
        raise CheckpointError(
            f"checkpoint {path} holds Python objects other than tensors and plain containers; dfdlab "
            f"loads weights only (torch.load(weights_only=True)) and will not unpickle code. "
            f"Re-save just the state dict (torch.save(model.state_dict(), ...)). Details: {why}"
        ) from e
    except Exception as e:  # noqa: BLE001 - garbage bytes make the unpickler fail in many ways; re-raised, chained
        raise CheckpointError(
            f"checkpoint {path} is not a readable PyTorch file (corrupt or truncated download?): "
            f"{type(e).__name__}: {_first_line(e)}"
        ) from e


def unwrap_state_dict(obj: object, source: str = "checkpoint", entry: str | None = None
                      ) -> "OrderedDict[str, torch.Tensor]":
    """Official formats -> plain state dict: ``{'model': sd, ...}`` / ``{'state_dict': sd}`` unwrapped, ``module.`` stripped.

    ``entry`` names one more wrapper to take first when present (e.g. ``"discriminator"``
    of genforce's converted StyleGAN files). Raises :class:`CheckpointError` when what is
    left is not a mapping of names to tensors.
    """
    if entry is not None and isinstance(obj, Mapping) and isinstance(obj.get(entry), Mapping):
        obj = obj[entry]
    for key in WRAPPER_KEYS:
        if isinstance(obj, Mapping) and isinstance(obj.get(key), Mapping):
            obj = obj[key]
            break
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{source} holds a {type(obj).__name__}, not a state dict")
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(
            f"{source} is not a state dict: entries {bad[:5]!r} are not tensors "
            f"(top-level keys: {list(obj)[:10]!r})"
        )
    return OrderedDict((k[len("module."):] if k.startswith("module.") else k, v) for k, v in obj.items())


def _listed(names: list[str], n: int = LISTED_KEYS) -> str:
    more = f" ... (+{len(names) - n} more)" if len(names) > n else ""
    return ", ".join(names[:n]) + more


def mismatch_message(source, model: nn.Module, sd: Mapping[str, torch.Tensor]) -> str | None:
    """``None`` when ``sd`` fits ``model`` exactly; else the missing / unexpected / mis-shaped keys."""
    own = model.state_dict()
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    shapes = [f"{k}: checkpoint {tuple(sd[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)]
    if not (missing or unexpected or shapes):
        return None
    parts = [f"{source} does not fit {type(model).__name__}:"]
    if missing:
        parts.append(f"missing keys ({len(missing)}): {_listed(missing)}")
    if unexpected:
        parts.append(f"unexpected keys ({len(unexpected)}): {_listed(unexpected)}")
    if shapes:
        parts.append(f"shape mismatches ({len(shapes)}): {_listed(shapes, 6)}")
    parts.append("Is this the checkpoint of this model (and of its variant/size)?")
    return "\n  ".join(parts)


def load_state_dict_strict(model: nn.Module, sd: Mapping[str, torch.Tensor], source="state dict") -> nn.Module:
    """``model.load_state_dict(sd, strict=True)`` after checking every key and shape; returns ``model``.

    A mismatch raises :class:`CheckpointError` (listing missing and unexpected keys and
    shape mismatches, naming ``source``) before any weight is copied.
    """
    msg = mismatch_message(source, model, sd)
    if msg:
        raise CheckpointError(msg)
    model.load_state_dict(sd, strict=True)
    return model


def load_checkpoint(model: nn.Module, path: str | os.PathLike, map_location="cpu", *, entry: str | None = None,
                    convert: Callable[[Mapping], Mapping] | None = None) -> nn.Module:
    """Load a checkpoint file strictly into ``model`` and return the model.

    :func:`read_checkpoint` -> :func:`unwrap_state_dict` (``entry`` first, if given) ->
    ``convert`` (default: ``type(model).convert_state_dict`` when the class has one, the
    detectors' mapping of official key names) -> :func:`load_state_dict_strict`.
    """
    path = Path(path)
    sd = unwrap_state_dict(read_checkpoint(path, map_location), source=f"checkpoint {path}", entry=entry)
    convert = convert or getattr(type(model), "convert_state_dict", None)
    if convert is not None:
        sd = convert(sd)
    return load_state_dict_strict(model, sd, source=f"checkpoint {path}")


__all__ = [
    "CheckpointError", "LISTED_KEYS", "WRAPPER_KEYS", "load_checkpoint", "load_state_dict_strict", "mismatch_message",
    "read_checkpoint", "unwrap_state_dict",
]
