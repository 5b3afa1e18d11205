"""Tiny helper for writing lessons from Python: ``md(...)``/``code(...)`` cells, saved stripped."""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat


def md(text: str):
    return nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip())


def code(text: str):
    return nbformat.v4.new_code_cell(textwrap.dedent(text).strip())


def save(cells, path: str | Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.validate(nb)
    path = Path(path)
    nbformat.write(nb, path)
    return path
