"""Attention from scratch: the pieces of lesson 02 (``notebooks/02_attention.ipynb``).

Each function is one equation or one box of Figure 1 of "Attention Is All You Need"
(Vaswani et al., 2017) or of the ViT paper ("An Image is Worth 16x16 Words", Dosovitskiy et
al., 2021), written with plain tensor operations so that a reader can hold it in their head:

- §3.2.1 Eq. 1 ``scaled_dot_product_attention``; §3.2.2 ``MultiHeadAttention``;
- §3.2.3 the three uses of attention: encoder ``self_attention``, decoder
  ``masked_self_attention`` (``causal_mask``) and ``cross_attention`` (encoder-decoder attention);
- §3.3 ``PositionwiseFeedForward``; §3.1 ``add_and_norm`` (residual + LayerNorm);
- §3.4 ``Embeddings`` (multiplied by sqrt(d_model), shared with the pre-softmax linear layer);
- §3.5 ``sinusoidal_positional_encoding``;
- Figure 1 ``EncoderLayer``, ``DecoderLayer``, ``Transformer`` (``draw_figure_1`` draws it);
- §5.3 Eq. 3 ``warmup_learning_rate``; §5.4 ``label_smoothed_cross_entropy``; ``train_seq2seq``;
- §4 Table 1: ``time_attention_vs_rnn``;
- ViT §3.1 ``patchify``, ``TransformerBlock`` (pre-norm), ``TinyViT``.

The tiny CLIP (``dfdlab.clip.tiny``) reuses ``TransformerBlock`` and ``TinyViT``; the drawn
shapes and the digit strings the lesson trains on are in ``dfdlab.toydata``. The layout of
the encoder-decoder follows the paper's Figure 1 and the reference implementation in
tensor2tensor (``tensor2tensor/models/transformer.py``), written anew here.
"""

from __future__ import annotations

import contextlib
import math

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm


def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                 mask: torch.Tensor | None = None,
                                 return_weights: bool = False):
    """``softmax(Q K^T / sqrt(d_k)) V`` (Vaswani et al. 2017, §3.2.1, Eq. 1).

    ``q``: ``[..., Lq, d_k]``, ``k``: ``[..., Lk, d_k]``, ``v``: ``[..., Lk, d_v]``.
    ``mask``: boolean, broadcastable to ``[..., Lq, Lk]``; ``True`` = may attend (the
    convention of ``torch.nn.functional.scaled_dot_product_attention``). Masked scores are
    set to ``-inf`` before the softmax, so they get weight exactly 0.
    Returns the output ``[..., Lq, d_v]`` (and the weights ``[..., Lq, Lk]`` when asked).
    """
    d_k = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)  # [..., Lq, Lk]: how well each query matches each key
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = scores.softmax(dim=-1)                   # each row sums to 1
    out = weights @ v
    return (out, weights) if return_weights else out


def causal_mask(n: int, device=None) -> torch.Tensor:
    """``[n, n]`` boolean mask, ``True`` on and below the diagonal: token i sees tokens <= i
    (the decoder mask of Vaswani et al. §3.2.3; CLIP's text encoder uses it too)."""
    return torch.ones(n, n, dtype=torch.bool, device=device).tril()


def padding_mask(lengths: torch.Tensor, n: int) -> torch.Tensor:
    """``[B, 1, 1, n]`` boolean mask, ``True`` for real tokens and ``False`` for padding."""
    return (torch.arange(n, device=lengths.device)[None, :] < lengths[:, None])[:, None, None, :]


