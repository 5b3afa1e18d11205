"""One trainer for every detector: the official epoch loop, resumable checkpoints, torchrun DDP.

Read it top to bottom:

1. The two learning-rate rules as small pure functions: ``step_decay`` (NPR and LGrad
   ``train.py``) and ``EarlyStopping`` + ``early_stopping_update`` (CNNDetection
   ``earlystop.py`` + ``train.py``, which UnivFD copies).
2. ``fit``: the epoch loop of the official ``train.py`` files as named steps —
   ``_start_or_resume``, ``_train_one_epoch``, ``_validate``, ``_apply_lr_rule``, ``_save`` —
   plus what the official code lacks: atomic checkpoints that resume to the very same
   weights, and DistributedDataParallel under ``torchrun``.
3. The kept model (``KEEP_RULES``): the weights the official trainer ships. NPR and LGrad save
   the last epoch (``save_networks('last')``); CNNDetection and UnivFD the epoch their
   ``EarlyStopping`` saved last (``save_checkpoint``). ``keep="best"`` (best validation
   accuracy) is offered too; every rule's file is written, the run records which one it keeps.
4. Seeding (``seed_run``): once, before the data and the model are built, as NPR ``train.py``'s
   ``seed_torch(100)``; ``fit`` itself never reseeds. ``build_for_training`` then builds the
   detector from the recipe's initial weights (``Recipe.init``: the ImageNet ResNet-50 of
   CNNDetection and LGrad ``networks/trainer.py``, through the asset registry).

The recipes (optimiser, batch, epochs, lr rule, Blur+JPEG) are data in ``dfdlab.recipes``;
``Recipe``, ``RECIPES`` and ``recipe`` are importable from here too. The command line is
``dfdlab train`` (``dfdlab.cli``); ``python -m dfdlab.train`` and ``torchrun -m dfdlab.train``
(``__main__.py`` here) run the very same parser and code.

Files in ``out_dir``: ``last.pth`` (written after every epoch) holds ``model`` (the
unwrapped ``state_dict``, no ``module.`` prefix), ``optimizer``, ``lr``, ``early_stopping``,
``early_stopping_saved``, ``epoch`` (last finished, 0-based), ``total_steps``, ``rng``
(Python, NumPy, torch CPU and CUDA, one entry per rank), ``seed``, ``world_size``, ``recipe``,
``history``, ``best`` and ``stopped_early``, all plain types, so they load with
``torch.load(weights_only=True)``. ``best.pth`` (best validation accuracy) and, under early
stopping, ``early_stopping.pth`` (the stopper's latest save) hold ``model`` plus the epoch and
its validation numbers; ``dfdlab.detectors.load_checkpoint(model, path)`` reads all three.
``run.json`` says which file is the kept model and how the run was set up (``meta``).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import math
import os
import random
import secrets
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler
from tqdm.auto import tqdm

from ..data.skipping import collate_skip_bad, report_skipped, skip_bad
from ..evaluate import metrics, predict
from ..files import atomic_torch_save, atomic_write_text
from ..recipes import RECIPES, Recipe, canonical_name, recipe
from ..runtime import device as default_device
from ..runtime import seed_everything

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

    A call returns True when the official stopper would ``save_checkpoint`` (its first score and
    every improvement): CNNDetection's ``model_epoch_best.pth``, UnivFD's ``best``.
    """

    patience: int
    delta: float
    counter: int = 0
    best_score: float | None = None
    early_stop: bool = False

    def __call__(self, score: float) -> bool:
        if self.best_score is None:
            self.best_score = score
            return True
        if score < self.best_score - self.delta:
            self.counter += 1
            if self.counter >= self.patience:
                self.early_stop = True
            return False
        self.best_score, self.counter = score, 0
        return True


