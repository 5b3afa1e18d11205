"""Attention from scratch: the pieces of lesson 02 (``notebooks/02_attention.ipynb``).

Each function is one equation of "Attention Is All You Need" (Vaswani et al., 2017) or
of the ViT paper ("An Image is Worth 16x16 Words", Dosovitskiy et al., 2021), written
with plain tensor operations so that a reader can hold it in their head. The tiny CLIP
(``dfdlab.clip.tiny``) reuses ``TransformerBlock`` and ``TinyViT``; the drawn shapes the
lesson trains on are in ``dfdlab.toydata``.
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

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        q, k, v = self.qkv(x).chunk(3, dim=-1)
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
                     batch_size: int = 64, lr: float = 1e-3, seed: int = 0, threads: int = 1) -> list[float]:
    """Plain AdamW + cross-entropy training with a cosine schedule; returns the mean loss per epoch."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    steps = epochs * math.ceil(len(images) / batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
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
