"""The full recipes start, validate, seed and keep their model as the official trainers do.

- CNNDetection and LGrad ``networks/trainer.py``: ``resnet50(pretrained=True)``: the ImageNet
  ResNet-50 from the asset registry (here a small stand-in file registered in the test's
  DFDLAB_HOME, never a download); NPR from scratch.
- The kept model: NPR / LGrad ``save_networks('last')``; CNNDetection ``earlystop.py``'s
  latest ``save_checkpoint`` (``model_epoch_best.pth``), which UnivFD copies (its ``best``).
- UnivFD ``data/datasets.py`` validates on ``test/progan``.
- NPR ``train.py``: ``seed_torch(100)`` once, before the data and the model, cuDNN off.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from dfdlab import hub, train
from dfdlab.cli import main
from dfdlab.detectors import build, load_checkpoint
from dfdlab.files import sha256sum
from dfdlab.runtime import seed_everything

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def restore_cudnn():
    """``seed_run`` turns cuDNN off globally, as NPR's ``seed_torch``; put the flags back afterwards."""
    b = torch.backends.cudnn
    saved = (b.enabled, b.benchmark, b.deterministic)
    yield
    b.enabled, b.benchmark, b.deterministic = saved


@pytest.fixture
def fake_imagenet_resnet50(monkeypatch) -> dict:
    """A torchvision ResNet-50 state dict of seeded random weights, registered as "resnet50-imagenet".

    Written into the test's own DFDLAB_HOME, and the registry record's sha256 replaced by the
    file's (never the real file, never a download).
    """
    from torchvision.models import resnet50

    torch.manual_seed(7)
    net = resnet50(weights=None)
    with torch.no_grad():
        net.conv1.weight.normal_(0.0, 1.0)  # unlike any fresh kaiming init
    sd = net.state_dict()
    asset = hub.get("resnet50-imagenet")
    asset.target.parent.mkdir(parents=True, exist_ok=True)
    torch.save(sd, asset.target)
    monkeypatch.setitem(hub.ASSETS, asset.name, dataclasses.replace(asset, sha256=sha256sum(asset.target)))
    return sd