def early_stopping_update(stopper: EarlyStopping, lr: float, val_acc: float, r: Recipe):
    """One epoch of CNNDetection ``train.py``'s rule -> ``(stopper, lr, stop, saved)``.

    Feed ``val_acc`` to the stopper (``saved``: it would save this epoch's weights); when it
    triggers, ``lr /= 10`` (``adjust_learning_rate``) and a fresh stopper with
    ``delta_after_drop`` takes over, unless the new lr is below ``min_lr``: then training stops.
    The fresh stopper has no score yet, so it saves the epoch after the drop whatever its accuracy.
    """
    saved = stopper(val_acc)
    if not stopper.early_stop:
        return stopper, lr, False, saved
    lr = lr / r.lr_divisor
    if lr < r.min_lr:
        return stopper, lr, True, saved
    return EarlyStopping(r.patience, r.delta_after_drop), lr, False, saved


def early_stopping_saves(val_accs, r: Recipe) -> list[int]:
    """The epochs whose weights CNNDetection's stopper saves, for a sequence of val accuracies.

    The replay of ``early_stopping_update`` (CNNDetection ``train.py`` + ``earlystop.py``); the
    last entry is the official kept model (``model_epoch_best.pth``; UnivFD's ``best``).
    """
    stopper, lr, saves = EarlyStopping(r.patience, r.delta), r.lr, []
    for epoch, acc in enumerate(val_accs):
        stopper, lr, stop, saved = early_stopping_update(stopper, lr, acc, r)
        if saved:
            saves.append(epoch)
        if stop:
            break
    return saves


#: Which epoch's weights a run keeps. ``"last"``: the last epoch (NPR and LGrad ``train.py``:
#: ``save_networks('last')``); ``"early_stopping"``: the epoch the early stopper saved last
#: (CNNDetection ``earlystop.py``, copied by UnivFD); ``"best"``: the best validation accuracy
#: (ties: the higher AP, then the earlier epoch), which no official trainer ships.
KEEP_RULES = ("last", "early_stopping", "best")
#: File of each rule in ``out_dir``.
KEEP_FILES = {"last": "last.pth", "early_stopping": "early_stopping.pth", "best": "best.pth"}


def resolve_keep(keep: str, r: Recipe) -> str:
    """``"official"`` -> the recipe's rule (``Recipe.keep``); a rule name is checked against the schedule."""
    rule = r.keep if keep == "official" else keep
    if rule not in KEEP_RULES:
        raise ValueError(f"keep={keep!r}: use 'official' or one of {', '.join(KEEP_RULES)}")
    if rule == "early_stopping" and r.schedule != "early_stopping":
        raise ValueError(f"keep='early_stopping' needs an early-stopping recipe; {r.name!r} uses step decay "
                         "(keep 'last', as its official trainer, or 'best')")
    return rule


def seed_run(seed: int | None, rank: int | None = None) -> None:
    """Seed every RNG once, before the data and the model are built (NPR ``train.py``: ``seed_torch(100)``).

    ``dfdlab.seed_everything(seed + rank)``, which also turns cuDNN off as ``seed_torch`` does;
    ``rank`` defaults to torchrun's ``RANK`` (the offset makes the ranks augment differently;
    DistributedDataParallel gives every rank rank 0's initial weights). ``None`` leaves the RNGs
    alone, as the official CNNDetection, UnivFD and LGrad trainers do.
    """
    if seed is None:
        return
    seed_everything(int(seed) + (int(os.environ.get("RANK", "0")) if rank is None else int(rank)))


#: ``Recipe.init`` values: the weights a run starts from.
INITS = ("imagenet", "random", "openai-clip")


