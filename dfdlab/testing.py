"""Fixture trees for tests and rehearsals: the published layouts, filled with mini-benchmark images.

``shaped_tree(suite, source, dest)`` lets every suite of ``dfdlab.suites`` run without the
published data: the folder names and their places are the real ones (the layout is read from
the suite's ``TestSet`` records, including UnivFD's shared real pools), the images are **not**.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .suites import Suite, TestSet, get_suite


def _base(s: Suite, t: TestSet, dest: Path, released: bool) -> Path:
    """Where ``t`` goes: its release folder (``group``), else the root for the first set and the suite's
    second search folder for the others (so the search path is exercised); ``released`` takes the set's
    first ``also_at`` place (GenImage's own download)."""
    if released and t.also_at:
        return dest / t.also_at[0]
    if t.group:
        return dest / t.group / t.folder
    sub = s.search[1] if len(s.search) > 1 else ""
    return dest / t.folder if t.folder == s.sets[0].folder else dest / sub / t.folder


def shaped_tree(suite: str | Suite, source: str | os.PathLike, dest: str | os.PathLike, per_label: int = 2,
                link: bool = True, released: bool = False) -> Path:
    """A tree shaped like ``suite``'s published layout, filled with images from ``source``.

    ``source`` is a test split in the ForenSynths layout (e.g. ``build_mini() / "test"``);
    its generators' real and fake images are dealt round-robin into every folder (and class
    sub-folder) of the suite, ``per_label`` real and fake images each, as symlinks (or
    copies with ``link=False``). A set with a shared real pool (UnivFD's diffusion sets) gets
    only its ``1_fake``; the pool (``diffusion_datasets/laion/0_real``) gets ``per_label``
    reals once. ``released=True`` writes the sets at their other published place with the
    suite's last label-folder pair (GenImage's own ``<Generator>/<inner>/val/{nature,ai}``).
    A ``README.txt`` says that the images are not the published ones.
    """
    s = get_suite(suite)
    src = Path(source)
    pools = {0: sorted(src.glob("*/0_real/*.png")), 1: sorted(src.glob("*/1_fake/*.png"))}
    if not pools[0] or not pools[1]:
        raise FileNotFoundError(f"{src} holds no <gen>/0_real/*.png and <gen>/1_fake/*.png images")
    dest = Path(dest)
    labels = s.label_folders[-1] if released else s.label_folders[0]
    counter = {0: 0, 1: 0}

    def fill(folder: Path, label: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for _ in range(per_label):
            img = pools[label][counter[label] % len(pools[label])]
            counter[label] += 1
            target = folder / f"{counter[label]:05d}_{img.name}"
            if link:
                target.symlink_to(img.resolve())
            else:
                shutil.copyfile(img, target)

    for t in s.sets:
        base = _base(s, t, dest, released)
        for cls in (t.classes or ("",)):
            for label, lab_dir in enumerate(labels):
                if label == 0 and t.real_pool:
                    pool = base.parent / t.real_pool / lab_dir
                    if not pool.is_dir():
                        fill(pool, 0)
                    continue
                fill(base / cls / lab_dir, label)
    (dest / "README.txt").write_text(
        f"A tree shaped like the {s.name} suite ({s.layout}), filled with images from {src}. "
        "The folder names are the published ones; the images are not.\n")
    return dest


__all__ = ["shaped_tree"]
