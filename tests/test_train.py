"""The trainer: exact resume, the official lr rules, selection on validation, torchrun DDP."""

from __future__ import annotations

import inspect
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from dfdlab import recipes, train
from dfdlab.detectors import build, load_checkpoint
from dfdlab.detectors.tiny import TinyDetector

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class NoisyToy(torch.utils.data.Dataset):
    """Tensors whose every read draws from torch, NumPy and Python RNGs (as real augmentations do)."""

    def __init__(self, n: int, seed: int):
        g = torch.Generator().manual_seed(seed)
        self.y = torch.arange(n) % 2
        self.x = torch.randn(n, 3, 8, 8, generator=g) + 0.7 * self.y[:, None, None, None]

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        x = self.x[i] + 0.3 * torch.randn(3, 8, 8) + float(np.random.normal(0, 0.1))
        if random.random() < 0.5:
            x = x.flip(-1)
        return x, int(self.y[i])


class BiasOnly(nn.Module):
    """One logit for every image, whatever the image: val accuracy is set by the class balance alone."""

    def __init__(self, b: float = 0.0):
        super().__init__()
        self.b = nn.Parameter(torch.tensor(float(b)))

    def forward(self, x):
        return self.b.expand(x.shape[0])


def _tiny(seed=0):
    torch.manual_seed(seed)
    return TinyDetector(size=8)  # conv + BN + dropout: every RNG and buffer matters


# ---------------------------------------------------------------- (a) resume == uninterrupted


@pytest.mark.parametrize("name, overrides", [
    ("cnndetection", {"patience": 1}),  # early stopping drops the lr within 4 epochs
    ("npr", {"decay_every": 1}),  # step decay every epoch
])
def test_resume_after_epoch_2_gives_the_same_weights(tmp_path, name, overrides):
    r = train.recipe(name, batch_size=8, seed=0, **overrides)
    tr, va = NoisyToy(32, 1), NoisyToy(16, 2)

    train.seed_run(0)  # once, before the model (fit never reseeds)
    straight = train.fit(_tiny(), tr, va, r, tmp_path / "a", epochs=4, progress=False)

    train.seed_run(0)
    first = train.fit(_tiny(), tr, va, r, tmp_path / "b", epochs=2, progress=False)
    assert list(first.history["epoch"]) == [0, 1]
    # A new process would start from other RNG states: scramble them all before resuming.
    torch.manual_seed(12345), np.random.seed(12345), random.seed(12345)
    model = _tiny(seed=999)  # other initial weights too: resume must load them
    resumed = train.fit(model, tr, va, r, tmp_path / "b", epochs=4, progress=False)

    a = torch.load(tmp_path / "a" / "last.pth", weights_only=True)
    b = torch.load(tmp_path / "b" / "last.pth", weights_only=True)
    assert a["total_steps"] == b["total_steps"] == 16
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
    for k, v in model.state_dict().items():
        assert torch.equal(v.cpu(), a["model"][k]), k
    cols = ["epoch", "lr", "train_loss", "val_acc", "val_ap"]
    assert straight.history[cols].equals(resumed.history[cols])
    assert straight.history["lr"].nunique() > 1, "the lr rule never fired: the test would not check its state"


# ---------------------------------------------------------------- (b) step decays


def test_step_decay_matches_npr_and_lgrad_train_py():
    for name, lr_end, decay_epochs in [
        ("npr", 2e-4 * 0.9**4, [10, 20, 30, 40]),  # NPR: --niter 50 --delr_freq 10, lr *= 0.9
        ("lgrad", 5e-4 * 0.8**9, [10, 20, 30, 40, 50, 60, 70, 80, 90]),  # LGrad: --niter 100, lr *= 0.8
    ]:
        r = train.RECIPES[name]
        lr, fired = r.lr, []
        for e in range(r.epochs):
            new = train.step_decay(lr, e, r.decay_every, r.decay_factor)
            if new != lr:
                fired.append(e)
            lr = new
        assert fired == decay_epochs
        assert lr == pytest.approx(lr_end, rel=1e-12)


