"""LGrad: genforce StyleGAN-D layout, exact batched gradients, cv2 quantisation, official files."""

from __future__ import annotations

import collections

import dfdlab  # noqa: F401  (compat shim before torchvision)

# isort: split
import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.models import resnet50

from dfdlab.detectors import CheckpointError, build, load_checkpoint
from dfdlab.detectors.lgrad import (
    LGrad,
    StyleGANDiscriminator,
    genforce_stylegan_d_shapes,
    gradient_map,
    load_stylegan_discriminator,
    minmax_to_255,
    official_gradient_png,
    quantize_like_cv2,
)

cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # "fallbacked to CV_8U" is expected

# genforce models/stylegan_discriminator.py, build_model('stylegan', 'discriminator', resolution=256,
# label_size=0, image_channels=3): fmaps min(16384 // res, 512); written out by hand.
GENFORCE_256 = {
    "lod": (),
    "input0.weight": (64, 3, 1, 1), "input0.bias": (64,),
    "layer0.weight": (64, 64, 3, 3), "layer0.bias": (64,),
    "layer1.blur.kernel": (64, 1, 3, 3), "layer1.weight": (128, 64, 3, 3), "layer1.bias": (128,),
    "input1.weight": (128, 3, 1, 1), "input1.bias": (128,),
    "layer2.weight": (128, 128, 3, 3), "layer2.bias": (128,),
    "layer3.blur.kernel": (128, 1, 3, 3), "layer3.weight": (256, 128, 3, 3), "layer3.bias": (256,),
    "input2.weight": (256, 3, 1, 1), "input2.bias": (256,),
    "layer4.weight": (256, 256, 3, 3), "layer4.bias": (256,),
    "layer5.blur.kernel": (256, 1, 3, 3), "layer5.weight": (512, 256, 3, 3), "layer5.bias": (512,),
    "input3.weight": (512, 3, 1, 1), "input3.bias": (512,),
    "layer6.weight": (512, 512, 3, 3), "layer6.bias": (512,),
    "layer7.blur.kernel": (512, 1, 3, 3), "layer7.weight": (512, 512, 3, 3), "layer7.bias": (512,),
    "input4.weight": (512, 3, 1, 1), "input4.bias": (512,),
    "layer8.weight": (512, 512, 3, 3), "layer8.bias": (512,),
    "layer9.blur.kernel": (512, 1, 3, 3), "layer9.weight": (512, 512, 3, 3), "layer9.bias": (512,),
    "input5.weight": (512, 3, 1, 1), "input5.bias": (512,),
    "layer10.weight": (512, 512, 3, 3), "layer10.bias": (512,),
    "layer11.blur.kernel": (512, 1, 3, 3), "layer11.weight": (512, 512, 3, 3), "layer11.bias": (512,),
    "input6.weight": (512, 3, 1, 1), "input6.bias": (512,),
    "layer12.weight": (512, 513, 3, 3), "layer12.bias": (512,),  # 513: + the minibatch-stddev channel
    "layer13.weight": (512, 8192), "layer13.bias": (512,),  # Dense0 on 512 x 4 x 4
    "layer14.weight": (1, 512), "layer14.bias": (1,),  # Dense1: one score
}