class MultiHeadAttention(nn.Module):
    """``MultiHead(Q,K,V) = Concat(head_1..head_h) W^O``, ``head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)``
    (Vaswani et al. 2017, §3.2.2).

    The h per-head projections are one ``Linear(d, 3d)`` split into heads (as in
    ``nn.MultiheadAttention`` and CLIP's ``in_proj_weight``). ``self.last_weights`` keeps the
    attention weights ``[B, h, Lq, Lk]`` of the last call, for drawing attention maps.
    """

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim={dim} is not divisible by heads={heads}")
        self.heads, self.head_dim = heads, dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.last_weights: torch.Tensor | None = None

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, L, d]`` -> ``[B, h, L, d/h]``."""
        b, n, _ = x.shape
        return x.view(b, n, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                memory: torch.Tensor | None = None) -> torch.Tensor:
        """Self-attention of ``x`` or, with ``memory``, attention of ``x``'s queries to ``memory``'s
        keys and values (the encoder-decoder attention of §3.2.3; see ``cross_attention``)."""
        if memory is None:
            q, k, v = self.qkv(x).chunk(3, dim=-1)
        else:  # the same three projections, the query one applied to x, the key/value ones to memory
            d = x.shape[-1]
            w_q, w_kv = self.qkv.weight.split([d, 2 * d])
            b_q, b_kv = self.qkv.bias.split([d, 2 * d])
            q = F.linear(x, w_q, b_q)
            k, v = F.linear(memory, w_kv, b_kv).chunk(2, dim=-1)
        q, k, v = self.split_heads(q), self.split_heads(k), self.split_heads(v)
        out, w = scaled_dot_product_attention(q, k, v, mask, return_weights=True)
        self.last_weights = w.detach()
        b, _, n, _ = out.shape
        return self.out(out.transpose(1, 2).reshape(b, n, self.heads * self.head_dim))


def sinusoidal_positional_encoding(n: int, dim: int) -> torch.Tensor:
    """``PE(pos, 2i) = sin(pos / 10000^(2i/d))``, ``PE(pos, 2i+1) = cos(...)``
    (Vaswani et al. 2017, §3.5). Returns ``[n, dim]``."""
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, dim, 2, dtype=torch.float32) / dim)
    pe = torch.zeros(n, dim)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return pe


# --------------------------------------------------------------------------- the 2017 Transformer (Figure 1)

def self_attention(attn: MultiHeadAttention, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Encoder self-attention (§3.2.3): "all of the keys, values and queries come from the same
    place", the output of the previous layer; ``mask`` hides padding."""
    return attn(x, mask)


def masked_self_attention(attn: MultiHeadAttention, y: torch.Tensor,
                          pad_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Decoder self-attention (§3.2.3): position i attends to positions <= i only
    (``causal_mask``), "to preserve the auto-regressive property"."""
    mask = causal_mask(y.shape[1], y.device)
    return attn(y, mask if pad_mask is None else mask & pad_mask)


def cross_attention(attn: MultiHeadAttention, y: torch.Tensor, memory: torch.Tensor,
                    memory_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Encoder-decoder attention (§3.2.3): "the queries come from the previous decoder layer, and
    the memory keys and values come from the output of the encoder", so every target position
    can look at every source position. ``memory_mask`` hides the source padding."""
    return attn(y, memory_mask, memory=memory)


class PositionwiseFeedForward(nn.Module):
    """``FFN(x) = max(0, x W_1 + b_1) W_2 + b_2`` (§3.3, Eq. 2), applied to each position
    separately and identically (d_model=512, d_ff=2048 in the base model)."""

    def __init__(self, d_model: int, d_ff: int):
        super().__init__()
        self.w_1, self.w_2 = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w_2(torch.relu(self.w_1(x)))


def add_and_norm(x: torch.Tensor, sublayer_out: torch.Tensor, norm: nn.LayerNorm, dropout: nn.Dropout) -> torch.Tensor:
    """``LayerNorm(x + Dropout(Sublayer(x)))``: the "Add & Norm" box of Figure 1 (§3.1) with the
    residual dropout of §5.4 (post-norm, as in the paper; ViT and CLIP normalise first)."""
    return norm(x + dropout(sublayer_out))


class Embeddings(nn.Module):
    """Token embedding multiplied by ``sqrt(d_model)`` (§3.4: "In the embedding layers, we multiply
    those weights by sqrt(d_model)"), so that it is not drowned by the positional encoding of
    §3.5 added next. ``project`` is the pre-softmax linear layer with the same weight matrix
    (§3.4: shared between the embedding layers and the pre-softmax linear transformation)."""

    def __init__(self, vocab_size: int, d_model: int):
        super().__init__()
        self.d_model = d_model
        self.weight = nn.Parameter(torch.randn(vocab_size, d_model) * d_model ** -0.5)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return F.embedding(tokens, self.weight) * math.sqrt(self.d_model)

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """Logits over the vocabulary: ``x @ E^T`` (the "Linear" box under the softmax)."""
        return x @ self.weight.t()


class EncoderLayer(nn.Module):
    """One of the N encoder layers of Figure 1 (§3.1): self-attention, Add & Norm, FFN, Add & Norm."""

    def __init__(self, d_model: int, heads: int, d_ff: int, dropout: float = 0.1):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, heads)
        self.ffn = PositionwiseFeedForward(d_model, d_ff)
        self.norm_1, self.norm_2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, src_mask: torch.Tensor | None = None) -> torch.Tensor:
        x = add_and_norm(x, self_attention(self.self_attn, x, src_mask), self.norm_1, self.dropout)
        return add_and_norm(x, self.ffn(x), self.norm_2, self.dropout)