def _tiny_discriminator(size: int = 32) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 4, 4), nn.Flatten(), nn.Linear(4 * (size // 4) ** 2, 1))


def _split(root: Path, n: int, seed: int, size: int = 40) -> None:
    rng = np.random.default_rng(seed)
    for label, folder in enumerate(("0_real", "1_fake")):
        (root / folder).mkdir(parents=True)
        for i in range(n):
            a = rng.integers(0, 256, (size, size, 3)) if not label else \
                np.kron(rng.integers(0, 256, (size // 4, size // 4, 3)), np.ones((4, 4, 1)))
            Image.fromarray(a.astype(np.uint8)).save(root / folder / f"{i:02d}.png")


# ---------------------------------------------------------------- initial weights


def test_cnndetection_and_lgrad_start_from_imagenet_weights_by_default(fake_imagenet_resnet50):
    assert (train.RECIPES["cnndetection"].init, train.RECIPES["lgrad"].init) == ("imagenet", "imagenet")
    assert train.RECIPES["npr"].init == "random" and train.RECIPES["univfd"].init == "openai-clip"
    want = fake_imagenet_resnet50
    cnn, init = train.build_for_training("cnndetection")
    assert init == "imagenet" and cnn.pretrained
    lgrad, _ = train.build_for_training("lgrad", discriminator=_tiny_discriminator(), image_size=32)
    for model in (cnn, lgrad):
        sd = model.state_dict()
        for k, v in want.items():
            if not k.startswith("fc."):  # the head is new: Linear(2048, 1), N(0, 0.02)
                assert torch.equal(sd[k], v), k
        assert sd["fc.weight"].shape == (1, 2048) and abs(sd["fc.weight"].std().item() - 0.02) < 0.003
    scratch, init = train.build_for_training("cnndetection", init="random")
    assert init == "random" and not torch.equal(scratch.state_dict()["conv1.weight"], want["conv1.weight"])
    with pytest.raises(ValueError, match="no ImageNet initialisation"):
        train.build_for_training("npr", init="imagenet")
    with pytest.raises(ValueError, match="frozen OpenAI CLIP"):
        train.build_for_training("univfd", init="random")
    with pytest.raises(ValueError, match="contradicts"):
        train.build_for_training("cnndetection", pretrained=False)  # init="imagenet" from the recipe


def test_dfdlab_train_records_init_and_names_the_fetch_command(tmp_path, capsys, fake_imagenet_resnet50):
    data = tmp_path / "data"
    _split(data / "train" / "car", 4, 0)
    _split(data / "val" / "car", 2, 1)
    argv = ["train", "--detector", "cnndetection", "--set", "load_size=32", "--set", "crop_size=28",
            "--data", str(data), "--epochs", "1", "--batch-size", "4", "--quiet", "--device", "cpu"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    meta = json.loads((tmp_path / "a" / "run.json").read_text())
    assert (meta["init"], meta["keep"], meta["kept"], meta["val_split"]) == (
        "imagenet", "early_stopping", "early_stopping.pth", "val")
    assert main([*argv, "--init", "random", "--keep", "best", "--out", str(tmp_path / "b")]) == 0
    meta = json.loads((tmp_path / "b" / "run.json").read_text())
    assert (meta["init"], meta["keep"], meta["keep_option"], meta["kept"]) == ("random", "best", "best", "best.pth")
    capsys.readouterr()
    hub.get("resnet50-imagenet").target.unlink()  # absent: one line saying the one command that fetches it
    assert main([*argv, "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "dfdlab assets --fetch resnet50-imagenet" in err and len(err.strip().splitlines()) == 1
    assert main([*argv, "--keep", "early_stopping", "--recipe", "npr", "--out", str(tmp_path / "d")]) == 2
    assert "step decay" in capsys.readouterr().err


# ---------------------------------------------------------------- the kept model


class BiasOnly(nn.Module):
    """One logit for every image: val accuracy is the share of one label, so it follows the bias's sign."""

    def __init__(self, b: float = -0.15):
        super().__init__()
        self.b = nn.Parameter(torch.tensor(float(b)))

    def forward(self, x):
        return self.b.expand(x.shape[0])


def _bias_fit(tmp_path, name: str, keep: str = "official", epochs: int = 8):
    # Training on fakes only raises b by about lr per step (one step an epoch); val holds 3 reals and
    # 1 fake: acc 0.75 while b < 0 (epoch 0), then 0.25 for ever.
    tr = torch.utils.data.TensorDataset(torch.zeros(4, 1), torch.ones(4, dtype=torch.long))
    va = torch.utils.data.TensorDataset(torch.zeros(4, 1), torch.tensor([0, 0, 0, 1]))
    r = train.recipe(name, lr=0.1, batch_size=4, seed=0)
    return train.fit(BiasOnly(), tr, va, r, tmp_path / f"{name}-{keep}", epochs=epochs, progress=False, keep=keep)


def _b(path) -> float:
    return load_checkpoint(BiasOnly(), path).b.item()


def test_npr_and_lgrad_keep_the_last_epoch(tmp_path):
    for name in ("npr", "lgrad"):
        res = _bias_fit(tmp_path, name, epochs=4)
        assert list(res.history["val_acc"]) == [0.75, 0.25, 0.25, 0.25]
        assert (res.keep, res.kept_path.name, res.kept_epoch) == ("last", "last.pth", 3)
        assert res.best_epoch == 0 and _b(res.kept_path) > 0.2 > -0.05 > _b(res.best_path)
        best = _bias_fit(tmp_path, name, keep="best", epochs=4)  # best-on-validation is offered, and recorded
        assert (best.keep, best.kept_path.name, best.kept_epoch) == ("best", "best.pth", 0)
        assert json.loads((best.kept_path.parent / "run.json").read_text())["keep"] == "best"
        with pytest.raises(ValueError, match="step decay"):
            _bias_fit(tmp_path, name, keep="early_stopping", epochs=1)


@pytest.mark.parametrize("name", ["cnndetection", "univfd"])
def test_cnndetection_and_univfd_keep_the_early_stoppers_latest_save(tmp_path, name):
    """earlystop.py saves epoch 0 (first score), nothing while acc stays 0.25; patience 5 ends at epoch 5:
    lr / 10, and the fresh stopper saves epoch 6 whatever its accuracy. Best is 0, last 7: three rules, three epochs."""
    res = _bias_fit(tmp_path, name)
    accs = list(res.history["val_acc"])
    assert accs == [0.75] + [0.25] * 7
    assert train.early_stopping_saves(accs, train.RECIPES[name]) == [0, 6]
    assert np.allclose(res.history["lr"], [0.1] * 6 + [0.01] * 2)
    assert (res.keep, res.kept_path.name, res.kept_epoch, res.best_epoch) == ("early_stopping", "early_stopping.pth",
                                                                             6, 0)
    kept = torch.load(res.kept_path, weights_only=True)
    assert kept["epoch"] == 6 and kept["rule"] == "early_stopping"
    # the kept weights are those after epoch 6: one Adam step of lr 0.01 before the last
    assert _b(res.last_path) - _b(res.kept_path) == pytest.approx(0.01, rel=0.1)
    assert _b(res.best_path) < 0 < _b(res.kept_path)
    meta = json.loads((res.kept_path.parent / "run.json").read_text())
    assert meta["kept"] == "early_stopping.pth" and meta["epoch_by_rule"] == {"last": 7, "early_stopping": 6, "best": 0}

    # A resume picks the stopper's save up where it was
    first = _bias_fit(tmp_path / "resumed", name, epochs=7)
    assert first.kept_epoch == 6
    again = _bias_fit(tmp_path / "resumed", name, epochs=8)
    assert again.kept_epoch == 6 and _b(again.kept_path) == _b(res.kept_path)


def test_early_stopping_saves_replays_the_official_stopper():
    r = train.RECIPES["cnndetection"]
    # improvements need +0.001 (then +0.002 after the drop); epochs 5-9 do not improve: drop after 9
    accs = [0.50, 0.60, 0.6009, 0.600, 0.605, 0.605, 0.605, 0.605, 0.605, 0.6045, 0.601, 0.6025, 0.6035]
    assert train.early_stopping_saves(accs, r) == [0, 1, 4, 10, 12]


# ---------------------------------------------------------------- validation split, seeding


def test_univfd_validates_on_test_progan_as_its_train_py(tmp_path, capsys):
    data = tmp_path / "data"
    _split(data / "train" / "progan" / "car", 3, 0, size=8)
    _split(data / "test" / "progan" / "car", 2, 1, size=8)
    assert train.RECIPES["univfd"].val_split == "test/progan"
    argv = ["train", "--detector", "tiny", "--set", "size=8", "--recipe", "univfd", "--data", str(data),
            "--train-split", "train/progan", "--epochs", "1", "--batch-size", "2", "--quiet", "--device", "cpu"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    meta = json.loads((tmp_path / "a" / "run.json").read_text())
    assert meta["val_split"] == "test/progan" and meta["init"] == "openai-clip"
    capsys.readouterr()
    assert main([*argv, "--val-split", "val", "--out", str(tmp_path / "b")]) == 2  # the option: a val/ split
    assert "val is missing" in capsys.readouterr().err


def test_npr_is_seeded_once_before_data_and_model_with_cudnn_off(tmp_path, restore_cudnn):
    """``dfdlab train --detector npr`` == seed_torch(100); build; fit (no second seeding)."""
    data = tmp_path / "data"
    _split(data / "train" / "car", 4, 0, size=16)
    _split(data / "val" / "car", 2, 1, size=16)
    sizes = {"load_size": 16, "crop_size": 12}
    argv = ["train", "--detector", "npr", "--set", "load_size=16", "--set", "crop_size=12", "--data", str(data),
            "--epochs", "1", "--batch-size", "4", "--quiet", "--device", "cpu", "--out", str(tmp_path / "cli")]
    torch.manual_seed(1)
    torch.backends.cudnn.enabled = True
    assert main(argv) == 0
    assert torch.backends.cudnn.enabled is False  # seed_torch: cudnn.enabled = False
    cli = torch.load(tmp_path / "cli" / "last.pth", weights_only=True)["model"]

    from dfdlab.data import ForenSynths

    def manual(reseed: bool, out: str):
        r = train.recipe("npr", epochs=1, batch_size=4)
        seed_everything(100)
        model = build("npr", **sizes)
        train_set = ForenSynths(data / "train", transform=model.transform("train", augment=r.augmentation()))
        val_set = ForenSynths(data / "val", transform=model.transform("val", augment=r.augmentation()))
        if reseed:
            seed_everything(100)  # what fit used to do: the augmentation draws restart
        train.fit(model, train_set, val_set, r, tmp_path / out, progress=False, device="cpu")
        return torch.load(tmp_path / out / "last.pth", weights_only=True)["model"]

    once = manual(False, "once")
    assert all(torch.equal(v, once[k]) for k, v in cli.items())
    twice = manual(True, "twice")
    assert not all(torch.equal(v, twice[k]) for k, v in cli.items())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA: NPR's forward turns cuDNN off there")
def test_npr_forward_runs_without_cudnn_on_cuda(restore_cudnn):
    torch.backends.cudnn.enabled = True
    torch.manual_seed(0)
    model = build("npr", load_size=64, crop_size=56).cuda().eval()
    x = torch.randn(2, 3, 64, 64, device="cuda")
    with torch.no_grad():
        ours = model(x)
        with torch.backends.cudnn.flags(enabled=False):
            ref = model.fc1(model.features(x)).reshape(-1)
    assert torch.equal(ours, ref) and torch.backends.cudnn.enabled
