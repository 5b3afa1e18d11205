"""Scoring detectors as the papers do: per-generator AP and accuracy, and their unweighted mean.

The rules mirror CNNDetection's ``validate.py`` and ``eval.py``, copied unchanged into NPR
and LGrad (Wang et al., CVPR 2020):

* ``y_score = sigmoid(logit)``; AP is ``sklearn.metrics.average_precision_score`` on it;
* accuracy uses the **strict** rule ``y_score > 0.5`` (a score of exactly 0.5 is "real");
* ``r_acc`` / ``f_acc`` are the accuracies on the real (y=0) / fake (y=1) subsets;
* a generator with several classes (``progan/<20 classes>``) is pooled into one set;
* the "mean" row is the unweighted mean over generators.

We add ``auc`` (ROC AUC) and ``acc_oracle``, the accuracy at the best threshold chosen
*after* seeing the labels (UnivFD's ``validate.py`` computes it but does not report it;
SIDBench calls it "oracle"). It is an upper bound, never a result.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve
from tqdm.auto import tqdm

from . import paper_results
from .data.images import load_rgb
from .data.skipping import collate_skip_bad, is_bad, report_skipped, skip_bad
from .runtime import device as default_device

#: Metric columns, in the order the tables print them.
METRIC_COLUMNS = ("ap", "acc", "r_acc", "f_acc", "auc", "acc_oracle")
#: Columns of ``evaluate``'s table.
TABLE_COLUMNS = ("generator", "n", *METRIC_COLUMNS, "skipped")
#: The decision threshold of every paper here (``validate.py``: ``y_pred > 0.5``).
THRESHOLD = 0.5


# --------------------------------------------------------------------------- metrics


def oracle_accuracy(y_true, y_score) -> float:
    """Best accuracy over every threshold, read off the ROC curve (UnivFD ``validate.py::find_best_threshold``'s idea).

    Each point of ``sklearn.metrics.roc_curve`` is one cut of the sorted scores, from
    "everything real" to "everything fake", so ``accuracy = (tpr * n_fake + (1 - fpr) * n_real) / n``
    and the oracle is its maximum. Uses the labels, so it is only an upper bound.
    """
    y = np.asarray(y_true).astype(int).ravel()
    s = np.asarray(y_score, dtype=np.float64).ravel()
    n = y.size
    if n == 0:
        return float("nan")
    n_fake = int(y.sum())
    n_real = n - n_fake
    if n_fake == 0 or n_real == 0:
        return 1.0  # one class: a threshold past every score labels all of them right (the ROC is undefined)
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    correct = np.rint(tpr * n_fake) + np.rint((1.0 - fpr) * n_real)  # counts: exact integers, no rounding drift
    return float(correct.max() / n)


def metrics(y_true, y_score, threshold: float = THRESHOLD) -> dict:
    """AP, accuracy and friends of one test set from fake probabilities (CNNDetection ``validate.py``).

    Args:
        y_true: labels, 0 = real, 1 = fake.
        y_score: fake probabilities ``sigmoid(logit)`` in [0, 1].
        threshold: decision threshold, strict (``y_score > threshold`` means fake).

    Returns a dict with ``ap``, ``acc``, ``r_acc``, ``f_acc``, ``auc``, ``acc_oracle`` (all
    fractions in [0, 1]) and ``n``. A set holding one class only gets NaN for ``ap``/``auc``
    (and for the missing class's accuracy) with a warning instead of an error.
    """
    y = np.asarray(y_true).ravel()
    s = np.asarray(y_score, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"y_true has {y.size} entries but y_score has {s.size}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"labels must be 0 (real) or 1 (fake); got {sorted(set(np.unique(y).tolist()))}")
    if np.isnan(s).any():
        raise ValueError(f"{int(np.isnan(s).sum())} scores are NaN (did the model diverge?)")
    y = y.astype(int)
    nan = float("nan")
    out = {"ap": nan, "acc": nan, "r_acc": nan, "f_acc": nan, "auc": nan, "acc_oracle": nan, "n": int(y.size)}
    if y.size == 0:
        warnings.warn("metrics() of an empty set: every metric is NaN", stacklevel=2)
        return out
    pred = s > threshold  # strict, as validate.py: accuracy_score(y_true, y_pred > 0.5)
    out["acc"] = float((pred == (y == 1)).mean())
    if (y == 0).any():
        out["r_acc"] = float((~pred[y == 0]).mean())
    if (y == 1).any():
        out["f_acc"] = float(pred[y == 1].mean())
    if (y == 0).any() and (y == 1).any():
        out["ap"] = float(average_precision_score(y, s))
        out["auc"] = float(roc_auc_score(y, s))
    else:
        only = "fake" if (y == 1).all() else "real"
        warnings.warn(
            f"the set holds only {only} images ({y.size}); AP and AUC are undefined and set to NaN",
            stacklevel=2,
        )
    out["acc_oracle"] = oracle_accuracy(y, s)
    return out


# --------------------------------------------------------------------------- prediction


@dataclass
class Predictions:
    """What ``predict`` returns: labels, fake probabilities, the scored paths and the skipped files."""

    y_true: np.ndarray
    y_score: np.ndarray
    paths: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # [dfdlab.data.BadImage]

    def __iter__(self):  # ``y, s = predict(...)`` also works
        yield self.y_true
        yield self.y_score


class _Scored(torch.utils.data.Dataset):
    """``(tensor, label, name)`` per sample of ``dataset``, for :func:`predict`.

    Items that come back as PIL images get ``transform``. With ``perturb`` the item is read
    from ``dataset.samples`` through ``dfdlab.data.load_rgb`` (the dataset's own transform is
    bypassed), then ``perturb`` (PIL -> PIL), then ``transform``: the robustness protocol.
    Unreadable files raise ``ImageError`` (turned into records by ``skip_bad``), and
    ``BadImage`` records of a skipping dataset pass through; any other error propagates.
    """

    def __init__(self, dataset, transform: Callable | None = None, perturb: Callable | None = None):
        self.dataset, self.transform, self.perturb = dataset, transform, perturb
        self.samples = getattr(dataset, "samples", None)
        if perturb is not None and self.samples is None:
            raise TypeError("robustness needs datasets with .samples [(path, label)], e.g. dfdlab.data.ForenSynths")

    def __len__(self):
        return len(self.dataset)

    def _name(self, idx: int) -> str:
        return str(self.samples[idx][0]) if self.samples is not None else f"{type(self.dataset).__name__}[{idx}]"

    def __getitem__(self, idx):
        if self.perturb is not None:
            path, label = self.samples[idx]
            x = self.perturb(load_rgb(path))
        else:
            item = self.dataset[idx]
            if is_bad(item):  # ForenSynths(on_error="skip") / skip_bad records
                return item
            x, label = item[:2]
        if not isinstance(x, torch.Tensor):
            if self.transform is None:
                raise TypeError(
                    f"the dataset returned a {type(x).__name__}, not a tensor; give it a transform "
                    "or pass transform=model.transform(train=False)"
                )
            x = self.transform(x)
        return x, int(label), self._name(idx)


def amp_dtype(amp, device) -> torch.dtype | None:
    """The autocast dtype ``amp`` asks for on ``device``: ``None`` (float32) or a 16-bit float.

    ``amp``: ``False``/``None``/``"fp32"`` -> float32; ``True`` -> bfloat16 on CPU (fast
    where the CPU has AVX512-BF16 or AMX), float16 on CUDA; ``"bf16"`` / ``"fp16"`` to choose.
    """
    if amp in (False, None, "fp32", "float32"):
        return None
    dev = torch.device(device)
    if amp is True:
        return torch.float16 if dev.type == "cuda" else torch.bfloat16
    dtypes = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16, "float16": torch.float16}
    if amp not in dtypes:
        raise ValueError(f"amp={amp!r}; use False, True, 'bf16' or 'fp16'")
    return dtypes[amp]


def precision_name(amp, device) -> str:
    """What ``amp`` means on ``device`` in words, for tables: ``fp32``, ``bf16 autocast`` or ``fp16 autocast``."""
    dt = amp_dtype(amp, device)
    return "fp32" if dt is None else {torch.bfloat16: "bf16", torch.float16: "fp16"}[dt] + " autocast"


def _forward_batched(model, xs: list, device, amp=None) -> list:
    """Fake probabilities for a list of tensors, stacking those of equal shape (BN in eval mode, so exact).

    The sigmoid runs on the model's float32 output, as ``validate.py``'s
    ``model(x).sigmoid().flatten().tolist()``: saturated scores tie exactly as there.
    Image batches go in channels-last, the layout oneDNN and cuDNN run convolutions fastest
    in (lesson 05's robustness grid of the zoo NPR, 17,600 images: 101 s -> 84 s at one CPU
    thread, APs within 4e-5 and accuracies equal; ``benchmarks/npr_throughput.py`` compares
    the layouts). With ``amp`` (a dtype from :func:`amp_dtype`) the
    model runs under ``torch.autocast``.
    """
    out = [None] * len(xs)
    groups: dict = {}
    for i, x in enumerate(xs):
        groups.setdefault(tuple(x.shape), []).append(i)
    dev = torch.device(device)
    for idxs in groups.values():
        batch = torch.stack([xs[i] for i in idxs]).to(dev)
        if batch.ndim == 4:
            batch = batch.contiguous(memory_format=torch.channels_last)
        if amp is None:
            logit = model(batch).reshape(-1)
        else:
            with torch.autocast(dev.type, dtype=amp):
                logit = model(batch).reshape(-1)
        if logit.numel() != len(idxs):
            raise RuntimeError(f"the model returned {logit.numel()} logits for {len(idxs)} images; forward must return [N]")
        for i, v in zip(idxs, logit.float().sigmoid().cpu().tolist(), strict=True):
            out[i] = v
    return out


@torch.no_grad()
def predict(
    model: torch.nn.Module,
    dataset,
    batch_size: int = 64,
    device=None,
    num_workers: int = 0,
    progress: bool = True,
    transform: Callable | None = None,
    perturb: Callable | None = None,
    desc: str | None = None,
    amp=False,
) -> Predictions:
    """Fake probabilities for every readable image of ``dataset``; unreadable ones are skipped and named.

    ``dataset[i]`` gives ``(tensor_or_PIL, label)``; PIL images get ``transform`` (default:
    ``model.transform(train=False)`` when the model has one). A file that raises
    ``dfdlab.data.ImageError`` while loading is recorded in ``.skipped`` as a
    ``dfdlab.data.BadImage`` and the rest is scored (``dfdlab.data.skipping``); any other
    exception, e.g. from a transform, is a bug and propagates. The model runs in eval mode
    (BN running stats, as CNNDetection's ``validate.py`` after ``model.eval()``) and is put
    back in its previous mode afterwards. ``amp``: mixed precision (:func:`amp_dtype`;
    ``True`` = bf16 autocast on CPU, fp16 on CUDA), e.g. for NPR, LGrad (its discriminator
    gradient stays float32) and CNNDetection, whose decisions it keeps (``tests/test_amp.py``).
    """
    dev = torch.device(device) if device is not None else default_device()
    amp = amp_dtype(amp, dev)
    if transform is None and hasattr(model, "transform"):
        try:
            transform = model.transform(train=False)
        except NotImplementedError:
            transform = None
    loader = torch.utils.data.DataLoader(
        skip_bad(_Scored(dataset, transform=transform, perturb=perturb)), batch_size=batch_size, shuffle=False,
        num_workers=num_workers, pin_memory=dev.type == "cuda",
        # a list, not a stacked tensor: native-size protocols (no_resize) give images of
        # different sizes, which ``_forward_batched`` groups by shape
        collate_fn=partial(collate_skip_bad, stack=False),
    )
    was_training = model.training
    model.eval().to(dev)
    ys, ss, paths, skipped = [], [], [], []
    try:
        for batch in tqdm(loader, desc=desc or getattr(dataset, "generator", None) or "predict",
                          disable=not progress, leave=False):
            skipped.extend(batch.bad)
            if batch.x is None:
                continue
            ss.extend(_forward_batched(model, batch.x, dev, amp))
            ys.extend(batch.y.tolist())
            paths.extend(batch.extra[0])
    finally:
        model.train(was_training)
    report_skipped(skipped, stacklevel=3)
    return Predictions(np.asarray(ys, dtype=int), np.asarray(ss, dtype=np.float64), paths, skipped)


# --------------------------------------------------------------------------- tables


def _table(rows: list[dict], skipped: list, scores: dict) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    if len(df):
        mean = {"generator": "mean", "n": int(df["n"].sum()), "skipped": int(df["skipped"].sum())}
        # Unweighted mean over generators, as every paper's "Mean"/"Avg" column.
        mean.update({c: float(df[c].mean()) for c in METRIC_COLUMNS})
        df = pd.concat([df, pd.DataFrame([mean], columns=list(TABLE_COLUMNS))], ignore_index=True)
    df["n"] = df["n"].astype(int)
    df["skipped"] = df["skipped"].astype(int)
    df.attrs["skipped"] = skipped
    df.attrs["scores"] = scores
    return df


def scores_table(scores: Mapping[str, tuple], threshold: float = THRESHOLD,
                 skipped: Mapping[str, Sequence] | None = None) -> pd.DataFrame:
    """:func:`evaluate`'s table from each generator's ``(y_true, y_score)``: one row per generator and the mean.

    ``skipped`` maps a generator to its unreadable files (``dfdlab.data.BadImage``). The one
    place a table is made from scores, so a table rebuilt from stored scores
    (``dfdlab.zoo.evaluate_quick``) equals the one :func:`evaluate` returned.
    """
    skipped = skipped or {}
    rows = [{"generator": str(g), **metrics(y, s, threshold=threshold), "skipped": len(skipped.get(g, ()))}
            for g, (y, s) in scores.items()]
    return _table(rows, [b for g in scores for b in skipped.get(g, ())], dict(scores))


def evaluate(
    model: torch.nn.Module,
    datasets_by_generator: Mapping[str, object],
    batch_size: int = 64,
    device=None,
    num_workers: int = 0,
    progress: bool = True,
    transform: Callable | None = None,
    threshold: float = THRESHOLD,
    skipped_csv=None,
    amp=False,
) -> pd.DataFrame:
    """One row per generator plus an unweighted "mean" row (the papers' tables).

    Columns: generator, n, ap, acc, r_acc, f_acc, auc, acc_oracle, skipped (fractions in
    [0, 1]; ``paper_style`` prints them as the papers do). ``.attrs["skipped"]`` lists the
    unreadable files as ``dfdlab.data.BadImage`` records (also written to ``skipped_csv``
    when given, e.g. ``dfdlab.data.skipped_csv_path(table_path)``); ``.attrs["scores"]``
    maps each generator to ``(y_true, y_score)`` for curves; ``.attrs["precision"]`` says how
    the model ran (``amp``, see :func:`predict`: ``fp32``, ``bf16 autocast``, ...).
    """
    scores, skipped = {}, {}
    gens = list(datasets_by_generator.items())
    for name, ds in tqdm(gens, desc="generators", disable=not progress or len(gens) < 2):
        pr = predict(model, ds, batch_size=batch_size, device=device, num_workers=num_workers,
                     progress=progress, transform=transform, desc=str(name), amp=amp)
        scores[str(name)] = (pr.y_true, pr.y_score)
        skipped[str(name)] = pr.skipped
    table = scores_table(scores, threshold=threshold, skipped=skipped)
    if skipped_csv is not None:  # each generator's predict has warned already
        report_skipped(table.attrs["skipped"], skipped_csv, warn=False)
    table.attrs["precision"] = precision_name(amp, torch.device(device) if device is not None else default_device())
    return table


def robustness(
    model: torch.nn.Module,
    datasets_by_generator: Mapping[str, object],
    conditions: Mapping[str, Callable],
    batch_size: int = 64,
    device=None,
    num_workers: int = 0,
    progress: bool = True,
    transform: Callable | None = None,
) -> pd.DataFrame:
    """Evaluate under perturbations: ``conditions`` maps a name to a PIL -> PIL function.

    Each image is read with ``dfdlab.data.load_rgb``, perturbed, then given the model's test
    transform (UnivFD ``validate.py`` applies blur/JPEG before its crop the same way), e.g.
    ``{"clean": lambda im: im, "jpeg 75": lambda im: transforms.jpeg(im, 75),
    "blur 2": lambda im: transforms.gaussian_blur(im, 2)}``. Returns the long table:
    ``condition`` plus ``evaluate``'s columns, one row per (condition, generator) and a
    "mean" row per condition.
    """
    frames, skipped = [], []
    for cname, fn in tqdm(list(conditions.items()), desc="conditions", disable=not progress):
        rows, scores = [], {}
        for name, ds in datasets_by_generator.items():
            pr = predict(model, ds, batch_size=batch_size, device=device, num_workers=num_workers,
                         progress=progress, transform=transform, perturb=fn, desc=f"{cname} · {name}")
            m = metrics(pr.y_true, pr.y_score)
            rows.append({"generator": str(name), **m, "skipped": len(pr.skipped)})
            skipped.extend((cname, b) for b in pr.skipped)
        t = _table(rows, [], scores)
        t.insert(0, "condition", cname)
        frames.append(t)
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["condition", *TABLE_COLUMNS])
    df.attrs = {"skipped": skipped}
    return df


def paper_style(df: pd.DataFrame, columns: Sequence[str] | None = None, decimals: int = 1) -> pd.DataFrame:
    """The table as the papers print it: metrics in percent with ``decimals`` decimals (NPR prints 1)."""
    out = df.copy()
    cols = [c for c in (columns or METRIC_COLUMNS) if c in out.columns]
    for c in cols:
        out[c] = (out[c].astype(float) * 100).round(decimals)
    out.attrs = dict(df.attrs)
    return out


def wide(df: pd.DataFrame, metric: str = "acc", index: str = "condition") -> pd.DataFrame:
    """Pivot a ``robustness`` table into ``index`` x generator for one metric (for a heatmap)."""
    t = df.pivot(index=index, columns="generator", values=metric)
    order = [g for g in dict.fromkeys(df["generator"]) if g in t.columns]
    rows = list(dict.fromkeys(df[index]))
    return t.loc[rows, order]


def paper_table(key: str) -> pd.DataFrame:
    """A published table as data (see ``dfdlab.paper_results.TABLES`` for the keys and sources)."""
    return paper_results.paper_table(key)


def compare_with_paper(ours: pd.DataFrame, key: str, method: str | None = None) -> pd.DataFrame:
    """Our ``evaluate`` table next to a published one (percent): generator, acc/ap ours, paper, and difference.

    Joins on the generator folder names; generators the paper does not print get NaN.
    """
    paper = paper_table(key)
    method = method or paper["method"].iloc[0]
    paper = paper[paper["method"] == method].set_index("generator")
    if paper.empty:
        raise KeyError(f"table {key!r} has no method {method!r}")
    out = pd.DataFrame({"generator": ours["generator"].astype(str)})
    for m in ("acc", "ap"):
        out[f"{m}_ours"] = (ours[m].astype(float) * 100).round(1).to_numpy()
        out[f"{m}_paper"] = out["generator"].map(paper[m]).astype(float)
        out[f"{m}_diff"] = (out[f"{m}_ours"] - out[f"{m}_paper"]).round(1)
    out.attrs = {"paper": f"{method}: {paper.attrs.get('title', key)}", "source": paper.attrs.get("source", "")}
    return out


def format_skipped(skipped: Sequence, limit: int = 20) -> str:
    """Readable lines for ``.attrs['skipped']`` (``BadImage`` records, or ``(condition, BadImage)`` pairs)."""
    lines = [" · ".join(str(x) for x in rec) if not is_bad(rec) else str(rec) for rec in skipped[:limit]]
    if len(skipped) > limit:
        lines.append(f"... and {len(skipped) - limit} more")
    return "\n".join(lines)


__all__ = [
    "METRIC_COLUMNS", "Predictions", "THRESHOLD", "amp_dtype", "compare_with_paper", "evaluate", "format_skipped",
    "metrics", "oracle_accuracy", "paper_style", "paper_table", "precision_name", "predict", "robustness", "scores_table", "wide",
]