def test_stylegan_d_has_genforce_keys_ops_and_loads_strictly(tmp_path):
    torch.manual_seed(0)
    D = StyleGANDiscriminator(256)
    sd = D.state_dict()
    assert {k: tuple(v.shape) for k, v in sd.items()} == GENFORCE_256
    assert dict(genforce_stylegan_d_shapes(256)) == GENFORCE_256
    assert len(sd) == 51 and sum(v.numel() for v in sd.values()) == 23_070_210
    # [1,2,1] binomial blur, normalised; lod 0; fused stride-2 conv from 128 px up, pooling below.
    k = torch.tensor([1.0, 2.0, 1.0])
    assert torch.equal(sd["layer1.blur.kernel"][5, 0], torch.outer(k, k) / 16)
    assert float(sd["lod"]) == 0.0
    assert D.layer1.fused and D.layer3.fused and not D.layer5.fused
    assert isinstance(D.layer5.downsample, torch.nn.AvgPool2d)
    # equalised learning rate: N(0,1) storage, He scale at run time (gain sqrt 2; 1 for Dense1)
    assert D.layer0.wscale == pytest.approx(np.sqrt(2) / np.sqrt(64 * 9))
    assert D.layer14.wscale == pytest.approx(1 / np.sqrt(512))
    assert D(torch.zeros(2, 3, 256, 256)).shape == (2, 1)

    # The authors' raw file and genforce's converter output both load strictly; a wrong file fails.
    raw = tmp_path / "karras2019stylegan-bedrooms-256x256_discriminator.pth"
    torch.save(collections.OrderedDict(sd), raw)
    D2 = load_stylegan_discriminator(raw)
    assert all(torch.equal(a, b) for a, b in zip(D2.state_dict().values(), sd.values(), strict=True))
    assert not D2.training and not any(p.requires_grad for p in D2.parameters())
    conv = tmp_path / "genforce.pth"
    torch.save({"generator": {}, "discriminator": sd, "generator_smooth": {}}, conv)
    load_stylegan_discriminator(conv)
    bad = dict(sd)
    bad.pop("lod")
    bad["layer12.weight"] = torch.zeros(512, 512, 3, 3)  # a D without the stddev channel
    torch.save(bad, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match=r"(?s)missing keys \(1\): lod.*layer12.weight"):
        load_stylegan_discriminator(tmp_path / "bad.pth")


def test_batched_gradient_maps_equal_one_image_at_a_time_256():
    torch.manual_seed(0)
    D = StyleGANDiscriminator(256).requires_grad_(False)
    x = torch.rand(8, 3, 256, 256) * 2 - 1
    one = gradient_map(D, x, method="loop")  # the official batch-size-1 computation
    batched = gradient_map(D, x)  # one forward/backward for all 8
    assert batched.shape == (8, 3, 256, 256) and batched.dtype == torch.float32
    assert torch.allclose(batched, one, rtol=1e-6, atol=0)
    assert torch.equal(quantize_like_cv2(batched), quantize_like_cv2(one))
    assert torch.equal(gradient_map(D, x[:3], quantize=True), quantize_like_cv2(one[:3]))
    assert float(one.amin()) == 0.0 and float(one.amax()) == 255.0
    assert D.training  # gradient_map ran D in eval mode and restored its mode


def test_fast_method_is_the_same_gradient_with_fewer_operations():
    """method="fast": rewritten down-sampling and a hand-written backward compute the same function."""
    torch.manual_seed(3)
    D = StyleGANDiscriminator(64).requires_grad_(False)
    x = torch.rand(3, 3, 64, 64) * 2 - 1
    # In float64 rounding cannot flip a LeakyReLU slope: the two are the same map.
    D64 = StyleGANDiscriminator(64).requires_grad_(False)
    D64.load_state_dict(D.state_dict())
    D64.double()
    exact = gradient_map(D64, x.double(), method="loop")
    fast = gradient_map(D64, x.double(), method="fast")
    assert torch.allclose(fast, exact, rtol=0, atol=1e-9 * 255)
    # In float32 they agree up to rounding (which may flip a few LeakyReLU slopes near 0): the typical
    # value within 1e-3 levels, the quantised maps almost equal.
    one, fast32 = gradient_map(D, x, method="loop"), gradient_map(D, x, method="fast")
    assert fast32.dtype == torch.float32 and fast32.shape == one.shape
    assert float((fast32 - one).abs().median()) < 1e-3
    q = (quantize_like_cv2(fast32).int() - quantize_like_cv2(one).int()).abs()
    assert float((q > 0).float().mean()) < 0.01 and int(q.max()) <= 3
    with pytest.raises(ValueError, match="StyleGANDiscriminator"):
        from dfdlab.gan.dcgan import Discriminator

        gradient_map(Discriminator(), torch.zeros(1, 3, 64, 64), method="fast")


