"""The embedded mini benchmark ("mini-ForenSynths"), built by dfdlab itself on the CPU.

Real images are random 64x64 crops (with scale jitter, down-sampled with PIL LANCZOS so the
reals carry no up-sampling traces) of the photographs bundled with scikit-image,
scikit-learn and matplotlib, plus optionally a folder of your own photos. The photos are
split **by source**: no photo feeds both train and test.

**Version 2, the default** (:func:`_build_v2_into`): every fake is a real crop of the same
split re-synthesised by a trained reconstructor, so a fake and its real differ only by the
generator's traces. Ten generators in six families (``dfdlab.data.mini_generators``):

===================  ================  ===================================================
generator            family            decoder's up-sampling layer
===================  ================  ===================================================
ae_nearest_f4        nearest           nearest + conv, as ProGAN  <- the TRAIN generator
ae_nearest_f2        nearest           the same layer, another architecture
ldm_kl_f4            latent_diffusion  a KL-VAE, as latent diffusion's first stage
ae_transposed_f4/f2  transposed        ConvTranspose2d(k4, s2)
ae_bilinear_f4/f2    bilinear          bilinear + conv
ae_pixelshuffle_f4/2 pixelshuffle      conv + PixelShuffle(2)
dcgan_transposed     gan               DCGAN samples (no source crop)
===================  ================  ===================================================

Each fake's per-channel mean and high-pass energy are moved to a real crop's, so neither is a
signal. The generators ship with the package (``mini_generators.pt``), so the build is
inference and PNG writing only. The shortcut probe (``dfdlab.data.shortcuts``,
``benchmarks/mini_shortcuts.py``: a logistic regression on global colour, brightness,
saturation, sharpness and file-size statistics fitted on ``train/``) is part of the
benchmark's definition; lesson 01 reports it. ``jpeg_reals=q`` stores the reals as JPEG (the
format-shortcut variant, as ImageNet's and LSUN's reals are JPEG).

As the papers train on ProGAN only, ``train/`` and ``val/`` hold one generator; ``test/`` holds
all of them, each with its own real crops from the test photos. Layout (ForenSynths)::

    <root>/train/photos/{0_real,1_fake}/*.png
    <root>/val/photos/{0_real,1_fake}/*.png
    <root>/test/<generator>/{0_real,1_fake}/*.png
    <root>/models/<gan>.pth           # {'G','D','config','history'} -> dfdlab.gan.load_pair
    <root>/manifest.csv               # path, split, generator, family, upsample, label, source, seed, sha256
    <root>/build_info.json            # config, seconds, sizes

The build is deterministic from ``seed`` (a rebuild gives the same sha256 column), cached
under ``dfdlab.home()/mini/<config-hash>/`` and written atomically (temp dir + rename).

**Version 1** (``build_mini(version=1)``), kept for comparison: four DCGANs that differ in the
up-sampling layer (``dcgan_transposed`` the train family), an autoencoder and an up-sampling-only
model, all trained at build time. Its DCGAN samples are grey textures that the shortcut probe
separates from the photos (AP 1.0): what version 2 fixes.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import io
import json
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
import types
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch import nn
from tqdm.auto import tqdm

from ..config import home
from ..files import atomic_torch_save, cache_lock
from ..gan import (
    AutoEncoder,
    Discriminator,
    Generator,
    UpsampleOnly,
    fit_reconstruction,
    reconstruct,
    sample,
    train_gan,
)
from .images import load_rgb

#: Bump when the builder's output changes for the same config (part of the cache key).
MINI_VERSION = 1
#: Bump when version 2's output changes for the same config (part of its cache key).
V2_REVISION = 2
#: The version ``build_mini()`` builds: 2, the content-matched benchmark. Version 1 (DCGAN
#: samples, whose colour statistics alone separate them from the photos) stays for comparison.
DEFAULT_VERSION = 2
IMAGE_SIZE = 64
TRAIN_CLASS = "photos"
TRAIN_GENERATOR = "dcgan_transposed"

#: (source, package, split). Split by photo, colour and grey in every split.
BUNDLED_PHOTOS = (
    ("astronaut", "skimage", "train"), ("chelsea", "skimage", "train"), ("hubble_deep_field", "skimage", "train"),
    ("immunohistochemistry", "skimage", "train"), ("flower", "sklearn", "train"), ("camera", "skimage", "train"),
    ("brick", "skimage", "train"), ("grass", "skimage", "train"), ("moon", "skimage", "train"),
    ("clock", "skimage", "train"),
    ("retina", "skimage", "val"), ("coins", "skimage", "val"),
    ("coffee", "skimage", "test"), ("rocket", "skimage", "test"), ("china", "sklearn", "test"),
    ("grace_hopper", "matplotlib", "test"), ("gravel", "skimage", "test"), ("cell", "skimage", "test"),
)

#: generator -> (family, up-sampling layer)
GENERATORS = {
    "dcgan_transposed": ("dcgan", "transposed"),
    "dcgan_nearest": ("dcgan", "nearest"),
    "dcgan_bilinear": ("dcgan", "bilinear"),
    "dcgan_pixelshuffle": ("dcgan", "pixelshuffle"),
    "autoencoder": ("autoencoder", "transposed_k3"),
    "upsample_only": ("upsample_only", "nearest"),
}

#: Sizes. "quick" is the default everyone shares (a few CPU minutes).
PRESETS = {
    "quick": dict(n_train=400, n_val=100, n_test=200, n_pool=1024, gan_iters=250, gan_batch=32, ngf=16, ndf=16,
                  nz=64, ae_iters=300, up_iters=150),
    "large": dict(n_train=4000, n_val=500, n_test=1000, n_pool=8192, gan_iters=5000, gan_batch=64, ngf=64, ndf=64,
                  nz=100, ae_iters=3000, up_iters=1000),
}

#: Version 2's sizes: real and fake images per split (each test generator has its own n_test of each).
PRESETS_V2 = {
    "quick": dict(n_train=400, n_val=100, n_test=200),
    "large": dict(n_train=4000, n_val=500, n_test=1000),
}


class MissingPhotoPackage(RuntimeError):
    """A package that bundles the real photographs (scikit-image, scikit-learn, matplotlib) is missing."""


# ----------------------------------------------------------------------------- real photos
def load_bundled_photo(name: str, package: str) -> Image.Image:
    """One bundled photograph as an RGB PIL image (grey photos are replicated to 3 channels)."""
    try:
        if package == "skimage":
            from skimage import data as skdata
            arr = getattr(skdata, name)()
        elif package == "sklearn":
            from sklearn.datasets import load_sample_image
            arr = load_sample_image(f"{name}.jpg")
        elif package == "matplotlib":
            from matplotlib import cbook
            with cbook.get_sample_data(f"{name}.jpg") as f:
                return Image.open(f).convert("RGB")
        else:
            raise ValueError(f"unknown photo package {package!r}")
    except ImportError as e:
        pip = {"skimage": "scikit-image", "sklearn": "scikit-learn"}.get(package, package)
        raise MissingPhotoPackage(
            f"the mini benchmark needs the photograph {name!r} bundled with {pip}, which is not installed "
            f"({e}); install it with `pip install {pip}` (or `pip install -e .` in the dfdlab checkout)") from e
    arr = np.asarray(arr)
    if arr.dtype != np.uint8:
        raise ValueError(f"bundled photo {name!r} has dtype {arr.dtype}, expected uint8")
    img = Image.fromarray(np.ascontiguousarray(arr))
    return img.convert("RGB")


def user_photos(folder: str | os.PathLike) -> list[tuple[str, Path, str]]:
    """``(source, path, split)`` for each image in ``folder``; the split is a hash of the file name (60/15/25)."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"photos_dir {folder} is not a folder of images")
    exts = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
    out = []
    for p in sorted(folder.rglob("*")):
        if p.suffix.lower() in exts and p.is_file():
            h = int(hashlib.sha256(p.name.encode()).hexdigest()[:8], 16) % 100
            out.append((f"user:{p.relative_to(folder).as_posix()}", p, "train" if h < 60 else "val" if h < 75 else "test"))
    if not out:
        raise FileNotFoundError(f"photos_dir {folder} holds no images ({', '.join(sorted(exts))})")
    return out


