"""CLIP: attention from scratch, the tiny CLIP, and loading pretrained CLIP in OpenAI format."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import dfdlab
from dfdlab import hub
from dfdlab.attention import MultiHeadAttention, causal_mask, patchify, scaled_dot_product_attention
from dfdlab.clip import pretrained as P
from dfdlab.clip import tiny as T

TINY_VIT = "dfdlab-test-vit-tiny"


@pytest.fixture(scope="module")
def tiny_vit_config(tmp_path_factory):
    """A CLIP ViT small enough to build in milliseconds, registered with open_clip.

    Like open_clip's ``ViT-L-14`` config it does *not* set ``quick_gelu``: the loader has
    to turn QuickGELU on for OpenAI weights by itself.
    """
    import open_clip

    cfg = {"embed_dim": 32,
           "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8},
           "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 1, "layers": 2}}
    path = tmp_path_factory.mktemp("open_clip_cfg") / f"{TINY_VIT}.json"
    path.write_text(json.dumps(cfg))
    open_clip.add_model_config(path)
    return TINY_VIT


def _torchscript_archive(state_dict: dict, path) -> None:
    """Write ``state_dict`` as a TorchScript archive whose ``state_dict()`` has the same keys,
    the container format of OpenAI's released ``*.pt`` files (without the compiled forward)."""

    class Holder(nn.Module):
        pass

    root = Holder()
    for key, value in state_dict.items():
        *parents, leaf = key.split(".")
        mod = root
        for name in parents:
            if not hasattr(mod, name):
                mod.add_module(name, Holder())
            mod = getattr(mod, name)
        if value.dtype.is_floating_point:
            mod.register_parameter(leaf, nn.Parameter(value, requires_grad=False))
        else:
            mod.register_buffer(leaf, value)
    torch.jit.save(torch.jit.script(root), str(path))


def test_attention_from_scratch_matches_torch():
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 7, 8), torch.randn(2, 3, 7, 4)
    ours, w = scaled_dot_product_attention(q, k, v, return_weights=True)
    assert (ours - F.scaled_dot_product_attention(q, k, v)).abs().max() < 1e-6
    assert torch.allclose(w.sum(-1), torch.ones(2, 3, 5))
    # hand-computed single query: weights = softmax(q.k / sqrt(2))
    q1, k1, v1 = torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[1.0], [3.0]])
    a = math.exp(1 / math.sqrt(2)) / (math.exp(1 / math.sqrt(2)) + 1)
    assert scaled_dot_product_attention(q1, k1, v1).item() == pytest.approx(a * 1 + (1 - a) * 3, abs=1e-6)
    # causal mask: identical to torch's is_causal, and token 0 sees only itself
    qc = torch.randn(1, 2, 6, 8)
    out, w = scaled_dot_product_attention(qc, qc, qc, causal_mask(6), return_weights=True)
    assert (out - F.scaled_dot_product_attention(qc, qc, qc, is_causal=True)).abs().max() < 1e-6
    assert torch.all(w[..., 0, 1:] == 0) and torch.all(w.triu(1) == 0)
    # multi-head attention equals nn.MultiheadAttention with the same weights
    mha, ref = MultiHeadAttention(16, 4), nn.MultiheadAttention(16, 4, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(mha.qkv.weight), ref.in_proj_bias.copy_(mha.qkv.bias)
        ref.out_proj.weight.copy_(mha.out.weight), ref.out_proj.bias.copy_(mha.out.bias)
    x = torch.randn(3, 9, 16)
    assert (mha(x) - ref(x, x, x, need_weights=False)[0]).abs().max() < 1e-5
    # patchify agrees with the Conv2d(kernel=stride=p) form ViT and CLIP use
    img, conv = torch.randn(2, 3, 8, 8), nn.Conv2d(3, 5, 4, 4, bias=False)
    lin = patchify(img, 4) @ conv.weight.reshape(5, -1).t()
    assert (lin - conv(img).flatten(2).transpose(1, 2)).abs().max() < 1e-5


def test_tiny_clip_data_loss_and_short_training():
    train, held = T.split_compositions()
    assert (len(train), len(held)) == (64, 16) and not set(train) & set(held)
    # every pair of attribute values of a held-out triple still occurs in training
    for h in held:
        assert any(c.shape == h.shape and c.colour == h.colour for c in train)
        assert any(c.shape == h.shape and c.position == h.position for c in train)
        assert any(c.colour == h.colour and c.position == h.position for c in train)
    tok = T.tokenize("a red circle at the top left")
    assert tok[0, 0] == T.VOCAB["<sot>"] and tok[0, 8] == T.VOCAB["<eot>"] and tok[0, 9] == 0
    with pytest.raises(ValueError, match="dog"):
        T.tokenize("a red dog")

    # symmetric InfoNCE against a hand computation with numpy
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 4))
    def ce(m):
        return np.mean([-(m[i, i] - np.log(np.exp(m[i]).sum())) for i in range(len(m))])
    assert T.clip_loss(torch.tensor(logits)).item() == pytest.approx((ce(logits) + ce(logits.T)) / 2, rel=1e-9)

    model = T.TinyCLIP()
    assert model.logit_scale.exp().item() == pytest.approx(1 / 0.07)
    with torch.no_grad():
        model.logit_scale.fill_(10.0)
    T.clamp_logit_scale(model)
    assert model.logit_scale.exp().item() == pytest.approx(100.0)

    # a short run leaves the chance level log(64) = 4.16 (measured: 4.24 -> 3.81 in 60 steps)
    res = T.train_tiny_clip(steps=60, progress=False, log_every=10)
    first, last = res.history[0]["loss"], res.history[-1]["loss"]
    assert first == pytest.approx(math.log(64), abs=0.3) and last < math.log(64) - 0.2