def test_hybrid_method_keeps_the_official_slopes(photos):
    """method="hybrid": the official forward (every LeakyReLU slope as official), the hand-written backward."""
    from dfdlab.data.transforms import lgrad_discriminator_input

    torch.manual_seed(0)
    D = StyleGANDiscriminator(128).requires_grad_(False)  # 128 px: the fused stride-2 blocks run too
    tf = lgrad_discriminator_input(128)
    x = torch.stack([tf(photos[n]) for n in ("astronaut", "coffee", "chelsea")])
    # The same function: in float64 the two agree to rounding (one image: float64 is slow).
    D64 = StyleGANDiscriminator(128).requires_grad_(False)
    D64.load_state_dict(D.state_dict())
    D64.double()
    assert torch.allclose(gradient_map(D64, x[:1].double(), method="hybrid"),
                          gradient_map(D64, x[:1].double(), method="loop"), rtol=0, atol=1e-9 * 255)
    # In float32 no slope flips: before rounding, the maps differ by float32 summation order only, far
    # below one level (seeds 0-7 at 128 px, 1 and 2 threads, Intel Xeon with AVX-512: at most 4.1e-4 of
    # a level; method="fast" flips slopes: 0.47 to 1.9 levels). So the quantised maps are at most 1
    # level apart, where a value sits that close to a rounding boundary: a share of the values that
    # moves with the CPU (seeds 0-7 on that Xeon 2e-5 to 1.2e-4, seeds 0-2 on an AMD EPYC, Zen 4,
    # 3.4e-5 to 5.4e-5), so it is not bounded here; the raw difference is.
    raw = (gradient_map(D, x, method="hybrid") - gradient_map(D, x, method="loop")).abs()
    assert float(raw.max()) <= 0.01, f"hybrid differs from the official gradient by {float(raw.max()):.2e} levels"
    official = gradient_map(D, x, quantize=True, method="loop")
    q = (gradient_map(D, x, quantize=True, method="hybrid").int() - official.int()).abs()
    assert int(q.max()) <= 1
    # Its forward is the official one bit for bit: the same score as D's own forward.
    from dfdlab.detectors.lgrad import _RunTimeWeights, _stylegan_official_forward

    with torch.no_grad():
        _, h_dense = _stylegan_official_forward(D, x[:1], _RunTimeWeights())
        assert torch.equal(D.layer12(h_dense), D(x[:1]))
    with pytest.raises(ValueError, match="chunk_size must be 1"):
        gradient_map(D, x, method="hybrid", chunk_size=3)


def test_minibatch_stddev_would_mix_images_and_official_png_path(photos, tmp_path):
    torch.manual_seed(1)
    D = StyleGANDiscriminator(64).eval().requires_grad_(False)
    from dfdlab.data.transforms import lgrad_discriminator_input

    names = ["astronaut_odd", "coffee", "chelsea_odd"]
    tf = lgrad_discriminator_input(64)
    x = torch.stack([tf(photos[n]) for n in names])
    ours = gradient_map(D, x, quantize=True)
    # The official two-stage way: one image per batch, PNG by cv2 (BGR flip), read back with PIL.
    for i, n in enumerate(names):
        png = official_gradient_png(D, photos[n], tmp_path / f"{n}.png", size=64)
        back = torch.from_numpy(np.array(Image.open(png).convert("RGB"))).permute(2, 0, 1)
        assert torch.equal(ours[i], back), n
    # A naive batched backward lets the stddev group mix the images: different gradients.
    xx = x.clone().requires_grad_(True)
    (naive,) = torch.autograd.grad(D(xx).sum(), xx)
    assert not torch.allclose(quantize_like_cv2(minmax_to_255(naive)).float(), ours.float(), atol=1)
    # vmap also runs each image alone.
    assert torch.allclose(gradient_map(D, x, method="vmap"), gradient_map(D, x), rtol=1e-5, atol=1e-3)


def test_quantisation_equals_cv2_png(tmp_path):
    rng = np.random.default_rng(0)
    g = (rng.random((3, 40, 50)) * 255).astype(np.float32)
    g[0, 0, :8] = [0.5, 1.5, 2.5, 3.5, 254.5, 255.0, 0.0, 100.5]  # ties: cv2 rounds half to even
    g[1, 0, :3] = [np.nextafter(np.float32(0.5), np.float32(1)), 7.499999, 8.5]
    ours = quantize_like_cv2(torch.from_numpy(g))
    hwc = g.transpose(1, 2, 0)
    cv2.imwrite(str(tmp_path / "g.png"), hwc[..., ::-1])  # exactly gen_imggrad.py's call
    png = np.array(Image.open(tmp_path / "g.png").convert("RGB")).transpose(2, 0, 1)
    assert np.array_equal(ours.numpy(), png)
    assert ours[0, 0, :8].tolist() == [0, 2, 2, 4, 254, 255, 0, 100]
    # min-max equals the official numpy normlize_np on the HWC float32 array
    raw = rng.normal(size=(2, 3, 16, 16)).astype(np.float32)
    for i in range(2):
        ref = raw[i].transpose(1, 2, 0).copy()
        ref -= ref.min()
        ref /= ref.max()
        assert np.array_equal(minmax_to_255(torch.from_numpy(raw))[i].numpy().transpose(1, 2, 0), ref * 255.0)
    assert torch.equal(minmax_to_255(torch.zeros(1, 3, 4, 4)), torch.zeros(1, 3, 4, 4))  # max 0: no division


