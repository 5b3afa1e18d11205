# %% [markdown]
# # 02 · Attention, from one equation to a Vision Transformer
#
# Vaswani et al. *Attention Is All You Need.* NeurIPS 2017 · Dosovitskiy et al. *An Image is
# Worth 16x16 Words: Transformers for Image Recognition at Scale.* ICLR 2021.
#
# **简要介绍**：注意力（attention）就是一个公式：`softmax(QKᵀ/√d)V`。每个 token 用自己的 query
# 去和所有 token 的 key 比较，得到一组和为 1 的权重，再按权重把所有 token 的 value 加起来。本节先从零
# 写出这个公式，并和 PyTorch 自带的 `scaled_dot_product_attention` 逐位比较（误差 ≤ 1e-6）；然后讲
# mask（因果 mask、padding mask）、多头注意力、位置编码（注意力本身不知道顺序）；最后把图片切成小块
# （patch），加一个 [CLS] token，搭一个很小的 ViT，在 CPU 上训练它识别图形，并把 [CLS] 的注意力画在
# 图片上。CLIP 的图像编码器（下一节、以及 UnivFD 用的 ViT-L/14）就是这样一个 ViT，只是大得多。
#
# **Summary.** Attention is one equation, `softmax(QKᵀ/√d)·V`. We write it from scratch and check it
# against PyTorch's fused kernel, add masks, split it into heads, give it positions, and assemble a
# tiny Vision Transformer (patchify → [CLS] token → encoder blocks) that we train on the CPU to
# recognise drawn shapes, then look at where its [CLS] token attends. CLIP's image encoder, and the
# ViT-L/14 that UnivFD freezes, is this same network, 24 blocks deep and 1024 wide.
#
# **You will learn**: scaled dot-product attention and why it divides by √d · causal and padding
# masks · multi-head attention as one big projection split into heads · why a Transformer needs
# positional encodings · patchify, the [CLS] token and the ViT encoder · reading attention maps.
#
# **Runtime**: CPU (quick) about 1 minute · GPU (full) a few minutes. No data or weights needed:
# the images are drawn by the notebook.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import dfdlab
from dfdlab.attention import (
    MultiHeadAttention,
    TinyViT,
    accuracy,
    causal_mask,
    padding_mask,
    patchify,
    scaled_dot_product_attention,
    sinusoidal_positional_encoding,
    train_classifier,
)
from dfdlab.toydata import SHAPES, shapes_dataset
from dfdlab.viz.diagram import draw_pipeline

cfg = dfdlab.settings(
    quick={"n_train": 2000, "n_test": 500, "epochs": 12, "lr": 3e-3, "width": 64, "depth": 2, "heads": 4},
    full={"n_train": 20000, "n_test": 2000, "epochs": 30, "lr": 1e-3, "width": 128, "depth": 4, "heads": 4},
)
dfdlab.seed_everything(0)

# %% [markdown]
# ## 1 · Scaled dot-product attention
#
# > "We compute the dot products of the query with all keys, divide each by √d_k, and apply a
# > softmax function to obtain the weights on the values." (Vaswani et al., §3.2.1)
#
# $$\mathrm{Attention}(Q,K,V) = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right)V$$
#
# | paper statement | dfdlab function |
# |---|---|
# | Eq. 1, scaled dot-product attention | `dfdlab.attention.scaled_dot_product_attention` |
# | §3.2.2, multi-head attention | `dfdlab.attention.MultiHeadAttention` |
# | §3.2.3, masking future positions | `dfdlab.attention.causal_mask` |
# | §3.5, sinusoidal positional encoding | `dfdlab.attention.sinusoidal_positional_encoding` |
# | ViT §3.1, split into patches + linear embedding | `dfdlab.attention.patchify`, `TinyViT.embed` |
# | ViT §3.1, learnable [class] token, position embeddings, encoder | `dfdlab.attention.TinyViT` |
#
# The whole function is six lines:

# %%
print(inspect.getsource(scaled_dot_product_attention))

# %% [markdown]
# Does it agree with PyTorch's fused kernel `torch.nn.functional.scaled_dot_product_attention`?
# Batch 2, 3 heads, 5 queries, 7 keys, `d_k = 16`, `d_v = 8`:

