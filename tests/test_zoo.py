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


def test_evaluate_quick_scores_once_and_reads_back_the_same_table(tmp_path):
    """Lessons 07 and 09 score the same zoo models on the same images: the second read equals the computed
    table (rows, scores, dtypes), another set of images or retrained weights are scored afresh, and a set
    with an unreadable image is scored but not stored."""
    import numpy as np
    import pandas as pd
    import torch

    from dfdlab import detectors
    from dfdlab.data import ForenSynths
    from dfdlab.evaluate import evaluate
    from dfdlab.files import sha256sum
    from tests.test_evaluate import make_forensynths

    root = _fake_root(tmp_path / "data", "not-a-mini-build")
    entry = zoo.QUICK_ZOO["npr"]
    folder = zoo._folder("npr", None, root)
    folder.mkdir(parents=True)

    def save_weights(seed):
        torch.manual_seed(seed)
        torch.save(detectors.build("npr", **entry["build"]).state_dict(), folder / "best.pth")
        (folder / "info.json").write_text(json.dumps({"build": entry["build"], "mini_root": str(root),
                                                      "checkpoint_sha256": sha256sum(folder / "best.pth")}))

    save_weights(0)
    paths = make_forensynths(tmp_path / "a", n_real=6, n_fake=6, sizes=((64, 64),))
    make_forensynths(tmp_path / "b", n_real=5, n_fake=5, seed=1, sizes=((64, 64),))
    sets = {"a": ForenSynths(tmp_path / "a"), "b": ForenSynths(tmp_path / "b")}
    first = zoo.evaluate_quick("npr", sets, root=root)
    again = zoo.evaluate_quick("npr", sets, root=root)
    assert not first.attrs["from_cache"] and again.attrs["from_cache"]
    assert again.attrs["seconds"] == first.attrs["seconds"] and again.attrs["precision"] == first.attrs["precision"]
    pd.testing.assert_frame_equal(again, first)
    pd.testing.assert_frame_equal(again, evaluate(zoo.load_quick("npr", root=root), sets, progress=False))
    for g in sets:
        for got, want in zip(again.attrs["scores"][g], first.attrs["scores"][g], strict=True):
            assert got.dtype == want.dtype and np.array_equal(got, want)
    # a damaged scores file: named in a warning, scored again and rewritten
    import pytest

    stored = next((folder / "scores").glob("*.json"))
    stored.write_text('{"scores": ')
    with pytest.warns(UserWarning, match=stored.name):
        redone = zoo.evaluate_quick("npr", sets, root=root)
    assert not redone.attrs["from_cache"] and zoo.evaluate_quick("npr", sets, root=root).attrs["from_cache"]
    pd.testing.assert_frame_equal(redone, first)
    # fewer images: another key, computed
    assert not zoo.evaluate_quick("npr", {"a": sets["a"]}, root=root).attrs["from_cache"]
    # retrained weights: another checkpoint sha256, computed (and different scores)
    save_weights(1)
    other = zoo.evaluate_quick("npr", sets, root=root)
    assert not other.attrs["from_cache"]
    assert not np.array_equal(other.attrs["scores"]["a"][1], first.attrs["scores"]["a"][1])
    # an unreadable image: scored and reported, never stored
    paths[3].write_text("not an image")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        broken = [zoo.evaluate_quick("npr", {"a": ForenSynths(tmp_path / "a")}, root=root) for _ in range(2)]
    assert [t.attrs["from_cache"] for t in broken] == [False, False] and int(broken[1]["skipped"].iloc[0]) == 1
