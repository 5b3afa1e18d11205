"""The ForenSynths folder layout: a dataset per generator, a layout check, the manifest.

Layout (CNNDetection ``data/__init__.py``: one ``ImageFolder`` per class, concatenated), shared
by the real benchmarks and the mini benchmark::

    <root>/{train,val}/<class>/{0_real,1_fake}/*.png
    <root>/test/<generator>/{0_real,1_fake}/*               single-class generator
    <root>/test/<generator>/<class>/{0_real,1_fake}/*       multi-class generator (pooled)

Labels: ``0_real`` -> 0, ``1_fake`` -> 1 (torchvision ``ImageFolder`` sorts class names).
Files are listed like ``ImageFolder``: recursively below each label folder, sorted, keeping
the extensions of ``torchvision.datasets.folder.IMG_EXTENSIONS`` (case-insensitive).

Unreadable images
-----------------
``ForenSynths(root, tf, on_error="skip")`` returns a :class:`~dfdlab.data.skipping.BadImage`
instead of ``(x, label)`` for a file ``load_rgb`` rejects; ``collate_fn=collate_skip_bad``
drops it from the batch and keeps it in ``batch.bad`` (``dfdlab.data.skipping`` holds the
one mechanism). With the default ``on_error="raise"`` a bad file raises
:class:`~dfdlab.data.images.ImageError` naming it.
"""

from __future__ import annotations

import copy
import html
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from torch.utils.data import Dataset
from torchvision.datasets.folder import IMG_EXTENSIONS, make_dataset

from .images import ImageError, load_rgb
from .skipping import BadImage, SkippingBatch, collate_skip_bad, skip_bad

#: The label folders and their labels (ImageFolder's sorted order).
LABEL_FOLDERS = ("0_real", "1_fake")
#: Split folder names recognised by ``check_layout``.
SPLITS = ("train", "val", "test")
#: Files that may sit anywhere in a benchmark without being "stray".
ALLOWED_FILES = ("manifest.csv", "manifest.jsonl", "manifest.json", "build_info.json", "readme", "readme.md",
                 "readme.txt", "license", "license.txt")
#: Folders beside the splits that are not data (the mini benchmark keeps its GANs in ``models/``).
NON_DATA_FOLDERS = ("models",)
#: Folders of a release that hold test sets beside the splits (UnivFD's zip unpacks ``diffusion_datasets``).
RELEASE_FOLDERS = ("diffusion_datasets",)
MANIFEST_NAMES = ("manifest.csv", "manifest.jsonl", "manifest.json")


class LayoutError(ValueError):
    """A folder that does not follow the ForenSynths layout; the message says what to fix."""


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMG_EXTENSIONS)


def _visible_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _groups(root: Path, label_folders: Sequence[str]) -> list[Path]:
    """The folders holding the label folders: ``root`` itself, or each class below it."""
    if any((root / name).is_dir() for name in label_folders):
        return [root]
    return _visible_dirs(root)


