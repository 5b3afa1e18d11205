"""Make ``import torchvision`` work when its compiled extension cannot load.

A CPU build of torch beside the PyPI torchvision wheel (a CUDA build) is a common mix:
``torchvision/_C.so`` then fails to load and ``import torchvision`` dies with
``operator torchvision::nms does not exist``, because ``torchvision._meta_registrations``
registers fake kernels for ``nms`` and ``qnms`` unconditionally. open_clip imports
torchvision, so UnivFD would be unusable.

When the extension loads, this module does nothing. Otherwise it defines the two op
schemas (as ``torchvision/csrc/ops/nms.cpp`` declares them) and gives ``nms`` a pure
PyTorch CPU kernel. dfdlab reads and writes images with PIL (as every official
repository does), so it never needs torchvision's compiled image codecs.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import torch

log = logging.getLogger(__name__)

#: True once the fallback schemas were registered (torchvision's own ops are missing).
ACTIVE = False
_LIBRARY = None  # keep a reference, or the registration is dropped


def _torchvision_extension_loads() -> bool:
    spec = importlib.util.find_spec("torchvision")
    if spec is None or spec.origin is None:
        return True  # torchvision absent: nothing to repair
    libs = sorted(Path(spec.origin).parent.glob("_C*.so")) + sorted(Path(spec.origin).parent.glob("_C*.pyd"))
    if not libs:
        return False
    try:
        torch.ops.load_library(str(libs[0]))
    except (OSError, RuntimeError, ImportError):
        return False
    return True


def _nms_cpu(dets: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy non-maximum suppression, same contract as ``torchvision.ops.nms``."""
    if dets.numel() == 0:
        return torch.empty(0, dtype=torch.long, device=dets.device)
    x1, y1, x2, y2 = dets.unbind(1)
    areas = (x2 - x1) * (y2 - y1)
    order = scores.argsort(descending=True)
    suppressed = torch.zeros(len(order), dtype=torch.bool)
    keep = []
    for rank, i in enumerate(order.tolist()):
        if suppressed[rank]:
            continue
        keep.append(i)
        rest = order[rank + 1 :]
        w = (torch.minimum(x2[i], x2[rest]) - torch.maximum(x1[i], x1[rest])).clamp(min=0)
        h = (torch.minimum(y2[i], y2[rest]) - torch.maximum(y1[i], y1[rest])).clamp(min=0)
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter)
        suppressed[rank + 1 :] |= iou > iou_threshold
    return torch.tensor(keep, dtype=torch.long, device=dets.device)


def install() -> None:
    """Register the missing torchvision op schemas, once, if the extension does not load."""
    global ACTIVE, _LIBRARY
    if ACTIVE or _torchvision_extension_loads():
        return
    if hasattr(torch.ops, "torchvision") and hasattr(torch.ops.torchvision, "nms"):
        return
    lib = torch.library.Library("torchvision", "DEF")
    lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    lib.impl("nms", _nms_cpu, "CPU")
    _LIBRARY, ACTIVE = lib, True
    log.info("torchvision's compiled ops did not load; dfdlab registered a CPU nms fallback")


install()
