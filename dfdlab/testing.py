"""Fixture trees for tests and rehearsals: the published layouts, filled with mini-benchmark images.

``shaped_tree(suite, source, dest)`` lets every suite of ``dfdlab.suites`` run without the
published data: the folder names are the real ones, the images are **not**.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .suites import Suite, get_suite


def shaped_tree(suite: str | Suite, source: str | os.PathLike, dest: str | os.PathLike, per_label: int = 2,
                link: bool = True) -> Path:
    """A tree shaped like ``suite``'s published layout, filled with images from ``source``.

    ``source`` is a test split in the ForenSynths layout (e.g. ``build_mini() / "test"``);
    its generators' real and fake images are dealt round-robin into every folder (and class
    sub-folder) of the suite, ``per_label`` real and fake images each, as symlinks (or
    copies with ``link=False``). The first generator sits at the root, the others in the
    suite's second search folder (e.g. ``test/``), so the search path is exercised too. A
    ``README.txt`` says that the images are not the published ones.
    """
    s = get_suite(suite)
    src = Path(source)
    pools = {0: sorted(src.glob("*/0_real/*.png")), 1: sorted(src.glob("*/1_fake/*.png"))}
    if not pools[0] or not pools[1]:
        raise FileNotFoundError(f"{src} holds no <gen>/0_real/*.png and <gen>/1_fake/*.png images")
    dest = Path(dest)
    counter = {0: 0, 1: 0}
    sub = s.search[1] if len(s.search) > 1 else ""
    for t in s.sets:
        base = dest / sub / t.folder if t.folder != s.sets[0].folder else dest / t.folder
        for cls in (t.classes or ("",)):
            for label, lab_dir in ((0, "0_real"), (1, "1_fake")):
                folder = base / cls / lab_dir
                folder.mkdir(parents=True, exist_ok=True)
                for _ in range(per_label):
                    img = pools[label][counter[label] % len(pools[label])]
                    counter[label] += 1
                    target = folder / f"{counter[label]:05d}_{img.name}"
                    if link:
                        target.symlink_to(img.resolve())
                    else:
                        shutil.copyfile(img, target)
    (dest / "README.txt").write_text(
        f"A tree shaped like the {s.name} suite ({s.layout}), filled with images from {src}. "
        "The folder names are the published ones; the images are not.\n")
    return dest


__all__ = ["shaped_tree"]