def test_openai_state_dict_vit_l14_matches_open_clip_loader(tmp_path, photos):
    """A random ViT-L-14 saved in OpenAI's format: our loader == open_clip's OpenAI loader."""
    import open_clip

    torch.manual_seed(0)
    source = open_clip.create_model("ViT-L-14", pretrained=None, quick_gelu=True)
    path = tmp_path / "ViT-L-14-random.pt"
    torch.save(P.openai_state_dict(source), path)
    del source

    ours, preprocess = P.load_clip("ViT-L-14", weights=path)
    assert P.uses_quick_gelu(ours) and not ours.training
    assert all(p.dtype == torch.float32 for p in ours.parameters())
    x = preprocess(photos["chelsea_odd"]).unsqueeze(0)
    with torch.no_grad():
        ours_emb = ours.encode_image(x)
    pre = P.image_features(ours, x, projected=False)
    post = P.image_features(ours.visual, x)
    del ours
    ref = open_clip.load_openai_model(str(path), precision="fp32", device="cpu")
    with torch.no_grad():
        ref_emb = ref.encode_image(x)
    assert ours_emb.shape == (1, 768) and pre.shape == (1, 1024)
    assert (ours_emb - ref_emb).abs().max().item() < 1e-5
    assert (post - ref_emb).abs().max().item() < 1e-5
    assert (pre @ ref.visual.proj - ref_emb).abs().max().item() < 1e-4
    assert ref_emb.abs().max().item() > 1e-2  # a real signal, not zeros