class DecoderLayer(nn.Module):
    """One of the N decoder layers of Figure 1 (§3.1): masked self-attention, cross-attention to
    the encoder's output, FFN, each followed by Add & Norm."""

    def __init__(self, d_model: int, heads: int, d_ff: int, dropout: float = 0.1):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, heads)
        self.cross_attn = MultiHeadAttention(d_model, heads)
        self.ffn = PositionwiseFeedForward(d_model, d_ff)
        self.norm_1, self.norm_2, self.norm_3 = (nn.LayerNorm(d_model) for _ in range(3))
        self.dropout = nn.Dropout(dropout)

    def forward(self, y: torch.Tensor, memory: torch.Tensor, tgt_pad_mask: torch.Tensor | None = None,
                src_mask: torch.Tensor | None = None) -> torch.Tensor:
        y = add_and_norm(y, masked_self_attention(self.self_attn, y, tgt_pad_mask), self.norm_1, self.dropout)
        y = add_and_norm(y, cross_attention(self.cross_attn, y, memory, src_mask), self.norm_2, self.dropout)
        return add_and_norm(y, self.ffn(y), self.norm_3, self.dropout)


class Transformer(nn.Module):
    """The encoder-decoder of Figure 1: embeddings x sqrt(d_model) + sinusoidal positions, N encoder
    layers, N decoder layers, the shared-weight linear layer and a softmax (applied in the loss).

    The base model is ``d_model=512, heads=8, d_ff=2048, layers=6, dropout=0.1`` (Table 3);
    lesson 02 trains a 64-wide, 2-layer one. ``pad`` is the padding token id.
    """

    def __init__(self, vocab_size: int, d_model: int = 64, heads: int = 4, d_ff: int = 128, layers: int = 2,
                 dropout: float = 0.1, max_len: int = 64, pad: int = 0):
        super().__init__()
        self.pad, self.d_model = pad, d_model
        self.embed = Embeddings(vocab_size, d_model)
        self.register_buffer("pe", sinusoidal_positional_encoding(max_len, d_model), persistent=False)
        self.dropout = nn.Dropout(dropout)
        self.encoder = nn.ModuleList(EncoderLayer(d_model, heads, d_ff, dropout) for _ in range(layers))
        self.decoder = nn.ModuleList(DecoderLayer(d_model, heads, d_ff, dropout) for _ in range(layers))

    def embed_positions(self, tokens: torch.Tensor) -> torch.Tensor:
        """``Dropout(Embedding(tokens) * sqrt(d_model) + PE)`` (§3.4, §3.5, dropout of §5.4)."""
        return self.dropout(self.embed(tokens) + self.pe[: tokens.shape[1]])

    def key_mask(self, tokens: torch.Tensor) -> torch.Tensor:
        """``[B, 1, 1, L]``: ``True`` where a key is a real token, ``False`` on padding."""
        return (tokens != self.pad)[:, None, None, :]

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        """The encoder stack: ``[B, Ls]`` tokens -> ``[B, Ls, d_model]`` memory."""
        x, mask = self.embed_positions(src), self.key_mask(src)
        for layer in self.encoder:
            x = layer(x, mask)
        return x

    def decode(self, tgt_in: torch.Tensor, memory: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
        """The decoder stack and the output layer: ``[B, Lt]`` shifted targets -> ``[B, Lt, vocab]`` logits."""
        y, src_mask, tgt_mask = self.embed_positions(tgt_in), self.key_mask(src), self.key_mask(tgt_in)
        for layer in self.decoder:
            y = layer(y, memory, tgt_mask, src_mask)
        return self.embed.project(y)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        return self.decode(tgt_in, self.encode(src), src)

    @torch.no_grad()
    def greedy_decode(self, src: torch.Tensor, bos: int, max_len: int) -> torch.Tensor:
        """Auto-regressive decoding: start from ``<bos>``, append the most likely next token,
        ``max_len`` times (the paper uses beam search, §6.1; greedy is enough for a toy task)."""
        memory = self.encode(src)
        out = torch.full((len(src), 1), bos, dtype=torch.long, device=src.device)
        for _ in range(max_len):
            next_token = self.decode(out, memory, src)[:, -1].argmax(-1, keepdim=True)
            out = torch.cat([out, next_token], dim=1)
        return out

    def cross_attention_weights(self) -> torch.Tensor:
        """After a forward pass: each decoder layer's cross-attention weights, ``[layers, B, h, Lt, Ls]``."""
        return torch.stack([layer.cross_attn.last_weights for layer in self.decoder])


def warmup_learning_rate(step: int, d_model: int, warmup_steps: int = 4000) -> float:
    """``lrate = d_model^-0.5 * min(step^-0.5, step * warmup_steps^-1.5)`` (§5.3, Eq. 3): linear
    growth for ``warmup_steps``, then decay with the inverse square root of the step. ``step``
    counts from 1."""
    step = max(step, 1)
    return d_model ** -0.5 * min(step ** -0.5, step * warmup_steps ** -1.5)


def label_smoothed_cross_entropy(logits: torch.Tensor, target: torch.Tensor, epsilon: float = 0.1,
                                 ignore_index: int | None = None) -> torch.Tensor:
    """Cross-entropy against ``(1 - eps) * one_hot + eps / V`` (§5.4, eps_ls = 0.1: "This hurts
    perplexity, as the model learns to be more unsure, but improves accuracy and BLEU score").

    ``logits [..., V]``, ``target [...]``; positions whose target is ``ignore_index`` do not count.
    Equals ``F.cross_entropy(..., label_smoothing=eps)``.
    """
    logp = logits.log_softmax(-1)
    nll = -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1)  # -log p(right token)
    uniform = -logp.mean(-1)                                   # cross-entropy against the uniform distribution
    loss = (1 - epsilon) * nll + epsilon * uniform
    if ignore_index is None:
        return loss.mean()
    keep = target != ignore_index
    return loss[keep].mean()