def build_for_training(detector, r: Recipe | None = None, init: str | None = None, **kwargs):
    """The detector a run starts from, with the recipe's initial weights -> ``(model, init)``.

    ``detector``: a registry name or a detector class. ``init`` (default ``r.init``, the official
    trainer's): ``"imagenet"`` builds it with ``pretrained=True`` (CNNDetection and LGrad
    ``networks/trainer.py``: ``resnet50(pretrained=True)``; the weights come from the asset
    registry, ``dfdlab.hub`` "resnet50-imagenet", and a missing file raises ``AssetMissing``
    naming the command that fetches it); ``"random"`` from scratch (``pretrained=False``
    where the detector has the option; NPR always); ``"openai-clip"``: UnivFD's frozen CLIP,
    whose only new weights are the head's. Seed first (``seed_run``): the draws of the
    initialisation are part of the run.
    """
    from .. import detectors

    cls = detectors.get(detector) if isinstance(detector, str) else detector
    r = r if r is not None else recipe(cls.recipe)
    init = r.init if init is None else init
    if init not in INITS:
        raise ValueError(f"init={init!r}: use one of {', '.join(INITS)}")
    has_option = "pretrained" in inspect.signature(cls.__init__).parameters
    name = getattr(cls, "name", "") or cls.__name__
    if (init == "openai-clip") != (r.init == "openai-clip"):
        raise ValueError(f"init={init!r} does not apply to {name!r} with recipe {r.name!r}: "
                         + ("UnivFD trains a linear head on a frozen OpenAI CLIP (init 'openai-clip')"
                            if r.init == "openai-clip" else "only UnivFD starts from OpenAI CLIP"))
    if init == "imagenet" and not has_option:
        raise ValueError(f"{name!r} has no ImageNet initialisation: use init='random' (dfdlab train --init random)")
    if has_option and init != "openai-clip":
        asked = init == "imagenet"
        if kwargs.get("pretrained", asked) != asked:
            raise ValueError(f"pretrained={kwargs['pretrained']!r} contradicts init={init!r}")
        kwargs["pretrained"] = asked
    return cls(**kwargs), init


SCHEDULES = ("early_stopping", "step")
OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}

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
    if not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return _Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def end_distributed() -> None:
    """Leave the process group ``fit`` joined under torchrun (a no-op otherwise)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _all_gather(obj, d: _Dist) -> list:
    if d.world_size == 1:
        return [obj]
    out = [None] * d.world_size
    dist.all_gather_object(out, obj)
    return out


def _broadcast(obj, d: _Dist):
    if d.world_size == 1:
        return obj
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


# --------------------------------------------------------------------------- fit: its state and steps


@dataclass
class FitResult:
    """What ``fit`` returns. ``history`` has one row per finished epoch.

    ``kept_path`` is the kept model under rule ``keep`` (``KEEP_RULES``), from epoch
    ``kept_epoch``; ``best_path``/``best_epoch`` the best validation accuracy whatever the rule.
    ``extra``: ``total_steps``, ``seed``, ``world_size`` and ``skipped`` (the unreadable
    training files, as ``dfdlab.data.BadImage`` records, each file once).
    """

    history: pd.DataFrame
    best_path: Path
    last_path: Path
    stopped_early: bool
    best_epoch: int | None = None
    extra: dict = field(default_factory=dict)
    keep: str = "best"
    kept_path: Path | None = None
    kept_epoch: int | None = None


HISTORY_COLUMNS = ("epoch", "lr", "train_loss", "val_acc", "val_ap", "seconds")


@dataclass
class _Run:
    """Everything a run carries from epoch to epoch besides the weights (what ``last.pth`` stores)."""

    recipe: Recipe
    optimizer: torch.optim.Optimizer
    lr: float
    seed: int
    stopper: EarlyStopping | None
    start: int = 0  # first epoch to run
    total_steps: int = 0
    history: list = field(default_factory=list)
    best: tuple | None = None  # (val_acc, val_ap) of best.pth
    stopped: bool = False
    stopper_saved: int | None = None  # the epoch of early_stopping.pth
    skipped: dict = field(default_factory=dict)  # path -> BadImage (unreadable training files)


def _setup_device(device) -> tuple[torch.device, _Dist]:
    """The training device and this process's rank; under torchrun each rank takes its own GPU."""
    dev = torch.device(device) if device is not None else default_device()
    d = _dist_setup(dev)
    if dev.type == "cuda" and d.world_size > 1:
        dev = torch.device("cuda", d.local_rank)
        torch.cuda.set_device(dev)
    return dev, d


