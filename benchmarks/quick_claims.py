"""Sweep the lessons' quick claims over training seeds and torch thread counts.

Each claim runs the same dfdlab functions its lesson calls, with the lesson's quick settings
(read from the lesson's settings cell), for every seed and thread count, and prints one line:
name, lesson, statistic, mean, sd, min, max, the lesson's assert threshold and the margin
(min - threshold; a claim holds when the margin is positive). The sweep is written as CSV
under ``benchmarks/results/`` with the machine, torch version and date; the lessons show it
beside their own run (``dfdlab.experiments.claim_sweep``).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/quick_claims.py --claims npr_jpeg95_cost --seeds 100,1,2 --threads 1,2

Each (seed, thread count) trains under its own ``DFDLAB_HOME`` (``--work``, the mini
benchmark linked in, never rebuilt), so no cached lesson or zoo checkpoint is reused.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import functools
import math
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd
import torch

import dfdlab
from dfdlab import experiments, zoo
from dfdlab.data import generator_sets
from dfdlab.detectors.univfd import NearestNeighbour, univfd_subset
from dfdlab.evaluate import evaluate, robustness
from dfdlab.features import extract_features
from dfdlab.files import atomic_write_text
from dfdlab.health import hardware

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def lesson_settings(lesson: str) -> dict:
    """The quick settings of ``notebooks/<lesson>.py``: the ``quick=`` dict of its ``dfdlab.settings(...)`` call."""
    tree = ast.parse((REPO / "notebooks" / f"{lesson}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "settings":
            for kw in node.keywords:
                if kw.arg == "quick":
                    return ast.literal_eval(kw.value)
    raise LookupError(f"notebooks/{lesson}.py has no dfdlab.settings(quick=...) call")


def mini_root() -> Path:
    """The mini benchmark of the current ``DFDLAB_HOME`` (built once; linked into each run's home)."""
    return dfdlab.data.build_mini(progress=False)


def train_and_unseen(root: Path, generators) -> tuple[str, list[str]]:
    """The mini benchmark's training generator and the others among ``generators`` (a table's index, "mean" dropped)."""
    train = dfdlab.data.read_manifest(root).query("split == 'train'")["generator"].iloc[0]
    return train, [g for g in generators if g not in ("mean", train)]


_CONTEXT = {"threads": 1, "work": Path("/tmp/dfdlab_quick_claims"), "mini": None}


def run_home(seed: int) -> Path:
    """A fresh ``DFDLAB_HOME`` for (seed, thread count), with the shared mini benchmark linked in."""
    home = _CONTEXT["work"] / f"t{_CONTEXT['threads']}_s{seed}"
    (home / "mini").mkdir(parents=True, exist_ok=True)
    link = home / "mini" / _CONTEXT["mini"].name
    if not link.exists():
        link.symlink_to(_CONTEXT["mini"])
    return home


class _Home:
    """``DFDLAB_HOME`` set to :func:`run_home` for the duration of a block."""

    def __init__(self, seed: int):
        self.seed, self.old = seed, None

    def __enter__(self) -> Path:
        self.old = os.environ.get("DFDLAB_HOME")
        home = run_home(self.seed)
        os.environ["DFDLAB_HOME"] = str(home)
        return home

    def __exit__(self, *exc) -> None:
        if self.old is None:
            os.environ.pop("DFDLAB_HOME", None)
        else:
            os.environ["DFDLAB_HOME"] = self.old


# ---------------------------------------------------------------- lesson 05: NPR
@functools.cache
def npr_lesson(seed: int, threads: int) -> dict:
    """Lesson 05's sections 6-8 for one NPR training seed: the zoo's NPR and RGB ablation, and the robustness grid."""
    cfg = lesson_settings("05_npr")
    with _Home(seed):
        root = mini_root()
        npr_model, _ = zoo.train_quick("npr", root, seed=seed)
        rgb_model, _ = zoo.train_quick("npr_rgb", root, seed=seed)
        npr_table = evaluate(npr_model, experiments.test_subsets(npr_model, root / "test", cfg["n_test"]),
                             progress=False)
        rgb_table = evaluate(rgb_model, experiments.test_subsets(rgb_model, root / "test", cfg["n_test"]),
                             progress=False)
        robust = experiments.npr_robustness(npr_model, root / "test", cfg["n_robust"])
    ap, ap_rgb = npr_table.set_index("generator")["ap"], rgb_table.set_index("generator")["ap"]
    train_gen, unseen = train_and_unseen(root, ap.index)
    return {"ap": ap, "ap_rgb": ap_rgb, "unseen": unseen, "train": train_gen,
            "mean_ap": experiments.mean_ap_by_condition(robust)}


def _05(seed: int) -> dict:
    return npr_lesson(seed, _CONTEXT["threads"])


def _jpeg_cost(q: int) -> Callable[[int], float]:
    def f(seed: int) -> float:
        m = _05(seed)["mean_ap"]
        return float(m["clean"] - m[f"JPEG {q}"])
    return f


def _blur_ap(s) -> Callable[[int], float]:
    return lambda seed: float(_05(seed)["mean_ap"][f"blur σ{s}"])


# ---------------------------------------------------------------- lesson 06: LGrad
@functools.cache
def lgrad_lesson(seed: int, threads: int) -> dict:
    """Lesson 06's sections 5-6 for one training seed: the zoo's LGrad (trained D) and the random-D ablation."""
    cfg = lesson_settings("06_lgrad")
    with _Home(seed) as home:
        root = mini_root()
        D = zoo.discriminator("lgrad", root)  # the quick zoo's transformation model
        trained, _ = zoo.train_quick("lgrad", root, seed=seed)
        random_d, _ = experiments.train_lgrad(
            experiments.random_discriminator(D, seed), root / "train", root / "val",
            home / "lessons" / "06_lgrad" / "random-D", **{**experiments.lgrad_zoo_kwargs(), "seed": seed},
            lr=cfg["lr"], train_per_class=cfg["train_per_class"], val_per_class=cfg["val_per_class"],
            cache_dir=dfdlab.home() / "cache" / "lgrad")
        ap = {tag: evaluate(m, experiments.test_subsets(m, root / "test", cfg["test_per_class"]), batch_size=64,
                            progress=False).set_index("generator")["ap"]
              for tag, m in (("trained", trained), ("random", random_d))}
    train_gen, unseen = train_and_unseen(root, ap["trained"].index)
    return {"ap": ap, "train": train_gen, "unseen": unseen}


def _06(seed: int) -> dict:
    return lgrad_lesson(seed, _CONTEXT["threads"])


def _lgrad_train_ap(tag: str) -> Callable[[int], float]:
    return lambda seed: float(_06(seed)["ap"][tag][_06(seed)["train"]])


def _lgrad_unseen_ap(tag: str) -> Callable[[int], float]:
    return lambda seed: float(_06(seed)["ap"][tag][_06(seed)["unseen"]].mean())


def _lgrad_trained_minus_random(seed: int) -> float:
    return _lgrad_unseen_ap("trained")(seed) - _lgrad_unseen_ap("random")(seed)


def _lgrad_zoo_train_ap(seed: int) -> float:
    r = zoo_tables(seed, _CONTEXT["threads"], names=("lgrad",))
    return float(r["tables"]["lgrad"]["table"].set_index("generator").loc[r["train"], "ap"])


# ---------------------------------------------------------------- lesson 04: UnivFD
#: Lesson 04's three detectors, as its tables label them: (a) frozen backbone + linear probe,
#: (b) the same backbone fine-tuned end to end, (c) CNNDetection's ResNet-50 from scratch.
UFD_MODELS = ("univfd", "univfd_finetuned", "cnndetection")


@functools.cache
def univfd_lesson(seed: int, threads: int) -> dict:
    """Lesson 04's sections 3-4 for one training seed: the zoo's (a), (b), (c) and the nearest neighbour."""
    cfg = lesson_settings("04_universal_fake_detect")
    with _Home(seed):
        root = mini_root()
        sets = {g: univfd_subset(ds, cfg["max_sample"], seed=0)[0] for g, ds in generator_sets(root / "test").items()}
        # the lesson's section 2 caches the features before the zoo trains the probe (a cache miss inside
        # train_quick draws DataLoader seeds from the global RNG, and so changes the probe's shuffling)
        frozen = dfdlab.detectors.build("univfd", **zoo.QUICK_ZOO["univfd"]["build"])
        for split in ("train", "val"):
            extract_features(frozen, dfdlab.data.ForenSynths(root / split), progress=False)
        ap = {}
        for name in UFD_MODELS:
            model, _ = zoo.train_quick(name, root, seed=seed)
            ap[name] = evaluate(model, sets, progress=False).set_index("generator")["ap"]
            if name == "univfd":  # the NN's bank: the frozen training features (no training, no seed)
                bank = extract_features(model, dfdlab.data.ForenSynths(root / "train"), progress=False)
                nn_bank = NearestNeighbour(bank.features, bank.labels, k=cfg["nn_k"])
                feats = {g: extract_features(model, ds, progress=False).dataset() for g, ds in sets.items()}
                ap["nn"] = evaluate(nn_bank, feats, progress=False).set_index("generator")["ap"]
    train_gen, unseen = train_and_unseen(root, ap["univfd"].index)
    return {"ap": ap, "train": train_gen, "unseen": unseen}


def _04(seed: int) -> dict:
    return univfd_lesson(seed, _CONTEXT["threads"])


def _ufd_unseen_ap(name: str) -> Callable[[int], float]:
    return lambda seed: float(_04(seed)["ap"][name][_04(seed)["unseen"]].mean())


def _ufd_train_ap(name: str) -> Callable[[int], float]:
    return lambda seed: float(_04(seed)["ap"][name][_04(seed)["train"]])


def _ufd_unseen_minus(a: str, b: str) -> Callable[[int], float]:
    return lambda seed: _ufd_unseen_ap(a)(seed) - _ufd_unseen_ap(b)(seed)


# ---------------------------------------------------------------- lesson 07: the quick zoo
@functools.cache
def zoo_tables(seed: int, threads: int, names: tuple = ("npr", "cnndetection")) -> dict:
    """Lesson 07's Table-1 cell for the zoo's ``names`` trained with ``seed``: {name: evaluate table}."""
    cfg = lesson_settings("07_benchmark")
    with _Home(seed):
        root = mini_root()
        sets = {g: univfd_subset(ds, cfg["test_per_class"], seed=0)[0]
                for g, ds in generator_sets(root / "test").items()}
        robust_sets = {g: univfd_subset(ds, cfg["robust_per_class"], seed=0)[0]
                       for g, ds in generator_sets(root / "test").items()}
        out = {}
        for name in names:
            model, _ = zoo.train_quick(name, root, seed=seed)
            table = evaluate(model, sets, batch_size=cfg["eval_batch"], progress=False)
            jpeg30 = robustness(model, robust_sets, {"clean": dfdlab.data.transforms.Identity(),
                                                     "JPEG 30": lambda im: dfdlab.data.transforms.jpeg(im, 30)},
                                batch_size=cfg["eval_batch"], progress=False)
            out[name] = {"table": table, "mean_ap": experiments.mean_ap_by_condition(jpeg30)}
    return {"tables": out, "train": train_and_unseen(root, [])[0]}


def _07(seed: int) -> dict:
    return zoo_tables(seed, _CONTEXT["threads"])


def _unseen(t: pd.DataFrame, train: str, col: str = "ap") -> float:
    return float(t[~t["generator"].isin([train, "mean"])][col].mean())


def _train_ap(name: str) -> Callable[[int], float]:
    def f(seed: int) -> float:
        r = _07(seed)
        return float(r["tables"][name]["table"].set_index("generator").loc[r["train"], "ap"])
    return f


def _npr_minus_cnndetection(col: str) -> Callable[[int], float]:
    def f(seed: int) -> float:
        r = _07(seed)
        t = r["tables"]
        return _unseen(t["npr"]["table"], r["train"], col) - _unseen(t["cnndetection"]["table"], r["train"], col)
    return f


def _npr_jpeg30_drop(seed: int) -> float:
    m = _07(seed)["tables"]["npr"]["mean_ap"]
    return float(m["clean"] - m["JPEG 30"])


# ---------------------------------------------------------------- lesson 01: the mini benchmark
@functools.cache
def mini_lesson(seed: int, threads: int) -> dict:
    """Lesson 01's sections 5-6 for one mini build seed: the shortcut probe and the spectral one-number AP.

    The seed is the mini benchmark's build seed (which crops are drawn, the GAN's latents); the
    generators are the shipped ones. Seed 0 is the lessons' own build (linked into the run's home).
    """
    import numpy as np
    from sklearn.metrics import average_precision_score

    from dfdlab.data.shortcuts import shortcut_probe
    from dfdlab.viz import frequency

    with _Home(seed):
        root = dfdlab.data.build_mini(seed=seed, progress=False)
        probe = shortcut_probe(root).set_index("generator")["ap"]
        spectral = {}
        for gen in generator_sets(root / "test"):
            r_real = frequency.upsampling_energy_ratio(frequency.as_tensor(root / "test" / gen / "0_real"))
            r_fake = frequency.upsampling_energy_ratio(frequency.as_tensor(root / "test" / gen / "1_fake"))
            y = np.r_[np.zeros(len(r_real)), np.ones(len(r_fake))]
            spectral[gen] = float(average_precision_score(y, np.r_[r_real, r_fake]))
    return {"probe_worst": float(probe.iloc[-2]), "probe_mean": float(probe["mean"]), "spectral": spectral}


def _01(seed: int) -> dict:
    return mini_lesson(seed, _CONTEXT["threads"])


def _spectral_ap(gen: str) -> Callable[[int], float]:
    return lambda seed: _01(seed)["spectral"][gen]


# ---------------------------------------------------------------- lesson 08: shortcuts (format, resize, threshold)
@functools.cache
def shortcuts_lesson(seed: int, threads: int) -> dict:
    """Lesson 08 for one training seed: NPR on JPEG reals vs the zoo's NPR; resize; threshold."""
    from dfdlab.evaluate import evaluate, predict

    cfg = lesson_settings("08_shortcuts")
    jroot = dfdlab.data.build_mini(jpeg_reals=cfg["jpeg_quality"], progress=False)  # shared, like the default mini
    with _Home(seed):
        root = mini_root()
        png_model, _ = zoo.train_quick("npr", root, seed=seed)
        jpeg_model, _ = zoo.train_quick("npr", jroot, seed=seed)  # lesson 08: the entry on the variant
        out = {}
        for tag, m in (("jpeg_reals", jpeg_model), ("png", png_model)):
            sets = experiments.test_subsets(m, root / "test", cfg["n_test"])
            out[tag] = experiments.format_tables(experiments.format_conditions(m, sets, cfg["jpeg_quality"]))
        sets = experiments.test_subsets(png_model, root / "test", cfg["n_test"])
        resized = robustness(png_model, sets, {f"×{f}": functools.partial(experiments.resize_by, factor=f)
                                               for f in (cfg["resize_up"], cfg["resize_down"])}, progress=False)
        val = predict(png_model, dfdlab.data.ForenSynths(root / "val", transform=png_model.transform("test")),
                      progress=False)
        t_val = experiments.val_threshold(val.y_true, val.y_score)
        at_val = evaluate(png_model, sets, threshold=t_val, progress=False)
    train_gen, unseen = train_and_unseen(root, list(out["png"]["tables"]["both PNG"].index))
    return {"out": out, "resized": resized, "at_val": at_val.set_index("generator"), "t_val": t_val,
            "train": train_gen, "unseen": unseen}


def _08(seed: int) -> dict:
    return shortcuts_lesson(seed, _CONTEXT["threads"])


def _fmt(model: str, test: str, col: str = "ap", where: str = "unseen") -> Callable[[int], float]:
    def f(seed: int) -> float:
        r = _08(seed)
        t = r["out"][model]["tables"][test][col]
        return float(t[r["train"]] if where == "train" else t[r["unseen"]].mean())
    return f


def _fmt_inflation(model: str) -> Callable[[int], float]:
    return lambda seed: _fmt(model, "confounded")(seed) - _fmt(model, "both PNG")(seed)


def _resized(factor, where: str = "train") -> Callable[[int], float]:
    def f(seed: int) -> float:
        r = _08(seed)
        t = r["resized"][r["resized"]["condition"] == f"×{factor}"].set_index("generator")["ap"]
        return float(t[r["train"]] if where == "train" else t[r["unseen"]].mean())
    return f


def _threshold(stat: str) -> Callable[[int], float]:
    def f(seed: int) -> float:
        r = _08(seed)
        clean = r["out"]["png"]["tables"]["both PNG"].loc[r["unseen"]]
        return float({"oracle - 0.5": clean["acc_oracle"] - clean["acc"],
                      "r_acc - f_acc": clean["r_acc"] - clean["f_acc"],
                      "val - 0.5": r["at_val"].loc[r["unseen"], "acc"] - clean["acc"]}[stat].mean())
    return f


# ---------------------------------------------------------------- lesson 02: the Transformer and the ViT
@functools.cache
def attention_lesson(seed: int, threads: int) -> dict:
    """Lesson 02's section 7 for one training seed: the digit-reversal Transformer."""
    from dfdlab import attention, toydata

    cfg = lesson_settings("02_attention")
    src, tgt = toydata.reversal_dataset(cfg["seq_train"], seed=0)
    test_src, test_tgt = toydata.reversal_dataset(cfg["seq_test"], seed=1)
    torch.manual_seed(seed)
    model = attention.Transformer(len(toydata.SEQ_VOCAB), cfg["d_model"], cfg["seq_heads"], cfg["d_ff"],
                                  cfg["layers"], cfg["dropout"], max_len=16, pad=toydata.PAD)
    attention.train_seq2seq(model, src, tgt, steps=cfg["seq_steps"], warmup_steps=cfg["seq_warmup"],
                            label_smoothing=cfg["label_smoothing"], seed=seed, threads=threads, progress=False)
    seq = attention.sequence_accuracy(model, test_src, test_tgt, toydata.BOS)
    return {"reversal_sequence": seq["sequence"], "reversal_token": seq["token"]}


@functools.cache
def vit_lesson(seed: int, threads: int) -> float:
    """Lesson 02's section 9 for one training seed: the tiny ViT's test accuracy on the 4 shapes."""
    from dfdlab import attention, toydata

    cfg = lesson_settings("02_attention")
    x_train, y_train = toydata.shapes_dataset(cfg["n_train"], seed=0)
    x_test, y_test = toydata.shapes_dataset(cfg["n_test"], seed=1)
    torch.manual_seed(seed)
    vit = attention.TinyViT(image_size=32, patch=4, dim=cfg["width"], depth=cfg["depth"], heads=cfg["heads"],
                            num_classes=len(toydata.SHAPES))
    attention.train_classifier(vit, x_train, y_train, epochs=cfg["epochs"], lr=cfg["lr"], seed=seed, threads=threads)
    return attention.accuracy(vit, x_test, y_test)


# ---------------------------------------------------------------- lesson 03: the tiny CLIP
@functools.cache
def clip_lesson(seed: int, threads: int) -> dict:
    """Lesson 03's sections 7, 9 and 10 for one training seed of the tiny CLIP."""
    from dfdlab import toydata
    from dfdlab.clip import tiny

    cfg = lesson_settings("03_clip")
    model = tiny.train_tiny_clip(steps=cfg["steps"], lr=cfg["lr"], width=cfg["width"], depth=cfg["depth"],
                                 seed=seed, progress=False, threads=threads).model
    _, held = toydata.split_compositions()
    data = tiny.Shapes(held, cfg["test_per_composition"], seed=123)
    held_top1 = float((tiny.zero_shot(model, data.images, toydata.all_compositions()).numpy()
                       == [toydata.all_compositions().index(held[j]) for j in data.labels]).mean())
    prompts = tiny.prompt_accuracies(model, tiny.Shapes(toydata.all_compositions(), cfg["probe_test_per_composition"],
                                                        seed=321))
    probe = tiny.zero_shot_vs_probe(model, cfg["probe_shots"], cfg["probe_test_per_composition"], seed=0)
    return {"held_top1": held_top1, "prompts": prompts, "probe": probe}


def _02(seed: int) -> dict:
    return attention_lesson(seed, _CONTEXT["threads"])


def _03(seed: int) -> dict:
    return clip_lesson(seed, _CONTEXT["threads"])


# ---------------------------------------------------------------- lesson 09: our own detector as a plugin
@functools.cache
def improve_lesson(seed: int, threads: int) -> dict:
    """Lesson 09's sections 2-4 for one training seed: the template plugin and NPR, zoo budget, the lesson's test images."""
    import tempfile

    from dfdlab import detectors, plugins

    cfg = lesson_settings("09_improve")
    name = "npr_two_scale"  # lesson 09's NAME
    if name not in detectors.available():
        plugins.load_plugin(plugins.new_detector(name, Path(tempfile.mkdtemp(prefix="dfdlab_plugins_"))))
    with _Home(seed):
        root = mini_root()
        test_sets = {g: univfd_subset(ds, cfg["test_per_class"], seed=0)[0]
                     for g, ds in generator_sets(root / "test").items()}
        out = {}
        for n in (name, "npr"):
            model, _ = zoo.train_quick(n, root, seed=seed)
            ap = evaluate(model, test_sets, batch_size=64, progress=False).set_index("generator")["ap"]
            train_gen, unseen = train_and_unseen(root, ap.index)
            out[n] = {"train": float(ap[train_gen]), "unseen": float(ap[unseen].mean())}
    return out


def _09(seed: int) -> dict:
    return improve_lesson(seed, _CONTEXT["threads"])


# ---------------------------------------------------------------- the registry
@dataclass(frozen=True)
class Claim:
    """One lesson claim: ``fn(seed) -> statistic``; it holds on a run when statistic > threshold.

    ``above=False``: it holds when statistic < threshold (an upper bound, e.g. "near chance").
    ``threshold=None``: a statistic the lesson shows from the sweep but asserts nothing about
    (printed, not counted among the claims).
    """

    lesson: str
    statistic: str
    fn: Callable[[int], float]
    threshold: float | None
    above: bool = True

    def margin(self, values) -> float:
        """How far the worst run is from the threshold, on the right side when positive."""
        if self.threshold is None:
            return math.nan
        return min(values) - self.threshold if self.above else self.threshold - max(values)


#: name -> Claim. Thresholds are the lessons' asserts (keep them in step with the lesson).
CLAIMS: dict[str, Claim] = {
    "npr_fits_train_family": Claim("05", "NPR AP on its training generator", lambda s: float(
        _05(s)["ap"][_05(s)["train"]]), 0.95),
    # Shown, not asserted (the lesson asserted "AP >= 0.9 on most unseen generators" until seed 1 gave 1 of 5).
    "npr_unseen_ap90": Claim("05", "unseen generators with NPR AP >= 0.9 (count)", lambda s: float(
        (_05(s)["ap"][_05(s)["unseen"]] >= 0.9).sum()), None),
    "npr_unseen_mean_ap": Claim("05", "NPR mean AP on the unseen generators", lambda s: float(
        _05(s)["ap"][_05(s)["unseen"]].mean()), 0.65),
    "npr_beats_rgb": Claim("05", "mean unseen AP, NPR - RGB ablation", lambda s: float(
        _05(s)["ap"][_05(s)["unseen"]].mean() - _05(s)["ap_rgb"][_05(s)["unseen"]].mean()), 0.0),
    **{f"npr_jpeg{q}_cost": Claim("05", f"mean AP, clean - JPEG {q}", _jpeg_cost(q), 0.05)
       for q in experiments.JPEG_QUALITIES},
    "npr_blur1_ap": Claim("05", "mean AP under blur σ1", _blur_ap(1), None),
    **{f"npr_blur{s}_ap": Claim("05", f"mean AP under blur σ{s} (near chance)", _blur_ap(s), 0.65, above=False)
       for s in experiments.BLUR_SIGMAS if s >= 2},
    "ufd_lc_unseen_ap": Claim("04", "(a) frozen + linear probe: mean AP on the unseen generators",
                              _ufd_unseen_ap("univfd"), 0.6),
    "ufd_nn_unseen_ap": Claim("04", "nearest neighbour (frozen): mean AP on the unseen generators",
                              _ufd_unseen_ap("nn"), 0.6),
    "ufd_finetuned_unseen_ap": Claim("04", "(b) same backbone fine-tuned: mean AP on the unseen generators",
                                     _ufd_unseen_ap("univfd_finetuned"), None),
    "ufd_cnndetection_unseen_ap": Claim("04", "(c) CNNDetection from scratch: mean AP on the unseen generators",
                                        _ufd_unseen_ap("cnndetection"), None),
    **{f"ufd_{n}_train_ap": Claim("04", f"{tag} AP on its training generator", _ufd_train_ap(n), None)
       for n, tag in (("univfd", "(a)"), ("univfd_finetuned", "(b)"), ("cnndetection", "(c)"))},
    # v2: the frozen probe beats the fine-tuned backbone on every seed (the paper's direction; v1 had the reverse).
    "ufd_frozen_minus_finetuned": Claim("04", "mean unseen AP, (a) frozen - (b) fine-tuned",
                                        _ufd_unseen_minus("univfd", "univfd_finetuned"), 0.0),
    "ufd_frozen_minus_cnndetection": Claim("04", "mean unseen AP, (a) frozen - (c) CNNDetection from scratch",
                                           _ufd_unseen_minus("univfd", "cnndetection"), 0.1),
    "zoo_npr_train_ap": Claim("07", "quick-zoo NPR AP on its training generator", _train_ap("npr"), 0.9),
    "zoo_cnndetection_train_ap": Claim("07", "quick-zoo CNNDetection AP on its training generator",
                                       _train_ap("cnndetection"), None),  # near chance on v2: shown
    "zoo_npr_minus_cnndetection_ap": Claim("07", "mean unseen AP, NPR - CNNDetection",
                                           _npr_minus_cnndetection("ap"), 0.1),
    "zoo_npr_minus_cnndetection_acc": Claim("07", "mean unseen acc at 0.5, NPR - CNNDetection",
                                            _npr_minus_cnndetection("acc"), 0.04),
    "zoo_npr_jpeg30_drop": Claim("07", "NPR mean AP, clean - JPEG 30 (10 per class)", _npr_jpeg30_drop, 0.0),
    # v2, StyleGAN-architecture mini D, the map enlarged 2x for the classifier (lesson 06): LGrad learns its
    # training generator, part of it carries over, and a random D of the same architecture does about as well
    # (the difference is small and of either sign).
    "lgrad_train_ap": Claim("06", "LGrad (trained D) AP on its training generator", _lgrad_train_ap("trained"), 0.8),
    "lgrad_random_train_ap": Claim("06", "LGrad (random D) AP on its training generator", _lgrad_train_ap("random"),
                                   0.8),
    "lgrad_unseen_ap": Claim("06", "LGrad (trained D) mean AP on the unseen generators", _lgrad_unseen_ap("trained"),
                             0.65),
    "lgrad_trained_minus_random": Claim("06", "mean unseen AP, trained D - random D (upper bound)",
                                        _lgrad_trained_minus_random, 0.1, above=False),
    "zoo_lgrad_train_ap": Claim("07", "quick-zoo LGrad AP on its training generator", _lgrad_zoo_train_ap, None),
    "improve_train_ap": Claim("09", "our plugin detector (npr_two_scale): AP on its training generator",
                              lambda s: _09(s)["npr_two_scale"]["train"], 0.9),
    # Shown, not asserted: the lesson reports the paired difference in either direction.
    "improve_minus_npr_unseen_ap": Claim("09", "mean unseen AP, npr_two_scale - NPR (same seeds and budget)",
                                         lambda s: _09(s)["npr_two_scale"]["unseen"] - _09(s)["npr"]["unseen"], None),
    "transformer_reversal_seq_acc": Claim("02", "Transformer: share of reversed digit strings decoded exactly",
                                          lambda s: _02(s)["reversal_sequence"], 0.7),
    "transformer_reversal_token_acc": Claim("02", "Transformer: share of right tokens (greedy decoding)",
                                            lambda s: _02(s)["reversal_token"], None),
    "vit_shape_acc": Claim("02", "tiny ViT test accuracy on the 4 shapes",
                           lambda s: vit_lesson(s, _CONTEXT["threads"]), 0.65),
    "clip_heldout_top1": Claim("03", "tiny CLIP zero-shot top-1 on held-out compositions (80 captions)",
                               lambda s: _03(s)["held_top1"], 3 / 80),
    # Shown, not asserted: the prompt effects are a few images of 800 (the context gain changes sign).
    "clip_prompt_context_gain": Claim("03", "shape accuracy, single caption-shaped prompt (mean) - bare label",
                                      lambda s: _03(s)["prompts"]["single mean"] - _03(s)["prompts"]["bare"], None),
    "clip_ensemble_gain": Claim("03", "shape accuracy, 20-prompt ensemble - single prompt (mean)",
                                lambda s: _03(s)["prompts"]["ensemble"] - _03(s)["prompts"]["single mean"], None),
    "clip_zero_shot_minus_1shot": Claim("03", "80-way accuracy, zero-shot - 1-shot linear probe",
                                        lambda s: _03(s)["probe"]["zero-shot"]["clean"]
                                        - _03(s)["probe"]["probe"][1]["clean"], 0.02),
    # Shown, not asserted: seed 4 gave -0.009 (a 16-shot probe does not always beat zero-shot here).
    "clip_16shot_minus_zero_shot": Claim("03", "80-way accuracy, 16-shot linear probe - zero-shot",
                                         lambda s: _03(s)["probe"]["probe"][16]["clean"]
                                         - _03(s)["probe"]["zero-shot"]["clean"], None),
    "clip_zero_shot_noise_drop": Claim("03", "80-way zero-shot accuracy, clean - noisy images",
                                       lambda s: _03(s)["probe"]["zero-shot"]["clean"]
                                       - _03(s)["probe"]["zero-shot"]["noise"], None),
    "clip_probe_noise_drop": Claim("03", "80-way 16-shot probe accuracy, clean - noisy images",
                                   lambda s: _03(s)["probe"]["probe"][16]["clean"]
                                   - _03(s)["probe"]["probe"][16]["noise"], None),
    "clip_zero_shot_shifted": Claim("03", "80-way zero-shot accuracy on the bright, noisy background (near chance)",
                                    lambda s: _03(s)["probe"]["zero-shot"]["shifted"], 0.06, above=False),
    # lesson 01: the seed is the mini benchmark's build seed (build_mini(seed=s)), not a training seed
    "mini_probe_worst_ap": Claim("01", "shortcut probe: worst test-generator AP (upper bound)",
                                 lambda s: _01(s)["probe_worst"], 0.8, above=False),
    "mini_probe_mean_ap": Claim("01", "shortcut probe: mean AP over the test generators",
                                lambda s: _01(s)["probe_mean"], None),
    **{f"mini_spectral_ap_{g}": Claim("01", f"AP of the spectral one-number feature on {g}", _spectral_ap(g), 0.9)
       for g in ("dcgan_transposed", "ae_transposed_f4")},
    "mini_spectral_ap_min": Claim("01", "AP of the spectral one-number feature, weakest test generator (upper bound)",
                                  lambda s: min(_01(s)["spectral"].values()), 0.65, above=False),
    # lesson 08: NPR trained on the jpeg_reals variant (JPEG reals, PNG fakes) vs the zoo's NPR (PNG); resize; threshold
    "shortcut_format_only_ap": Claim("08", "NPR trained on JPEG reals: AP of PNG vs JPEG copies of the same reals",
                                     lambda s: _08(s)["out"]["jpeg_reals"]["format_only_ap"], 0.55),
    "shortcut_png_format_only_ap": Claim("08", "NPR trained on PNG: AP of PNG vs JPEG copies of the same reals",
                                         lambda s: _08(s)["out"]["png"]["format_only_ap"], None),
    "shortcut_inflation": Claim("08", "NPR trained on JPEG reals: mean unseen AP, confounded - both-PNG test",
                                _fmt_inflation("jpeg_reals"), 0.0),
    "shortcut_png_inflation": Claim("08", "NPR trained on PNG: mean unseen AP, confounded - both-PNG test",
                                    _fmt_inflation("png"), None),
    "shortcut_real_acc_drop": Claim("08", "NPR trained on JPEG reals: mean unseen r_acc, JPEG reals - PNG reals",
                                    lambda s: _fmt("jpeg_reals", "confounded", "r_acc")(s)
                                    - _fmt("jpeg_reals", "both PNG", "r_acc")(s), 0.03),
    "shortcut_train_ap_png": Claim("08", "NPR trained on JPEG reals: training-generator AP, both-PNG test",
                                   _fmt("jpeg_reals", "both PNG", where="train"), 0.9),
    "shortcut_both_jpeg_ap": Claim("08", "NPR trained on JPEG reals: mean unseen AP, both-JPEG test (upper bound)",
                                   _fmt("jpeg_reals", "both JPEG"), 0.7, above=False),
    "shortcut_png_both_jpeg_ap": Claim("08", "NPR trained on PNG: mean unseen AP, both-JPEG test",
                                       _fmt("png", "both JPEG"), None),
    # Shown, not asserted: seeds 100 and 1 lost only 0.010 and 0.011 of their training-generator AP to x1.5.
    # x0.75 is asserted as a direction only (> 0): seed 100 lost 0.026 (train) and 0.025 (unseen).
    "resize_up_train_drop": Claim("08", "zoo NPR: training-generator AP, clean - resized x1.5",
                                  lambda s: _fmt("png", "both PNG", where="train")(s) - _resized(1.5)(s), None),
    "resize_down_train_drop": Claim("08", "zoo NPR: training-generator AP, clean - resized x0.75",
                                    lambda s: _fmt("png", "both PNG", where="train")(s) - _resized(0.75)(s), 0.0),
    "resize_up_unseen_ap": Claim("08", "zoo NPR: mean unseen AP, resized x1.5", _resized(1.5, "unseen"), None),
    **{f"resize_{tag}_unseen_drop": Claim("08", f"zoo NPR: mean unseen AP, clean - resized x{f}",
                                          lambda s, f=f: _fmt("png", "both PNG")(s) - _resized(f, "unseen")(s), bound)
       for tag, f, bound in (("up", 1.5, None), ("down", 0.75, 0.0))},
    "threshold_real_minus_fake_acc": Claim("08", "zoo NPR at 0.5: mean unseen r_acc - f_acc",
                                           _threshold("r_acc - f_acc"), 0.3),
    "threshold_oracle_gain": Claim("08", "zoo NPR: mean unseen accuracy, oracle threshold - 0.5",
                                   _threshold("oracle - 0.5"), 0.02),
    "threshold_val_gain": Claim("08", "zoo NPR: mean unseen accuracy, validation threshold - 0.5",
                                _threshold("val - 0.5"), None),
}


def machine() -> str:
    hw = hardware()
    return hw if isinstance(hw, str) else "; ".join(f"{k}={v}" for k, v in dict(hw).items())


def committed_summary(names: list[str]) -> int:
    """The claims over the committed sweeps (``experiments.claim_sweep``: the CSVs under benchmarks/results of
    this mini benchmark, the newest value per seed and thread count), judged by today's thresholds."""
    table = experiments.claim_sweep(names).set_index("claim")
    print(f"{'claim':34s} {'lesson':6s} {'runs':>4s} {'seeds':>11s} {'thr':>4s} {'min':>8s} {'max':>8s} "
          f"{'assert':>8s} {'margin':>8s}  machine, newest date")
    margins, lessons = [], set()
    for name in names:
        if name not in table.index:
            print(f"{name:34s} no committed sweep")
            continue
        r, c = table.loc[name], CLAIMS[name]
        margin = c.margin([r["min"], r["max"]])
        if c.threshold is not None:
            margins.append(margin)
            lessons.add(c.lesson)
        bound = "   shown" if c.threshold is None else f"{'>' if c.above else '<'}{c.threshold:7.4f}"
        print(f"{name:34s} {c.lesson:6s} {r['runs']:4d} {r['seeds']:>11s} {r['threads']:>4s} {r['min']:8.4f} "
              f"{r['max']:8.4f} {bound} {margin:+8.4f}  {r['machine']}, {r['date']}")
    held = sum(m > 0 for m in margins)
    print(f"claims: {held} of {len(margins)} hold over the committed sweeps, lessons {', '.join(sorted(lessons))} "
          f"(smallest margin {min(margins, default=math.nan):+.4f})")
    return 0 if held == len(margins) else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--claims", default=",".join(CLAIMS), help="comma-separated claim names (default: all)")
    ap.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated training seeds")
    ap.add_argument("--threads", default="1,2", help="comma-separated torch thread counts")
    ap.add_argument("--work", default="/tmp/dfdlab_quick_claims", help="parent of the per-run DFDLAB_HOMEs")
    ap.add_argument("--out", default=None, help="CSV path (default: benchmarks/results/quick_claims_<date>.csv)")
    ap.add_argument("--list", action="store_true", help="list the claims and exit")
    ap.add_argument("--committed", action="store_true",
                    help="run nothing: the table and the claims line over the committed sweeps (benchmarks/results)")
    args = ap.parse_args(argv)
    if args.committed:
        return committed_summary([n for n in args.claims.split(",") if n])
    if args.list:
        for name, c in CLAIMS.items():
            bound = "(shown, not asserted)" if c.threshold is None else f"{'>' if c.above else '<'} {c.threshold}"
            print(f"{name:34s} lesson {c.lesson}  {c.statistic} {bound}")
        return 0
    names = [n for n in args.claims.split(",") if n]
    unknown = [n for n in names if n not in CLAIMS]
    if unknown:
        ap.error(f"unknown claims {unknown}; known: {', '.join(CLAIMS)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    threads = [int(t) for t in args.threads.split(",")]
    _CONTEXT["work"], _CONTEXT["mini"] = Path(args.work), mini_root()
    rows, t0 = [], time.time()
    for t in threads:
        torch.set_num_threads(t)
        _CONTEXT["threads"] = t
        for seed in seeds:
            for name in names:
                t1 = time.time()
                value = CLAIMS[name].fn(seed)
                rows.append({"claim": name, "lesson": CLAIMS[name].lesson, "statistic": CLAIMS[name].statistic,
                             "seed": seed, "threads": t, "value": value, "threshold": CLAIMS[name].threshold,
                             "above": CLAIMS[name].above,
                             "seconds": round(time.time() - t1, 1)})
                print(f"  {name} seed {seed} threads {t}: {value:.4f}", file=sys.stderr, flush=True)
    df = pd.DataFrame(rows)
    now = datetime.datetime.now()
    df["machine"], df["torch"], df["date"] = machine(), torch.__version__, now.isoformat(timespec="seconds")
    df["python"] = platform.python_version()
    df["mini"] = _CONTEXT["mini"].name  # the mini benchmark's config hash: lessons read only sweeps of the one they build
    out = Path(args.out) if args.out else RESULTS / f"quick_claims_{now:%Y%m%d-%H%M%S}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, df.to_csv(index=False))
    margins = []
    print(f"{'claim':34s} {'lesson':6s} {'mean':>8s} {'sd':>7s} {'min':>8s} {'max':>8s} {'assert':>8s} "
          f"{'margin':>8s}  statistic")
    for name in names:
        v = df.loc[df["claim"] == name, "value"].tolist()
        c = CLAIMS[name]
        margin = c.margin(v)
        if c.threshold is not None:
            margins.append(margin)
        sd = statistics.stdev(v) if len(v) > 1 else math.nan
        bound = "   shown" if c.threshold is None else f"{'>' if c.above else '<'}{c.threshold:7.4f}"
        print(f"{name:34s} {c.lesson:6s} {statistics.mean(v):8.4f} {sd:7.4f} {min(v):8.4f} {max(v):8.4f} "
              f"{bound} {margin:+8.4f}  {c.statistic}")
    held = sum(m > 0 for m in margins)
    print(f"wrote {out} ({time.time() - t0:.0f} s)")
    print(f"claims: {held} of {len(margins)} hold on {len(seeds)} seeds x threads {args.threads} "
          f"(smallest margin {min(margins, default=math.nan):+.4f})")
    return 0 if held == len(margins) else 1


if __name__ == "__main__":
    sys.exit(main())