def load_photos(photos_dir=None) -> dict[str, list[tuple[str, Image.Image]]]:
    """``{split: [(source, RGB image), ...]}`` for the bundled photos plus ``photos_dir``."""
    splits: dict[str, list] = {"train": [], "val": [], "test": []}
    for name, package, split in BUNDLED_PHOTOS:
        splits[split].append((name, load_bundled_photo(name, package)))
    if photos_dir is not None:
        for source, path, split in user_photos(photos_dir):
            splits[split].append((source, load_rgb(path)))
    return splits


def random_crops(photos: list[tuple[str, Image.Image]], n: int, seed: int, size: int = IMAGE_SIZE,
                 max_frac: float = 0.75, min_std: float = 6.0) -> tuple[list[Image.Image], list[str]]:
    """``n`` square crops, round-robin over ``photos``, side log-uniform in [size, max_frac*short side],
    resized to ``size`` with LANCZOS (always a down-sampling, so no up-sampling traces).

    Nearly flat crops (pixel std < ``min_std``, e.g. the black sky of the Hubble field) are redrawn.
    """
    rng = np.random.default_rng(seed)
    crops, sources = [], []
    for i in range(n):
        source, img = photos[i % len(photos)]
        w, h = img.size
        hi = max(size, int(max_frac * min(w, h)))
        for _ in range(30):
            side = int(round(np.exp(rng.uniform(np.log(size), np.log(hi)))))
            x0, y0 = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
            crop = img.crop((x0, y0, x0 + side, y0 + side))
            if side != size:
                crop = crop.resize((size, size), Image.LANCZOS)
            if np.asarray(crop, dtype=np.float32).std() >= min_std:
                break
        crops.append(crop)
        sources.append(source)
    return crops, sources


