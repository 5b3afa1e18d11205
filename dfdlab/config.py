"""Profiles (``quick`` / ``full``) and the folders dfdlab reads and writes.

- ``DFDLAB_PROFILE``: ``quick`` (default; CPU minutes, the embedded mini benchmark) or
  ``full`` (paper settings, GPU, the published data and weights).
- ``DFDLAB_HOME``: weights, caches, the mini benchmark (default ``~/.cache/dfdlab``).
- ``DFDLAB_DATA``: the published datasets for the full profile (default ``DFDLAB_HOME/data``).
- ``DFDLAB_REHEARSAL``: a folder written by ``dfdlab.data.replica.write_replica`` (``make
  rehearse``). With it, the full profile runs over a miniature replica of the published layouts
  with official-format checkpoints of **random weights**: the asset lookup reads the replica's
  registry (``dfdlab.hub``), a lesson's sizes shrink to seconds (``settings``), and every number
  printed is labelled ``REHEARSAL_LABEL``. It tests the code path a student takes at home, never a
  result.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

PROFILES = ("quick", "full")

#: How every number computed in a rehearsal is labelled.
REHEARSAL_LABEL = "rehearsal, random weights"


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
    """``DFDLAB_DATA``: where the full profile expects the published datasets (in a rehearsal: the replica's)."""
    env = os.environ.get("DFDLAB_DATA")
    if env:
        return Path(env).expanduser()
    return rehearsal_root() / "data" if rehearsal() else home() / "data"


def rehearsal_root() -> Path | None:
    """The replica folder named by ``DFDLAB_REHEARSAL`` (``None`` when no rehearsal is running).

    ``DFDLAB_REHEARSAL=1`` means the default folder ``DFDLAB_HOME/rehearsal``; ``0``, ``no``
    or an empty value switch the rehearsal off.
    """
    value = os.environ.get("DFDLAB_REHEARSAL", "").strip()
    if value.lower() in ("", "0", "no", "false", "off"):
        return None
    return home() / "rehearsal" if value.lower() in ("1", "yes", "true", "on") else Path(value).expanduser()


def rehearsal() -> bool:
    """Whether this run is a rehearsal of the full profile (``DFDLAB_REHEARSAL`` set, profile ``full``)."""
    return rehearsal_root() is not None and profile() == "full"


def labelled(text: str) -> str:
    """``text``, followed by the rehearsal label when this run is a rehearsal (for captions of numbers)."""
    return f"{text} [{REHEARSAL_LABEL.upper()}: not a result]" if rehearsal() else text


def _is_size(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def rehearsal_settings(quick: dict, full: dict, rehearsal: dict | None = None) -> dict:
    """The full settings shrunk to seconds: what a rehearsal runs.

    Every number (size, epochs, count) of ``full`` that is larger than its ``quick`` value
    takes the quick value; then the lesson's own ``rehearsal`` values replace theirs (a lesson
    names there what must be smaller still, e.g. the images per test set). Strings, flags and
    ``None`` (e.g. "every image") stay the full profile's: the code path is the full one.
    """
    out = dict(full)
    for k, v in full.items():
        if _is_size(v) and _is_size(quick[k]) and quick[k] < v:
            out[k] = quick[k]
    unknown = sorted(set(rehearsal or {}) - set(full))
    if unknown:
        raise ValueError(f"rehearsal settings name keys the lesson does not have: {unknown}")
    out.update(rehearsal or {})
    return out


def settings(quick: dict, full: dict, show: bool = True, rehearsal: dict | None = None) -> SimpleNamespace:
    """Pick a lesson's settings for the active profile, showing both side by side.

    Both dicts must have the same keys: a profile changes sizes, epochs and the
    data/weights source, never the code path. In a rehearsal of the full profile
    (``DFDLAB_REHEARSAL``) the full settings are shrunk by :func:`rehearsal_settings`
    (``rehearsal`` holds the lesson's own overrides) and shown in a third column.
    """
    if set(quick) != set(full):
        raise ValueError(f"quick and full settings differ in keys: {sorted(set(quick) ^ set(full))}")
    active = profile()
    rehearsing = rehearsal_root() is not None and active == "full"
    shrunk = rehearsal_settings(quick, full, rehearsal) if rehearsing else None
    if show:
        columns = {"quick": quick, "full": full, **({"rehearsal": shrunk} if shrunk is not None else {})}
        kw = max([len("setting")] + [len(k) for k in quick])
        width = {c: max([len(c)] + [len(str(v)) for v in d.values()]) for c, d in columns.items()}
        print("  ".join([f"{'setting':<{kw}}"] + [f"{c:<{width[c]}}" for c in columns]) + f"   (active: {active})")
        for k in quick:
            mark = "   <- differs" if quick[k] != full[k] else ""
            print("  ".join([f"{k:<{kw}}"] + [f"{str(d[k]):<{width[c]}}" for c, d in columns.items()]) + mark)
        if shrunk is not None:
            print(f"REHEARSAL ({REHEARSAL_LABEL}): the full profile's code path over a miniature replica of the "
                  f"published layouts ({rehearsal_root()}), with official-format checkpoints of random weights and "
                  "the sizes above. Every number below tests the pipeline; none is a result.")
    values = quick if active == "quick" else (shrunk if shrunk is not None else full)
    return SimpleNamespace(**values, profile=active)