def _trainable(model: nn.Module) -> list:
    """The parameters the official trainers optimise (``requires_grad``, as NPR ``networks/trainer.py``)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(f"{type(model).__name__} has no parameter with requires_grad=True: nothing to train")
    return params


def _check_recipe(r: Recipe) -> None:
    if r.optimizer not in OPTIMIZERS:
        raise ValueError(f"recipe {r.name!r}: unknown optimizer {r.optimizer!r} ({' or '.join(OPTIMIZERS)})")
    if r.schedule not in SCHEDULES:
        raise ValueError(f"recipe {r.name!r}: unknown schedule {r.schedule!r} ({' or '.join(SCHEDULES)})")


def _make_optimizer(params, r: Recipe, lr: float) -> torch.optim.Optimizer:
    return OPTIMIZERS[r.optimizer](params, lr=lr, betas=tuple(r.betas), weight_decay=r.weight_decay)


#: Recipe fields a resume does not compare: ``epochs`` (a resume may extend a run), how the run
#: started and what it keeps (the weights come from ``last.pth``; every rule's file is written),
#: the default validation folder (the caller passes the set) and the citation.
_RESUME_IGNORES = ("epochs", "init", "keep", "val_split", "source")


def _same_recipe(mine: dict, theirs: dict) -> list[str]:
    """Fields in which two ``asdict(recipe)`` differ, aliases aside, ignoring ``_RESUME_IGNORES``."""
    mine = {**mine, "name": canonical_name(mine["name"])}
    theirs = {**theirs, "name": canonical_name(theirs.get("name", ""))}
    return sorted(k for k in mine if k not in _RESUME_IGNORES and _as_tuple(mine[k]) != _as_tuple(theirs.get(k)))


class ResumeError(ValueError):
    """``out_dir/last.pth`` cannot be resumed (unreadable, or written with another recipe); says what to do."""


def _load_resume(path: Path, r: Recipe) -> dict:
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - re-raised with the file named and what to do
        raise ResumeError(
            f"cannot resume from {path} ({type(e).__name__}: {e}); delete it or pass resume=False "
            "(dfdlab train --no-resume) to start over"
        ) from e
    diff = _same_recipe(asdict(r), ck["recipe"])
    if diff:
        raise ResumeError(
            f"{path} was written with a different recipe (fields {diff} differ); use another out_dir "
            "or resume=False (dfdlab train --no-resume) to start over"
        )
    return ck


def _start_or_resume(model: nn.Module, r: Recipe, last_path: Path, d: _Dist, resume: bool,
                     seed: int | None) -> _Run:
    """A fresh run, or the state of ``last.pth`` restored.

    A fresh run leaves the global RNGs as the caller seeded them (``seed_run`` before the data
    and the model, as NPR ``train.py``); the seed (a random one when neither ``seed`` nor the
    recipe gives one, stored in the checkpoint) orders the batches.
    """
    params = _trainable(model)
    seed = r.seed if seed is None else seed
    stopper = EarlyStopping(r.patience, r.delta) if r.schedule == "early_stopping" else None
    ck = _load_resume(last_path, r) if resume and last_path.exists() else None
    if ck is None:
        seed = _broadcast(secrets.randbits(31) if seed is None else seed, d)
        run = _Run(r, _make_optimizer(params, r, r.lr), r.lr, seed, stopper)
    else:
        if ck["world_size"] != d.world_size:
            warnings.warn(f"{last_path} was written by {ck['world_size']} process(es), now {d.world_size}: "
                          "training continues, but not in the order of an uninterrupted run", stacklevel=3)
        model.load_state_dict(ck["model"], strict=True)
        optimizer = _make_optimizer(params, r, r.lr)
        optimizer.load_state_dict(ck["optimizer"])
        if stopper is not None and ck["early_stopping"] is not None:
            stopper = EarlyStopping(**ck["early_stopping"])
        run = _Run(r, optimizer, ck["lr"], ck["seed"], stopper, start=ck["epoch"] + 1,
                   total_steps=ck["total_steps"], history=list(ck["history"]),
                   best=None if ck["best"] is None else tuple(ck["best"]), stopped=ck["stopped_early"],
                   stopper_saved=ck.get("early_stopping_saved"))
        rngs = ck["rng"]
        _set_rng_state(rngs[d.rank] if d.rank < len(rngs) else rngs[0])
    _set_lr(run)
    return run


def _set_lr(run: _Run) -> None:
    for group in run.optimizer.param_groups:
        group["lr"] = run.lr


def _per_rank_batch(r: Recipe, d: _Dist) -> int:
    """``recipe.batch_size`` is the global batch; each rank takes its share."""
    per_rank = max(1, r.batch_size // d.world_size)
    if d.world_size > 1 and r.batch_size % d.world_size:
        warnings.warn(f"batch {r.batch_size} is not divisible by {d.world_size} ranks; "
                      f"using {per_rank} per rank", stacklevel=3)
    return per_rank


def _epoch_loader(train_set, run: _Run, epoch: int, batch_size: int, d: _Dist, num_workers: int,
                  dev: torch.device) -> DataLoader:
    """This epoch's batches: their order depends on (seed, epoch, rank) only, so a resumed run replays it.

    Unreadable files arrive as ``BadImage`` records and ``collate_skip_bad`` drops them.
    """
    sampler = None
    if d.world_size > 1:
        sampler = DistributedSampler(train_set, num_replicas=d.world_size, rank=d.rank, shuffle=True, seed=run.seed)
        sampler.set_epoch(epoch)
    order = torch.Generator().manual_seed(_epoch_seed(run.seed, epoch, d.rank))
    return DataLoader(train_set, batch_size=batch_size, shuffle=sampler is None, sampler=sampler,
                      num_workers=num_workers, collate_fn=collate_skip_bad, generator=order,
                      worker_init_fn=_seed_worker, pin_memory=dev.type == "cuda")


def _train_one_epoch(net: nn.Module, loader: DataLoader, run: _Run, d: _Dist, dev: torch.device,
                     desc: str, progress: bool) -> float:
    """One pass of ``BCEWithLogitsLoss(net(x), y.float())`` over the loader (the official ``optimize_parameters``).

    Returns the mean training loss over every rank's images.
    """
    loss_fn = nn.BCEWithLogitsLoss()
    net.train()
    loss_sum = torch.zeros(2, dtype=torch.float64)
    bar = tqdm(loader, desc=desc, disable=not (progress and d.main), leave=False)
    for x, y, bad in bar:
        for b in bad:
            run.skipped.setdefault(b.path, b)
        if x is None:
            if d.world_size > 1:  # the other ranks would wait for this rank's gradients forever
                raise RuntimeError(f"rank {d.rank}: every image of a batch is unreadable: {[str(b) for b in bad]}")
            continue
        x, y = x.to(dev, non_blocking=True), y.to(dev, dtype=torch.float32, non_blocking=True)
        loss = loss_fn(net(x).reshape(-1), y)
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()
        run.total_steps += 1
        loss_sum += torch.tensor([loss.item() * len(y), len(y)], dtype=torch.float64)
        bar.set_postfix(loss=f"{loss.item():.4f}", lr=f"{run.lr:.2e}")
    if d.world_size > 1:
        loss_sum = loss_sum.to(dev)
        dist.all_reduce(loss_sum)
        loss_sum = loss_sum.cpu()
    return float(loss_sum[0] / max(loss_sum[1], 1))


def _evaluating(module: nn.Module, split: str):
    """``module.evaluating(split)`` for a detector whose pipeline goes on inside ``forward`` (LGrad), else nothing."""
    ctx = getattr(module, "evaluating", None)
    return ctx(split) if callable(ctx) else contextlib.nullcontext()


def _validate(module: nn.Module, val_set, batch_size: int, dev, num_workers: int, progress: bool,
              val_pipeline: str = "val"):
    """Val acc and AP with ``dfdlab.evaluate`` (strict ``> 0.5`` accuracy, sklearn AP; bad files skipped and named)."""
    with _evaluating(module, val_pipeline):
        pr = predict(module, val_set, batch_size=batch_size, device=dev, num_workers=num_workers,
                     progress=progress, desc="val")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a one-class toy val set: AP is NaN, reported as such
        m = metrics(pr.y_true, pr.y_score)
    return float(m["acc"]), float(m["ap"]), len(pr.skipped)


def _apply_lr_rule(run: _Run, epoch: int, val_acc: float) -> bool:
    """NPR/LGrad: ``step_decay`` at the end of the epoch; CNNDetection/UnivFD: early stopping on val acc.

    Returns whether the early stopper saves this epoch. (The official step decay runs before
    validation, which does not read the lr: same result.)
    """
    r = run.recipe
    saved = False
    if r.schedule == "step":
        run.lr = step_decay(run.lr, epoch, r.decay_every, r.decay_factor)
    else:
        run.stopper, run.lr, run.stopped, saved = early_stopping_update(run.stopper, run.lr, val_acc, r)
        if saved:
            run.stopper_saved = epoch
    _set_lr(run)
    return saved


def _better(acc: float, ap: float, best: tuple | None) -> bool:
    """Selection rule for ``best.pth``: higher val acc; on equal acc, higher val AP; else keep the earlier."""
    ap = -math.inf if ap is None or math.isnan(ap) else ap
    return best is None or (acc, ap) > best


def _kept_epoch(run: _Run, rule: str) -> int | None:
    """The epoch whose weights rule ``rule`` keeps so far (``None`` before the first epoch)."""
    if not run.history:
        return None
    if rule == "last":
        return int(run.history[-1]["epoch"])
    if rule == "early_stopping":
        return run.stopper_saved
    return _best_epoch(pd.DataFrame(run.history, columns=list(HISTORY_COLUMNS)))


def _save(model: nn.Module, run: _Run, epoch: int, improved: bool, stopper_saved: bool, out_dir: Path, d: _Dist,
          record: dict, every_epoch: bool = False) -> None:
    """Rank 0 writes ``best.pth`` (when validation improved), ``early_stopping.pth`` (when the stopper
    saves), ``epoch_<epoch>.pth`` (with ``every_epoch``), ``last.pth``, ``history.csv`` and ``run.json``, atomically.

    Every rank takes part: ``last.pth`` holds each rank's RNG states.
    """
    rngs = _all_gather(_rng_state(), d)
    if not d.main:
        return
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    row = run.history[-1]
    recipe_ = asdict(run.recipe)
    snapshot = {"model": state, "epoch": epoch, "val_acc": row["val_acc"], "val_ap": row["val_ap"], "recipe": recipe_}
    if improved:
        atomic_torch_save({**snapshot, "rule": "best"}, out_dir / KEEP_FILES["best"])
    if stopper_saved:
        atomic_torch_save({**snapshot, "rule": "early_stopping"}, out_dir / KEEP_FILES["early_stopping"])
    if every_epoch:
        atomic_torch_save({**snapshot, "rule": "epoch"}, out_dir / epoch_file(epoch))
    atomic_torch_save({
        "model": state, "optimizer": run.optimizer.state_dict(), "lr": run.lr,
        "early_stopping": asdict(run.stopper) if run.stopper is not None else None,
        "early_stopping_saved": run.stopper_saved,
        "epoch": epoch, "total_steps": run.total_steps, "rng": rngs, "seed": run.seed,
        "world_size": d.world_size, "recipe": recipe_, "history": run.history,
        "best": list(run.best), "stopped_early": run.stopped,
    }, out_dir / "last.pth")
    atomic_write_text(out_dir / "history.csv", pd.DataFrame(run.history, columns=HISTORY_COLUMNS).to_csv(index=False))
    _write_run_json(run, out_dir, d, record)


def _write_run_json(run: _Run, out_dir: Path, d: _Dist, record: dict) -> None:
    """``run.json``: the kept model (rule, file, epoch), the other rules' epochs, and how the run was set up."""
    rule = record["keep"]
    info = {**record, "kept": KEEP_FILES[rule], "kept_epoch": _kept_epoch(run, rule),
            "epoch_by_rule": {r: _kept_epoch(run, r) for r in KEEP_RULES if r != "early_stopping" or run.stopper},
            "recipe": run.recipe.name, "seed": run.seed, "world_size": d.world_size,
            "epochs_run": len(run.history), "stopped_early": bool(run.stopped)}
    atomic_write_text(out_dir / "run.json", json.dumps(info, indent=2, default=str))


