"""The detector interface and the registry (strict checkpoint loading: ``dfdlab.checkpoints``).

One detector interface with a registry decorator, and timm/open_clip-style strict loading
whose errors say which keys were missing or unexpected. No loader here passes
``strict=False`` or wraps ``load_state_dict`` in a bare ``except``: a partial load must fail loudly.

Every detector is an ``nn.Module`` whose ``forward(x)`` returns one logit per image
(shape ``[N]``); ``sigmoid(logit)`` is the fake probability and ``> 0.5`` decides "fake",
as in CNNDetection's ``validate.py``.
"""

from __future__ import annotations

import contextlib
import importlib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from dfdlab.checkpoints import CheckpointError, load_checkpoint, unwrap_state_dict  # noqa: F401  (public here)
from dfdlab.data.transforms import transform_repr

#: Built-in detector modules (one per paper), imported on first use by ``build``/``available``.
BUILTINS = ("cnndetection", "univfd", "npr", "lgrad")

#: Other names the built-ins answer to: ``build("cnnspot")`` is ``build("cnndetection")``.
ALIASES: dict[str, str] = {"cnnspot": "cnndetection", "ufd": "univfd"}

#: The splits every detector has a pipeline for; "val" is the official validation during training.
SPLITS = ("train", "val", "test")

_REGISTRY: dict[str, type["Detector"]] = {}


def resolve_split(split: str | bool = "test", train: bool | None = None) -> str:
    """``"train" | "val" | "test"`` from a split name or the bool form (``True`` = train, ``False`` = test)."""
    if train is not None:
        if not isinstance(split, bool) and split != "test":
            raise ValueError(f"give either split={split!r} or train={train!r}, not both")
        split = bool(train)
    if isinstance(split, bool):
        split = "train" if split else "test"
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)} (or a bool: True = train), got {split!r}")
    return split


@dataclass(frozen=True)
class Preprocessing:
    """One split's (and benchmark's) pipeline of a detector, with its settings in words.

    ``transform`` maps a PIL RGB image to the model's input tensor; the other fields say
    what it does, for tables, the ledger and the lessons (``Detector.describe``).
    """

    transform: Callable
    resize: str
    crop: str
    normalisation: str
    input_size: str  # what reaches forward(), e.g. "64x64" or "native (odd sizes trimmed)"
    augmentation: str = "none"
    source: str = ""  # the official file (and setting) the pipeline mirrors


