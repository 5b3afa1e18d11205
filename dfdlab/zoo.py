"""The quick model zoo: every method's quick model, trained once on the mini benchmark, cached, shared.

The one place lessons (07, the demo widget) get a method's quick model from:
``train_quick(name)`` trains it (or loads it from ``DFDLAB_HOME/zoo/quick/<name>``),
``load_quick(name)`` only loads, ``quick_info(name)`` reads what was recorded when it was
trained (settings, seconds, checkpoint sha256, hardware), ``evaluate_quick(name, test_sets)`` scores it
once per set of test images and keeps the scores beside its weights.

Every detector is trained the same way: on the mini benchmark's one training family
(``train/photos``: reals and ``ae_nearest_f4`` re-syntheses, the role ProGAN plays in the papers)
with its paper's recipe and train pipeline
(``model.transform("train", augment=recipe.augmentation())``) at the mini size, selected on
``val`` seen through its test pipeline, keeping the best validation epoch. Epochs, batch size,
image size, the initial weights (``init``: no ImageNet ResNet-50 offline) and that selection
differ from the papers' settings (``QUICK_ZOO``); ``dfdlab train`` runs the official recipes.
A detector plugin (``dfdlab.plugins``) brings its own entry (its class's ``quick_zoo``).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from . import detectors, plugins
from .config import home
from .data import ForenSynths, build_mini
from .data.mini_generators import STYLEGAN_D_WEIGHTS, load_stylegan_d
from .evaluate import THRESHOLD, evaluate, scores_table
from .features import LinearProbe, extract_features
from .files import atomic_torch_save, atomic_write_text, cache_lock, sha256sum
from .gan import load_pair
from .health import hardware
from .runtime import seed_everything
from .train import _rng_state, _set_rng_state, epoch_file, fit, recipe

#: Detector name -> its quick-profile settings. ``build``: the detector's keyword arguments;
#: ``epochs``/``batch_size`` override the recipe (the only change from the paper's settings);
#: ``features=True``: a frozen backbone, so the head is trained on cached features (UnivFD);
#: ``discriminator="mini:<gen>"``: that mini GAN's discriminator (LGrad's stand-in D);
#: ``every_epoch=True``: every epoch's weights are kept too (``load_quick(name, epoch=e)``);
#: ``init``: the initial weights, stated (the official CNNDetection/LGrad trainers start from the
#: ImageNet ResNet-50, which is not available offline); ``detector``: the registered detector when
#: the entry is a variant of one (e.g. an ablation, trained exactly as that detector's entry).
QUICK_ZOO: dict[str, dict] = {
    "cnndetection": {"build": {"load_size": 64, "crop_size": 56}, "epochs": 2, "batch_size": 64, "seed": 0,
                     "init": "random", "note": "ResNet-50 from scratch (no ImageNet weights offline)"},
    "univfd": {"build": {"backbone": "efficientnet_lite0", "crop_size": 64}, "epochs": 100, "batch_size": 256,
               "seed": 0, "features": True, "init": "frozen EfficientNet-Lite0 (ImageNet, bundled)",
               "note": "STAND-IN backbone: EfficientNet-Lite0 (ImageNet) instead of CLIP ViT-L/14"},
    # Lesson 04's ablation: univfd's backbone, trained end to end with CNNDetection's epochs and batch size.
    "univfd_finetuned": {"detector": "univfd", "build": {"backbone": "efficientnet_lite0", "crop_size": 64,
                                                         "load_size": 64, "freeze_backbone": False},
                         "epochs": 2, "batch_size": 64, "seed": 0,
                         "init": "EfficientNet-Lite0 (ImageNet, bundled), fine-tuned end to end",
                         "note": "ABLATION: univfd's stand-in backbone fine-tuned end to end instead of frozen"},
    # every_epoch: each epoch's weights kept beside best.pth (lesson 08: selecting on validation vs on test).
    "npr": {"build": {"load_size": 64, "crop_size": 56}, "epochs": 4, "batch_size": 32, "seed": 100,
            "init": "random", "every_epoch": True,
            "note": "the official NPR network, trained from scratch as in the paper"},
    # Lesson 05's ablation: the same network and training on the RGB image instead of the NPR residual.
    "npr_rgb": {"detector": "npr", "build": {"load_size": 64, "crop_size": 56, "representation": "rgb"}, "epochs": 4,
                "batch_size": 32, "seed": 100, "init": "random",
                "note": "ABLATION: NPR's network on the RGB image instead of the NPR residual"},
    # LGrad's ResNet-50 from scratch does not learn the training family in a CPU budget (lesson 06 shows the
    # gradient maps carry the information): an ImageNet CNN that ships offline stands in for the ImageNet ResNet-50.
    # method "loop": one image per call, the official way; at 64 px a batched conv rounds a few values differently
    # (7 of 786k by one level on 64 images) and is no faster on a CPU.
    # upscale 2 (not official): the 64 px map enlarged 2x by nearest neighbour, so the classifier's stride-2 stem
    # does not halve it before any non-linearity (the linear spectrum probe reads AP 0.94 off these maps on the test
    # photos; the classifier without it 0.73-0.75 on seeds 0-1, with it 0.83-0.90 on seeds 0-3).
    "lgrad": {"build": {"image_size": 64, "crop_size": 56, "classifier": "efficientnet_lite0", "pretrained": True,
                        "method": "loop", "upscale": 2},
              "discriminator": "mini_stylegan_d", "gradient_cache": True, "epochs": 8, "batch_size": 16,
              "seed": 0, "init": "imagenet (the bundled EfficientNet-Lite0)",
              "note": "STAND-IN transformation model: a StyleGAN-architecture D (64 px, fewer feature maps) trained "
                      "on the mini train photos against the mini DCGAN (not the StyleGAN bedroom D); "
                      "STAND-IN classifier: EfficientNet-Lite0 (ImageNet) fine-tuned, not the ImageNet ResNet-50, on the "
                      "map enlarged 2x (nearest; not official)"},
}

def _zoo_kwargs(cfg: dict, root: Path) -> dict:
    """The detector's keyword arguments: ``"mini:<gen>"`` resolved to that mini GAN's discriminator,
    ``"mini_stylegan_d"`` to the shipped StyleGAN D (``dfdlab.data.mini_generators.load_stylegan_d``);
    ``gradient_cache``: LGrad's maps cached under ``DFDLAB_HOME/cache/lgrad`` (computed once, not per epoch)."""
    kw = dict(cfg["build"])
    d = cfg.get("discriminator")
    if d == "mini_stylegan_d":
        kw["discriminator"] = load_stylegan_d()
    elif isinstance(d, str) and d.startswith("mini:"):
        kw["discriminator"] = load_pair(Path(root) / "models" / f"{d[5:]}.pth")[1]
    elif d is not None:
        kw["discriminator"] = d
    if cfg.get("gradient_cache"):
        kw["cache_dir"] = home() / "cache" / "lgrad"
    return kw