class ForenSynths(Dataset):
    """One generator folder of a ForenSynths-style benchmark, classes pooled (CNNDetection ``eval.py``).

    ``root`` is ``<gen>/{0_real,1_fake}`` or ``<gen>/<class>/{0_real,1_fake}`` (every class
    pooled, as the official ``ConcatDataset`` of one ``ImageFolder`` per class). Classes are
    listed in sorted order (NPR's ``test.py`` uses unsorted ``os.listdir``; the pooled
    metrics do not depend on the order).

    Attributes: ``samples`` (list of ``(Path, label)``), ``targets``, ``classes`` (the pooled
    class folders, ``[""]`` for a single-class generator), ``generator`` (folder name unless
    given), ``family`` (given, or from the benchmark manifest when one is found, else ``None``).

    ``__getitem__`` returns ``(transform(image), label)``. Bad files: ``on_error="raise"``
    (default) raises ``ImageError`` naming the file; ``on_error="skip"`` returns a
    :class:`BadImage` to be dropped by :func:`collate_skip_bad`.

    ``label_folders`` renames the two label folders (e.g. ``("0_real_grad", "1_fake_grad")``).
    ``loader`` decodes a path (default :func:`~dfdlab.data.images.load_rgb`, official semantics).
    """

    def __init__(
        self,
        root: str | os.PathLike,
        transform: Callable | None = None,
        *,
        on_error: str = "raise",
        label_folders: Sequence[str] = LABEL_FOLDERS,
        loader: Callable = load_rgb,
        generator: str | None = None,
        family: str | None = None,
    ):
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        self.root = Path(root)
        if not self.root.is_dir():
            raise LayoutError(f"{self.root}: no such folder; expected <generator>/{{0_real,1_fake}} "
                              "or <generator>/<class>/{0_real,1_fake}")
        self.transform, self.on_error, self.loader = transform, on_error, loader
        self.label_folders = tuple(label_folders)
        self.generator = generator or self.root.name
        self.samples: list[tuple[Path, int]] = []
        self.classes: list[str] = []
        class_to_idx = {name: i for i, name in enumerate(self.label_folders)}
        problems = []
        groups = _groups(self.root, self.label_folders)
        if not groups:
            raise LayoutError(f"{self.root}: holds neither {'/'.join(self.label_folders)} nor class folders "
                              "with them; run `dfdlab data check` on the benchmark root")
        for group in groups:
            present = {p.name for p in _visible_dirs(group)}
            for name in self.label_folders:
                if name not in present:
                    problems.append(f"{group}: missing folder {name}/")
            unknown = sorted(present - set(self.label_folders))
            if unknown:
                # ImageFolder would silently make these classes 2, 3, ...
                problems.append(f"{group}: unknown folder(s) {unknown} beside {'/'.join(self.label_folders)}")
            found = make_dataset(str(group), {k: v for k, v in class_to_idx.items() if k in present},
                                 extensions=IMG_EXTENSIONS, allow_empty=True)
            for name, label in class_to_idx.items():
                if name in present and not any(t == label for _, t in found):
                    problems.append(f"{group / name}: holds no image files")
            self.samples += [(Path(p), t) for p, t in found]
            self.classes.append("" if group == self.root else group.name)
        if problems:
            raise LayoutError(f"{self.root} does not follow the ForenSynths layout:\n  - " + "\n  - ".join(problems))
        self.targets = [t for _, t in self.samples]
        self.family = family if family is not None else _family_from_manifest(self.root, self.generator)

    @classmethod
    def with_real_pool(cls, root: str | os.PathLike, real_pool: str | os.PathLike, transform: Callable | None = None,
                       *, label_folders: Sequence[str] = LABEL_FOLDERS, **kw) -> "ForenSynths":
        """A set whose fakes are ``root/<fake>`` and whose reals are a shared pool ``real_pool/<real>``.

        UnivFD ``dataset_paths.py``: each diffusion set's ``real_path`` and ``fake_path`` are
        listed separately (``diffusion_datasets/laion`` with ``must_contain='0_real'``,
        ``diffusion_datasets/ldm_200`` with ``'1_fake'``), so seven sets share the ``laion``
        reals and ``guided`` reads ``imagenet``. ``roots`` holds both folders (reals first).
        Both folders are checked as :class:`ForenSynths` checks a class folder.
        """
        real_name, fake_name = tuple(label_folders)
        reals = cls(real_pool, transform, label_folders=(real_name,), **{**kw, "family": kw.get("family", "")})
        fakes = cls(root, transform, label_folders=(fake_name,), **kw)
        pooled = copy.copy(fakes)
        pooled.label_folders = (real_name, fake_name)
        pooled.samples = [(p, 0) for p, _ in reals.samples] + [(p, 1) for p, _ in fakes.samples]
        pooled.targets = [t for _, t in pooled.samples]
        pooled.real_root = reals.root
        return pooled

    @property
    def roots(self) -> tuple[Path, ...]:
        """The folders the samples come from: ``(root,)``, or ``(real pool, root)`` for a pooled set."""
        pool = getattr(self, "real_root", None)
        return (self.root,) if pool is None else (pool, self.root)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        path, label = self.samples[index]
        try:
            img = self.loader(path)
        except ImageError as err:
            if self.on_error == "raise":
                raise
            return BadImage.from_error(err, label)
        if self.transform is not None:
            img = self.transform(img)
        return img, label

    def counts(self) -> dict:
        """``{"real": n, "fake": n}``."""
        n_fake = sum(self.targets)
        return {"real": len(self.targets) - n_fake, "fake": n_fake}

    def __repr__(self) -> str:
        c = self.counts()
        fam = f", family={self.family!r}" if self.family else ""
        return (f"ForenSynths(generator={self.generator!r}{fam}, real={c['real']}, fake={c['fake']}, "
                f"classes={len(self.classes)}, root='{self.root}')")