class Detector(nn.Module):
    """Base class of every dfdlab detector.

    Class attributes:
        name: registry name (``build(name)``).
        paper: the paper it reproduces, e.g. ``"Wang et al., CVPR 2020 (CNNDetection)"``.
        paper_method: the method's name in the papers' tables (``dfdlab.paper_results``).
        recipe: key of ``dfdlab.train.RECIPES`` used to train it.
        test_settings: ``{benchmark: keyword arguments}`` where the official test pipeline
            changes per benchmark (NPR's ``no_resize``/``no_crop`` per table); empty when
            one test pipeline serves every benchmark.

    Subclasses implement ``forward(x) -> [N]`` logits and ``preprocessing(split, benchmark,
    augment) -> Preprocessing``; ``transform`` and ``describe`` are built on it. They may
    implement ``features(x)`` (the representation before the final linear layer),
    ``summary()`` (one line saying what the model is) and ``convert_state_dict(sd)`` (map an
    official checkpoint's keys onto theirs).
    """

    name: str = ""
    paper: str = ""
    paper_method: str = ""
    recipe: str = ""
    test_settings: Mapping[str, Mapping] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def transform(self, split: str | bool = "test", *, benchmark: str | None = None, augment: Mapping | None = None,
                  train: bool | None = None) -> Callable:
        """The paper's preprocessing, PIL image -> input tensor.

        Args:
            split: ``"train"``, ``"val"`` (the official validation during training) or
                ``"test"``; ``True``/``False`` (or ``train=True/False``) mean train/test.
            benchmark: a suite name (``dfdlab.suites.SUITES``): that benchmark's official
                test settings; ``None``: the detector's default test pipeline. Test only.
            augment: CNNDetection's ``data_augment`` options (``blur_prob``, ``blur_sig``,
                ``jpg_prob``, ``jpg_method``, ``jpg_qual``, as ``Recipe.augmentation()``
                returns) for train/val; ``None``: the paper's default for this detector.
        """
        return self.preprocessing(*self._resolve(split, benchmark, augment, train)).transform

    def describe(self, split: str | bool = "test", benchmark: str | None = None) -> dict:
        """The settings this model really runs with, in words: resize, crop, normalisation, input size, ...

        ``transform`` is the pipeline's ``repr`` without memory addresses; ``protocol_source``
        the official file it mirrors; ``model`` the one-line ``summary()``.
        """
        split, benchmark, _ = self._resolve(split, benchmark, None, None)
        p = self.preprocessing(split, benchmark, None)
        return {"detector": self.name, "paper": self.paper, "model": self.summary(), "split": split,
                "benchmark": benchmark, "resize": p.resize, "crop": p.crop, "normalisation": p.normalisation,
                "input_size": p.input_size, "augmentation": p.augmentation, "transform": transform_repr(p.transform),
                "protocol_source": p.source}

    def preprocessing(self, split: str, benchmark: str | None, augment: Mapping | None) -> Preprocessing:
        """The pipeline of ``split`` (already resolved) with its settings in words; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} does not define preprocessing(split, benchmark, augment)")

    def summary(self) -> str:
        """One line saying what this model is (stand-ins say so)."""
        return f"{self.name}: {self.paper}" if self.paper else type(self).__name__

    def _resolve(self, split, benchmark, augment, train) -> tuple[str, str | None, Mapping | None]:
        split = resolve_split(split, train)
        if benchmark is not None:
            if split != "test":
                raise ValueError(f"benchmark={benchmark!r} selects test settings; it does not apply to split {split!r}")
            if self.test_settings and benchmark not in self.test_settings:
                raise KeyError(f"{self.name or type(self).__name__} has no test settings for benchmark {benchmark!r}; "
                               f"known: {', '.join(self.test_settings)}")
        if augment is not None and split == "test":
            raise ValueError("augment applies to the train and val pipelines, not to the test pipeline")
        return split, benchmark, augment

    @contextlib.contextmanager
    def evaluating(self, split: str = "test"):
        """Within the block, ``forward`` in eval mode follows the official ``split`` pipeline ("val" or "test").

        Only a detector whose pipeline continues inside ``forward`` changes anything (LGrad
        centre-crops the gradient map in validation); the trainer validates under
        ``evaluating("val")``.
        """
        resolve_split(split)
        yield self

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The representation fed to the final classifier (optional)."""
        raise NotImplementedError(f"{type(self).__name__} does not expose features(x)")

    @classmethod
    def convert_state_dict(cls, sd: Mapping[str, torch.Tensor]) -> Mapping[str, torch.Tensor]:
        """Map an official checkpoint's keys onto this module's; identity by default."""
        return sd

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Fake probability per image: ``sigmoid(forward(x))`` (CNNDetection ``validate.py``)."""
        return torch.sigmoid(self(x).reshape(-1))

    def extra_repr(self) -> str:
        return f"name={self.name!r}, paper={self.paper!r}, recipe={self.recipe!r}" if self.name else ""


def register(name: str, *, aliases: tuple[str, ...] = ()):
    """Class decorator: ``@register("npr") class NPR(Detector): ...`` makes ``build("npr")`` work.

    ``aliases`` are other names ``build``/``get`` accept for it; ``available()`` lists ``name``.
    """

    def deco(cls):
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise TypeError(f"@register({name!r}) expects an nn.Module subclass, got {cls!r}")
        old = _REGISTRY.get(name)
        if old is not None and old.__qualname__ != cls.__qualname__:
            raise ValueError(f"detector name {name!r} is already registered by {old.__module__}.{old.__qualname__}")
        if not getattr(cls, "name", None):
            cls.name = name
        _REGISTRY[name] = cls
        for alias in aliases:
            ALIASES[alias] = name
        return cls

    return deco


def canonical(name: str) -> str:
    """The registry name for ``name`` or one of its aliases: ``canonical("ufd") == "univfd"``."""
    return ALIASES.get(name, name)


def _import_builtin(name: str) -> None:
    """Import ``dfdlab.detectors.<name>``; a module that is absent is simply not available."""
    try:
        importlib.import_module(f"dfdlab.detectors.{name}")
    except ModuleNotFoundError as e:
        # Only swallow "this built-in is not written yet", never a missing dependency inside it.
        if e.name != f"dfdlab.detectors.{name}":
            raise


def available() -> list[str]:
    """Names ``build`` accepts (aliases aside): the built-ins that import, plus anything registered."""
    for mod in BUILTINS:
        try:
            _import_builtin(mod)
        except Exception as e:  # noqa: BLE001 - a broken paper module must not hide the others
            warnings.warn(f"dfdlab.detectors.{mod} failed to import: {type(e).__name__}: {e}", stacklevel=2)
    return sorted(_REGISTRY)


def get(name: str) -> type[Detector]:
    """The registered class for ``name`` or an alias of it (imports its built-in module on first use)."""
    name = canonical(name)
    if name not in _REGISTRY and name in BUILTINS:
        _import_builtin(name)
    if name not in _REGISTRY:
        known = ", ".join(available()) or "none"
        raise KeyError(f"unknown detector {name!r}; available: {known}")
    return _REGISTRY[name]


def build(name: str, **kwargs) -> Detector:
    """Instantiate a registered detector: ``build("cnndetection", pretrained=False)`` (or ``build("cnnspot")``)."""
    return get(name)(**kwargs)