def test_detector_pipeline_checkpoints_and_cache(tmp_path):
    from dfdlab.gan.dcgan import Discriminator

    torch.manual_seed(2)
    D = Discriminator()
    model = build("lgrad", discriminator=D, image_size=64, cache_dir=tmp_path / "cache").eval()
    assert isinstance(model, LGrad) and model.crop_size == 56 and "from scratch" in model.classifier_init
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    assert len(sd) == 320 and sum(v.numel() for v in sd.values()) == 23_563_254
    assert list(sd)[0] == "conv1.weight" and list(sd)[-1] == "fc.bias"
    assert not any(p.requires_grad for p in D.parameters()) and not D.training
    assert {id(p) for p in model.parameters()}.isdisjoint(id(p) for p in D.parameters())

    x = torch.rand(4, 3, 64, 64) * 2 - 1
    with torch.inference_mode():  # gradients still work inside the evaluator's inference mode
        logits = model(x)
    assert logits.shape == (4,)
    # Equals the two stages by hand: uint8 map -> ToTensor -> ImageNet Normalize -> ResNet-50.
    net = resnet50(weights=None)
    net.fc = torch.nn.Linear(2048, 1)
    net.load_state_dict(sd)
    net.eval()
    g = gradient_map(D, x, quantize=True).float() / 255
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    with torch.no_grad():
        assert torch.allclose(net((g - mean[:, None, None]) / std[:, None, None]).squeeze(1), logits, atol=1e-5)
    assert model.cache.misses == 4 and model.cache.hits == 0
    with torch.no_grad():
        assert torch.equal(model(x), logits)
    assert model.cache.hits == 4

    # Train mode: crops of 56 with flips, D stays frozen in eval; a step moves the classifier only.
    model.train()
    assert not D.training
    assert model.classifier_input(model.gradients(x)).shape == (4, 3, 56, 56)
    d_before = [p.clone() for p in D.parameters()]
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), torch.tensor([0.0, 1, 0, 1]))
    loss.backward()
    opt.step()
    assert all(torch.equal(a, b) for a, b in zip(d_before, D.parameters(), strict=True))
    assert not torch.equal(model.state_dict()["fc.weight"], sd["fc.weight"])

    # Official LGrad-*class-*.pth: a raw ResNet-50 OrderedDict, 320 entries; also {'model': ...} and module.
    official = collections.OrderedDict((k, v.clone() + 0.01 if v.is_floating_point() else v) for k, v in net.state_dict().items())
    torch.save(official, tmp_path / "LGrad-4class-Trainon-Progan_car_cat_chair_horse.pth")
    load_checkpoint(model, tmp_path / "LGrad-4class-Trainon-Progan_car_cat_chair_horse.pth")
    assert torch.equal(model.state_dict()["layer4.2.bn3.running_var"], official["layer4.2.bn3.running_var"])
    torch.save({"model": {"module." + k: v for k, v in official.items()}, "total_steps": 3}, tmp_path / "ddp.pth")
    load_checkpoint(model, tmp_path / "ddp.pth")
    del official["fc.bias"]
    torch.save(official, tmp_path / "cut.pth")
    with pytest.raises(CheckpointError, match=r"missing keys \(1\): fc.bias"):
        load_checkpoint(model, tmp_path / "cut.pth")


def _spectrum_probe_ap(D, train, val) -> float:
    """Lesson 06's section-3 probe (``dfdlab.experiments.spectrum_probe_ap``) on D's gradient maps."""
    from dfdlab.experiments import spectrum_probe_ap

    (x_tr, y_tr), (x_va, y_va) = train, val
    return spectrum_probe_ap(gradient_map(D, x_tr, quantize=True, method="loop"), y_tr,
                             gradient_map(D, x_va, quantize=True, method="loop"), y_va)


