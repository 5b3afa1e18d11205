"""Result tables the lessons write, gathered by ``make reproduce`` under ``build/results``."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .config import home
from .files import atomic_write_text


def results_dir() -> Path:
    """``DFDLAB_RESULTS`` when set (``make reproduce`` sets ``build/results``), else ``DFDLAB_HOME/results``."""
    env = os.environ.get("DFDLAB_RESULTS")
    return Path(env) if env else home() / "results"


def save_table(df: pd.DataFrame, name: str, note: str = "") -> Path:
    """Write ``df`` as ``<name>.csv`` and ``<name>.md`` (with ``note`` above the table); returns the CSV path."""
    out = results_dir()
    csv = out / f"{name}.csv"
    atomic_write_text(csv, df.to_csv(index=False))
    md = (f"{note}\n\n" if note else "") + df.to_markdown(index=False, floatfmt=".4g") + "\n"
    atomic_write_text(out / f"{name}.md", md)
    return csv
