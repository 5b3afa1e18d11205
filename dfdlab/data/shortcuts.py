"""The shortcut probe: how far global image statistics alone separate a benchmark's fakes from its reals.

A detector should find a generator's traces, not a difference in colour, brightness,
sharpness or file format that happens to come with the fakes of one benchmark (Wang et al.,
CVPR 2020, Sec. 4.2 on JPEG; "Fake or JPEG?" and DIRE's format bias, see the course's 大总结).
The probe measures that difference: a logistic regression on a few global statistics per
image (:data:`FEATURES`), fitted on ``train/`` (all classes) and scored by AP on every
``test/<generator>/``. A benchmark whose worst test-generator AP stays near 0.5 carries
no such shortcut for this family of statistics; it does not prove the absence of others.

``benchmarks/mini_shortcuts.py`` prints the table for the mini benchmark; lesson 01 shows it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from .folders import ForenSynths, generator_sets
from .images import load_rgb

#: The statistics, one column each (RGB in [0, 1]; "luma" is ITU-R 601).
FEATURES = (
    "mean_r", "mean_g", "mean_b", "std_r", "std_g", "std_b",
    "saturation_mean", "saturation_std",
    "luma_p05", "luma_p50", "luma_p95",
    "laplacian_var", "gradient_mean", "highpass_energy",
    "bytes_per_pixel", "pixels",
)


def image_statistics(path: str | os.PathLike) -> dict[str, float]:
    """The :data:`FEATURES` of one image file (decoded with ``dfdlab.data.load_rgb``)."""
    path = Path(path)
    rgb = np.asarray(load_rgb(path), dtype=np.float64) / 255.0
    luma = rgb @ np.array([0.299, 0.587, 0.114])
    hsv = np.asarray(Image.fromarray((rgb * 255).round().astype(np.uint8)).convert("HSV"), dtype=np.float64) / 255.0
    lap = (-4 * luma[1:-1, 1:-1] + luma[:-2, 1:-1] + luma[2:, 1:-1] + luma[1:-1, :-2] + luma[1:-1, 2:])
    gy, gx = np.diff(luma, axis=0), np.diff(luma, axis=1)
    # energy above half the Nyquist frequency: what down- and up-sampling change
    spec = np.abs(np.fft.fftshift(np.fft.fft2(luma - luma.mean()))) ** 2
    fy, fx = np.meshgrid(np.fft.fftshift(np.fft.fftfreq(luma.shape[0])), np.fft.fftshift(np.fft.fftfreq(luma.shape[1])),
                         indexing="ij")
    high = np.hypot(fy, fx) > 0.25
    out = {f"mean_{c}": rgb[..., i].mean() for i, c in enumerate("rgb")}
    out.update({f"std_{c}": rgb[..., i].std() for i, c in enumerate("rgb")})
    out.update(saturation_mean=hsv[..., 1].mean(), saturation_std=hsv[..., 1].std(),
               luma_p05=np.percentile(luma, 5), luma_p50=np.percentile(luma, 50), luma_p95=np.percentile(luma, 95),
               laplacian_var=lap.var(), gradient_mean=0.5 * (np.abs(gy).mean() + np.abs(gx).mean()),
               highpass_energy=spec[high].sum() / max(spec.sum(), 1e-12),
               bytes_per_pixel=path.stat().st_size / luma.size, pixels=float(luma.size))
    return {k: float(v) for k, v in out.items()}


def statistics_table(dataset: ForenSynths) -> pd.DataFrame:
    """One row of :data:`FEATURES` per sample of ``dataset``, plus ``label`` and ``path``."""
    rows = [{**image_statistics(p), "label": int(y), "path": str(p)} for p, y in dataset.samples]
    return pd.DataFrame(rows, columns=[*FEATURES, "label", "path"])


def shortcut_probe(root: str | os.PathLike, features=FEATURES, seed: int = 0) -> pd.DataFrame:
    """AP of a logistic regression on global statistics, fitted on ``root/train``, per ``root/test/<generator>``.

    Returns one row per test generator (``generator, n, ap``) plus a ``worst`` row (the
    highest AP: the strongest shortcut) and a ``mean`` row. ``.attrs["model"]`` is the fitted
    scikit-learn pipeline (standardisation + logistic regression), ``.attrs["features"]``
    the columns it used.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    root = Path(root)
    features = list(features)
    train = statistics_table(ForenSynths(root / "train"))
    if train["label"].nunique() < 2:
        raise ValueError(f"{root / 'train'} must hold both 0_real and 1_fake images to fit the shortcut probe")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0, random_state=seed))
    model.fit(train[features].to_numpy(), train["label"].to_numpy())
    rows = []
    for name, ds in generator_sets(root / "test").items():
        t = statistics_table(ds)
        score = model.predict_proba(t[features].to_numpy())[:, 1]
        rows.append({"generator": name, "n": len(t), "ap": float(average_precision_score(t["label"], score))})
    table = pd.DataFrame(rows)
    worst = table.loc[table["ap"].idxmax()]
    table = pd.concat([table, pd.DataFrame([{"generator": f"worst ({worst.generator})", "n": int(worst.n), "ap": worst.ap},
                                            {"generator": "mean", "n": int(table["n"].sum()), "ap": table["ap"].mean()}])],
                      ignore_index=True)
    table.attrs.update(model=model, features=features)
    return table