def discriminator(name: str = "lgrad", root: str | os.PathLike | None = None):
    """The transformation model of the zoo's LGrad entry ``name`` (for lesson 06's maps and its random-D ablation)."""
    return _zoo_kwargs(QUICK_ZOO[_entry(name)], Path(root) if root is not None else build_mini())["discriminator"]


def _entry(name: str) -> str:
    """The zoo entry of ``name``: an entry of :data:`QUICK_ZOO` as written, else the canonical detector name.

    A detector plugin's ``quick_zoo`` (``dfdlab.plugins``) joins :data:`QUICK_ZOO` when the plugin loads;
    ``DFDLAB_PLUGINS``' plugins are loaded here when ``name`` is not a known entry.
    """
    if name not in QUICK_ZOO:
        plugins.load_env_plugins()
    return name if name in QUICK_ZOO else detectors.canonical(name)


def zoo_dir() -> Path:
    """``DFDLAB_HOME/zoo/quick``: the quick zoo's checkpoints (``<name>/best.pth`` + ``<name>/info.json``)."""
    return home() / "zoo" / "quick"


def _mini_tag(root: str | os.PathLike | None) -> str:
    """``""`` for the default mini benchmark (``build_mini()``), ``"@mini-<config hash>"`` for another build,
    ``"@data-<hash of the folder's path>"`` for a folder that is not a mini benchmark (e.g. a replica)."""
    if root is None:
        return ""
    from .data.mini import build_info, config_hash, is_complete, mini_config

    if not is_complete(Path(root)):
        return "@data-" + hashlib.sha256(str(Path(root).resolve()).encode()).hexdigest()[:10]
    key = build_info(root).get("config_hash")
    return "" if key == config_hash(mini_config()) else f"@mini-{key}"


