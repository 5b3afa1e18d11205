"""Profiles (``quick`` / ``full``) and the folders dfdlab reads and writes.

- ``DFDLAB_PROFILE``: ``quick`` (default; CPU minutes, the embedded mini benchmark) or
  ``full`` (paper settings, GPU, the published data and weights).
- ``DFDLAB_HOME``: weights, caches, the mini benchmark (default ``~/.cache/dfdlab``).
- ``DFDLAB_DATA``: the published datasets for the full profile (default ``DFDLAB_HOME/data``).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

PROFILES = ("quick", "full")


def profile() -> str:
    """The active profile, read from ``DFDLAB_PROFILE`` (``quick`` when unset)."""
    name = os.environ.get("DFDLAB_PROFILE", "quick").strip().lower() or "quick"
    if name not in PROFILES:
        raise ValueError(f"DFDLAB_PROFILE={name!r} is not a profile; use one of {', '.join(PROFILES)}")
    return name


def home() -> Path:
    """``DFDLAB_HOME``: weights, caches and the mini benchmark live here."""
    return Path(os.environ.get("DFDLAB_HOME") or Path.home() / ".cache" / "dfdlab").expanduser()


def data_root() -> Path:
    """``DFDLAB_DATA``: where the full profile expects the published datasets."""
    env = os.environ.get("DFDLAB_DATA")
    return Path(env).expanduser() if env else home() / "data"


def settings(quick: dict, full: dict, show: bool = True) -> SimpleNamespace:
    """Pick a lesson's settings for the active profile, showing both side by side.

    Both dicts must have the same keys: a profile changes sizes, epochs and the
    data/weights source, never the code path.
    """
    if set(quick) != set(full):
        raise ValueError(f"quick and full settings differ in keys: {sorted(set(quick) ^ set(full))}")
    active = profile()
    if show:
        kw = max([len("setting")] + [len(k) for k in quick])
        qw = max([len("quick")] + [len(str(v)) for v in quick.values()])
        fw = max([len("full")] + [len(str(v)) for v in full.values()])
        print(f"{'setting':<{kw}}  {'quick':<{qw}}  {'full':<{fw}}   (active: {active})")
        for k in quick:
            mark = "   <- differs" if quick[k] != full[k] else ""
            print(f"{k:<{kw}}  {str(quick[k]):<{qw}}  {str(full[k]):<{fw}}{mark}")
    return SimpleNamespace(**(quick if active == "quick" else full), profile=active)