def to_tensor(images: list[Image.Image]) -> torch.Tensor:
    """PIL images -> ``[N, 3, H, W]`` float tensor in [-1, 1]."""
    arr = np.stack([np.asarray(im, dtype=np.uint8) for im in images]).astype(np.float32)
    return torch.from_numpy(arr).permute(0, 3, 1, 2).div(127.5).sub(1.0).contiguous()


def to_pil(x: torch.Tensor) -> list[Image.Image]:
    """``[N, 3, H, W]`` in [-1, 1] -> uint8 RGB PIL images (round half up, clamped)."""
    u8 = ((x.detach().float().clamp(-1, 1) + 1.0) * 127.5 + 0.5).floor().clamp(0, 255).to(torch.uint8)
    return [Image.fromarray(a) for a in u8.permute(0, 2, 3, 1).numpy()]


# ----------------------------------------------------------------------------- config / cache
def mini_config(seed: int = 0, preset: str = "quick", photos_dir=None, version: int = DEFAULT_VERSION,
                jpeg_reals: int | None = None, **overrides) -> dict:
    """The full build config (what the cache key hashes)."""
    if version not in (1, 2):
        raise ValueError(f"version={version!r}: the mini benchmark has versions 1 and 2")
    if version == 2:
        return _config_v2(seed, preset, photos_dir, jpeg_reals, **overrides)
    if jpeg_reals is not None:
        raise ValueError("jpeg_reals= needs version=2 (the content-matched benchmark)")
    cfg = _sizes(PRESETS, preset, overrides, "build_mini()")
    cfg.update(version=MINI_VERSION, seed=int(seed), size=IMAGE_SIZE, generators=list(GENERATORS),
               photos=[list(p) for p in BUNDLED_PHOTOS], torch=torch.__version__.split("+")[0])
    return _with_user_photos(cfg, photos_dir)


def _sizes(presets: dict, preset: str, overrides: dict, caller: str) -> dict:
    """The sizes of ``preset`` with ``overrides`` applied; an unknown preset or setting is an error naming the known ones."""
    if preset not in presets:
        raise ValueError(f"preset={preset!r} is not one of {sorted(presets)}")
    cfg = dict(presets[preset])
    unknown = set(overrides) - set(cfg)
    if unknown:
        raise TypeError(f"{caller} got unknown settings {sorted(unknown)}; known: {sorted(cfg)}")
    cfg.update(overrides)
    return cfg


