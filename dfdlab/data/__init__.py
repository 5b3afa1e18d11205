"""Data layer: robust decoding, the ForenSynths folder layout, each paper's pipelines, the mini benchmark.

- ``load_rgb``, ``ImageError`` (``images.py``): decode any file to RGB or fail naming it.
- ``ForenSynths``, ``generator_sets``, ``check_layout``, ``read_manifest``, ``ImageList``
  (``folders.py``): the benchmark folders.
- ``BadImage``, ``skip_bad``, ``collate_skip_bad``, ``report_skipped`` (``skipping.py``): unreadable
  files are skipped, named and reported one way everywhere.
- ``dfdlab.data.transforms``: every paper's train / val / test preprocessing by name.
- ``build_mini`` (``mini.py``): the embedded mini benchmark.
"""

from __future__ import annotations

import importlib

from . import transforms
from .images import MAX_PIXELS, MIN_SIDE, ImageError, load_rgb

_LAZY = {
    "build_mini": "mini",
    "ForenSynths": "folders",
    "generator_sets": "folders",
    "check_layout": "folders",
    "per_label_subset": "folders",
    "read_manifest": "folders",
    "LayoutReport": "folders",
    "LayoutError": "folders",
    "ImageList": "folders",
    "BadImage": "skipping",
    "SkippingBatch": "skipping",
    "skip_bad": "skipping",
    "collate_skip_bad": "skipping",
    "report_skipped": "skipping",
    "skipped_csv_path": "skipping",
    "IMG_EXTENSIONS": "folders",
}


def __getattr__(name: str):
    # Load on first use: the mini builder imports the GAN code, pandas and the photo
    # packages, which a reader of one image does not need.
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'dfdlab.data' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["load_rgb", "ImageError", "MIN_SIDE", "MAX_PIXELS", "transforms", *_LAZY]
