"""One trainer for every detector: the papers' recipes as data, resumable checkpoints, torchrun DDP.

Read it top to bottom:

1. ``Recipe`` / ``RECIPES``: each paper's optimiser, batch, epochs and learning-rate rule as
   plain data, every value citing the official file it comes from (PAPERS.md §0, §1.3,
   §2.3, §3.3).
2. The two learning-rate rules as small pure functions: ``step_decay`` (NPR, LGrad) and
   ``EarlyStopping`` + ``early_stopping_update`` (CNNDetection, UnivFD).
3. ``fit``: the epoch loop of the official ``train.py`` files (train, lr rule, validate),
   plus what they lack: selection on validation only, atomic ``best.pth``/``last.pth``
   that resume to the very same weights, and DistributedDataParallel under ``torchrun``.
4. ``main``: ``python -m dfdlab.train --detector NAME --data ROOT --out DIR`` (and
   ``torchrun --nproc_per_node 2 -m dfdlab.train ...``); ``dfdlab train`` reuses it.

Checkpoints (``out_dir/last.pth``, written after every epoch) hold ``model`` (the
unwrapped ``state_dict``, no ``module.`` prefix), ``optimizer``, ``lr``, ``early_stopping``,
``epoch`` (last finished, 0-based), ``total_steps``, ``rng`` (Python, NumPy, torch CPU and
CUDA, one entry per rank), ``seed``, ``recipe`` and ``history``, all plain types, so they
load with ``torch.load(weights_only=True)``. ``best.pth`` holds ``model`` plus the epoch and
its validation numbers; ``dfdlab.detectors.load_checkpoint(model, best.pth)`` reads both.
"""

from __future__ import annotations

import argparse
import ast
import math
import os
import random
import secrets
import time
import warnings
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from .files import atomic_torch_save, atomic_write_text

# --------------------------------------------------------------------------- recipes


@dataclass(frozen=True)
class Recipe:
    """How one paper trains its detector. Plain data: ``dataclasses.asdict(recipe)`` is the whole recipe.

    ``schedule`` picks the learning-rate rule: ``"early_stopping"`` (CNNDetection's
    ``earlystop.py`` + ``Trainer.adjust_learning_rate``) or ``"step"`` (NPR/LGrad's
    ``delr_freq`` decay). Fields that a rule does not use are ignored by it.
    """

    name: str
    optimizer: str  # "adam" | "adamw"
    lr: float
    batch_size: int  # global batch (split over the ranks under torchrun)
    epochs: int  # the official ``--niter``
    schedule: str  # "early_stopping" | "step"
    betas: tuple = (0.9, 0.999)
    weight_decay: float = 0.0
    # step decay: at the end of 0-based epoch e, ``if e % decay_every == 0 and e != 0: lr *= decay_factor``
    decay_every: int = 0
    decay_factor: float = 1.0
    # early stopping on val accuracy: patience, delta, then lr /= lr_divisor and a new stopper
    patience: int = 5
    delta: float = -0.001
    delta_after_drop: float = -0.002
    lr_divisor: float = 10.0
    min_lr: float = 1e-6
    seed: int | None = None  # None: the official code sets no seed
    blur_jpeg_prob: float = 0.0  # the "Blur+JPEG(p)" setting, applied by the detector's train transform
    source: str = ""  # the official files these numbers come from

    def augmentation(self) -> dict:
        """CNNDetection's ``data_augment`` flags for ``blur_jpeg_prob`` (PAPERS.md §0, "Blur+JPEG(0.5)").

        Keys match ``dfdlab.data.transforms.data_augment``; the detector's
        ``transform(train=True)`` is what applies them.
        """
        p = self.blur_jpeg_prob
        return {"blur_prob": p, "blur_sig": (0.0, 3.0), "jpg_prob": p, "jpg_method": ("cv2", "pil"),
                "jpg_qual": (30, 100)}


