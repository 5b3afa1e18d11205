"""Detector registry, strict checkpoint loading in every official format, the CNNDetection baseline,
each detector's own preprocessing (``transform(split, benchmark=, augment=)``, ``describe``)."""

from __future__ import annotations

import argparse
import collections

import dfdlab  # noqa: F401  (compat shim before torchvision)

# isort: split
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
    # One name per method; the older names still build the same class.
    # (other test modules register toy detectors of their own: look only at the papers' names)
    papers = [n for n in detectors.available() if n in {"cnndetection", "cnnspot", "lgrad", "npr", "univfd", "ufd"}]
    assert papers == ["cnndetection", "lgrad", "npr", "univfd"]  # canonical names, no aliases
    assert detectors.get("cnnspot") is detectors.get("cnndetection")
    assert detectors.get("ufd") is detectors.get("univfd")
    with pytest.raises(KeyError, match="available: .*cnndetection"):
        detectors.build("no_such_detector")
    # A built-in whose module is not written yet is simply absent.
    from dfdlab.detectors import base

    monkeypatch.setattr(base, "BUILTINS", base.BUILTINS + ("not_written_yet",))
    assert "not_written_yet" not in detectors.available() and "cnndetection" in detectors.available()

    @detectors.register("tiny_registry_test")
    class T2(Tiny):
        pass

    assert isinstance(detectors.build("tiny_registry_test"), T2)
    with pytest.raises(ValueError, match="already registered"):
        detectors.register("tiny_registry_test")(type("Other", (Tiny,), {}))


def test_cnndetection_is_the_official_resnet50_with_a_binary_head(tmp_path):
    torch.manual_seed(0)
    model = detectors.build("cnnspot", crop_size=32, load_size=40)
    sd = model.state_dict()
    # Official key names and sizes (the released checkpoints: 320 entries, 23,563,254 elements).
    ref = resnet50(num_classes=1)
    assert list(sd) == list(ref.state_dict())
    assert len(sd) == 320 and sum(v.numel() for v in sd.values()) == 23_563_254
    assert model.fc.in_features == 2048 and model.fc.out_features == 1
    assert abs(model.fc.weight.std().item() - 0.02) < 0.002  # N(0, 0.02) init
    assert (model.name, model.recipe, model.paper_method) == ("cnndetection", "cnndetection", "CNNDetection")

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
    assert model.transform("val")(img).shape == (3, 32, 32)

    # ImageNet weights are used only when asked, and never downloaded.
    from dfdlab import hub

    with pytest.raises(hub.AssetMissing, match="resnet50-imagenet"):
        detectors.build("cnnspot", pretrained=True)


def _seeded(tf, img, seed=3):
    """``tf(img)`` after seeding Python's ``random`` (data_augment) and torch (torchvision's random steps)."""
    import random

    random.seed(seed)
    torch.manual_seed(seed)
    return tf(img)


def test_split_forms_and_the_official_validation_pipelines():
    import numpy as np
    from PIL import Image
    from torchvision import transforms as TV

    from dfdlab.data.transforms import DataAugment, transform_repr

    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (70, 90, 3), dtype=np.uint8))
    cnn = detectors.build("cnnspot", load_size=64, crop_size=56)
    npr = detectors.build("npr", load_size=64, crop_size=56)
    imagenet = TV.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])

    # The bool forms are the "train" and "test" splits.
    for m in (cnn, npr):
        for same in (m.transform(True), m.transform(train=True)):
            assert transform_repr(same) == transform_repr(m.transform("train"))
        for same in (m.transform(False), m.transform(train=False), m.transform()):
            assert transform_repr(same) == transform_repr(m.transform("test"))
    with pytest.raises(ValueError, match="split"):
        cnn.transform("validation")
    with pytest.raises(ValueError, match="not to the test"):
        cnn.transform("test", augment={"blur_prob": 0.0})
    with pytest.raises(ValueError, match="test settings"):
        npr.transform("train", benchmark="gangen")
    with pytest.raises(KeyError, match="no test settings for benchmark 'imagenet'"):
        npr.transform("test", benchmark="imagenet")

    # CNNDetection train.py get_val_opt, written out: shorter side to 64, blur sigma 1.5 and PIL JPEG
    # q 65 at the train probabilities (0.5), CenterCrop, ImageNet normalisation.
    official_cnn_val = TV.Compose([TV.Resize(64), DataAugment(0.5, (1.5,), 0.5, ("pil",), (65,)),
                                   TV.CenterCrop(56), TV.ToTensor(), imagenet])
    for seed in range(6):  # several seeds: blur and JPEG each on and off
        assert torch.equal(_seeded(cnn.transform("val"), img, seed), _seeded(official_cnn_val, img, seed)), seed
    # The recipe's options drive it: probability 1 blurs and compresses every image.
    always = {"blur_prob": 1.0, "blur_sig": (0.0, 3.0), "jpg_prob": 1.0, "jpg_method": ("cv2", "pil"),
              "jpg_qual": (30, 100)}
    forced = TV.Compose([TV.Resize(64), DataAugment(1.0, (1.5,), 1.0, ("pil",), (65,)), TV.CenterCrop(56),
                         TV.ToTensor(), imagenet])
    assert torch.equal(_seeded(cnn.transform("val", augment=always), img), _seeded(forced, img))

    # NPR train.py val_opt: Resize((64, 64)) -> CenterCrop(56), no blur/JPEG.
    official_npr_val = TV.Compose([TV.Resize((64, 64)), TV.CenterCrop(56), TV.ToTensor(), imagenet])
    assert torch.equal(npr.transform("val")(img), official_npr_val(img))
    no_aug = {**always, "blur_prob": 0.0, "jpg_prob": 0.0}  # what the NPR recipe's augmentation() gives
    assert transform_repr(npr.transform("train", augment=no_aug)) == transform_repr(npr.transform("train"))
    assert "DataAugment" in transform_repr(npr.transform("train", augment=always))


def test_describe_says_what_each_model_really_runs_with():
    from dfdlab.gan import Discriminator

    # The quick zoo's LGrad runs at 64 px: its description says so, in every field that names a size.
    quick_lgrad = detectors.build("lgrad", discriminator=Discriminator(), image_size=64, crop_size=56)
    for split in ("train", "val", "test"):
        d = quick_lgrad.describe(split)
        assert d["resize"].startswith("Resize((64,64))") and d["input_size"] == "64x64", d
        assert "256" not in d["resize"] + d["crop"] + d["transform"], d
    assert quick_lgrad.describe("test", "forensynths")["crop"] == "none (the full 64x64 gradient map)"
    assert quick_lgrad.describe("train")["crop"].startswith("RandomCrop(56)")

    npr = detectors.build("npr", load_size=64, crop_size=56)
    d = npr.describe("test", benchmark="gangen")
    assert d["resize"] == "none (native size)" and d["crop"] == "none" and d["benchmark"] == "gangen"
    assert "DetectionTests['gangen']" in d["protocol_source"] and " at 0x" not in d["transform"]
    assert npr.describe("test", "forensynths")["resize"] == "Resize((64,64)) bilinear"
    cnn = detectors.build("cnndetection", load_size=64, crop_size=56)
    d = cnn.describe("val")
    assert d["augmentation"] == "blur p=0.5 sigma (1.5,); JPEG p=0.5 pil q (65,)" and d["crop"] == "CenterCrop(56)"
    assert cnn.describe()["resize"] == "none (native)" and "eval.py" in cnn.describe()["protocol_source"]
    assert set(d) >= {"detector", "model", "resize", "crop", "normalisation", "input_size", "transform",
                      "protocol_source"}
