"""The shortcut probe (``dfdlab.data.shortcuts``) finds a global-statistics shortcut and not one that is absent."""

from __future__ import annotations

import numpy as np
from PIL import Image

from dfdlab.data.shortcuts import FEATURES, image_statistics, shortcut_probe


def _folder(root, split_gen, n, fake_shift, seed):
    rng = np.random.default_rng(seed)
    for label, shift in ((0, 0.0), (1, fake_shift)):
        d = root / split_gen / ("1_fake" if label else "0_real")
        d.mkdir(parents=True)
        for i in range(n):
            base = rng.uniform(60, 190)  # grey: a cast on one channel is then separable
            img = base + rng.normal(0, 25, size=(32, 32, 3))
            img[..., 2] += shift  # a colour cast on the fakes only
            Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(d / f"{i:03d}.png")


def test_image_statistics_has_every_feature(tmp_path):
    p = tmp_path / "a.png"
    Image.fromarray(np.full((16, 16, 3), 128, np.uint8)).save(p)
    s = image_statistics(p)
    assert list(s) == list(FEATURES)
    assert abs(s["mean_r"] - 128 / 255) < 1e-9 and s["laplacian_var"] == 0.0 and s["pixels"] == 256


def test_probe_finds_a_colour_cast_and_stays_near_chance_without_one(tmp_path):
    _folder(tmp_path, "train/c", 40, 40.0, seed=0)
    _folder(tmp_path, "test/cast", 40, 40.0, seed=1)
    _folder(tmp_path, "test/none", 40, 0.0, seed=2)
    table = shortcut_probe(tmp_path).set_index("generator")
    assert table.loc["cast", "ap"] > 0.95
    assert table.loc["none", "ap"] < 0.75
    assert table.index[-2] == "worst (cast)"