RECIPES: dict[str, Recipe] = {
    # PeterWang512/CNNDetection train.py, earlystop.py, networks/trainer.py, options/train_options.py
    # (Adam lr 1e-4, beta1 0.9; batch 64; earlystop_epoch 5; niter default 10000: early stopping ends it;
    # README command --blur_prob 0.5 --jpg_prob 0.5).
    "cnndetection": Recipe(
        name="cnndetection", optimizer="adam", lr=1e-4, batch_size=64, epochs=10000,
        schedule="early_stopping", patience=5, delta=-0.001, delta_after_drop=-0.002,
        lr_divisor=10.0, min_lr=1e-6, seed=None, blur_jpeg_prob=0.5,
        source="PeterWang512/CNNDetection: train.py, earlystop.py, networks/trainer.py, options/train_options.py",
    ),
    # WisconsinAIVision/UniversalFakeDetect train.py + networks/trainer.py (AdamW lr 1e-4, weight_decay 0.0,
    # batch 256, niter 100) with CNNDetection's earlystop.py (missing from the repo, issue #5).
    # The official run validates on datasets/test/progan (data_label 'val'); we select on a val split
    # (pass --val-split test/progan to mirror it, knowing that it then selects on a test set).
    "ufd": Recipe(
        name="ufd", optimizer="adamw", lr=1e-4, weight_decay=0.0, batch_size=256, epochs=100,
        schedule="early_stopping", patience=5, delta=-0.001, delta_after_drop=-0.002,
        lr_divisor=10.0, min_lr=1e-6, seed=None, blur_jpeg_prob=0.5,
        source="WisconsinAIVision/UniversalFakeDetect: train.py, networks/trainer.py, options/train_options.py",
    ),
    # chuangchuangtan/NPR-DeepfakeDetection README command (--batch_size 32 --delr_freq 10 --lr 0.0002
    # --niter 50), train.py (decay at the end of epoch % delr_freq == 0 and != 0; seed_torch(100)),
    # networks/trainer.py (Adam on requires_grad params; lr *= 0.9). No blur/JPEG in its datasets.py.
    "npr": Recipe(
        name="npr", optimizer="adam", lr=2e-4, batch_size=32, epochs=50, schedule="step",
        decay_every=10, decay_factor=0.9, seed=100, blur_jpeg_prob=0.0,
        source="chuangchuangtan/NPR-DeepfakeDetection: README.md, train.py, networks/trainer.py",
    ),
    # chuangchuangtan/LGrad CNNDetection/train-detector.sh (batch 16, lr 5e-4, niter 100, delr_freq 10),
    # CNNDetection/train.py (same decay rule as NPR), networks/trainer.py (lr *= 0.8). No seed.
    "lgrad": Recipe(
        name="lgrad", optimizer="adam", lr=5e-4, batch_size=16, epochs=100, schedule="step",
        decay_every=10, decay_factor=0.8, seed=None, blur_jpeg_prob=0.0,
        source="chuangchuangtan/LGrad: CNNDetection/train-detector.sh, CNNDetection/train.py, "
               "CNNDetection/networks/trainer.py",
    ),
}


def recipe(name: str, **overrides) -> Recipe:
    """A copy of ``RECIPES[name]`` with ``overrides`` (e.g. the quick profile's ``epochs``/``batch_size``)."""
    if name not in RECIPES:
        raise KeyError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    known = {f.name for f in fields(Recipe)}
    bad = sorted(set(overrides) - known)
    if bad:
        raise TypeError(f"Recipe has no field(s) {bad}; fields: {sorted(known)}")
    return replace(RECIPES[name], **overrides)


# --------------------------------------------------------------------------- learning-rate rules


