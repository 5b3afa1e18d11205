"""Seeding and device choice."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int = 100, deterministic: bool = True) -> None:
    """Seed every generator the official repositories seed.

    Mirrors ``seed_torch`` of NPR's ``train.py``/``test.py`` (seed 100 there): Python
    ``random``, ``PYTHONHASHSEED``, NumPy, torch (CPU and CUDA), and, with
    ``deterministic=True``, ``cudnn.benchmark=False``, ``cudnn.deterministic=True`` and
    ``cudnn.enabled=False`` (NPR disables cuDNN altogether).
    """
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    if deterministic:
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.enabled = False


def device(prefer: str | None = None) -> torch.device:
    """``DFDLAB_DEVICE`` if set, else CUDA when available, else Apple MPS, else CPU."""
    name = prefer or os.environ.get("DFDLAB_DEVICE")
    if name:
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