# %%
torch.manual_seed(0)
q, k, v = torch.randn(2, 3, 5, 16), torch.randn(2, 3, 7, 16), torch.randn(2, 3, 7, 8)
ours, weights = scaled_dot_product_attention(q, k, v, return_weights=True)
diff = (ours - F.scaled_dot_product_attention(q, k, v)).abs().max().item()
print(f"output {tuple(ours.shape)}, weights {tuple(weights.shape)}, max |ours - torch| = {diff:.2e}")
print("each row of weights sums to 1:", torch.allclose(weights.sum(-1), torch.ones(2, 3, 5)))
assert diff <= 1e-6

# %% [markdown]
# **Why divide by √d_k?** If the entries of q and k are independent with variance 1, the dot
# product q·k has variance d_k. Without the scale, large d_k pushes the softmax into saturation
# (one weight ≈ 1, the rest ≈ 0) where its gradient vanishes. Look at the largest weight per row:

# %%
for d in (4, 64, 1024):
    qd, kd = torch.randn(1000, d), torch.randn(1000, 10, d)
    raw = torch.einsum("nd,nkd->nk", qd, kd)
    print(f"d_k={d:5d}: std(q.k) = {raw.std():6.1f} | mean max weight without scale "
          f"{raw.softmax(-1).max(-1).values.mean():.2f}, with 1/sqrt(d_k) "
          f"{(raw / d ** 0.5).softmax(-1).max(-1).values.mean():.2f}")

# %% [markdown]
# ## 2 · Masks
#
# A mask says which keys a query may look at (`True` = allowed, PyTorch's convention). Masked
# scores become `-inf` before the softmax and get weight exactly 0.
# - **Causal mask** (decoders, and CLIP's *text* encoder): token *i* sees tokens ≤ *i*.
# - **Padding mask**: a batch of sentences of different lengths is padded; nobody may attend to
#   the padding.

# %%
x = torch.randn(1, 1, 6, 8)
_, w_causal = scaled_dot_product_attention(x, x, x, causal_mask(6), return_weights=True)
lengths = torch.tensor([4])
_, w_pad = scaled_dot_product_attention(x, x, x, padding_mask(lengths, 6), return_weights=True)

fig, axes = plt.subplots(1, 2, figsize=(7, 3.2))
for ax, w, title in zip(axes, (w_causal, w_pad), ("causal mask", "padding mask (length 4 of 6)"), strict=True):
    ax.imshow(w[0, 0], cmap="viridis", vmin=0, vmax=1)
    ax.set(title=title, xlabel="key", ylabel="query")
plt.tight_layout()
plt.show()

causal_diff = (scaled_dot_product_attention(x, x, x, causal_mask(6))
               - F.scaled_dot_product_attention(x, x, x, is_causal=True)).abs().max().item()
pad_diff = (scaled_dot_product_attention(x, x, x, padding_mask(lengths, 6))
            - F.scaled_dot_product_attention(x, x, x, attn_mask=padding_mask(lengths, 6))).abs().max().item()
print(f"max |ours - torch|: causal {causal_diff:.1e}, padding {pad_diff:.1e}")
assert causal_diff <= 1e-6 and pad_diff <= 1e-6
assert torch.all(w_causal[0, 0].triu(1) == 0) and torch.all(w_pad[0, 0, :, 4:] == 0)

# %% [markdown]
# ## 3 · Multi-head attention
#
# > "Multi-head attention allows the model to jointly attend to information from different
# > representation subspaces at different positions." (§3.2.2)
#
# $$\mathrm{MultiHead}(X) = \mathrm{Concat}(\mathrm{head}_1,\dots,\mathrm{head}_h)W^O,\quad
# \mathrm{head}_i = \mathrm{Attention}(XW_i^Q, XW_i^K, XW_i^V)$$
#
# In code the *h* small projections are one `Linear(d, 3d)` whose output is cut into heads; this is
# exactly the `in_proj_weight` of `nn.MultiheadAttention` and of every CLIP block. With the same
# weights, our module and PyTorch's give the same output:

# %%
mha, ref = MultiHeadAttention(32, 4), nn.MultiheadAttention(32, 4, batch_first=True)
with torch.no_grad():
    ref.in_proj_weight.copy_(mha.qkv.weight)
    ref.in_proj_bias.copy_(mha.qkv.bias)
    ref.out_proj.weight.copy_(mha.out.weight)
    ref.out_proj.bias.copy_(mha.out.bias)
tokens = torch.randn(2, 10, 32)
mha_diff = (mha(tokens) - ref(tokens, tokens, tokens, need_weights=False)[0]).abs().max().item()
print(f"heads: {mha.heads} x {mha.head_dim} dims; attention weights {tuple(mha.last_weights.shape)}; "
      f"max |ours - nn.MultiheadAttention| = {mha_diff:.1e}")
assert mha_diff < 1e-5

# %% [markdown]
# ## 4 · Positional encodings
#
# Attention treats its input as a **set**: permute the tokens and the outputs are permuted the
# same way, nothing else changes. Order (for words) or location (for image patches) must be
# added to the tokens. The 2017 Transformer adds fixed sinusoids; ViT and CLIP add a learned
# vector per position.

# %%
perm = torch.randperm(10)
equivariant = torch.allclose(mha(tokens)[:, perm], mha(tokens[:, perm]), atol=1e-5)
print("attention without positions is permutation-equivariant:", equivariant)
assert equivariant

pe = sinusoidal_positional_encoding(64, 64)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
axes[0].imshow(pe.T, cmap="RdBu", aspect="auto")
axes[0].set(title="PE(pos, i)", xlabel="position", ylabel="dimension i")
axes[1].imshow(pe @ pe.T, cmap="viridis")
axes[1].set(title="PE(p) . PE(q): nearby positions are similar",
                                                    xlabel="position q", ylabel="position p")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 5 · A tiny Vision Transformer
#
# > "We split an image into fixed-size patches, linearly embed each of them, add position
# > embeddings, and feed the resulting sequence of vectors to a standard Transformer encoder. In
# > order to perform classification, we use the standard approach of adding an extra learnable
# > 'classification token' to the sequence." (ViT, §3.1)
#
# The task: 32×32 images with one shape (circle, square, triangle or cross) in a random colour
# and quadrant; the ViT must name the shape (chance = 25 %). Patches are 4×4, so an image is a
# sequence of 64 tokens plus [CLS].

# %%
draw_pipeline([("image\n3x32x32", "input"), ("patchify\n64 x (3*4*4)", "fixed"),
               ("linear embed\n+ [CLS] + pos", "trained"),
               (f"{cfg.depth} x encoder block\n(MHA + MLP)", "trained"),
               ("LayerNorm\n[CLS] token", "trained"), ("linear head\n4 shapes", "output")],
              title="Tiny ViT")
plt.show()

x_train, y_train = shapes_dataset(cfg.n_train, seed=0)
x_test, y_test = shapes_dataset(cfg.n_test, seed=1)
patches = patchify(x_train[:1], 4)
print("images", tuple(x_train.shape), "-> patches", tuple(patches.shape))

fig, axes = plt.subplots(1, 7, figsize=(12, 2))
for i, ax in enumerate(axes[:6]):
    ax.imshow(x_train[i].permute(1, 2, 0))
    ax.set_title(SHAPES[y_train[i]])
    ax.axis("off")
grid = patches[0].reshape(8, 8, 3, 4, 4).permute(0, 3, 1, 4, 2).reshape(32, 32, 3)
axes[6].imshow(np.pad(patches[0].reshape(8, 8, 3, 4, 4).permute(0, 1, 3, 4, 2).numpy(),
                      ((0, 0), (0, 0), (0, 1), (0, 1), (0, 0)), constant_values=1)
               .transpose(0, 2, 1, 3, 4).reshape(40, 40, 3))
axes[6].set_title("as 8x8 patches")
axes[6].axis("off")
plt.show()
assert torch.equal(grid, x_train[0].permute(1, 2, 0))  # patchify loses nothing