def _folder(name: str, seed: int | None = None, root: str | os.PathLike | None = None) -> Path:
    """``zoo_dir()/<name>``; a seed other than the entry's own adds ``@seed<seed>``, a mini benchmark other than
    the default build adds ``@mini-<its config hash>``: each run is kept beside the others, none overwrites another."""
    tag = "" if seed is None or int(seed) == QUICK_ZOO.get(name, {}).get("seed") else f"@seed{int(seed)}"
    return zoo_dir() / f"{name}{tag}{_mini_tag(root)}"


def quick_info(name: str, seed: int | None = None, root: str | os.PathLike | None = None) -> dict | None:
    """The cached quick checkpoint's record (build kwargs, epochs, seconds, sha256), or ``None``.

    ``seed``: the run of that training seed (``train_quick(name, seed=...)``); default: the entry's own.
    ``root``: the mini benchmark it was trained on (default: the default build).
    """
    folder = _folder(_entry(name), seed, root)
    if not (folder / "info.json").exists() or not (folder / "best.pth").exists():
        return None
    return json.loads((folder / "info.json").read_text())


def load_quick(name: str, seed: int | None = None, root: str | os.PathLike | None = None,
               epoch: int | None = None):
    """The quick-profile detector ``name`` trained on the mini benchmark ``root`` (default: the default build),
    from the cache; ``None`` if not trained.

    ``epoch``: the weights after that epoch (0-based, as ``info["history"]``) instead of the kept
    ones, for an entry trained with ``every_epoch`` (``quick_info(name)["history"]`` lists them).
    """
    name = _entry(name)
    rec = quick_info(name, seed, root)
    if rec is None:
        return None
    weights = _folder(name, seed, root) / ("best.pth" if epoch is None else f"epochs/{epoch_file(int(epoch))}")
    if not weights.is_file():
        raise FileNotFoundError(f"{weights}: the quick zoo's {name!r} has no weights for epoch {epoch} "
                                f"(entries with every_epoch keep each epoch; see quick_info({name!r})['history'])")
    entry = QUICK_ZOO.get(name, {})
    # The record holds the settings that decide the weights; the map cache (which changes none) is the entry's.
    model = detectors.build(entry.get("detector", name),
                            **_zoo_kwargs({**rec, "gradient_cache": entry.get("gradient_cache")},
                                          Path(rec.get("mini_root", "."))))
    detectors.load_checkpoint(model, weights)
    return model.eval()


def train_quick(name: str, root: str | os.PathLike | None = None, force: bool = False, progress: bool = False,
                seed: int | None = None):
    """Train detector ``name`` on the mini benchmark with ``QUICK_ZOO[name]`` (or load it from the cache).

    Returns ``(model, info)``; ``info`` holds the settings, the training seconds (measured
    when it was trained), the checkpoint's sha256 and whether it came from the cache. The
    cache key is the settings plus the mini benchmark's folder (a rebuilt benchmark with
    another config lands in another folder, and retrains).

    Selection scores ``val`` through the detector's deterministic test pipeline, not the
    official validation pipeline (``transform("val")``, with CNNDetection's random blur/JPEG)
    that ``dfdlab train`` uses: on the mini benchmark's 2-4 epochs that choice moves the
    lessons' numbers by more than the differences they discuss, and the zoo's checkpoints
    stay those the lessons were written with.

    ``seed`` replaces ``QUICK_ZOO[name]["seed"]`` (``benchmarks/quick_claims.py`` sweeps it, each
    seed under its own ``DFDLAB_HOME``); it is part of the cache key, and a seed other than the entry's
    own is cached beside it (``zoo_dir()/<name>@seed<seed>``, lesson 09's seed sweep), so the entry's
    own checkpoint, the one lessons 07 and 09 share, stays a cache hit. So is a model of another mini
    benchmark (``@mini-<config hash>``, e.g. lesson 08's JPEG-reals variant).
    """
    name = _entry(name)
    if name not in QUICK_ZOO:
        raise KeyError(f"no quick-zoo settings for {name!r}; known: {', '.join(QUICK_ZOO)}")
    cfg = QUICK_ZOO[name] if seed is None else {**QUICK_ZOO[name], "seed": int(seed)}
    root = Path(root) if root is not None else build_mini()
    want = {"build": cfg["build"], "discriminator": cfg.get("discriminator"), "epochs": cfg["epochs"],
            "batch_size": cfg["batch_size"], "seed": cfg["seed"], "mini_root": str(root)}
    if cfg.get("discriminator") == "mini_stylegan_d":  # retrained weights of the shipped D retrain the entry
        want["discriminator_sha256"] = sha256sum(STYLEGAN_D_WEIGHTS)
    if cfg.get("plugin_sha256"):  # a plugin's entry: an edit of its file retrains
        want["plugin_sha256"] = cfg["plugin_sha256"]
    if cfg.get("every_epoch"):  # an entry cached without its epochs retrains once to keep them
        want["every_epoch"] = True
    out = _folder(name, cfg["seed"], root)
    with cache_lock(out):  # a second process (another lesson, a parallel test worker) waits, then loads it
        return _train_locked(name, cfg, root, out, want, force, progress)


