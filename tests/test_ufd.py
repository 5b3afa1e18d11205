"""UnivFD (dfdlab.detectors.univfd) and the feature cache (dfdlab.features).

The slow test builds a randomly initialised CLIP ViT-L/14 (about 30 s on 2 CPU cores): one
model, one image, checked against open_clip's own CLIP ``encode_image``.
"""

from __future__ import annotations

import logging
import os
import random

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

import dfdlab
from dfdlab.detectors import CheckpointError, build, load_checkpoint
from dfdlab.detectors.univfd import (
    UnivFD,
    list_images_os_walk,
    nearest_neighbour_score,
    univfd_sample,
)
from dfdlab.features import LinearProbe, extract_features

# The released fc_weights.pth (UnivFD pretrained_weights/; docs/univfd.md)
FC_BIAS = -0.5166999
FC_NORM = 6.2001
FC_FIRST5 = [-0.3196, -0.1133, -0.1784, 0.0397, 0.1724]


def _official_head_sd(path):
    return torch.load(path, map_location="cpu", weights_only=True)


def test_official_head_formats_and_fingerprint(ufd_fc_path, tmp_path):
    raw = _official_head_sd(ufd_fc_path)
    assert set(raw) == {"weight", "bias"} and raw["weight"].shape == (1, 768)
    probe = LinearProbe(768)
    probe.load_state_dict(UnivFD.convert_state_dict(raw), strict=True)
    assert probe.fc.bias.item() == pytest.approx(FC_BIAS, abs=1e-7)
    assert probe.fc.weight.norm().item() == pytest.approx(FC_NORM, abs=1e-4)
    assert probe.fc.weight[0, :5].tolist() == pytest.approx(FC_FIRST5, abs=1e-4)
    # the other formats give the same head: fc.-prefixed, and a full official train.py checkpoint
    prefixed = {"fc.weight": raw["weight"], "fc.bias": raw["bias"]}
    full = {"model.visual.proj": torch.zeros(1024, 768), "model.logit_scale": torch.zeros(()), **prefixed}
    for sd in (prefixed, full):
        out = UnivFD.convert_state_dict(sd)
        assert list(out) == ["fc.weight", "fc.bias"] and torch.equal(out["fc.weight"], raw["weight"])
    # a stray key survives conversion so that strict loading names it
    assert "extra.w" in UnivFD.convert_state_dict({**prefixed, "extra.w": torch.zeros(1)})


def test_stand_in_backbone_is_frozen_imagenet_and_named(ufd_fc_path, photos, tmp_path):
    model = build("univfd", backbone="efficientnet_lite0")
    assert model.is_stand_in and "STAND-IN" in model.summary() and "STAND-IN" in model.describe()["model"] and model.feature_dim == 1280
    # strict load of the package's ImageNet weights: the full network recognises an espresso (class 967)
    tf = dfdlab.data.transforms.univfd_test(crop_size=224, stats="imagenet")
    coffee = tf(photos["coffee"].resize((298, 224)))[None]
    with torch.no_grad():
        assert model.backbone.net(coffee).argmax().item() == 967
    # frozen: eval even after .train(), no trainable backbone parameter, only fc in the state dict
    model.train()
    assert model.training and not model.backbone.training
    assert [n for n, p in model.named_parameters() if p.requires_grad] == ["fc.weight", "fc.bias"]
    assert list(model.state_dict()) == ["fc.weight", "fc.bias"]
    assert model.fc.weight.std().item() == pytest.approx(0.02, rel=0.15)  # N(0, 0.02) init
    f = model.features(coffee)
    assert f.shape == (1, 1280)
    assert torch.allclose(model(coffee), model.fc(f).reshape(-1))
    # a head of the wrong width fails loudly, naming the file
    with pytest.raises(CheckpointError, match="768"):
        model.load_head(ufd_fc_path)
    # our own checkpoints round-trip strictly through load_checkpoint
    path = tmp_path / "head.pth"
    torch.save({"model": model.state_dict(), "optimizer": {}, "total_steps": 3}, path)
    other = build("univfd", backbone="efficientnet_lite0")
    load_checkpoint(other, path)
    assert torch.equal(other.fc.weight, model.fc.weight)