# %%
torch.manual_seed(0)
vit = TinyViT(image_size=32, patch=4, dim=cfg.width, depth=cfg.depth, heads=cfg.heads, num_classes=len(SHAPES))
print(f"{sum(p.numel() for p in vit.parameters()):,} parameters")
losses = train_classifier(vit, x_train, y_train, epochs=cfg.epochs, lr=cfg.lr)
test_acc = accuracy(vit, x_test, y_test)

plt.figure(figsize=(4, 2.6))
plt.plot(range(1, len(losses) + 1), losses, marker="o")
plt.axhline(np.log(4), ls="--", c="gray", label="chance (log 4)")
plt.xlabel("epoch")
plt.ylabel("train loss")
plt.legend()
plt.show()
print(f"test accuracy {test_acc:.1%} on {len(y_test)} new images (chance {1 / len(SHAPES):.0%})")

# %% [markdown]
# The loss first sits at log 4 (chance) for a few epochs, then drops: a common sight with small
# Transformers, which must first learn *where* to look before they can learn *what* they see.

# %%
assert test_acc >= 0.5, f"the tiny ViT should beat chance (25%) by a clear margin, got {test_acc:.1%}"

# %% [markdown]
# ## 6 · Where does [CLS] look?
#
# Each block's attention row of the [CLS] query says how much of each patch the class token
# gathers. Averaged over heads and reshaped to the 8×8 patch grid, it can be drawn over the image.
# Attention maps are a hint, not an explanation: after the first block every token already mixes
# information from the others, so a later block's map says little about *pixels*.

# %%
sample = x_test[:6]
with torch.no_grad():
    pred = vit(sample).argmax(1)
att = vit.cls_attention().mean(dim=2)            # [depth, 6, 64], averaged over heads
fig, axes = plt.subplots(1 + cfg.depth, 6, figsize=(12, 2.1 * (1 + cfg.depth)))
for i in range(6):
    axes[0, i].imshow(sample[i].permute(1, 2, 0))
    axes[0, i].axis("off")
    axes[0, i].set_title(f"{SHAPES[y_test[i]]} -> {SHAPES[pred[i]]}", fontsize=9)
    for b in range(cfg.depth):
        m = att[b, i].reshape(8, 8)
        axes[b + 1, i].imshow(sample[i].permute(1, 2, 0))
        axes[b + 1, i].imshow(np.kron(m.numpy(), np.ones((4, 4))), cmap="magma", alpha=0.6)
        axes[b + 1, i].axis("off")
        axes[b + 1, i].set_title(f"block {b + 1}", fontsize=8)
plt.tight_layout()
plt.show()

# how much of [CLS]'s attention lands on the patches that contain the shape, block by block
bright = x_test[:200].amax(1, keepdim=True) > 0.35  # the shape's pixels; the background is dark
on_shape = F.avg_pool2d(bright.float(), 4).flatten(1) > 0
with torch.no_grad():
    vit(x_test[:200])
shares = [(a.mean(1) * on_shape).sum(1).mean().item() for a in vit.cls_attention()]
print("share of [CLS] attention on shape patches:", ", ".join(f"block {b + 1} {s:.1%}" for b, s in enumerate(shares)),
      f"| the shape covers {on_shape.float().mean():.1%} of the patches")

# %% [markdown]
# ## 练习 · Exercises
#
# 1. Remove the `1/√d_k` scale in `scaled_dot_product_attention` (copy the function) and retrain
#    the ViT with `width=128`. What happens to the first epochs' loss?
# 2. Drop the position embeddings (`vit.pos_embed.data.zero_(); vit.pos_embed.requires_grad_(False)`)
#    and retrain. Shape recognition still works: why? Which task from lesson 03 (captions with
#    *positions*) would break?
# 3. Replace the [CLS] token by the mean of the patch tokens (global average pooling). Compare the
#    accuracy and the attention maps.
# 4. Use `patch=8` (16 tokens) and `patch=2` (256 tokens). How do the runtime and the accuracy change,
#    and why does attention's cost grow with the *square* of the number of tokens?
# 5. CLIP ViT-L/14 cuts a 224×224 image into 14×14 patches. How many tokens does its encoder see,
#    and how many numbers does one attention map of one head hold?
