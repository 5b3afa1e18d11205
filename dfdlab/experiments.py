"""The lessons' quick experiments as functions: the lesson and ``benchmarks/quick_claims.py`` run the same code.

A lesson calls these with its settings cell (``cfg``); the claim sweep calls them with the
same settings for several training seeds and thread counts, so the thresholds a lesson
asserts come from the code the lesson runs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import pandas as pd
import torch

from .data import ForenSynths, generator_sets, per_label_subset
from .data import transforms as T
from .detectors import build, load_checkpoint
from .evaluate import robustness
from .runtime import seed_everything
from .train import FitResult, fit, recipe

#: Lesson 05's perturbation grid: PIL JPEG qualities and scipy Gaussian blur strengths, applied before
#: the model's test transform (UnivFD ``validate.py``'s ``--jpeg_quality`` / ``--gaussian_sigma``).
JPEG_QUALITIES = (95, 90, 50, 30)
BLUR_SIGMAS = (1, 2, 4)


def npr_conditions(qualities: Sequence[int] = JPEG_QUALITIES, sigmas: Sequence[float] = BLUR_SIGMAS) -> dict:
    """``{"clean", "JPEG q", "blur σs"}`` -> PIL -> PIL, in that order (``dfdlab.evaluate.robustness``'s conditions)."""
    conditions = {"clean": lambda im: im}
    conditions.update({f"JPEG {q}": partial(T.jpeg, quality=q) for q in qualities})
    conditions.update({f"blur σ{s}": partial(T.gaussian_blur, sigma=s) for s in sigmas})
    return conditions


def train_npr(representation: str, train_root: str | os.PathLike, val_root: str | os.PathLike,
              classes: Sequence[str], load_size: int, crop_size: int, epochs: int, batch_size: int,
              out_dir: str | os.PathLike, seed: int | None = None) -> tuple[torch.nn.Module, FitResult]:
    """NPR (``representation="npr"``) or the same network on RGB, trained as NPR ``train.py`` with a shorter recipe.

    ``dfdlab.train.recipe("npr")`` with ``epochs``/``batch_size`` overridden and ``seed``
    (default: the recipe's 100) given to ``seed_everything`` before the model is built, as
    ``seed_torch(100)`` precedes ``get_model`` in NPR ``train.py``; the training set is the
    concatenation of the ``classes`` folders (NPR ``data/__init__.py``). Returns the best
    validation checkpoint loaded, in eval mode, and the fit result. ``out_dir`` is resumed
    if it holds a run of the same recipe.
    """
    r = recipe("npr", epochs=epochs, batch_size=batch_size, **({} if seed is None else {"seed": seed}))
    seed_everything(r.seed)  # the initial weights are part of the run
    model = build("npr", representation=representation, load_size=load_size, crop_size=crop_size)

    def cat(root, tf):
        return torch.utils.data.ConcatDataset([ForenSynths(Path(root) / c, tf) for c in classes])

    res = fit(model, cat(train_root, model.transform("train")), cat(val_root, model.transform("test")), r,
              Path(out_dir), progress=False)
    load_checkpoint(model, res.best_path)
    return model.eval(), res


def test_subsets(model: torch.nn.Module, test_root: str | os.PathLike, per_label: int | None,
                 names: Sequence[str] | None = None, seed: int = 0) -> dict[str, ForenSynths]:
    """``{generator: set}`` of ``per_label`` reals and fakes each (a fixed random choice), in the model's test pipeline."""
    sets = generator_sets(test_root, transform=model.transform("test"))
    return {g: per_label_subset(s, per_label, seed=seed) for g, s in sets.items() if names is None or g in names}


def npr_robustness(model: torch.nn.Module, test_root: str | os.PathLike, per_label: int | None,
                   names: Sequence[str] | None = None, conditions: dict | None = None) -> pd.DataFrame:
    """Lesson 05's grid: ``dfdlab.evaluate.robustness`` over :func:`npr_conditions` on :func:`test_subsets`."""
    return robustness(model, test_subsets(model, test_root, per_label, names),
                      npr_conditions() if conditions is None else conditions, progress=False)


def mean_ap_by_condition(robust: pd.DataFrame) -> pd.Series:
    """The "mean" rows of a robustness table: condition -> mean AP over the generators."""
    return robust[robust["generator"] == "mean"].set_index("condition")["ap"]


__all__ = ["BLUR_SIGMAS", "JPEG_QUALITIES", "mean_ap_by_condition", "npr_conditions", "npr_robustness",
           "test_subsets", "train_npr"]