def _with_user_photos(cfg: dict, photos_dir) -> dict:
    if photos_dir is not None:
        cfg["user_photos"] = [(s, p.stat().st_size, sp) for s, p, sp in user_photos(photos_dir)]
        cfg["photos_dir"] = str(Path(photos_dir).expanduser().resolve())
    return cfg


def _config_v2(seed: int, preset: str, photos_dir, jpeg_reals: int | None, **overrides) -> dict:
    from .mini_generators import MINI_GANS, MINI_GENERATORS, WEIGHTS, weights_sha256
    from .mini_generators import TRAIN_GENERATOR as TRAIN_V2

    cfg = _sizes(PRESETS_V2, preset, overrides, "build_mini(version=2)")
    if jpeg_reals is not None and not 1 <= int(jpeg_reals) <= 100:
        raise ValueError(f"jpeg_reals={jpeg_reals!r} must be a JPEG quality in 1..100 (or None: PNG reals)")
    cfg.update(version=2, revision=V2_REVISION, seed=int(seed), size=IMAGE_SIZE,
               generators=[*MINI_GENERATORS, *MINI_GANS], train_generator=TRAIN_V2,
               photos=[list(p) for p in BUNDLED_PHOTOS], torch=str(torch.__version__).split("+")[0],
               jpeg_reals=None if jpeg_reals is None else int(jpeg_reals),
               weights_sha256=weights_sha256(WEIGHTS) if WEIGHTS.is_file() else None)
    return _with_user_photos(cfg, photos_dir)


def config_hash(cfg: dict) -> str:
    return hashlib.sha256(json.dumps(cfg, sort_keys=True, default=str).encode()).hexdigest()[:12]


def is_complete(root: Path) -> bool:
    return (Path(root) / "manifest.csv").is_file() and (Path(root) / "build_info.json").is_file()


@contextlib.contextmanager
def _deterministic_torch(threads: int | None):
    """Deterministic algorithms and a fixed thread count while building; restored afterwards."""
    prev_det, prev_threads = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
    torch.use_deterministic_algorithms(True)
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev_det)
        torch.set_num_threads(prev_threads)


# ----------------------------------------------------------------------------- build
def build_mini(root=None, seed: int = 0, preset: str = "quick", photos_dir=None, progress: bool = True,
               threads: int | None = 1, workers: int | None = None, force: bool = False, version: int = DEFAULT_VERSION,
               jpeg_reals: int | None = None, **overrides) -> Path:
    """Build (or find in the cache) the mini benchmark and return its root folder.

    ``root=None`` uses ``dfdlab.home()/mini/<config-hash>``. Keyword ``overrides`` change
    sizes of the ``preset`` (``n_train, n_val, n_test, n_pool, gan_iters, gan_batch, ngf,
    ndf, nz, ae_iters, up_iters``). ``threads`` fixes torch's CPU thread count during the
    build: float reductions depend on it (and so would the sha256 column), and one
    thread per process is also much faster than two when other jobs share the cores.
    ``workers`` processes train the six generators in parallel (default: up to 2, by the
    CPU count); the result does not depend on it.

    ``version=2`` builds the content-matched benchmark v2 (see :func:`_build_v2_into`;
    sizes ``n_train, n_val, n_test``); ``jpeg_reals=q`` (v2 only) stores its reals as JPEG
    of quality ``q``, as ImageNet's and LSUN's reals are, the fakes staying PNG: the
    variant that teaches the format shortcut. ``version=1``: the DCGAN benchmark of the first
    release, trained at build time (about 3 minutes).
    """
    cfg = mini_config(seed=seed, preset=preset, photos_dir=photos_dir, version=version, jpeg_reals=jpeg_reals,
                      **overrides)
    if cfg["version"] == 2 and cfg["weights_sha256"] is None:
        from .mini_generators import WEIGHTS
        raise FileNotFoundError(f"{WEIGHTS} is missing: the mini benchmark v2's generator weights ship with dfdlab; "
                                f"reinstall it, or train them with `python -m dfdlab.data.train_mini_generators`")
    if workers is None:
        workers = max(1, min(2, os.cpu_count() or 1))
    key = config_hash(cfg)
    root = Path(root).expanduser() if root is not None else home() / "mini" / key
    with cache_lock(root):  # a second process waits here, then finds the finished build
        return _build_locked(root, cfg, key, progress, threads, workers, force)


