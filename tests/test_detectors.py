"""Detector registry, strict checkpoint loading in every official format, the CNNDetection baseline."""

from __future__ import annotations

import argparse
import collections

import dfdlab  # noqa: F401  (compat shim before torchvision)

import pytest
import torch
from torch import nn
from torchvision.models import resnet50

from dfdlab import detectors
from dfdlab.detectors import CheckpointError, Detector, load_checkpoint


class Tiny(Detector):
    name = "tiny_ckpt_test"

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 1)

    def forward(self, x):
        return self.fc(self.bn(self.conv(x)).mean((2, 3))).squeeze(1)


def _randomised(model):
    """Move every parameter and BN statistic away from its init (small steps: ResNet-50 must stay finite)."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.is_floating_point():
                t.add_(0.01 * torch.randn(t.shape, generator=g)).abs_() if "running_var" in name else \
                    t.add_(0.01 * torch.randn(t.shape, generator=g))
    return model


def test_load_checkpoint_formats_and_errors(tmp_path):
    src = _randomised(Tiny())
    sd = src.state_dict()
    x = torch.randn(2, 3, 8, 8)
    want = src.eval()(x)
    formats = {
        "raw.pth": sd,  # torch.save(model.state_dict()): NPR 3090, LGrad
        "trainer.pth": {"model": sd, "optimizer": {"state": {}, "param_groups": []}, "total_steps": 7},  # CNNDetection
        "ddp.pth": {"model": collections.OrderedDict(("module." + k, v) for k, v in sd.items())},  # NPR.pth
    }
    for fname, obj in formats.items():
        torch.save(obj, tmp_path / fname)
        m = load_checkpoint(Tiny(), tmp_path / fname)
        assert torch.equal(m.eval()(x), want), fname

    # Missing, unexpected and mis-shaped keys are all listed, with the file name.
    bad = dict(sd)
    del bad["bn.running_var"]
    bad["head.weight"] = torch.zeros(1)
    bad["fc.weight"] = torch.zeros(1, 5)
    torch.save(bad, tmp_path / "bad.pth")
    target = Tiny()
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(target, tmp_path / "bad.pth")
    msg = str(e.value)
    assert "bad.pth" in msg and "missing keys (1): bn.running_var" in msg
    assert "unexpected keys (1): head.weight" in msg and "fc.weight: checkpoint (1, 5) vs model (1, 4)" in msg
    assert all(torch.equal(before[k], v) for k, v in target.state_dict().items())  # nothing half-loaded

    # Files that are not checkpoints: empty, text, truncated, and pickled objects (weights_only).
    (tmp_path / "empty.pth").write_bytes(b"")
    (tmp_path / "text.pth").write_text("<html>Google Drive: virus scan warning</html>")
    blob = (tmp_path / "raw.pth").read_bytes()
    (tmp_path / "cut.pth").write_bytes(blob[: len(blob) // 2])
    torch.save({"model": sd, "opt": argparse.Namespace(lr=1e-4)}, tmp_path / "pickle.pth")  # a training script's options
    for fname, words in {"empty.pth": "empty", "text.pth": "not a PyTorch file", "cut.pth": "not a readable",
                         "pickle.pth": "weights only.*Namespace"}.items():
        with pytest.raises(CheckpointError, match=words) as e:
            load_checkpoint(Tiny(), tmp_path / fname)
        assert fname in str(e.value)
    with pytest.raises(FileNotFoundError, match="nowhere.pth"):
        load_checkpoint(Tiny(), tmp_path / "nowhere.pth")


def test_registry_builds_builtins_and_survives_missing_modules(monkeypatch):
    assert "cnnspot" in detectors.available()
    with pytest.raises(KeyError, match="available: .*cnnspot"):
        detectors.build("no_such_detector")
    # A built-in whose module is not written yet is simply absent.
    from dfdlab.detectors import base

    monkeypatch.setattr(base, "BUILTINS", base.BUILTINS + ("not_written_yet",))
    assert "not_written_yet" not in detectors.available() and "cnnspot" in detectors.available()

    @detectors.register("tiny_registry_test")
    class T2(Tiny):
        pass

    assert isinstance(detectors.build("tiny_registry_test"), T2)
    with pytest.raises(ValueError, match="already registered"):
        detectors.register("tiny_registry_test")(type("Other", (Tiny,), {}))


def test_cnnspot_is_the_official_resnet50_with_a_binary_head(tmp_path):
    torch.manual_seed(0)
    model = detectors.build("cnnspot", crop_size=32, load_size=40)
    sd = model.state_dict()
    # Official key names and sizes (PAPERS.md §3.4: 320 entries, 23,563,254 elements).
    ref = resnet50(num_classes=1)
    assert list(sd) == list(ref.state_dict())
    assert len(sd) == 320 and sum(v.numel() for v in sd.values()) == 23_563_254
    assert model.fc.in_features == 2048 and model.fc.out_features == 1
    assert abs(model.fc.weight.std().item() - 0.02) < 0.002  # N(0, 0.02) init
    assert (model.name, model.recipe) == ("cnnspot", "cnndetection")

    # An official trainer checkpoint {'model','optimizer','total_steps'} loads and gives the same logits.
    _randomised(ref)
    torch.save({"model": ref.state_dict(), "optimizer": {"state": {}, "param_groups": []}, "total_steps": 1},
               tmp_path / "model_epoch_best.pth")
    load_checkpoint(model, tmp_path / "model_epoch_best.pth")
    x = torch.randn(2, 3, 32, 32)
    ref.eval(), model.eval()
    with torch.no_grad():
        assert torch.allclose(model(x), ref(x).squeeze(1))
        assert model.features(x).shape == (2, 2048)

    # Test transform = eval.py (no resize, CenterCrop at the chosen size); train uses the sizes too.
    from PIL import Image

    img = Image.new("RGB", (50, 45), (10, 200, 30))
    assert model.transform(train=False)(img).shape == (3, 32, 32)
    assert model.transform(train=True)(img).shape == (3, 32, 32)

    # ImageNet weights are used only when asked, and never downloaded.
    from dfdlab import hub

    with pytest.raises(hub.AssetMissing, match="resnet50-imagenet"):
        detectors.build("cnnspot", pretrained=True)
