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
              Path(out_dir), progress=False, keep="best", val_pipeline="test")
    load_checkpoint(model, res.best_path)
    return model.eval(), res


def train_lgrad(discriminator: torch.nn.Module, train_root: str | os.PathLike, val_root: str | os.PathLike,
                out_dir: str | os.PathLike, image_size: int, crop_size: int, epochs: int, batch_size: int,
                seed: int = 0, classifier: str = "resnet50", pretrained: bool = False, lr: float = 5e-4,
                train_per_class: int | None = None, val_per_class: int | None = None,
                classes: Sequence[str] | None = None, cache_dir: str | os.PathLike | None = None,
                method: str = "batched", upscale: int = 1) -> tuple[torch.nn.Module, FitResult]:
    """LGrad's classifier on the gradients of ``discriminator``, trained as LGrad ``CNNDetection/train.py``.

    ``dfdlab.train.recipe("lgrad")`` (Adam, lr decayed x0.8 every 10 epochs, BCE) with
    ``epochs``/``batch_size``/``lr`` given; ``seed`` goes to ``seed_everything`` before the
    model is built (the official trainer has no seed). Train: RandomCrop + flip of the
    gradient map; validation (selection): the full map, as the test. ``classifier`` /
    ``pretrained``: :class:`dfdlab.detectors.lgrad.LGrad`'s (``"efficientnet_lite0"`` is the
    quick profile's ImageNet stand-in). ``train_per_class``/``val_per_class`` ``None``: every
    image of the folders (``classes``: only those class folders), the quick zoo's settings
    (``dfdlab.zoo.train_quick("lgrad")``). ``cache_dir``: the maps are computed once and read back
    in later epochs (:class:`dfdlab.detectors.lgrad.GradientCache`; the same maps); ``method``:
    :func:`dfdlab.detectors.lgrad.gradient_map`'s (the quick zoo: ``"loop"``); ``upscale``: the
    map's nearest-neighbour enlargement before the classifier (not official; the quick zoo: 2). The RNGs are seeded again just before ``fit``: the
    order (seed, build, reseed) the committed sweep of lesson 06's random-D ablation was measured
    with, before ``fit`` stopped reseeding. Returns the best validation checkpoint loaded, in
    eval mode, and the fit result.
    """
    seed_everything(seed)  # the initial weights are part of the run
    model = build("lgrad", discriminator=discriminator, image_size=image_size, crop_size=crop_size,
                  classifier=classifier, pretrained=pretrained, cache_dir=cache_dir, method=method, upscale=upscale)
    train_set = ForenSynths(train_root, transform=model.transform("train"))
    val_set = ForenSynths(val_root, transform=model.transform("test"))
    if train_per_class or classes:
        train_set = per_label_subset(train_set, train_per_class, classes)
    if val_per_class or classes:
        val_set = per_label_subset(val_set, val_per_class, classes)
    seed_everything(seed)  # the sweep's order; with the official once-only order seed 0 fell to AP 0.827
    res = fit(model, train_set, val_set, recipe("lgrad", epochs=epochs, batch_size=batch_size, lr=lr, seed=seed),
              Path(out_dir), progress=False, keep="best", val_pipeline="test")
    load_checkpoint(model, res.best_path)
    return model.eval(), res


def lgrad_zoo_kwargs() -> dict:
    """:func:`train_lgrad`'s settings of the quick zoo's LGrad (``dfdlab.zoo.QUICK_ZOO["lgrad"]``), D excluded."""
    from .zoo import QUICK_ZOO

    z = QUICK_ZOO["lgrad"]
    b = z["build"]
    return {"image_size": b["image_size"], "crop_size": b["crop_size"], "classifier": b.get("classifier", "resnet50"),
            "pretrained": b.get("pretrained", False), "method": b.get("method", "batched"),
            "upscale": b.get("upscale", 1), "epochs": z["epochs"],
            "batch_size": z["batch_size"], "seed": z["seed"]}