def _log_epoch(run: _Run, improved: bool, n_val_skipped: int) -> None:
    row = run.history[-1]
    note = f", {n_val_skipped} unreadable val files skipped" if n_val_skipped else ""
    tqdm.write(f"epoch {row['epoch']}: loss {row['train_loss']:.4f}  val acc {row['val_acc']:.4f}  "
               f"ap {row['val_ap']:.4f}  lr {row['lr']:.2e}{' (best)' if improved else ''}{note}")
    if run.stopped:
        tqdm.write(f"early stopping: lr {run.lr:.1e} < min_lr {run.recipe.min_lr:.0e}")


def epoch_file(epoch: int) -> str:
    """The file name of ``fit(every_epoch=True)``'s snapshot of ``epoch`` (the history's 0-based epoch)."""
    return f"epoch_{epoch:03d}.pth"


def _best_epoch(hist: pd.DataFrame) -> int | None:
    """``_better``'s rule replayed on a history table: highest val acc, then val AP, then the earlier epoch."""
    if not len(hist):
        return None
    ap = hist["val_ap"].fillna(-math.inf)
    order = sorted(range(len(hist)), key=lambda i: (-hist["val_acc"].iloc[i], -ap.iloc[i], i))
    return int(hist["epoch"].iloc[order[0]])