class ImageList(Dataset):
    """A dataset over a list of ``(path, label)``: item ``i`` is ``(transform(load_rgb(path)), label, path)``.

    The third field carries the path through ``collate_skip_bad`` (``batch.extra[0]``).
    An unreadable file raises ``ImageError``; wrap with :func:`skip_bad` to skip it.
    """

    def __init__(self, samples, transform: Callable | None = None, loader: Callable = load_rgb):
        self.samples = [(str(p), int(y)) for p, y in samples]
        self.transform, self.loader = transform, loader

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        path, label = self.samples[index]
        img = self.loader(path)
        return (self.transform(img) if self.transform is not None else img), label, path


def generator_sets(root: str | os.PathLike, transform: Callable | None = None, **kw) -> dict[str, ForenSynths]:
    """``{generator: ForenSynths}`` for each (sorted, non-hidden) sub-folder of ``root``.

    ``root`` is a test split, e.g. ``generator_sets(mini / "test", tf)``; the keyword
    arguments go to each :class:`ForenSynths`. Families come from the manifest when found.
    """
    root = Path(root)
    if not root.is_dir():
        raise LayoutError(f"{root}: no such folder; expected a test split with one folder per generator")
    if any((root / name).is_dir() for name in kw.get("label_folders", LABEL_FOLDERS)):
        raise LayoutError(f"{root} is itself a generator folder (it holds 0_real/1_fake); "
                          f"use ForenSynths({str(root)!r}) or pass its parent folder")
    subdirs = _visible_dirs(root)
    if not subdirs:
        raise LayoutError(f"{root}: holds no generator folders; run `dfdlab data check {root}`")
    families = _families(root)
    out = {}
    for d in subdirs:
        kw_d = dict(kw)
        if "family" not in kw_d and d.name in families:
            kw_d["family"] = families[d.name]
        out[d.name] = ForenSynths(d, transform, **kw_d)
    return out


# --------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------


def find_manifest(start: str | os.PathLike, levels: int = 3) -> Path | None:
    """The first ``manifest.{csv,jsonl,json}`` in ``start`` or up to ``levels`` parents."""
    folder = Path(start)
    for _ in range(levels + 1):
        for name in MANIFEST_NAMES:
            if (folder / name).is_file():
                return folder / name
        if folder.parent == folder:
            break
        folder = folder.parent
    return None


def read_manifest(root: str | os.PathLike) -> pd.DataFrame:
    """The benchmark manifest of ``root`` (or of a parent folder) as a DataFrame.

    Reads ``manifest.csv`` (or ``.jsonl`` / ``.json``) written by ``build_mini`` or by hand:
    one row per image, with columns such as ``path`` (relative to the manifest's folder),
    ``split``, ``generator``, ``family``, ``label``, ``source``, ``seed``, ``sha256``.
    ``df.attrs["path"]`` holds the file read. Raises ``FileNotFoundError`` if there is none.
    """
    path = find_manifest(root)
    if path is None:
        raise FileNotFoundError(f"no manifest ({', '.join(MANIFEST_NAMES)}) in {root} or its parents; "
                                "the mini benchmark writes one, for other data it is optional")
    if path.suffix == ".csv":
        df = pd.read_csv(path)
    else:
        df = pd.read_json(path, lines=path.suffix == ".jsonl")
    df.attrs["path"] = str(path)
    return df