def _train_locked(name: str, cfg: dict, root: Path, out: Path, want: dict, force: bool, progress: bool):
    """:func:`train_quick` under its cache lock: load the entry if its settings match, else train it."""
    rec = quick_info(name, cfg["seed"], root)
    if rec is not None and not force and all(rec.get(k) == v for k, v in want.items()):
        return load_quick(name, cfg["seed"], root), {**rec, "from_cache": True}
    if out.exists():
        shutil.rmtree(out)
    seed_everything(cfg["seed"])  # before building: the initial weights are part of the run
    model = detectors.build(cfg.get("detector", name), **_zoo_kwargs(cfg, root))
    r = recipe(model.recipe, epochs=cfg["epochs"], batch_size=cfg["batch_size"], seed=cfg["seed"])
    t0 = time.perf_counter()
    if cfg.get("features"):
        # A frozen backbone: features of the deterministic test pipeline, cached once, then the head.
        # A feature-cache miss draws DataLoader seeds from the global RNGs; restoring them keeps the
        # head's init the same whether the cache was warm or cold (else the checkpoint depends on
        # which lesson or test ran first).
        rng = _rng_state()
        train_fs = extract_features(model, ForenSynths(root / "train"), progress=progress)
        val_fs = extract_features(model, ForenSynths(root / "val"), progress=progress)
        _set_rng_state(rng)
        result = fit(LinearProbe(model.feature_dim), train_fs.dataset(), val_fs.dataset(), r, out / "run",
                     progress=progress, keep="best", val_pipeline="test")
    else:
        train_set = ForenSynths(root / "train", transform=model.transform("train", augment=r.augmentation()))
        val_set = ForenSynths(root / "val", transform=model.transform("test"))
        result = fit(model, train_set, val_set, r, out / "run", progress=progress, keep="best", val_pipeline="test",
                     every_epoch=bool(cfg.get("every_epoch")))
    detectors.load_checkpoint(model, result.best_path)  # a LinearProbe's {'fc.weight', 'fc.bias'} fits UnivFD
    seconds = time.perf_counter() - t0
    for e in result.history["epoch"] if cfg.get("every_epoch") else ():
        snap = torch.load(out / "run" / epoch_file(int(e)), map_location="cpu", weights_only=True)
        atomic_torch_save(snap["model"], out / "epochs" / epoch_file(int(e)))
    best = atomic_torch_save(model.state_dict(), out / "best.pth")
    info = {**want, "recipe": r.name, "init": cfg["init"], "keep": result.keep, "val_pipeline": "test",
            "train_seconds": round(seconds, 1), "best_epoch": result.best_epoch,
            "epochs_run": len(result.history), "checkpoint_sha256": sha256sum(best), "note": cfg.get("note", ""),
            "history": result.history[["epoch", "val_acc", "val_ap"]].to_dict("records"),
            "hardware": hardware(), "trained_at": datetime.datetime.now().isoformat(timespec="seconds")}
    atomic_write_text(out / "info.json", json.dumps(info, indent=2))
    shutil.rmtree(out / "run", ignore_errors=True)  # best.pth above is all the zoo keeps
    return model.eval(), {**info, "from_cache": False}


