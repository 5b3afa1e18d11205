"""CLIP: a tiny CLIP trained from scratch (``tiny``) and pretrained CLIP via open_clip (``pretrained``).

- ``dfdlab.clip.tiny``: procedurally drawn image-caption pairs (shapes x colours x
  positions) with held-out compositions, a small image and text encoder, the symmetric
  InfoNCE loss with CLIP's learnable temperature (lesson 03).
- ``dfdlab.clip.pretrained``: ``load_clip(name, weights=PATH | pretrained_tag=...)`` for
  OpenAI / open_clip weights (QuickGELU for OpenAI weights, fp32, eval) and
  ``image_features(model, x, projected=True)`` (UnivFD's feature, lesson 04).

Submodules load on first use: ``import dfdlab.clip`` does not import open_clip.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "load_clip": "pretrained", "load_visual": "pretrained", "image_features": "pretrained",
    "WeightsMissing": "pretrained",
}


def __getattr__(name: str):
    if name in ("tiny", "pretrained"):
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'dfdlab.clip' has no attribute {name!r}")


__all__ = ["tiny", "pretrained", *_LAZY]