def test_upscale_enlarges_the_map_by_nearest_neighbour_and_defaults_to_the_official_pipeline():
    from dfdlab.gan.dcgan import Discriminator

    torch.manual_seed(3)
    D = Discriminator()
    official = build("lgrad", discriminator=D, image_size=64).eval()
    up = build("lgrad", discriminator=D, image_size=64, upscale=2).eval()
    assert official.upscale == 1 and "upscale" not in repr(official) and "upscale=2" in repr(up)
    g = gradient_map(D, torch.rand(2, 3, 64, 64) * 2 - 1, quantize=True)
    a, b = official.classifier_input(g), up.classifier_input(g)
    assert a.shape == (2, 3, 64, 64) and b.shape == (2, 3, 128, 128)
    assert torch.equal(b[..., ::2, ::2], a) and torch.equal(b[..., 1::2, 1::2], a)  # each value a 2x2 block
    up.train()
    assert up.classifier_input(g).shape == (2, 3, 112, 112)  # RandomCrop(56) first, then the enlargement
    assert "enlarged 2x" in up.preprocessing("test", None, None).crop and "enlarged" not in \
        official.preprocessing("test", None, None).crop
    with pytest.raises(ValueError, match="upscale"):
        build("lgrad", discriminator=D, image_size=64, upscale=1.5)


def test_shipped_quick_transformation_model_keeps_the_training_generators_trace(mini_root):
    """The quick zoo's D (a StyleGAN-architecture D) loads strictly, and its gradient maps keep the trace
    that the mini DCGAN's D (first layer: a stride-2 conv) loses. Measured (seed-0 build, lesson 06's section-3
    probe on the 100 + 50 images per class below): shipped D 0.984, random StyleGAN D 0.940, DCGAN D 0.601."""
    import numpy as np

    from dfdlab import zoo
    from dfdlab.data import ForenSynths, per_label_subset
    from dfdlab.data.mini_generators import STYLEGAN_D, STYLEGAN_D_WEIGHTS, load_stylegan_d
    from dfdlab.data.transforms import lgrad_discriminator_input
    from dfdlab.gan import load_pair

    D = load_stylegan_d()
    assert isinstance(D, StyleGANDiscriminator) and D.resolution == STYLEGAN_D["resolution"]
    assert zoo.QUICK_ZOO["lgrad"]["discriminator"] == "mini_stylegan_d"
    blob = torch.load(STYLEGAN_D_WEIGHTS, weights_only=True)
    blob["D"].pop(next(iter(blob["D"])))
    with pytest.raises(RuntimeError, match="Missing key"):
        StyleGANDiscriminator(**blob["config"]).load_state_dict({k: v.float() for k, v in blob["D"].items()})

    def split(name, n):
        ds = per_label_subset(ForenSynths(mini_root / name, transform=lgrad_discriminator_input(64)), n)
        xs, ys = zip(*(ds[i] for i in range(len(ds))), strict=True)
        return torch.stack(xs), np.array(ys)

    train, val = split("train", 100), split("val", 50)
    shipped = _spectrum_probe_ap(D, train, val)
    dcgan = _spectrum_probe_ap(load_pair(mini_root / "models" / "dcgan_transposed.pth")[1], train, val)
    assert shipped > 0.85 and shipped - dcgan > 0.15, (shipped, dcgan)


def test_train_discriminator_updates_d_only_and_separates():
    from dfdlab.gan import Generator, train_discriminator

    torch.manual_seed(0)
    G = Generator(nz=8, ngf=8)
    g0 = {k: v.clone() for k, v in G.state_dict().items()}
    reals = torch.rand(64, 3, 64, 64) * 0.2 + 0.4  # flat bright images: easy to tell from G's samples
    D = StyleGANDiscriminator(64, fmaps_base=256, fmaps_max=16)
    hist = train_discriminator(D, G, reals, iters=30, batch_size=8, lr=1e-3, betas=(0.0, 0.99), seed=1,
                               progress=False)
    assert len(hist) == 30 and not D.training
    assert all(torch.equal(v, g0[k]) for k, v in G.state_dict().items())  # G is frozen
    assert hist[-1]["D_real"] > hist[-1]["D_fake"]