def train_seq2seq(model: Transformer, src: torch.Tensor, tgt: torch.Tensor, steps: int = 600, batch_size: int = 64,
                  warmup_steps: int = 100, label_smoothing: float = 0.1, seed: int = 0, threads: int = 1,
                  log_every: int = 20, progress: bool = True) -> list[dict]:
    """Train an encoder-decoder with the paper's recipe (§5.3-5.4): Adam(beta1=0.9, beta2=0.98,
    eps=1e-9), the warm-up schedule of Eq. 3, dropout and label smoothing; teacher forcing
    (the decoder reads ``tgt[:, :-1]`` and predicts ``tgt[:, 1:]``).

    Returns ``history``: step, learning rate, loss and token accuracy every ``log_every`` steps.
    """
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9)
    # LambdaLR multiplies the base lr (1.0) by Eq. 3 at each step; steps count from 1 in the paper
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: warmup_learning_rate(s + 1, model.d_model, warmup_steps))
    history = []
    model.train()
    with torch_threads(threads):
        for step in tqdm(range(steps), desc="Transformer", disable=not progress):
            idx = torch.randint(len(src), (batch_size,), generator=g)
            s, t = src[idx], tgt[idx]
            logits = model(s, t[:, :-1])
            loss = label_smoothed_cross_entropy(logits, t[:, 1:], label_smoothing, ignore_index=model.pad)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            lr = sched.get_last_lr()[0]
            sched.step()
            if step % log_every == 0 or step == steps - 1:
                keep = t[:, 1:] != model.pad
                acc = (logits.argmax(-1) == t[:, 1:])[keep].float().mean().item()
                history.append({"step": step + 1, "lr": lr, "loss": loss.item(), "token_acc": acc})
    model.eval()
    return history