def test_torchscript_open_clip_formats_and_quick_gelu(tmp_path, tiny_vit_config):
    import open_clip

    torch.manual_seed(1)
    source = open_clip.create_model(tiny_vit_config, pretrained=None, quick_gelu=True)
    sd = P.openai_state_dict(source)
    archive = tmp_path / "tiny-openai.pt"
    _torchscript_archive(sd, archive)
    assert P.is_torchscript_archive(archive)

    x = torch.randn(2, 3, 32, 32)
    ref = open_clip.load_openai_model(str(archive), precision="fp32", device="cpu")
    ours, _ = P.load_clip(tiny_vit_config, weights=archive)
    gelu, _ = P.load_clip(tiny_vit_config, weights=archive, quick_gelu=False)
    with torch.no_grad():
        r, o, g = ref.encode_image(x), ours.encode_image(x), gelu.encode_image(x)
    assert (o - r).abs().max() < 1e-6
    assert (g - r).abs().max() > 1e-3  # the exact GELU is a different network for OpenAI weights
    assert (P.image_features(ours, x) - r).abs().max() < 1e-6

    # open_clip format: an fp32 training checkpoint {'state_dict': {'module.*'}}, QuickGELU by name
    ckpt = tmp_path / "epoch_1.pt"
    torch.save({"epoch": 1, "state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}}, ckpt)
    oc, _ = P.load_clip(tiny_vit_config, weights=ckpt, quick_gelu=True)
    with torch.no_grad():
        assert (oc.encode_image(x) - source.eval().encode_image(x)).abs().max() < 1e-6

    # strictness: a missing tensor or the wrong architecture is an error naming the file
    broken = dict(sd)
    del broken["visual.ln_post.weight"]
    torch.save(broken, tmp_path / "broken.pt")
    with pytest.raises(ValueError, match="visual.ln_post.weight"):
        P.load_clip(tiny_vit_config, weights=tmp_path / "broken.pt")
    with pytest.raises(ValueError, match="does not hold a ViT-B-32"):
        P.load_clip("ViT-B-32", weights=archive)


def test_absent_weights_give_a_clear_message(tmp_path):
    assert not hub.available("clip-vit-l-14-openai")  # fresh DFDLAB_HOME
    with pytest.raises(hub.AssetMissing) as e:
        P.load_clip("ViT-L-14", pretrained_tag="openai")
    msg = str(e.value)
    assert "clip-vit-l-14-openai" in msg and str(dfdlab.home()) in msg and "--fetch" in msg
    missing = tmp_path / "nowhere" / "ViT-L-14.pt"
    with pytest.raises(P.WeightsMissing, match="nowhere"):
        P.load_clip("ViT-L-14", weights=missing)
    with pytest.raises(P.WeightsMissing, match="fetch=True"):
        P.load_clip("ViT-B-32", pretrained_tag="laion2b_s34b_b79k")
    with pytest.raises(ValueError, match="weights=PATH"):
        P.load_clip("ViT-L-14")


def test_clip_file_with_wrong_keys_lists_them_and_names_the_file(tiny_vit_config, tmp_path):
    """CLIP goes through dfdlab's one checkpoint reader: strict, weights only, every wrong key listed."""
    import open_clip

    from dfdlab.checkpoints import CheckpointError

    torch.manual_seed(0)
    source = open_clip.create_model(tiny_vit_config, pretrained=None)
    sd = source.state_dict()
    renamed = {("visual.post_norm.weight" if k == "visual.ln_post.weight" else k): v for k, v in sd.items()}
    path = tmp_path / "renamed_clip.pt"
    torch.save({"epoch": 3, "state_dict": renamed}, path)  # open_clip's training checkpoint layout
    with pytest.raises(CheckpointError) as e:
        P.load_clip(tiny_vit_config, weights=path, format="open_clip")
    msg = str(e.value)
    assert "renamed_clip.pt" in msg
    assert "missing keys (1): visual.ln_post.weight" in msg and "unexpected keys (1): visual.post_norm.weight" in msg
    # a pickled Python object is refused (weights_only), naming the file
    torch.save({"state_dict": sd, "args": argparse.Namespace(lr=1.0)}, tmp_path / "with_args.pt")
    with pytest.raises(CheckpointError, match="with_args.pt.*weights only"):
        P.load_clip(tiny_vit_config, weights=tmp_path / "with_args.pt", format="open_clip")


def test_plain_openai_layout_state_dict_is_built_with_quick_gelu_or_refused(tmp_path, tiny_vit_config):
    """``torch.save(model.state_dict())`` of an OpenAI CLIP on the CPU: fp32, no ``input_resolution``.

    Its keys are open_clip's too, so nothing in the file says "OpenAI". ``load_clip`` refuses it
    naming ``format=``; ``format="openai"`` and UnivFD (always OpenAI CLIP) build QuickGELU and
    give the reference features (open_clip's QuickGELU model with the same weights) to < 1e-4.
    """
    import open_clip

    from dfdlab.checkpoints import CheckpointError
    from dfdlab.detectors import build

    torch.manual_seed(2)
    reference = open_clip.create_model(tiny_vit_config, pretrained=None, quick_gelu=True).eval()
    plain = P.openai_state_dict(reference, half=False, extras=False)
    assert not P.looks_like_openai(plain)
    path = tmp_path / "openai_layout_plain.pt"
    torch.save(plain, path)
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        want = reference.encode_image(x)
    assert want.abs().max() > 1e-2  # a real signal

    with pytest.raises(CheckpointError, match="format='openai'") as e:
        P.load_clip(tiny_vit_config, weights=path)
    assert "format='open_clip'" in str(e.value) and "openai_layout_plain.pt" in str(e.value)

    ours, _ = P.load_clip(tiny_vit_config, weights=path, format="openai")
    assert P.uses_quick_gelu(ours)
    with torch.no_grad():
        assert (ours.encode_image(x) - want).abs().max() < 1e-4
    ufd = build("univfd", backbone=tiny_vit_config, clip_weights=path, crop_size=32)
    assert P.uses_quick_gelu(ufd.backbone)
    with torch.no_grad():
        assert (ufd.features(x) - want).abs().max() < 1e-4
    # the mistake the refusal prevents: the same file read with the named config's exact GELU
    gelu, _ = P.load_clip(tiny_vit_config, weights=path, format="open_clip")
    assert not P.uses_quick_gelu(gelu)
    with torch.no_grad():
        assert (gelu.encode_image(x) - want).abs().max() > 1e-3
