"""The quick zoo's cache folders: one per entry, seed and mini benchmark, none overwriting another."""

import json

from dfdlab import zoo
from dfdlab.data.mini import config_hash, mini_config


def _fake_root(path, key):
    path.mkdir()
    (path / "build_info.json").write_text(json.dumps({"config_hash": key}))
    (path / "manifest.csv").write_text("path\n")
    return path


def test_each_mini_benchmark_and_seed_has_its_own_folder(tmp_path):
    default = _fake_root(tmp_path / "default", config_hash(mini_config()))
    jpeg = _fake_root(tmp_path / "jpeg", config_hash(mini_config(jpeg_reals=75)))
    own_seed = zoo.QUICK_ZOO["npr"]["seed"]
    folders = {zoo._folder("npr", own_seed, default), zoo._folder("npr", own_seed, jpeg),
               zoo._folder("npr", 3, default), zoo._folder("npr", 3, jpeg)}
    assert len(folders) == 4
    # the default build at the entry's own seed is the folder lessons and the widget share
    assert zoo._folder("npr", None, default) == zoo._folder("npr") == zoo.zoo_dir() / "npr"
    assert zoo._folder("npr", 3, jpeg).name == f"npr@seed3@mini-{config_hash(mini_config(jpeg_reals=75))}"
    # a folder that is not a mini benchmark (a replica, a user's data) is tagged by its path
    other = tmp_path / "replica"
    other.mkdir()
    assert zoo._folder("npr", None, other).name.startswith("npr@data-")


def test_univfd_probe_is_the_same_whether_the_feature_cache_is_cold_or_warm(mini_root):
    """A cold feature cache must not change the probe (it once drew DataLoader seeds before the head's init,
    so lesson 04's numbers depended on which notebook or test trained the zoo's UnivFD first)."""
    _, cold = zoo.train_quick("univfd", mini_root)  # this test's DFDLAB_HOME is empty: features extracted here
    _, warm = zoo.train_quick("univfd", mini_root, force=True)  # features from the cache
    assert not cold["from_cache"] and not warm["from_cache"]
    assert cold["checkpoint_sha256"] == warm["checkpoint_sha256"], (cold["best_epoch"], warm["best_epoch"])


def test_a_cached_lgrad_keeps_its_gradient_map_cache(tmp_path):
    """The zoo's LGrad read back from the zoo keeps ``gradient_cache`` (lessons 06, 07 and 09 evaluate it on the
    same test images: without the cache each recomputed ~2,000 maps), and the maps equal the computed ones."""
    import torch

    from dfdlab import detectors
    from dfdlab.config import home as dfdlab_home
    from dfdlab.detectors.lgrad import GradientCache, gradient_map

    root = _fake_root(tmp_path / "data", "not-a-mini-build")
    entry = zoo.QUICK_ZOO["lgrad"]
    model = detectors.build("lgrad", **zoo._zoo_kwargs(entry, root))
    folder = zoo._folder("lgrad", None, root)
    folder.mkdir(parents=True)
    torch.save(model.state_dict(), folder / "best.pth")
    (folder / "info.json").write_text(json.dumps({"build": entry["build"], "discriminator": entry["discriminator"],
                                                  "mini_root": str(root)}))
    loaded = zoo.load_quick("lgrad", root=root)
    assert loaded.cache is not None and loaded.cache.method == entry["build"]["method"]
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    assert torch.equal(loaded.gradients(x), gradient_map(loaded.discriminator, x, quantize=True, method="loop"))
    assert (loaded.cache.hits, loaded.cache.misses) == (0, 2)
    # the same maps through another cache object of the same D and method: read back, not recomputed
    again = GradientCache(dfdlab_home() / "cache" / "lgrad", loaded.discriminator, "loop")
    assert torch.equal(again.maps(x), loaded.gradients(x)) and (again.hits, again.misses) == (2, 0)
    # another method rounds differently: its own folder, so a "loop" map is never served for it
    other = GradientCache(dfdlab_home() / "cache" / "lgrad", loaded.discriminator, "hybrid")
    assert other.root != again.root
    other.maps(x)
    assert (other.hits, other.misses) == (0, 2)


def test_an_every_epoch_entry_loads_each_epoch_and_names_a_missing_one(tmp_path):
    import pytest
    import torch

    from dfdlab import detectors
    from dfdlab.train import epoch_file

    root = _fake_root(tmp_path / "data", "not-a-mini-build")
    entry = zoo.QUICK_ZOO["npr"]
    assert entry["every_epoch"]  # lesson 08 reads the zoo NPR's epochs
    folder = zoo._folder("npr", None, root)
    states = []
    for e in range(2):
        torch.manual_seed(e)
        states.append(detectors.build("npr", **entry["build"]).state_dict())
        (folder / "epochs").mkdir(parents=True, exist_ok=True)
        torch.save(states[-1], folder / "epochs" / epoch_file(e))
    torch.save(states[1], folder / "best.pth")
    (folder / "info.json").write_text(json.dumps({"build": entry["build"], "mini_root": str(root), "best_epoch": 1}))
    for e in range(2):
        got = zoo.load_quick("npr", root=root, epoch=e).state_dict()
        assert all(torch.equal(v, states[e][k]) for k, v in got.items())
    kept = zoo.load_quick("npr", root=root).state_dict()
    assert all(torch.equal(v, states[1][k]) for k, v in kept.items())
    with pytest.raises(FileNotFoundError, match="epoch_002.pth"):
        zoo.load_quick("npr", root=root, epoch=2)
