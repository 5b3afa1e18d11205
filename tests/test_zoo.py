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