def _build_locked(root: Path, cfg: dict, key: str, progress: bool, threads: int | None, workers: int,
                  force: bool) -> Path:
    """:func:`build_mini` under its cache lock: return a finished build, else build into a temporary folder."""
    if is_complete(root) and not force:
        info = json.loads((root / "build_info.json").read_text())
        if info.get("config_hash") != key:
            raise FileExistsError(f"{root} holds a mini benchmark built with another config "
                                  f"({info.get('config_hash')} != {key}); pass another root or force=True")
        return root
    if root.exists() and any(root.iterdir()) and not force:
        raise FileExistsError(f"{root} exists and is not a finished mini benchmark; remove it or pass force=True")
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}.tmp-"))
    try:
        with _deterministic_torch(threads):
            if cfg["version"] == 2:
                _build_v2_into(tmp, cfg, key, progress)
            else:
                _build_into(tmp, cfg, key, progress, threads=threads, workers=workers)
        if root.exists():
            shutil.rmtree(root)
        os.replace(tmp, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return root


_POOL: torch.Tensor | None = None
_COST_ORDER = ("dcgan_nearest", "dcgan_bilinear", "dcgan_transposed", "dcgan_pixelshuffle", "autoencoder", "upsample_only")


@contextlib.contextmanager
def _main_module_hidden():
    """Start spawned workers without re-importing the caller's ``__main__``.

    A spawned child normally re-runs the parent's main module; for an unguarded script or
    ``python -m dfdlab data build-mini`` that would run the command again inside each
    worker. The workers need nothing from ``__main__`` (their task lives in this module).
    """
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def _worker_init(pool_u8: np.ndarray, threads: int | None) -> None:
    """Per process: the training crops as a [-1, 1] tensor, a fixed thread count, deterministic ops."""
    global _POOL
    if threads:
        torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    _POOL = torch.from_numpy(pool_u8.astype(np.float32)).permute(0, 3, 1, 2).div(127.5).sub(1.0).contiguous()


def _fit_task(task, progress: bool = False):
    """Train one generator of the benchmark; returns ``(name, {'checkpoint', 'seconds', 'iters'})``.

    Everything is seeded from the task itself, so the result does not depend on which
    process runs it or in which order.
    """
    k, name, cfg, _ = task
    sub = lambda j: stage_seed(cfg["seed"], j)  # noqa: E731
    family, up = GENERATORS[name]
    t = time.perf_counter()
    if family == "dcgan":
        torch.manual_seed(sub(10 + k))
        G = Generator(nz=cfg["nz"], ngf=cfg["ngf"], upsample=up)
        D = Discriminator(ndf=cfg["ndf"])
        run = train_gan(G, D, _POOL, iters=cfg["gan_iters"], batch_size=cfg["gan_batch"], seed=sub(20 + k),
                        progress=progress, desc=name)
        ckpt = {"G": G.state_dict(), "D": D.state_dict(),
                "config": {"G": G.config(), "D": D.config(), "generator": name, "seed": sub(20 + k)},
                "history": run.history}
        iters = cfg["gan_iters"]
    else:
        j = 0 if family == "autoencoder" else 1
        torch.manual_seed(sub(30 + j))
        model = AutoEncoder() if family == "autoencoder" else UpsampleOnly()
        iters = cfg["ae_iters"] if family == "autoencoder" else cfg["up_iters"]
        hist = fit_reconstruction(model, _POOL, iters=iters, seed=sub(40 + j), progress=progress, desc=name)
        ckpt = {"model": model.state_dict(), "config": {"generator": name, "class": type(model).__name__, "seed": sub(40 + j)},
                "history": hist}
    return name, {"checkpoint": ckpt, "seconds": round(time.perf_counter() - t, 1), "iters": iters}


def stage_seed(seed: int, k: int) -> int:
    """The seed of stage ``k`` of a build with ``seed`` (one seed per stage, so stages do not share streams)."""
    return seed * 1009 + k


def _build_into(out: Path, cfg: dict, key: str, progress: bool, threads: int | None = 1, workers: int = 1) -> None:
    """Write the whole benchmark into the empty folder ``out``: the steps in order."""
    t0 = time.perf_counter()
    photos = load_photos(cfg.get("photos_dir"))                 # split by source photo
    (out / "models").mkdir(parents=True)
    bar = tqdm(total=4 * cfg["gan_iters"] + cfg["ae_iters"] + cfg["up_iters"], desc="mini benchmark",
               disable=not progress)
    pool, _ = random_crops(photos["train"], cfg["n_pool"], seed=stage_seed(cfg["seed"], 1))
    results, workers = train_generators(pool, cfg, threads, workers, progress, bar)
    bar.close()
    models, timings = save_generators(out, results)
    t = time.perf_counter()
    writer = ImageWriter(out)
    write_train_val(writer, photos, cfg, models)
    write_test(writer, photos, cfg, models, progress)
    timings["write_images"] = time.perf_counter() - t
    write_manifest(out, writer.rows, cfg, key, seconds=round(time.perf_counter() - t0, 1), timings=timings,
                   workers=workers)


def train_generators(pool: list[Image.Image], cfg: dict, threads: int | None, workers: int, progress: bool,
                     bar) -> tuple[dict[str, dict], int]:
    """Fit the four DCGANs, the autoencoder and the up-sampling-only model on the real train crops.

    The six tasks are independent, so they run in ``workers`` processes (one thread each),
    slowest first for better packing; if the processes cannot start, they run here one
    after another. Returns ``({generator: {'checkpoint', 'seconds', 'iters'}}, workers used)``.
    """
    pool_u8 = np.stack([np.asarray(im, dtype=np.uint8) for im in pool])
    tasks = [(k, name, cfg, threads) for k, name in enumerate(GENERATORS)]
    tasks.sort(key=lambda t: _COST_ORDER.index(t[1]))
    results: dict[str, dict] = {}
    if workers > 1:
        try:
            _train_in_processes(tasks, pool_u8, threads, workers, results, bar)
        except cf.process.BrokenProcessPool as e:
            # e.g. a script without ``if __name__ == "__main__":`` cannot spawn workers
            warnings.warn(f"parallel training failed ({e}); training the generators one after another", stacklevel=3)
            workers = 1
    if workers <= 1:
        _worker_init(pool_u8, threads)
        for t in (t for t in tasks if t[1] not in results):
            name, payload = _fit_task(t, progress=progress)
            results[name] = payload
            bar.update(payload["iters"])
    return results, workers


def _train_in_processes(tasks: list, pool_u8: np.ndarray, threads: int | None, workers: int, results: dict,
                        bar) -> None:
    """Run ``_fit_task`` for every task in spawned processes, filling ``results`` as they finish."""
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                initializer=_worker_init, initargs=(pool_u8, threads)) as ex:
        with _main_module_hidden():  # workers start on submit
            futures = {ex.submit(_fit_task, t): t[1] for t in tasks}
        for fut in cf.as_completed(futures):
            name, payload = fut.result()
            results[name] = payload
            bar.update(payload["iters"])
            bar.set_postfix_str(f"{name} done")