def _result(run: _Run, out_dir: Path, d: _Dist, rule: str) -> FitResult:
    """The history table, the best and the kept epoch, and the skipped files, reported once."""
    hist = pd.DataFrame(run.history, columns=list(HISTORY_COLUMNS))
    best_epoch = _best_epoch(hist)
    skipped = {}
    for part in _all_gather(run.skipped, d):
        for path, b in part.items():
            skipped.setdefault(path, b)
    skipped = list(skipped.values())
    if d.main:
        report_skipped(skipped, out_dir / "train_skipped.csv", stacklevel=3)
    return FitResult(hist, out_dir / "best.pth", out_dir / "last.pth", bool(run.stopped), best_epoch,
                     {"total_steps": run.total_steps, "seed": run.seed, "world_size": d.world_size,
                      "skipped": skipped}, keep=rule, kept_path=out_dir / KEEP_FILES[rule],
                     kept_epoch=_kept_epoch(run, rule))


# --------------------------------------------------------------------------- fit


def fit(model: nn.Module, train_set, val_set, recipe: Recipe, out_dir, epochs: int | None = None,
        device=None, resume: bool = True, num_workers: int = 0, progress: bool = True,
        seed: int | None = None, keep: str = "official", val_pipeline: str = "val",
        meta: dict | None = None, every_epoch: bool = False) -> FitResult:
    """Train ``model`` with ``recipe``, validating every epoch; selection on the validation set only.

    Mirrors the epoch loop of the official ``train.py`` files (CNNDetection, UnivFD, NPR,
    LGrad): one pass over ``train_set`` with ``BCEWithLogitsLoss(model(x), y.float())``
    optimising only the parameters with ``requires_grad``; validation (acc with the strict
    ``> 0.5`` rule, AP); then the lr rule: step decay (NPR, LGrad) or early stopping
    (CNNDetection, UnivFD).

    Writes ``out_dir/last.pth`` after every epoch (resumable: weights, optimiser, lr,
    stopper, RNG states, history), ``out_dir/best.pth`` whenever validation accuracy is the
    best so far (ties: the higher validation AP; still tied: the earlier epoch), under early
    stopping ``out_dir/early_stopping.pth`` whenever the stopper saves, and ``run.json``.
    ``fit`` takes no test set: nothing here can select on one.

    Args:
        train_set, val_set: datasets giving ``(tensor, label)``, e.g. ``ForenSynths`` with the
            detector's ``transform("train", augment=recipe.augmentation())`` and
            ``transform("val", augment=recipe.augmentation())`` (the official validation
            pipeline). An unreadable training file (``dfdlab.data.ImageError``) is skipped and
            named: listed in ``result.extra["skipped"]``, in a warning and in
            ``out_dir/train_skipped.csv``; validation (``dfdlab.evaluate.predict``) skips them
            too. Any other exception (from a transform, say) is a bug and propagates.
        epochs: overrides ``recipe.epochs`` (the quick profile).
        resume: continue from ``out_dir/last.pth`` if it exists; the run then ends with the
            same weights as an uninterrupted one (same seed, device and world size).
        seed: overrides ``recipe.seed`` as the seed that orders the batches (recorded). The
            global RNGs are the caller's: seed them once before building the data and the
            model (``seed_run``, NPR ``train.py``'s ``seed_torch``); ``fit`` never reseeds them.
        keep: the kept model (``result.kept_path``): ``"official"`` (the recipe's rule:
            NPR/LGrad the last epoch, CNNDetection/UnivFD the early stopper's latest save),
            ``"last"``, ``"early_stopping"`` or ``"best"`` (``KEEP_RULES``); recorded in ``run.json``.
        val_pipeline: the detector pipeline ``val_set`` was built with, ``"val"`` or ``"test"``;
            a detector whose pipeline continues inside ``forward`` (LGrad's centre crop of the
            gradient map) validates under ``model.evaluating(val_pipeline)``.
        meta: more facts to record in ``run.json`` (the CLI: detector, init, data folders).
        every_epoch: also keep each epoch's weights as ``out_dir/epoch_<epoch>.pth``
            (:func:`epoch_file`), e.g. for lesson 08's comparison of selecting on validation with
            selecting on the test set; the selection itself stays ``keep``'s.

    Under ``torchrun`` (``WORLD_SIZE > 1``) the model is wrapped in DistributedDataParallel,
    ``recipe.batch_size`` is the global batch (split over the ranks), every rank reads a
    ``DistributedSampler`` shard, rank 0 validates and writes the files.
    """
    _check_recipe(recipe)
    rule = resolve_keep(keep, recipe)
    if val_pipeline not in ("val", "test"):
        raise ValueError(f"val_pipeline={val_pipeline!r}: 'val' (the official validation pipeline) or 'test'")
    record = {"keep": rule, "keep_option": keep, "val_pipeline": val_pipeline, **(meta or {})}
    epochs, out_dir = recipe.epochs if epochs is None else int(epochs), Path(out_dir)
    dev, d = _setup_device(device)
    model.to(dev)
    run = _start_or_resume(model, recipe, out_dir / "last.pth", d, resume, seed)
    net = model if d.world_size == 1 else nn.parallel.DistributedDataParallel(
        model, device_ids=[dev.index] if dev.type == "cuda" else None)
    batch_size, train_set = _per_rank_batch(recipe, d), skip_bad(train_set)
    for epoch in range(run.start, epochs):
        if run.stopped:
            break
        t0, lr_epoch = time.time(), run.lr
        loader = _epoch_loader(train_set, run, epoch, batch_size, d, num_workers, dev)
        train_loss = _train_one_epoch(net, loader, run, d, dev, f"epoch {epoch + 1}/{epochs}", progress)
        val = (_validate(model, val_set, batch_size * d.world_size, dev, num_workers, progress, val_pipeline)
               if d.main else None)
        val_acc, val_ap, n_val_skipped = _broadcast(val, d)
        stopper_saved = _apply_lr_rule(run, epoch, val_acc)
        run.history.append({"epoch": epoch, "lr": lr_epoch, "train_loss": train_loss, "val_acc": val_acc,
                            "val_ap": val_ap, "seconds": time.time() - t0})
        improved = _better(val_acc, val_ap, run.best)
        if improved:
            run.best = (val_acc, -math.inf if math.isnan(val_ap) else val_ap)
        _save(model, run, epoch, improved, stopper_saved, out_dir, d, record, every_epoch)
        if progress and d.main:
            _log_epoch(run, improved, n_val_skipped)
        if d.world_size > 1:
            dist.barrier()  # nobody races ahead of rank 0's files
    return _result(run, out_dir, d, rule)


__all__ = ["EarlyStopping", "FitResult", "HISTORY_COLUMNS", "INITS", "KEEP_FILES", "KEEP_RULES", "RECIPES", "Recipe",
           "ResumeError", "build_for_training", "early_stopping_saves", "early_stopping_update", "end_distributed", "epoch_file", "fit", "recipe",
           "resolve_keep", "seed_run", "step_decay"]