def test_recipes_are_the_official_numbers_and_overrides_copy():
    R = train.RECIPES
    assert (R["cnndetection"].optimizer, R["cnndetection"].lr, R["cnndetection"].batch_size) == ("adam", 1e-4, 64)
    assert (R["univfd"].optimizer, R["univfd"].weight_decay, R["univfd"].batch_size, R["univfd"].epochs) == (
        "adamw", 0.0, 256, 100)
    assert (R["npr"].lr, R["npr"].batch_size, R["npr"].epochs, R["npr"].seed) == (2e-4, 32, 50, 100)
    assert (R["lgrad"].lr, R["lgrad"].batch_size, R["lgrad"].epochs, R["lgrad"].seed) == (5e-4, 16, 100, None)
    assert R["cnndetection"].blur_jpeg_prob == R["univfd"].blur_jpeg_prob == 0.5 and R["npr"].blur_jpeg_prob == 0
    assert train.recipe("ufd") == R["univfd"] and train.recipe("cnnspot") == R["cnndetection"]  # the aliases
    assert train.RECIPES is recipes.RECIPES and train.Recipe is recipes.Recipe
    quick = train.recipe("npr", epochs=2, batch_size=4)
    assert (quick.epochs, quick.batch_size, quick.lr) == (2, 4, 2e-4) and R["npr"].epochs == 50
    with pytest.raises(TypeError, match="no field"):
        train.recipe("npr", learning_rate=1)


# ---------------------------------------------------------------- (c) early stopping


def test_early_stopping_rule_on_a_scripted_sequence():
    r = train.RECIPES["cnndetection"]
    # epoch:  0    1    2      3      4      5      6      7   (first stopper, delta -0.001)
    accs = [0.50, 0.60, 0.6009, 0.600, 0.605, 0.605, 0.605, 0.605,
            # 8     9      10     11     12   (delta -0.002 now: +0.0015 is not an improvement)
            0.601, 0.6025, 0.601, 0.601, 0.601, 0.601]
    stopper, lr, lrs, stops = train.EarlyStopping(r.patience, r.delta), r.lr, [], []
    for acc in accs:
        stopper, lr, stop, _ = train.early_stopping_update(stopper, lr, acc, r)
        lrs.append(lr)
        stops.append(stop)
    # 0.6009 < 0.60 + 0.001 counts as no improvement; 0.605 resets at epoch 4; epochs 5-9 -> patience 5 hit at 9.
    assert lrs[:9] == [1e-4] * 9 and lrs[9] == pytest.approx(1e-5)
    # New stopper: epoch 10 sets best 0.601; 11-13 do not improve by 0.002 -> still 1e-5, no stop.
    assert lrs[10:] == [lrs[9]] * 4 and not any(stops)


def test_fit_drops_lr_twice_and_stops_below_min_lr(tmp_path):
    # A constant logit on a balanced val set: val acc is 0.5 every epoch, so the stopper fires
    # every 5 epochs after its first: lr 1e-4 (epochs 0-5), 1e-5 (6-11), 1e-6 (12-17), then 1e-7 < 1e-6.
    ds = torch.utils.data.TensorDataset(torch.zeros(4, 1), torch.tensor([0, 1, 0, 1]))
    res = train.fit(BiasOnly(), ds, ds, train.recipe("cnndetection", batch_size=4, seed=0), tmp_path,
                    epochs=100, progress=False)
    assert res.stopped_early and len(res.history) == 18
    assert (res.history["val_acc"] == 0.5).all()
    expect = [1e-4] * 6 + [1e-5] * 6 + [1e-6] * 6
    assert np.allclose(res.history["lr"], expect, rtol=1e-9)
    ck = torch.load(res.last_path, weights_only=True)
    assert ck["stopped_early"] and ck["lr"] < 1e-6
    again = train.fit(BiasOnly(), ds, ds, train.recipe("cnndetection", batch_size=4, seed=0), tmp_path,
                      epochs=100, progress=False)  # resuming a finished run trains nothing more
    assert len(again.history) == 18 and again.stopped_early


