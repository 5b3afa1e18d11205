"""Scoring detectors as the papers do: per-generator AP and accuracy, and their unweighted mean.

The rules mirror CNNDetection's ``validate.py``, copied unchanged into NPR and LGrad
(PAPERS.md §0 and §4 item 7):

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

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import average_precision_score, roc_auc_score
from tqdm.auto import tqdm

#: Metric columns, in the order the tables print them.
METRIC_COLUMNS = ("ap", "acc", "r_acc", "f_acc", "auc", "acc_oracle")
#: Columns of ``evaluate``'s table.
TABLE_COLUMNS = ("generator", "n", *METRIC_COLUMNS, "skipped")
#: The decision threshold of every paper here (``validate.py``: ``y_pred > 0.5``).
THRESHOLD = 0.5


# --------------------------------------------------------------------------- metrics


def oracle_accuracy(y_true, y_score) -> float:
    """Best accuracy over all thresholds t of the strict rule ``y_score > t`` (UnivFD ``find_best_threshold``'s idea).

    Candidates are every distinct score plus -inf (everything "fake"); computed in
    O(n log n) with cumulative counts. Uses the labels, so it is only an upper bound.
    """
    y = np.asarray(y_true).astype(int).ravel()
    s = np.asarray(y_score, dtype=np.float64).ravel()
    n = y.size
    if n == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    s, y = s[order], y[order]
    # Position k (0..n): the first k sorted scores are called real. Only cut where the score changes.
    real_below = np.concatenate([[0], np.cumsum(y == 0)])
    fake_below = np.concatenate([[0], np.cumsum(y == 1)])
    n_fake = fake_below[-1]
    cuts = np.concatenate([[0], np.nonzero(np.diff(s) > 0)[0] + 1, [n]])
    correct = real_below[cuts] + (n_fake - fake_below[cuts])
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
    skipped: list = field(default_factory=list)  # [(path, reason)]

    def __iter__(self):  # ``y, s = predict(...)`` also works
        yield self.y_true
        yield self.y_score


#: Exceptions that mean "this image cannot be read"; ``dfdlab.data.ImageError`` is a ValueError.
_BAD_INPUT = (ValueError, OSError)


def _sample_path(dataset, idx: int):
    samples = getattr(dataset, "samples", None)
    if samples is not None:
        try:
            return samples[idx][0]
        except (IndexError, TypeError):
            pass
    return f"{type(dataset).__name__}[{idx}]"


def _is_bad_image(item) -> bool:
    return isinstance(item, tuple) and hasattr(item, "reason") and hasattr(item, "message") and hasattr(item, "path")


def _detail(message: str, path) -> str:
    """The message without a leading ``<path>: `` (the path is reported beside it)."""
    prefix = f"{path}: "
    return message[len(prefix):] if message.startswith(prefix) else message


class _Safe(torch.utils.data.Dataset):
    """Wraps a dataset so that an unreadable image becomes a (None, reason) record, not a crash.

    Items that come back as PIL images get ``transform``. With ``perturb`` the item is read
    from ``dataset.samples`` through ``dfdlab.data.load_rgb`` (the dataset's own transform is
    bypassed), then ``perturb`` (PIL -> PIL), then ``transform``: the robustness protocol.
    """

    def __init__(self, dataset, transform: Callable | None = None, perturb: Callable | None = None):
        self.dataset, self.transform, self.perturb = dataset, transform, perturb
        if perturb is not None and getattr(dataset, "samples", None) is None:
            raise TypeError("robustness needs datasets with .samples [(path, label)], e.g. dfdlab.data.ForenSynths")

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, idx):
        path = _sample_path(self.dataset, idx)
        try:
            if self.perturb is not None:
                from dfdlab.data import load_rgb

                p, label = self.dataset.samples[idx]
                x = self.perturb(load_rgb(p))
            else:
                item = self.dataset[idx]
                if _is_bad_image(item):  # ForenSynths(on_error="skip") / data.skip_bad records
                    return None, -1, str(item.path), f"{item.reason}: {_detail(item.message, item.path)}"
                x, label = item[:2]
            if not isinstance(x, torch.Tensor):
                if self.transform is None:
                    raise TypeError(
                        f"the dataset returned a {type(x).__name__}, not a tensor; give it a transform "
                        "or pass transform=model.transform(train=False)"
                    )
                x = self.transform(x)
        except _BAD_INPUT as e:
            if hasattr(e, "reason") and hasattr(e, "detail"):  # dfdlab.data.ImageError
                return None, -1, str(getattr(e, "path", path)), f"{e.reason}: {e.detail}"
            return None, -1, str(path), f"{type(e).__name__}: {_detail(str(e), path)}"
        return x, int(label), str(path), None


def _collate(batch):
    # Keep a list, not a stacked tensor: native-size protocols (no_resize) give images of
    # different sizes, which ``_forward_batched`` groups by shape.
    return [b for b in batch]


def _forward_batched(model, xs: list, device) -> list:
    """Fake probabilities for a list of tensors, stacking those of equal shape (BN in eval mode, so exact).

    The sigmoid runs on the model's float32 output, as ``validate.py``'s
    ``model(x).sigmoid().flatten().tolist()``: saturated scores tie exactly as there.
    """
    out = [None] * len(xs)
    groups: dict = {}
    for i, x in enumerate(xs):
        groups.setdefault(tuple(x.shape), []).append(i)
    for idxs in groups.values():
        batch = torch.stack([xs[i] for i in idxs]).to(device)
        logit = model(batch).reshape(-1)
        if logit.numel() != len(idxs):
            raise RuntimeError(f"the model returned {logit.numel()} logits for {len(idxs)} images; forward must return [N]")
        for i, v in zip(idxs, logit.float().sigmoid().cpu().tolist()):
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
) -> Predictions:
    """Fake probabilities for every readable image of ``dataset``; unreadable ones are skipped and named.

    ``dataset[i]`` gives ``(tensor_or_PIL, label)``; PIL images get ``transform`` (default:
    ``model.transform(train=False)`` when the model has one). A file that raises
    ``dfdlab.data.ImageError`` (or any ``ValueError``/``OSError``) while loading is recorded
    in ``.skipped`` as ``(path, reason)`` and the rest is scored. The model runs in eval mode
    (BN running stats, PAPERS.md §4 item 8) and is put back in its previous mode afterwards.
    """
    import dfdlab

    dev = torch.device(device) if device is not None else dfdlab.device()
    if transform is None and hasattr(model, "transform"):
        try:
            transform = model.transform(train=False)
        except NotImplementedError:
            transform = None
    safe = _Safe(dataset, transform=transform, perturb=perturb)
    loader = torch.utils.data.DataLoader(
        safe, batch_size=batch_size, shuffle=False, num_workers=num_workers, collate_fn=_collate,
        pin_memory=dev.type == "cuda",
    )
    was_training = model.training
    model.eval().to(dev)
    ys, ss, paths, skipped = [], [], [], []
    try:
        for batch in tqdm(loader, desc=desc or getattr(dataset, "generator", None) or "predict",
                          disable=not progress, leave=False):
            good = [b for b in batch if b[3] is None]
            skipped.extend((p, why) for _, _, p, why in batch if why is not None)
            if not good:
                continue
            probs = _forward_batched(model, [b[0] for b in good], dev)
            ss.extend(probs)
            ys.extend(b[1] for b in good)
            paths.extend(b[2] for b in good)
    finally:
        model.train(was_training)
    if skipped:
        shown = "; ".join(f"{p} ({why})" for p, why in skipped[:5])
        more = f"; and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        warnings.warn(f"skipped {len(skipped)} unreadable file(s): {shown}{more}", stacklevel=3)
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


def evaluate(
    model: torch.nn.Module,
    datasets_by_generator: Mapping[str, object],
    batch_size: int = 64,
    device=None,
    num_workers: int = 0,
    progress: bool = True,
    transform: Callable | None = None,
    threshold: float = THRESHOLD,
) -> pd.DataFrame:
    """One row per generator plus an unweighted "mean" row (the papers' tables).

    Columns: generator, n, ap, acc, r_acc, f_acc, auc, acc_oracle, skipped (fractions in
    [0, 1]; ``paper_style`` prints them as the papers do). ``.attrs["skipped"]`` lists the
    unreadable files as ``(path, reason)``; ``.attrs["scores"]`` maps each generator to
    ``(y_true, y_score)`` for curves.
    """
    rows, skipped, scores = [], [], {}
    gens = list(datasets_by_generator.items())
    for name, ds in tqdm(gens, desc="generators", disable=not progress or len(gens) < 2):
        pr = predict(model, ds, batch_size=batch_size, device=device, num_workers=num_workers,
                     progress=progress, transform=transform, desc=str(name))
        m = metrics(pr.y_true, pr.y_score, threshold=threshold)
        rows.append({"generator": str(name), **m, "skipped": len(pr.skipped)})
        skipped.extend(pr.skipped)
        scores[str(name)] = (pr.y_true, pr.y_score)
    return _table(rows, skipped, scores)


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
            skipped.extend((cname, p, why) for p, why in pr.skipped)
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
    from .paper_results import paper_table as _pt

    return _pt(key)


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
    """Readable lines for ``.attrs['skipped']``."""
    lines = [" · ".join(str(x) for x in rec) for rec in skipped[:limit]]
    if len(skipped) > limit:
        lines.append(f"... and {len(skipped) - limit} more")
    return "\n".join(lines)


__all__ = [
    "METRIC_COLUMNS", "Predictions", "THRESHOLD", "compare_with_paper", "evaluate", "format_skipped", "metrics",
    "oracle_accuracy", "paper_style", "paper_table", "predict", "robustness", "wide",
]