@torch.no_grad()
def sequence_accuracy(model: Transformer, src: torch.Tensor, tgt: torch.Tensor, bos: int, batch_size: int = 500) -> dict:
    """Greedy decoding of every source; ``{"sequence": share decoded exactly (up to <eos>),
    "token": share of right target tokens}`` and the decoded ``tokens``."""
    with torch_threads(1):
        out = torch.cat([model.greedy_decode(src[i: i + batch_size], bos, tgt.shape[1] - 1)
                         for i in range(0, len(src), batch_size)])
    keep = tgt[:, 1:] != model.pad
    right = (out[:, 1:] == tgt[:, 1:]) | ~keep
    return {"sequence": right.all(1).float().mean().item(),
            "token": (out[:, 1:] == tgt[:, 1:])[keep].float().mean().item(), "tokens": out}


# --------------------------------------------------------------------------- §4: why self-attention

def time_attention_vs_rnn(lengths=(16, 64, 256, 1024), d: int = 64, batch: int = 8, repeats: int = 3,
                          seed: int = 0) -> list[dict]:
    """Wall-clock time of one self-attention layer and one recurrent layer (``nn.RNN``, tanh) over
    sequences of each length, on one thread, best of ``repeats`` (§4, Table 1: self-attention is
    O(n^2 d) work in O(1) sequential steps, a recurrent layer O(n d^2) work in O(n) sequential
    steps). Returns one dict per length with the seconds and the operation counts of Table 1."""
    import time

    torch.manual_seed(seed)
    attn, rnn = MultiHeadAttention(d, 4), nn.RNN(d, d, batch_first=True)
    rows = []
    with torch_threads(1), torch.no_grad():
        for n in lengths:
            x = torch.randn(batch, n, d)
            best = {}
            for name, layer in (("self-attention", attn), ("recurrent (RNN)", rnn)):
                times = []
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    layer(x)
                    times.append(time.perf_counter() - t0)
                best[name] = min(times)
            rows.append({"n": n, "d": d, "attention_s": best["self-attention"], "rnn_s": best["recurrent (RNN)"],
                         "attention_ops": n * n * d, "rnn_ops": n * d * d,
                         "attention_sequential": 1, "rnn_sequential": n})
    return rows