def test_fine_tuned_backbone_trains_and_round_trips_strictly(tmp_path):
    """``freeze_backbone=False`` (lesson 04's ablation): the same network, trained end to end."""
    torch.manual_seed(0)
    model = build("univfd", backbone="efficientnet_lite0", crop_size=64, load_size=64, freeze_backbone=False)
    assert "fine-tuned END TO END" in model.summary() and "ABLATION" in model.describe()["model"]
    frozen = build("univfd", backbone="efficientnet_lite0", crop_size=64)
    # the same ImageNet weights to start from: identical features before any step
    x = torch.randn(4, 3, 64, 64)
    model.eval()
    assert torch.allclose(model.features(x), frozen.features(x), atol=1e-5)
    digest0 = model.weights_digest()
    # trainable and in train mode: one AdamW step moves the backbone, and the digest follows it
    model.train()
    assert model.backbone.training and all(p.requires_grad for p in model.backbone.parameters())
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    model(x).sum().backward()
    # every backbone layer gets a gradient (timm's ImageNet classifier is not on the feature path)
    grads = [p.grad for n, p in model.named_parameters()
             if n.startswith("backbone.") and not n.startswith("backbone.net.classifier.")]
    assert grads and all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)
    before = model.backbone.net.conv_stem.weight.detach().clone()
    opt.step()
    assert not torch.equal(before, model.backbone.net.conv_stem.weight)
    assert model.weights_digest() != digest0
    # its checkpoint holds the backbone, loads strictly into a model built the same way, not into a frozen one
    keys = list(model.state_dict())
    assert {"fc.weight", "fc.bias"} <= set(keys) and sum(k.startswith("backbone.") for k in keys) > 100
    path = tmp_path / "fine_tuned.pth"
    torch.save({"model": model.state_dict(), "optimizer": {}, "total_steps": 1}, path)
    again = build("univfd", backbone="efficientnet_lite0", crop_size=64, load_size=64, freeze_backbone=False)
    load_checkpoint(again, path)
    again.eval(), model.eval()
    assert torch.allclose(again(x), model(x), atol=1e-6)
    with pytest.raises(CheckpointError, match="backbone"):
        load_checkpoint(frozen, path)
    # the frozen model is untouched by all of this: its backbone still has no gradient and stays in eval
    frozen.train()
    assert not frozen.backbone.training and list(frozen.state_dict()) == ["fc.weight", "fc.bias"]


def _random_vit_l14_quickgelu():
    """open_clip's ViT-L-14 with QuickGELU (OpenAI's activation) and random weights.

    Built on the meta device and filled with seeded N(0, 0.02) values (LayerNorm weights 1):
    open_clip's own initialisation of 428M parameters costs ~10 s of CPU that this test
    does not need.
    """
    import open_clip

    model = open_clip.create_model("ViT-L-14", pretrained=None, force_quick_gelu=True, device="meta")
    model = model.to_empty(device="cpu")
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "ln_" in name:  # LayerNorm: weight 1, bias 0
                p.fill_(1.0) if name.endswith("weight") else p.zero_()
            else:
                p.normal_(0.0, 0.02, generator=g)
    return model.eval()


def test_vit_l14_openai_format_matches_clip_encode_image(ufd_fc_path, photos, tmp_path):
    """A random ViT-L/14 written in OpenAI's format: our features == open_clip's CLIP.encode_image.

    The file carries OpenAI's extra entries (``input_resolution`` ...), so the loader must
    detect the OpenAI format and build QuickGELU: with open_clip's plain GELU the features
    would differ by ~1e-2 and this test would fail. Weights stay fp32 (``half=False``) so
    the reference model and the file hold the same numbers.
    """
    from dfdlab.clip.pretrained import openai_state_dict

    reference = _random_vit_l14_quickgelu()
    path = tmp_path / "ViT-L-14-random-openai.pt"
    sd = openai_state_dict(reference, half=False)  # OpenAI key layout + input_resolution etc.
    torch.save(sd, path)
    del sd
    model = build("ufd", backbone="ViT-L-14", clip_weights=path, head_weights=ufd_fc_path)  # the public-API alias
    assert model.fc.bias.item() == pytest.approx(FC_BIAS, abs=1e-7)
    assert model.fc.weight.norm().item() == pytest.approx(FC_NORM, abs=1e-4)
    x = model.transform(False)(photos["chelsea_odd"])[None]
    assert x.shape == (1, 3, 224, 224)
    with torch.no_grad():
        want = reference.encode_image(x)
        got = model.features(x)
        logit = model(x)
    assert got.shape == (1, 768)
    assert torch.allclose(got, want, atol=1e-4, rtol=0), (got - want).abs().max()
    assert (got.norm(dim=-1) - 1).abs().item() > 1e-3  # not L2-normalised
    assert torch.allclose(logit, model.fc(want).reshape(-1), atol=1e-4)


def _write_pngs(photos, folder, names):
    paths = []
    for i, name in enumerate(names):
        label = i % 2
        p = folder / ("1_fake" if label else "0_real") / f"{name}.png"
        p.parent.mkdir(parents=True, exist_ok=True)
        photos[name].resize((80, 72)).save(p)
        paths.append((str(p), label))
    return paths