# ---------------------------------------------------------------- (e) selection on validation


def test_best_checkpoint_is_chosen_on_validation_only(tmp_path):
    assert not any("test" in p for p in inspect.signature(train.fit).parameters)
    # Training on fakes only pushes the single logit up by ~lr per step: val (3 real, 1 fake)
    # prefers the first epoch (b < 0: acc 0.75), later epochs have b > 0 (acc 0.25).
    tr = torch.utils.data.TensorDataset(torch.zeros(4, 1), torch.ones(4, dtype=torch.long))
    va = torch.utils.data.TensorDataset(torch.zeros(4, 1), torch.tensor([0, 0, 0, 1]))
    model = BiasOnly(-0.15)
    res = train.fit(model, tr, va, train.recipe("npr", lr=0.1, batch_size=4, seed=0), tmp_path,
                    epochs=4, progress=False)
    assert list(res.history["val_acc"]) == [0.75, 0.25, 0.25, 0.25]
    assert res.best_epoch == 0
    best = load_checkpoint(BiasOnly(), res.best_path)  # the inference loader reads best.pth
    assert best.b.item() == pytest.approx(-0.05, abs=0.01) and model.b.item() > 0.2
    assert torch.load(res.best_path, weights_only=True)["epoch"] == 0
    # Ties on val acc are broken by val AP, then by the earlier epoch.
    assert train._better(0.8, 0.9, (0.8, 0.85)) and not train._better(0.8, 0.85, (0.8, 0.85))
    assert not train._better(0.8, float("nan"), (0.8, 0.1))


def test_every_epoch_keeps_each_epochs_weights_and_best_is_one_of_them(tmp_path):
    tr = torch.utils.data.TensorDataset(torch.zeros(4, 1), torch.ones(4, dtype=torch.long))
    va = torch.utils.data.TensorDataset(torch.zeros(4, 1), torch.tensor([0, 0, 0, 1]))
    res = train.fit(BiasOnly(-0.15), tr, va, train.recipe("npr", lr=0.1, batch_size=4, seed=0), tmp_path,
                    epochs=3, progress=False, keep="best", every_epoch=True)
    snaps = [torch.load(tmp_path / train.epoch_file(e), weights_only=True) for e in range(3)]
    assert [s["epoch"] for s in snaps] == [0, 1, 2]
    assert [s["val_acc"] for s in snaps] == list(res.history["val_acc"])
    bias = [s["model"]["b"].item() for s in snaps]
    assert bias[0] < bias[1] < bias[2]  # trained on fakes only: the logit rises every epoch
    assert torch.load(res.best_path, weights_only=True)["model"]["b"].item() == bias[res.best_epoch]
    other = tmp_path / "default"
    train.fit(BiasOnly(-0.15), tr, va, train.recipe("npr", lr=0.1, batch_size=4, seed=0), other, epochs=2,
              progress=False)
    assert not list(other.glob("epoch_*.pth"))  # off by default


# ---------------------------------------------------------------- unreadable files, bugs, Blur+JPEG


class Flaky(NoisyToy):
    """``NoisyToy`` whose item 3 is an unreadable file and, with ``bug=True``, whose item 5 hits a bug."""

    def __init__(self, n, seed, bug=False):
        super().__init__(n, seed)
        self.bug = bug

    def __getitem__(self, i):
        from dfdlab.data import ImageError

        if i == 3:
            raise ImageError(f"/data/{i}.png", "corrupt", "broken data stream")
        if self.bug and i == 5:
            raise RuntimeError("a bug in a transform")
        return super().__getitem__(i)