def draw_figure_1(ax=None, layers: int | str = "N"):
    """Draw the Transformer of Figure 1 (§3): the encoder stack on the left, the decoder stack on
    the right, cross-attention arrows from the encoder's output into every decoder layer."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 8.5))
    colours = {"attn": "#f9d9a6", "norm": "#f4f1b5", "ffn": "#b9e3f2", "emb": "#f7c6c6", "out": "#d7d0f0",
               "pe": "#ffffff"}

    def box(x, y, text, kind, w=2.9, h=0.55):
        ax.add_patch(FancyBboxPatch((x - w / 2, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                    fc=colours[kind], ec="#333333", lw=1.1))
        ax.text(x, y + h / 2, text, ha="center", va="center", fontsize=8.5)
        return y + h

    def arrow(x0, y0, x1, y1, **kw):
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=11, lw=1.1,
                                     color=kw.get("color", "#333333"), connectionstyle=kw.get("cs", "arc3")))

    ex, dx = 2.2, 6.6
    # inputs, embeddings, positional encodings
    for x, name in ((ex, "Inputs"), (dx, "Outputs\n(shifted right)")):
        ax.text(x, -0.15, name, ha="center", va="top", fontsize=9)
        arrow(x, 0.0, x, 0.3)
        top = box(x, 0.3, "Embedding × √d_model", "emb")
        ax.text(x + 0.15, top + 0.27, "+ positional encoding (sin/cos)", fontsize=8, va="center")
        arrow(x, top, x, top + 0.55)
    # encoder stack
    y0 = 1.4
    ax.add_patch(FancyBboxPatch((ex - 1.6, y0 - 0.1), 3.2, 2.95, boxstyle="round,pad=0.05", fc="#f2f2f2",
                                ec="#888888", lw=1.0, zorder=-1))
    y = box(ex, y0 + 0.1, "Multi-head\nself-attention", "attn")
    y = box(ex, y + 0.15, "Add & Norm", "norm", h=0.4)
    y = box(ex, y + 0.35, "Position-wise FFN", "ffn")
    enc_top = box(ex, y + 0.15, "Add & Norm", "norm", h=0.4)
    ax.text(ex - 1.75, y0 + 1.4, f"ENCODER\n{layers}×", ha="right", va="center", fontsize=10, weight="bold")
    # decoder stack
    ax.add_patch(FancyBboxPatch((dx - 1.6, y0 - 0.1), 3.2, 4.45, boxstyle="round,pad=0.05", fc="#f2f2f2",
                                ec="#888888", lw=1.0, zorder=-1))
    y = box(dx, y0 + 0.1, "Masked multi-head\nself-attention", "attn")
    y = box(dx, y + 0.15, "Add & Norm", "norm", h=0.4)
    cross_y = y + 0.35
    y = box(dx, cross_y, "Multi-head cross-attention\nQ decoder, K V encoder", "attn")
    y = box(dx, y + 0.15, "Add & Norm", "norm", h=0.4)
    y = box(dx, y + 0.35, "Position-wise FFN", "ffn")
    dec_top = box(dx, y + 0.15, "Add & Norm", "norm", h=0.4)
    ax.text(dx + 1.75, y0 + 2.1, f"DECODER\n×{layers}", ha="left", va="center", fontsize=10, weight="bold")
    # memory -> cross-attention
    arrow(ex, enc_top, ex, enc_top + 0.35)
    arrow(ex, enc_top + 0.35, dx - 1.3, cross_y + 0.27, color="#c0392b", cs="arc3,rad=-0.25")
    ax.text(ex, enc_top + 0.55, "memory (K, V)", color="#c0392b", fontsize=8, ha="center")
    # output head
    arrow(dx, dec_top, dx, dec_top + 0.5)
    y = box(dx, dec_top + 0.5, "Linear (weights = embedding)", "out")
    y = box(dx, y + 0.2, "Softmax → output probabilities", "out")
    ax.set_xlim(-0.9, 9.9)
    ax.set_ylim(-0.7, y + 0.3)
    ax.axis("off")
    ax.set_title("Figure 1 of Vaswani et al. (2017), redrawn: the Transformer")
    return ax


class TransformerBlock(nn.Module):
    """Pre-norm encoder block: ``x + MHA(LN(x))``, then ``x + MLP(LN(x))``.

    The pre-norm order is the one ViT and CLIP use (``ln_1``/``ln_2`` in CLIP's
    ``ResidualAttentionBlock``); the 2017 Transformer put the LayerNorm after the residual.
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim)
        self.attn = MultiHeadAttention(dim, heads)
        self.ln_2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), mask)
        return x + self.mlp(self.ln_2(x))