def save_generators(out: Path, results: dict[str, dict]) -> tuple[dict[str, nn.Module], dict[str, float]]:
    """Write each trained generator to ``models/<name>.pth`` and load it back (strict) for synthesis.

    Returns ``({generator: model in eval mode}, {generator: training seconds})``.
    """
    models, timings = {}, {}
    for name in GENERATORS:
        payload = results[name]
        timings[name] = payload["seconds"]
        atomic_torch_save(payload["checkpoint"], out / "models" / f"{name}.pth")
        if GENERATORS[name][0] == "dcgan":
            model = Generator(**payload["checkpoint"]["config"]["G"])
            model.load_state_dict(payload["checkpoint"]["G"], strict=True)
        else:
            model = AutoEncoder() if name == "autoencoder" else UpsampleOnly()
            model.load_state_dict(payload["checkpoint"]["model"], strict=True)
        models[name] = model.eval()
    return models, timings


@dataclass
class ImageWriter:
    """Writes images as PNG into the ForenSynths layout and keeps one manifest row per file."""

    out: Path
    rows: list[dict] = field(default_factory=list)

    def write(self, images: list[Image.Image], split: str, generator: str, label: int, sources: list[str],
              seeds: list[int], folder: str, kind: tuple[str, str] | None = None, jpeg: int | None = None) -> None:
        """Write ``images`` to ``folder/{0_real,1_fake}/NNNNN.png`` (``.jpg`` of quality ``jpeg`` if given).

        ``kind``: the fakes' ``(family, upsample)``; default: version 1's ``GENERATORS``.
        """
        d = self.out / folder / ("1_fake" if label else "0_real")
        d.mkdir(parents=True, exist_ok=True)
        family, up = ("real", "") if label == 0 else (kind or GENERATORS[generator])
        for i, (im, src, s) in enumerate(zip(images, sources, seeds, strict=True)):
            buf = io.BytesIO()
            if jpeg is None:
                im.save(buf, format="PNG")
            else:
                im.save(buf, format="JPEG", quality=jpeg)
            data = buf.getvalue()
            p = d / f"{i:05d}.{'png' if jpeg is None else 'jpg'}"
            p.write_bytes(data)
            self.rows.append(dict(path=p.relative_to(self.out).as_posix(), split=split, generator=generator,
                                  family=family, upsample=up, label=label, source=src, seed=s,
                                  sha256=hashlib.sha256(data).hexdigest()))


