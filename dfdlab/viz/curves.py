"""Result figures: ROC curves per generator, per-generator bars, robustness heatmaps.

They read the tables of ``dfdlab.evaluate``: ``evaluate(...)`` keeps each generator's
``(y_true, y_score)`` in ``.attrs["scores"]``; ``robustness(...)`` gives a long table that
``dfdlab.evaluate.wide`` pivots. Each function returns the matplotlib ``Axes`` (or figure)
and never calls ``plt.show()`` itself, so lessons can add to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve


def roc_curves(scores, ax=None, title: str = "ROC per generator"):
    """ROC curve per generator, AUC in the legend.

    ``scores``: a DataFrame from ``evaluate`` (uses ``.attrs["scores"]``) or a mapping
    ``generator -> (y_true, y_score)``. Generators with one class only are left out.
    """
    if isinstance(scores, pd.DataFrame):
        scores = scores.attrs.get("scores")
        if not scores:
            raise ValueError("this table has no .attrs['scores']; pass the DataFrame evaluate() returned")
    ax = ax or plt.subplots(figsize=(4.6, 4.2))[1]
    for name, (y, s) in scores.items():
        y, s = np.asarray(y), np.asarray(s)
        if len(np.unique(y)) < 2:
            continue
        fpr, tpr, _ = roc_curve(y, s)
        auc = float(np.trapezoid(tpr, fpr)) if hasattr(np, "trapezoid") else float(np.trapz(tpr, fpr))
        ax.plot(fpr, tpr, label=f"{name} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], color="0.6", ls=":", lw=1)
    ax.set_xlabel("false positive rate (reals called fake)")
    ax.set_ylabel("true positive rate (fakes caught)")
    ax.set_xlim(0, 1), ax.set_ylim(0, 1.01)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right")
    return ax


def metric_bars(table: pd.DataFrame | Mapping[str, pd.DataFrame], metrics: Sequence[str] = ("ap", "acc"),
                ax=None, title: str = "", percent: bool | None = None):
    """Grouped bars of per-generator metrics.

    ``table``: one ``evaluate`` table (bars = metrics) or a mapping ``label -> table`` to
    compare detectors or ours vs a paper (bars = labels, first metric only). Values in [0, 1]
    are drawn as percentages; the "mean" row is drawn last, hatched.
    """
    if isinstance(table, pd.DataFrame):
        series = {m: table.set_index("generator")[m] for m in metrics}
    else:
        m = metrics[0]
        series = {lab: t.set_index("generator")[m] for lab, t in table.items()}
    gens = list(dict.fromkeys(g for s in series.values() for g in s.index))
    if "mean" in gens:
        gens = [g for g in gens if g != "mean"] + ["mean"]
    vals = {k: np.array([float(s.get(g, np.nan)) for g in gens]) for k, s in series.items()}
    if percent is None:
        percent = all(np.nanmax(v) <= 1.0 for v in vals.values() if np.isfinite(v).any())
    ax = ax or plt.subplots(figsize=(max(5.0, 0.8 * len(gens) + 1.5), 3.4))[1]
    w = 0.8 / max(1, len(vals))
    x = np.arange(len(gens))
    for i, (k, v) in enumerate(vals.items()):
        v = v * 100 if percent else v
        bars = ax.bar(x + (i - (len(vals) - 1) / 2) * w, v, w, label=k)
        if gens and gens[-1] == "mean":
            bars[-1].set_hatch("//")
    ax.set_xticks(x, gens, rotation=30, ha="right")
    ax.set_ylabel("%" if percent else "value")
    ax.set_ylim(0, 100 if percent else None)
    ax.axhline(50 if percent else 0.5, color="0.5", ls=":", lw=1)
    ax.set_title(title)
    ax.legend(fontsize=8, ncols=min(4, len(vals)))
    return ax


def heatmap(grid: pd.DataFrame, ax=None, title: str = "", percent: bool | None = None, cmap: str = "viridis",
            vmin: float | None = None, vmax: float | None = None, fmt: str = "{:.1f}"):
    """Annotated heatmap of a 2-D table, e.g. ``dfdlab.evaluate.wide(robustness(...), "acc")``."""
    arr = grid.to_numpy(dtype=float)
    if percent is None:
        percent = np.isfinite(arr).any() and np.nanmax(arr) <= 1.0
    arr = arr * 100 if percent else arr
    ax = ax or plt.subplots(figsize=(0.9 * arr.shape[1] + 2.0, 0.45 * arr.shape[0] + 1.4))[1]
    im = ax.imshow(arr, cmap=cmap, vmin=vmin if vmin is not None else (0 if percent else None),
                   vmax=vmax if vmax is not None else (100 if percent else None), aspect="auto")
    ax.set_xticks(range(arr.shape[1]), [str(c) for c in grid.columns], rotation=30, ha="right")
    ax.set_yticks(range(arr.shape[0]), [str(r) for r in grid.index])
    lo, hi = im.get_clim()
    for i in range(arr.shape[0]):
        for j in range(arr.shape[1]):
            if np.isfinite(arr[i, j]):
                light = (arr[i, j] - lo) / (hi - lo + 1e-12) < 0.5
                ax.text(j, i, fmt.format(arr[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if light else "black")
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.02, label="%" if percent else "")
    ax.set_title(title)
    return ax


__all__ = ["heatmap", "metric_bars", "roc_curves"]
