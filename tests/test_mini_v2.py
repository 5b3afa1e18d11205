"""The mini benchmark v2 (``build_mini(version=2)``): content-matched fakes from the shipped reconstructors."""

from __future__ import annotations

import dfdlab  # noqa: F401  (compat shim before torchvision)

# isort: split
import pandas as pd
import pytest
import torch
from PIL import Image

from dfdlab.data import mini
from dfdlab.data.mini_generators import (
    MINI_GENERATORS,
    TRAIN_GENERATOR,
    WEIGHTS,
    build_generator,
    load_generators,
)
from dfdlab.gan.dcgan import UPSAMPLERS
from dfdlab.gan.reconstruction import Reconstructor, highpass, resynthesise

pytestmark = pytest.mark.usefixtures("one_torch_thread")
SMALL = dict(version=2, n_train=12, n_val=6, n_test=8, progress=False)


@pytest.mark.parametrize("upsample", UPSAMPLERS)
@pytest.mark.parametrize("stages,kl", [(1, False), (2, True)])
def test_reconstructor_keeps_the_shape(upsample, stages, kl):
    net = Reconstructor(upsample, stages=stages, kl=kl, depth=2).eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert net(x).shape == x.shape
    assert net.encoder(x).shape[-1] == 32 // 2 ** stages


def test_resynthesise_keeps_each_images_channel_means_and_detail_energy():
    torch.manual_seed(0)
    x = torch.rand(3, 3, 16, 16) * 1.6 - 0.8
    net = Reconstructor("nearest", stages=1)
    y, raw = resynthesise(net, x), resynthesise(net, x, match=False)
    assert torch.allclose(y.mean((2, 3)), x.mean((2, 3)), atol=0.05)
    energy = lambda t: highpass(t).pow(2).mean((1, 2, 3))  # noqa: E731
    assert ((energy(y) - energy(x)).abs() < 0.5 * (energy(raw) - energy(x)).abs()).all()


def test_shipped_weights_load_strictly_for_every_generator():
    assert WEIGHTS.is_file(), "dfdlab/data/mini_generators.pt ships with the package"
    gens = load_generators()
    assert set(gens) == set(MINI_GENERATORS) and TRAIN_GENERATOR in gens
    blob = torch.load(WEIGHTS, weights_only=True)
    sd = dict(blob["state_dicts"][TRAIN_GENERATOR])
    sd.pop(next(iter(sd)))
    with pytest.raises(RuntimeError, match="Missing key"):
        build_generator(TRAIN_GENERATOR).load_state_dict({k: v.float() for k, v in sd.items()}, strict=True)


def test_v2_layout_families_split_and_determinism(tmp_path):
    root = mini.build_mini(tmp_path / "a", **SMALL)
    m = pd.read_csv(root / "manifest.csv")
    test = m[m.split == "test"]
    assert test.generator.nunique() >= 8 and test[test.label == 1].family.nunique() >= 4
    assert (test.groupby(["generator", "label"]).size() == SMALL["n_test"]).all()
    fake_rows = m[m.label == 1]
    assert fake_rows.upsample.ne("").all() and set(m[m.split != "test"].generator) == {TRAIN_GENERATOR}
    # split by source photo: no photo feeds both train and test
    assert not set(m[m.split == "train"].source) & set(test.source)
    # same size and encoding for reals and fakes
    sizes = {Image.open(root / p).size for p in m.path}
    assert sizes == {(mini.IMAGE_SIZE, mini.IMAGE_SIZE)} and m.path.str.endswith(".png").all()
    again = pd.read_csv(mini.build_mini(tmp_path / "b", **SMALL) / "manifest.csv")
    assert again.sha256.tolist() == m.sha256.tolist()


def test_v2_jpeg_reals_variant_and_config_checks(tmp_path):
    root = mini.build_mini(tmp_path / "j", jpeg_reals=75, **SMALL)
    m = pd.read_csv(root / "manifest.csv")
    assert m[m.label == 0].path.str.endswith(".jpg").all() and m[m.label == 1].path.str.endswith(".png").all()
    assert mini.config_hash(mini.mini_config(version=2)) != mini.config_hash(mini.mini_config(version=2, jpeg_reals=75))
    with pytest.raises(ValueError, match="needs version=2"):
        mini.mini_config(version=1, jpeg_reals=75)
    with pytest.raises(ValueError, match="JPEG quality"):
        mini.mini_config(version=2, jpeg_reals=0)
