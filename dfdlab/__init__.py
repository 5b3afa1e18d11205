"""dfdlab: a reproduction lab for AI-generated-image detection (CNNDetection, UnivFD, NPR, LGrad).

The compatibility shim is imported first so that ``import torchvision`` (and open_clip)
works even where torchvision's compiled ops do not load against the installed torch.
"""

import importlib

from . import _compat  # noqa: F401  (must run before anything imports torchvision)
from .config import data_root, home, profile, settings
from .runtime import device, seed_everything

__version__ = "0.1.0"

_SUBMODULES = {"attention", "clip", "data", "detectors", "evaluate", "features", "files", "gan", "hub", "ledger",
               "results", "suites", "testing", "train", "viz", "widgets", "zoo"}


def doctor(print_report: bool = True) -> dict:
    """Versions, device, profile, folders and assets; never raises offline. See ``dfdlab.health``."""
    from .health import doctor as _doctor

    return _doctor(print_report=print_report)


def __getattr__(name: str):
    # Subpackages load on first use, so ``import dfdlab`` stays fast and a lesson pays
    # only for what it touches.
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'dfdlab' has no attribute {name!r}")


__all__ = ["doctor", "seed_everything", "device", "profile", "settings", "home", "data_root", "__version__"]