def gan_fakes(generator: nn.Module, n: int, seed: int, nz: int) -> tuple[list[Image.Image], list[str], list[int]]:
    """``n`` samples of a DCGAN from latents drawn with ``seed``: ``(images, sources, seeds)``."""
    z = torch.randn(n, nz, generator=torch.Generator().manual_seed(seed))
    return to_pil(sample(generator, z=z)), ["latent"] * n, [seed] * n


def write_train_val(writer: ImageWriter, photos: dict, cfg: dict, models: dict[str, nn.Module]) -> None:
    """``train/`` and ``val/``: real crops of that split's photos and samples of the training generator."""
    for split, n, k in (("train", cfg["n_train"], 50), ("val", cfg["n_val"], 60)):
        s_real, s_fake = stage_seed(cfg["seed"], k), stage_seed(cfg["seed"], k + 1)
        crops, sources = random_crops(photos[split], n, seed=s_real)
        writer.write(crops, split, TRAIN_GENERATOR, 0, sources, [s_real] * n, f"{split}/{TRAIN_CLASS}")
        fakes, fake_sources, fake_seeds = gan_fakes(models[TRAIN_GENERATOR], n, s_fake, cfg["nz"])
        writer.write(fakes, split, TRAIN_GENERATOR, 1, fake_sources, fake_seeds, f"{split}/{TRAIN_CLASS}")


def write_test(writer: ImageWriter, photos: dict, cfg: dict, models: dict[str, nn.Module], progress: bool) -> None:
    """``test/<generator>/``: for each generator, real crops of the test photos and its fakes.

    DCGANs sample from latents; the autoencoder and the up-sampling-only model re-synthesise
    *other* crops of the same test photos, so their fakes share the reals' content.
    """
    n = cfg["n_test"]
    for k, name in enumerate(tqdm(GENERATORS, desc="test images", disable=not progress, leave=False)):
        s_real, s_fake = stage_seed(cfg["seed"], 100 + 2 * k), stage_seed(cfg["seed"], 101 + 2 * k)
        crops, sources = random_crops(photos["test"], n, seed=s_real)
        writer.write(crops, "test", name, 0, sources, [s_real] * n, f"test/{name}")
        if GENERATORS[name][0] == "dcgan":
            fakes, fake_sources, fake_seeds = gan_fakes(models[name], n, s_fake, cfg["nz"])
        else:
            originals, fake_sources = random_crops(photos["test"], n, seed=s_fake)
            fakes, fake_seeds = to_pil(reconstruct(models[name], to_tensor(originals))), [s_fake] * n
        writer.write(fakes, "test", name, 1, fake_sources, fake_seeds, f"test/{name}")