def patchify(images: torch.Tensor, patch: int) -> torch.Tensor:
    """``[B, C, H, W]`` -> ``[B, (H/p)(W/p), C p p]``: cut the image into p x p patches, row by row
    (ViT §3.1). A ``Conv2d(kernel=stride=p)`` does this and the linear embedding in one step,
    which is how ViT and CLIP implement it (``conv1``)."""
    b, c, h, w = images.shape
    if h % patch or w % patch:
        raise ValueError(f"image size {h}x{w} is not divisible by the patch size {patch}")
    x = images.unfold(2, patch, patch).unfold(3, patch, patch)  # [B, C, H/p, W/p, p, p]
    return x.permute(0, 2, 3, 1, 4, 5).reshape(b, (h // patch) * (w // patch), c * patch * patch)


class TinyViT(nn.Module):
    """A Vision Transformer small enough for a CPU (ViT §3.1).

    patchify -> linear patch embedding -> prepend a learnable [CLS] token -> add learnable
    position embeddings -> ``depth`` pre-norm blocks -> LayerNorm -> the [CLS] token.
    ``forward`` returns ``num_classes`` logits (or the ``dim``-d CLS feature when
    ``num_classes`` is 0). ``cls_attention()`` gives the CLS token's attention to every
    patch in every block, ``[depth, B, heads, n_patches]``.
    """

    def __init__(self, image_size: int = 32, patch: int = 4, dim: int = 64, depth: int = 2, heads: int = 4,
                 num_classes: int = 0, channels: int = 3):
        super().__init__()
        self.patch = patch
        self.grid = image_size // patch
        self.embed = nn.Linear(channels * patch * patch, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(0.02 * torch.randn(1, self.grid * self.grid + 1, dim))
        self.blocks = nn.ModuleList(TransformerBlock(dim, heads) for _ in range(depth))
        self.ln_post = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes) if num_classes else nn.Identity()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.embed(patchify(images, self.patch))
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_post(x[:, 0]))

    def cls_attention(self) -> torch.Tensor:
        """After a forward pass: the [CLS] row of each block's attention, without the CLS column."""
        return torch.stack([b.attn.last_weights[:, :, 0, 1:] for b in self.blocks])


@contextlib.contextmanager
def torch_threads(n: int = 1):
    """Run a block with ``n`` intra-op threads, then restore the previous setting.

    The tiny models of lessons 02/03 multiply 64x64 matrices: splitting them over threads
    costs more than it saves (measured here on 2 busy cores: 60 tiny-CLIP steps took
    6 s of CPU with one thread and 48 s with two).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train_classifier(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, epochs: int = 10,
                     batch_size: int = 64, lr: float = 1e-3, seed: int = 0, threads: int = 1,
                     warmup: float = 0.1) -> list[float]:
    """AdamW + cross-entropy with a linear warm-up over the first ``warmup`` share of the steps,
    then a cosine decay (ViT Appendix B.1: "linear learning rate warmup and decay"); returns the
    mean loss per epoch.

    Without the warm-up, the tiny ViT of lesson 02 stayed at chance for all 12 quick epochs with
    one of five training seeds (measured: seed 2, test accuracy 0.35; 0.75 with the warm-up).
    """
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    steps = epochs * math.ceil(len(images) / batch_size)
    warm = max(1, int(warmup * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, steps - warm))))
    losses = []
    model.train()
    with torch_threads(threads):
        for _ in tqdm(range(epochs), desc="train"):
            perm, total = torch.randperm(len(images), generator=g), 0.0
            for i in range(0, len(images), batch_size):
                idx = perm[i: i + batch_size]
                loss = F.cross_entropy(model(images[idx]), labels[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                total += loss.item() * len(idx)
            losses.append(total / len(images))
    model.eval()
    return losses


@torch.no_grad()
def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 256) -> float:
    """Top-1 accuracy of ``model`` (logits) on a tensor dataset."""
    with torch_threads(1):
        pred = torch.cat([model(images[i: i + batch_size]).argmax(1) for i in range(0, len(images), batch_size)])
    return (pred == labels).float().mean().item()