def _families(root: Path) -> dict[str, str]:
    path = find_manifest(root)
    if path is None:
        return {}
    df = read_manifest(root)
    if not {"generator", "family"} <= set(df.columns):
        return {}
    if "label" in df.columns:  # a generator's family is that of its fakes (real rows say "real")
        df = df[df["label"] == 1]
    pairs = df[["generator", "family"]].dropna().drop_duplicates()
    return {str(g): str(f) for g, f in zip(pairs["generator"], pairs["family"], strict=True)}


def _family_from_manifest(root: Path, generator: str) -> str | None:
    return _families(root).get(generator)


# --------------------------------------------------------------------------------------
# Layout check
# --------------------------------------------------------------------------------------


@dataclass
class LayoutReport:
    """Result of :func:`check_layout`.

    ``ok`` is False when an error was found. ``counts``: DataFrame with one row per
    class folder (split, generator, class, real, fake, ignored = non-image files in the
    label folders). ``errors`` / ``warnings``: readable lines naming the folders.
    """

    root: Path
    counts: pd.DataFrame
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the check understood (shared real pools)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def problems(self) -> list[str]:
        return self.errors + self.warnings

    def totals(self) -> pd.DataFrame:
        """Real / fake counts per split and generator (classes pooled)."""
        if self.counts.empty:
            return self.counts
        return self.counts.groupby(["split", "generator"], sort=True)[["real", "fake"]].sum().reset_index()

    def __str__(self) -> str:
        n_real = int(self.counts["real"].sum()) if len(self.counts) else 0
        n_fake = int(self.counts["fake"].sum()) if len(self.counts) else 0
        head = (f"Layout of {self.root}: {'OK' if self.ok else 'PROBLEMS'} "
                f"({len(self.counts)} class folders, {n_real} real, {n_fake} fake images, "
                f"{len(self.errors)} errors, {len(self.warnings)} warnings)")
        lines = [head]
        if len(self.counts):
            table = self.counts if len(self.counts) <= 40 else self.totals()
            lines.append(table.to_string(index=False))
        lines += [f"note    {n}" for n in self.notes]
        lines += [f"ERROR   {e}" for e in self.errors]
        lines += [f"warning {w}" for w in self.warnings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:  # notebooks
        items = "".join(f"<li><b>error</b> {html.escape(e)}</li>" for e in self.errors)
        items += "".join(f"<li>warning {html.escape(w)}</li>" for w in self.warnings)
        status = "OK" if self.ok else "PROBLEMS"
        return (f"<p>Layout of <code>{html.escape(str(self.root))}</code>: <b>{status}</b></p>"
                + self.totals().to_html(index=False) + (f"<ul>{items}</ul>" if items else ""))


def _where(root: Path, group: Path) -> tuple[str, str, str]:
    """(split, generator, class) of a class folder, from its place below ``root``."""
    rel = group.relative_to(root).parts
    split = ""
    if root.name in SPLITS + RELEASE_FOLDERS:
        split = root.name
    elif any(part in SPLITS + RELEASE_FOLDERS for part in rel[:-1]):
        # the first split-named folder on the way (DFDLAB_DATA/ForenSynths/test/...): what follows is gen/class
        i = next(i for i, part in enumerate(rel) if part in SPLITS + RELEASE_FOLDERS)
        split, rel = "/".join(rel[:i + 1]), rel[i + 1:]
    if len(rel) == 0:
        return split, root.name if root.name not in SPLITS else "", ""
    if len(rel) == 1:
        return (split, "", rel[0]) if split.rsplit("/", 1)[-1] in ("train", "val") else (split, rel[0], "")
    return split, rel[0], "/".join(rel[1:])


def per_label_subset(dataset: ForenSynths, per_label: int | None, classes: Sequence[str] | None = None,
                     seed: int = 0) -> ForenSynths:
    """A copy of ``dataset`` with at most ``per_label`` reals and ``per_label`` fakes, chosen at random.

    For a quick run on part of a set. ``classes`` keeps only those class folders of a
    multi-class set first. The choice is ``numpy.random.default_rng(seed).choice`` without
    replacement, reals first, and the kept files stay in the dataset's order. ``per_label``
    of ``None`` or 0 keeps every file. This is not a paper's protocol; UnivFD's test-set
    sampling is ``dfdlab.detectors.univfd.univfd_subset``.
    """
    items = [s for s in dataset.samples
             if classes is None or Path(s[0]).relative_to(dataset.root).parts[0] in classes]
    if per_label:
        rng = np.random.default_rng(seed)
        keep = []
        for label in (0, 1):
            idx = [i for i, s in enumerate(items) if s[1] == label]
            keep += rng.choice(idx, min(per_label, len(idx)), replace=False).tolist()
        items = [items[i] for i in sorted(keep)]
    subset = copy.copy(dataset)
    subset.samples = items
    subset.targets = [y for _, y in items]
    return subset


_COUNT_COLUMNS = ["split", "generator", "class", "real", "fake", "ignored"]


def check_layout(root: str | os.PathLike, label_folders: Sequence[str] = LABEL_FOLDERS) -> LayoutReport:
    """Check a benchmark (or a split, or one generator) against the ForenSynths layout.

    Errors (``report.ok`` is False): missing root, no class folders at all, a class folder
    missing ``0_real`` or ``1_fake``, an empty label folder, an unknown folder beside the
    label folders (``ImageFolder`` would make it a third class), a folder that leads to no
    label folders. Warnings: stray files outside the label folders, non-image files inside
    them (ignored by the loader), hidden folders (ignored), file names with several dots
    (UnivFD's listing ``file.split('.')[1]`` misreads them). At a benchmark root (one that
    holds ``train``/``val``/``test``) only the split folders (and UnivFD's
    ``diffusion_datasets``) are checked; ``models/`` and the manifest files are expected
    there, any other folder gets a warning.

    Shared real pools (UnivFD ``dataset_paths.py``): a folder holding only ``0_real`` beside
    folders holding only ``1_fake`` is a pool of reals those sets share
    (``diffusion_datasets/laion/0_real``), not a half-empty class folder; both are listed in
    ``report.notes`` instead of raising an error. ``dfdlab.suites.recognise_layouts`` says
    which set reads which pool.
    """
    root = Path(root)
    if not root.is_dir():
        return LayoutReport(root, pd.DataFrame(columns=_COUNT_COLUMNS), [f"{root}: no such folder"], [])
    check = _LayoutCheck(root, tuple(label_folders))
    check.visit(root)
    if check.dotted:
        check.warns.append(f"{check.dotted} image file names hold more than one dot; UnivFD's official listing "
                           "(file.split('.')[1]) would skip or misread them")
    if check.pooled:
        check.notes.append(f"{len(check.pooled)} fake-only set(s) read a shared real pool beside them "
                           f"({', '.join(sorted(Path(p).name for p in check.pooled))}); pool(s): {', '.join(sorted(check.pools))}")
    return LayoutReport(root, pd.DataFrame(check.rows, columns=_COUNT_COLUMNS), check.errors, check.warns,
                        check.notes)


@dataclass
class _LayoutCheck:
    """The walk of ``check_layout``: descends until it meets class folders, collecting findings."""

    root: Path
    labels: tuple[str, ...]
    errors: list[str] = field(default_factory=list)
    warns: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    dotted: int = 0  # image names with more than one dot
    notes: list[str] = field(default_factory=list)
    pools: set = field(default_factory=set)  # folders holding only the real label folder, shared by siblings
    pooled: set = field(default_factory=set)  # fake-only sets beside such a pool

    def visit(self, folder: Path) -> None:
        """A class folder (it holds a label folder) is checked; any other folder is descended into."""
        dirs, files = self.entries(folder)
        if {d.name for d in dirs} & set(self.labels):
            self.check_class_folder(folder, dirs, files)
            return
        for f in files:
            if f.name.lower() not in ALLOWED_FILES:
                self.warns.append(f"{f}: stray file outside any {'/'.join(self.labels)} folder (ignored)")
        if folder == self.root and any(d.name in SPLITS for d in dirs):
            dirs = self.split_folders(dirs)
        self.find_pools(dirs)
        if not dirs:
            self.errors.append(f"{folder}: holds no {'/'.join(self.labels)} folders" + (" (empty folder)" if not files else ""))
        for d in dirs:
            self.visit(d)

    def entries(self, folder: Path) -> tuple[list[Path], list[Path]]:
        """``(sub-folders, files)`` of ``folder``, sorted, hidden ones left out (a hidden folder is warned about)."""
        entries = sorted(folder.iterdir())
        dirs = [p for p in entries if p.is_dir()]
        for hidden in (p for p in dirs if p.name.startswith(".")):
            self.warns.append(f"{hidden}: hidden folder, ignored")
        dirs = [p for p in dirs if not p.name.startswith(".")]
        files = [p for p in entries if p.is_file() and not p.name.startswith(".")]
        return dirs, files

    def split_folders(self, dirs: list[Path]) -> list[Path]:
        """At a benchmark root only the split folders hold data; warn about folders that are neither."""
        data = SPLITS + RELEASE_FOLDERS
        for d in dirs:
            if d.name not in data and d.name not in NON_DATA_FOLDERS:
                self.warns.append(f"{d}: not a split folder ({'/'.join(SPLITS)}), not checked")
        return [d for d in dirs if d.name in data]

    def find_pools(self, dirs: list[Path]) -> None:
        """Among sibling folders, real-only ones beside fake-only ones are shared pools (UnivFD diffusion_datasets)."""
        real, fake = self.labels[0], self.labels[-1]
        real_only = [d for d in dirs if (d / real).is_dir() and not (d / fake).is_dir()]
        fake_only = [d for d in dirs if (d / fake).is_dir() and not (d / real).is_dir()]
        if real_only and fake_only:
            self.pools.update(str(d / real) for d in real_only)
            self.pooled.update(str(d) for d in fake_only)

    def check_class_folder(self, folder: Path, dirs: list[Path], files: list[Path]) -> None:
        """Each label folder present and holding images, nothing else beside them; one row of counts."""
        names = {d.name for d in dirs}
        shared = str(folder / self.labels[0]) in self.pools or str(folder) in self.pooled
        counts = []  # (images, other files) per label folder
        for name in self.labels:
            if name not in names:
                if not shared:  # a pool has no fakes and a pooled set no reals of its own
                    self.errors.append(f"{folder}: missing {name}/")
                counts.append((0, 0))
            else:
                counts.append(self.count_label_folder(folder / name))
        for extra in sorted(names - set(self.labels)):
            self.errors.append(f"{folder / extra}: unknown folder beside {'/'.join(self.labels)} "
                               "(ImageFolder would make it a third class); move or delete it")
        for f in files:
            self.warns.append(f"{f}: stray file outside {'/'.join(self.labels)} (ignored)")
        split, gen, cls = _where(self.root, folder)
        self.rows.append(dict(split=split, generator=gen, **{"class": cls}, real=counts[0][0], fake=counts[1][0],
                              ignored=sum(other for _, other in counts)))

    def count_label_folder(self, label_folder: Path) -> tuple[int, int]:
        """``(images, other files)`` below one label folder, recursively as ``ImageFolder`` lists it."""
        n_img = n_other = 0
        for dirpath, _, fnames in os.walk(label_folder, followlinks=True):
            for f in fnames:
                if _is_image(f):
                    n_img += 1
                    self.dotted += f.count(".") > 1
                elif not f.startswith("."):
                    n_other += 1
                    if n_other <= 3:
                        self.warns.append(f"{Path(dirpath) / f}: not an image file (ignored by the loader)")
        if n_other > 3:
            self.warns.append(f"{label_folder}: {n_other} non-image files in all (ignored by the loader)")
        if n_img == 0:
            self.errors.append(f"{label_folder}: empty (no image files)")
        return n_img, n_other

__all__ = [
    "per_label_subset", "ForenSynths", "generator_sets", "check_layout", "read_manifest", "find_manifest", "LayoutReport",
    "LayoutError", "BadImage", "SkippingBatch", "ImageList", "skip_bad", "collate_skip_bad", "IMG_EXTENSIONS",
    "LABEL_FOLDERS", "RELEASE_FOLDERS",
]