def evaluate_quick(name: str, test_sets: dict, seed: int | None = None, root: str | os.PathLike | None = None,
                   model=None, batch_size: int = 64, threshold: float = THRESHOLD):
    """``evaluate()``'s table of the quick model ``name`` on ``test_sets``, scored once and kept beside its weights.

    Lessons 07 and 09 score the same zoo models on the same mini test images (100 real + 100
    fake per generator, seed 0); the second one, and every rerun, reads the scores back instead
    of running the models again. They are stored in ``<the model's zoo folder>/scores/<key>.json``
    (atomic; a retrained model's folder starts empty), keyed by the checkpoint's sha256, the
    transformation model's (LGrad), the test pipeline (``model.describe("test")``), the
    threshold and every test image's path and label. The table is rebuilt from the stored
    scores by ``evaluate.scores_table``, the function ``evaluate`` makes its own table with, so
    it equals a computed one. A set with unreadable images is not stored (its skip is reported
    on every run). ``model``: the one ``train_quick``/``load_quick`` returned for this name,
    seed and root (else it is loaded). ``.attrs``: ``from_cache``, ``seconds`` (scoring time
    when computed) and ``hardware`` (where).
    """
    name = _entry(name)
    rec = quick_info(name, seed, root)
    if rec is None:
        raise FileNotFoundError(f"the quick zoo has no {name!r} (seed {seed}) on the mini benchmark {root}: "
                                f"train it first with dfdlab.zoo.train_quick({name!r}, root, seed={seed})")
    model = model if model is not None else load_quick(name, seed, root)
    key = hashlib.sha256(json.dumps({
        "checkpoint_sha256": rec["checkpoint_sha256"], "discriminator_sha256": rec.get("discriminator_sha256"),
        "pipeline": model.describe("test"), "threshold": threshold,
        "images": {str(g): [[str(p), int(y)] for p, y in ds.samples] for g, ds in test_sets.items()},
    }, sort_keys=True, default=str).encode()).hexdigest()[:16]
    path = _folder(name, seed, root) / "scores" / f"{key}.json"
    if path.is_file():
        try:
            rec_scores = json.loads(path.read_text())
            scores = {g: (np.asarray(v["y_true"], dtype=int), np.asarray(v["y_score"], dtype=np.float64))
                      for g, v in rec_scores["scores"].items()}
            table = scores_table(scores, threshold=threshold)
            table.attrs.update(precision=rec_scores["precision"], from_cache=True, seconds=rec_scores["seconds"],
                               hardware=rec_scores["hardware"])
            return table
        except (ValueError, KeyError, TypeError) as e:  # a damaged file is scored again and overwritten
            warnings.warn(f"{path}: stored scores unreadable ({type(e).__name__}: {e}); scoring {name!r} again",
                          stacklevel=2)
    t0 = time.perf_counter()
    table = evaluate(model, test_sets, batch_size=batch_size, progress=False, threshold=threshold)
    seconds = round(time.perf_counter() - t0, 2)
    if not table.attrs["skipped"]:
        atomic_write_text(path, json.dumps({
            "precision": table.attrs["precision"], "seconds": seconds, "hardware": hardware(),
            "scores": {g: {"y_true": y.tolist(), "y_score": s.tolist()} for g, (y, s) in table.attrs["scores"].items()},
        }))
    table.attrs.update(from_cache=False, seconds=seconds, hardware=hardware())
    return table


def _add_plugin_entry(name: str, entry: dict) -> None:
    """A detector plugin's ``quick_zoo`` joins :data:`QUICK_ZOO` (``dfdlab.plugins.on_zoo_entry``)."""
    if name in QUICK_ZOO and not QUICK_ZOO[name].get("plugin_sha256"):
        raise ValueError(f"the quick zoo already has an entry {name!r}; choose another detector name")
    QUICK_ZOO[name] = entry


plugins.on_zoo_entry(_add_plugin_entry)

__all__ = ["QUICK_ZOO", "discriminator", "load_quick", "quick_info", "train_quick", "zoo_dir"]
