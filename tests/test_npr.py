"""NPR (Tan et al., CVPR 2024): the residual, the network's official fingerprint, checkpoints."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import dfdlab  # noqa: F401  (compat shim before torchvision)
from dfdlab.detectors import CheckpointError, build, load_checkpoint
from dfdlab.detectors.npr import (
    NPR,
    npr_residual,
    npr_residual_window,
    official_fingerprint,
    trim_to_even,
)


def _expected_official_keys() -> list[str]:
    """The official checkpoint's key order, as NPR networks/resnet.py defines it (docs/npr.md).

    conv1, bn1, layer1 (3 Bottlenecks, the first with a downsample), layer2 (4, the first
    with a strided downsample), fc1; BN entries weight, bias, running_mean, running_var,
    num_batches_tracked.
    """
    bn = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    keys = ["conv1.weight"] + [f"bn1.{b}" for b in bn]
    for layer, blocks in (("layer1", 3), ("layer2", 4)):
        for i in range(blocks):
            p = f"{layer}.{i}"
            for j in (1, 2, 3):
                keys += [f"{p}.conv{j}.weight"] + [f"{p}.bn{j}.{b}" for b in bn]
            if i == 0:
                keys += [f"{p}.downsample.0.weight"] + [f"{p}.downsample.1.{b}" for b in bn]
    return keys + ["fc1.weight", "fc1.bias"]


def test_state_dict_matches_official_fingerprint_keys_and_order():
    model = build("npr")
    assert isinstance(model, NPR) and model.name == "npr" and model.recipe == "npr"
    sd = model.state_dict()
    assert official_fingerprint(sd) == (146, 1_447_897)
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 1_437_761
    assert list(sd) == _expected_official_keys()
    # Independent cross-check: the official network is torchvision's v1.5 ResNet-50 cut
    # after layer2, so its keys/shapes equal torchvision resnet50's for conv1..layer2
    # (except the 3x3 stem), in the same order.
    from torchvision.models import resnet50

    ref = resnet50(weights=None).state_dict()
    ref = {k: v.shape for k, v in ref.items() if k.split(".")[0] in ("conv1", "bn1", "layer1", "layer2")}
    ours = [k for k in sd if not k.startswith("fc1.")]
    assert ours == list(ref)
    assert all(sd[k].shape == ref[k] for k in ours if k != "conv1.weight")
    assert sd["conv1.weight"].shape == (64, 3, 3, 3) and sd["fc1.weight"].shape == (1, 512)
    # Official init: kaiming_normal fan_out on convs (std = sqrt(2 / (out * k * k))), BN 1/0.
    w = sd["layer2.0.conv2.weight"]  # 128 out, 3x3: std sqrt(2/1152) ~ 0.0417
    assert abs(w.std().item() - (2 / (128 * 9)) ** 0.5) < 0.003 and abs(w.mean().item()) < 0.003
    assert torch.all(sd["layer1.0.bn3.weight"] == 1) and torch.all(sd["layer1.0.bn3.bias"] == 0)
    # fc1 keeps the default Linear init: U(-1/sqrt(512), 1/sqrt(512)).
    assert sd["fc1.weight"].abs().max() <= 512 ** -0.5


def test_npr_residual_hand_computed_and_zero_at_even_even():
    x = torch.tensor(
        [[3.0, 7.0, 1.0, 4.0],
         [2.0, 9.0, 6.0, 5.0],
         [8.0, 0.0, 2.0, 2.0],
         [1.0, 3.0, 7.0, 9.0]]
    )[None, None]
    # Each pixel minus the top-left pixel of its 2x2 block (3, 1 / 8, 2), by hand:
    expected = torch.tensor(
        [[0.0, 4.0, 0.0, 3.0],
         [-1.0, 6.0, 5.0, 4.0],
         [0.0, -8.0, 0.0, 0.0],
         [-7.0, -5.0, 5.0, 7.0]]
    )[None, None]
    assert torch.equal(npr_residual(x), expected)

    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 32, 48, generator=g)
    r = npr_residual(x)
    assert r.shape == x.shape
    assert torch.all(r[..., 0::2, 0::2] == 0)
    assert (r[..., 1::2, 1::2] != 0).all()  # nothing else is zero for a random image
    # The official two-interpolate formula, written out here, and the reshape-based window form.
    official = x - F.interpolate(
        F.interpolate(x, scale_factor=0.5, mode="nearest", recompute_scale_factor=True),
        scale_factor=2.0, mode="nearest", recompute_scale_factor=True,
    )
    assert torch.equal(r, official)
    assert torch.equal(npr_residual_window(x, 2, 0), r)
    assert not torch.equal(npr_residual_window(x, 2, 3), r)  # another reference pixel differs
    # A nearest-up-sampled image (what a generator's "nearest" layer makes) has NPR == 0.
    up = F.interpolate(torch.randn(1, 3, 8, 8, generator=g), scale_factor=2, mode="nearest")
    assert torch.equal(npr_residual(up), torch.zeros_like(up))
    # Linear: the ImageNet mean cancels, only the per-channel std scaling survives.
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    assert torch.allclose(npr_residual((x - mean) / std), npr_residual(x) / std, atol=1e-5)


def test_odd_sizes_trimmed_like_the_readme_patch():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, 3, 7, 9, generator=g)
    assert trim_to_even(x).shape == (1, 3, 6, 8)
    assert torch.equal(trim_to_even(x), x[:, :, :6, :8])  # last row and last column dropped
    assert torch.equal(npr_residual(x), npr_residual(x[:, :, :6, :8]))
    with pytest.raises(ValueError, match="even H and W"):
        npr_residual(x, trim_odd=False)
    # The official forward crashes on odd sizes; ours trims, and gives the trimmed image's logit.
    model = build("npr").eval()
    with torch.no_grad():
        assert torch.equal(model(x), model(x[:, :, :6, :8]))


def test_forward_shape_scale_and_rgb_ablation():
    torch.manual_seed(0)
    model = build("npr").eval()
    x = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        out = model(x)
        assert out.shape == (3,) and out.dtype == torch.float32
        assert model.features(x).shape == (3, 512)
        # The forward, composed by hand from the official ops: conv1(NPR * 2/3) ...
        h = model.conv1(npr_residual(x) * 2.0 / 3.0)
        h = model.layer2(model.layer1(model.maxpool(model.relu(model.bn1(h)))))
        assert torch.allclose(out, model.fc1(h.mean((2, 3))).reshape(-1), atol=1e-5)
        # residual_scale matters (dropping 2/3 breaks official weights), paper_scale = 1.0.
        paper = build("npr", paper_scale=True).eval()
        paper.load_state_dict(model.state_dict())
        assert paper.residual_scale == 1.0 and not torch.allclose(paper(x), out)
        # Ablation: same weights on the plain image; an image constant on 2x2 blocks is
        # invisible to NPR (every NPR logit equals the all-zero input's), not to RGB.
        rgb = build("npr", representation="rgb").eval()
        rgb.load_state_dict(model.state_dict())
        blocky = F.interpolate(torch.randn(2, 3, 32, 32), scale_factor=2, mode="nearest")
        zero = model(torch.zeros(1, 3, 64, 64))
        assert torch.allclose(model(blocky), zero.expand(2))
        assert not torch.allclose(rgb(blocky), rgb(torch.zeros(1, 3, 64, 64)).expand(2))
    with pytest.raises(ValueError, match="representation"):
        build("npr", representation="dct")


def test_official_checkpoint_formats_load_strictly(tmp_path):
    torch.manual_seed(0)
    src = build("npr").eval()
    # Non-default BN statistics so a silent non-load would show.
    for m in src.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    sd = src.state_dict()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        want = src(x)

    formats = {
        # model_epoch_last_3090.pth: raw torch.save(model.state_dict())
        "raw.pth": sd,
        # NPR.pth: DDP-saved, wrapped under 'model'
        "ddp.pth": {"model": {f"module.{k}": v for k, v in sd.items()}},
        # trainer-style dict with optimiser state
        "trainer.pth": {"model": sd, "optimizer": {}, "total_steps": 7},
    }
    for name, obj in formats.items():
        torch.save(obj, tmp_path / name)
        dst = load_checkpoint(build("npr"), tmp_path / name).eval()
        with torch.no_grad():
            assert torch.equal(dst(x), want), name
    # convert_state_dict alone also handles the NPR.pth layout.
    conv = NPR.convert_state_dict(formats["ddp.pth"])
    assert list(conv) == list(sd)

    # A checkpoint from another head name (fc instead of fc1) must fail, naming the keys.
    bad = {("fc." + k[4:] if k.startswith("fc1.") else k): v for k, v in sd.items()}
    torch.save(bad, tmp_path / "wrong.pth")
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(build("npr"), tmp_path / "wrong.pth")
    msg = str(e.value)
    assert "wrong.pth" in msg and "fc1.weight" in msg and "fc.weight" in msg
    # A full ResNet-50 (a CNNDetection checkpoint) must fail too, not half-load.
    from torchvision.models import resnet50

    torch.save(resnet50(weights=None).state_dict(), tmp_path / "resnet50.pth")
    with pytest.raises(CheckpointError, match="unexpected keys"):
        load_checkpoint(build("npr"), tmp_path / "resnet50.pth")


def test_transform_sizes(photos):
    model = build("npr")
    img = photos["astronaut"]  # 512x512
    t = model.transform(train=False)(img)
    assert t.shape == (3, 256, 256)  # Table 1: Resize((256, 256)), no crop
    assert model.transform(train=True)(img).shape == (3, 224, 224)
    small = build("npr", load_size=64, crop_size=56)
    assert small.transform(train=True)(img).shape == (3, 56, 56)
    assert small.transform(train=False)(img).shape == (3, 64, 64)
    native = build("npr", no_resize=True)
    assert native.transform(train=False)(photos["chelsea_odd"]).shape == (3, 295, 447)
    # Per benchmark (NPR test.py DetectionTests): GANGen-Detection at native size, the others 256x256.
    assert model.transform("test", benchmark="gangen")(photos["chelsea_odd"]).shape == (3, 295, 447)
    for bench in ("forensynths", "diffusionforensics", "univfd"):
        assert model.transform("test", benchmark=bench)(photos["chelsea_odd"]).shape == (3, 256, 256), bench
    assert model.transform("val")(img).shape == (3, 224, 224)  # validation: Resize((256,256)) -> CenterCrop(224)
    # ImageNet normalisation: a mid-grey image maps to about (0.5 - mean) / std.
    from PIL import Image

    grey = model.transform(train=False)(Image.new("RGB", (300, 300), (128, 128, 128)))
    assert torch.allclose(grey[:, 0, 0], (128 / 255 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225]), atol=1e-4)