def random_discriminator(D: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """A never-trained discriminator of ``D``'s architecture, initialised under ``torch.manual_seed(seed)``.

    LGrad's "does the transformation model matter" ablation: the same gradients, taken through
    random weights (the DCGAN init N(0, 0.02) with BatchNorm statistics 0 / 1, or StyleGAN's
    N(0, 1) with the equalised-lr scale).
    """
    from .detectors.lgrad import StyleGANDiscriminator
    from .gan import Discriminator

    torch.manual_seed(seed)
    if isinstance(D, StyleGANDiscriminator):
        return StyleGANDiscriminator(D.resolution, fmaps_base=D.fmaps_base, fmaps_max=D.fmaps_max)
    return Discriminator(**D.config())


def log_spectrum(t: torch.Tensor) -> torch.Tensor:
    """``log(1 + |FFT2|)`` of each image's channels after removing their mean (frequency 0 at [0, 0])."""
    t = t.float()
    return torch.fft.fft2(t - t.mean(dim=(2, 3), keepdim=True)).abs().log1p()


def spectrum_features(t: torch.Tensor, pool: int = 4):
    """Lesson 06's probe features: the log-amplitude spectrum, average-pooled ``pool`` x ``pool``, one row per image.

    Shift-invariant (an amplitude spectrum), like the classifier's random crops, so a probe on it
    sees periodic up-sampling traces wherever they sit in the image.
    """
    return torch.nn.functional.avg_pool2d(log_spectrum(t), pool).flatten(1).numpy()


def spectrum_probe_ap(train: torch.Tensor, y_train, val: torch.Tensor, y_val) -> float:
    """Validation AP of a linear probe (standardised logistic regression, C 0.1) on :func:`spectrum_features`.

    Lesson 06's "is there something to learn" check, run on images or on their gradient maps.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score

    f_tr, f_va = spectrum_features(train), spectrum_features(val)
    mu, sd = f_tr.mean(0), f_tr.std(0) + 1e-6
    probe = LogisticRegression(C=0.1, max_iter=2000).fit((f_tr - mu) / sd, y_train)
    return float(average_precision_score(y_val, probe.decision_function((f_va - mu) / sd)))


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


def claim_sweep(claims: Sequence[str], folder: str | os.PathLike | None = None,
                this_run: dict[str, float] | None = None) -> pd.DataFrame:
    """The committed sweep of ``claims`` (``benchmarks/quick_claims.py``'s CSVs): one row per claim.

    With ``this_run`` (``{claim: value}``), a "this run" column puts the lesson's own values
    beside the sweep's spread; ``sweep_caption`` says where the sweep ran.

    Columns: claim, statistic, runs (seeds x thread counts), seeds, threads, mean, sd, min, max,
    threshold, machine, date (the newest run's). Every CSV in ``folder`` (default: the
    repository's ``benchmarks/results``) counts, the newest value per (seed, thread count, machine), except
    rows swept on another build of the mini benchmark (their ``mini`` column); a
    claim that no CSV holds is left out, so an installed copy without the repository gets an
    empty table.
    """
    folder = Path(folder) if folder is not None else Path(__file__).resolve().parents[1] / "benchmarks" / "results"
    frames = [pd.read_csv(p) for p in sorted(folder.glob("*.csv"))] if folder.is_dir() else []
    runs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["claim", "date"])
    if "mini" in runs.columns:  # only sweeps of the mini benchmark these lessons build now
        from .data.mini import config_hash, mini_config

        runs = runs[runs["mini"].isna() | (runs["mini"] == config_hash(mini_config()))]
    rows = []
    for name in claims:
        c = runs[runs["claim"] == name]
        if c.empty:
            continue
        # one sweep may be split over several CSVs (runs in parallel): the newest value per (seed, threads) on each
        # machine (a second CPU adds runs, it does not replace the first one's)
        c = c.sort_values("date").drop_duplicates(["seed", "threads", "machine"], keep="last")
        v = c["value"]
        rows.append({"claim": name, "statistic": c["statistic"].iloc[0], "runs": len(v),
                     "seeds": ",".join(str(int(s)) for s in sorted(c["seed"].unique())),
                     "threads": ",".join(str(int(t)) for t in sorted(c["threads"].unique())),
                     "mean": v.mean(), "sd": v.std(), "min": v.min(), "max": v.max(),
                     "threshold": c["threshold"].iloc[0], "machine": " + ".join(c["machine"].astype(str).unique()),
                     "date": c["date"].iloc[-1][:10]})
    table = pd.DataFrame(rows)
    if this_run is not None and len(table):
        table["this run"] = table["claim"].map(this_run)
    return table


def sweep_caption(sweep: pd.DataFrame) -> str:
    """One line naming a ``claim_sweep`` table's runs, seeds, thread counts, machine and date."""
    first = sweep.iloc[0]
    return (f"sweep: {first['runs']} runs (seeds {first['seeds']}, threads {first['threads']}) "
            f"on {first['machine']}, {first['date']}")



# ---------------------------------------------------------------- lesson 08: shortcuts
def format_conditions(model, sets: dict, quality: int, transform=None) -> dict:
    """Every test image scored as stored (PNG) and JPEG-compressed at ``quality``: ``{generator: {"png", "jpeg"}}``.

    Each value is a ``dfdlab.evaluate.Predictions``; the reals of the "jpeg" pass are the
    ``build_mini(jpeg_reals=quality)`` variant's reals, pixel for pixel (lesson 08 checks it).
    """
    from .evaluate import predict

    jpeg = partial(T.jpeg, quality=quality)
    return {g: {"png": predict(model, ds, progress=False, transform=transform),
                "jpeg": predict(model, ds, perturb=jpeg, progress=False, transform=transform)}
            for g, ds in sets.items()}


def format_tables(passes: dict) -> dict:
    """Lesson 08's tests from :func:`format_conditions`' two passes.

    "confounded": reals JPEG, fakes PNG (a JPEG-reals training set's formats); "both PNG"; "both
    JPEG"; per generator ``dfdlab.evaluate.metrics``. "format only": the same real images, JPEG
    (label 0) vs PNG (label 1), pooled over generators: AP above 0.5 means the format alone moves the score.
    """
    import numpy as np

    from .evaluate import metrics

    out = {"confounded": {}, "both PNG": {}, "both JPEG": {}}
    real_png, real_jpeg = [], []
    for g, p in passes.items():
        png, jpg = p["png"], p["jpeg"]
        y = png.y_true
        assert (y == jpg.y_true).all() and png.paths == jpg.paths, "the two passes must score the same files"
        mixed = np.where(y == 0, jpg.y_score, png.y_score)  # reals from the JPEG pass, fakes from the PNG pass
        out["confounded"][g] = metrics(y, mixed)
        out["both PNG"][g] = metrics(y, png.y_score)
        out["both JPEG"][g] = metrics(y, jpg.y_score)
        real_png.append(png.y_score[y == 0])
        real_jpeg.append(jpg.y_score[y == 0])
    s_png, s_jpeg = np.concatenate(real_png), np.concatenate(real_jpeg)
    fmt = metrics(np.r_[np.zeros(len(s_jpeg), int), np.ones(len(s_png), int)], np.r_[s_jpeg, s_png])
    return {"tables": {k: pd.DataFrame(v).T for k, v in out.items()}, "format_only_ap": fmt["ap"]}


def resize_by(im, factor: float):
    """The shorter side times ``factor`` (PIL bilinear), before the detector's own pipeline."""
    return T.custom_resize(im, round(min(im.size) * factor))


def val_threshold(y_true, y_score) -> float:
    """The score t with the best accuracy of the papers' strict rule ``score > t`` on validation data."""
    import numpy as np

    y, s = np.asarray(y_true), np.asarray(y_score)
    cands = np.unique(s)
    return float(cands[int(np.argmax([((s > t) == (y == 1)).mean() for t in cands]))])

__all__ = ["BLUR_SIGMAS", "JPEG_QUALITIES", "claim_sweep", "format_conditions", "format_tables", "resize_by",
           "val_threshold", "sweep_caption", "mean_ap_by_condition", "npr_conditions", "npr_robustness",
           "lgrad_zoo_kwargs", "log_spectrum", "random_discriminator", "spectrum_features",
           "spectrum_probe_ap", "test_subsets", "train_lgrad", "train_npr"]
