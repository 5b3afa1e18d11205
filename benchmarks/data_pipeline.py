"""Images/s of each paper's input pipeline (decode + transforms), with 0 and 2 DataLoader workers.

Usage:
    python benchmarks/data_pipeline.py                    # every pipeline, workers 0 and 2
    python benchmarks/data_pipeline.py --images 96 --workers 0 2 4 --pipelines npr_test univfd_test

The images are real photographs (scikit-image) cut into random crops of odd sizes between
260 and 420 pixels, written once to a temporary folder in the ForenSynths layout (half PNG,
half JPEG q95, like the benchmarks), and read back through ``dfdlab.data.ForenSynths`` and a
``DataLoader`` exactly as training and evaluation read them. Each row is one full pass over
the folder, worker start-up included ("after start-up": the rate once the first batch has
arrived); ``x decode`` is the whole-pass rate relative to decoding alone
(``load_rgb``, no transform) with the same number of workers, measured in the same run.
Timings on a shared CPU vary with what else runs; compare rows of one run, not runs.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

import dfdlab
from dfdlab.data import ForenSynths
from dfdlab.data import transforms as T
from dfdlab.detectors.npr import DETECTION_TESTS

#: name -> pipeline builder (paper defaults: load 256, crop 224)
PIPELINES = {
    "decode only": lambda: None,
    "cnndetection_train (Blur+JPEG 0.5)": T.cnndetection_train,
    "cnndetection_test": T.cnndetection_test,
    "univfd_train (Blur+JPEG 0.5)": T.univfd_train,
    "univfd_test (native crop)": T.univfd_test,
    "npr_train": T.npr_train,
    "npr_test (ForenSynths: 256 square)": T.npr_test,
    "npr_test (GANGen: native size)": functools.partial(T.npr_test, **DETECTION_TESTS["gangen"]),
    "lgrad_discriminator_input (bilinear)": T.lgrad_discriminator_input,
    "lgrad_discriminator_input (PIL default)": functools.partial(T.lgrad_discriminator_input, filter="pil-default"),
    "lgrad_test (no_resize, no_crop)": T.lgrad_test,
}


def write_photos(root: Path, n: int, seed: int = 0) -> Path:
    """``n`` odd-sized photo crops under ``root/gen/{0_real,1_fake}`` (PNG and JPEG alternating)."""
    from skimage import data

    names = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry")  # bundled, offline
    photos = []
    for name in names:
        arr = np.asarray(getattr(data, name)())
        photos.append(arr if arr.ndim == 3 else np.repeat(arr[..., None], 3, -1))
    rng = np.random.default_rng(seed)
    from PIL import Image

    gen = root / "gen"
    for i in range(n):
        p = photos[i % len(photos)][..., :3]
        h = min(p.shape[0], int(rng.integers(130, 211)) * 2 + 1)
        w = min(p.shape[1], int(rng.integers(130, 211)) * 2 + 1)
        y, x = rng.integers(0, p.shape[0] - h + 1), rng.integers(0, p.shape[1] - w + 1)
        folder = gen / ("0_real" if i % 2 == 0 else "1_fake")
        folder.mkdir(parents=True, exist_ok=True)
        img = Image.fromarray(np.ascontiguousarray(p[y:y + h, x:x + w]))
        if i % 4 < 2:
            img.save(folder / f"{i:04d}.png")
        else:
            img.save(folder / f"{i:04d}.jpg", quality=95)
    return gen


def keep_list(batch):
    """Collate without stacking, so native-size pipelines (variable shapes) run the same way."""
    return batch


def images_per_second(dataset, workers: int, batch_size: int) -> tuple[float, float]:
    """(images/s over the whole pass, images/s after the first batch arrived: start-up excluded)."""
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers, collate_fn=keep_list)
    t0 = time.perf_counter()
    n = n_first = 0
    t_first = t0
    for batch in loader:
        if n == 0:
            t_first, n_first = time.perf_counter(), len(batch)
        n += len(batch)
    t_end = time.perf_counter()
    steady = (n - n_first) / (t_end - t_first) if n > n_first else float("nan")
    return n / (t_end - t0), steady


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1, help="torch threads in the main process (default 1)")
    ap.add_argument("--pipelines", nargs="*", default=None,
                    help="substrings of pipeline names to run (the decode-only baseline always runs)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    dfdlab.seed_everything(0)
    names = [n for n in PIPELINES if n == "decode only" or not args.pipelines
             or any(s in n for s in args.pipelines)]

    rows = []
    with tempfile.TemporaryDirectory(prefix="dfdlab-bench-") as tmp:
        gen = write_photos(Path(tmp), args.images)
        base = {}
        for name in names:
            dataset = ForenSynths(gen, PIPELINES[name]())
            row = {"pipeline": name}
            for w in args.workers:
                rate, steady = images_per_second(dataset, w, args.batch_size)
                if name == "decode only":
                    base[w] = rate
                row[f"img/s ({w} workers)"] = round(rate, 1)
                if w > 0:
                    row[f"img/s ({w}, after start-up)"] = round(steady, 1)
                row[f"x decode ({w})"] = round(rate / base[w], 2)
            rows.append(row)
    print(f"dfdlab data pipelines: {args.images} odd-sized photo crops (260-421 px sides, PNG + JPEG), "
          f"batch {args.batch_size}, one pass each incl. worker start-up; torch {torch.__version__}, "
          f"{args.threads} main-process thread(s), {torch.multiprocessing.cpu_count()} CPUs")
    print(pd.DataFrame(rows).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