def test_unreadable_training_files_are_skipped_once_and_a_bug_propagates(tmp_path):
    r = train.recipe("npr", batch_size=4, seed=0)
    with pytest.warns(UserWarning, match="/data/3.png"):
        res = train.fit(_tiny(), Flaky(12, 1), NoisyToy(8, 2), r, tmp_path / "a", epochs=2, progress=False)
    assert [b.path for b in res.extra["skipped"]] == ["/data/3.png"]  # named once, not once per epoch
    assert "/data/3.png" in (tmp_path / "a" / "train_skipped.csv").read_text()
    with pytest.raises(RuntimeError, match="a bug in a transform"):
        train.fit(_tiny(), Flaky(12, 1, bug=True), NoisyToy(8, 2), r, tmp_path / "b", epochs=1, progress=False)


def test_blur_jpeg_prob_drives_the_train_and_val_transforms():
    from dfdlab.data.transforms import DataAugment

    def augment_steps(tf):
        return [t for t in tf.transforms if isinstance(t, DataAugment)]

    model = TinyDetector(size=8)
    plain = train.recipe("npr").augmentation()
    assert not augment_steps(model.transform("train", augment=plain))  # NPR trains without blur/JPEG
    aug = train.recipe("npr", blur_jpeg_prob=0.5).augmentation()
    (step,) = augment_steps(model.transform("train", augment=aug))
    assert (step.blur_prob, step.jpg_prob, step.blur_sig, step.jpg_qual) == (0.5, 0.5, (0.0, 3.0), (30, 100))
    (val,) = augment_steps(model.transform("val", augment=aug))  # CNNDetection get_val_opt: fixed strengths
    assert (val.blur_prob, val.blur_sig, val.jpg_method, list(val.jpg_qual)) == (0.5, (1.5,), ("pil",), [65])
    npr = build("npr")  # the papers' detectors read the same options
    assert not augment_steps(npr.transform("train", augment=plain))
    assert len(augment_steps(npr.transform("train", augment=aug))) == 1
    assert train.recipe("cnndetection").augmentation() == {
        "blur_prob": 0.5, "blur_sig": (0.0, 3.0), "jpg_prob": 0.5, "jpg_method": ("cv2", "pil"), "jpg_qual": (30, 100)}


# ---------------------------------------------------------------- (d) torchrun DDP


def _write_png_split(root: Path, n: int, seed: int):
    from PIL import Image

    rng = np.random.default_rng(seed)
    for label, folder in enumerate(("0_real", "1_fake")):
        (root / folder).mkdir(parents=True)
        for i in range(n):
            if label:  # 'fake': 4x4 noise up-sampled by nearest neighbour (blocky)
                a = np.kron(rng.integers(0, 256, (4, 4, 3)), np.ones((4, 4, 1)))
            else:
                a = np.full((16, 16, 3), rng.integers(60, 200)) + rng.integers(-20, 20, (16, 16, 3))
            Image.fromarray(a.clip(0, 255).astype(np.uint8)).save(root / folder / f"{i:02d}.png")


def test_torchrun_two_cpu_processes_train_to_a_checkpoint(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    _write_png_split(data / "train", 8, 0)
    _write_png_split(data / "val", 4, 1)
    torchrun = Path(sys.executable).with_name("torchrun")
    cmd = [str(torchrun) if torchrun.exists() else sys.executable, *([] if torchrun.exists() else ["-m", "torch.distributed.run"]),
           "--standalone", "--nproc_per_node", "2", "-m", "dfdlab.train", "--detector", "tiny",
           "--set", "size=16", "--recipe", "npr", "--data", str(data), "--out", str(out),
           "--epochs", "2", "--batch-size", "8", "--device", "cpu", "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    ck = torch.load(out / "last.pth", weights_only=True)
    assert ck["world_size"] == 2 and len(ck["rng"]) == 2
    # 16 images, global batch 8 = 4 per rank on 8 images each: 2 steps per epoch.
    assert ck["total_steps"] == 4 and [h["epoch"] for h in ck["history"]] == [0, 1]
    assert not any(k.startswith("module.") for k in ck["model"])
    model = TinyDetector(size=16)
    load_checkpoint(model, out / "best.pth")
    load_checkpoint(model, out / "last.pth")
    assert all(math.isfinite(h["train_loss"]) for h in ck["history"])
