"""Unreadable images: one record, one collate, one report.

The official loaders (CNNDetection ``data/datasets.py`` and the copies in NPR, UnivFD and
LGrad) crash a whole run on the first file Pillow cannot decode. dfdlab skips such a file
and names it instead, always the same way:

1. **record**: a sample whose file :func:`~dfdlab.data.images.load_rgb` rejects becomes a
   :class:`BadImage` (path, label, reason, message) instead of ``(x, label)``. Datasets do
   it themselves (``ForenSynths(..., on_error="skip")``) or through :func:`skip_bad`.
   Only :class:`~dfdlab.data.images.ImageError` means "unreadable file"; any other
   exception (from a transform, a model, a typo) is a bug and propagates.
2. **collate**: ``DataLoader(..., collate_fn=collate_skip_bad)`` drops the records and
   gives a :class:`SkippingBatch` ``(x, y, bad)``; it unpacks as ``x, y, bad = batch``.
3. **report**: :func:`report_skipped` warns once naming the files and writes them to
   ``<stem>_skipped.csv`` (atomically) beside a result file.

Training (``dfdlab.train``), evaluation (``dfdlab.evaluate``), the feature cache
(``dfdlab.features``), ``dfdlab predict`` and the widget all go through these names.
"""

from __future__ import annotations

import csv
import io
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
from torch.utils.data import Dataset, default_collate

from ..files import atomic_write_text
from .images import ImageError

#: Columns of a ``*_skipped.csv`` report.
SKIPPED_COLUMNS = ("path", "label", "reason", "message")


class SkippedImagesWarning(UserWarning):
    """Some images could not be read and were left out (the message names them)."""


class BadImage(NamedTuple):
    """A sample whose file could not be read, kept in place of ``(x, label)``.

    ``label`` is -1 when the dataset cannot tell it; ``reason`` is ``ImageError.reason``
    ("empty", "not_image", "corrupt", ...); ``message`` is the error text naming the file.
    """

    path: str
    label: int
    reason: str
    message: str

    @classmethod
    def from_error(cls, err: ImageError, label: int = -1) -> "BadImage":
        return cls(err.path, int(label), err.reason, str(err))

    @property
    def detail(self) -> str:
        """The message without its leading ``<path>: `` (for tables that show the path beside it)."""
        prefix = f"{self.path}: "
        return self.message[len(prefix):] if self.message.startswith(prefix) else self.message

    def __str__(self) -> str:
        return f"{self.path} ({self.reason}: {self.detail})"


@dataclass
class SkippingBatch:
    """What :func:`collate_skip_bad` returns; ``x, y, bad = batch`` unpacks the first three.

    ``x``: the good samples stacked (a list of tensors with ``stack=False``; ``None`` when
    every sample was bad); ``y``: their labels (a tensor); ``bad``: the :class:`BadImage`
    records of the batch; ``extra``: the collated further fields of the good samples, when
    the dataset returns ``(x, y, ...)`` (e.g. their paths).
    """

    x: torch.Tensor | list | None
    y: torch.Tensor
    bad: list
    extra: tuple = ()

    def __iter__(self):
        return iter((self.x, self.y, self.bad))


def is_bad(item) -> bool:
    """Whether a dataset item is a :class:`BadImage` record."""
    return isinstance(item, BadImage)


def label_of(dataset, index: int) -> int:
    """The label of ``dataset[index]`` from ``dataset.samples`` without reading the file; -1 if unknown."""
    samples = getattr(dataset, "samples", None)
    if samples is None:
        return -1
    return int(samples[index][1])


class SkipBad(Dataset):
    """``dataset`` with every ``ImageError`` turned into a :class:`BadImage` record (see :func:`skip_bad`)."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index):
        try:
            return self.dataset[index]
        except ImageError as err:  # only an unreadable file; a bug elsewhere propagates
            return BadImage.from_error(err, label_of(self.dataset, index))

    def __getattr__(self, name):  # ``samples``, ``generator``, ``family`` ... of the wrapped dataset
        if name == "dataset":
            raise AttributeError(name)
        return getattr(self.dataset, name)


def skip_bad(dataset) -> Dataset:
    """Wrap a dataset so that a sample raising ``ImageError`` becomes a :class:`BadImage`.

    Use with ``collate_fn=collate_skip_bad``. (``ForenSynths(..., on_error="skip")`` does
    the same without a wrapper.) The label of a bad sample is read from ``dataset.samples``
    when there is such an attribute, else -1. Any other exception propagates.
    """
    return dataset if isinstance(dataset, SkipBad) else SkipBad(dataset)


def collate_skip_bad(batch: list, stack: bool = True) -> SkippingBatch:
    """DataLoader ``collate_fn`` that drops :class:`BadImage` entries and keeps them in ``.bad``.

    ``stack=False`` keeps ``x`` as a list of tensors (images of different sizes, the
    no-resize protocols); use ``functools.partial(collate_skip_bad, stack=False)``.
    """
    bad = [b for b in batch if is_bad(b)]
    good = [b for b in batch if not is_bad(b)]
    if not good:
        return SkippingBatch(None, torch.empty(0, dtype=torch.long), bad)
    if stack:
        x, y, *extra = default_collate(good)
    else:
        x = [b[0] for b in good]
        y, *extra = default_collate([tuple(b[1:]) for b in good])
    return SkippingBatch(x, torch.as_tensor(y), bad, tuple(extra))


# --------------------------------------------------------------------------- report


def skipped_csv_path(result_path: str | os.PathLike) -> Path:
    """``results/table.csv`` -> ``results/table_skipped.csv``: where the skipped files of a result are listed."""
    p = Path(result_path)
    return p.with_name(f"{p.stem}_skipped.csv")


def summary(bad: Sequence[BadImage], limit: int = 5) -> str:
    """One paragraph naming the skipped files (the first ``limit``) and why."""
    shown = "; ".join(str(b) for b in bad[:limit])
    more = f"; and {len(bad) - limit} more" if len(bad) > limit else ""
    return f"skipped {len(bad)} unreadable file(s): {shown}{more}"


def write_skipped_csv(bad: Iterable[BadImage], path: str | os.PathLike) -> Path:
    """Write the records as CSV (columns ``path,label,reason,message``), atomically."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(SKIPPED_COLUMNS)
    for b in bad:
        w.writerow([b.path, b.label, b.reason, b.message])
    return atomic_write_text(path, buf.getvalue())


def report_skipped(bad: Sequence[BadImage], csv_path: str | os.PathLike | None = None, *, warn: bool = True,
                   stacklevel: int = 2) -> str:
    """Report skipped files: a :class:`SkippedImagesWarning` naming them and, with ``csv_path``, a CSV.

    Returns the summary text ('' when nothing was skipped; then no CSV is written). A
    command-line tool passes ``warn=False`` and prints the text itself.
    """
    bad = list(bad)
    if not bad:
        return ""
    text = summary(bad)
    if csv_path is not None:
        write_skipped_csv(bad, csv_path)
        text += f" (listed in {csv_path})"
    if warn:
        warnings.warn(text, SkippedImagesWarning, stacklevel=stacklevel + 1)
    return text


__all__ = [
    "BadImage", "SKIPPED_COLUMNS", "SkipBad", "SkippedImagesWarning", "SkippingBatch", "collate_skip_bad", "is_bad",
    "label_of", "report_skipped", "skip_bad", "skipped_csv_path", "summary", "write_skipped_csv",
]