def step_decay(lr: float, epoch: int, every: int, factor: float) -> float:
    """The lr after 0-based epoch ``epoch`` ends (NPR/LGrad ``train.py``).

    ``if epoch % delr_freq == 0 and epoch != 0: lr *= factor``, so with ``every=10`` the
    decays happen at the end of epochs 10, 20, ... (not 9, 19). NPR's ``min_lr`` check
    returns "stop" but ``train.py`` ignores it, so it is not modelled.
    """
    if every and epoch % every == 0 and epoch != 0:
        return lr * factor
    return lr


@dataclass
class EarlyStopping:
    """CNNDetection's ``earlystop.py`` on validation accuracy (higher is better).

    ``delta`` is negative in the recipes: a score counts as an improvement only if it is at
    least ``best - delta`` (i.e. ``best + 0.001``); after ``patience`` epochs without one,
    ``early_stop`` becomes True. Plain fields, so ``asdict`` is its checkpoint state.
    """

    patience: int
    delta: float
    counter: int = 0
    best_score: float | None = None
    early_stop: bool = False

    def __call__(self, score: float) -> None:
        if self.best_score is None:
            self.best_score = score
        elif score < self.best_score - self.delta:
            self.counter += 1
            if self.counter >= self.patience:
                self.early_stop = True
        else:
            self.best_score, self.counter = score, 0


def early_stopping_update(stopper: EarlyStopping, lr: float, val_acc: float, r: Recipe):
    """One epoch of CNNDetection ``train.py``'s rule -> ``(stopper, lr, stop)``.

    Feed ``val_acc`` to the stopper; when it triggers, ``lr /= 10`` (``adjust_learning_rate``)
    and a fresh stopper with ``delta_after_drop`` takes over, unless the new lr is below
    ``min_lr``: then training stops.
    """
    stopper(val_acc)
    if not stopper.early_stop:
        return stopper, lr, False
    lr = lr / r.lr_divisor
    if lr < r.min_lr:
        return stopper, lr, True
    return EarlyStopping(r.patience, r.delta_after_drop), lr, False


# --------------------------------------------------------------------------- a tiny detector


def _tiny_detector_class():
    """``TinyDetector`` (built lazily so importing ``dfdlab.train`` does not import the detectors)."""
    from .detectors.base import Detector

    class TinyDetector(Detector):
        """A 3-conv CNN (~3k parameters) for tests and CPU demos of the trainer; no paper's model.

        Not registered in ``dfdlab.detectors`` (the registry lists the papers' detectors);
        ``python -m dfdlab.train --detector tiny`` builds it.
        """

        name = "tiny"
        paper = "none: a toy CNN for testing dfdlab.train"
        recipe = "npr"

        def __init__(self, size: int = 32):
            super().__init__()
            self.size = size
            self.net = nn.Sequential(
                nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                nn.Dropout(0.1), nn.Linear(16, 1),
            )

        def forward(self, x):
            return self.net(x).reshape(-1)

        def transform(self, train: bool = False):
            from torchvision import transforms as T

            steps = [T.Resize((self.size, self.size))]
            if train:
                steps.append(T.RandomHorizontalFlip())
            return T.Compose([*steps, T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3)])

    return TinyDetector


def build_detector(name: str, **kwargs) -> nn.Module:
    """``dfdlab.detectors.build(name, **kwargs)``, plus ``"tiny"`` (the trainer's toy CNN)."""
    if name == "tiny":
        return _tiny_detector_class()(**kwargs)
    from . import detectors

    return detectors.build(name, **kwargs)


# --------------------------------------------------------------------------- distributed helpers