def test_feature_cache_hits_misses_and_skips(photos, tmp_path, caplog):
    model = build("univfd", backbone="efficientnet_lite0", crop_size=64)
    items = _write_pngs(photos, tmp_path, ["astronaut", "coffee", "chelsea", "rocket"])
    bad = tmp_path / "1_fake" / "broken.png"
    bad.write_bytes(b"not a png")
    items.append((str(bad), 1))

    first = extract_features(model, items, progress=False)
    assert not first.from_cache and len(first) == 4 and [b.path for b in first.skipped] == [str(bad)]
    assert (dfdlab.home() / "features" / "efficientnet_lite0" / f"{first.key}.pt").is_file()
    # the cached features are the model's features
    tf = model.transform(False)
    x = torch.stack([tf(dfdlab.data.load_rgb(p)) for p in first.paths])
    assert torch.allclose(first.features, model.features(x), atol=1e-5)
    assert first.labels.tolist() == [0, 1, 0, 1]

    again = extract_features(model, items, progress=False)
    assert again.from_cache and again.key == first.key and torch.equal(again.features, first.features)
    # other preprocessing, or a changed file, is a different key
    other_crop = extract_features(model, items, transform=dfdlab.data.transforms.univfd_test(56, stats="imagenet"),
                                  progress=False)
    assert not other_crop.from_cache and other_crop.key != first.key
    st = os.stat(items[0][0])
    os.utime(items[0][0], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert not extract_features(model, items, progress=False).from_cache
    # random augmentation cannot be cached
    with pytest.raises(ValueError, match="random"):
        extract_features(model, items, transform=model.transform(True), progress=False)


def test_nearest_neighbour_score_rule_and_ap():
    bank = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.8, 0.6], [0.6, 0.8]])
    labels = torch.tensor([0, 1, 0, 1])  # reals near the x axis, fakes near the y axis
    q = torch.tensor([[2.0, 0.1], [0.1, 3.0], [1.0, 1.0]])
    s1 = nearest_neighbour_score(q, bank, labels, k=1)
    qn = torch.nn.functional.normalize(q, dim=-1)
    sims = qn @ torch.nn.functional.normalize(bank, dim=-1).T
    # k=1: best fake similarity minus best real similarity, by hand
    want = sims[:, [1, 3]].max(1).values - sims[:, [0, 2]].max(1).values
    assert torch.allclose(s1, want)
    # its sign is the label of the nearest neighbour (the paper's 1-NN rule); the diagonal ties -> real
    nn_label = labels[sims.argmax(1)]
    assert ((s1[:2] > 0).long() == nn_label[:2]).all() and s1[2].abs() < 1e-6
    # k=2: mean of the two best of each class
    s2 = nearest_neighbour_score(q, bank, labels, k=2)
    assert torch.allclose(s2, sims[:, [1, 3]].mean(1) - sims[:, [0, 2]].mean(1))
    with pytest.raises(ValueError, match="k=3"):
        nearest_neighbour_score(q, bank, labels, k=3)

    # AP is defined and sensible: two separable Gaussian clusters in 64-d
    g = torch.Generator().manual_seed(0)
    centre = torch.randn(2, 64, generator=g)
    def draw(n, c):
        return centre[c] + 0.8 * torch.randn(n, 64, generator=g)
    bank = torch.cat([draw(50, 0), draw(50, 1)])
    blabels = torch.tensor([0] * 50 + [1] * 50)
    test = torch.cat([draw(40, 0), draw(40, 1)])
    y = np.array([0] * 40 + [1] * 40)
    score = nearest_neighbour_score(test, bank, blabels, k=3).numpy()
    assert average_precision_score(y, score) > 0.95
    assert average_precision_score(y, -score) < 0.6  # the sign matters: fakes score high


def test_univfd_sampling_protocol(tmp_path, caplog):
    for sub, n in (("0_real", 30), ("1_fake", 25)):
        (tmp_path / sub).mkdir()
        for i in range(n):
            (tmp_path / sub / f"{i:03d}.v2.png").write_bytes(b"")  # extra dot: official split('.') would drop it
    real = list_images_os_walk(tmp_path, "0_real")
    fake = list_images_os_walk(tmp_path, "1_fake")
    assert len(real) == 30 and len(fake) == 25

    # the official procedure, written out: seed 0, shuffle real then fake, keep max_sample
    def official(real, fake, max_sample):
        real, fake = list(real), list(fake)
        random.seed(0)
        if max_sample > len(real) or max_sample > len(fake):
            max_sample = 100
        random.shuffle(real)
        random.shuffle(fake)
        return real[:max_sample], fake[:max_sample]

    s = univfd_sample(real, fake, max_sample=20)
    assert not s.fell_back and (s.real, s.fake) == official(real, fake, 20)
    assert len(s.items) == 40 and s.items[0][1] == 0 and s.items[-1][1] == 1

    with caplog.at_level(logging.WARNING):
        s = univfd_sample(real, fake, max_sample=1000)
    assert s.fell_back and s.max_sample == 100 and "falling back to 100" in caplog.text
    assert (s.real, s.fake) == official(real, fake, 1000)
    assert len(s.real) == 30 and len(s.fake) == 25  # 100 > both: everything, shuffled
