"""Each lesson is one jupytext pair: notebooks/NN_name.py (text source) and NN_name.ipynb.

The two must hold the same cells (type and source); the .ipynb must be committed without outputs.
`make sync` (jupytext --sync) brings a pair back in step after an edit on either side.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def _cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def test_every_lesson_has_a_text_source():
    assert LESSONS, f"no lessons found under {NOTEBOOKS}"
    texts = {p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.py")}
    assert texts == {p.stem for p in LESSONS}, "every notebooks/NN_*.ipynb needs its NN_*.py twin and back"


@pytest.mark.parametrize("ipynb", LESSONS, ids=lambda p: p.stem)
def test_pair_in_step(ipynb: Path):
    text = ipynb.with_suffix(".py")
    a, b = jupytext.read(ipynb), jupytext.read(text)
    ca, cb = _cells(a), _cells(b)
    assert len(ca) == len(cb), f"{ipynb.name} has {len(ca)} cells, {text.name} {len(cb)}: run `make sync`"
    for i, (x, y) in enumerate(zip(ca, cb, strict=True)):
        assert x == y, f"cell {i} of {ipynb.name} differs from {text.name}: run `make sync`"


@pytest.mark.parametrize("ipynb", LESSONS, ids=lambda p: p.stem)
def test_committed_stripped(ipynb: Path):
    nb = jupytext.read(ipynb)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{ipynb.name}: cells {dirty} carry outputs; run `make strip`"