@dataclass
class _Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def _dist_setup(dev: torch.device) -> _Dist:
    """Join the process group torchrun describes (WORLD_SIZE > 1): nccl on CUDA, gloo on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist()
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return _Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def _all_gather(obj, d: _Dist) -> list:
    if d.world_size == 1:
        return [obj]
    import torch.distributed as dist

    out = [None] * d.world_size
    dist.all_gather_object(out, obj)
    return out


def _broadcast(obj, d: _Dist):
    if d.world_size == 1:
        return obj
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


# --------------------------------------------------------------------------- RNG state as plain types


def _rng_state() -> dict:
    """Every RNG a training step may draw from, as plain containers and tensors (``weights_only``-safe)."""
    np_state = np.random.get_state(legacy=False)
    return {
        "python": random.getstate(),
        "numpy": {"key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
                  "pos": int(np_state["state"]["pos"]), "has_gauss": int(np_state["has_gauss"]),
                  "gauss": float(np_state["gauss"])},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def _set_rng_state(s: dict) -> None:
    random.setstate(_as_tuple(s["python"]))
    n = s["numpy"]
    np.random.set_state({"bit_generator": "MT19937",
                         "state": {"key": n["key"].numpy().astype(np.uint32), "pos": n["pos"]},
                         "has_gauss": n["has_gauss"], "gauss": n["gauss"]})
    torch.set_rng_state(s["torch"])
    if s["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])


def _as_tuple(x):
    return tuple(_as_tuple(v) for v in x) if isinstance(x, (list, tuple)) else x


def _epoch_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """Seed of epoch ``epoch``'s shuffling generator: a function of (seed, epoch, rank) only, so resume replays it."""
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1, dtype=np.uint64)[0] >> 1)


def _seed_worker(worker_id: int) -> None:
    # torch seeds a worker's torch and Python RNGs from the loader's generator; NumPy too, here.
    np.random.seed(torch.initial_seed() % 2**32)


def _collate(batch):
    """Stack ``(tensor, label)`` samples; drop ``dfdlab.data.BadImage`` records (``on_error="skip"``) and return them."""
    bad = [b for b in batch if type(b).__name__ == "BadImage"]
    good = [b for b in batch if type(b).__name__ != "BadImage"]
    if good and not isinstance(good[0][0], torch.Tensor):
        raise TypeError(
            f"the training set returned a {type(good[0][0]).__name__}, not a tensor; give it the detector's "
            "transform, e.g. ForenSynths(root, transform=model.transform(train=True))"
        )
    if not good:
        return None, None, bad
    x = torch.stack([b[0] for b in good])
    return x, torch.as_tensor([b[1] for b in good], dtype=torch.float32), bad


# --------------------------------------------------------------------------- fit


@dataclass
class FitResult:
    """What ``fit`` returns. ``history`` has one row per finished epoch."""

    history: pd.DataFrame
    best_path: Path
    last_path: Path
    stopped_early: bool
    best_epoch: int | None = None
    extra: dict = field(default_factory=dict)


HISTORY_COLUMNS = ("epoch", "lr", "train_loss", "val_acc", "val_ap", "seconds")


def _make_optimizer(params, r: Recipe, lr: float) -> torch.optim.Optimizer:
    if r.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=tuple(r.betas), weight_decay=r.weight_decay)
    if r.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=tuple(r.betas), weight_decay=r.weight_decay)
    raise ValueError(f"recipe {r.name!r}: unknown optimizer {r.optimizer!r} (adam or adamw)")


def _better(acc: float, ap: float, best: tuple | None) -> bool:
    """Selection rule for ``best.pth``: higher val acc; on equal acc, higher val AP; else keep the earlier."""
    ap = -math.inf if ap is None or math.isnan(ap) else ap
    return best is None or (acc, ap) > best


def _validate(module: nn.Module, val_set, batch_size: int, dev, num_workers: int, progress: bool):
    """Val acc and AP with ``dfdlab.evaluate`` (strict ``> 0.5`` accuracy, sklearn AP; bad files skipped and named)."""
    from .evaluate import metrics, predict

    pr = predict(module, val_set, batch_size=batch_size, device=dev, num_workers=num_workers,
                 progress=progress, desc="val")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a one-class toy val set: AP is NaN, reported as such
        m = metrics(pr.y_true, pr.y_score)
    return float(m["acc"]), float(m["ap"]), len(pr.skipped)


