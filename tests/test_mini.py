"""The embedded mini benchmark (the default, v2): layout, sizes, split by source photo, models; v1's reduced build."""

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from sklearn.metrics import average_precision_score

import dfdlab
from dfdlab.data import mini
from dfdlab.data.mini_generators import MINI_GANS, MINI_GENERATORS, TRAIN_GENERATOR
from dfdlab.files import sha256sum
from dfdlab.viz.frequency import as_tensor, average_spectrum, spectrum_distance, upsampling_energy_ratio


@pytest.fixture(scope="module")
def manifest(mini_root):
    return pd.read_csv(mini_root / "manifest.csv")


def test_layout_sizes_and_models(mini_root, manifest):
    test = manifest[manifest.split == "test"]
    counts = test.groupby(["generator", "label"]).size().unstack()
    assert set(counts.index) == set(MINI_GENERATORS) | set(MINI_GANS)
    assert len(counts) >= 8 and counts.min().min() >= 200, counts
    assert test[test.label == 1].family.nunique() >= 4
    # train/val hold only the train generator, as ForenSynths holds only ProGAN
    tv = manifest[manifest.split.isin(["train", "val"])]
    assert set(tv.generator) == {TRAIN_GENERATOR} and set(tv.label) == {0, 1}
    # files: as listed, 64x64 RGB PNG, checksums match (a sample)
    files = sorted(p.relative_to(mini_root).as_posix() for p in mini_root.glob("*/*/*/*.png"))
    assert files == sorted(manifest.path)
    assert manifest.sha256.is_unique  # no duplicated image anywhere (e.g. a collapsed generator)
    for row in manifest.sample(12, random_state=0).itertuples():
        with Image.open(mini_root / row.path) as im:
            assert im.format == "PNG" and im.mode == "RGB" and im.size == (64, 64)
        assert sha256sum(mini_root / row.path) == row.sha256
        assert ("1_fake" in row.path) == (row.label == 1)
    # the GAN family's pair loads strictly and samples 64x64 (its D is LGrad's quick transformation model)
    for name, spec in MINI_GANS.items():
        G, D = dfdlab.gan.load_pair(mini_root / "models" / f"{name}.pth")
        assert G.upsample == spec["net"]["upsample"]
        with torch.no_grad():
            assert G(torch.randn(2, G.nz)).shape == (2, 3, 64, 64) and D(torch.zeros(2, 3, 64, 64)).shape == (2,)
    info = mini.build_info(mini_root)
    assert info["n_images"] == len(manifest)


def test_split_by_source_photo(manifest):
    photos = manifest[manifest.source != "latent"]
    by_split = {s: set(photos[photos.split == s].source) for s in ("train", "val", "test")}
    assert by_split["train"] and by_split["val"] and by_split["test"]
    assert not by_split["train"] & by_split["test"], by_split["train"] & by_split["test"]
    assert not by_split["train"] & by_split["val"] and not by_split["val"] & by_split["test"]
    # the bundled table says the same
    assert by_split["test"] == {n for n, _, s in mini.BUNDLED_PHOTOS if s == "test"}


def test_reduced_v1_build_is_deterministic_and_cached(tmp_path):
    kw = dict(version=1, n_train=6, n_val=4, n_test=6, n_pool=48, gan_iters=3, gan_batch=8, ae_iters=3, up_iters=3,
              progress=False, workers=1)
    a = pd.read_csv(mini.build_mini(tmp_path / "a", **kw) / "manifest.csv")
    root_b = mini.build_mini(tmp_path / "b", **kw)
    b = pd.read_csv(root_b / "manifest.csv")
    assert len(a) == 2 * (6 + 4) + 2 * 6 * 6  # (3 training steps: some fakes are still flat grey duplicates)
    pd.testing.assert_frame_equal(a, b)
    # the default root is keyed by the config: same config -> same folder, instant; another seed -> another
    r1 = mini.build_mini(**kw)
    assert r1.parent == dfdlab.home() / "mini" and mini.build_mini(**kw) == r1
    assert mini.config_hash(mini.mini_config(seed=1, **{k: v for k, v in kw.items() if k not in ("progress", "workers")})) != r1.name
    assert not list((dfdlab.home() / "mini").glob(".*tmp*"))  # the temp build dir was renamed away
    with pytest.raises(FileExistsError, match="another config"):
        mini.build_mini(root_b, seed=1, **kw)


def test_missing_photo_package_is_a_clear_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("skimage"):
            raise ImportError("No module named 'skimage'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(mini.MissingPhotoPackage, match="pip install scikit-image"):
        mini.load_bundled_photo("astronaut", "skimage")


def test_frequency_feature_and_spectra(mini_root):
    """The fakes carry real up-sampling artefacts: a one-number spectral feature finds the transposed-conv ones."""
    ap, spectra = {}, {}
    gens = [*MINI_GENERATORS, *MINI_GANS]
    for gen in gens:
        real = as_tensor(mini_root / "test" / gen / "0_real")
        fake = as_tensor(mini_root / "test" / gen / "1_fake")
        score = np.r_[upsampling_energy_ratio(real), upsampling_energy_ratio(fake)]
        y = np.r_[np.zeros(len(real)), np.ones(len(fake))]
        ap[gen] = average_precision_score(y, score)
        spectra[gen] = average_spectrum(fake)
        spectra[f"real:{gen}"] = average_spectrum(real)
    print({k: round(v, 3) for k, v in ap.items()})
    # the checkerboard of ConvTranspose2d(k4, s2) puts energy at N/2 (measured 1.0 and 0.999 on the seed-0 build)
    assert ap["ae_transposed_f4"] > 0.9 and ap["dcgan_transposed"] > 0.9, ap
    # two disjoint sets of real crops give nearly the same spectrum; every pair of generators differs more
    # (seed-0 build: the closest pair, two f2 reconstructors, 2.4 times the real-vs-real distance)
    real_noise = spectrum_distance(spectra["real:ae_nearest_f2"], spectra["real:ae_bilinear_f4"])
    d = {(a, b): spectrum_distance(spectra[a], spectra[b]) for i, a in enumerate(gens) for b in gens[i + 1:]}
    print(f"real vs real {real_noise:.3f}", {f"{a}/{b}": round(v, 3) for (a, b), v in d.items()})
    assert min(d.values()) > 2 * real_noise, (real_noise, d)