def _build_v2_into(out: Path, cfg: dict, key: str, progress: bool) -> None:
    """Version 2: every fake is a real crop of the same split re-synthesised by a trained reconstructor.

    ``train/`` and ``val/`` hold real crops of that split's photos and, as fakes, *other*
    crops of the same photos through the train generator
    (``dfdlab.data.mini_generators.TRAIN_GENERATOR``); ``test/<generator>/`` the same for
    every generator over the test photos. Fakes and reals therefore share content, size and
    encoding (PNG; ``jpeg_reals`` makes the reals JPEG), and the per-channel mean and
    high-pass energy of each fake are its source crop's (``dfdlab.gan.reconstruction.resynthesise``).
    The GAN family (``MINI_GANS``) samples from its latent space instead; each sample takes the
    per-channel value distribution and high-pass energy of another real crop (``match_histograms``,
    ``match_statistics``), and the GAN is written to
    ``models/<name>.pth`` (``dfdlab.gan.load_pair``; LGrad's quick discriminator). The
    generators ship with the package (``mini_generators.pt``), so the build is inference only.
    """
    from ..gan.reconstruction import match_histograms, match_statistics, resynthesise
    from ..gan.train import sample, save_pair
    from .mini_generators import MINI_GANS, family, load_gans, load_generators, upsampler

    t0 = time.perf_counter()
    photos = load_photos(cfg.get("photos_dir"))
    gens = load_generators()
    gans = load_gans(names=[g for g in cfg["generators"] if g in MINI_GANS])
    (out / "models").mkdir(parents=True)
    for name, (G, D) in gans.items():
        save_pair(out / "models" / f"{name}.pth", G, D, generator=name, family=family(name))
    writer, timings, q = ImageWriter(out), {}, cfg["jpeg_reals"]

    def pair(split: str, name: str, n: int, k: int, folder: str) -> None:
        t = time.perf_counter()
        s_real, s_fake = stage_seed(cfg["seed"], k), stage_seed(cfg["seed"], k + 1)
        crops, sources = random_crops(photos[split], n, seed=s_real)
        writer.write(crops, split, name, 0, sources, [s_real] * n, folder, jpeg=q)
        originals, fake_sources = random_crops(photos[split], n, seed=s_fake)
        if name in gans:  # a GAN sample has no source crop: it takes the colours of another real crop
            ref = to_tensor(originals)
            y = match_statistics(match_histograms(sample(gans[name][0], n, seed=s_fake), ref), ref)
        else:
            y = resynthesise(gens[name], to_tensor(originals))
        writer.write(to_pil(y), split, name, 1, fake_sources, [s_fake] * n, folder,
                     kind=(family(name), upsampler(name)))
        timings[folder] = round(time.perf_counter() - t, 2)

    train = cfg["train_generator"]
    pair("train", train, cfg["n_train"], 50, f"train/{TRAIN_CLASS}")
    pair("val", train, cfg["n_val"], 60, f"val/{TRAIN_CLASS}")
    for k, name in enumerate(tqdm(cfg["generators"], desc="mini benchmark v2", disable=not progress)):
        pair("test", name, cfg["n_test"], 100 + 2 * k, f"test/{name}")
    write_manifest(out, writer.rows, cfg, key, seconds=round(time.perf_counter() - t0, 1), timings=timings, workers=1)


def write_manifest(out: Path, rows: list[dict], cfg: dict, key: str, seconds: float, timings: dict, workers: int) -> None:
    """``manifest.csv`` (one row per image) and ``build_info.json`` (config, its hash, times, sizes, counts).

    ``build_info.json`` is written last: ``is_complete`` treats a folder with it as finished.
    """
    df = pd.DataFrame(rows, columns=["path", "split", "generator", "family", "upsample", "label", "source", "seed",
                                     "sha256"])
    df.to_csv(out / "manifest.csv", index=False)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    info = dict(config_hash=key, config=cfg, seconds=seconds, timings=timings, workers=workers,
                n_images=len(df), bytes=size, threads=torch.get_num_threads(),
                counts=df.groupby(["split", "generator", "label"]).size().rename("n").reset_index().to_dict("records"))
    (out / "build_info.json").write_text(json.dumps(info, indent=1, default=str))


def build_info(root) -> dict:
    """The ``build_info.json`` of a built mini benchmark (config, seconds, sizes, counts)."""
    return json.loads((Path(root) / "build_info.json").read_text())