def _load_resume(path: Path, r: Recipe, dev) -> dict:
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - re-raised with the file named and what to do
        raise RuntimeError(
            f"cannot resume from {path} ({type(e).__name__}: {e}); delete it or pass resume=False to start over"
        ) from e
    mine = {k: v for k, v in asdict(r).items() if k != "epochs"}
    theirs = {k: v for k, v in ck["recipe"].items() if k != "epochs"}
    if _as_tuple(list(mine.items())) != _as_tuple(list(theirs.items())):
        diff = sorted(k for k in mine if _as_tuple(mine[k]) != _as_tuple(theirs.get(k)))
        raise ValueError(
            f"{path} was written with a different recipe (fields {diff} differ); use another out_dir "
            "or resume=False to start over"
        )
    return ck


def fit(model: nn.Module, train_set, val_set, recipe: Recipe, out_dir, epochs: int | None = None,
        device=None, resume: bool = True, num_workers: int = 0, progress: bool = True,
        seed: int | None = None) -> FitResult:
    """Train ``model`` with ``recipe``, validating every epoch; selection on the validation set only.

    Mirrors the epoch loop of the official ``train.py`` files (PAPERS.md §0, §1.3, §2.3,
    §3.3): one pass over ``train_set`` with ``BCEWithLogitsLoss(model(x), y.float())``
    optimising only the parameters with ``requires_grad``; then the step decay (NPR, LGrad);
    then validation (acc with the strict ``> 0.5`` rule, AP) and the early-stopping rule
    (CNNDetection, UnivFD).

    Writes ``out_dir/last.pth`` after every epoch (resumable: weights, optimiser, lr,
    stopper, RNG states, history) and ``out_dir/best.pth`` whenever validation accuracy is
    the best so far (ties: the higher validation AP; still tied: the earlier epoch).
    The official code instead saves the last epoch (NPR, LGrad) or the stopper's latest
    "improvement" (CNNDetection; UnivFD overwrites it every epoch). ``fit`` takes no test
    set: nothing here can select on one.

    Args:
        train_set, val_set: datasets giving ``(tensor, label)`` (the detector's
            ``transform(train=True)`` / ``transform(train=False)``). Unreadable files are
            skipped and named where the dataset returns ``dfdlab.data.BadImage`` records
            (``ForenSynths(..., on_error="skip")``; ``result.extra["skipped"]``); validation
            goes through ``dfdlab.evaluate.predict``, which skips them too. Otherwise the
            dataset's ``ImageError`` stops training and names the file.
        epochs: overrides ``recipe.epochs`` (the quick profile).
        resume: continue from ``out_dir/last.pth`` if it exists; the run then ends with the
            same weights as an uninterrupted one (same seed, device and world size).
        seed: overrides ``recipe.seed``. A seed goes to ``dfdlab.seed_everything`` at the start
            of a fresh run (NPR's ``seed_torch``, which also disables cuDNN). With no seed at
            all the global RNGs are left alone (as the official code) and a random seed,
            stored in the checkpoint, orders the batches.

    Under ``torchrun`` (``WORLD_SIZE > 1``) the model is wrapped in DistributedDataParallel,
    ``recipe.batch_size`` is the global batch (split over the ranks), every rank reads a
    ``DistributedSampler`` shard, rank 0 validates and writes the files.
    """
    epochs = recipe.epochs if epochs is None else int(epochs)
    out_dir = Path(out_dir)
    import dfdlab

    dev = torch.device(device) if device is not None else dfdlab.device()
    d = _dist_setup(dev)
    if dev.type == "cuda" and d.world_size > 1:
        dev = torch.device("cuda", d.local_rank)
        torch.cuda.set_device(dev)
    last_path, best_path = out_dir / "last.pth", out_dir / "best.pth"
    model.to(dev)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(f"{type(model).__name__} has no parameter with requires_grad=True: nothing to train")

    # ---- fresh start or resume
    seed = recipe.seed if seed is None else seed
    lr, start, total_steps, history, best = recipe.lr, 0, 0, [], None
    stopper = EarlyStopping(recipe.patience, recipe.delta) if recipe.schedule == "early_stopping" else None
    stopped = False
    ck = _load_resume(last_path, recipe, dev) if resume and last_path.exists() else None
    if ck is None:
        if seed is not None:
            dfdlab.seed_everything(seed + d.rank)  # NPR's seed_torch (rank offset: ranks augment differently)
        seed = _broadcast(secrets.randbits(31) if seed is None else seed, d)
        optimizer = _make_optimizer(params, recipe, lr)
    else:
        if ck["world_size"] != d.world_size:
            warnings.warn(f"{last_path} was written by {ck['world_size']} process(es), now {d.world_size}: "
                          "training continues, but not in the order of an uninterrupted run", stacklevel=2)
        model.load_state_dict(ck["model"], strict=True)
        optimizer = _make_optimizer(params, recipe, lr)
        optimizer.load_state_dict(ck["optimizer"])
        lr, start, total_steps = ck["lr"], ck["epoch"] + 1, ck["total_steps"]
        seed, history, best, stopped = ck["seed"], list(ck["history"]), ck["best"], ck["stopped_early"]
        best = None if best is None else tuple(best)
        if stopper is not None and ck["early_stopping"] is not None:
            stopper = EarlyStopping(**ck["early_stopping"])
        rngs = ck["rng"]
        _set_rng_state(rngs[d.rank] if d.rank < len(rngs) else rngs[0])
    for g in optimizer.param_groups:
        g["lr"] = lr

    net = model
    if d.world_size > 1:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)
    per_rank_batch = max(1, recipe.batch_size // d.world_size)
    if d.world_size > 1 and recipe.batch_size % d.world_size:
        warnings.warn(f"batch {recipe.batch_size} is not divisible by {d.world_size} ranks; "
                      f"using {per_rank_batch} per rank", stacklevel=2)
    sampler = None
    if d.world_size > 1:
        from torch.utils.data.distributed import DistributedSampler

        sampler = DistributedSampler(train_set, num_replicas=d.world_size, rank=d.rank, shuffle=True, seed=seed)
    loss_fn = nn.BCEWithLogitsLoss()

    skipped: list = []  # unreadable training files (ForenSynths(..., on_error="skip"))
    epoch = start - 1
    for epoch in range(start, epochs):
        if stopped:
            break
        t0 = time.time()
        # Each epoch's order depends on (seed, epoch) only, so a resumed run replays it.
        order = torch.Generator().manual_seed(_epoch_seed(seed, epoch, d.rank))
        if sampler is not None:
            sampler.set_epoch(epoch)
        loader = torch.utils.data.DataLoader(
            train_set, batch_size=per_rank_batch, shuffle=sampler is None, sampler=sampler,
            num_workers=num_workers, collate_fn=_collate, generator=order, worker_init_fn=_seed_worker,
            pin_memory=dev.type == "cuda",
        )
        lr_epoch = lr
        net.train()
        loss_sum = torch.zeros(2, dtype=torch.float64)
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{epochs}", disable=not (progress and d.main), leave=False)
        for x, y, bad in bar:
            skipped += [(b.path, b.message) for b in bad]
            if x is None:
                if d.world_size > 1:  # the other ranks would wait for this rank's gradients forever
                    raise RuntimeError(f"rank {d.rank}: every image of a batch is unreadable: {skipped[-len(bad):]}")
                continue
            x, y = x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)
            logit = net(x).reshape(-1)
            loss = loss_fn(logit, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_steps += 1
            loss_sum += torch.tensor([loss.item() * len(y), len(y)], dtype=torch.float64)
            bar.set_postfix(loss=f"{loss.item():.4f}", lr=f"{lr:.2e}")
        if d.world_size > 1:
            import torch.distributed as dist

            loss_sum = loss_sum.to(dev)
            dist.all_reduce(loss_sum)
            loss_sum = loss_sum.cpu()
        train_loss = float(loss_sum[0] / max(loss_sum[1], 1))

        if recipe.schedule == "step":  # NPR/LGrad: decay at the end of the epoch, before validation
            lr = step_decay(lr, epoch, recipe.decay_every, recipe.decay_factor)
        metrics_ = (_validate(model, val_set, per_rank_batch * d.world_size, dev, num_workers, progress)
                    if d.main else None)
        val_acc, val_ap, n_skipped = _broadcast(metrics_, d)
        if recipe.schedule == "early_stopping":
            stopper, lr, stopped = early_stopping_update(stopper, lr, val_acc, recipe)
        elif recipe.schedule != "step":
            raise ValueError(f"recipe {recipe.name!r}: unknown schedule {recipe.schedule!r} (step or early_stopping)")
        for group in optimizer.param_groups:
            group["lr"] = lr

        history.append({"epoch": epoch, "lr": lr_epoch, "train_loss": train_loss, "val_acc": val_acc,
                        "val_ap": val_ap, "seconds": time.time() - t0})
        improved = _better(val_acc, val_ap, best)
        if improved:
            best = (val_acc, -math.inf if math.isnan(val_ap) else val_ap)
        rngs = _all_gather(_rng_state(), d)
        if d.main:
            state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
            if improved:
                atomic_torch_save({"model": state, "epoch": epoch, "val_acc": val_acc, "val_ap": val_ap,
                                   "recipe": asdict(recipe)}, best_path)
            atomic_torch_save({
                "model": state, "optimizer": optimizer.state_dict(), "lr": lr,
                "early_stopping": asdict(stopper) if stopper is not None else None,
                "epoch": epoch, "total_steps": total_steps, "rng": rngs, "seed": seed,
                "world_size": d.world_size, "recipe": asdict(recipe), "history": history,
                "best": list(best), "stopped_early": stopped,
            }, last_path)
            atomic_write_text(out_dir / "history.csv", pd.DataFrame(history, columns=HISTORY_COLUMNS).to_csv(index=False))
            if progress:
                note = f", {n_skipped} unreadable val files skipped" if n_skipped else ""
                tqdm.write(f"epoch {epoch}: loss {train_loss:.4f}  val acc {val_acc:.4f}  ap {val_ap:.4f}  "
                           f"lr {lr_epoch:.2e}{' (best)' if improved else ''}{note}")
                if stopped:
                    tqdm.write(f"early stopping: lr {lr:.1e} < min_lr {recipe.min_lr:.0e}")
        if d.world_size > 1:
            import torch.distributed as dist

            dist.barrier()  # nobody races ahead of rank 0's files

    hist = pd.DataFrame(history, columns=list(HISTORY_COLUMNS))
    best_epoch = None
    if len(hist):
        # the same rule as _better, replayed on the table
        ap = hist["val_ap"].fillna(-math.inf)
        order = sorted(range(len(hist)), key=lambda i: (-hist["val_acc"].iloc[i], -ap.iloc[i], i))
        best_epoch = int(hist["epoch"].iloc[order[0]])
    if skipped:
        warnings.warn(f"{len(skipped)} unreadable training images were skipped, e.g. {skipped[0][0]}: "
                      f"{skipped[0][1]} (full list: result.extra['skipped'])", stacklevel=2)
    return FitResult(hist, best_path, last_path, bool(stopped), best_epoch,
                     {"total_steps": total_steps, "seed": seed, "world_size": d.world_size, "skipped": skipped})


# --------------------------------------------------------------------------- command line


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The training options, shared by ``python -m dfdlab.train`` and ``dfdlab train``."""
    p.add_argument("--detector", required=True, help="detector name (dfdlab.detectors.available(), or 'tiny')")
    p.add_argument("--recipe", choices=sorted(RECIPES), help="training recipe (default: the detector's own)")
    p.add_argument("--data", required=True, type=Path,
                   help="ForenSynths-layout root holding the train and val splits")
    p.add_argument("--train-split", default="train", help="sub-folder of --data to train on (default: train)")
    p.add_argument("--val-split", default="val", help="sub-folder of --data to select on (default: val)")
    p.add_argument("--classes", default="",
                   help="comma-separated class folders to train/select on, e.g. car,cat,chair,horse (NPR's 4-class "
                        "setting); default: every class under the split, pooled")
    p.add_argument("--out", required=True, type=Path, help="output folder for last.pth, best.pth, history.csv")
    p.add_argument("--epochs", type=int, help="override the recipe's epochs")
    p.add_argument("--batch-size", type=int, help="override the recipe's (global) batch size")
    p.add_argument("--seed", type=int, help="override the recipe's seed")
    p.add_argument("--device", help="cpu, cuda, ... (default: dfdlab.device())")
    p.add_argument("--workers", type=int, default=0, help="DataLoader workers")
    p.add_argument("--no-resume", action="store_true", help="start over even if OUT/last.pth exists")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--detector-kw", action="append", default=[], metavar="KEY=VALUE",
                   help="keyword for dfdlab.detectors.build, e.g. pretrained=False (repeatable)")
    return p


def _parse_kw(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--detector-kw expects KEY=VALUE, got {item!r}")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value  # a plain string such as a path
    return out


def _detector_recipe(name: str) -> str:
    """The recipe a detector class names (``Detector.recipe``), without building it."""
    if name == "tiny":
        return _tiny_detector_class().recipe
    from . import detectors

    return getattr(detectors.get(name), "recipe", "")


def run(args: argparse.Namespace) -> FitResult:
    """Build the detector and the two ForenSynths splits from parsed ``args``, then ``fit``."""
    import dfdlab
    from .data import ForenSynths

    name = args.recipe or _detector_recipe(args.detector)
    if name not in RECIPES:
        raise ValueError(f"detector {args.detector!r} names no recipe; pass --recipe ({', '.join(RECIPES)})")
    overrides = {k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size)) if v is not None}
    r = recipe(name, **overrides)
    seed = r.seed if args.seed is None else args.seed
    if seed is not None:
        dfdlab.seed_everything(seed)  # before the model is built, as NPR's train.py does
    model = build_detector(args.detector, **_parse_kw(args.detector_kw))
    train_root, val_root = args.data / args.train_split, args.data / args.val_split
    for root in (train_root, val_root):
        if not root.is_dir():
            raise FileNotFoundError(f"{root} does not exist; --data must hold {args.train_split}/ and "
                                    f"{args.val_split}/ in the ForenSynths layout (see dfdlab.data.check_layout)")
    classes = [c for c in args.classes.split(",") if c]

    def split(root: Path, transform, **kw):
        # The official --classes: one ImageFolder per class, concatenated (PAPERS.md §1.3).
        if not classes:
            return ForenSynths(root, transform=transform, **kw)
        return torch.utils.data.ConcatDataset([ForenSynths(root / c, transform=transform, **kw) for c in classes])

    train_set = split(train_root, model.transform(train=True), on_error="skip")
    val_set = split(val_root, model.transform(train=False))
    return fit(model, train_set, val_set, r, args.out, device=args.device, resume=not args.no_resume,
               num_workers=args.workers, progress=not args.no_progress, seed=seed)


def main(argv: list[str] | None = None) -> int:
    """``python -m dfdlab.train ...`` or ``torchrun --nproc_per_node N -m dfdlab.train ...``."""
    p = add_arguments(argparse.ArgumentParser(prog="python -m dfdlab.train", description=__doc__.splitlines()[0]))
    args = p.parse_args(argv)
    try:
        result = run(args)
    finally:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    if int(os.environ.get("RANK", "0")) == 0:
        print(result.history.to_string(index=False))
        print(f"best: {result.best_path} (epoch {result.best_epoch}); last: {result.last_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
