"""The 2017 Transformer of lesson 02 (``dfdlab.attention``), its digit-reversal task and the
prompt/probe helpers of lesson 03 (``dfdlab.clip.tiny``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dfdlab import attention as A
from dfdlab import toydata
from dfdlab.clip import tiny as T


def _torch_mha_like(mha: A.MultiHeadAttention) -> nn.MultiheadAttention:
    ref = nn.MultiheadAttention(mha.heads * mha.head_dim, mha.heads, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(mha.qkv.weight)
        ref.in_proj_bias.copy_(mha.qkv.bias)
        ref.out_proj.weight.copy_(mha.out.weight)
        ref.out_proj.bias.copy_(mha.out.bias)
    return ref


def test_cross_and_masked_self_attention_match_torch():
    torch.manual_seed(0)
    mha = A.MultiHeadAttention(16, 4)
    ref = _torch_mha_like(mha)
    y, memory = torch.randn(2, 5, 16), torch.randn(2, 7, 16)
    ours = A.cross_attention(mha, y, memory)
    assert ours.shape == (2, 5, 16) and mha.last_weights.shape == (2, 4, 5, 7)
    assert (ours - ref(y, memory, memory, need_weights=False)[0]).abs().max() < 1e-5
    # memory padding: the masked keys get weight 0
    keep = torch.tensor([[True] * 4 + [False] * 3, [True] * 7])[:, None, None, :]
    A.cross_attention(mha, y, memory, keep)
    assert torch.all(mha.last_weights[0, :, :, 4:] == 0)
    # masked self-attention == torch with a causal mask (torch's bool mask: True = masked)
    causal = torch.ones(5, 5, dtype=torch.bool).triu(1)
    ref_out = ref(y, y, y, attn_mask=causal, need_weights=False)[0]
    assert (A.masked_self_attention(mha, y) - ref_out).abs().max() < 1e-5
    assert torch.all(mha.last_weights[..., 0, 1:] == 0)
    assert torch.equal(A.self_attention(mha, y), mha(y))


def test_ffn_add_and_norm_embeddings():
    torch.manual_seed(0)
    ffn = A.PositionwiseFeedForward(8, 32)
    x = torch.randn(3, 6, 8)
    assert torch.allclose(ffn(x)[:, 2], ffn(x[:, 2]), atol=1e-6)  # position by position
    assert torch.allclose(ffn(x), ffn.w_2(torch.relu(ffn.w_1(x))))
    norm, drop = nn.LayerNorm(8), nn.Dropout(0.0)
    assert torch.allclose(A.add_and_norm(x, ffn(x), norm, drop), norm(x + ffn(x)))
    emb = A.Embeddings(13, 64)
    tokens = torch.tensor([[3, 4, 5]])
    assert torch.allclose(emb(tokens), emb.weight[tokens] * 8.0)  # sqrt(64)
    assert emb.project(torch.randn(1, 3, 64)).shape == (1, 3, 13)


def test_warmup_schedule_is_equation_3():
    d, warm = 512, 4000
    lr = [A.warmup_learning_rate(s, d, warm) for s in range(1, 20001)]
    peak = int(np.argmax(lr)) + 1
    assert peak == warm
    assert lr[warm - 1] == pytest.approx(d ** -0.5 * warm ** -0.5)
    assert lr[99] == pytest.approx(d ** -0.5 * 100 * warm ** -1.5)      # linear warm-up
    assert lr[15999] == pytest.approx(d ** -0.5 * 16000 ** -0.5)        # inverse square root decay
    assert A.warmup_learning_rate(0, d, warm) == A.warmup_learning_rate(1, d, warm)


def test_label_smoothing_equals_torch_and_ignores_padding():
    torch.manual_seed(0)
    logits, target = torch.randn(4, 6, 13), torch.randint(0, 13, (4, 6))
    target[:, -2:] = toydata.PAD
    ours = A.label_smoothed_cross_entropy(logits, target, 0.1, ignore_index=toydata.PAD)
    ref = F.cross_entropy(logits.reshape(-1, 13), target.reshape(-1), label_smoothing=0.1, ignore_index=toydata.PAD)
    assert ours.item() == pytest.approx(ref.item(), abs=1e-6)
    assert A.label_smoothed_cross_entropy(logits, target, 0.0).item() == pytest.approx(
        F.cross_entropy(logits.reshape(-1, 13), target.reshape(-1)).item(), abs=1e-6)


def test_reversal_dataset():
    src, tgt = toydata.reversal_dataset(50, min_len=3, max_len=8, seed=0)
    assert src.shape == (50, 9) and tgt.shape == (50, 10)
    for s, t in zip(src, tgt, strict=True):
        digits = toydata.decode_digits(s)
        assert 3 <= len(digits) <= 8 and t[0] == toydata.BOS
        assert toydata.decode_digits(t) == digits[::-1]
        assert s[len(digits)] == toydata.EOS and t[len(digits) + 1] == toydata.EOS
    again = toydata.reversal_dataset(50, seed=0)
    assert torch.equal(again[0], src) and torch.equal(again[1], tgt)


def test_transformer_shapes_padding_and_short_training():
    torch.manual_seed(0)
    model = A.Transformer(len(toydata.SEQ_VOCAB), d_model=32, heads=4, d_ff=64, layers=1, dropout=0.0, max_len=16)
    src, tgt = toydata.reversal_dataset(200, seed=0)
    logits = model(src[:4], tgt[:4, :-1])
    assert logits.shape == (4, tgt.shape[1] - 1, len(toydata.SEQ_VOCAB))
    assert model.cross_attention_weights().shape == (1, 4, 4, tgt.shape[1] - 1, src.shape[1])
    # padding of the source changes nothing: the same string with more padding gives the same logits
    model.eval()
    padded = torch.cat([src[:1], torch.zeros(1, 3, dtype=torch.long)], dim=1)
    with torch.no_grad():
        a, b = model(src[:1], tgt[:1, :-1]), model(padded, tgt[:1, :-1])
    assert (a - b).abs().max() < 1e-5
    # the paper's recipe leaves the chance level in a few dozen steps
    hist = A.train_seq2seq(model, src, tgt, steps=40, batch_size=32, warmup_steps=10, seed=0, progress=False,
                           log_every=10)
    assert hist[0]["loss"] > hist[-1]["loss"] + 0.3
    res = A.sequence_accuracy(model, src[:20], tgt[:20], toydata.BOS)
    assert res["tokens"].shape == (20, tgt.shape[1]) and 0 <= res["sequence"] <= res["token"] <= 1


def test_time_attention_vs_rnn_rows():
    rows = A.time_attention_vs_rnn(lengths=(8, 16), d=16, batch=2, repeats=1)
    assert [r["n"] for r in rows] == [8, 16]
    assert all(r["attention_s"] > 0 and r["rnn_s"] > 0 and r["rnn_sequential"] == r["n"] for r in rows)


def test_draw_figure_1_runs():
    import matplotlib

    matplotlib.use("Agg")
    ax = A.draw_figure_1(layers=2)
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "cross-attention" in texts and "Masked" in texts and "Position-wise FFN" in texts
    matplotlib.pyplot.close("all")


def test_shifted_drawing_and_prompt_helpers():
    comp = toydata.all_compositions()[0]
    clean = toydata.draw(comp, np.random.default_rng(0))
    shifted = toydata.draw(comp, np.random.default_rng(0), **toydata.SHIFTED)
    assert shifted.shape == clean.shape and np.median(shifted) > np.median(clean) + 0.2
    prompts = T.shape_prompts()
    assert len(prompts) == 22 and all(len(p) == len(toydata.SHAPES) for p in prompts.values())
    assert len(prompts["ensemble"][0]) == 20 and prompts["bare"][0] == ["a circle"]
    torch.manual_seed(0)
    model = T.TinyCLIP().eval()
    emb = T.class_embeddings(model, prompts["ensemble"])
    assert emb.shape == (4, 32) and torch.allclose(emb.norm(dim=-1), torch.ones(4), atol=1e-5)
    data = T.Shapes(toydata.all_compositions()[:8], 1, seed=0)
    acc = T.prompt_accuracies(model, data)
    assert acc["single min"] <= acc["single mean"] <= acc["single max"]
    out = T.zero_shot_vs_probe(model, shots=(1,), test_per_composition=1, seed=0)
    assert set(out["zero-shot"]) == {"clean", "noise", "shifted"} and set(out["probe"]) == {1}
    assert all(0 <= v <= 1 for v in out["zero-shot"].values()) and not math.isnan(out["probe"][1]["clean"])
